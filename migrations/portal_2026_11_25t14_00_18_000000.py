"""Integration keys (api_key): long-lived bearer keys an administrator or a dealer's
administrator issues for an integration (an ERP acting as warehouse, a dealer's own system
acting as that dealer). Only each key's SHA-256 is stored, unique; the keys of a user are
found by the user index.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "integration keys"

COLUMNS = """
  "user" INTEGER NOT NULL REFERENCES portal_user (id) ON DELETE CASCADE ON UPDATE CASCADE,
  name VARCHAR(60) NOT NULL DEFAULT '',
  prefix VARCHAR(16) NOT NULL DEFAULT '',
  key_hash VARCHAR(64) NOT NULL UNIQUE,
  created_by INTEGER NULL REFERENCES portal_user (id) ON DELETE SET NULL ON UPDATE CASCADE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
  expires_at TIMESTAMPTZ NULL,
  last_used_at TIMESTAMPTZ NULL,
  revoked_at TIMESTAMPTZ NULL
"""
POSTGRES = [
    f"CREATE TABLE api_key (id SERIAL PRIMARY KEY NOT NULL,{COLUMNS})",
    'CREATE INDEX api_key_user ON api_key ("user")',
]
# AUTOINCREMENT: a revoked key's id is never given to another.
SQLITE = [
    f"CREATE TABLE api_key (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,{COLUMNS})",
    'CREATE INDEX api_key_user ON api_key ("user")',
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
        await RawTable.raw("DROP TABLE api_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
