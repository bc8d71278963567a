"""What a SKU costs the supplier (sku.cost_price_fen, fen per base unit; NULL: not known), so
that approvers see an order's gross margin (DESIGN, Approvals: "lines, margins, the dealer's
credit and history") and not only how far it is below the dealer's own prices. Nothing has a
cost until an administrator gives one (the SKU's page, the API or the products import).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sku.cost_price_fen"


class RawTable(Table):
    pass


# Raw statements, the same on both engines (SQLite keeps a column's CHECK from ADD COLUMN, and
# drops a column whose only CHECK is its own).
FORWARDS = [
    "ALTER TABLE sku ADD COLUMN cost_price_fen BIGINT NULL DEFAULT NULL "
    "CHECK (cost_price_fen IS NULL OR cost_price_fen >= 0)"
]
BACKWARDS = ["ALTER TABLE sku DROP COLUMN cost_price_fen"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in FORWARDS:
            await RawTable.raw(statement)

    async def run_backwards():
        for statement in BACKWARDS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
