"""Staff stock: the list (search, safety stock), adjustments (audited; a count or a loss below
what orders hold takes the newest orders' reservations back), setting safety stock (audited,
bounded) and the list of SKUs under it."""

from __future__ import annotations

import json

import pytest

from portal.domain import safety_stock, staff, stock, webhooks
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.tables import (
    AuditEntry,
    Notification,
    OrderEvent,
    OrderLine,
    Reservation,
    Sku,
    StockLevel,
    Warehouse,
    WebhookDelivery,
)
from tests import factories as f
from tests.db.test_shipments import NOW, approved_order, fulfil_world, stock_of


async def test_list_search_and_safety(db):
    w = await fulfil_world(on_hand1=5, on_hand2=3)
    await Sku.update({Sku.safety_stock: 20}).where(Sku.id == w.sku["id"])
    rows = await stock.list_stock(w.clerk)
    assert len(rows) == 4
    # In SKU code order, then warehouse; an inactive warehouse's rows are not listed, and the
    # limit cuts in that order.
    assert [(r.sku_code, r.warehouse_id) for r in rows] == sorted(
        (r.sku_code, r.warehouse_id) for r in rows
    )
    assert [r.sku_code for r in rows] == ["A100", "A100", "B200", "B200"]
    first = await stock.list_stock(w.clerk, limit=3)
    assert [(r.sku_code, r.warehouse_id) for r in first] == [
        (r.sku_code, r.warehouse_id) for r in rows[:3]
    ]
    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == w.wh2["id"])
    assert {r.warehouse_id for r in await stock.list_stock(w.clerk)} == {w.wh1["id"]}
    await Warehouse.update({Warehouse.active: True}).where(Warehouse.id == w.wh2["id"])
    assert {r.sku_code for r in await stock.list_stock(w.clerk, q="a10")} == {"A100"}
    barcode = w.sku2["barcode"]
    assert {r.sku_code for r in await stock.list_stock(w.clerk, q=barcode)} == {"B200"}
    under = await stock.list_stock(w.clerk, under_safety=True)
    assert {r.sku_code for r in under} == {"A100"} and len(under) == 2
    only_w2 = await stock.list_stock(w.clerk, warehouse_id=w.wh2["id"])
    assert {r.warehouse_code for r in only_w2} == {"W2"}
    with pytest.raises(Forbidden):
        await stock.list_stock(w.buyer)
    with pytest.raises(Forbidden):
        await stock.list_stock(f.actor(await f.user("sales_rep")))


async def test_under_safety_filter_finds_skus_past_the_first_rows(db):
    """The filter is applied before the limit: SKUs early in code order that are fine don't
    crowd out the one that is under its safety stock."""
    w = await fulfil_world(on_hand1=5, on_hand2=3)
    for n in range(12):
        await f.stock(await f.sku(code=f"AA{n:02d}", pack=None), w.wh1, 10)
    late = await f.sku(code="ZZ99", pack=None)
    await f.stock(late, w.wh1, 1)
    await Sku.update({Sku.safety_stock: 5}).where(Sku.id == late["id"])
    under = await stock.list_stock(w.clerk, under_safety=True, limit=2)
    assert [r.sku_code for r in under] == ["ZZ99"]


async def test_a_retried_adjustment_counts_once(db):
    w = await fulfil_world(on_hand1=10)
    receipt = dict(warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty="5", now=NOW)
    first = await stock.adjust_stock(w.clerk, **receipt, idempotency_key="grn-1")
    again = await stock.adjust_stock(w.clerk, **receipt, idempotency_key="grn-1")
    assert first.on_hand == again.on_hand == 15
    assert await stock_of(w.sku, w.wh1) == (15, 0)
    assert await AuditEntry.count().where(AuditEntry.action == "stock.receipt") == 1
    with pytest.raises(Conflict):
        await stock.adjust_stock(w.clerk, **{**receipt, "qty": "6"}, idempotency_key="grn-1")
    # Another clerk's key of the same name is another adjustment; no key adjusts each time.
    other = f.actor(await f.user("warehouse"))
    await stock.adjust_stock(other, **receipt, idempotency_key="grn-1")
    await stock.adjust_stock(w.clerk, **receipt)
    assert await stock_of(w.sku, w.wh1) == (25, 0)


async def test_adjust_receipt_count_damage(db):
    w = await fulfil_world(on_hand1=10)
    await approved_order(w, qty=6)  # 6 reserved at W1
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty="5", now=NOW
    )
    assert (row.on_hand, row.reserved, row.available) == (15, 6, 9)
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="damage", qty=2, now=NOW
    )
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="count", qty=7, now=NOW
    )
    assert await stock_of(w.sku, w.wh1) == (7, 6)
    for reason, qty in (("receipt", "x"), ("receipt", "-3"), ("receipt", "0"), ("theft", 1)):
        with pytest.raises(ValidationFailed):
            await stock.adjust_stock(
                w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason=reason, qty=qty
            )
    # A number is told what is wrong with it; only what is not one is "enter a whole number".
    for qty, message in (
        ("-3", "The quantity cannot be negative."),
        ("1000000000000000", "The quantity is too large."),
        ("2.5", "Enter a whole number."),
    ):
        with pytest.raises(ValidationFailed) as exc:
            await stock.adjust_stock(
                w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty=qty
            )
        assert [e.message for e in exc.value.errors] == [message], qty
    with pytest.raises(Forbidden):
        await stock.adjust_stock(
            w.buyer, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty=1
        )
    assert await stock_of(w.sku, w.wh1) == (7, 6)
    actions = [a["action"] for a in await AuditEntry.select().order_by(AuditEntry.id)]
    assert actions[-3:] == ["stock.receipt", "stock.damage", "stock.count"]


async def reservations_at(wh: dict) -> dict[int, int]:
    """order line -> units reserved for it at the warehouse."""
    rows = await Reservation.select().where(Reservation.warehouse == wh["id"])
    held: dict[int, int] = {}
    for r in rows:
        held[r["order_line"]] = held.get(r["order_line"], 0) + r["qty"]
    return held


async def backordered(order: dict) -> int:
    line = await OrderLine.select().where(OrderLine.id == order["lines"][0]["id"]).first()
    return line["qty_backordered"]


async def test_a_count_below_what_orders_hold_stands_and_the_newest_orders_wait(db):
    w = await fulfil_world(on_hand1=10, on_hand2=0)
    older = await approved_order(w, qty=4, key="k1")
    newer = await approved_order(w, qty=5, key="k2")
    assert await stock_of(w.sku, w.wh1) == (10, 9)
    admin = f.actor(await f.user("admin"))
    hook = webhooks.EndpointInput(url="https://erp.example.com/h", events=("order.stock_short",))
    await webhooks.save_endpoint(admin, None, hook)

    # Six on the shelf where orders hold nine: the newest order gives three back.
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="count", qty=6, now=NOW
    )
    assert (row.on_hand, row.reserved, row.available) == (6, 6, 0)
    assert [(g.order_id, g.qty) for g in row.gave_way] == [(newer["id"], 3)]
    assert await stock_of(w.sku, w.wh1) == (6, 6)
    assert await backordered(newer) == 3 and await backordered(older) == 0
    held = await reservations_at(w.wh1)
    assert held == {older["lines"][0]["id"]: 4, newer["lines"][0]["id"]: 2}
    event = (
        await OrderEvent.select()
        .where(OrderEvent.order == newer["id"])
        .order_by(OrderEvent.id, ascending=False)
        .first()
    )
    assert (event["kind"], event["note"]) == ("stock_short", "A100: 3 瓶 · 华东仓")
    told = await Notification.select().where(Notification.kind == "stock_short")
    assert {n["order"] for n in told} == {newer["id"]}
    # A receiver that asked for it hears of it (the outbox, in the same transaction).
    sent = await WebhookDelivery.select(WebhookDelivery.event_type)
    assert [d["event_type"] for d in sent] == ["order.stock_short"]
    audited = await AuditEntry.select().where(AuditEntry.action == "order.stock_gave_way")
    assert [a["entity_id"] for a in audited] == [str(newer["id"])]
    count = await AuditEntry.select().where(AuditEntry.action == "stock.count").first()
    assert json.loads(count["before"]) == {"on_hand": 10, "reserved": 9}
    assert json.loads(count["after"])["gave_way"] == [
        {"order_id": newer["id"], "order_line_id": newer["lines"][0]["id"], "qty": 3, "waiting": 3}
    ]

    # Five lost: the newest gives its last two, then the older one three.
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="damage", qty=5, now=NOW
    )
    assert [(g.order_id, g.qty) for g in row.gave_way] == [(newer["id"], 2), (older["id"], 3)]
    assert await stock_of(w.sku, w.wh1) == (1, 1)
    assert await backordered(newer) == 5 and await backordered(older) == 3
    assert await reservations_at(w.wh1) == {older["lines"][0]["id"]: 1}

    # No more can be lost than is on hand.
    with pytest.raises(ValidationFailed) as exc:
        await stock.adjust_stock(
            w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="damage", qty=2, now=NOW
        )
    assert exc.value.errors[0].params == {"on_hand": 1}
    assert await stock_of(w.sku, w.wh1) == (1, 1) and await backordered(older) == 3
    # Stock arrives: the oldest backorder is served first, as with any receipt.
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty=4, now=NOW
    )
    assert await backordered(older) == 0 and await backordered(newer) == 4


async def test_packed_units_never_give_way(db):
    from portal.domain import shipments

    w = await fulfil_world(on_hand1=10, on_hand2=0)
    order = await approved_order(w, qty=4)
    line = order["lines"][0]
    await shipments.create_shipment(
        w.clerk, order["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 3}, now=NOW
    )
    # Three are boxed in a parcel: a count of two cannot stand; nothing changes.
    with pytest.raises(ValidationFailed) as exc:
        await stock.adjust_stock(
            w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="count", qty=2, now=NOW
        )
    error = exc.value.errors[0]
    assert error.field == "qty" and error.params == {"count": 3}
    assert await stock_of(w.sku, w.wh1) == (10, 4)
    assert await backordered(order) == 0
    # A count of three stands: the one unit not packed gives way.
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="count", qty=3, now=NOW
    )
    assert [g.qty for g in row.gave_way] == [1]
    assert await stock_of(w.sku, w.wh1) == (3, 3) and await backordered(order) == 1


async def test_another_warehouses_free_stock_serves_what_gave_way(db):
    w = await fulfil_world(on_hand1=10, on_hand2=2)
    order = await approved_order(w, qty=8)
    assert await stock_of(w.sku, w.wh1) == (10, 8)
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="count", qty=5, now=NOW
    )
    assert [(g.qty, g.waiting) for g in row.gave_way] == [(3, 1)]
    # Two of the three come from W2's free stock; one waits.
    assert await stock_of(w.sku, w.wh1) == (5, 5)
    assert await stock_of(w.sku, w.wh2) == (2, 2)
    assert await backordered(order) == 1
    # The timeline says what waits and what moved; the dealer hears only of what waits, and
    # no "backorder arrived" for the two that never waited.
    events = await OrderEvent.select(OrderEvent.kind, OrderEvent.note).where(
        (OrderEvent.order == order["id"])
        & OrderEvent.kind.is_in(["stock_short", "stock_moved", "backorder_reserved"])
    )
    assert sorted((e["kind"], e["note"]) for e in events) == [
        ("stock_moved", "A100: 2 瓶 · 华东仓"),
        ("stock_short", "A100: 1 瓶 · 华东仓"),
    ]
    told = await Notification.select(Notification.kind, Notification.note).where(
        Notification.order == order["id"]
    )
    kinds = {n["kind"] for n in told}
    assert "stock_short" in kinds and "backorder_reserved" not in kinds
    assert {n["note"] for n in told if n["kind"] == "stock_short"} == {"A100: 1 瓶 · 华东仓"}


async def test_reservations_another_warehouse_takes_over_at_once_never_alarm_the_dealer(db):
    w = await fulfil_world(on_hand1=10, on_hand2=20)
    order = await approved_order(w, qty=8)
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="count", qty=5, now=NOW
    )
    assert [(g.qty, g.waiting) for g in row.gave_way] == [(3, 0)]
    assert await backordered(order) == 0 and await stock_of(w.sku, w.wh2) == (20, 3)
    events = await OrderEvent.select(OrderEvent.kind).where(
        (OrderEvent.order == order["id"])
        & OrderEvent.kind.is_in(["stock_short", "stock_moved", "backorder_reserved"])
    )
    assert [e["kind"] for e in events] == ["stock_moved"]
    assert (
        await Notification.count().where(
            (Notification.order == order["id"])
            & Notification.kind.is_in(["stock_short", "backorder_reserved"])
        )
        == 0
    )


async def test_receipt_creates_a_stock_row(db):
    w = await fulfil_world()
    wh3 = await f.warehouse("W3", "华北仓")
    await stock.adjust_stock(
        w.clerk, warehouse_id=wh3["id"], sku_id=w.sku["id"], reason="receipt", qty=4, now=NOW
    )
    assert await StockLevel.count().where(StockLevel.warehouse == wh3["id"]) == 1


# --- safety stock (portal.domain.safety_stock) ----------------------------------------------


async def sku_safety(sku: dict) -> int:
    return (await Sku.select(Sku.safety_stock).where(Sku.id == sku["id"]).first())["safety_stock"]


async def test_set_safety_stock_is_audited(db):
    w = await fulfil_world(on_hand1=5, on_hand2=3)
    level = await safety_stock.set_safety_stock(w.clerk, w.sku["id"], " 12 ", now=NOW)
    assert (level.safety_stock, level.available, level.under_safety, level.shortfall) == (
        12,
        8,
        True,
        4,
    )
    assert {wh["warehouse_code"] for wh in level.warehouses} == {"W1", "W2"}
    admin = f.actor(await f.user("admin"))
    level = await safety_stock.set_safety_stock(admin, w.sku["id"], 8, now=NOW)
    assert (level.under_safety, level.shortfall) == (False, 0)  # 8 available is not under 8
    await safety_stock.set_safety_stock(admin, w.sku["id"], 8, now=NOW)  # unchanged: no entry
    entries = (
        await AuditEntry.select()
        .where(AuditEntry.action == "sku.safety_stock")
        .order_by(AuditEntry.id)
    )
    assert [(e["actor"], e["entity"], e["entity_id"]) for e in entries] == [
        (w.clerk.user_id, "sku", str(w.sku["id"])),
        (admin.user_id, "sku", str(w.sku["id"])),
    ]
    assert [json.loads(e["before"]) for e in entries] == [{"safety_stock": 0}, {"safety_stock": 12}]
    assert [json.loads(e["after"])["safety_stock"] for e in entries] == [12, 8]
    assert await sku_safety(w.sku) == 8
    # Back to 0 turns the alert off.
    assert not (await safety_stock.set_safety_stock(w.clerk, w.sku["id"], "0")).under_safety


@pytest.mark.parametrize(
    "value", ["-1", -1, "abc", "", None, "1.5", 1.5, "10000001", 10**30, "１２", True, "1e3"]
)
async def test_bad_safety_stock_writes_nothing(db, value):
    w = await fulfil_world()
    await Sku.update({Sku.safety_stock: 7}).where(Sku.id == w.sku["id"])
    with pytest.raises(ValidationFailed) as exc:
        await safety_stock.set_safety_stock(w.clerk, w.sku["id"], value, now=NOW)
    assert exc.value.errors[0].field == "safety_stock"
    assert await sku_safety(w.sku) == 7
    assert await AuditEntry.count().where(AuditEntry.action == "sku.safety_stock") == 0
    # The bound itself is accepted.
    await safety_stock.set_safety_stock(w.clerk, w.sku["id"], safety_stock.MAX_SAFETY_STOCK)
    assert await sku_safety(w.sku) == safety_stock.MAX_SAFETY_STOCK


async def test_safety_stock_roles_and_missing_sku(db):
    w = await fulfil_world()
    rep = f.actor(await f.user("sales_rep"))
    manager = f.actor(await f.user("sales_manager"))
    for actor in (w.buyer, rep, manager, w.finance):
        with pytest.raises(Forbidden):
            await safety_stock.set_safety_stock(actor, w.sku["id"], 5)
    # Every staff role sees what is under safety stock (DESIGN: "staff see what is under
    # it"); a dealer's people do not.
    with pytest.raises(Forbidden):
        await safety_stock.under_safety(w.buyer)
    with pytest.raises(Forbidden):
        await safety_stock.count_under_safety(w.buyer)
    for actor in (rep, manager, w.finance):
        assert await safety_stock.under_safety(actor) == []
        assert await safety_stock.count_under_safety(actor) == 0
    with pytest.raises(NotFound):
        await safety_stock.set_safety_stock(w.clerk, 987_654, 5)
    with pytest.raises(NotFound):
        await safety_stock.get_safety_level(w.clerk, 987_654)
    assert await sku_safety(w.sku) == 0
    assert await AuditEntry.count() == 0


async def test_alert_list(db):
    w = await fulfil_world(on_hand1=5, on_hand2=3)  # A100 and B200: 8 available each
    await approved_order(w, qty=4)  # A100: 4 reserved at W1, so 4 available
    set_ = safety_stock.set_safety_stock
    await set_(w.clerk, w.sku["id"], 5)  # 4 < 5: under
    await set_(w.clerk, w.sku2["id"], 8)  # 8 = 8: not under
    unheld = await f.sku(code="C300", pack=None)  # no stock row anywhere: 0 available
    await set_(w.clerk, unheld["id"], 1)
    retired = await f.sku(code="D400", pack=None, active=False)
    await set_(w.clerk, retired["id"], 10)  # inactive SKUs never alert
    await f.sku(code="E500", pack=None)  # safety stock 0: never alerts
    wh3 = await f.warehouse("W3", "华北仓")
    closed = await f.sku(code="F600", pack=None)
    await f.stock(closed, wh3, 50)
    await f.stock(closed, w.wh1, 2)
    await set_(w.clerk, closed["id"], 10)
    alerts = await safety_stock.under_safety(w.clerk)
    # W3 is active: F600 has 52, not under 10.
    assert [lv.sku_code for lv in alerts] == ["C300", "A100"]
    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == wh3["id"])
    alerts = await safety_stock.under_safety(w.clerk)
    # Emptiest first: C300 0/1, F600 2/10, A100 4/5.
    assert [(lv.sku_code, lv.available, lv.safety_stock, lv.shortfall) for lv in alerts] == [
        ("C300", 0, 1, 1),
        ("F600", 2, 10, 8),
        ("A100", 4, 5, 1),
    ]
    assert await safety_stock.count_under_safety(w.clerk) == 3
    # The stock list's filter agrees for the SKUs that have stock rows.
    listed = {r.sku_code for r in await stock.list_stock(w.clerk, under_safety=True)}
    assert listed == {"F600", "A100"}
    # Receiving stock clears the alert.
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty=1, now=NOW
    )
    assert [lv.sku_code for lv in await safety_stock.under_safety(w.clerk)] == ["C300", "F600"]
    assert await safety_stock.count_under_safety(w.clerk) == 2


# --- transfers between warehouses (调拨) ---------------------------------------------------


async def test_transfer_moves_free_stock_both_sides_audited(db):
    w = await fulfil_world(on_hand1=10, on_hand2=3)
    await approved_order(w, qty=6)  # 6 reserved at W1: 4 free there
    sent, received = await stock.transfer_stock(
        w.clerk,
        sku_id=w.sku["id"],
        from_warehouse_id=w.wh1["id"],
        to_warehouse_id=w.wh2["id"],
        qty="4",
        note="补广州",
        now=NOW,
    )
    assert (sent.on_hand, sent.reserved, received.on_hand) == (6, 6, 7)
    assert await stock_of(w.sku, w.wh1) == (6, 6) and await stock_of(w.sku, w.wh2) == (7, 0)
    entries = await AuditEntry.select().where(AuditEntry.action.like("stock.transfer%"))
    by_action = {e["action"]: json.loads(e["after"]) for e in entries}
    assert by_action["stock.transfer_out"]["delta"] == -4
    assert by_action["stock.transfer_out"]["to_warehouse_id"] == w.wh2["id"]
    assert by_action["stock.transfer_in"]["delta"] == 4
    assert by_action["stock.transfer_in"]["from_warehouse_id"] == w.wh1["id"]
    assert by_action["stock.transfer_in"]["note"] == "补广州"


async def test_a_transfer_never_takes_reserved_stock_and_bad_ones_write_nothing(db):
    w = await fulfil_world(on_hand1=10, on_hand2=3)
    await approved_order(w, qty=6)
    move = dict(sku_id=w.sku["id"], from_warehouse_id=w.wh1["id"], to_warehouse_id=w.wh2["id"])
    with pytest.raises(ValidationFailed) as exc:
        await stock.transfer_stock(w.clerk, **move, qty=5, now=NOW)
    err = exc.value.errors[0]
    assert err.field == "qty" and "Only 4 can move" in err.message % err.params
    for qty in ("0", "-1", "x", ""):
        with pytest.raises(ValidationFailed):
            await stock.transfer_stock(w.clerk, **move, qty=qty, now=NOW)
    with pytest.raises(ValidationFailed) as exc:
        await stock.transfer_stock(w.clerk, **{**move, "to_warehouse_id": w.wh1["id"]}, qty=1)
    assert exc.value.errors[0].field == "to_warehouse_id"
    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == w.wh2["id"])
    with pytest.raises(ValidationFailed):
        await stock.transfer_stock(w.clerk, **move, qty=1, now=NOW)
    await Warehouse.update({Warehouse.active: True}).where(Warehouse.id == w.wh2["id"])
    with pytest.raises(NotFound):
        await stock.transfer_stock(w.clerk, **{**move, "to_warehouse_id": 999_999}, qty=1)
    with pytest.raises(Forbidden):
        await stock.transfer_stock(w.buyer, **move, qty=1)
    assert await stock_of(w.sku, w.wh1) == (10, 6) and await stock_of(w.sku, w.wh2) == (3, 0)
    assert await AuditEntry.count().where(AuditEntry.action.like("stock.transfer%")) == 0


async def test_a_transfer_out_of_a_paused_warehouse_and_into_a_new_row(db):
    """Emptying a paused warehouse is what a transfer is for; the receiving warehouse gets a
    stock row for a SKU it never held."""
    w = await fulfil_world(on_hand1=10, on_hand2=3)
    wh3 = await f.warehouse("W3", "华北仓")
    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == w.wh1["id"])
    sent, received = await stock.transfer_stock(
        w.clerk,
        sku_id=w.sku["id"],
        from_warehouse_id=w.wh1["id"],
        to_warehouse_id=wh3["id"],
        qty=10,
        now=NOW,
    )
    assert (sent.on_hand, received.on_hand, received.warehouse_code) == (0, 10, "W3")


async def test_a_retried_transfer_moves_once(db):
    w = await fulfil_world(on_hand1=10, on_hand2=0)
    move = dict(sku_id=w.sku["id"], from_warehouse_id=w.wh1["id"], to_warehouse_id=w.wh2["id"])
    await stock.transfer_stock(w.clerk, **move, qty=3, idempotency_key="t-1", now=NOW)
    sent, received = await stock.transfer_stock(
        w.clerk, **move, qty=3, idempotency_key="t-1", now=NOW
    )
    assert (sent.on_hand, received.on_hand) == (7, 3)
    with pytest.raises(Conflict):
        await stock.transfer_stock(w.clerk, **move, qty=4, idempotency_key="t-1", now=NOW)
    assert await stock_of(w.sku, w.wh1) == (7, 0)


async def test_a_transfer_fills_the_receiving_warehouses_backorders(db):
    w = await fulfil_world(on_hand1=0, on_hand2=10)
    await Sku.update({Sku.allow_backorder: True}).where(Sku.id == w.sku["id"])
    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == w.wh2["id"])
    o = await approved_order(w, qty=4)  # nothing in active W1: all 4 backordered
    line = o["lines"][0]
    assert line["qty_backordered"] == 4
    await Warehouse.update({Warehouse.active: True}).where(Warehouse.id == w.wh2["id"])
    await stock.transfer_stock(
        w.clerk,
        sku_id=w.sku["id"],
        from_warehouse_id=w.wh2["id"],
        to_warehouse_id=w.wh1["id"],
        qty=5,
        now=NOW,
    )
    assert await stock_of(w.sku, w.wh1) == (5, 4)
    after = await OrderLine.select().where(OrderLine.id == line["id"]).first()
    assert after["qty_backordered"] == 0


async def test_a_warehouse_user_moves_between_their_own_warehouses_only(db):
    w = await fulfil_world(on_hand1=10, on_hand2=10)
    admin = f.actor(await f.user("admin"))
    east = f.actor(await f.user("warehouse"))
    person = await staff.get_staff(admin, east.user_id)
    await staff.update_staff(
        admin,
        east.user_id,
        staff.StaffInput(
            display_name=person["display_name"], role="warehouse", warehouse_ids=(w.wh1["id"],)
        ),
    )
    with pytest.raises(NotFound):
        await stock.transfer_stock(
            east,
            sku_id=w.sku["id"],
            from_warehouse_id=w.wh1["id"],
            to_warehouse_id=w.wh2["id"],
            qty=1,
            now=NOW,
        )
    assert await stock_of(w.sku, w.wh1) == (10, 0)


async def test_a_paused_warehouse_is_counted_and_listed_when_asked_for(db):
    """A paused warehouse keeps its stock: an adjustment there answers with its row (it
    failed after writing, and a retry doubled a receipt), and naming it lists its rows."""
    w = await fulfil_world(on_hand1=10, on_hand2=3)
    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == w.wh2["id"])
    row = await stock.adjust_stock(
        w.clerk,
        warehouse_id=w.wh2["id"],
        sku_id=w.sku["id"],
        reason="receipt",
        qty=5,
        idempotency_key="p-1",
        now=NOW,
    )
    assert (row.warehouse_id, row.on_hand) == (w.wh2["id"], 8)
    again = await stock.adjust_stock(
        w.clerk,
        warehouse_id=w.wh2["id"],
        sku_id=w.sku["id"],
        reason="receipt",
        qty=5,
        idempotency_key="p-1",
        now=NOW,
    )
    assert again.on_hand == 8 and await stock_of(w.sku, w.wh2) == (8, 0)
    counted = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh2["id"], sku_id=w.sku["id"], reason="count", qty=0, now=NOW
    )
    assert counted.on_hand == 0
    # The whole list leaves it out; asked for by name, it is there.
    assert {r.warehouse_id for r in await stock.list_stock(w.clerk)} == {w.wh1["id"]}
    named = await stock.list_stock(w.clerk, warehouse_id=w.wh2["id"], sku_id=w.sku["id"])
    assert [(r.warehouse_id, r.on_hand) for r in named] == [(w.wh2["id"], 0)]
    assert await stock.count_stock(w.clerk, warehouse_id=w.wh2["id"]) >= 1
