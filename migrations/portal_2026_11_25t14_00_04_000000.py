"""Catalog search and listing indexes (issue #3: 100,000 SKUs).

PostgreSQL: pg_trgm GIN indexes on LOWER(name) of SKUs and products and LOWER(brand), so a
substring search (Chinese included, at least 3 characters) reads the index instead of every
row; btree pattern indexes for the code and barcode prefix searches (the database's collation
is not C, so a plain btree cannot serve LIKE 'x%'). Both engines: (category, name, id) on
product for a category page in the catalog's order. pg_trgm ships with PostgreSQL (contrib);
creating it needs a role allowed to CREATE EXTENSION.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog search indexes (pg_trgm on PostgreSQL)"

BOTH = [
    "CREATE INDEX IF NOT EXISTS product_category_name ON product (category, name, id)",
]
POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS sku_name_trgm ON sku USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS product_name_trgm ON product USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS product_brand_trgm ON product "
    "USING gin (lower(brand) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS sku_code_prefix ON sku (lower(code) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS sku_barcode_prefix ON sku (barcode text_pattern_ops)",
]
DROP_POSTGRES = [
    "sku_name_trgm",
    "product_name_trgm",
    "product_brand_trgm",
    "sku_code_prefix",
    "sku_barcode_prefix",
]
DROP_BOTH = ["product_category_name"]


class RawTable(Table):
    pass


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in (POSTGRES if _is_postgres() else []) + BOTH:
            await RawTable.raw(statement)
        if _is_postgres():
            # Fresh statistics, so the planner knows the new expression indexes at once.
            await RawTable.raw("ANALYZE sku")
            await RawTable.raw("ANALYZE product")

    async def run_backwards():
        names = (DROP_POSTGRES if _is_postgres() else []) + DROP_BOTH
        for name in names:
            await RawTable.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
