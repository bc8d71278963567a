"""Product pictures: the photo an administrator uploads for a product, kept in the database
(BLOB on SQLite, bytea on PostgreSQL) like return photos, so that every app process can
serve it at /pictures/products/{id}.

Written in SQL for each engine rather than through Piccolo's column operations: the ids
must never be reused (a picture's address is cached by browsers for good), which on SQLite
takes AUTOINCREMENT, a key Piccolo does not declare.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:14:000000"
VERSION = "1.38.0"
DESCRIPTION = "product pictures"

POSTGRES = [
    """CREATE TABLE product_picture (
      id SERIAL PRIMARY KEY NOT NULL,
      product INTEGER NOT NULL REFERENCES product (id) ON DELETE CASCADE ON UPDATE CASCADE,
      content_type VARCHAR(20) NOT NULL DEFAULT '',
      data BYTEA NOT NULL DEFAULT '',
      thumb BYTEA NOT NULL DEFAULT '',
      created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )""",
    "CREATE INDEX product_picture_product ON product_picture (product)",
]
# Column types as Piccolo declares them on SQLite (its converters go by the declared type).
SQLITE = [
    """CREATE TABLE product_picture (
      id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
      product INTEGER NOT NULL REFERENCES product (id) ON DELETE CASCADE ON UPDATE CASCADE,
      content_type VARCHAR(20) NOT NULL DEFAULT '',
      data BLOB NOT NULL DEFAULT '',
      thumb BLOB NOT NULL DEFAULT '',
      created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )""",
    "CREATE INDEX product_picture_product ON product_picture (product)",
]


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
        await RawTable.raw("DROP TABLE product_picture")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
