"""Two approvers tap at the same moment on PostgreSQL: exactly one decision wins."""

from __future__ import annotations

import asyncio

import pytest

from portal.domain import approvals, orders
from portal.domain.errors import Conflict
from portal.tables import ApprovalStep, AuditEntry, OrderEvent
from tests import factories as f
from tests.db.test_approvals import place, rule, team
from tests.db.test_orders import NOW, dealer_now, reserved

pytestmark = pytest.mark.postgres_only


async def outcome(coro):
    try:
        return await coro
    except Exception as exc:  # collected and asserted on below
        return exc


@pytest.mark.parametrize("round_", range(3))
async def test_approve_and_reject_race_exactly_one_wins(db, round_):
    t = await team()
    await rule("total_at_least", "finance", amount_fen=1)
    deciders = [t.finance] + [f.actor(await f.user("finance")) for _ in range(5)]
    order = await place(t)
    [card] = await approvals.inbox(t.finance)
    results = await asyncio.gather(
        *[
            outcome(
                approvals.decide(a, card.step_id, "approve" if i % 2 else "reject", "并发", now=NOW)
            )
            for i, a in enumerate(deciders)
        ]
    )
    won = [r for r in results if isinstance(r, approvals.Decision)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == len(deciders) - 1, results
    step = await ApprovalStep.select().where(ApprovalStep.id == card.step_id).first()
    assert step["status"] == won[0].outcome
    view = await orders.get_order(t.w.buyer, order.id)
    assert view.status == won[0].order_status
    decisions = await OrderEvent.count().where(
        (OrderEvent.order == order.id) & (OrderEvent.kind != "submitted")
    )
    assert decisions == 1
    assert await AuditEntry.count().where(AuditEntry.action.like("order.%ed")) == 2
    if won[0].outcome == "rejected":
        assert await reserved(t.w.sku) == 0
        assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 0
    else:
        assert await reserved(t.w.sku) == 48
