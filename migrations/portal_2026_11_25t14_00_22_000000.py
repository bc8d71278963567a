"""An order remembers the rep who looked after its dealer when it was placed
(sales_order.account_rep), so that sales by rep stay with that rep after a manager hands the
dealer to another: the report had grouped every past order by the dealer's current rep.

Orders placed before this migration take their dealer's rep of today (the best there is).
The column is nullable: a dealer nobody looks after has no account rep.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "sales_order.account_rep"


class RawTable(Table):
    pass


# In raw statements (the same on both engines): Piccolo runs a migration's raw steps before
# its column steps, and the backfill needs the column.
FORWARDS = [
    "ALTER TABLE sales_order ADD COLUMN account_rep INTEGER NULL "
    "REFERENCES portal_user (id) ON DELETE RESTRICT ON UPDATE CASCADE",
    "CREATE INDEX sales_order_account_rep ON sales_order (account_rep)",
    "UPDATE sales_order SET account_rep = "
    "(SELECT ra.rep FROM rep_assignment ra WHERE ra.dealer = sales_order.dealer)",
]
BACKWARDS = [
    "DROP INDEX sales_order_account_rep",
    "ALTER TABLE sales_order DROP COLUMN account_rep",
]


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
