"""Pinyin sort keys for dealers' and people's names (portal/domain/pinyin.py), as for SKUs
and products in 2026-11-27T13:40:00: the dealer lists (a rep's picker after the dealers
visited lately, finance's and a manager's lists) and the lists of people (the staff list, a
dealer's users, the managers and reps to choose from) go by name in pinyin order, 百货 before
长城 before 东方, 李娜 before 王芳 before 张伟, on both engines; and dealer.pinyin, what a
search in Latin letters finds a dealer by (bjss: 北京盛世; pinyin.search_key). The portal
writes them with every name it writes; this fills them for the names already there, and
indexes the dealers' keys bytewise.
"""

import importlib.util
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-27T14:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "dealer.name_key and portal_user.name_key, pinyin sort keys; dealer.pinyin"

# table -> the column whose sort key name_key holds
NAMED = {"dealer": "name", "portal_user": "display_name"}


class RawTable(Table):
    pass


def _keys_migration():
    """The module of migration 2026-11-27T13:40:00, whose way of filling keys this reuses."""
    path = Path(__file__).with_name("portal_2026_11_27t13_40_00_000000.py")
    spec = importlib.util.spec_from_file_location("pinyin_keys_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.RawTable._meta.db = RawTable._meta.db
    return module


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        postgres = RawTable._meta.db.engine_type != "sqlite"
        keys = _keys_migration()
        for table, column in NAMED.items():
            await RawTable.raw(f"ALTER TABLE {table} ADD COLUMN name_key TEXT NOT NULL DEFAULT ''")
            await keys._fill(table, column)
        key = 'name_key COLLATE "C"' if postgres else "name_key"
        await RawTable.raw(f"CREATE INDEX dealer_name_key ON dealer ({key}, name, id)")
        from portal.domain.pinyin import search_key

        await RawTable.raw("ALTER TABLE dealer ADD COLUMN pinyin TEXT NOT NULL DEFAULT ''")
        await keys._fill("dealer", "name", "pinyin", search_key)

    async def run_backwards():
        await RawTable.raw("ALTER TABLE dealer DROP COLUMN pinyin")
        await RawTable.raw("DROP INDEX dealer_name_key")
        for table in NAMED:
            await RawTable.raw(f"ALTER TABLE {table} DROP COLUMN name_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
