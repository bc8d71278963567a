"""Composite unique constraints that Piccolo's column options cannot express."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T10:34:50:960523"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"

STATEMENTS = [
    "CREATE UNIQUE INDEX stock_level_wh_sku ON stock_level (warehouse, sku)",
    'CREATE UNIQUE INDEX idempotency_user_key ON idempotency_key ("user", key)',
    'CREATE UNIQUE INDEX cart_dealer_user ON cart (dealer, "user")',
    "CREATE UNIQUE INDEX cart_line_cart_sku ON cart_line (cart, sku)",
    "CREATE UNIQUE INDEX favourite_dealer_sku ON favourite (dealer, sku)",
    "CREATE UNIQUE INDEX tier_price_tier_sku ON tier_price (tier, sku)",
    "CREATE UNIQUE INDEX volume_break_tier_sku_qty ON volume_break (tier, sku, min_qty)",
    "CREATE UNIQUE INDEX contract_price_dealer_sku ON contract_price (dealer, sku)",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    async def run_backwards():
        for statement in STATEMENTS:
            name = statement.split()[3]
            await RawTable.raw(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
