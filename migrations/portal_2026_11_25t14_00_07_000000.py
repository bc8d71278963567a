"""A SKU's search text: its name, its product's name and brand, lower-cased, in one column
(issue #3: a Chinese search over 100,000 SKUs).

A catalog search matched each term against four columns on two tables, as a UNION of four
subqueries whose ids were then looked up one by one: ~20 ms for a term in 5,000 SKUs before
the page was even sorted. With the text in one column beside the code and the barcode, the
whole filter is one condition on the SKU table, `search_text LIKE '%t%' OR lower(code) LIKE
't%' OR barcode LIKE 't%'`, which PostgreSQL answers by OR-ing three indexes into one bitmap.

Triggers keep the column right on both engines, whoever writes: a SKU inserted, renamed or
moved to another product, and a product renamed or rebranded. PostgreSQL: a pg_trgm GIN index
on it (without a pending list, as in 2026-11-25T14:00:06), when pg_trgm is installed.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "sku.search_text kept by triggers, trigram-indexed on PostgreSQL"

# What a SKU row's search text is made of (SQL over NEW, the SKU, and p, its product).
TEXT = "lower(NEW.name || ' ' || p.name || ' ' || p.brand)"

POSTGRES = [
    "ALTER TABLE sku ADD COLUMN search_text TEXT NOT NULL DEFAULT ''",
    f"""CREATE FUNCTION sku_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT {TEXT} INTO NEW.search_text FROM product p WHERE p.id = NEW.product;
      NEW.search_text := coalesce(NEW.search_text, lower(NEW.name));
      RETURN NEW;
    END $$""",
    "CREATE TRIGGER sku_search_text BEFORE INSERT OR UPDATE OF name, product ON sku "
    "FOR EACH ROW EXECUTE FUNCTION sku_search_text()",
    """CREATE FUNCTION product_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE sku SET search_text = lower(sku.name || ' ' || NEW.name || ' ' || NEW.brand)
      WHERE sku.product = NEW.id;
      RETURN NULL;
    END $$""",
    "CREATE TRIGGER product_search_text AFTER UPDATE OF name, brand ON product "
    "FOR EACH ROW EXECUTE FUNCTION product_search_text()",
    "UPDATE sku SET search_text = lower(sku.name || ' ' || p.name || ' ' || p.brand) "
    "FROM product p WHERE p.id = sku.product",
]
POSTGRES_TRGM = (
    "CREATE INDEX sku_search_trgm ON sku USING gin (search_text gin_trgm_ops) "
    "WITH (fastupdate = off)"
)
SQLITE_SET = (
    "UPDATE sku SET search_text = (SELECT lower(sku.name || ' ' || p.name || ' ' || p.brand) "
    "FROM product p WHERE p.id = sku.product)"
)
SQLITE = [
    "ALTER TABLE sku ADD COLUMN search_text TEXT NOT NULL DEFAULT ''",
    f"CREATE TRIGGER sku_search_text_insert AFTER INSERT ON sku BEGIN "
    f"{SQLITE_SET} WHERE id = NEW.id; END",
    f"CREATE TRIGGER sku_search_text_update AFTER UPDATE OF name, product ON sku BEGIN "
    f"{SQLITE_SET} WHERE id = NEW.id; END",
    "CREATE TRIGGER product_search_text AFTER UPDATE OF name, brand ON product BEGIN "
    "UPDATE sku SET search_text = lower(sku.name || ' ' || NEW.name || ' ' || NEW.brand) "
    "WHERE product = NEW.id; END",
    SQLITE_SET,
]


class RawTable(Table):
    pass


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        if not _is_postgres():
            for statement in SQLITE:
                await RawTable.raw(statement)
            return
        for statement in POSTGRES:
            await RawTable.raw(statement)
        if await RawTable.raw("SELECT 1 AS x FROM pg_extension WHERE extname = 'pg_trgm'"):
            await RawTable.raw(POSTGRES_TRGM)
        await RawTable.raw("ANALYZE sku")

    async def run_backwards():
        if _is_postgres():
            await RawTable.raw("DROP TRIGGER IF EXISTS product_search_text ON product")
            await RawTable.raw("DROP TRIGGER IF EXISTS sku_search_text ON sku")
            await RawTable.raw("DROP FUNCTION IF EXISTS product_search_text()")
            await RawTable.raw("DROP FUNCTION IF EXISTS sku_search_text()")
            await RawTable.raw("DROP INDEX IF EXISTS sku_search_trgm")
        else:
            for name in ("product_search_text", "sku_search_text_update", "sku_search_text_insert"):
                await RawTable.raw(f"DROP TRIGGER IF EXISTS {name}")
        await RawTable.raw("ALTER TABLE sku DROP COLUMN search_text")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
