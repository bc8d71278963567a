"""Shipments: packing, shipping (stock, reservations, order state, invoice), receipt, scope.

Runs on SQLite and PostgreSQL. The helpers (fulfil_world, approved_order, stock_of) are
shared by the other shipment and ledger test modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from portal.domain import ledger, orders, shipments
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.domain.scope import Actor
from portal.tables import (
    AuditEntry,
    Dealer,
    LedgerEntry,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    Reservation,
    Shipment,
    StockLevel,
)
from tests import factories as f

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@dataclass
class FulfilWorld:
    wh1: dict
    wh2: dict
    tier: dict
    dealer: dict
    buyer: Actor
    clerk: Actor  # warehouse staff
    finance: Actor
    sku: dict  # ¥2.00 list
    sku2: dict  # ¥10.00 list


async def fulfil_world(
    *, on_hand1: int = 100, on_hand2: int = 100, balance_fen: int = 0
) -> FulfilWorld:
    wh1 = await f.warehouse("W1", "华东仓", priority=1)
    wh2 = await f.warehouse("W2", "华南仓", priority=2)
    tier = await f.tier()
    # Set up the day before NOW (not at the real time: the statements here are as of NOW, and
    # after 16:00 UTC the real time is already the next day in China).
    dealer = await f.dealer(
        tier, default_warehouse=wh1, balance_fen=balance_fen, created_at=NOW - timedelta(days=1)
    )
    buyer = f.actor(await f.user("dealer_buyer", dealer))
    clerk = f.actor(await f.user("warehouse"))
    fin = f.actor(await f.user("finance"))
    sku = await f.sku(code="A100", base_price_fen=200, pack=None)
    sku2 = await f.sku(code="B200", base_price_fen=1000, pack=None)
    for s in (sku, sku2):
        await f.stock(s, wh1, on_hand1)
        await f.stock(s, wh2, on_hand2)
    return FulfilWorld(wh1, wh2, tier, dealer, buyer, clerk, fin, sku, sku2)


async def approved_order(w: FulfilWorld, qty: int = 10, qty2: int = 0, key: str = "k1") -> dict:
    lines = [LineRequest(qty=qty, sku_id=w.sku["id"])]
    if qty2:
        lines.append(LineRequest(qty=qty2, sku_id=w.sku2["id"]))
    result = await orders.submit_order(w.buyer, None, lines, idempotency_key=key, now=NOW)
    assert result.order.status == "approved"
    order_lines = (
        await OrderLine.select().where(OrderLine.order == result.order.id).order_by(OrderLine.id)
    )
    return {"id": result.order.id, "lines": order_lines, "total_fen": result.order.total_fen}


async def stock_of(sku: dict, wh: dict) -> tuple[int, int]:
    row = (
        await StockLevel.select()
        .where((StockLevel.sku == sku["id"]) & (StockLevel.warehouse == wh["id"]))
        .first()
    )
    return row["on_hand"], row["reserved"]


async def dealer_row(w: FulfilWorld) -> dict:
    return await Dealer.select().where(Dealer.id == w.dealer["id"]).first()


async def assert_ledger_balanced(dealer_id: int) -> None:
    d = await Dealer.select().where(Dealer.id == dealer_id).first()
    assert d["balance_fen"] == await ledger.ledger_sum_fen(dealer_id)


async def test_pack_and_ship_whole_order(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10, qty2=3)
    line1, line2 = o["lines"]
    assert await stock_of(w.sku, w.wh1) == (100, 10)
    before = await dealer_row(w)
    assert before["open_orders_fen"] == 10 * 200 + 3 * 1000

    created = await shipments.create_shipment(
        w.clerk,
        o["id"],
        warehouse_id=w.wh1["id"],
        quantities={line1["id"]: "10", line2["id"]: 3},
        carrier="顺丰",
        tracking_no="SF123",
        now=NOW,
    )
    sh = created.shipment
    assert sh.status == "packed" and sh.number.endswith("-1") and sh.total_qty == 13
    # Packing takes nothing from stock yet.
    assert await stock_of(w.sku, w.wh1) == (100, 10)

    shipped = await shipments.ship(w.clerk, sh.id, now=NOW)
    assert shipped.status == "shipped" and shipped.value_fen == 5000
    assert await stock_of(w.sku, w.wh1) == (90, 0)
    assert await stock_of(w.sku2, w.wh1) == (97, 0)
    assert await Reservation.count() == 0
    order = await Order.select().where(Order.id == o["id"]).first()
    assert order["status"] == "shipped"
    after = await dealer_row(w)
    assert after["open_orders_fen"] == 0
    assert after["balance_fen"] == 5000
    # Exposure unchanged: it moved from open orders to the ledger.
    assert after["balance_fen"] + after["open_orders_fen"] == before["open_orders_fen"]
    entries = await LedgerEntry.select().where(LedgerEntry.dealer == w.dealer["id"])
    assert [(e["kind"], e["amount_fen"], e["ref_id"]) for e in entries] == [
        ("invoice", 5000, sh.id)
    ]
    assert entries[0]["due_on"] == NOW.date() + timedelta(days=30)
    await assert_ledger_balanced(w.dealer["id"])
    kinds = [e["kind"] for e in await OrderEvent.select().where(OrderEvent.order == o["id"])]
    assert "shipment_packed" in kinds and "shipment_shipped" in kinds
    actions = {a["action"] for a in await AuditEntry.select(AuditEntry.action)}
    assert {"shipment.packed", "shipment.shipped"} <= actions

    # Receipt completes the order.
    received = await shipments.confirm_receipt(w.buyer, sh.id, now=NOW)
    assert received.status == "received"
    order = await Order.select().where(Order.id == o["id"]).first()
    assert order["status"] == "completed"


async def test_split_across_warehouses_and_days(db):
    w = await fulfil_world(on_hand1=6, on_hand2=100)
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    # 6 reserved at W1, 4 at W2.
    assert await stock_of(w.sku, w.wh1) == (6, 6)
    assert await stock_of(w.sku, w.wh2) == (100, 4)

    plan = await shipments.shipment_plan(w.clerk, o["id"], w.wh1["id"])
    assert plan.lines[0].remaining == 10 and plan.lines[0].can_give == 6
    first = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 6}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, first.id, now=NOW)
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == (
        "partially_shipped"
    )
    assert await stock_of(w.sku, w.wh1) == (0, 0)
    assert await stock_of(w.sku, w.wh2) == (100, 4)
    d = await dealer_row(w)
    assert (d["balance_fen"], d["open_orders_fen"]) == (1200, 800)

    later = NOW + timedelta(days=1)
    plan = await shipments.shipment_plan(w.clerk, o["id"], w.wh2["id"])
    assert plan.lines[0].remaining == 4
    second = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh2["id"], quantities={line["id"]: 4}, now=later
        )
    ).shipment
    assert second.number.endswith("-2")
    await shipments.ship(w.clerk, second.id, now=later)
    assert await stock_of(w.sku, w.wh2) == (96, 0)
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "shipped"
    d = await dealer_row(w)
    assert (d["balance_fen"], d["open_orders_fen"]) == (2000, 0)
    await assert_ledger_balanced(w.dealer["id"])

    # Receipt of one is not enough; both received completes the order.
    await shipments.confirm_receipt(w.buyer, first.id, now=later)
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "shipped"
    await shipments.confirm_receipt(
        w.buyer, second.id, discrepancy=True, note="少了 1 瓶", now=later
    )
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "completed"
    row = await Shipment.select().where(Shipment.id == second.id).first()
    assert row["discrepancy"] and row["receipt_note"] == "少了 1 瓶"


async def test_shipping_from_another_warehouse_releases_the_reservation_there(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)  # all reserved at W1 (the dealer's default)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh2["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)
    assert await stock_of(w.sku, w.wh2) == (90, 0)
    assert await stock_of(w.sku, w.wh1) == (100, 0)  # released: nothing left to ship
    assert await Reservation.count() == 0


async def test_bad_quantities_are_refused_and_nothing_is_written(db):
    w = await fulfil_world(on_hand1=8, on_hand2=0)
    o = await approved_order(w, qty=8)
    line = o["lines"][0]
    cases = [
        ({line["id"]: "abc"}, "whole number"),
        ({line["id"]: "-1"}, "negative"),
        ({line["id"]: 9}, "only 8 left"),
        ({line["id"]: 0}, "at least one line"),
        ({line["id"]: "2.5"}, "whole number"),
    ]
    for quantities, text in cases:
        with pytest.raises(ValidationFailed) as exc:
            await shipments.create_shipment(
                w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities=quantities, now=NOW
            )
        messages = " ".join(e.message % e.params for e in exc.value.errors)
        assert text in messages, (quantities, messages)
    # More than the warehouse can give.
    with pytest.raises(ValidationFailed) as exc:
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh2["id"], quantities={line["id"]: 3}, now=NOW
        )
    assert "this warehouse has 0" in exc.value.errors[0].message % exc.value.errors[0].params
    assert await Shipment.count() == 0
    assert await stock_of(w.sku, w.wh1) == (8, 8)


async def test_packed_quantities_count_against_what_remains(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 7}, now=NOW
    )
    with pytest.raises(ValidationFailed):
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 4}, now=NOW
        )


async def test_shipping_twice_and_overshipping_conflict(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    a = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, a.id, now=NOW)
    with pytest.raises(Conflict):
        await shipments.ship(w.clerk, a.id, now=NOW)
    # A shipment of a fully shipped order cannot even be packed.
    with pytest.raises(Conflict):
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 1}, now=NOW
        )
    assert (await OrderLine.select().where(OrderLine.id == line["id"]).first())["qty_shipped"] == 10


async def test_two_packed_shipments_for_the_same_quantity_only_one_ships(db):
    """Packed via a stale page: both claim the same 10; the second ship must fail."""
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    a = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    # Simulate the second packing seeing the same remaining quantity (cancel, re-pack race).
    await Shipment.update({Shipment.status: "cancelled"}).where(Shipment.id == a.id)
    b = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await Shipment.update({Shipment.status: "packed"}).where(Shipment.id == a.id)
    await shipments.ship(w.clerk, a.id, now=NOW)
    with pytest.raises(Conflict):
        await shipments.ship(w.clerk, b.id, now=NOW)
    assert (await Shipment.select().where(Shipment.id == b.id).first())["status"] == "packed"
    assert await stock_of(w.sku, w.wh1) == (90, 0)
    d = await dealer_row(w)
    assert d["balance_fen"] == 2000
    await assert_ledger_balanced(w.dealer["id"])


async def test_cancel_packed_shipment(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    a = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    cancelled = await shipments.cancel_shipment(w.clerk, a.id, now=NOW)
    assert cancelled.status == "cancelled"
    plan = await shipments.shipment_plan(w.clerk, o["id"], w.wh1["id"])
    assert plan.lines[0].remaining == 10
    with pytest.raises(Conflict):
        await shipments.ship(w.clerk, a.id, now=NOW)


async def test_roles_and_scope(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    other = await f.dealer(w.tier)
    stranger = f.actor(await f.user("dealer_buyer", other))
    rep = f.actor(await f.user("sales_rep"))
    for who in (w.buyer, stranger, rep, w.finance):
        with pytest.raises((Forbidden, NotFound)):
            await shipments.create_shipment(
                who, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 1}, now=NOW
            )
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    with pytest.raises(NotFound):
        await shipments.get_shipment(stranger, sh.id)
    with pytest.raises(NotFound):
        await shipments.get_shipment(rep, sh.id)  # not assigned to this dealer
    with pytest.raises(NotFound):
        await shipments.list_for_order(stranger, o["id"])
    with pytest.raises(Forbidden):
        await shipments.ship(w.buyer, sh.id, now=NOW)
    assert (await shipments.get_shipment(w.buyer, sh.id)).number == sh.number
    await shipments.ship(w.clerk, sh.id, now=NOW)
    assert (await shipments.get_shipment(w.buyer, sh.id)).can_confirm
    with pytest.raises(NotFound):
        await shipments.confirm_receipt(stranger, sh.id, now=NOW)
    with pytest.raises(Forbidden):
        await shipments.confirm_receipt(w.clerk, sh.id, now=NOW)
    with pytest.raises(ValidationFailed):
        await shipments.confirm_receipt(w.buyer, sh.id, discrepancy=True, note="", now=NOW)


async def test_auto_receive_after_days(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)
    assert await shipments.auto_receive(NOW + timedelta(days=6), days=7) == 0
    assert await shipments.auto_receive(NOW + timedelta(days=8), days=7) == 1
    row = await Shipment.select().where(Shipment.id == sh.id).first()
    assert row["status"] == "received" and row["auto_received"]
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "completed"


async def test_idempotent_create(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    kw = dict(warehouse_id=w.wh1["id"], quantities={line["id"]: 4}, idempotency_key="s1", now=NOW)
    first = await shipments.create_shipment(w.clerk, o["id"], **kw)
    again = await shipments.create_shipment(w.clerk, o["id"], **kw)
    assert first.created and not again.created
    assert first.shipment.id == again.shipment.id
    assert await Shipment.count() == 1
    with pytest.raises(Conflict):
        await shipments.create_shipment(
            w.clerk,
            o["id"],
            warehouse_id=w.wh1["id"],
            quantities={line["id"]: 5},
            idempotency_key="s1",
            now=NOW,
        )


async def test_to_ship_queue_oldest_first(db):
    w = await fulfil_world()
    a = await approved_order(w, qty=5, key="a")
    b = await approved_order(w, qty=7, key="b")
    await Order.update({Order.created_at: NOW - timedelta(hours=1)}).where(Order.id == b["id"])
    queue = await shipments.to_ship_queue(w.clerk)
    assert [q.order_id for q in queue] == [b["id"], a["id"]]
    assert queue[0].qty_left == 7
    with pytest.raises(Forbidden):
        await shipments.to_ship_queue(w.buyer)


async def test_packing_from_another_warehouse_holds_its_units(db):
    """Two orders reserved at W1 both packed from W2, which has free stock for one: the
    second parcel is refused when packed, not when shipped."""
    w = await fulfil_world(on_hand1=100, on_hand2=10)
    first = await approved_order(w, qty=10, key="a")
    second = await approved_order(w, qty=10, key="b")
    assert await stock_of(w.sku, w.wh1) == (100, 20)
    await shipments.create_shipment(
        w.clerk,
        first["id"],
        warehouse_id=w.wh2["id"],
        quantities={first["lines"][0]["id"]: 10},
        now=NOW,
    )
    assert await stock_of(w.sku, w.wh2) == (10, 10) and await stock_of(w.sku, w.wh1) == (100, 10)
    with pytest.raises(ValidationFailed) as refused:
        await shipments.create_shipment(
            w.clerk,
            second["id"],
            warehouse_id=w.wh2["id"],
            quantities={second["lines"][0]["id"]: 10},
            now=NOW,
        )
    assert refused.value.errors[0].params["have"] == 0
    assert await Shipment.count() == 1
    # From its own warehouse it packs as before.
    await shipments.create_shipment(
        w.clerk,
        second["id"],
        warehouse_id=w.wh1["id"],
        quantities={second["lines"][0]["id"]: 10},
        now=NOW,
    )
    assert await stock_of(w.sku, w.wh1) == (100, 10)


async def test_stock_gone_after_packing_refuses_shipping(db):
    from portal.domain import stock
    from portal.domain.errors import InsufficientStock

    w = await fulfil_world(on_hand1=10, on_hand2=5)
    o = await approved_order(w, qty=10)  # all reserved at W1
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh2["id"], quantities={line["id"]: 5}, now=NOW
        )
    ).shipment
    # Packing from W2 moved that part of the reservation there: the parcel's units are held.
    assert await stock_of(w.sku, w.wh2) == (5, 5)
    assert await stock_of(w.sku, w.wh1) == (10, 5)
    with pytest.raises(ValidationFailed):  # so a damage write-off cannot take them
        await stock.adjust_stock(
            w.clerk, warehouse_id=w.wh2["id"], sku_id=w.sku["id"], reason="damage", qty=1, now=NOW
        )
    # Were the stock row changed behind the portal's back, shipping still refuses.
    await StockLevel.update({StockLevel.on_hand: 4, StockLevel.reserved: 0}).where(
        (StockLevel.warehouse == w.wh2["id"]) & (StockLevel.sku == w.sku["id"])
    )
    with pytest.raises(InsufficientStock):
        await shipments.ship(w.clerk, sh.id, now=NOW)
    assert (await Shipment.select().where(Shipment.id == sh.id).first())["status"] == "packed"
    assert await stock_of(w.sku, w.wh2) == (4, 0)
    assert await stock_of(w.sku, w.wh1) == (10, 5)
    assert (await dealer_row(w))["balance_fen"] == 0
    assert await LedgerEntry.count() == 0


async def test_the_dealer_is_told_when_a_parcel_ships(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    created = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={o["lines"][0]["id"]: 4}, now=NOW
    )
    told = Notification.select(Notification.user).where(Notification.kind == "shipment_shipped")
    assert await told == []  # packed is not on its way yet
    shipped = await shipments.ship(w.clerk, created.shipment.id, now=NOW)
    rows = await Notification.select().where(Notification.kind == "shipment_shipped")
    assert [(r["user"], r["note"]) for r in rows] == [(w.buyer.user_id, shipped.number)]


async def test_moving_a_reservation_to_the_packing_warehouse_spares_what_is_packed(db):
    """A line reserved at W1 (12, all packed) and W2 (8): a parcel packed from W3 takes its
    reservation from W2's unpacked part, never from under W1's parcel."""
    w = await fulfil_world(on_hand1=12, on_hand2=100)
    w3 = await f.warehouse("W3", "华北仓", priority=3)
    await f.stock(w.sku, w3, 100)
    o = await approved_order(w, qty=20)
    line = o["lines"][0]["id"]
    assert await stock_of(w.sku, w.wh1) == (12, 12) and await stock_of(w.sku, w.wh2) == (100, 8)
    first = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line: 12}, now=NOW
    )
    await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w3["id"], quantities={line: 5}, now=NOW
    )
    assert await stock_of(w.sku, w.wh1) == (12, 12)  # still held for the first parcel
    assert await stock_of(w.sku, w.wh2) == (100, 3)
    assert await stock_of(w.sku, w3) == (100, 5)
    await shipments.ship(w.clerk, first.shipment.id, now=NOW)
    assert await stock_of(w.sku, w.wh1) == (0, 0)


async def test_delivered_between_shipped_and_received(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    # Only a shipped parcel is delivered, and only by the warehouse.
    with pytest.raises(Conflict):
        await shipments.mark_delivered(w.clerk, sh.id, now=NOW)
    await shipments.ship(w.clerk, sh.id, now=NOW)
    with pytest.raises(Forbidden):
        await shipments.mark_delivered(w.buyer, sh.id, now=NOW)
    with pytest.raises(NotFound):
        await shipments.mark_delivered(w.clerk, sh.id + 1000, now=NOW)
    later = NOW + timedelta(days=1)
    delivered = await shipments.mark_delivered(w.clerk, sh.id, now=later)
    assert delivered.status == "delivered" and delivered.delivered_at == later
    assert not delivered.can_deliver
    with pytest.raises(Conflict):
        await shipments.mark_delivered(w.clerk, sh.id, now=later)
    # The order waits for the dealer's receipt, who is told to confirm it.
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "shipped"
    seen = await shipments.get_shipment(w.buyer, sh.id)
    assert seen.can_confirm and seen.status_label == "Delivered"
    told = await Notification.select().where(Notification.kind == "shipment_delivered")
    assert told and all(n["order"] == o["id"] for n in told)
    kinds = [e["kind"] for e in await OrderEvent.select().where(OrderEvent.order == o["id"])]
    assert "shipment_delivered" in kinds
    assert await AuditEntry.count().where(AuditEntry.action == "shipment.delivered") == 1
    # Delivered goods may be returned; the receipt completes the order.
    received = await shipments.confirm_receipt(w.buyer, sh.id, now=later)
    assert received.status == "received"
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "completed"


async def test_a_delivered_parcel_is_received_automatically_too(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)
    await shipments.mark_delivered(w.clerk, sh.id, now=NOW + timedelta(days=1))
    assert await shipments.auto_receive(NOW + timedelta(days=8), days=7) == 1
    row = await Shipment.select().where(Shipment.id == sh.id).first()
    assert row["status"] == "received" and row["auto_received"]
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "completed"
