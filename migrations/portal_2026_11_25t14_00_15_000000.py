"""Each order line carries its order's dealer (order_line.dealer), indexed with the SKU, so
that a catalog page finds the dealer's last purchase of its SKUs without reading the
dealer's whole history.

A catalog row shows what the dealer last bought of that SKU ("bought before"). That read
went dealer -> all the dealer's orders -> their lines, then kept the lines of the page's SKUs:
its cost grew with the dealer's history (a dealer with 200 orders of 5 lines: 3.5 ms of
PostgreSQL per page, against 2.1 with none; with stale statistics PostgreSQL read every order
line). With (dealer, sku) it reads only the dealer's lines of those SKUs.

The order's dealer never changes, and order lines are written in one place (the submission),
which writes the column; no foreign key, so the submission does not check the dealer once per
line (the order's own key already does).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "order_line.dealer, indexed with the SKU, for the catalog's last purchases"

STATEMENTS = [
    "ALTER TABLE order_line ADD COLUMN dealer INTEGER NOT NULL DEFAULT 0",
    "UPDATE order_line SET dealer = "
    '(SELECT o.dealer FROM sales_order o WHERE o.id = order_line."order")',
    'CREATE INDEX order_line_dealer_sku ON order_line (dealer, sku, "order")',
    "ANALYZE order_line",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    async def run_backwards():
        await RawTable.raw("DROP INDEX order_line_dealer_sku")
        await RawTable.raw("ALTER TABLE order_line DROP COLUMN dealer")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
