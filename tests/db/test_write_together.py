"""write_together: independent writes in one round trip on PostgreSQL, in turn on SQLite;
either way all of them or, when one fails, none (inside the caller's transaction)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.db import current_engine, is_sqlite, write_together, write_transaction
from portal.domain import audit
from portal.tables import AuditEntry, Tier
from tests.db.test_pricing_db import QueryCounter

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def _tier(code: str) -> tuple[str, list]:
    return ("INSERT INTO tier (code, name, rank) VALUES ({}, {}, {})", [code, f"等级 {code}", 7])


async def test_all_the_writes_land_in_one_statement_on_postgresql(db):
    writes = [
        _tier("W1"),
        audit.entry(None, "test.one", "tier", 1, {}, {"n": 1}, now=NOW),
        _tier("W2"),
        audit.entry(None, "test.two", "tier", 2, {"a": "{x}"}, {"n": 2}, now=NOW),
    ]
    with QueryCounter(current_engine()) as counter:
        async with write_transaction():
            await write_together(writes)
    # BEGIN and COMMIT are not queries of the engine's; the writes are.
    assert counter.count == (4 if is_sqlite(current_engine()) else 1)
    tiers = await Tier.select(Tier.code, Tier.name).where(Tier.code.is_in(["W1", "W2"]))
    assert sorted((t["code"], t["name"]) for t in tiers) == [("W1", "等级 W1"), ("W2", "等级 W2")]
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.after, AuditEntry.before)
    got = sorted((e["action"], e["after"], e["before"]) for e in entries)
    assert got == [("test.one", '{"n": 1}', "{}"), ("test.two", '{"n": 2}', '{"a": "{x}"}')]


async def test_one_failing_write_leaves_none_of_them(db):
    with pytest.raises(Exception):  # noqa: B017 - each engine's own unique-violation error
        async with write_transaction():
            await write_together(
                [
                    _tier("W3"),
                    audit.entry(None, "test.three", "tier", 3, {}, {}, now=NOW),
                    _tier("W3"),  # the same code again: unique
                ]
            )
    assert await Tier.count().where(Tier.code == "W3") == 0
    assert await AuditEntry.count().where(AuditEntry.action == "test.three") == 0


async def test_one_write_or_none(db):
    await write_together([])
    with QueryCounter(current_engine()) as counter:
        await write_together([_tier("W4")])
    assert counter.count == 1
    assert await Tier.count().where(Tier.code == "W4") == 1
