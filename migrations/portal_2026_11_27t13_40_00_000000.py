"""Pinyin sort keys for SKU and product names (portal/domain/pinyin.py): the catalog's "by
name" order and its default order (by product) become 拼音 order, 百事可乐 before 冰红茶 before
茶饮料, on both engines. The portal writes a key with every name it writes; this fills the
keys of the names already there, and indexes the keys for those orders.

The catalog's version moves (search rankings a process keeps are in the old order).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-27T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sku.name_key and product.name_key, pinyin sort keys"

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


async def _fill(table: str, column: str = "name") -> None:
    """Each row's name_key: the sort key of its `column`."""
    from portal.domain.pinyin import sort_key

    rows = await RawTable.raw(f"SELECT id, {column} AS name FROM {table}")
    batch = 5000
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        ids = [int(r["id"]) for r in part]
        keys = [sort_key(r["name"] or "") for r in part]
        if _is_postgres():
            await RawTable.raw(
                f"UPDATE {table} SET name_key = v.k FROM unnest({{}}::int[], {{}}::text[]) "
                f"AS v(id, k) WHERE {table}.id = v.id",
                ids,
                keys,
            )
        else:
            import json

            mapping = json.dumps({str(i): k for i, k in zip(ids, keys, strict=True)})
            await RawTable.raw(
                f"UPDATE {table} SET name_key = (SELECT j.value FROM json_each({{}}) j "
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
        await RawTable.raw(
            "UPDATE catalog_version SET n = "
            + ("nextval('catalog_version_seq')" if postgres else "random()")
            + " WHERE id = 1"
        )

    async def run_backwards():
        for name in ("sku_name_key", "product_name_key", "product_category_name_key"):
            await RawTable.raw(f"DROP INDEX {name}")
        for table in TABLES:
            await RawTable.raw(f"ALTER TABLE {table} DROP COLUMN name_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
