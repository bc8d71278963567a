"""Flagging a dealer for review: who may, what it changes, and its audit trail."""

from __future__ import annotations

import pytest

from portal.domain import dealers
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import AuditEntry, Dealer
from tests.db.test_approvals import NOW, place, rule, steps_of, team


async def test_a_flagged_dealer_s_orders_wait_for_the_manager_until_cleared(db):
    t = await team()
    await rule("dealer_flagged", "sales_manager")
    assert (await place(t, key="before")).status == "approved"

    await dealers.set_review_flag(t.manager, t.w.dealer["id"], True, "逾期未付", now=NOW)
    flagged = await place(t, key="flagged")
    assert flagged.status == "pending_approval"
    assert await steps_of(flagged.id) == [("sales_manager", "dealer_flagged", "pending")]

    await dealers.set_review_flag(t.manager, t.w.dealer["id"], False, "", now=NOW)
    assert (await place(t, key="cleared")).status == "approved"

    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.after).where(
        AuditEntry.action == "dealer.review_flag"
    )
    assert len(entries) == 2


async def test_only_staff_in_scope_may_flag_and_a_reason_is_required(db):
    t = await team()
    dealer_id = t.w.dealer["id"]
    with pytest.raises(Forbidden):
        await dealers.set_review_flag(t.w.buyer, dealer_id, True, "x", now=NOW)
    with pytest.raises(Forbidden):
        await dealers.set_review_flag(t.rep, dealer_id, True, "x", now=NOW)
    with pytest.raises(NotFound):  # another team's dealer reads as nonexistent
        await dealers.set_review_flag(t.other_manager, dealer_id, True, "x", now=NOW)
    with pytest.raises(ValidationFailed):
        await dealers.set_review_flag(t.manager, dealer_id, True, "   ", now=NOW)
    with pytest.raises(ValidationFailed):
        await dealers.set_review_flag(t.manager, dealer_id, True, "x" * 201, now=NOW)
    row = await Dealer.select(Dealer.flagged_for_review).where(Dealer.id == dealer_id).first()
    assert row["flagged_for_review"] is False
    assert await AuditEntry.count().where(AuditEntry.action == "dealer.review_flag") == 0
