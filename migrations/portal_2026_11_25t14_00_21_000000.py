"""Searching by a name typed without its spaces: 康师傅冰红茶 finds 康师傅 冰红茶 500ml.

Dealers type product words run together, as Chinese is written; the names carry spaces
between brand, product and spec. A SKU's search text (2026-11-25T14:00:07, 13) is now its
name, its product's name and brand and the product's name again (so that brand and product
typed together, 康师傅冰红茶, are in it), lower-cased, with the spaces (ASCII and full-width)
left out; a query's terms are split at spaces as before, so 冰红茶 低糖 still finds both words
wherever they are. The trigram and bigram indexes follow the column (search_bigrams is
generated from it). Triggers as in 2026-11-25T14:00:13, with the new text; every SKU's text
is written again.
"""

import importlib.util
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "sku.search_text without spaces"

# The SKU `s`'s name, its product `p`'s name and brand, and the product's name again after
# the brand (康师傅冰红茶: brand then product, as people say it), lower-cased, without spaces.
TEXT = (
    "replace(replace(lower({s}.name || {p}.name || {p}.brand || {p}.name), ' ', ''), '\u3000', '')"
)
NAME_ONLY = "replace(replace(lower(NEW.name), ' ', ''), '\u3000', '')"
POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION sku_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT {TEXT.format(s="NEW", p="p")}, lower(p.name), p.active AND p.visibility = 'all'
        INTO NEW.search_text, NEW.product_key, NEW.listed
        FROM product p WHERE p.id = NEW.product;
      NEW.search_text := coalesce(NEW.search_text, {NAME_ONLY});
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
    f"UPDATE sku SET search_text = {TEXT.format(s='sku', p='p')} "
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


def _before():
    """The module of migration 2026-11-25T14:00:13, whose triggers this one redefines."""
    path = Path(__file__).with_name("portal_2026_11_25t14_00_13_000000.py")
    spec = importlib.util.spec_from_file_location("search_columns_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in POSTGRES if _is_postgres() else SQLITE:
            await RawTable.raw(statement)

    async def run_backwards():
        before = _before()
        if _is_postgres():
            spaced = before.TEXT.format(s="sku", p="p")
            statements = [
                *before.POSTGRES[:2],
                f"UPDATE sku SET search_text = {spaced} FROM product p WHERE p.id = sku.product",
            ]
        else:
            statements = before.SQLITE
        for statement in statements:
            await RawTable.raw(statement)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
