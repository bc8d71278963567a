"""The catalog search reads the SKU table alone (issue #3: a Chinese search over 100,000
SKUs): each SKU row carries its product's name, lower-cased (product_key), and whether the
product is active and visible to all (listed).

A search ranks every match (exact code or barcode, code prefix, name prefix, then by product
name) and counts them. It joined each match to its product for the name and for "active and
visible to this dealer": for 冰红茶, 5,000 of 100,000 SKUs, that join was most of its 13 ms
in PostgreSQL. Now only the SKUs of restricted or inactive products ask their product.

The triggers of 2026-11-25T14:00:07 keep both columns with search_text, on both engines: a
SKU inserted or moved to another product, and a product renamed, rebranded, deactivated or
restricted.
"""

import importlib.util
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:13:000000"
VERSION = "1.38.0"
DESCRIPTION = "sku.product_key and sku.listed kept by the search-text triggers"

# What a SKU's search text is made of, as in 2026-11-25T14:00:07: its name, its product's
# name and brand, lower-cased (SQL over the SKU `s` and its product `p`).
TEXT = "lower({s}.name || ' ' || {p}.name || ' ' || {p}.brand)"
COLUMNS = [
    "ALTER TABLE sku ADD COLUMN product_key TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sku ADD COLUMN listed BOOLEAN NOT NULL DEFAULT false",
]
POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION sku_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT {TEXT.format(s="NEW", p="p")}, lower(p.name), p.active AND p.visibility = 'all'
        INTO NEW.search_text, NEW.product_key, NEW.listed
        FROM product p WHERE p.id = NEW.product;
      NEW.search_text := coalesce(NEW.search_text, lower(NEW.name));
      NEW.product_key := coalesce(NEW.product_key, '');
      NEW.listed := coalesce(NEW.listed, false);
      RETURN NEW;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION product_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE sku SET search_text = {TEXT.format(s="sku", p="NEW")},
             product_key = lower(NEW.name), listed = NEW.active AND NEW.visibility = 'all'
      WHERE sku.product = NEW.id;
      RETURN NULL;
    END $$""",
    "DROP TRIGGER product_search_text ON product",
    "CREATE TRIGGER product_search_text AFTER UPDATE OF name, brand, active, visibility "
    "ON product FOR EACH ROW EXECUTE FUNCTION product_search_text()",
    "UPDATE sku SET product_key = lower(p.name), listed = p.active AND p.visibility = 'all' "
    "FROM product p WHERE p.id = sku.product",
    "ANALYZE sku",
]
SQLITE_SET = (
    "UPDATE sku SET (search_text, product_key, listed) = (SELECT "
    f"{TEXT.format(s='sku', p='p')}, lower(p.name), p.active AND p.visibility = 'all' "
    "FROM product p WHERE p.id = sku.product)"
)
SQLITE = [
    "DROP TRIGGER sku_search_text_insert",
    "DROP TRIGGER sku_search_text_update",
    "DROP TRIGGER product_search_text",
    f"CREATE TRIGGER sku_search_text_insert AFTER INSERT ON sku BEGIN "
    f"{SQLITE_SET} WHERE id = NEW.id; END",
    f"CREATE TRIGGER sku_search_text_update AFTER UPDATE OF name, product ON sku BEGIN "
    f"{SQLITE_SET} WHERE id = NEW.id; END",
    "CREATE TRIGGER product_search_text AFTER UPDATE OF name, brand, active, visibility "
    f"ON product BEGIN UPDATE sku SET search_text = {TEXT.format(s='sku', p='NEW')}, "
    "product_key = lower(NEW.name), listed = (NEW.active AND NEW.visibility = 'all') "
    "WHERE product = NEW.id; END",
    SQLITE_SET,
]


class RawTable(Table):
    pass


def _search_text_migration():
    """The module of migration 2026-11-25T14:00:07, whose triggers this one redefines."""
    path = Path(__file__).with_name("portal_2026_11_25t14_00_07_000000.py")
    spec = importlib.util.spec_from_file_location("search_text_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in COLUMNS + (POSTGRES if _is_postgres() else SQLITE):
            await RawTable.raw(statement)

    async def run_backwards():
        # The triggers as 2026-11-25T14:00:07 made them, then the columns go.
        before = _search_text_migration()
        if _is_postgres():
            old_functions = [before.POSTGRES[1], before.POSTGRES[3]]
            statements = [
                "DROP TRIGGER product_search_text ON product",
                "DROP TRIGGER sku_search_text ON sku",
                *[
                    f.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
                    for f in old_functions
                ],
                before.POSTGRES[2],
                before.POSTGRES[4],
                before.POSTGRES[5],
            ]
        else:
            statements = SQLITE[:3] + before.SQLITE[1:4]
        for statement in statements:
            await RawTable.raw(statement)
        for column in ("listed", "product_key"):
            await RawTable.raw(f"ALTER TABLE sku DROP COLUMN {column}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
