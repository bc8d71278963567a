"""A warehouse user given warehouses works in those only (DESIGN: warehouse staff see "orders
to ship from their warehouses"); one given none works everywhere. On both engines."""

from __future__ import annotations

import json

import pytest

from portal.domain import orders, picking, returns, shipments, staff, stock
from portal.domain.errors import NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import AuditEntry, WarehouseStaff
from tests import factories as f
from tests.db.test_shipments import NOW, fulfil_world
from tests.db.test_shipments_returns import shipped_order


async def give(admin, clerk, warehouse_ids) -> dict:
    person = await staff.get_staff(admin, clerk.user_id)
    data = staff.StaffInput(
        display_name=person["display_name"], role="warehouse", warehouse_ids=warehouse_ids
    )
    return await staff.update_staff(admin, clerk.user_id, data)


async def test_a_warehouse_user_sees_and_acts_in_their_warehouses_only(db):
    # W1 holds nothing of A100, so the first order reserves in W2; the dealer defaults to W1.
    w = await fulfil_world(on_hand1=0, on_hand2=100)
    admin = f.actor(await f.user("admin"))
    east = f.actor(await f.user("warehouse"))  # W1 only
    south = f.actor(await f.user("warehouse"))  # W2 only
    everywhere = w.clerk  # given none
    await give(admin, east, (w.wh1["id"],))
    await give(admin, south, (w.wh2["id"],))
    placed = await orders.submit_order(
        w.buyer, None, [LineRequest(qty=5, sku_id=w.sku["id"])], idempotency_key="a", now=NOW
    )
    order_id = placed.order.id
    # Reserved in W2, for a dealer that defaults to W1: both see it; a third warehouse's
    # user would not.
    w3 = await f.warehouse("W3", "西南仓", priority=3)
    west = f.actor(await f.user("warehouse"))
    await give(admin, west, (w3["id"],))
    for who in (east, south, everywhere):
        assert (await orders.get_order(who, order_id)).id == order_id
        assert [o.id for o in (await orders.list_orders(who)).items] == [order_id]
        assert [q.order_id for q in await shipments.to_ship_queue(who)] == [order_id]
    with pytest.raises(NotFound):
        await orders.get_order(west, order_id)
    assert (await orders.list_orders(west)).items == []
    assert await shipments.to_ship_queue(west) == []

    # Acting: only from their own warehouses.
    line = placed.order.lines[0]
    with pytest.raises(NotFound):
        await shipments.create_shipment(
            east, order_id, warehouse_id=w.wh2["id"], quantities={line.id: 1}
        )
    plan = await shipments.shipment_plan(east, order_id)
    assert [wh["id"] for wh in plan.warehouses] == [w.wh1["id"]]
    packed = await shipments.create_shipment(
        south, order_id, warehouse_id=w.wh2["id"], quantities={line.id: 2}
    )
    with pytest.raises(NotFound):  # the shipment is another warehouse's
        await shipments.get_shipment(east, packed.shipment.id)
    assert (await shipments.get_shipment(south, packed.shipment.id)).id == packed.shipment.id
    with pytest.raises(NotFound):
        await stock.adjust_stock(
            east, warehouse_id=w.wh2["id"], sku_id=w.sku["id"], reason="receipt", qty=1, now=NOW
        )
    await stock.adjust_stock(
        east, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty=3, now=NOW
    )
    assert [wh["id"] for wh in await picking.picking_warehouses(south)] == [w.wh2["id"]]
    with pytest.raises(NotFound):
        await picking.pick_list(south, w.wh1["id"])


async def test_warehouses_are_kept_by_the_administrator_audited_and_checked(db):
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    saved = await give(admin, w.clerk, (w.wh2["id"], w.wh1["id"]))
    assert saved["warehouse_ids"] == sorted([w.wh1["id"], w.wh2["id"]])
    entry = await AuditEntry.select().where(AuditEntry.action == "user.warehouses").first()
    assert json.loads(entry["after"])["warehouse_ids"] == sorted([w.wh1["id"], w.wh2["id"]])
    with pytest.raises(ValidationFailed) as refused:
        await give(admin, w.clerk, (w.wh1["id"], 987_654))
    assert [e.field for e in refused.value.errors] == ["warehouse_ids"]
    assert await WarehouseStaff.count() == 2  # unchanged
    # Another role has no warehouses: they are cleared.
    person = await staff.get_staff(admin, w.clerk.user_id)
    moved = staff.StaffInput(display_name=person["display_name"], role="finance")
    assert (await staff.update_staff(admin, w.clerk.user_id, moved))["warehouse_ids"] == []
    assert await WarehouseStaff.count() == 0
    # A new warehouse user with a warehouse, in the same transaction as the user.
    made = await staff.create_staff(
        admin,
        "wh.south",
        "Secret-pass-2026",
        staff.StaffInput(display_name="南仓 小王", role="warehouse", warehouse_ids=(w.wh2["id"],)),
    )
    assert made["warehouse_ids"] == [w.wh2["id"]]


async def test_returned_goods_are_received_into_the_user_s_own_warehouses(db):
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    south = f.actor(await f.user("warehouse"))
    await give(admin, south, (w.wh2["id"],))
    o, line = await shipped_order(w)  # shipped from W1 by the unassigned clerk
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 2}, reason="破损", now=NOW
    )
    await returns.decide_return(admin, rma.id, approve=True, now=NOW)
    assert [wh["id"] for wh in await returns.receiving_warehouses(south)] == [w.wh2["id"]]
    with pytest.raises(ValidationFailed) as refused:
        await returns.receive_return(
            south, rma.id, warehouse_id=w.wh1["id"], accepted={line["id"]: 2}, now=NOW
        )
    assert [e.field for e in refused.value.errors] == ["warehouse"]
    done = await returns.receive_return(
        south, rma.id, warehouse_id=w.wh2["id"], accepted={line["id"]: 2}, now=NOW
    )
    assert done.status == "received"
