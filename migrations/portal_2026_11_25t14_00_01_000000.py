"""Backorders: the open backordered lines per SKU, found fast when stock arrives.

sku.allow_backorder and order_line.qty_backordered came with the first migration (as
columns with defaults, unused until now). Filling backorders looks up the lines of a SKU
with a backordered quantity on every receipt, so they get a partial index: small, since
at any time only a few lines wait. Partial indexes read the same on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "backorders: index of open backordered lines"

INDEX = "order_line_backordered_sku"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            f'CREATE INDEX IF NOT EXISTS {INDEX} ON order_line (sku, "order") '
            "WHERE qty_backordered > 0"
        )

    async def run_backwards():
        await RawTable.raw(f"DROP INDEX IF EXISTS {INDEX}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
