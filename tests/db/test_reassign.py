"""Reassigning dealers on both engines: a manager moves a dealer between their own reps and
the old rep loses it at once; other reps, other teams and other roles are refused; an
administrator may give a dealer to any rep or to none. Every move is audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.domain import dealers
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.scope import dealer_in_scope
from portal.tables import AuditEntry, RepAssignment
from tests import factories as f

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def team(db):
    boss = await f.user("sales_manager")
    other_boss = await f.user("sales_manager")
    a = await f.user("sales_rep", manager=boss)
    b = await f.user("sales_rep", manager=boss)
    stranger = await f.user("sales_rep", manager=other_boss)
    mine = await f.dealer(name="东方商行")
    theirs = await f.dealer(name="西方商行")
    await f.assign(a, mine)
    await f.assign(stranger, theirs)
    return {
        "boss": f.actor(boss),
        "a": f.actor(a),
        "b": f.actor(b),
        "stranger": f.actor(stranger),
        "mine": mine,
        "theirs": theirs,
        "rows": {"a": a, "b": b, "stranger": stranger},
    }


async def rep_of(dealer: dict) -> int | None:
    row = (
        await RepAssignment.select(RepAssignment.rep)
        .where(RepAssignment.dealer == dealer["id"])
        .first()
    )
    return row["rep"] if row else None


async def test_a_manager_moves_a_dealer_between_their_reps(team):
    mine = team["mine"]
    assert [r["id"] for r in await dealers.assignable_reps(team["boss"])] == sorted(
        [team["a"].user_id, team["b"].user_id]
    )
    new = await dealers.reassign(team["boss"], mine["id"], team["b"].user_id, now=NOW)
    assert new["id"] == team["b"].user_id and await rep_of(mine) == team["b"].user_id
    await dealer_in_scope(team["b"], mine["id"])
    with pytest.raises(NotFound):  # the old rep has lost it on their next request
        await dealer_in_scope(team["a"], mine["id"])
    [entry] = await AuditEntry.select().where(AuditEntry.action == "dealer.reassigned")
    assert entry["actor"] == team["boss"].user_id


async def test_what_a_manager_may_not_do(team):
    boss, mine, theirs = team["boss"], team["mine"], team["theirs"]
    with pytest.raises(ValidationFailed):  # another team's rep
        await dealers.reassign(boss, mine["id"], team["stranger"].user_id, now=NOW)
    with pytest.raises(ValidationFailed):  # to no rep: the dealer would leave every team
        await dealers.reassign(boss, mine["id"], None, now=NOW)
    with pytest.raises(NotFound):  # another team's dealer
        await dealers.reassign(boss, theirs["id"], team["a"].user_id, now=NOW)
    for who in (
        team["a"],
        f.actor(await f.user("finance")),
        f.actor(await f.user("dealer_admin", mine)),
    ):
        with pytest.raises(Forbidden):
            await dealers.reassign(who, mine["id"], team["b"].user_id, now=NOW)
    assert (
        await rep_of(mine) == team["a"].user_id and await rep_of(theirs) == team["stranger"].user_id
    )
    assert await AuditEntry.count() == 0


async def test_an_administrator_assigns_any_rep_or_none(team):
    admin = f.actor(await f.user("admin"))
    theirs = team["theirs"]
    await dealers.reassign(admin, theirs["id"], team["a"].user_id, now=NOW)
    assert await rep_of(theirs) == team["a"].user_id
    await dealers.reassign(admin, theirs["id"], None, now=NOW)
    assert await rep_of(theirs) is None
    await dealers.reassign(admin, theirs["id"], team["b"].user_id, now=NOW)  # a new row
    assert await rep_of(theirs) == team["b"].user_id
    inactive = await f.user("sales_rep")
    await f.User.update({f.User.active: False}).where(f.User.id == inactive["id"])
    with pytest.raises(ValidationFailed):
        await dealers.reassign(admin, theirs["id"], inactive["id"], now=NOW)
    assert await AuditEntry.count().where(AuditEntry.action == "dealer.reassigned") == 3
