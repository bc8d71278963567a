"""The supplier's settings (one row, id 1): its name, address and phone for delivery notes
and statements, whether dealers see stock figures, and after how many days shipments count
as received. Until an administrator saves them, PORTAL_SHOW_STOCK_NUMBERS and
PORTAL_AUTO_RECEIVE_DAYS give the defaults, as before.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "supplier settings"

# The same text on both engines; a CHECK keeps the table at one row.
CREATE = """CREATE TABLE supplier_settings (
  id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  name VARCHAR(100) NOT NULL DEFAULT '',
  address VARCHAR(200) NOT NULL DEFAULT '',
  phone VARCHAR(40) NOT NULL DEFAULT '',
  show_stock_numbers BOOLEAN NOT NULL DEFAULT false,
  auto_receive_days INTEGER NOT NULL DEFAULT 7,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)"""


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        await RawTable.raw(CREATE)

    async def run_backwards():
        await RawTable.raw("DROP TABLE supplier_settings")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
