"""Approval flow: rules at submission, decisions, scope, over-credit, discounts, adjust, notices.

Runs on SQLite and PostgreSQL; the parallel storm is in test_approvals_concurrency.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from portal.domain import approvals, cart, notifications, orders, supplier
from portal.domain.errors import (
    Conflict,
    CreditExceeded,
    Forbidden,
    InsufficientStock,
    NotFound,
    ValidationFailed,
)
from portal.domain.quantities import LineRequest
from portal.domain.scope import Actor
from portal.tables import (
    ApprovalRule,
    ApprovalStep,
    AuditEntry,
    CartLine,
    Dealer,
    MailOutbox,
    Notification,
    OrderEvent,
    OrderLine,
    Sku,
    TierPrice,
    User,
)
from tests import factories as f
from tests.db.test_orders import NOW, World, dealer_now, reserved, world


@dataclass
class Team:
    w: World
    rep: Actor
    manager: Actor
    finance: Actor
    other_manager: Actor


async def team(**kw) -> Team:
    w = await world(**kw)
    manager_row = await f.user("sales_manager")
    rep_row = await f.user("sales_rep", manager=manager_row, discount_authority_bp=500)
    await f.assign(rep_row, w.dealer)
    finance_row = await f.user("finance")
    other = await f.user("sales_manager")
    other_rep = await f.user("sales_rep", manager=other)
    await f.assign(other_rep, await f.dealer(w.tier))
    return Team(
        w,
        f.actor(rep_row),
        f.actor(manager_row),
        f.actor(finance_row),
        f.actor(other),
    )


async def rule(kind: str, role: str, step_order: int = 10, **kw) -> None:
    await ApprovalRule.insert(
        ApprovalRule(kind=kind, approver_role=role, step_order=step_order, created_at=NOW, **kw)
    )


async def place(t: Team, qty_boxes: int = 2, actor: Actor | None = None, key: str = "k1"):
    result = await orders.submit_order(
        actor or t.w.buyer,
        t.w.dealer["id"],
        [LineRequest(qty=qty_boxes, sku_code="A100", unit="箱")],
        idempotency_key=key,
        now=NOW,
    )
    return result.order


async def steps_of(order_id: int) -> list[tuple]:
    rows = (
        await ApprovalStep.select(ApprovalStep.role, ApprovalStep.rule_kind, ApprovalStep.status)
        .where(ApprovalStep.order == order_id)
        .order_by(ApprovalStep.step_no)
    )
    return [(r["role"], r["rule_kind"], r["status"]) for r in rows]


async def kinds(order_id: int) -> list[str]:
    rows = (
        await OrderEvent.select(OrderEvent.kind)
        .where(OrderEvent.order == order_id)
        .order_by(OrderEvent.id)
    )
    return [r["kind"] for r in rows]


async def test_no_rule_approves_on_submission(db):
    t = await team()
    order = await place(t)
    assert order.status == "approved"
    assert await steps_of(order.id) == []


async def test_two_steps_manager_then_finance(db):
    t = await team()
    await rule("total_at_least", "finance", 20, amount_fen=5_000)
    await rule("total_at_least", "sales_manager", 10, amount_fen=5_000)
    order = await place(t)  # 48 瓶 × ¥1.80 = ¥86.40
    assert order.status == "pending_approval"
    assert await steps_of(order.id) == [
        ("sales_manager", "total_at_least", "pending"),
        ("finance", "total_at_least", "pending"),
    ]
    assert await approvals.inbox(t.finance) == []  # not finance's turn yet
    cards = await approvals.inbox(t.manager)
    assert [c.number for c in cards] == [order.number]
    card = cards[0]
    assert card.total_fen == 8640 and card.margin_fen == 0 and card.step_no == 1
    assert card.step_count == 2
    assert card.credit_after_fen == 10_000_000 - 8640
    assert await approvals.inbox_count(t.manager) == 1

    first = await approvals.decide(t.manager, card.step_id, "approve", now=NOW)
    assert first.outcome == "step_approved" and first.order_status == "pending_approval"
    assert await approvals.inbox(t.manager) == []
    [fin_card] = await approvals.inbox(t.finance)
    done = await approvals.decide(t.finance, fin_card.step_id, "approve", now=NOW)
    assert done.order_status == "approved"
    assert (await orders.get_order(t.w.buyer, order.id)).status == "approved"
    assert await kinds(order.id) == ["submitted", "step_approved", "approved"]
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action)]
    assert actions.count("order.step_approved") == 1 and actions.count("order.approved") == 1
    # Decided once: the same step again is a conflict.
    with pytest.raises(Conflict):
        await approvals.decide(t.finance, fin_card.step_id, "approve", now=NOW)


async def test_reject_needs_a_reason_and_releases_stock_and_exposure(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    assert await reserved(t.w.sku) == 48
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 8640
    [card] = await approvals.inbox(t.manager)
    with pytest.raises(ValidationFailed):
        await approvals.decide(t.manager, card.step_id, "reject", "  ", now=NOW)
    assert await steps_of(order.id) == [("sales_manager", "total_at_least", "pending")]
    d = await approvals.decide(t.manager, card.step_id, "reject", "价格不对", now=NOW)
    assert d.order_status == "rejected"
    assert await reserved(t.w.sku) == 0
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 0
    view = await orders.get_order(t.w.buyer, order.id)
    assert view.status == "rejected" and view.events[-1].note == "价格不对"
    audit = await AuditEntry.select().where(AuditEntry.action == "order.rejected").first()
    assert json.loads(audit["after"])["dealer_open_orders_fen"] == 0


async def test_scope_and_role_guard_decisions(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    step_id = (await ApprovalStep.select().where(ApprovalStep.order == order.id).first())["id"]
    assert await approvals.inbox(t.other_manager) == []
    with pytest.raises(NotFound):
        await approvals.decide(t.other_manager, step_id, "approve", now=NOW)
    with pytest.raises(Forbidden):
        await approvals.decide(t.finance, step_id, "approve", now=NOW)  # sees it, wrong role
    with pytest.raises(Forbidden):
        await approvals.decide(t.rep, step_id, "approve", now=NOW)
    with pytest.raises(NotFound):
        await approvals.decide(t.manager, 999_999, "approve", now=NOW)
    assert await steps_of(order.id) == [("sales_manager", "total_at_least", "pending")]


async def test_a_dealer_cancels_before_approval_and_the_rep_after(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    waiting = await place(t, key="waits")
    assert waiting.status == "pending_approval" and waiting.can_cancel is True
    await orders.cancel_order(t.w.buyer, waiting.id, "不要了", now=NOW)
    assert await reserved(t.w.sku) == 0
    approved = await place(t, key="goes")
    [card] = await approvals.inbox(t.manager)
    await approvals.decide(t.manager, card.step_id, "approve", now=NOW)
    view = await orders.get_order(t.w.buyer, approved.id)
    assert view.status == "approved" and view.can_cancel is False
    with pytest.raises(Conflict) as refused:  # DESIGN: "Before approval a dealer may cancel"
        await orders.cancel_order(t.w.buyer, approved.id, now=NOW)
    assert "sales rep" in refused.value.message
    assert await reserved(t.w.sku) == 48 and await orders.get_order(t.rep, approved.id)
    assert (await orders.get_order(t.rep, approved.id)).can_cancel is True
    done = await orders.cancel_order(t.rep, approved.id, "客户电话取消", now=NOW)
    assert done.status == "cancelled" and await reserved(t.w.sku) == 0


async def test_return_to_dealer_then_resubmit_or_cancel(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    [card] = await approvals.inbox(t.manager)
    d = await approvals.decide(t.manager, card.step_id, "return", "请确认数量", now=NOW)
    assert d.order_status == "returned"
    # Held while the dealer decides.
    assert await reserved(t.w.sku) == 48
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 8640
    assert await approvals.inbox(t.manager) == []
    standing = await approvals.standing(t.w.buyer, order.id)
    assert standing.can_resubmit and standing.current is None

    status = await approvals.resubmit(t.w.buyer, order.id, now=NOW)
    assert status == "pending_approval"
    assert await steps_of(order.id) == [
        ("sales_manager", "total_at_least", "returned"),
        ("sales_manager", "total_at_least", "pending"),
    ]
    with pytest.raises(Conflict):
        await approvals.resubmit(t.w.buyer, order.id, now=NOW)
    [card2] = await approvals.inbox(t.manager)
    await approvals.decide(t.manager, card2.step_id, "return", "再看看", now=NOW)
    cancelled = await orders.cancel_order(t.w.buyer, order.id, "不要了", now=NOW)
    assert cancelled.status == "cancelled"
    assert await reserved(t.w.sku) == 0
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 0


async def test_a_dealer_changes_quantities_of_an_order_sent_back_and_it_goes_again(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)  # 2 箱 = 48 瓶 × ¥1.80
    line = order.lines[0]
    change = [approvals.LineChange(line.id, 24)]
    with pytest.raises(Forbidden):  # not before it is sent back
        await approvals.adjust(t.w.buyer, order.id, change, "少要一箱", now=NOW)
    [card] = await approvals.inbox(t.manager)
    await approvals.decide(t.manager, card.step_id, "return", "请确认数量", now=NOW)
    assert (await approvals.standing(t.w.buyer, order.id)).can_adjust
    with pytest.raises(ValidationFailed):  # quantities only
        await approvals.adjust(
            t.w.buyer, order.id, [approvals.LineChange(line.id, 24, 100)], "便宜点", now=NOW
        )
    other = f.actor(await f.user("dealer_buyer", await f.dealer(t.w.tier)))
    with pytest.raises(NotFound):
        await approvals.adjust(other, order.id, change, "x", now=NOW)
    with pytest.raises(InsufficientStock) as short:  # no stock figure for a dealer
        big = [approvals.LineChange(line.id, 240_000)]
        await approvals.adjust(t.w.buyer, order.id, big, "多要", now=NOW)
    assert short.value.extra["lines"][0]["available"] is None
    status = await approvals.adjust(t.w.buyer, order.id, change, "少要一箱", now=NOW)
    assert status == "pending_approval"  # sent for approval again, with the new quantity
    view = await orders.get_order(t.w.buyer, order.id)
    assert (view.lines[0].qty, view.total_fen) == (24, 24 * 180)
    assert await reserved(t.w.sku) == 24
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 24 * 180
    [again] = await approvals.inbox(t.manager)
    assert again.order_id == order.id
    with pytest.raises(Forbidden):  # waiting again: the dealer's turn is over
        await approvals.adjust(t.w.buyer, order.id, change, "x", now=NOW)


async def test_a_manager_s_own_price_cut_while_adjusting_goes_to_finance(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    await rule("discount_beyond_authority", "sales_manager", step_order=20)
    order = await place(t)
    line = order.lines[0]
    await approvals.adjust(
        t.manager, order.id, [approvals.LineChange(line.id, line.qty, 0)], "送给客户", now=NOW
    )
    # ¥0.00 meets no amount any more; the price cut waits for finance, not for its author.
    assert [s for s in await steps_of(order.id) if s[2] == "pending"] == [
        ("finance", "discount_beyond_authority", "pending"),
    ]
    assert await approvals.inbox(t.manager) == []
    [theirs] = await approvals.inbox(t.finance)
    assert theirs.rule_kind == "discount_beyond_authority"


async def test_a_returned_order_is_not_sent_again_for_a_paused_dealer_or_a_product_gone(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    [card] = await approvals.inbox(t.manager)
    await approvals.decide(t.manager, card.step_id, "return", "改一下", now=NOW)
    await Dealer.update({Dealer.active: False}).where(Dealer.id == t.w.dealer["id"])
    with pytest.raises(Forbidden):
        await approvals.resubmit(t.w.buyer, order.id, now=NOW)
    await Dealer.update({Dealer.active: True}).where(Dealer.id == t.w.dealer["id"])
    await Sku.update({Sku.active: False}).where(Sku.id == t.w.sku["id"])
    with pytest.raises(ValidationFailed) as refused:
        await approvals.resubmit(t.w.buyer, order.id, now=NOW)
    assert refused.value.errors[0].params == {"codes": "A100"}
    assert (await approvals.standing(t.w.buyer, order.id)).can_resubmit  # still returned
    assert await approvals.inbox(t.manager) == []
    await Sku.update({Sku.active: True}).where(Sku.id == t.w.sku["id"])
    assert await approvals.resubmit(t.w.buyer, order.id, now=NOW) == "pending_approval"


async def test_resubmit_without_rules_any_more_is_approved(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    [card] = await approvals.inbox(t.manager)
    await approvals.decide(t.manager, card.step_id, "return", "改一下", now=NOW)
    await ApprovalRule.update({ApprovalRule.active: False}).where(ApprovalRule.id > 0)
    assert await approvals.resubmit(t.w.buyer, order.id, now=NOW) == "approved"
    # Approved by the rules, not by the dealer's buyer who sent it again.
    last = (
        await OrderEvent.select(OrderEvent.kind, OrderEvent.actor, OrderEvent.to_status)
        .where(OrderEvent.order == order.id)
        .order_by(OrderEvent.id, ascending=False)
        .first()
    )
    assert (last["kind"], last["actor"], last["to_status"]) == ("auto_approved", None, "approved")


async def test_over_credit_waits_for_finance_when_the_policy_allows(db):
    t = await team(credit_limit_fen=5_000, over_credit_policy="approval")
    order = await place(t)  # ¥86.40 against a ¥50.00 limit
    assert order.status == "pending_approval"
    assert await steps_of(order.id) == [("finance", "over_credit", "pending")]
    assert await reserved(t.w.sku) == 48
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 8640
    [card] = await approvals.inbox(t.finance)
    assert card.credit_after_fen == 5_000 - 8640
    with pytest.raises(Forbidden):
        await approvals.decide(t.manager, card.step_id, "approve", now=NOW)
    await approvals.decide(t.finance, card.step_id, "approve", "老客户, 特批", now=NOW)
    entry = await AuditEntry.select().where(AuditEntry.action == "order.approved").first()
    after = json.loads(entry["after"])
    assert after["over_credit_override"] is True and after["available_fen"] == 5_000 - 8640
    assert entry["actor"] == t.finance.user_id


async def test_within_the_supplier_tolerance_no_finance_step_is_needed(db):
    t = await team(credit_limit_fen=5_000, over_credit_policy="approval")
    admin = f.actor(await f.user("admin"))
    # ¥86.40 on a ¥50.00 limit is ¥36.40 over: a cent less of tolerance still waits for
    # finance, exactly that much does not.
    short = supplier.SettingsInput(name="润川", credit_tolerance_amount="36.39")
    await supplier.save(admin, short, supplier.Defaults())
    waits = await place(t)
    assert waits.status == "pending_approval"
    assert await steps_of(waits.id) == [("finance", "over_credit", "pending")]
    await orders.cancel_order(t.w.buyer, waits.id, "重下", now=NOW)
    enough = supplier.SettingsInput(name="润川", credit_tolerance_amount="36.40")
    await supplier.save(admin, enough, supplier.Defaults())
    order = await place(t, key="k2")
    assert order.status == "approved"
    assert await ApprovalStep.count().where(ApprovalStep.order == order.id) == 0


async def test_over_credit_is_refused_without_the_policy(db):
    t = await team(credit_limit_fen=5_000)
    with pytest.raises(CreditExceeded):
        await place(t)
    assert await ApprovalStep.count() == 0


async def test_resubmission_rechecks_credit(db):
    t = await team(credit_limit_fen=20_000)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    [card] = await approvals.inbox(t.manager)
    await approvals.decide(t.manager, card.step_id, "return", "等一下", now=NOW)
    # Meanwhile the dealer's balance grew: resubmitting is refused with the figures.
    from portal.tables import Dealer

    await Dealer.update({Dealer.balance_fen: 15_000}).where(Dealer.id == t.w.dealer["id"])
    with pytest.raises(CreditExceeded):
        await approvals.resubmit(t.w.buyer, order.id, now=NOW)
    assert (await orders.get_order(t.w.buyer, order.id)).status == "returned"


async def test_discount_beyond_authority_routes_to_the_manager(db):
    t = await team()
    await rule("discount_beyond_authority", "sales_manager")
    await cart.set_qty(t.rep, t.w.dealer["id"], t.w.sku["id"], 48)
    # 5 % authority: ¥1.71 (5 % off ¥1.80) is within it.
    view = await cart.set_price(t.rep, t.w.dealer["id"], t.w.sku["id"], percent_off_bp=500)
    line = view.lines[0]
    assert line.unit_price_fen == 171 and line.overridden and not line.beyond_authority
    view = await cart.set_price(t.rep, t.w.dealer["id"], t.w.sku["id"], unit_price_fen=160)
    assert view.lines[0].beyond_authority and view.total_fen == 48 * 160
    result = await orders.submit_cart(t.rep, t.w.dealer["id"], idempotency_key="c1", now=NOW)
    order = result.order
    assert order.status == "pending_approval" and order.total_fen == 48 * 160
    ln = order.lines[0]
    assert ln.price_rule == "manual" and ln.price_rule_params["by"] == t.rep.name
    assert ln.ref_price_fen == 180 and ln.unit_price_fen == 160
    assert await steps_of(order.id) == [("sales_manager", "discount_beyond_authority", "pending")]
    [card] = await approvals.inbox(t.manager)
    assert card.margin_fen == 48 * (160 - 180)
    await approvals.decide(t.manager, card.step_id, "approve", now=NOW)
    assert (await orders.get_order(t.w.buyer, order.id)).status == "approved"


async def test_a_manager_s_own_discount_goes_to_finance_not_to_the_manager(db):
    t = await team()
    await rule("discount_beyond_authority", "sales_manager")
    boss = t.manager  # no discount authority of their own
    await cart.set_qty(boss, t.w.dealer["id"], t.w.sku["id"], 48)
    await cart.set_price(boss, t.w.dealer["id"], t.w.sku["id"], unit_price_fen=160)
    order = (await orders.submit_cart(boss, t.w.dealer["id"], idempotency_key="m1", now=NOW)).order
    assert order.status == "pending_approval"
    assert await steps_of(order.id) == [("finance", "discount_beyond_authority", "pending")]
    assert await approvals.inbox(boss) == []  # never one's own
    [card] = await approvals.inbox(t.finance)
    await approvals.decide(t.finance, card.step_id, "approve", now=NOW)
    assert (await orders.get_order(t.w.buyer, order.id)).status == "approved"


async def test_discount_within_authority_is_approved(db):
    t = await team()
    await rule("discount_beyond_authority", "sales_manager")
    await cart.set_qty(t.rep, t.w.dealer["id"], t.w.sku["id"], 48)
    await cart.set_price(t.rep, t.w.dealer["id"], t.w.sku["id"], unit_price_fen=175)
    result = await orders.submit_cart(t.rep, t.w.dealer["id"], idempotency_key="c1", now=NOW)
    assert result.order.status == "approved"
    assert result.order.lines[0].unit_price_fen == 175


async def test_exactly_the_authority_s_percentage_is_within_it(db):
    t = await team()  # 5 % authority
    await rule("discount_beyond_authority", "sales_manager")
    await TierPrice.update({TierPrice.price_fen: 187}).where(TierPrice.sku == t.w.sku["id"])
    await cart.set_qty(t.rep, t.w.dealer["id"], t.w.sku["id"], 48)
    # 5 % off ¥1.87 is ¥1.7765 → ¥1.78 (4.8 %); 5.2 % off, ¥1.77, is beyond.
    view = await cart.set_price(t.rep, t.w.dealer["id"], t.w.sku["id"], percent_off_bp=500)
    assert view.lines[0].unit_price_fen == 178 and not view.lines[0].beyond_authority
    assert orders.lowest_within_authority(187, 300) == 181  # ¥1.8139: 3 % of ¥1.87 is ¥1.81
    assert not orders.discount_beyond(orders.PricedLine(181, 187, 1), 300)
    assert orders.discount_beyond(orders.PricedLine(180, 187, 1), 300)
    view = await cart.set_price(t.rep, t.w.dealer["id"], t.w.sku["id"], unit_price_fen=177)
    assert view.lines[0].beyond_authority


async def test_staff_may_not_price_above_the_dealer_s_price(db):
    t = await team()
    await cart.set_qty(t.rep, t.w.dealer["id"], t.w.sku["id"], 48)
    with pytest.raises(ValidationFailed) as refused:
        await cart.set_price(t.rep, t.w.dealer["id"], t.w.sku["id"], unit_price_fen=181)
    assert refused.value.errors[0].field == "unit_price"
    assert "1.80" in refused.value.errors[0].message % refused.value.errors[0].params
    assert (await cart.get_cart(t.rep, t.w.dealer["id"])).lines[0].unit_price_fen == 180
    # Through the API's lines too: refused at submission, nothing placed.
    with pytest.raises(ValidationFailed):
        await orders.submit_order(
            t.rep,
            t.w.dealer["id"],
            [LineRequest(qty=48, sku_id=t.w.sku["id"], unit_price_fen=900)],
            idempotency_key="up",
            now=NOW,
        )
    assert await reserved(t.w.sku) == 0


async def test_dealers_never_set_prices(db):
    t = await team()
    await cart.set_qty(t.w.buyer, None, t.w.sku["id"], 48)
    with pytest.raises(Forbidden):
        await cart.set_price(t.w.buyer, None, t.w.sku["id"], unit_price_fen=1)
    with pytest.raises(Forbidden):
        await orders.prepare(
            t.w.buyer,
            t.w.dealer,
            [LineRequest(qty=48, sku_id=t.w.sku["id"], unit_price_fen=1)],
            address_id=None,
            requested_date=None,
            note="",
            now=NOW,
        )
    # A price override left in a cart (say the user's role changed) is ignored for dealers.
    assert await OrderLine.count() == 0
    await CartLine.update({CartLine.unit_price_override_fen: 1}).where(
        CartLine.sku == t.w.sku["id"]
    )
    placed = await orders.submit_cart(t.w.buyer, None, idempotency_key="stale", now=NOW)
    assert placed.order.lines[0].unit_price_fen != 1
    assert placed.order.lines[0].price_rule != orders.RULE_MANUAL


async def test_staff_adjust_reruns_stock_credit_and_rules(db):
    t = await team(on_hand=200)
    await rule("total_at_least", "sales_manager", amount_fen=20_000)
    order = await place(t, qty_boxes=5)  # 120 瓶 × ¥1.80 = ¥216.00 ≥ ¥200: manager
    assert order.status == "pending_approval"
    line = order.lines[0]
    # Down to 48 瓶: under the amount, so the order no longer needs approval.
    status = await approvals.adjust(
        t.manager, order.id, [approvals.LineChange(line.id, 48)], "客户减量", now=NOW
    )
    assert status == "approved"
    assert await reserved(t.w.sku) == 48
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 48 * 180
    view = await orders.get_order(t.w.buyer, order.id)
    assert view.total_fen == 48 * 180
    adjusted = next(e for e in view.events if e.kind == "adjusted")
    assert "客户减量" in adjusted.note and "120" in adjusted.note and "48" in adjusted.note
    assert await steps_of(order.id) == [("sales_manager", "total_at_least", "superseded")]


async def test_a_new_quantity_is_priced_again_by_the_price_list(db):
    t = await team(on_hand=1000)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t, qty_boxes=10)  # 240 瓶 reach the tier's break: ¥1.60
    line = order.lines[0]
    assert (line.unit_price_fen, line.price_rule) == (160, "volume_break")

    async def adjust(qty: int, price: int | None = None) -> orders.OrderLineView:
        # The page sends the line's price back unchanged: the same as sending none.
        change = approvals.LineChange(line.id, qty, price)
        await approvals.adjust(t.manager, order.id, [change], "客户改量", now=NOW)
        [now_line] = (await orders.get_order(t.manager, order.id)).lines
        return now_line

    down = await adjust(48, 160)  # 2 箱 no longer earn the break: the tier price again
    assert (down.unit_price_fen, down.price_rule, down.line_total_fen) == (180, "tier", 8640)
    assert "满" not in down.price_rule_label and "from" not in down.price_rule_label
    up = await adjust(264)  # 11 箱 reach it again
    assert (up.unit_price_fen, up.price_rule) == (160, "volume_break")
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 264 * 160
    # A price staff set stays what they set when only the quantity changes afterwards.
    manual = await adjust(264, 150)
    assert (manual.unit_price_fen, manual.price_rule) == (150, "manual")
    kept = await adjust(48)
    assert (kept.unit_price_fen, kept.price_rule, kept.line_total_fen) == (150, "manual", 7200)


async def test_a_manager_s_step_without_a_manager_goes_to_finance(db):
    """A dealer no sales manager has (no rep, or a rep without a manager): finance sees and
    decides the manager's step, so the order never waits for nobody."""
    t = await team()
    await rule("first_orders", "sales_manager", count=2)
    lone = await f.dealer(t.w.tier, default_warehouse=t.w.warehouse)
    buyer = f.actor(await f.user("dealer_buyer", lone))
    placed = await orders.submit_order(
        buyer, None, [LineRequest(qty=24, sku_code="A100")], idempotency_key="n1", now=NOW
    )
    order = placed.order
    assert order.status == "pending_approval"
    assert await steps_of(order.id) == [("sales_manager", "first_orders", "pending")]
    assert await approvals.inbox(t.manager) == []  # not in any manager's scope
    [card] = await approvals.inbox(t.finance)
    assert card.order_id == order.id
    told = await Notification.select(Notification.user).where(Notification.order == order.id)
    assert t.finance.user_id in {r["user"] for r in told}
    standing = await approvals.standing(t.finance, order.id)
    assert standing.can_decide and standing.current.role == "finance"

    # Given a rep whose manager is t.manager, the step is the manager's again.
    await f.assign(await f.user("sales_rep", manager=await manager_row(t)), lone)
    assert await approvals.inbox(t.finance) == []
    with pytest.raises(Forbidden):
        await approvals.decide(t.finance, card.step_id, "approve", now=NOW)
    [mine] = await approvals.inbox(t.manager)
    # A rep without a manager: finance again.
    await User.update({User.manager: None}).where(User.role == "sales_rep")
    assert await approvals.inbox(t.manager) == []
    await approvals.decide(t.finance, mine.step_id, "approve", now=NOW)
    assert (await orders.get_order(buyer, order.id)).status == "approved"


async def manager_row(t: Team) -> dict:
    return await User.select().where(User.id == t.manager.user_id).first()


async def test_after_an_adjustment_the_inbox_counts_the_new_round_s_steps(db):
    t = await team(on_hand=200)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    await rule("total_at_least", "finance", step_order=20, amount_fen=10_000)
    order = await place(t, qty_boxes=5)  # ¥216.00: manager, then finance
    [card] = await approvals.inbox(t.manager)
    assert (card.step_no, card.step_count) == (1, 2)
    await approvals.decide(t.manager, card.step_id, "approve", now=NOW)
    [fin] = await approvals.inbox(t.finance)
    assert (fin.step_no, fin.step_count) == (2, 2)
    line = order.lines[0]
    # Finance lowers it under ¥100.00: a new round with the manager's step only.
    later = NOW + timedelta(minutes=5)
    await approvals.adjust(
        t.finance, order.id, [approvals.LineChange(line.id, 48)], "减量", now=later
    )
    [again] = await approvals.inbox(t.manager)
    assert (again.step_no, again.step_count) == (1, 1)


async def test_lowering_an_order_of_a_dealer_over_its_limit_is_not_refused(db):
    t = await team(on_hand=200)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t, qty_boxes=5)  # ¥216.00, waiting for the manager
    # Finance lowers the limit under what the dealer already owes on open orders.
    await Dealer.update({Dealer.credit_limit_fen: 10_000}).where(Dealer.id == t.w.dealer["id"])
    line = order.lines[0]
    with pytest.raises(CreditExceeded):  # raising it is refused: exposure would grow
        await approvals.adjust(
            t.manager, order.id, [approvals.LineChange(line.id, 144)], "加量", now=NOW
        )
    status = await approvals.adjust(
        t.manager, order.id, [approvals.LineChange(line.id, 96)], "减量", now=NOW
    )
    assert status == "pending_approval"  # still ≥ ¥0.01: the manager decides
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == 96 * 180


async def test_adjust_refuses_what_the_stock_cannot_cover(db):
    t = await team(on_hand=130)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t, qty_boxes=5)
    with pytest.raises(InsufficientStock) as short:
        await approvals.adjust(
            t.manager, order.id, [approvals.LineChange(order.lines[0].id, 144)], "加量", now=NOW
        )
    # The order's own 120 are given back first: 130 available, with the unit.
    assert short.value.extra["lines"] == [{"sku": "A100", "requested": 144, "available": 130}]
    assert short.value.errors[0].params["unit"] == "瓶"
    assert await reserved(t.w.sku) == 120
    with pytest.raises(Forbidden):
        await approvals.adjust(
            t.w.buyer, order.id, [approvals.LineChange(order.lines[0].id, 24)], "x", now=NOW
        )
    with pytest.raises(NotFound):
        await approvals.adjust(
            t.other_manager, order.id, [approvals.LineChange(order.lines[0].id, 24)], "x", now=NOW
        )


async def test_a_decision_raced_at_the_last_moment_loses(db):
    """Deterministic race: another approver decides just before this one writes."""
    t = await team()
    await rule("total_at_least", "finance", amount_fen=1)
    other_finance = f.actor(await f.user("finance"))
    order = await place(t)
    [card] = await approvals.inbox(t.finance)

    async def competitor():
        orders._test_hooks.pop("before_decide")
        await approvals.decide(other_finance, card.step_id, "reject", "不行", now=NOW)

    orders._test_hooks["before_decide"] = competitor
    try:
        with pytest.raises(Conflict):
            await approvals.decide(t.finance, card.step_id, "approve", now=NOW)
    finally:
        orders._test_hooks.pop("before_decide", None)
    view = await orders.get_order(t.w.buyer, order.id)
    assert view.status == "rejected"
    assert await kinds(order.id) == ["submitted", "rejected"]


async def test_notifications_and_mail_outbox(db):
    t = await team()
    await User.update({User.email: "boss@example.com"}).where(User.id == t.manager.user_id)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    order = await place(t)
    mine = await notifications.list_for(t.manager)
    assert [(n.kind, n.order_number) for n in mine] == [("approval_needed", order.number)]
    assert await notifications.list_for(t.other_manager) == []
    assert await notifications.list_for(t.w.buyer) == []  # not told of their own action
    mail = await MailOutbox.select().first()
    assert mail["to"] == "boss@example.com" and order.number in mail["subject"]
    # The mail names the order's page, for the sender to put the portal's address before.
    assert mail["link"] == f"/orders/{order.id}"
    [card] = await approvals.inbox(t.manager)
    await approvals.decide(t.manager, card.step_id, "approve", now=NOW)
    buyer_notes = await notifications.list_for(t.w.buyer)
    assert [(n.kind, n.read) for n in buyer_notes] == [("approved", False)]
    # The rep who looks after the dealer is told too, though the dealer placed the order.
    rep_notes = await notifications.list_for(t.rep)
    assert ("approved", order.number) in [(n.kind, n.order_number) for n in rep_notes]
    assert await notifications.unread_count(t.w.buyer) == 1
    await notifications.mark_read(t.w.buyer, None, now=NOW)
    assert await notifications.unread_count(t.w.buyer) == 0
    with pytest.raises(NotFound):
        await notifications.mark_read(t.manager, buyer_notes[0].id, now=NOW)
    assert await Notification.count() >= 2


async def test_bulk_approve_small_orders(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=1)
    a = await place(t, key="a")
    b = await place(t, key="b")
    cards = await approvals.inbox(t.manager)
    assert [c.number for c in cards] == [b.number, a.number]  # newest first
    results = await approvals.bulk_approve(t.manager, [c.step_id for c in cards], now=NOW)
    assert [r.order_status for r in results] == ["approved", "approved"]
    assert await approvals.inbox_count(t.manager) == 0


async def test_adjusting_a_line_to_zero_takes_it_off_the_order(db):
    """The usual fix when a SKU is short or the dealer changes their mind: the line goes, its
    stock and exposure with it, and the timeline says so; the last line cannot go (reject or
    cancel instead), and one line given twice is refused rather than the last one winning."""
    t = await team(on_hand=200)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    placed = await orders.submit_order(
        t.w.buyer,
        None,
        [LineRequest(qty=48, sku_code="A100"), LineRequest(qty=12, sku_code="B200")],
        idempotency_key="two",
        now=NOW,
    )
    order = placed.order
    a, b = sorted(order.lines, key=lambda ln: ln.sku_code)
    assert await reserved(t.w.sku2) == 12
    twice = [approvals.LineChange(b.id, 6), approvals.LineChange(b.id, 0)]
    with pytest.raises(ValidationFailed) as refused:
        await approvals.adjust(t.manager, order.id, twice, "两次", now=NOW)
    assert "B200" in refused.value.errors[0].params["sku"]
    both = [approvals.LineChange(a.id, 0), approvals.LineChange(b.id, 0)]
    with pytest.raises(ValidationFailed) as refused:
        await approvals.adjust(t.manager, order.id, both, "全删", now=NOW)
    assert refused.value.errors[0].field == "lines"
    assert await OrderLine.count() == 2 and await reserved(t.w.sku2) == 12

    await approvals.adjust(t.manager, order.id, [approvals.LineChange(b.id, 0)], "缺货", now=NOW)
    view = await orders.get_order(t.w.buyer, order.id)
    assert [ln.sku_code for ln in view.lines] == ["A100"]
    assert view.total_fen == a.line_total_fen
    assert (await dealer_now(t.w.dealer))["open_orders_fen"] == a.line_total_fen
    assert await reserved(t.w.sku2) == 0 and await reserved(t.w.sku) == 48
    adjusted = next(e for e in view.events if e.kind == "adjusted")
    assert "缺货" in adjusted.note and "B200: 12" in adjusted.note and "→ 0 ×" in adjusted.note


async def test_a_quantity_change_never_brings_in_prices_changed_since_the_order(db):
    """DESIGN: later price changes never alter a placed order. A contract price removed (or
    added) after submission must not reach the line when staff change its quantity."""
    from portal.tables import ContractPrice

    t = await team(on_hand=1000)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    await f.contract_price(t.w.dealer, t.w.sku, 150)
    order = await place(t, qty_boxes=2)  # 48 瓶 at the contract's ¥1.50
    [line] = order.lines
    assert (line.unit_price_fen, line.price_rule) == (150, "contract")
    await ContractPrice.delete().where(ContractPrice.dealer == t.w.dealer["id"])
    await approvals.adjust(t.manager, order.id, [approvals.LineChange(line.id, 24)], "减", now=NOW)
    [kept] = (await orders.get_order(t.manager, order.id)).lines
    assert (kept.qty, kept.unit_price_fen, kept.price_rule) == (24, 150, "contract")

    placed = await place(t, qty_boxes=2, key="k2")  # at the tier's ¥1.80 now
    [tier_line] = placed.lines
    assert tier_line.unit_price_fen == 180
    await f.contract_price(t.w.dealer, t.w.sku, 100)
    change = [approvals.LineChange(tier_line.id, 72)]
    await approvals.adjust(t.manager, placed.id, change, "加", now=NOW)
    [still] = (await orders.get_order(t.manager, placed.id)).lines
    assert (still.qty, still.unit_price_fen) == (72, 180)


async def test_an_adjustment_that_leaves_no_rule_to_meet_tells_of_the_approval(db):
    t = await team()
    await rule("total_at_least", "sales_manager", amount_fen=5_000)
    order = await place(t, qty_boxes=2)  # ¥86.40: waits for the manager
    assert order.status == "pending_approval"
    line = order.lines[0]
    status = await approvals.adjust(
        t.manager, order.id, [approvals.LineChange(line.id, 24)], "减到一箱", now=NOW
    )
    assert status == "approved"  # ¥43.20, under the ¥50 rule
    told = await Notification.select(Notification.kind).where(
        (Notification.user == t.w.buyer.user_id) & (Notification.order == order.id)
    )
    assert {"adjusted", "approved"} <= {n["kind"] for n in told}
