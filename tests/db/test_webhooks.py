"""Webhooks on both engines: the trigger writes one delivery per subscribed active endpoint in
the change's own transaction; the sender signs, delivers to a real HTTP receiver, retries a
receiver that is down or failing, gives up after MAX_ATTEMPTS, and never sends a delivery
twice when two senders run at once. Endpoints are for administrators only."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from portal import webhooks as sender
from portal.db import write_transaction
from portal.domain import returns, shipments, webhooks
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.orders import LineRequest
from portal.tables import AuditEntry, OrderEvent, WebhookDelivery, WebhookEndpoint
from tests import factories as f
from tests.db.test_orders import NOW, submit, world
from tests.webhook_receiver import Receiver, free_port


async def admin():
    return f.actor(await f.user("admin"))


async def endpoint(actor, url: str, events=(), active=True) -> webhooks.Saved:
    return await webhooks.save_endpoint(
        actor, None, webhooks.EndpointInput(url=url, events=tuple(events), active=active), now=NOW
    )


async def deliveries(endpoint_id: int) -> list[dict]:
    return (
        await WebhookDelivery.select()
        .where(WebhookDelivery.endpoint == endpoint_id)
        .order_by(WebhookDelivery.id)
    )


async def test_each_event_is_owed_to_each_subscribed_active_endpoint(db):
    boss = await admin()
    everything = await endpoint(boss, "https://erp.example.com/all")
    approved = await endpoint(boss, "https://erp.example.com/approved", ["order.approved"])
    shipped = await endpoint(boss, "https://erp.example.com/shipped", ["shipment.shipped"])
    off = await endpoint(boss, "https://erp.example.com/off", active=False)
    w = await world()
    await submit(w, [LineRequest(qty=2, sku_code="A100")])  # no rules: submitted, approved

    assert [d["event_type"] for d in await deliveries(everything.endpoint["id"])] == [
        "order.submitted",
        "order.approved",
    ]
    assert [d["event_type"] for d in await deliveries(approved.endpoint["id"])] == [
        "order.approved"
    ]
    assert await deliveries(shipped.endpoint["id"]) == []
    assert await deliveries(off.endpoint["id"]) == []
    first = (await deliveries(everything.endpoint["id"]))[0]
    assert first["status"] == "pending" and first["attempts"] == 0


async def test_a_rolled_back_change_owes_nothing(db):
    await endpoint(await admin(), "https://erp.example.com/all")
    w = await world()
    order_id = (await submit(w, [LineRequest(qty=2, sku_code="A100")])).order.id
    before = await WebhookDelivery.count()
    with pytest.raises(RuntimeError):
        async with write_transaction():
            await OrderEvent.insert(
                OrderEvent(
                    order=order_id,
                    at=NOW,
                    kind="adjusted",
                    from_status="approved",
                    to_status="approved",
                    note="",
                )
            )
            assert await WebhookDelivery.count() == before + 1  # written with the event
            raise RuntimeError("the change fails after its event")
    assert await WebhookDelivery.count() == before


async def test_sent_signed_and_marked_delivered(db):
    receiver = await Receiver(free_port()).start()
    try:
        saved = await endpoint(await admin(), receiver.url, ["order.submitted"])
        w = await world()
        order = (await submit(w, [LineRequest(qty=2, sku_code="A100")])).order
        assert await sender.send_due(now=NOW + timedelta(seconds=1)) == 1
    finally:
        await receiver.stop()
    [got] = receiver.requests
    assert got.path == "/hooks/portal"
    assert got.headers["x-portal-event"] == "order.submitted"
    assert webhooks.verify(
        saved.secret, got.headers["x-portal-timestamp"], got.body, got.headers["x-portal-signature"]
    )
    assert not webhooks.verify(
        "whsec_wrong",
        got.headers["x-portal-timestamp"],
        got.body,
        got.headers["x-portal-signature"],
    )
    document = json.loads(got.body)
    assert document["type"] == "order.submitted"
    assert document["data"]["order"]["number"] == order.number
    assert document["data"]["order"]["dealer_id"] == w.dealer["id"]
    assert document["data"]["to_status"] == "pending_approval"
    assert document["created_at"].startswith("2026-11-25T02:00:00")
    [row] = await deliveries(saved.endpoint["id"])
    assert row["status"] == "delivered" and row["attempts"] == 1 and row["last_status"] == 200
    assert str(row["id"]) == got.headers["x-portal-delivery"]
    assert await sender.send_due(now=NOW + timedelta(hours=5)) == 0  # never sent again


async def test_a_receiver_that_is_down_gets_it_later_once(db):
    port = free_port()
    saved = await endpoint(await admin(), f"http://127.0.0.1:{port}/hook", ["order.approved"])
    w = await world()
    await submit(w, [LineRequest(qty=2, sku_code="A100")])
    later = NOW + timedelta(seconds=1)
    assert await sender.send_due(now=later) == 0  # connection refused
    [row] = await deliveries(saved.endpoint["id"])
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]
    assert row["next_attempt_at"] == later + timedelta(seconds=30)
    assert await sender.send_due(now=later + timedelta(seconds=10)) == 0  # not due yet
    receiver = await Receiver(port).start()
    try:
        assert await sender.send_due(now=later + timedelta(seconds=31)) == 1
        assert await sender.send_due(now=later + timedelta(hours=1)) == 0
    finally:
        await receiver.stop()
    assert len(receiver.requests) == 1
    [row] = await deliveries(saved.endpoint["id"])
    assert row["status"] == "delivered" and row["attempts"] == 2 and row["last_error"] == ""


async def test_failing_answers_are_retried_then_given_up_and_can_be_sent_again(db):
    receiver = await Receiver(free_port(), status=500).start()
    boss = await admin()
    try:
        saved = await endpoint(boss, receiver.url, ["order.approved"])
        w = await world()
        await submit(w, [LineRequest(qty=2, sku_code="A100")])
        moment = NOW
        for _ in range(sender.MAX_ATTEMPTS):
            moment += timedelta(hours=2)
            assert await sender.send_due(now=moment) == 0
        [row] = await deliveries(saved.endpoint["id"])
        assert row["status"] == "failed" and row["attempts"] == sender.MAX_ATTEMPTS
        assert row["last_status"] == 500 and row["last_error"].startswith("HTTP 500")
        assert await sender.send_due(now=moment + timedelta(days=1)) == 0  # given up
        assert len(receiver.requests) == sender.MAX_ATTEMPTS

        receiver.status = 204
        await webhooks.retry_delivery(boss, row["id"], now=moment)
        assert await sender.send_due(now=moment) == 1
    finally:
        await receiver.stop()
    [row] = await deliveries(saved.endpoint["id"])
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert await AuditEntry.count().where(AuditEntry.action == "webhook.delivery_retried") == 1


async def test_two_senders_at_once_send_each_delivery_once(db):
    receiver = await Receiver(free_port()).start()
    try:
        await endpoint(await admin(), receiver.url)
        w = await world()
        for key in ("a", "b", "c"):
            await submit(w, [LineRequest(qty=2, sku_code="A100")], key=key)
        sent = await asyncio.gather(*[sender.send_due(now=NOW) for _ in range(3)])
    finally:
        await receiver.stop()
    assert sum(sent) == 6 == len(receiver.requests)  # 3 orders × submitted, approved
    ids = [r.headers["x-portal-delivery"] for r in receiver.requests]
    assert len(set(ids)) == 6


async def test_an_inactive_endpoint_is_not_sent_to(db):
    receiver = await Receiver(free_port()).start()
    boss = await admin()
    try:
        saved = await endpoint(boss, receiver.url)
        w = await world()
        await submit(w, [LineRequest(qty=2, sku_code="A100")])
        await webhooks.save_endpoint(
            boss,
            saved.endpoint["id"],
            webhooks.EndpointInput(url=receiver.url, active=False),
            now=NOW,
        )
        assert await sender.send_due(now=NOW) == 0
    finally:
        await receiver.stop()
    assert receiver.requests == []
    assert {d["status"] for d in await deliveries(saved.endpoint["id"])} == {"pending"}


async def test_endpoints_are_for_administrators_and_secrets_show_once(db):
    boss = await admin()
    w = await world()
    with pytest.raises(Forbidden):
        await webhooks.list_endpoints(w.buyer)
    with pytest.raises(Forbidden):
        await endpoint(w.buyer, "https://erp.example.com/x")
    finance = f.actor(await f.user("finance"))
    with pytest.raises(Forbidden):
        await webhooks.get_endpoint(finance, 1)

    saved = await endpoint(boss, "https://erp.example.com/x", ["order.approved", "order.rejected"])
    assert saved.secret and saved.secret.startswith("whsec_")
    assert "secret" not in saved.endpoint
    assert saved.endpoint["events"] == ["order.approved", "order.rejected"]
    listed = await webhooks.list_endpoints(boss)
    assert [e["id"] for e in listed] == [saved.endpoint["id"]]
    assert "secret" not in listed[0] and saved.secret not in repr(listed)
    new = await webhooks.rotate_secret(boss, saved.endpoint["id"], now=NOW)
    stored = await WebhookEndpoint.select(WebhookEndpoint.secret).first()
    assert new != saved.secret and stored["secret"] == new
    entries = (
        await AuditEntry.select()
        .where(AuditEntry.entity == "webhook_endpoint")
        .order_by(AuditEntry.id)
    )
    assert [e["action"] for e in entries] == ["webhook.saved", "webhook.secret_rotated"]
    assert saved.secret not in repr(entries) and new not in repr(entries)
    with pytest.raises(NotFound):
        await webhooks.get_endpoint(boss, 999)
    with pytest.raises(NotFound):
        await webhooks.rotate_secret(boss, 999, now=NOW)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (webhooks.EndpointInput(url=""), "url"),
        (webhooks.EndpointInput(url="ftp://erp.example.com/x"), "url"),
        (webhooks.EndpointInput(url="https:///nohost"), "url"),
        (webhooks.EndpointInput(url="https://erp.example.com/a b"), "url"),
        (webhooks.EndpointInput(url="https://e.com/" + "x" * 500), "url"),
        (webhooks.EndpointInput(url="https://e.com/", description="长" * 101), "description"),
        (webhooks.EndpointInput(url="https://e.com/", events=("order.exploded",)), "events"),
    ],
)
async def test_bad_endpoints_are_refused_and_nothing_is_written(db, data, field):
    boss = await admin()
    with pytest.raises(ValidationFailed) as refused:
        await webhooks.save_endpoint(boss, None, data, now=NOW)
    assert [e.field for e in refused.value.errors] == [field]
    assert await WebhookEndpoint.count() == 0
    assert await AuditEntry.count() == 0


async def test_removing_an_endpoint_drops_what_it_was_owed(db):
    boss = await admin()
    saved = await endpoint(boss, "https://erp.example.com/all")
    kept = await endpoint(boss, "https://erp.example.com/kept")
    w = await world()
    await submit(w, [LineRequest(qty=2, sku_code="A100")])
    with pytest.raises(Forbidden):
        await webhooks.delete_endpoint(w.buyer, saved.endpoint["id"])
    await webhooks.delete_endpoint(boss, saved.endpoint["id"], now=NOW)
    assert [e["id"] for e in await webhooks.list_endpoints(boss)] == [kept.endpoint["id"]]
    assert await deliveries(saved.endpoint["id"]) == []
    assert len(await deliveries(kept.endpoint["id"])) == 2
    assert await AuditEntry.count().where(AuditEntry.action == "webhook.deleted") == 1
    with pytest.raises(NotFound):
        await webhooks.delete_endpoint(boss, saved.endpoint["id"], now=NOW)


async def test_shipment_events_name_the_shipment_and_its_tracking(db):
    from tests.db.test_shipments import approved_order, fulfil_world

    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    created = await shipments.create_shipment(
        w.clerk,
        o["id"],
        warehouse_id=w.wh1["id"],
        quantities={o["lines"][0]["id"]: 10},
        carrier="顺丰",
        now=NOW,
    )
    sh = created.shipment
    await shipments.ship(w.clerk, sh.id, carrier="京东", tracking_no="JD42", now=NOW)
    events = (
        await OrderEvent.select().where(OrderEvent.kind.like("shipment_%")).order_by(OrderEvent.id)
    )
    found = await webhooks.events_by_id([e["id"] for e in events])
    packed, shipped = (
        json.loads(webhooks.body(found[e["id"]], "shipment." + e["kind"][9:]))["data"]
        for e in events
    )
    expected = {
        "id": sh.id,
        "number": sh.number,
        "warehouse_id": w.wh1["id"],
        "api": f"/api/v1/shipments/{sh.id}",
    }
    # While packed the carrier may still change: the packed event leaves it out, so every
    # attempt at it sends the same bytes.
    assert packed["shipment"] == expected
    assert shipped["shipment"] == {**expected, "carrier": "京东", "tracking_no": "JD42"}
    assert shipped["order"]["id"] == o["id"]

    rma = await returns.request_return(
        w.buyer, o["id"], quantities={o["lines"][0]["id"]: 2}, reason="破损", now=NOW
    )
    [event] = await OrderEvent.select().where(OrderEvent.kind == "return_requested")
    found = await webhooks.events_by_id([event["id"]])
    data = json.loads(webhooks.body(found[event["id"]], "return.requested"))["data"]
    assert data["return"] == {
        "id": rma.id,
        "number": rma.number,
        "api": f"/api/v1/returns/{rma.id}",
    }
    assert "shipment" not in data
