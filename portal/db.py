"""The database engine chosen by URL, and the one way a use case opens a write transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from sqlite3 import Connection as SQLiteConnection
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString
from piccolo.table import Table

# SQLite waits this long for the write lock instead of failing with "database is locked".
SQLITE_BUSY_SECONDS = 30
# How SQLite waits for the disk on commit (PRAGMA synchronous), from the URL's ?synchronous=.
# FULL, SQLite's default, keeps every commit through a power cut; the tests' throwaway
# databases use OFF, as their PostgreSQL ones use synchronous_commit = off.
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
_SQLITE_CONNECTIONS: dict[tuple[str, bool], type[SQLiteConnection]] = {}


def _sqlite_connection(synchronous: str, reverse_unordered: bool) -> type[SQLiteConnection]:
    """A sqlite3 connection class that sets PRAGMA synchronous (and, for the tests,
    reverse_unordered_selects) when it opens (Piccolo hands sqlite3.connect() the engine's
    keyword arguments, `factory` among them)."""
    key = (synchronous, reverse_unordered)
    if key not in _SQLITE_CONNECTIONS:

        class Connection(SQLiteConnection):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                self.execute(f"PRAGMA synchronous = {synchronous}")
                if reverse_unordered:
                    self.execute("PRAGMA reverse_unordered_selects = ON")

        _SQLITE_CONNECTIONS[key] = Connection
    return _SQLITE_CONNECTIONS[key]


# Idle SQLite connections kept for reuse, per engine (see PortalSQLiteEngine).
SQLITE_IDLE_CONNECTIONS = 8


class _LentConnection:
    """An aiosqlite connection lent by PortalSQLiteEngine; close() gives it back."""

    __slots__ = ("_engine", "_raw")

    def __init__(self, engine: PortalSQLiteEngine, raw: Any) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_raw", raw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._raw, name, value)

    async def close(self) -> None:
        await self._engine._give_back(self._raw)


class PortalSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with its connections reused.

    Piccolo opens a new connection for every query outside a transaction and for every
    transaction, and aiosqlite gives each connection a thread of its own: connecting, the
    foreign-keys pragma and closing cost several hand-offs between threads (~1 ms) per
    query. Here a connection goes back to a small idle list instead, rolled back if a
    transaction was left open (closed if even that fails). Each connection still serves one
    query or one transaction at a time; SQLite's own locking (WAL, BEGIN IMMEDIATE for
    writes, the busy timeout) is unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[Any] = []

    async def get_connection(self) -> Any:
        raw = self._idle.pop() if self._idle else await self._connect()
        return _LentConnection(self, raw)

    async def _connect(self) -> Any:
        """A new connection, as Piccolo opens one, on a daemon thread: an idle connection
        must not keep the process from exiting (a command that never closes its engine)."""
        connection = aiosqlite.connect(**self.connection_kwargs)
        connection._thread.daemon = True  # set before the thread starts, on first await
        await connection
        connection.row_factory = dict_factory
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _give_back(self, raw: Any) -> None:
        try:
            if raw.in_transaction:
                await raw.execute("ROLLBACK")
        except Exception:
            await raw.close()
            return
        if len(self._idle) < SQLITE_IDLE_CONNECTIONS:
            self._idle.append(raw)
        else:
            await raw.close()

    async def close_idle(self) -> None:
        while self._idle:
            await self._idle.pop().close()

    async def _run_in_new_connection(
        self, query: str, args: list | None = None, query_type: str = "generic", table=None
    ):
        """A query outside any transaction, on a lent connection (autocommit: Piccolo's
        connections are opened with isolation_level None)."""
        connection = await self.get_connection()
        try:
            return await self._run_in_existing_connection(
                connection, query, args, query_type, table
            )
        finally:
            await connection.close()

    async def _run_in_existing_connection(
        self,
        connection,
        query: str,
        args: list | None = None,
        query_type: str = "generic",
        table=None,
    ):
        """As Piccolo's, without re-sending the foreign-keys pragma before every query: every
        connection of this engine got it when it was opened."""
        if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING
            return await super()._run_in_existing_connection(
                connection, query, args, query_type, table
            )
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()


# How many statement texts PortalPostgresEngine keeps compiled (each of the portal's
# statements is one text; a few carry literal ids, so the set is bounded but not fixed).
COMPILED_TEXTS = 4096


class PortalPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine, compiling each statement text once.

    Piccolo parses a query's template into fragments on every run to number its
    placeholders ($1, $2, …): 10 µs for a short INSERT, 43 µs for a catalog page's
    statement, on every request. Here a template whose values are all plain (no nested
    query, as Table.raw passes them) is compiled once and the text kept; the values go to
    asyncpg as Piccolo would pass them, on the same connection (the transaction's, else the
    pool's). Anything else (queries Piccolo builds, logging) takes Piccolo's own path."""

    _texts: dict[str, str] = {}

    async def run_text(self, template: str, args: Sequence[Any]) -> list:
        """asyncpg's rows for one of the portal's own statements (fetch)."""
        return await self._run_text(template, args)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True):
        args = querystring.args
        if self.log_queries or any(isinstance(value, QueryString) for value in args):
            return await super().run_querystring(querystring, in_pool=in_pool)
        return await self._run_text(querystring.template, args, in_pool=in_pool)

    async def _run_text(self, template: str, args: Sequence[Any], in_pool: bool = True) -> list:
        """Compile the template on first use (plain values only), then run it on the
        connection Piccolo would use: the transaction's, else the pool's."""
        text = self._texts.get(template)
        if text is None:
            text = QueryString(template, *args).compile_string(engine_type=self.engine_type)[0]
            if len(self._texts) >= COMPILED_TEXTS:
                self._texts.clear()
            self._texts[template] = text
        transaction = self.current_transaction.get()
        if transaction:
            return await transaction.connection.fetch(text, *args)
        if in_pool and self.pool:
            async with self.pool.acquire() as connection:
                return await connection.fetch(text, *args)
        return await self._run_in_new_connection(text, list(args))


async def fetch(sql: str, *args: Any) -> list[dict]:
    """`Table.raw(sql, *args)` for the portal's own statements ({} placeholders, plain values):
    the same rows as dicts, on the same connection. On PostgreSQL without Piccolo's query
    objects, whose set-up (a type check of every value against its column classes) cost more
    than the statement's own compiling: the hot paths (a submission, a catalog page, the
    session's user) use this."""
    engine = current_engine()
    if not isinstance(engine, PortalPostgresEngine) or engine.log_queries:
        from portal.tables.users import User

        return await User.raw(sql, *args)
    return [dict(row) for row in await engine.run_text(sql, args)]


# Planner costs for the portal's own connections. The hot reads (a catalog page, an order's
# stock rows) are index lookups on tables that fit in memory; PostgreSQL's default
# random_page_cost (4.0) prices each such lookup as a seek on a spinning disk, and on 100,000
# SKUs it made the planner hash-join every SKU to count a category's first thousand (4 ms
# instead of 1). 1.1 is the usual figure for SSDs and cached data.
POSTGRES_SESSION_SETTINGS = {"random_page_cost": "1.1"}


def engine_from_url(url: str) -> Engine:
    """sqlite:///path/to/file[?synchronous=off|normal|full|extra][&reverse_unordered_selects=1],
    postgresql://user:pass@host:port/db or postgresql://user@/db?host=/socket/directory."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy spells them.
        path = unquote(url[len("sqlite:///") :].partition("?")[0])
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        synchronous = options.pop("synchronous", "FULL").upper()
        # The tests read every query without ORDER BY backwards, so that code relying on the
        # order rows happen to lie in fails at once here, not now and then on PostgreSQL.
        reverse = options.pop("reverse_unordered_selects", "0")
        if synchronous not in SQLITE_SYNCHRONOUS or reverse not in ("0", "1") or options:
            raise ValueError(f"unsupported SQLite URL options: {parsed.query!r}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return PortalSQLiteEngine(
            path=path,
            timeout=SQLITE_BUSY_SECONDS,
            factory=_sqlite_connection(synchronous, reverse == "1"),
        )
    if parsed.scheme in ("postgres", "postgresql"):
        # ?host=/var/run/postgresql, as libpq spells it: a Unix socket's directory, for a
        # server on the same machine (no TCP stack between them: about 20% less CPU per
        # statement on both sides, measured in bench/).
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        socket_dir = options.pop("host", "")
        if options or (socket_dir and not socket_dir.startswith("/")):
            raise ValueError(f"unsupported PostgreSQL URL options: {parsed.query!r}")
        config = {
            "host": socket_dir or parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": unquote(parsed.username or "postgres"),
            "database": (parsed.path or "/postgres").lstrip("/") or "postgres",
        }
        if parsed.password:
            config["password"] = unquote(parsed.password)
        config["server_settings"] = dict(POSTGRES_SESSION_SETTINGS)
        return PortalPostgresEngine(config=config)
    raise ValueError(f"unsupported database URL scheme: {parsed.scheme!r}")


def is_sqlite(engine: Engine) -> bool:
    return engine.engine_type == "sqlite"


def bytewise(expr: str) -> str:
    """A text sort key compared byte by byte on PostgreSQL (COLLATE "C"): the same order as
    the database's C.UTF-8 (code points) without strcoll per comparison, and the order of the
    pinyin sort keys (portal/domain/pinyin.py) whatever the database's collation. SQLite
    already compares bytes."""
    return expr if is_sqlite(current_engine()) else f'{expr} COLLATE "C"'


def bind_tables(engine: Engine) -> None:
    """Point every portal table at the engine (the one piece of shared state)."""
    from portal.tables import ALL_TABLES

    for table in ALL_TABLES:
        table._meta.db = engine


def current_engine() -> Engine:
    from portal.tables.users import User

    return User._meta.db


@asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """One use case, one transaction. IMMEDIATE on SQLite so writers queue, never nest."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(
            transaction_type=TransactionType.immediate, allow_nested=False
        ):
            yield
    else:
        async with engine.transaction(allow_nested=False):
            yield


async def _keep_session(connection: object) -> None:
    """What the pool runs when a connection comes back, after asyncpg has rolled back any open
    transaction: nothing. asyncpg's default also resets session state (advisory locks, LISTEN,
    SET, cursors), one more round trip per query, and the portal never changes such state."""


async def start(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20, reset=_keep_session)
    else:
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")


async def stop(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, PortalSQLiteEngine):
        await engine.close_idle()


class SchemaBehind(Exception):
    """The database answers but lacks migrations this code needs (serve before migrate)."""


@cache
def latest_migration() -> str:
    """The newest migration's ID in migrations/ ("2026-11-28T10:00:00:000000")."""
    from portal.piccolo_app import APP_CONFIG

    names = sorted(p.stem for p in Path(APP_CONFIG.migrations_folder_path).glob("portal_*.py"))
    stem = names[-1].removeprefix("portal_")  # 2026_11_28t10_00_00_000000
    day, clock = stem.split("t")
    hours, minutes, seconds, micro = clock.split("_")
    return f"{day.replace('_', '-')}T{hours}:{minutes}:{seconds}:{micro}"


async def ping() -> None:
    """Raise if the database cannot answer a trivial query, or (SchemaBehind) if it has not
    been migrated to the code's newest migration: such a server would fail every request."""
    from portal.tables.users import User

    await User.raw("SELECT 1")
    try:
        rows = await User.raw(
            "SELECT COUNT(*) AS n FROM migration WHERE app_name = {} AND name = {}",
            "portal",
            latest_migration(),
        )
    except Exception as exc:  # no migration table at all: never migrated
        raise SchemaBehind(str(exc)) from exc
    if not rows or not int(rows[0]["n"]):
        raise SchemaBehind(latest_migration())


# One write as Table.raw takes it: SQL with {} placeholders, and the values.
Write = tuple[str, list[Any]]


async def write_together(writes: list[Write]) -> list[dict]:
    """Writes that do not depend on each other (none reads what another writes), in the
    caller's transaction: on PostgreSQL as one statement, each but the last a data-modifying
    WITH, so one round trip instead of one each; on SQLite one after another. Returns the
    rows of the last one's RETURNING, if it has one.

    For what a submission writes once it holds its stock rows' locks: every round trip there
    is time that every other order of those SKUs waits.
    """
    rows: list[dict] = []
    if len(writes) <= 1 or is_sqlite(current_engine()):
        for sql, args in writes:
            rows = await fetch(sql, *args)
        return rows
    *first, (last, _last_args) = writes
    sql = "WITH " + ", ".join(f"w{i} AS ({part})" for i, (part, _) in enumerate(first))
    return await fetch(f"{sql} {last}", *[value for _, args in writes for value in args])


_ROW_SQL: dict[type, str] = {}


async def row_by_id(table: type[Table], row_id: int) -> dict | None:
    """One whole row by primary key, as `table.select().where(id == row_id).first()` gives it
    (same keys, same converted values on both engines), without building the query each time:
    it runs on every request (the session's user, the dealer in scope)."""
    sql = _ROW_SQL.get(table)
    if sql is None:
        columns = ", ".join(f'"{c._meta.db_column_name}"' for c in table._meta.columns)
        sql = _ROW_SQL[table] = f'SELECT {columns} FROM "{table._meta.tablename}" WHERE "id" = {{}}'
    rows = await fetch(sql, int(row_id))
    return rows[0] if rows else None
