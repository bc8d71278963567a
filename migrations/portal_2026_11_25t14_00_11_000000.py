"""A dealer's ledger entries by date, newest first (both engines).

The overdue amount is read from a dealer's newest debts back (portal.domain.ledger.
dealer_overdue_fen), on the dealer's home page and whenever an order meets the "block"
overdue policy. With only the single-column indexes on dealer and on at, the database
gathered and sorted the dealer's whole history for each read; this index hands the newest
entries over in order.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger entries by dealer and date"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE INDEX IF NOT EXISTS ledger_entry_dealer_at ON ledger_entry (dealer, at, id)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX IF EXISTS ledger_entry_dealer_at")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
