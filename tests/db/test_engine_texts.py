"""The PostgreSQL engine compiles a statement text once (PortalPostgresEngine): the same rows
as Piccolo's own path, on the transaction's connection inside one, for raw statements and for
the queries Piccolo builds. On SQLite the same calls answer the same."""

from __future__ import annotations

import pytest

from portal.db import PortalPostgresEngine, current_engine, is_sqlite, write_transaction
from portal.tables import Tier


async def test_raw_statements_compile_once_and_answer_as_before(db):
    template = "SELECT CAST({} AS INTEGER) + CAST({} AS INTEGER) AS n, {} AS word"
    assert await Tier.raw(template, 1, 2, "一级") == [{"n": 3, "word": "一级"}]
    assert await Tier.raw(template, 40, 2, "二级") == [{"n": 42, "word": "二级"}]
    if not is_sqlite(current_engine()):
        assert isinstance(current_engine(), PortalPostgresEngine)
        assert PortalPostgresEngine._texts[template] == (
            "SELECT CAST($1 AS INTEGER) + CAST($2 AS INTEGER) AS n, $3 AS word"
        )


async def test_inside_a_transaction_the_statements_use_its_connection(db):
    with pytest.raises(RuntimeError):
        async with write_transaction():
            await Tier.raw("INSERT INTO tier (code, name, rank) VALUES ({}, {}, {})", "X1", "x", 1)
            # Visible inside the transaction: the same connection.
            assert await Tier.raw("SELECT count(*) AS n FROM tier WHERE code = {}", "X1") == [
                {"n": 1}
            ]
            raise RuntimeError("roll back")
    assert await Tier.raw("SELECT count(*) AS n FROM tier WHERE code = {}", "X1") == [{"n": 0}]


async def test_queries_piccolo_builds_take_its_own_path(db):
    await Tier.insert(Tier(code="Y1", name="乙", rank=3))
    rows = await Tier.select(Tier.code, Tier.name).where(Tier.code == "Y1")
    assert rows == [{"code": "Y1", "name": "乙"}]
    assert await Tier.count().where(Tier.rank == 3) == 1
