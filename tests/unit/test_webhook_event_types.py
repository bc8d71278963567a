"""Every kind of order-timeline event becomes a webhook event a receiver can subscribe to
(the outbox trigger names it order.<kind>, shipment.<kind> or return.<kind>): an event sent
that no one can choose, such as order.stock_moved was, is an undocumented surprise."""

from __future__ import annotations

from portal.domain import orders, returns, shipments, webhooks


def event_type(kind: str) -> str:
    """The outbox trigger's CASE (migration 2026-11-25T14:00:09), in Python."""
    if kind == "auto_approved":
        return "order.approved"
    if kind in ("shipment_auto_received", "shipment_discrepancy"):
        return "shipment.received"
    if kind.startswith("shipment_"):
        return "shipment." + kind[len("shipment_") :]
    if kind.startswith("return_"):
        return "return." + kind[len("return_") :]
    return "order." + kind


def test_every_timeline_kind_is_a_subscribable_event():
    kinds = set(orders.EVENT_LABELS) | set(shipments.EVENT_LABELS) | set(returns.EVENT_LABELS)
    assert "stock_moved" in kinds
    unknown = sorted(event_type(k) for k in kinds if event_type(k) not in webhooks.EVENT_TYPES)
    assert unknown == []
