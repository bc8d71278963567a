"""Configuration from the environment, the generated secret key, and database URLs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from portal.db import engine_from_url, is_sqlite, stop
from portal.settings import DEFAULT_VAR_DIR, Settings


def test_defaults_are_the_embedded_sqlite_setup(tmp_path):
    s = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert s.host == "127.0.0.1"
    assert s.port == 8000
    assert s.workers == 1
    assert s.secure_cookies is False
    assert s.debug is False
    assert s.var_dir == tmp_path
    assert s.default_locale == "zh_Hans"
    assert s.timezone == "Asia/Shanghai"


def test_default_var_dir_is_inside_the_project():
    assert DEFAULT_VAR_DIR.name == "var"
    assert (DEFAULT_VAR_DIR.parent / "pyproject.toml").exists()


def test_the_embedded_secret_is_generated_once_with_0600(tmp_path):
    var = tmp_path / "var"  # does not exist yet: created on demand
    first = Settings.from_env({"PORTAL_VAR_DIR": str(var)})
    path = var / "secret_key"
    assert path.exists()
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert len(first.secret_key.encode()) >= 32
    assert path.read_text().strip() == first.secret_key
    # Kept: a restart (or a second worker) reads the same key, so sessions survive.
    again = Settings.from_env({"PORTAL_VAR_DIR": str(var)})
    assert again.secret_key == first.secret_key


def test_the_secret_is_0600_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_each_installation_gets_its_own_secret(tmp_path):
    a = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path / "a")})
    b = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path / "b")})
    assert a.secret_key != b.secret_key


def test_a_configured_secret_wins_and_no_file_is_written(tmp_path):
    key = "k" * 40
    s = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_SECRET_KEY": key})
    assert s.secret_key == key
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("key", ["short", "x" * 31])
def test_a_short_secret_is_refused(tmp_path, key):
    with pytest.raises(ValueError, match="32"):
        Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_SECRET_KEY": key})


def test_an_empty_secret_variable_falls_back_to_the_file(tmp_path):
    s = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_SECRET_KEY": ""})
    assert (tmp_path / "secret_key").read_text().strip() == s.secret_key


def test_variables_are_parsed(tmp_path):
    s = Settings.from_env(
        {
            "PORTAL_VAR_DIR": str(tmp_path),
            "PORTAL_DATABASE_URL": "postgresql://app:pw@db.internal:5433/portal",
            "PORTAL_HOST": "0.0.0.0",
            "PORTAL_PORT": "8080",
            "PORTAL_WORKERS": "4",
            "PORTAL_SECURE_COOKIES": "1",
            "PORTAL_SHOW_STOCK_NUMBERS": "1",
            "PORTAL_DEBUG": "1",
        }
    )
    assert s.database_url == "postgresql://app:pw@db.internal:5433/portal"
    assert (s.host, s.port, s.workers) == ("0.0.0.0", 8080, 4)
    assert s.secure_cookies and s.show_stock_numbers and s.debug


@pytest.mark.parametrize("flag", ["0", "", "no"])
def test_flags_are_off_unless_1(tmp_path, flag):
    s = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_SECURE_COOKIES": flag})
    assert s.secure_cookies is False


def test_a_bad_port_is_an_error_not_a_silent_default(tmp_path):
    with pytest.raises(ValueError):
        Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_PORT": "eighty"})


def test_settings_are_immutable(tmp_path):
    s = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    with pytest.raises(AttributeError):
        s.secret_key = "changed"  # type: ignore[misc]


def test_from_env_reads_the_process_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_PORT", "9123")
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    s = Settings.from_env()
    assert s.port == 9123
    assert s.database_url.endswith("portal.sqlite3")


# --- database URLs -------------------------------------------------------------------------


def test_sqlite_absolute_path(tmp_path):
    target = tmp_path / "sub" / "db.sqlite3"
    engine = engine_from_url(f"sqlite:///{target}")
    assert isinstance(engine, SQLiteEngine)
    assert is_sqlite(engine)
    assert Path(engine.path) == target
    assert target.parent.is_dir()  # the folder is created for the file


def test_sqlite_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = engine_from_url("sqlite:///var/x.sqlite3")
    assert isinstance(engine, SQLiteEngine)
    assert engine.path == "var/x.sqlite3"
    assert (tmp_path / "var").is_dir()


def test_sqlite_path_with_escaped_characters(tmp_path):
    engine = engine_from_url(f"sqlite:///{tmp_path}/with%20space.sqlite3")
    assert Path(engine.path) == tmp_path / "with space.sqlite3"


@pytest.mark.parametrize(
    ("query", "level"), [("", 2), ("?synchronous=off", 0), ("?synchronous=NORMAL", 1)]
)
async def test_sqlite_synchronous_from_the_url(tmp_path, query, level):
    engine = engine_from_url(f"sqlite:///{tmp_path}/s.sqlite3{query}")
    assert Path(engine.path) == tmp_path / "s.sqlite3"
    # Both ways Piccolo opens connections: one per query, and one per transaction.
    assert (await engine._run_in_new_connection("PRAGMA synchronous")) == [{"synchronous": level}]
    async with engine.transaction():
        rows = await engine.current_transaction.get().connection.execute_fetchall(
            "PRAGMA synchronous"
        )
    assert [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows] == [(level,)]


@pytest.mark.parametrize("query", ["", "?reverse_unordered_selects=1"])
async def test_sqlite_reads_unordered_rows_backwards_when_asked(tmp_path, query):
    engine = engine_from_url(f"sqlite:///{tmp_path}/r.sqlite3{query}")
    await engine._run_in_new_connection("CREATE TABLE t (n INTEGER)")
    await engine._run_in_new_connection("INSERT INTO t VALUES (1), (2), (3)")
    rows = await engine._run_in_new_connection("SELECT n FROM t")
    assert [r["n"] for r in rows] == ([3, 2, 1] if query else [1, 2, 3])


@pytest.mark.parametrize(
    "query",
    [
        "?synchronous=sometimes",
        "?journal=wal",
        "?synchronous=off&x=1",
        "?reverse_unordered_selects=yes",
    ],
)
def test_sqlite_url_with_unknown_options_is_refused(tmp_path, query):
    with pytest.raises(ValueError, match="SQLite URL options"):
        engine_from_url(f"sqlite:///{tmp_path}/s.sqlite3{query}")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgres_url(scheme):
    engine = engine_from_url(f"{scheme}://app:p%40ss%3Aw@db.internal:5433/portal")
    assert isinstance(engine, PostgresEngine)
    assert not is_sqlite(engine)
    assert engine.config == {
        "host": "db.internal",
        "port": 5433,
        "user": "app",
        "password": "p@ss:w",
        "database": "portal",
        "server_settings": {"random_page_cost": "1.1"},
    }


def test_postgres_url_defaults():
    engine = engine_from_url("postgresql://")
    assert engine.config["host"] == "127.0.0.1"
    assert engine.config["port"] == 5432
    assert engine.config["user"] == "postgres"
    assert engine.config["database"] == "postgres"
    assert "password" not in engine.config


def test_postgres_url_without_password():
    engine = engine_from_url("postgresql://portal@127.0.0.1/orders")
    assert engine.config["user"] == "portal"
    assert engine.config["database"] == "orders"
    assert "password" not in engine.config


@pytest.mark.parametrize("url", ["mysql://u@h/db", "http://example.com/db", "portal.sqlite3", ""])
def test_unsupported_urls_are_refused(url):
    with pytest.raises(ValueError, match="unsupported"):
        engine_from_url(url)


def test_a_second_worker_racing_for_the_secret_gets_the_same_key(tmp_path, monkeypatch):
    """Two workers start together: both see no file, one creates it, the other must read it."""
    first = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    real_exists = Path.exists

    def stale_exists(self: Path) -> bool:  # what the slower worker saw a moment ago
        return False if self.name == "secret_key" else real_exists(self)

    monkeypatch.setattr(Path, "exists", stale_exists)
    second = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})
    assert second.secret_key == first.secret_key


async def test_sqlite_connections_are_reused_and_given_back_clean(tmp_path):
    engine = engine_from_url(f"sqlite:///{tmp_path}/pool.sqlite3")
    await engine._run_in_new_connection("CREATE TABLE t (x INTEGER)")
    (first,) = engine._idle
    assert first._thread.daemon  # an idle connection never keeps the process alive
    await engine._run_in_new_connection("INSERT INTO t VALUES (1)")
    assert engine._idle == [first]  # the same connection, not a new one per query
    # A transaction that fails gives its connection back rolled back.
    with pytest.raises(RuntimeError):
        async with engine.transaction():
            await engine._run_in_existing_connection(
                engine.current_transaction.get().connection, "INSERT INTO t VALUES (2)"
            )
            raise RuntimeError("boom")
    assert engine._idle == [first] and not first.in_transaction
    # One left open by mistake is rolled back when it comes back.
    lent = await engine.get_connection()
    await lent.execute("BEGIN IMMEDIATE")
    await lent.execute("INSERT INTO t VALUES (3)")
    await lent.close()
    assert not first.in_transaction
    assert await engine._run_in_new_connection("SELECT x FROM t") == [{"x": 1}]
    # Two at once are two connections; both are kept, up to the limit.
    a, b = await engine.get_connection(), await engine.get_connection()
    await a.close()
    await b.close()
    assert len(engine._idle) == 2
    await stop(engine)
    assert engine._idle == []


def test_postgres_url_with_a_unix_socket():
    engine = engine_from_url("postgresql://portal@/orders?host=/var/run/postgresql")
    assert engine.config["host"] == "/var/run/postgresql"
    assert engine.config["user"] == "portal"
    assert engine.config["database"] == "orders"


@pytest.mark.parametrize("query", ["?host=relative/dir", "?sslmode=require", "?host=/s&x=1"])
def test_postgres_url_with_unknown_options_is_refused(query):
    with pytest.raises(ValueError, match="PostgreSQL URL options"):
        engine_from_url(f"postgresql://portal@/orders{query}")
