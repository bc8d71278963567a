"""Edges the storm found, replayed one at a time on both engines."""

from __future__ import annotations

import random

from portal.domain import orders, shipments
from portal.domain.errors import Conflict
from portal.domain.quantities import LineRequest
from portal.tables import Order, OrderLine, Reservation, Shipment
from tests.stress.test_invariants import SEED, build_world, check_invariants


async def test_cancelling_an_order_leaves_no_packed_shipment(db):
    """An approved order with a packed parcel is cancelled: the parcel must not stay packed.

    Either the cancellation is refused (the warehouse has started on it) or the parcel is
    unpacked with it; a packed parcel of a cancelled order can never ship (found by the storm).
    """
    rng = random.Random(SEED)
    w = await build_world(rng)
    buyer = next(a for a in w.dealer_actors if a.dealer_id == w.rep_dealers[0])
    placed = await orders.submit_order(
        buyer, None, [LineRequest(qty=2, sku_id=w.skus[0]["id"])], idempotency_key="packed"
    )
    assert placed.order.status == "approved"
    line = await OrderLine.select(OrderLine.id).where(OrderLine.order == placed.order.id).first()
    wh = (await Reservation.select().where(Reservation.order_line == line["id"]).first())[
        "warehouse"
    ]
    packed = await shipments.create_shipment(
        w.warehouse, placed.order.id, warehouse_id=wh, quantities={line["id"]: 1}
    )
    try:
        await orders.cancel_order(w.finance, placed.order.id, "不要了")
    except Conflict:
        pass  # refused: the warehouse is packing it
    await check_invariants(w)
    status = (
        await Shipment.select(Shipment.status).where(Shipment.id == packed.shipment.id).first()
    )["status"]
    order_status = (await Order.select(Order.status).where(Order.id == placed.order.id).first())[
        "status"
    ]
    assert (order_status, status) in {("approved", "packed"), ("cancelled", "cancelled")}
