"""Warehouse fixes in the domain: a cancelled shipment prints nothing; the packing plan tells
backordered units from what is packed or shipped; blank fields on shipping keep what packing
recorded, and the carrier and tracking number of a parcel on its way are corrected (audited,
on the timeline); stock and safety-stock reads keep to a warehouse user's own warehouses.
On both engines."""

from __future__ import annotations

import json

import pytest

from portal.domain import orders, safety_stock, shipments, stock
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import AuditEntry, Notification, OrderEvent, Shipment, Sku, WebhookDelivery
from tests import factories as f
from tests.db.test_shipments import NOW, approved_order, fulfil_world
from tests.db.test_warehouse_staff import give


async def shipped(w, o, *, carrier: str = "顺丰", tracking_no: str = "SF1") -> int:
    line = o["lines"][0]
    created = await shipments.create_shipment(
        w.clerk,
        o["id"],
        warehouse_id=w.wh1["id"],
        quantities={line["id"]: 2},
        carrier=carrier,
        tracking_no=tracking_no,
        now=NOW,
    )
    await shipments.ship(w.clerk, created.shipment.id, now=NOW)
    return created.shipment.id


async def audits(action: str) -> list[dict]:
    return await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.id)


async def shipment_row(shipment_id: int) -> dict:
    return await Shipment.select().where(Shipment.id == shipment_id).first()


# --- 1. a cancelled shipment has no delivery note --------------------------------------------


async def test_a_cancelled_shipment_has_no_delivery_note(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=5)
    packed = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={o["lines"][0]["id"]: 5}
    )
    view = await shipments.printable_shipment(w.buyer, packed.shipment.id)
    assert view.printable
    await shipments.cancel_shipment(w.clerk, packed.shipment.id, now=NOW)
    for who in (w.clerk, w.buyer):
        with pytest.raises(Conflict) as refused:
            await shipments.printable_shipment(who, packed.shipment.id)
        assert refused.value.params == {"number": packed.shipment.number}
        assert "cancelled" in refused.value.message
        # Still there to look at, just not to print.
        assert not (await shipments.get_shipment(who, packed.shipment.id)).printable


# --- 2. backordered units are not "packed or shipped" --------------------------------------------


async def test_the_plan_tells_backordered_units_from_packed_or_shipped(db):
    w = await fulfil_world(on_hand1=4, on_hand2=0)
    await Sku.update({Sku.allow_backorder: True}).where(Sku.id == w.sku["id"])
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    assert line["qty_backordered"] == 6
    plan = await shipments.shipment_plan(w.clerk, o["id"], w.wh1["id"])
    (pl,) = plan.lines
    assert (pl.remaining, pl.backordered, pl.can_give) == (4, 6, 4)
    assert plan.anything_left and plan.backordered == 6 and not plan.all_packed_or_shipped
    # Everything that can ship now shipped: the rest waits for stock, it is not "done".
    await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 4}
    )
    plan = await shipments.shipment_plan(w.clerk, o["id"], w.wh1["id"])
    assert not plan.anything_left and plan.backordered == 6
    assert not plan.all_packed_or_shipped
    # Without backorders, nothing left means everything is packed or shipped.
    result = await orders.submit_order(
        w.buyer, None, [LineRequest(qty=3, sku_id=w.sku2["id"])], idempotency_key="k2", now=NOW
    )
    (line2,) = result.order.lines
    await shipments.create_shipment(
        w.clerk, result.order.id, warehouse_id=w.wh1["id"], quantities={line2.id: 3}
    )
    plan = await shipments.shipment_plan(w.clerk, result.order.id, w.wh1["id"])
    assert plan.all_packed_or_shipped and plan.backordered == 0


# --- 3. carrier and tracking number ----------------------------------------------------------


async def test_blank_fields_on_shipping_keep_what_packing_recorded(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=5)
    packed = await shipments.create_shipment(
        w.clerk,
        o["id"],
        warehouse_id=w.wh1["id"],
        quantities={o["lines"][0]["id"]: 5},
        carrier="顺丰",
        tracking_no="SF100",
    )
    view = await shipments.ship(w.clerk, packed.shipment.id, carrier="", tracking_no="  ", now=NOW)
    assert (view.carrier, view.tracking_no) == ("顺丰", "SF100")
    row = await shipment_row(packed.shipment.id)
    assert (row["carrier"], row["tracking_no"]) == ("顺丰", "SF100")
    (entry,) = await audits("shipment.shipped")
    after = json.loads(entry["after"]) if isinstance(entry["after"], str) else entry["after"]
    assert (after["carrier"], after["tracking_no"]) == ("顺丰", "SF100")


async def test_a_value_given_on_shipping_still_replaces_the_packed_one(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=5)
    packed = await shipments.create_shipment(
        w.clerk,
        o["id"],
        warehouse_id=w.wh1["id"],
        quantities={o["lines"][0]["id"]: 5},
        carrier="顺丰",
    )
    view = await shipments.ship(
        w.clerk, packed.shipment.id, carrier="中通", tracking_no="ZT7", now=NOW
    )
    assert (view.carrier, view.tracking_no) == ("中通", "ZT7")


async def test_correcting_the_tracking_number_of_a_parcel_on_its_way(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=5)
    shipment_id = await shipped(w, o)
    number = (await shipment_row(shipment_id))["number"]
    view = await shipments.correct_tracking(
        w.clerk, shipment_id, carrier="中通", tracking_no="ZT2", now=NOW
    )
    assert (view.carrier, view.tracking_no) == ("中通", "ZT2")
    row = await shipment_row(shipment_id)
    assert (row["carrier"], row["tracking_no"], row["status"]) == ("中通", "ZT2", "shipped")
    (entry,) = await audits("shipment.tracking_corrected")
    decode = lambda v: json.loads(v) if isinstance(v, str) else v  # noqa: E731
    assert decode(entry["before"]) == {"carrier": "顺丰", "tracking_no": "SF1"}
    assert decode(entry["after"]) == {"carrier": "中通", "tracking_no": "ZT2"}
    assert entry["actor"] == w.clerk.user_id
    # The order's timeline (the dealer's order page) says what it was and is.
    event = (
        await OrderEvent.select()
        .where((OrderEvent.order == o["id"]) & (OrderEvent.kind == "shipment_tracking_changed"))
        .first()
    )
    assert event["note"] == f"{number}\n顺丰 SF1 → 中通 ZT2"
    assert "shipment_tracking_changed" in shipments.EVENT_LABELS
    # The dealer reads the new number, and is told of it.
    assert (await shipments.get_shipment(w.buyer, shipment_id)).tracking_no == "ZT2"
    told = await Notification.select(Notification.user, Notification.note).where(
        Notification.kind == "shipment_tracking_changed"
    )
    assert {n["user"] for n in told} >= {w.buyer.user_id}
    assert w.clerk.user_id not in {n["user"] for n in told}
    assert {n["note"] for n in told} == {f"{number}: 中通 ZT2"}

    # Only the tracking number: the carrier stays. The same values again write nothing.
    await shipments.correct_tracking(w.clerk, shipment_id, tracking_no="ZT3", now=NOW)
    await shipments.correct_tracking(w.clerk, shipment_id, tracking_no="ZT3", now=NOW)
    row = await shipment_row(shipment_id)
    assert (row["carrier"], row["tracking_no"]) == ("中通", "ZT3")
    assert len(await audits("shipment.tracking_corrected")) == 2
    # Delivered, not yet received: still correctable; a carrier that gives no number: "".
    await shipments.mark_delivered(w.clerk, shipment_id, now=NOW)
    view = await shipments.correct_tracking(
        w.clerk, shipment_id, carrier="送货上门", tracking_no="", now=NOW
    )
    assert (view.carrier, view.tracking_no, view.status) == ("送货上门", "", "delivered")


async def test_a_correction_that_is_not_allowed_changes_nothing(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    shipment_id = await shipped(w, o)

    async def unchanged() -> None:
        row = await shipment_row(shipment_id)
        assert (row["carrier"], row["tracking_no"]) == ("顺丰", "SF1")
        assert await audits("shipment.tracking_corrected") == []
        assert await OrderEvent.count().where(OrderEvent.kind == "shipment_tracking_changed") == 0
        assert (
            await Notification.count().where(Notification.kind == "shipment_tracking_changed") == 0
        )

    with pytest.raises(ValidationFailed) as refused:
        await shipments.correct_tracking(w.clerk, shipment_id, tracking_no="9" * 51)
    assert [e.field for e in refused.value.errors] == ["tracking_no"]
    await unchanged()
    with pytest.raises(Forbidden):
        await shipments.correct_tracking(w.buyer, shipment_id, tracking_no="ZT2")
    await unchanged()
    # Another warehouse's user: not found, as a shipment that does not exist.
    admin = f.actor(await f.user("admin"))
    south = f.actor(await f.user("warehouse"))
    await give(admin, south, (w.wh2["id"],))
    with pytest.raises(NotFound):
        await shipments.correct_tracking(south, shipment_id, tracking_no="ZT2")
    await unchanged()
    # A packed shipment takes its numbers when shipped; cancelled and received ones are done.
    packed = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={o["lines"][0]["id"]: 1}
    )
    with pytest.raises(Conflict):
        await shipments.correct_tracking(w.clerk, packed.shipment.id, tracking_no="X1")
    await shipments.cancel_shipment(w.clerk, packed.shipment.id, now=NOW)
    with pytest.raises(Conflict):
        await shipments.correct_tracking(w.clerk, packed.shipment.id, tracking_no="X1")
    assert (await shipment_row(packed.shipment.id))["tracking_no"] == ""
    await shipments.confirm_receipt(w.buyer, shipment_id, now=NOW)
    with pytest.raises(Conflict):
        await shipments.correct_tracking(w.clerk, shipment_id, tracking_no="ZT2")
    await unchanged()


async def test_a_correction_is_a_webhook_event_with_the_new_number(db):
    from portal.domain import webhooks

    w = await fulfil_world()
    o = await approved_order(w, qty=5)
    shipment_id = await shipped(w, o)
    admin = f.actor(await f.user("admin"))
    await webhooks.save_endpoint(
        admin, None, webhooks.EndpointInput(url="https://erp.example.com/hooks"), now=NOW
    )
    await shipments.correct_tracking(w.clerk, shipment_id, tracking_no="SF2", now=NOW)
    (delivery,) = await WebhookDelivery.select()
    assert delivery["event_type"] == "shipment.tracking_changed"
    assert "shipment.tracking_changed" in webhooks.EVENT_TYPES
    found = await webhooks.events_by_id([delivery["order_event"]])
    data = json.loads(webhooks.body(found[delivery["order_event"]], delivery["event_type"]))
    assert data["data"]["shipment"]["id"] == shipment_id
    assert data["data"]["shipment"]["tracking_no"] == "SF2"
    assert data["data"]["note"].endswith("顺丰 SF1 → 顺丰 SF2")


# --- 5. stock reads keep to a warehouse user's warehouses -------------------------------------


async def test_stock_reads_keep_to_a_warehouse_users_own_warehouses(db):
    w = await fulfil_world(on_hand1=5, on_hand2=50)
    admin = f.actor(await f.user("admin"))
    east = f.actor(await f.user("warehouse"))
    await give(admin, east, (w.wh1["id"],))
    # A SKU only W2 holds: not east's concern at all.
    only_south = await f.sku(code="C300", pack=None)
    await f.stock(only_south, w.wh2, 1)
    await Sku.update({Sku.safety_stock: 20}).where(Sku.id.is_in([w.sku["id"], only_south["id"]]))

    rows = await stock.list_stock(east)
    assert {r.warehouse_id for r in rows} == {w.wh1["id"]}
    assert [r.sku_code for r in rows] == ["A100", "B200"]
    # Figures summed over their warehouses only: A100 is under its safety stock at W1.
    a100 = rows[0]
    assert (a100.sku_available, a100.under_safety) == (5, True)
    assert await stock.count_stock(east) == 2
    with pytest.raises(NotFound):
        await stock.list_stock(east, warehouse_id=w.wh2["id"])
    with pytest.raises(NotFound):
        await stock.count_stock(east, warehouse_id=w.wh2["id"])
    assert [r.sku_code for r in await stock.list_stock(east, under_safety=True)] == ["A100"]
    assert await stock.count_stock(east, under_safety=True) == 1

    levels = await safety_stock.under_safety(east)
    assert [(s.sku_code, s.available) for s in levels] == [("A100", 5)]
    assert [wh["warehouse"] for wh in levels[0].warehouses] == [w.wh1["id"]]
    assert await safety_stock.count_under_safety(east) == 1
    assert [s.sku_code for s in await safety_stock.under_safety(east, limit=None)] == ["A100"]
    one = await safety_stock.get_safety_level(east, w.sku["id"])
    assert one.available == 5 and [wh["warehouse"] for wh in one.warehouses] == [w.wh1["id"]]

    # Given none, or an administrator: every warehouse, as before.
    for everyone in (w.clerk, admin):
        rows = await stock.list_stock(everyone)
        assert {r.warehouse_id for r in rows} == {w.wh1["id"], w.wh2["id"]}
        assert await stock.count_stock(everyone) == len(rows) == 5
        a100 = next(r for r in rows if r.sku_code == "A100")
        assert (a100.sku_available, a100.under_safety) == (55, False)
        assert [s.sku_code for s in await safety_stock.under_safety(everyone)] == ["C300"]
        assert await safety_stock.count_under_safety(everyone) == 1
        assert len((await safety_stock.get_safety_level(everyone, w.sku["id"])).warehouses) == 2
        only_w2 = await stock.list_stock(everyone, warehouse_id=w.wh2["id"])
        assert {r.warehouse_id for r in only_w2} == {w.wh2["id"]}
        with pytest.raises(NotFound):
            await stock.list_stock(everyone, warehouse_id=987_654)


async def test_stock_pages_follow_each_other_without_gaps(db):
    w = await fulfil_world(on_hand1=5, on_hand2=5)
    for n in range(7):
        await f.stock(await f.sku(code=f"D{n:03d}", pack=None), w.wh1, n)
    total = await stock.count_stock(w.clerk)
    assert total == 11
    pages = [await stock.list_stock(w.clerk, limit=4, offset=o) for o in (0, 4, 8)]
    assert [len(p) for p in pages] == [4, 4, 3]
    seen = [r.stock_level_id for p in pages for r in p]
    assert len(set(seen)) == total
    assert await stock.count_stock(w.clerk, q="D00", warehouse_id=w.wh1["id"]) == 7
    assert await stock.count_stock(w.clerk, warehouse_id=w.wh2["id"]) == 2
