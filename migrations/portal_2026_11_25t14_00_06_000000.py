"""Catalog search indexes without a GIN pending list (issue "Hard guarantees and measured speed").

PostgreSQL only: the pg_trgm GIN indexes of migration 2026-11-25T14:00:04 were created with
fastupdate on, so rows inserted after them wait in the index's unsorted "pending list" until
a vacuum (or the list's size limit) merges them. Every search reads that whole list, and the
planner counts it: with a loaded catalog and no vacuum yet (or autovacuum off) a product name
or brand search became a sequential scan of every product (~60 ms at 100,000 SKUs) and a SKU
name search read thousands of pending entries. The catalog is read far more often than it is
written, so these indexes now take inserts straight into the index (fastupdate off); the rows
already pending are merged at once and the statistics refreshed. SQLite: nothing to do.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog trigram indexes without a pending list (PostgreSQL)"

TRGM_INDEXES = ["sku_name_trgm", "product_name_trgm", "product_brand_trgm"]


class RawTable(Table):
    pass


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def _existing(names: list[str]) -> list[str]:
    """The named indexes that exist (a database migrated without pg_trgm has none)."""
    rows = await RawTable.raw(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN ("
        + ", ".join("{}" for _n in names)
        + ")",
        *names,
    )
    found = {r["indexname"] for r in rows}
    return [n for n in names if n in found]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        if not _is_postgres():
            return
        for name in await _existing(TRGM_INDEXES):
            await RawTable.raw(f"ALTER INDEX {name} SET (fastupdate = off)")
            # Merge what is already pending (fastupdate off only affects later inserts).
            await RawTable.raw(f"SELECT gin_clean_pending_list('{name}'::regclass)")
        await RawTable.raw("ANALYZE sku")
        await RawTable.raw("ANALYZE product")

    async def run_backwards():
        if not _is_postgres():
            return
        for name in await _existing(TRGM_INDEXES):
            await RawTable.raw(f"ALTER INDEX {name} RESET (fastupdate)")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
