"""Money entries and reasons: a payment's value date within a week ahead and a year back (in
Shanghai days); credit settings changed one at a time; a reason made only of invisible
characters (zero-width space, BOM) counts as no reason wherever one is required."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.domain import approvals, ledger, orders, returns, shipments
from portal.domain.errors import ValidationFailed
from portal.tables import (
    ApprovalStep,
    AuditEntry,
    Dealer,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    ReturnRequest,
)
from tests.db.test_approvals import place, rule, team
from tests.db.test_shipments import (
    NOW,
    approved_order,
    assert_ledger_balanced,
    dealer_row,
    fulfil_world,
)
from tests.db.test_shipments_returns import shipped_order

# Only format characters and spaces: passes str.strip() as text, shows nothing.
INVISIBLE = ["\u200b", "\ufeff", "\u200b \u200c\u200d\u2060\ufeff", "\u3000\u200e\u00ad "]


async def ledger_state(dealer_id: int) -> tuple:
    """What a refused money entry must leave as it was: the balance, the entries, the audit."""
    d = await Dealer.select().where(Dealer.id == dealer_id).first()
    return (
        d["balance_fen"],
        await LedgerEntry.count().where(LedgerEntry.dealer == dealer_id),
        await AuditEntry.count(),
    )


# --- the value date of a payment --------------------------------------------------------


async def test_a_value_date_far_off_is_refused_and_nothing_is_booked(db):
    w = await fulfil_world(balance_fen=50_000)
    before = await ledger_state(w.dealer["id"])
    # NOW is 10:00 on 25 November 2026 in Shanghai: the window is 2025-11-25 .. 2026-12-02.
    for day in (
        date(2099, 1, 1),
        date(1900, 1, 1),
        date(1, 1, 1),
        date(2026, 12, 3),  # eight days ahead
        date(2025, 11, 24),  # a year and a day back
    ):
        with pytest.raises(ValidationFailed) as refused:
            await ledger.record_payment(
                w.finance, w.dealer["id"], amount="100", method="bank", value_date=day, now=NOW
            )
        [error] = refused.value.errors
        assert error.field == "value_date", day
        assert error.message == "Enter a value date from %(earliest)s to %(latest)s."
        assert error.params == {"earliest": "2025-11-25", "latest": "2026-12-02"}
    assert await ledger_state(w.dealer["id"]) == before


async def test_a_value_date_inside_the_window_is_booked_as_given(db):
    w = await fulfil_world(balance_fen=50_000)
    for day in (date(2026, 12, 2), date(2025, 11, 25), date(2026, 11, 25)):
        entry = await ledger.record_payment(
            w.finance, w.dealer["id"], amount="1", method="bank", value_date=day, now=NOW
        )
        assert entry.value_date == day
    await assert_ledger_balanced(w.dealer["id"])
    assert (await dealer_row(w))["balance_fen"] == 50_000 - 300


async def test_the_window_follows_the_day_in_shanghai_not_in_utc(db):
    w = await fulfil_world()
    # 17:00 UTC on 25 November is 01:00 on the 26th in Shanghai: a week ahead is 3 December.
    late = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    entry = await ledger.record_payment(
        w.finance, w.dealer["id"], amount="1", method="cash", value_date=date(2026, 12, 3), now=late
    )
    assert entry.value_date == date(2026, 12, 3)
    with pytest.raises(ValidationFailed):
        await ledger.record_payment(
            w.finance,
            w.dealer["id"],
            amount="1",
            method="cash",
            value_date=date(2026, 12, 4),
            now=late,
        )
    # On 29 February a year back is 28 February.
    leap = datetime(2028, 2, 29, 4, 0, tzinfo=UTC)
    assert ledger.value_date_window(leap) == (date(2027, 2, 28), date(2028, 3, 7))


async def test_a_value_date_problem_is_reported_with_the_other_fields(db):
    w = await fulfil_world()
    with pytest.raises(ValidationFailed) as refused:
        await ledger.record_payment(
            w.finance,
            w.dealer["id"],
            amount="abc",
            method="bank",
            value_date=date(2099, 1, 1),
            now=NOW,
        )
    assert {e.field for e in refused.value.errors} == {"amount", "value_date"}
    assert await LedgerEntry.count() == 0


# --- credit settings, one at a time ---------------------------------------------------------


async def test_the_limit_alone_keeps_the_terms_and_the_terms_alone_keep_the_limit(db):
    w = await fulfil_world()
    await ledger.set_credit_terms(
        w.finance, w.dealer["id"], credit_limit="5000", payment_terms_days="45", now=NOW
    )
    await ledger.set_credit_terms(w.finance, w.dealer["id"], credit_limit="8000", now=NOW)
    d = await dealer_row(w)
    assert (d["credit_limit_fen"], d["payment_terms_days"]) == (800_000, 45)
    await ledger.set_credit_terms(w.finance, w.dealer["id"], payment_terms_days=60, now=NOW)
    d = await dealer_row(w)
    assert (d["credit_limit_fen"], d["payment_terms_days"]) == (800_000, 60)
    last = (
        await AuditEntry.select()
        .where(AuditEntry.action == "dealer.credit_terms")
        .order_by(AuditEntry.id, ascending=False)
        .first()
    )
    before, after = json.loads(last["before"]), json.loads(last["after"])
    assert (before["payment_terms_days"], after["payment_terms_days"]) == (45, 60)
    assert before["credit_limit_fen"] == after["credit_limit_fen"] == 800_000


async def test_nothing_to_change_is_refused_and_writes_nothing(db):
    w = await fulfil_world()
    before = await dealer_row(w)
    with pytest.raises(ValidationFailed) as refused:
        await ledger.set_credit_terms(w.finance, w.dealer["id"], now=NOW)
    assert refused.value.message == "Nothing to change: send at least one credit setting."
    assert await dealer_row(w) == before
    assert await AuditEntry.count().where(AuditEntry.action == "dealer.credit_terms") == 0


# --- invisible reasons ----------------------------------------------------------------------


async def test_an_invisible_credit_note_reason_is_no_reason(db):
    w = await fulfil_world(balance_fen=50_000)
    before = await ledger_state(w.dealer["id"])
    for note in INVISIBLE:
        with pytest.raises(ValidationFailed) as refused:
            await ledger.record_credit_note(
                w.finance, w.dealer["id"], amount="10", note=note, now=NOW
            )
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("note", "Say why the dealer is credited.")
        ]
    assert await ledger_state(w.dealer["id"]) == before
    # Visible text keeps what is inside it; only the ends are trimmed.
    entry = await ledger.record_credit_note(
        w.finance, w.dealer["id"], amount="10", note="\u200b价格\u200b更正\ufeff", now=NOW
    )
    assert entry.note == "价格\u200b更正"


async def test_rejecting_or_sending_back_with_an_invisible_reason_is_refused(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    [card] = await approvals.inbox(t.manager)
    for action in ("reject", "return"):
        for reason in INVISIBLE:
            with pytest.raises(ValidationFailed) as refused:
                await approvals.decide(t.manager, card.step_id, action, reason, now=NOW)
            assert [(e.field, e.message) for e in refused.value.errors] == [
                ("reason", "Please give a reason.")
            ]
    step = await ApprovalStep.select().where(ApprovalStep.id == card.step_id).first()
    assert (step["status"], step["reason"] or "") == ("pending", "")
    row = await Order.select(Order.status).where(Order.id == order.id).first()
    assert row["status"] == "pending_approval"


async def test_adjusting_with_an_invisible_reason_is_refused(db):
    t = await team(on_hand=200)
    await rule("total_at_least", "sales_manager", amount_fen=20_000)
    order = await place(t, qty_boxes=5)
    line = order.lines[0]
    for reason in INVISIBLE:
        with pytest.raises(ValidationFailed) as refused:
            await approvals.adjust(
                t.manager, order.id, [approvals.LineChange(line.id, 48)], reason, now=NOW
            )
        assert [e.field for e in refused.value.errors] == ["reason"]
    qty = await OrderLine.select(OrderLine.qty).where(OrderLine.id == line.id).first()
    assert qty["qty"] == 120
    assert await OrderEvent.count().where(OrderEvent.kind == "adjusted") == 0


async def test_an_invisible_cancel_reason_is_stored_as_none(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    view = await orders.cancel_order(t.w.buyer, order.id, "\u200b\ufeff", now=NOW)
    assert view.status == "cancelled"
    event = await OrderEvent.select().where(OrderEvent.kind == "cancelled").first()
    assert event["note"] == ""


async def test_closing_the_rest_with_an_invisible_reason_is_refused(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10, qty2=4)
    a = o["lines"][0]
    created = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={a["id"]: 6}, now=NOW
    )
    await shipments.ship(w.clerk, created.shipment.id, now=NOW)
    before = await dealer_row(w)
    for reason in INVISIBLE:
        with pytest.raises(ValidationFailed) as refused:
            await orders.close_remainder(w.finance, o["id"], reason, now=NOW)
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("reason", "Say why the rest will not ship.")
        ]
    row = await Order.select(Order.status).where(Order.id == o["id"]).first()
    assert row["status"] == "partially_shipped"
    assert await dealer_row(w) == before


async def test_a_return_needs_a_visible_reason_and_so_does_its_rejection(db):
    w = await fulfil_world()
    o, line = await shipped_order(w)
    for reason in INVISIBLE:
        with pytest.raises(ValidationFailed) as refused:
            await returns.request_return(
                w.buyer, o["id"], quantities={line["id"]: 1}, reason=reason, now=NOW
            )
        assert ("reason", "Say why the goods come back.") in [
            (e.field, e.message) for e in refused.value.errors
        ]
    assert await ReturnRequest.count() == 0
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 1}, reason="破损\u200b", now=NOW
    )
    assert rma.reason == "破损"
    for note in INVISIBLE:
        with pytest.raises(ValidationFailed) as refused:
            await returns.decide_return(w.finance, rma.id, approve=False, note=note, now=NOW)
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("note", "Say why the return is rejected.")
        ]
    row = await ReturnRequest.select().where(ReturnRequest.id == rma.id).first()
    assert (row["status"], row["decision_note"] or "") == ("requested", "")


def test_the_window_is_a_week_ahead():
    today = NOW.astimezone(ledger.SHANGHAI).date()
    assert ledger.value_date_window(NOW)[1] - today == timedelta(days=7)
