"""The supplier's tolerance over every dealer's credit limit (DESIGN: "a supplier may allow a
tolerance over the limit (a percentage or an amount) before the block or the over-credit
approval applies"): an amount and a percentage of the dealer's limit in the supplier's
settings. Until now only finance's per-dealer tolerance existed; the greater applies. Both
default to none, so nothing changes for an installation until an administrator sets them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "supplier-wide credit tolerance"

# The same text on both engines (SQLite keeps a column's CHECK from ADD COLUMN).
COLUMNS = [
    "ALTER TABLE supplier_settings ADD COLUMN credit_tolerance_fen BIGINT NOT NULL DEFAULT 0 "
    "CHECK (credit_tolerance_fen >= 0)",
    "ALTER TABLE supplier_settings ADD COLUMN credit_tolerance_bp INTEGER NOT NULL DEFAULT 0 "
    "CHECK (credit_tolerance_bp BETWEEN 0 AND 10000)",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in COLUMNS:
            await RawTable.raw(statement)

    async def run_backwards():
        for column in ("credit_tolerance_bp", "credit_tolerance_fen"):
            await RawTable.raw(f"ALTER TABLE supplier_settings DROP COLUMN {column}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
