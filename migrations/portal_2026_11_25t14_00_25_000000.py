"""The catalog's version (issue #3: a Chinese search over 100,000 SKUs at p95 <= 50 ms): a
value that every change to what a search finds or how it ranks replaces, in the same
transaction, so that a process may keep a search's ranking while the value stands
(portal/domain/search_rankings.py).

What a search reads: a SKU's name, code, barcode, product, active flag and the columns its
triggers keep (search_text, product_key, listed); a product's name, brand, category, active
flag and visibility; who may see a restricted product (product_visibility); the category
tree (a category filter takes a subtree). Prices, stock and favourites are read afresh by
every page, so they do not move it.

A new value is never one the version had before, even one of a transaction that rolled
back (a plain counter would count to it again): PostgreSQL takes it from a sequence, SQLite
at random (64 bits; only equality is ever asked).

PostgreSQL: a trigger before each statement, which moves the version once per transaction
(a transaction-local setting remembers it: an import of 20,000 rows, a statement each, had
taken 39% longer bumping at every statement). The version's row is locked by the
transaction's first catalog change until it ends, so catalog changes queue one after
another (admin work; orders never write these tables), and a transaction waits for that
lock before it locks any catalog row of its own: bumped after the statement instead, two
changes could deadlock, one holding the version and wanting a SKU the other had just
updated, the other wanting the version. A ranking read inside a transaction is never kept
(it could see that transaction's changes before they are final).
SQLite (one writer at a time): a trigger per row. The row is never deleted (it is no table
of the application's, so tests' emptying leaves it); were it gone, reading NULL, a process
would keep nothing.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:25:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalog_version, moved on by every change a search reads"

# table -> the columns whose updates move the version (None: any update)
WATCHED = {
    "sku": "name, code, barcode, product, active, search_text, product_key, listed",
    "product": "name, brand, category, active, visibility",
    "product_visibility": None,
    "category": "parent",
}
# SQLite: random() is a 64-bit integer; the version is only ever compared for equality.
SQLITE_BUMP = "UPDATE catalog_version SET n = random() WHERE id = 1"
POSTGRES_BUMP = (
    "IF current_setting('portal.catalog_version_moved', true) IS DISTINCT FROM '1' THEN "
    "UPDATE catalog_version SET n = nextval('catalog_version_seq') WHERE id = 1; "
    "PERFORM set_config('portal.catalog_version_moved', '1', true); END IF;"
)
TABLE = "CREATE TABLE catalog_version (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"


def _postgres() -> list[str]:
    statements = [
        TABLE,
        "CREATE SEQUENCE catalog_version_seq",
        "INSERT INTO catalog_version (id, n) VALUES (1, nextval('catalog_version_seq'))",
        "CREATE FUNCTION catalog_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {POSTGRES_BUMP} RETURN NULL; END $$",
    ]
    for table, columns in WATCHED.items():
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        statements += [
            f"CREATE TRIGGER {table}_catalog_version BEFORE INSERT OR DELETE OR {update} "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()",
            f"CREATE TRIGGER {table}_catalog_version_truncate BEFORE TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()",
        ]
    return statements


def _sqlite() -> list[str]:
    statements = [TABLE, "INSERT INTO catalog_version (id, n) VALUES (1, random())"]
    for table, columns in WATCHED.items():
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        for event, name in (("INSERT", "insert"), ("DELETE", "delete"), (update, "update")):
            statements.append(
                f"CREATE TRIGGER {table}_catalog_version_{name} AFTER {event} ON {table} "
                f"BEGIN {SQLITE_BUMP}; END"
            )
    return statements


def _backwards(postgres: bool) -> list[str]:
    if postgres:
        statements = [
            f"DROP TRIGGER {table}_catalog_version{suffix} ON {table}"
            for table in WATCHED
            for suffix in ("", "_truncate")
        ]
        statements += ["DROP FUNCTION catalog_version_bump()", "DROP SEQUENCE catalog_version_seq"]
    else:
        statements = [
            f"DROP TRIGGER {table}_catalog_version_{name}"
            for table in WATCHED
            for name in ("insert", "delete", "update")
        ]
    return [*statements, "DROP TABLE catalog_version"]


class RawTable(Table):
    pass


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in _postgres() if _is_postgres() else _sqlite():
            await RawTable.raw(statement)

    async def run_backwards():
        for statement in _backwards(_is_postgres()):
            await RawTable.raw(statement)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
