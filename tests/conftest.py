"""Test databases: every domain and HTTP test runs on SQLite and on PostgreSQL.

Each engine gets a database of its own, created and migrated once per session and
dropped at the end; before each test every table is emptied (isolation by database,
never by a wrapping transaction). With PORTAL_TEST_REQUIRE_ALL=1 (CI) a missing
PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from portal.db import bind_tables, engine_from_url, start, stop
from portal.domain import supplier, webhooks
from portal.migrate import run_migrations
from portal.tables import ALL_TABLES

PG_ADMIN_URL = os.environ.get(
    "PORTAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_ALL = os.environ.get("PORTAL_TEST_REQUIRE_ALL") == "1"
ENGINES = ["sqlite", "postgres"]


def missing(reason: str) -> None:
    """Skip locally; fail in CI, where nothing may be skipped."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def pytest_configure(config):
    config.pluginmanager.register(HeavyFirst(), "portal-heavy-first")
    # The suite is CPU-bound (2 cores, 2 workers) and allocates heavily (pages, app objects):
    # collect the young generation less often. About 7% less CPU on a pair of heavy tests.
    gc.set_threshold(20_000, 50, 100)


def pytest_collection_finish(session):
    # What collection imported (the app's modules, test modules, fixtures' code) lives for
    # the whole run: keep it out of every later full collection.
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(config, items):
    """postgres_only and markup_only tests never run on SQLite: deselect those, do not skip
    them. (markup_only: axe, screenshots, tap targets, layouts and the installable app judge
    the HTML, CSS and scripts, which are the same on either engine; the browser flows run on
    both.)"""
    keep, drop = [], []
    one_engine = ("postgres_only", "markup_only")
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        marked = any(item.get_closest_marker(m) for m in one_engine)
        if marked and params.get("engine_name") == "sqlite":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# Modules whose tests take the longest (seconds of a 2-core machine, whole run): started
# first within their engine, so that the run does not end on one worker still busy with them.
HEAVY_FIRST = (
    "tests/http/test_production.py",
    "tests/browser/",
    "tests/http/test_schemathesis.py",
    "tests/http/test_bad_input.py",
    "tests/http/test_access_matrix.py",
    "tests/stress/",
    "tests/http/test_auth_security.py",
    "tests/http/test_scenarios_api3.py",
)
_ENGINE_ORDER = {"sqlite": 0, "postgres": 1}


class HeavyFirst:
    """Runs after pytest has grouped the items by engine (its reordering of session-scoped
    parameters): within each engine the heavy modules move to the front, every module's items
    staying together and in their order. Workers take items in this order, so the run ends on
    short tests on both workers."""

    @staticmethod
    def rank(item) -> tuple[int, int]:
        params = getattr(getattr(item, "callspec", None), "params", {})
        engine = _ENGINE_ORDER.get(params.get("engine_name"), 2)
        path = item.nodeid.split("::", 1)[0]
        heavy = next((i for i, p in enumerate(HEAVY_FIRST) if path.startswith(p)), None)
        if heavy is None:
            return engine, len(HEAVY_FIRST)
        return (engine if engine < 2 else -1), heavy

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        items.sort(key=self.rank)  # stable: the order within a module is kept


def _with_db(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{name}"))


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=ENGINES)
def engine_name(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(engine_name: str) -> str:
    """A freshly migrated database for this engine, dropped after the session."""
    if engine_name == "sqlite":
        folder = tempfile.mkdtemp(prefix="portal-test-")
        # Rows of a query without ORDER BY come backwards: code that relies on where rows
        # lie fails on every run here (PostgreSQL's heap order only shows now and then).
        options = "synchronous=off&reverse_unordered_selects=1"
        url = f"sqlite:///{Path(folder) / 'test.sqlite3'}?{options}"
        run_migrations(url)
        yield url
        return
    name = f"portal_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        # A throwaway database: commits need not wait for the disk (still transactional).
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except (OSError, asyncpg.PostgresError) as exc:
        missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    url = _with_db(PG_ADMIN_URL, name)
    try:
        run_migrations(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
async def engine(database_url: str):
    eng = engine_from_url(database_url)
    await start(eng)
    yield eng
    await stop(eng)


async def empty_all_tables(eng) -> None:
    names = [t._meta.tablename for t in ALL_TABLES]
    if eng.engine_type == "postgres":
        await ALL_TABLES[0].raw(await _pg_emptying_block(eng, names))
    else:
        # One transaction for every table: a statement (and a commit) each took 30 to 50 ms.
        # Piccolo's SQLite keys are plain rowids: an emptied table starts again at 1.
        deletes = " ".join(f'DELETE FROM "{n}";' for n in reversed(names))
        connection = await eng.get_connection()
        try:
            await connection.executescript(f"BEGIN IMMEDIATE; {deletes} COMMIT;")
        finally:
            await connection.close()


async def _pg_emptying_block(eng, names: list[str]) -> str:
    """One statement that empties every table (children first) and restarts every sequence
    at 1, as TRUNCATE ... RESTART IDENTITY would. Tests leave a few rows behind: deleting
    them took about 20 ms, where TRUNCATE made new files for each of some 40 tables and
    their indexes and took 0.1 to over 1 s under the suite's load, before every test."""
    block = _EMPTYING.get(id(eng))
    if block is None:
        rows = await ALL_TABLES[0].raw(  # the sequences of these tables' serial columns
            "SELECT s.relname AS name FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
            "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' AND t.relname = ANY({})",
            names,
        )
        deletes = " ".join(f'DELETE FROM "{n}";' for n in reversed(names))
        # setval, not ALTER SEQUENCE ... RESTART: the same next value without a catalog change.
        restarts = " ".join(f"PERFORM setval('\"{r['name']}\"', 1, false);" for r in rows)
        block = f"DO $$ BEGIN {deletes} {restarts} END $$"
        _EMPTYING[id(eng)] = block
    return block


_EMPTYING: dict[int, str] = {}  # engine id -> its emptying block


@pytest.fixture
async def db(engine) -> AsyncIterator:
    """An empty database on the current engine, with every table bound to it."""
    bind_tables(engine)
    await empty_all_tables(engine)
    supplier.forget()  # what a process remembers of the settings is gone with the rows
    # The tests' webhook receivers listen on 127.0.0.1 (an installation's default refuses
    # it; tests/db/test_webhook_destinations.py checks that default).
    webhooks.private_addresses_allowed = True
    yield engine
