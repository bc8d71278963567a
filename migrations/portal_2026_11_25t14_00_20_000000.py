"""The warehouses a warehouse user works in (warehouse_staff). DESIGN gives warehouse staff
"orders to ship from their warehouses": a warehouse user given warehouses sees and acts on
those only (the orders reserved in, shipped from or defaulting to them; their shipments,
stock and pick lists). A warehouse user given none works in every warehouse, as before.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "warehouse staff's warehouses"

COLUMNS = """
  "user" INTEGER NOT NULL REFERENCES portal_user (id) ON DELETE CASCADE ON UPDATE CASCADE,
  warehouse INTEGER NOT NULL REFERENCES warehouse (id) ON DELETE CASCADE ON UPDATE CASCADE,
  UNIQUE ("user", warehouse)
"""
POSTGRES = [f"CREATE TABLE warehouse_staff (id SERIAL PRIMARY KEY NOT NULL,{COLUMNS})"]
SQLITE = [f"CREATE TABLE warehouse_staff (id INTEGER PRIMARY KEY NOT NULL,{COLUMNS})"]


class RawTable(Table):
    pass


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in POSTGRES if _is_postgres() else SQLITE:
            await RawTable.raw(statement)

    async def run_backwards():
        await RawTable.raw("DROP TABLE warehouse_staff")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
