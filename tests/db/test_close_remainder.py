"""Ending a partially shipped order without its rest: stock, backorders, exposure, lines."""

from __future__ import annotations

import pytest

from portal.domain import orders, shipments
from portal.domain.errors import Conflict, Forbidden, ValidationFailed
from portal.tables import AuditEntry, Notification, OrderEvent, OrderLine
from tests.db.test_shipments import (
    NOW,
    approved_order,
    assert_ledger_balanced,
    dealer_row,
    fulfil_world,
    stock_of,
)


async def ship(w, order_id: int, quantities: dict[int, int]):
    created = await shipments.create_shipment(
        w.clerk, order_id, warehouse_id=w.wh1["id"], quantities=quantities, now=NOW
    )
    return await shipments.ship(w.clerk, created.shipment.id, now=NOW)


async def test_the_rest_of_a_partly_shipped_order_is_released_and_leaves_the_exposure(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10, qty2=4)  # 10 × ¥2.00 + 4 × ¥10.00 = ¥60.00
    a, b = o["lines"]
    await ship(w, o["id"], {a["id"]: 6})  # ¥12.00 invoiced
    assert await stock_of(w.sku, w.wh1) == (94, 4)
    assert (await dealer_row(w))["open_orders_fen"] == 4800
    with pytest.raises(ValidationFailed):  # a reason is required
        await orders.close_remainder(w.finance, o["id"], " ")
    with pytest.raises(Forbidden):
        await orders.close_remainder(w.buyer, o["id"], "客户不要了")
    # A parcel being packed decides first.
    packed = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={b["id"]: 1}, now=NOW
    )
    with pytest.raises(Conflict):
        await orders.close_remainder(w.finance, o["id"], "客户不要了", now=NOW)
    await shipments.cancel_shipment(w.clerk, packed.shipment.id, now=NOW)

    view = await orders.close_remainder(w.finance, o["id"], "客户不要了", now=NOW)
    assert view.status == "shipped" and view.total_fen == 1200
    assert [(ln.qty, ln.qty_shipped, ln.line_total_fen) for ln in view.lines] == [
        (6, 6, 1200),
        (0, 0, 0),
    ]
    assert await stock_of(w.sku, w.wh1) == (94, 0) and await stock_of(w.sku2, w.wh1) == (100, 0)
    d = await dealer_row(w)
    assert (d["balance_fen"], d["open_orders_fen"]) == (1200, 0)
    await assert_ledger_balanced(w.dealer["id"])
    event = (
        await OrderEvent.select()
        .where((OrderEvent.order == o["id"]) & (OrderEvent.kind == "remainder_closed"))
        .first()
    )
    assert "客户不要了" in event["note"] and "A100: 10 → 6" in event["note"]
    assert await AuditEntry.count().where(AuditEntry.action == "order.remainder_closed") == 1
    told = await Notification.select().where(Notification.kind == "remainder_closed")
    assert w.buyer.user_id in {n["user"] for n in told}
    with pytest.raises(Conflict):  # once
        await orders.close_remainder(w.finance, o["id"], "again", now=NOW)


async def test_only_a_partly_shipped_order_ends_this_way(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    with pytest.raises(Conflict):  # nothing shipped: that is a cancellation
        await orders.close_remainder(w.finance, o["id"], "x", now=NOW)
    assert (await OrderLine.select(OrderLine.qty).first())["qty"] == 10
