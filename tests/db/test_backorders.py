"""Backorders: a SKU that allows them turns a short submission into a backorder, filled from
arriving stock oldest order first; cancel clears it; only reserved quantities ship.

Runs on SQLite and PostgreSQL; the parallel storm at the end runs on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from portal.domain import approvals, orders, returns, shipments, stock
from portal.domain.errors import Forbidden, InsufficientStock, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.domain.scope import Actor
from portal.tables import (
    AuditEntry,
    Dealer,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    Reservation,
    StockLevel,
)
from tests import factories as f
from tests.db.test_orders import SHOWN

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@dataclass
class BackorderWorld:
    wh1: dict
    wh2: dict
    tier: dict
    dealer_a: dict
    dealer_b: dict
    buyer_a: Actor
    buyer_b: Actor
    clerk: Actor  # warehouse staff
    admin: Actor
    bk: dict  # BK1: allows backorders, ¥2.00
    nb: dict  # NB1: does not, ¥5.00


async def bo_world(*, bk1: int = 0, bk2: int = 0, nb1: int = 100) -> BackorderWorld:
    wh1 = await f.warehouse("W1", "华东仓", priority=1)
    wh2 = await f.warehouse("W2", "华南仓", priority=2)
    tier = await f.tier()
    dealer_a = await f.dealer(tier, name="甲经销商", default_warehouse=wh1)
    dealer_b = await f.dealer(tier, name="乙经销商", default_warehouse=wh1)
    buyer_a = f.actor(await f.user("dealer_buyer", dealer_a))
    buyer_b = f.actor(await f.user("dealer_buyer", dealer_b))
    clerk = f.actor(await f.user("warehouse"))
    admin = f.actor(await f.user("admin"))
    bk = await f.sku(
        code="BK1", name="姜汁汽水 330ml", base_price_fen=200, pack=None, allow_backorder=True
    )
    nb = await f.sku(code="NB1", name="米饼 135g", base_price_fen=500, pack=None)
    await f.stock(bk, wh1, bk1)
    await f.stock(bk, wh2, bk2)
    await f.stock(nb, wh1, nb1)
    return BackorderWorld(
        wh1, wh2, tier, dealer_a, dealer_b, buyer_a, buyer_b, clerk, admin, bk, nb
    )


async def submit(actor: Actor, lines: list[tuple[str, int]], key: str, at: datetime = NOW):
    result = await orders.submit_order(
        actor,
        None,
        [LineRequest(qty=q, sku_code=code) for code, q in lines],
        idempotency_key=key,
        now=at,
        stock_defaults=SHOWN,
    )
    return result.order


async def line_of(order_id: int, sku: dict) -> dict:
    return await (
        OrderLine.select()
        .where((OrderLine.order == order_id) & (OrderLine.sku == sku["id"]))
        .first()
    )


async def stock_of(sku: dict, wh: dict) -> tuple[int, int]:
    row = (
        await StockLevel.select()
        .where((StockLevel.sku == sku["id"]) & (StockLevel.warehouse == wh["id"]))
        .first()
    )
    return row["on_hand"], row["reserved"]


async def held_for(line_id: int) -> int:
    rows = await Reservation.select(Reservation.qty).where(Reservation.order_line == line_id)
    return sum(r["qty"] for r in rows)


async def assert_books_balance() -> None:
    """Every stock row's reserved equals its reservations and never exceeds on hand; every
    open line is reserved + backordered + shipped = ordered; closed lines hold nothing."""
    held: dict[tuple[int, int], int] = {}
    for r in await Reservation.select():
        key = (r["warehouse"], r["sku"])
        held[key] = held.get(key, 0) + r["qty"]
    for row in await StockLevel.select():
        assert 0 <= row["reserved"] <= row["on_hand"], row
        assert row["reserved"] == held.get((row["warehouse"], row["sku"]), 0), row
    status = {o["id"]: o["status"] for o in await Order.select(Order.id, Order.status)}
    for ln in await OrderLine.select():
        if status[ln["order"]] in orders.OPEN_STATUSES:
            assert ln["qty_backordered"] >= 0
            assert (
                await held_for(ln["id"]) + ln["qty_backordered"] + ln["qty_shipped"] == (ln["qty"])
            ), ln
        elif status[ln["order"]] in ("cancelled", "rejected"):
            assert await held_for(ln["id"]) == 0 and ln["qty_backordered"] == 0


async def kinds(order_id: int) -> list[str]:
    rows = (
        await OrderEvent.select(OrderEvent.kind)
        .where(OrderEvent.order == order_id)
        .order_by(OrderEvent.id)
    )
    return [r["kind"] for r in rows]


# --- submission -------------------------------------------------------------------------------


async def test_submission_reserves_what_there_is_and_backorders_the_rest(db):
    w = await bo_world(bk1=4, bk2=2)
    order = await submit(w.buyer_a, [("BK1", 10), ("NB1", 3)], "k1")
    assert order.status == "approved"
    bk_line = next(ln for ln in order.lines if ln.sku_code == "BK1")
    nb_line = next(ln for ln in order.lines if ln.sku_code == "NB1")
    assert (bk_line.qty, bk_line.qty_backordered, bk_line.qty_reserved) == (10, 4, 6)
    assert nb_line.qty_backordered == 0
    assert order.backordered_lines == [bk_line]
    # The default warehouse first, then the next by priority.
    assert await stock_of(w.bk, w.wh1) == (4, 4)
    assert await stock_of(w.bk, w.wh2) == (2, 2)
    assert await held_for(bk_line.id) == 6
    # Credit counts the whole order, backordered part included.
    dealer = await Dealer.select().where(Dealer.id == w.dealer_a["id"]).first()
    assert dealer["open_orders_fen"] == order.total_fen == 10 * 200 + 3 * 500
    event = next(e for e in order.events if e.kind == "backordered")
    assert event.note == "BK1: 4 瓶"
    # Recorded after the approval routing: it carries the order's state by then.
    assert (event.from_status, event.to_status) == ("approved", "approved")
    audit = await AuditEntry.select().where(AuditEntry.action == "order.submitted").first()
    after = json.loads(audit["after"])
    assert after["backordered"] == [{"sku_id": w.bk["id"], "qty": 4}]
    assert sum(r["qty"] for r in after["reserved"] if r["sku_id"] == w.bk["id"]) == 6
    await assert_books_balance()


async def test_out_of_stock_sku_is_backordered_entirely(db):
    w = await bo_world(bk1=0)
    order = await submit(w.buyer_a, [("BK1", 5)], "k1")
    assert order.lines[0].qty_backordered == 5
    assert await Reservation.count() == 0
    await assert_books_balance()


async def test_without_the_flag_a_short_submission_is_refused_and_nothing_is_written(db):
    w = await bo_world(bk1=0, nb1=3)
    with pytest.raises(InsufficientStock) as caught:
        await submit(w.buyer_a, [("BK1", 5), ("NB1", 4)], "k1")
    # Only the SKU without backorders is short; the backorderable line holds nothing either.
    assert caught.value.extra["lines"] == [{"sku": "NB1", "requested": 4, "available": 3}]
    assert await Order.count() == 0 and await OrderLine.count() == 0
    assert await Reservation.count() == 0
    assert await stock_of(w.nb, w.wh1) == (3, 0)
    dealer = await Dealer.select().where(Dealer.id == w.dealer_a["id"]).first()
    assert dealer["open_orders_fen"] == 0


# --- stock arriving ---------------------------------------------------------------------------


async def test_receipt_fills_backorders_oldest_order_first(db):
    w = await bo_world(bk1=0)
    first = await submit(w.buyer_b, [("BK1", 5)], "b1", NOW)
    second = await submit(w.buyer_a, [("BK1", 4)], "a1", NOW + timedelta(minutes=5))
    # Part of the arrival: the older order (dealer B) is served first and in full.
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.bk["id"], reason="receipt", qty=6, now=NOW
    )
    assert (row.on_hand, row.reserved) == (6, 6)
    b_line, a_line = await line_of(first.id, w.bk), await line_of(second.id, w.bk)
    assert (b_line["qty_backordered"], await held_for(b_line["id"])) == (0, 5)
    assert (a_line["qty_backordered"], await held_for(a_line["id"])) == (3, 1)
    assert "backorder_reserved" in await kinds(first.id)
    note_a = (
        await OrderEvent.select()
        .where((OrderEvent.order == second.id) & (OrderEvent.kind == "backorder_reserved"))
        .first()
    )["note"]
    assert note_a == "BK1: 1 瓶"
    told = await Notification.select().where(Notification.kind == "backorder_reserved")
    assert {(n["user"], n["order"]) for n in told} == {
        (w.buyer_b.user_id, first.id),
        (w.buyer_a.user_id, second.id),
    }
    audits = await AuditEntry.select().where(AuditEntry.action == "order.backorder_reserved")
    assert sorted(int(a["entity_id"]) for a in audits) == sorted([first.id, second.id])
    stock_audit = await AuditEntry.select().where(AuditEntry.action == "stock.receipt").first()
    assert json.loads(stock_audit["after"])["backorders_reserved"] == 6

    # A count that finds more on hand fills the rest; a damage (less) fills nothing.
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh2["id"], sku_id=w.bk["id"], reason="count", qty=10, now=NOW
    )
    a_line = await line_of(second.id, w.bk)
    assert (a_line["qty_backordered"], await held_for(a_line["id"])) == (0, 4)
    assert await stock_of(w.bk, w.wh2) == (10, 3)
    assert await stock.list_backorders(w.clerk) == []
    await assert_books_balance()


async def test_a_receipt_with_no_backorders_changes_nothing_else(db):
    w = await bo_world(bk1=0)
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.bk["id"], reason="receipt", qty=6, now=NOW
    )
    assert await stock_of(w.bk, w.wh1) == (6, 0)
    assert await OrderEvent.count() == 0


async def test_returned_goods_fill_backorders(db):
    w = await bo_world(bk1=10)
    shipped = await submit(w.buyer_a, [("BK1", 10)], "a1")
    line = shipped.lines[0]
    sh = (
        await shipments.create_shipment(
            w.clerk, shipped.id, warehouse_id=w.wh1["id"], quantities={line.id: 10}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)
    waiting = await submit(w.buyer_b, [("BK1", 5)], "b1", NOW + timedelta(minutes=1))
    assert waiting.lines[0].qty_backordered == 5
    rma = await returns.request_return(
        w.buyer_a, shipped.id, quantities={line.id: 3}, reason="多订了", now=NOW
    )
    await returns.decide_return(w.admin, rma.id, approve=True, now=NOW)
    await returns.receive_return(
        w.clerk, rma.id, warehouse_id=w.wh1["id"], accepted={line.id: 3}, now=NOW
    )
    b_line = await line_of(waiting.id, w.bk)
    assert (b_line["qty_backordered"], await held_for(b_line["id"])) == (2, 3)
    assert await stock_of(w.bk, w.wh1) == (3, 3)
    await assert_books_balance()


# --- cancel, reject, adjust, resubmit ---------------------------------------------------------


async def test_cancel_releases_the_reservation_and_clears_the_backorder(db):
    w = await bo_world(bk1=2)
    order = await submit(w.buyer_a, [("BK1", 6)], "a1")
    assert order.lines[0].qty_backordered == 4
    cancelled = await orders.cancel_order(w.admin, order.id, "不要了", now=NOW)
    assert cancelled.status == "cancelled"
    assert cancelled.lines[0].qty_backordered == 0
    assert await Reservation.count() == 0
    assert await stock_of(w.bk, w.wh1) == (2, 0)
    # Stock arriving later does not go to the cancelled order.
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.bk["id"], reason="receipt", qty=5, now=NOW
    )
    assert await stock_of(w.bk, w.wh1) == (7, 0)
    await assert_books_balance()


async def test_a_cancelled_order_s_stock_goes_to_the_waiting_backorders(db):
    w = await bo_world(bk1=5)
    holder = await submit(w.buyer_a, [("BK1", 5)], "a1", NOW)
    waiting = await submit(w.buyer_b, [("BK1", 3)], "b1", NOW + timedelta(minutes=1))
    assert waiting.lines[0].qty_backordered == 3
    await orders.cancel_order(w.admin, holder.id, "", now=NOW)
    b_line = await line_of(waiting.id, w.bk)
    assert (b_line["qty_backordered"], await held_for(b_line["id"])) == (0, 3)
    assert await stock_of(w.bk, w.wh1) == (5, 3)
    await assert_books_balance()


async def test_reject_clears_the_backorder(db):
    w = await bo_world(bk1=1)
    manager_row = await f.user("sales_manager")
    rep_row = await f.user("sales_rep", manager=manager_row)
    await f.assign(rep_row, w.dealer_a)
    manager = f.actor(manager_row)
    await f.approval_rule()
    order = await submit(w.buyer_a, [("BK1", 4)], "a1")
    assert order.status == "pending_approval" and order.lines[0].qty_backordered == 3
    # Waiting for approval still queues for stock.
    [row] = await stock.list_backorders(manager)
    assert row.order_id == order.id and row.qty_backordered == 3
    [card] = await approvals.inbox(manager)
    await approvals.decide(manager, card.step_id, "reject", "无货", now=NOW)
    line = await line_of(order.id, w.bk)
    assert line["qty_backordered"] == 0 and await Reservation.count() == 0
    await assert_books_balance()


async def test_adjust_and_resubmit_keep_the_books(db):
    w = await bo_world(bk1=3)
    manager_row = await f.user("sales_manager")
    rep_row = await f.user("sales_rep", manager=manager_row)
    await f.assign(rep_row, w.dealer_a)
    manager = f.actor(manager_row)
    await f.approval_rule()
    order = await submit(w.buyer_a, [("BK1", 5)], "a1")
    line = order.lines[0]
    assert line.qty_backordered == 2
    # Staff raise the quantity: stock is re-run, the extra is backordered.
    await approvals.adjust(
        manager, order.id, [approvals.LineChange(line.id, 8)], "客户加量", now=NOW
    )
    row = await line_of(order.id, w.bk)
    assert (row["qty"], row["qty_backordered"], await held_for(row["id"])) == (8, 5, 3)
    await assert_books_balance()
    # Down again: fewer backordered, the reservation stays.
    await approvals.adjust(
        manager, order.id, [approvals.LineChange(line.id, 4)], "客户减量", now=NOW
    )
    row = await line_of(order.id, w.bk)
    assert (row["qty"], row["qty_backordered"], await held_for(row["id"])) == (4, 1, 3)
    # Returned to the dealer and resubmitted: reservations and backorder are kept.
    [card] = await approvals.inbox(manager)
    await approvals.decide(manager, card.step_id, "return", "请确认", now=NOW)
    await approvals.resubmit(w.buyer_a, order.id, now=NOW)
    row = await line_of(order.id, w.bk)
    assert (row["qty_backordered"], await held_for(row["id"])) == (1, 3)
    await assert_books_balance()


async def _two_waiting_orders(w: BackorderWorld):
    """A holds all 3 units, B (newer) waits for 2 on backorder; both wait for a manager."""
    manager_row = await f.user("sales_manager")
    rep_row = await f.user("sales_rep", manager=manager_row)
    await f.assign(rep_row, w.dealer_a)
    await f.assign(rep_row, w.dealer_b)
    await f.approval_rule()
    a = await submit(w.buyer_a, [("BK1", 3)], "a1")
    b = await submit(w.buyer_b, [("BK1", 2)], "b1", at=NOW + timedelta(minutes=1))
    assert a.lines[0].qty_backordered == 0 and b.lines[0].qty_backordered == 2
    return f.actor(manager_row), a, b


async def test_a_rejected_order_s_stock_goes_to_the_waiting_backorders(db):
    w = await bo_world(bk1=3)
    manager, a, b = await _two_waiting_orders(w)
    card = next(c for c in await approvals.inbox(manager) if c.order_id == a.id)
    await approvals.decide(manager, card.step_id, "reject", "客户取消", now=NOW)
    row = await line_of(b.id, w.bk)
    assert (row["qty_backordered"], await held_for(row["id"])) == (0, 2)
    assert "backorder_reserved" in await kinds(b.id)
    assert await stock_of(w.bk, w.wh1) == (3, 2)
    await assert_books_balance()


async def test_an_adjusted_down_order_s_stock_goes_to_the_waiting_backorders(db):
    w = await bo_world(bk1=3)
    manager, a, b = await _two_waiting_orders(w)
    await approvals.adjust(
        manager, a.id, [approvals.LineChange(a.lines[0].id, 1)], "客户减量", now=NOW
    )
    assert await held_for((await line_of(a.id, w.bk))["id"]) == 1
    row = await line_of(b.id, w.bk)
    assert (row["qty_backordered"], await held_for(row["id"])) == (0, 2)
    assert await stock_of(w.bk, w.wh1) == (3, 3)
    await assert_books_balance()


# --- shipping only what is reserved -----------------------------------------------------------


async def test_only_the_reserved_quantity_ships_and_the_backorder_ships_later(db):
    w = await bo_world(bk1=6)
    order = await submit(w.buyer_a, [("BK1", 10)], "a1")
    line = order.lines[0]
    plan = await shipments.shipment_plan(w.clerk, order.id, w.wh1["id"])
    assert plan.lines[0].remaining == 6 and plan.lines[0].backordered == 4
    with pytest.raises(ValidationFailed):
        await shipments.create_shipment(
            w.clerk, order.id, warehouse_id=w.wh1["id"], quantities={line.id: 7}, now=NOW
        )
    # Free stock elsewhere (put there behind the portal's back) does not let the backordered
    # part ship ahead of its reservation either.
    await StockLevel.update({StockLevel.on_hand: 10}).where(
        (StockLevel.warehouse == w.wh2["id"]) & (StockLevel.sku == w.bk["id"])
    )
    plan = await shipments.shipment_plan(w.clerk, order.id, w.wh2["id"])
    assert plan.lines[0].can_give == 10 and plan.lines[0].remaining == 6
    with pytest.raises(ValidationFailed):
        await shipments.create_shipment(
            w.clerk, order.id, warehouse_id=w.wh2["id"], quantities={line.id: 10}, now=NOW
        )
    await StockLevel.update({StockLevel.on_hand: 0}).where(
        (StockLevel.warehouse == w.wh2["id"]) & (StockLevel.sku == w.bk["id"])
    )
    first = (
        await shipments.create_shipment(
            w.clerk, order.id, warehouse_id=w.wh1["id"], quantities={line.id: 6}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, first.id, now=NOW)
    assert (await Order.select().where(Order.id == order.id).first())["status"] == (
        "partially_shipped"
    )
    # Nothing left that can ship: off the to-ship queue, on the backorders list.
    assert [q.order_id for q in await shipments.to_ship_queue(w.clerk)] == []
    [bo] = await stock.list_backorders(w.clerk)
    assert (bo.order_number, bo.qty_backordered, bo.dealer_name) == (order.number, 4, "甲经销商")

    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.bk["id"], reason="receipt", qty=4, now=NOW
    )
    [item] = await shipments.to_ship_queue(w.clerk)
    assert (item.order_id, item.qty_left, item.backordered) == (order.id, 4, 0)
    plan = await shipments.shipment_plan(w.clerk, order.id, w.wh1["id"])
    assert plan.lines[0].remaining == 4
    second = (
        await shipments.create_shipment(
            w.clerk, order.id, warehouse_id=w.wh1["id"], quantities={line.id: 4}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, second.id, now=NOW)
    assert (await Order.select().where(Order.id == order.id).first())["status"] == "shipped"
    assert await stock_of(w.bk, w.wh1) == (0, 0)
    assert await Reservation.count() == 0
    await assert_books_balance()


async def test_stock_arriving_at_another_warehouse_is_reserved_there(db):
    w = await bo_world(bk1=5, bk2=0)
    holder = await submit(w.buyer_a, [("BK1", 5)], "a1", NOW)  # all reserved at W1
    waiting = await submit(w.buyer_b, [("BK1", 2)], "b1", NOW + timedelta(minutes=1))
    # Goods arrive at W2 while B waits: B gets them at once.
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh2["id"], sku_id=w.bk["id"], reason="receipt", qty=2, now=NOW
    )
    assert (await line_of(waiting.id, w.bk))["qty_backordered"] == 0
    assert await stock_of(w.bk, w.wh2) == (2, 2)
    # W2 has no free stock left, so A's order cannot ship from there.
    plan = await shipments.shipment_plan(w.clerk, holder.id, w.wh2["id"])
    assert plan.lines[0].can_give == 0
    await assert_books_balance()


async def test_shipping_from_another_warehouse_gives_the_released_stock_to_backorders(db):
    w = await bo_world(bk1=5, bk2=0)
    holder = await submit(w.buyer_a, [("BK1", 5)], "a1", NOW)  # all reserved at W1
    waiting = await submit(w.buyer_b, [("BK1", 2)], "b1", NOW + timedelta(minutes=1))
    # Free stock at W2 that no fill saw (put there behind the portal's back).
    await StockLevel.update({StockLevel.on_hand: 2}).where(
        (StockLevel.warehouse == w.wh2["id"]) & (StockLevel.sku == w.bk["id"])
    )
    line = holder.lines[0]
    sh = (
        await shipments.create_shipment(
            w.clerk, holder.id, warehouse_id=w.wh2["id"], quantities={line.id: 2}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)
    # A keeps 3 reserved at W1 for what it still has to ship; the 2 given back go to B.
    assert await held_for(line.id) == 3
    b_line = await line_of(waiting.id, w.bk)
    assert (b_line["qty_backordered"], await held_for(b_line["id"])) == (0, 2)
    assert await stock_of(w.bk, w.wh1) == (5, 5)
    assert await stock_of(w.bk, w.wh2) == (0, 0)
    assert "backorder_reserved" in await kinds(waiting.id)
    await assert_books_balance()


# --- the staff list and its scope -------------------------------------------------------------


async def test_backorders_list_is_oldest_first_and_scoped(db):
    w = await bo_world(bk1=0)
    manager_row = await f.user("sales_manager")
    rep_row = await f.user("sales_rep", manager=manager_row)
    await f.assign(rep_row, w.dealer_b)
    manager, rep = f.actor(manager_row), f.actor(rep_row)
    a = await submit(w.buyer_a, [("BK1", 2)], "a1", NOW + timedelta(minutes=2))
    b = await submit(w.buyer_b, [("BK1", 3)], "b1", NOW)
    rows = await stock.list_backorders(w.clerk)
    assert [(r.order_id, r.qty_backordered) for r in rows] == [(b.id, 3), (a.id, 2)]
    assert [r.order_id for r in await stock.list_backorders(w.admin)] == [b.id, a.id]
    # The manager sees only the dealers of the team.
    assert [r.order_id for r in await stock.list_backorders(manager)] == [b.id]
    assert [r.order_id for r in await stock.list_backorders(w.clerk, q="甲")] == [a.id]
    assert [r.order_id for r in await stock.list_backorders(w.clerk, q=a.number)] == [a.id]
    for actor in (rep, w.buyer_a, f.actor(await f.user("finance"))):
        with pytest.raises(Forbidden):
            await stock.list_backorders(actor)


# --- races ------------------------------------------------------------------------------------


@pytest.mark.postgres_only
async def test_parallel_submissions_and_receipts_never_over_reserve(db):
    w = await bo_world(bk1=10, bk2=0)
    buyers = []
    for _ in range(12):
        d = await f.dealer(w.tier, default_warehouse=w.wh1)
        buyers.append(f.actor(await f.user("dealer_buyer", d)))

    async def outcome(coro):
        try:
            return await coro
        except Exception as exc:  # collected and asserted on below
            return exc

    submissions = [
        outcome(submit(b, [("BK1", 3)], f"k{i}", NOW + timedelta(seconds=i)))
        for i, b in enumerate(buyers)
    ]
    receipts = [
        outcome(
            stock.adjust_stock(
                w.clerk,
                warehouse_id=wh["id"],
                sku_id=w.bk["id"],
                reason="receipt",
                qty=5,
                now=NOW,
            )
        )
        for wh in (w.wh1, w.wh2, w.wh1)
    ]
    results = await asyncio.gather(*submissions, *receipts)
    assert [r for r in results if isinstance(r, Exception)] == []
    # 25 units for 36 ordered: every unit reserved, the rest backordered, nothing more.
    levels = await StockLevel.select().where(StockLevel.sku == w.bk["id"])
    assert sum(r["on_hand"] for r in levels) == 25
    assert sum(r["reserved"] for r in levels) == 25
    lines = await OrderLine.select().where(OrderLine.sku == w.bk["id"])
    assert len(lines) == 12
    assert sum(ln["qty_backordered"] for ln in lines) == 36 - 25
    await assert_books_balance()


@pytest.mark.postgres_only
async def test_parallel_cancels_and_receipts_keep_the_books(db):
    w = await bo_world(bk1=4)
    buyers, placed = [], []
    for i in range(8):
        d = await f.dealer(w.tier, default_warehouse=w.wh1)
        b = f.actor(await f.user("dealer_buyer", d))
        buyers.append(b)
        placed.append(await submit(b, [("BK1", 2)], f"k{i}", NOW + timedelta(seconds=i)))
    assert sum(o.lines[0].qty_backordered for o in placed) == 12
    staff = w.admin  # approved orders: the supplier's staff cancel them
    cancels = [orders.cancel_order(staff, placed[i].id, "", now=NOW) for i in (0, 3, 5)]
    receipts = [
        stock.adjust_stock(
            w.clerk,
            warehouse_id=w.wh1["id"],
            sku_id=w.bk["id"],
            reason="receipt",
            qty=3,
            now=NOW,
        )
        for _ in range(2)
    ]
    await asyncio.gather(*cancels, *receipts)
    # 10 on hand for 5 open orders × 2: all reserved, none waiting, in any interleaving.
    assert await stock_of(w.bk, w.wh1) == (10, 10)
    assert await stock.list_backorders(w.clerk) == []
    await assert_books_balance()
