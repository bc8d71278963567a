"""Pinyin for SKU and product names (portal/domain/pinyin.py), on both engines:
- sort keys (name_key): the catalog's "by name" order and its default order (by product)
  become 拼音 order, 百事可乐 before 冰红茶 before 茶饮料; indexed bytewise for those orders;
- sku.pinyin, the SKU name's pinyin run together and its initials (search_key): a search in
  Latin letters finds 康师傅冰红茶 by binghong or bhc; on PostgreSQL indexed for substring
  search (pg_trgm, as sku.search_text).
The portal writes both with every name it writes; this fills them for the names already
there. The catalog's version moves (rankings a process keeps are in the old order and miss
what a pinyin search now finds).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-27T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sku.name_key and product.name_key, pinyin sort keys; sku.pinyin for search"

TABLES = ("sku", "product")
# Bytewise on PostgreSQL, as the catalog compares the keys (COLLATE "C"); the orders they
# serve: SKUs by name, and the listing by product (all, or a category's), the same shape as
# product_name and product_category_name (migration 2026-11-25T14:00:04) had for the name.
INDEXES = (
    "CREATE INDEX sku_name_key ON sku ({key}, name, code, id)",
    "CREATE INDEX product_name_key ON product ({key}, name, id)",
    "CREATE INDEX product_category_name_key ON product (category, {key}, name, id)",
)


class RawTable(Table):
    pass


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def _fill(table: str, column: str = "name", target: str = "name_key", key=None) -> None:
    """Each row's `target`: `key` (by default the pinyin sort key) of its `column`."""
    if key is None:
        from portal.domain.pinyin import sort_key as key

    rows = await RawTable.raw(f"SELECT id, {column} AS name FROM {table}")
    batch = 5000
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        ids = [int(r["id"]) for r in part]
        keys = [key(r["name"] or "") for r in part]
        if _is_postgres():
            await RawTable.raw(
                f"UPDATE {table} SET {target} = v.k FROM unnest({{}}::int[], {{}}::text[]) "
                f"AS v(id, k) WHERE {table}.id = v.id",
                ids,
                keys,
            )
        else:
            import json

            mapping = json.dumps({str(i): k for i, k in zip(ids, keys, strict=True)})
            await RawTable.raw(
                f"UPDATE {table} SET {target} = (SELECT j.value FROM json_each({{}}) j "
                f"WHERE j.key = CAST({table}.id AS TEXT)) "
                f"WHERE id IN (SELECT CAST(j.key AS INTEGER) FROM json_each({{}}) j)",
                mapping,
                mapping,
            )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        postgres = _is_postgres()
        for table in TABLES:
            await RawTable.raw(f"ALTER TABLE {table} ADD COLUMN name_key TEXT NOT NULL DEFAULT ''")
            await _fill(table)
        key = 'name_key COLLATE "C"' if postgres else "name_key"
        for statement in INDEXES:
            await RawTable.raw(statement.format(key=key))
        from portal.domain.pinyin import search_key

        await RawTable.raw("ALTER TABLE sku ADD COLUMN pinyin TEXT NOT NULL DEFAULT ''")
        await _fill("sku", "name", "pinyin", search_key)
        if postgres:
            await RawTable.raw(
                "CREATE INDEX sku_pinyin_trgm ON sku USING gin (pinyin gin_trgm_ops) "
                "WITH (fastupdate = off)"
            )
        await RawTable.raw(
            "UPDATE catalog_version SET n = "
            + ("nextval('catalog_version_seq')" if postgres else "random()")
            + " WHERE id = 1"
        )

    async def run_backwards():
        if _is_postgres():
            await RawTable.raw("DROP INDEX sku_pinyin_trgm")
        await RawTable.raw("ALTER TABLE sku DROP COLUMN pinyin")
        for name in ("sku_name_key", "product_name_key", "product_category_name_key"):
            await RawTable.raw(f"DROP INDEX {name}")
        for table in TABLES:
            await RawTable.raw(f"ALTER TABLE {table} DROP COLUMN name_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
