"""Pick lists per warehouse: reserved-not-shipped quantities of queued orders, packs, scope."""

from __future__ import annotations

import pytest

from portal.domain import orders, picking, shipments
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import PackUnit, Warehouse
from tests import factories as f
from tests.db.test_shipments import NOW, approved_order, fulfil_world


async def two_orders_two_warehouses():
    """W1 holds 6 of A100 and 100 of B200; W2 100 of each. Dealer's default is W1.

    Order 1: A100 × 10 (6 at W1, 4 at W2), B200 × 3 (W1).
    Order 2 (another dealer, default W2): A100 × 5 (W2), B200 × 30 (W2).
    """
    w = await fulfil_world(on_hand1=6, on_hand2=100)
    await Warehouse.update({Warehouse.priority: 1}).where(Warehouse.id == w.wh1["id"])
    await f.stock(await f.sku(code="C300", pack=None), w.wh1, 50)  # not ordered: never listed
    await PackUnit.insert(PackUnit(sku=w.sku["id"], name="箱", factor=4))
    o1 = await approved_order(w, qty=10, qty2=3, key="p1")
    other = await f.dealer(w.tier, default_warehouse=w.wh2, name="乙经销商")
    buyer2 = f.actor(await f.user("dealer_buyer", other))
    r2 = await orders.submit_order(
        buyer2,
        None,
        [LineRequest(qty=5, sku_id=w.sku["id"]), LineRequest(qty=30, sku_id=w.sku2["id"])],
        idempotency_key="p2",
        now=NOW,
    )
    assert r2.order.status == "approved"
    return w, o1, r2.order.id


def by_code(plist: picking.PickList) -> dict[str, picking.PickLine]:
    return {line.sku_code: line for line in plist.lines}


async def test_pick_list_per_warehouse_and_partial_shipment(db):
    w, o1, o2 = await two_orders_two_warehouses()
    w1 = await picking.pick_list(w.clerk, w.wh1["id"])
    lines = by_code(w1)
    assert set(lines) == {"A100", "B200"}
    assert lines["A100"].qty == 6 and [(p.order_id, p.qty) for p in lines["A100"].orders] == [
        (o1["id"], 6)
    ]
    # Packs: 6 bottles = 1 箱 of 4 + 2 loose; B200 has no pack.
    assert (lines["A100"].pack_name, lines["A100"].full_packs, lines["A100"].loose) == ("箱", 1, 2)
    assert lines["B200"].qty == 3 and lines["B200"].pack_factor is None and lines["B200"].loose == 3
    assert [o.order_id for o in w1.orders] == [o1["id"]] and w1.total_qty == 9

    w2 = await picking.pick_list(w.clerk, w.wh2["id"])
    lines = by_code(w2)
    assert lines["A100"].qty == 4 + 5
    assert [(p.order_id, p.qty) for p in lines["A100"].orders] == [(o1["id"], 4), (o2, 5)]
    assert lines["B200"].qty == 30
    assert [o.order_id for o in w2.orders] == [o1["id"], o2]  # oldest first

    # Only the chosen order.
    only2 = await picking.pick_list(w.clerk, w.wh2["id"], [o2])
    assert {ln.sku_code: ln.qty for ln in only2.lines} == {"A100": 5, "B200": 30}

    # A partial shipment from W2 (A100 × 3 of order 2) reduces that warehouse's pick.
    line_a = next(
        ln
        for ln in (await shipments.shipment_plan(w.clerk, o2, w.wh2["id"])).lines
        if ln.sku_code == "A100"
    )
    created = await shipments.create_shipment(
        w.clerk, o2, warehouse_id=w.wh2["id"], quantities={line_a.order_line_id: 3}, now=NOW
    )
    # Packed: already picked, so off the list even before it ships.
    assert by_code(await picking.pick_list(w.clerk, w.wh2["id"]))["A100"].qty == 4 + 2
    await shipments.ship(w.clerk, created.shipment.id, now=NOW)
    after = by_code(await picking.pick_list(w.clerk, w.wh2["id"]))
    assert after["A100"].qty == 4 + 2 and after["B200"].qty == 30
    assert [(p.order_id, p.qty) for p in after["A100"].orders] == [(o1["id"], 4), (o2, 2)]
    # W1 is untouched by W2's shipment.
    assert by_code(await picking.pick_list(w.clerk, w.wh1["id"]))["A100"].qty == 6


async def test_shipped_and_cancelled_orders_leave_the_list(db):
    w, o1, o2 = await two_orders_two_warehouses()
    plan = await shipments.shipment_plan(w.clerk, o1["id"], w.wh1["id"])
    created = await shipments.create_shipment(
        w.clerk,
        o1["id"],
        warehouse_id=w.wh1["id"],
        quantities={ln.order_line_id: ln.suggested for ln in plan.lines},
        now=NOW,
    )
    await shipments.ship(w.clerk, created.shipment.id, now=NOW)
    assert (await picking.pick_list(w.clerk, w.wh1["id"])).lines == []
    # Order 1's remaining 4 of A100 are still reserved at W2.
    assert by_code(await picking.pick_list(w.clerk, w.wh2["id"], [o1["id"]]))["A100"].qty == 4
    # Cancelling order 2 releases its reservations: off the list.
    await orders.cancel_order(f.actor(await f.user("admin")), o2, now=NOW)
    assert [o.order_id for o in (await picking.pick_list(w.clerk, w.wh2["id"])).orders] == [
        o1["id"]
    ]


async def test_default_warehouse_scope_and_roles(db):
    w, o1, o2 = await two_orders_two_warehouses()
    first = await picking.pick_list(w.clerk)  # the first active warehouse by priority
    assert first.warehouse["id"] == w.wh1["id"]
    admin = f.actor(await f.user("admin"))
    assert (await picking.pick_list(admin, w.wh2["id"])).total_qty == 39
    with pytest.raises(NotFound):
        await picking.pick_list(w.clerk, 987_654)
    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == w.wh2["id"])
    with pytest.raises(NotFound):
        await picking.pick_list(w.clerk, w.wh2["id"])
    for role_actor in (w.buyer, w.finance, f.actor(await f.user("sales_rep"))):
        with pytest.raises(Forbidden):
            await picking.pick_list(role_actor, w.wh1["id"])
    # Unknown order ids are simply not on the list; too many ids are refused.
    assert (await picking.pick_list(w.clerk, w.wh1["id"], [987_654])).lines == []
    with pytest.raises(ValidationFailed):
        await picking.pick_list(w.clerk, w.wh1["id"], list(range(1, 500)))
