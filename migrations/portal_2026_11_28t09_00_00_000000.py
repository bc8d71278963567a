"""Usernames and codes unique whatever their letter case, barcodes unique: an administrator
could add D02BUYER beside d02buyer, a dealer d01 beside D01, a SKU bv-0001-1500 beside
BV-0001-1500, a warehouse sh beside SH, a tier t1 beside T1, and a second SKU with a barcode
another has (a scan then found either). The portal refuses these (portal/domain/codes.py);
unique indexes on LOWER(...) and on the barcodes given (an empty one is nobody's) hold it
when two people save at once, on both engines (SQLite has expression and partial indexes).

Names that clash already stop the migration, listed, rather than being renamed behind their
owners' backs: rename one of each pair (or clear a barcode) and run it again.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "usernames and codes unique ignoring letter case; barcodes unique"

# index -> (table, what is unique, which rows)
INDEXES = {
    "portal_user_username_lower": ("portal_user", "LOWER(username)", ""),
    "dealer_code_lower": ("dealer", "LOWER(code)", ""),
    "tier_code_lower": ("tier", "LOWER(code)", ""),
    "warehouse_code_lower": ("warehouse", "LOWER(code)", ""),
    "sku_code_lower": ("sku", "LOWER(code)", ""),
    "sku_barcode_unique": ("sku", "barcode", "barcode <> ''"),
}


class RawTable(Table):
    pass


async def _clashes(table: str, key: str, rows: str) -> list[str]:
    """The values of `key` more than one row of `table` has, each with those rows' names."""
    name = "username" if table == "portal_user" else "code"
    where = f"WHERE {rows} " if rows else ""
    found = await RawTable.raw(
        f"SELECT {key} AS k, {name} AS name FROM {table} {where}ORDER BY {key}, id"
    )
    by_key: dict[str, list[str]] = {}
    for r in found:
        by_key.setdefault(r["k"], []).append(r["name"])
    return [
        f"{table}.{key} = {k!r}: {', '.join(names)}"
        for k, names in by_key.items()
        if len(names) > 1
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        clashes = []
        for table, key, rows in INDEXES.values():
            clashes += await _clashes(table, key, rows)
        if clashes:
            raise RuntimeError(
                "These names are one name ignoring letter case (or one barcode); rename one "
                "of each and migrate again:\n" + "\n".join(clashes[:50])
            )
        for index, (table, key, rows) in INDEXES.items():
            where = f" WHERE {rows}" if rows else ""
            await RawTable.raw(f"CREATE UNIQUE INDEX {index} ON {table} ({key}){where}")

    async def run_backwards():
        for index in reversed(INDEXES):
            await RawTable.raw(f"DROP INDEX {index}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
