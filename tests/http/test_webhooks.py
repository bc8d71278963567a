"""Webhooks through the pages and the API: an administrator adds a receiver, an order placed
through the API reaches it signed, a failed delivery is sent again from its page; nobody
else may see or change webhooks."""

from __future__ import annotations

import json
import re

import pytest

from portal import webhooks as sender
from portal.domain import webhooks
from portal.tables import WebhookDelivery, WebhookEndpoint
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer
from tests.webhook_receiver import Receiver, free_port

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def shop(db):
    wh = await f.warehouse()
    tier = await f.tier()
    dealer = await f.dealer(tier, default_warehouse=wh)
    sku = await f.sku(code="A100", name="农夫山泉 550ml", base_price_fen=200)
    await f.stock(sku, wh, 100)
    return {
        "dealer": dealer,
        "sku": sku,
        "admin": await f.user("admin", username="root"),
        "buyer": await f.user("dealer_buyer", dealer, username="buyer"),
        "finance": await f.user("finance", username="money"),
    }


async def post_form(client, url: str, data: dict, **kw):
    csrf = csrf_from((await client.get("/me")).text)
    return await client.post(
        url, data={**data, "_csrf_token": csrf}, headers={"x-csrftoken": csrf, **ZH}, **kw
    )


def shown_secret(html: str) -> str:
    match = re.search(r'id="wh-secret"[^>]*value="(whsec_[0-9a-f]+)"', html)
    assert match, "no secret on the page"
    return match.group(1)


async def test_admin_adds_a_webhook_on_the_phone_and_sees_the_secret_once(client, shop):
    assert (await sign_in(client, "root")).status_code == 303
    me = await client.get("/me", headers=ZH)
    assert 'href="/admin/webhooks"' in me.text and 'href="/admin/approval-rules"' in me.text
    bad = await post_form(client, "/admin/webhooks", {"url": "ftp://erp", "active": "1"})
    assert bad.status_code == 422 and "请输入 http:// 或 https:// 开头的地址" in bad.text
    assert await WebhookEndpoint.count() == 0

    added = await post_form(
        client,
        "/admin/webhooks",
        {
            "url": "https://erp.example.com/hooks/portal",
            "description": "金蝶 ERP",
            "events": ["order.approved", "shipment.shipped"],
            "active": "1",
        },
    )
    assert added.status_code == 201 and "已添加 Webhook" in added.text
    secret = shown_secret(added.text)
    stored = await WebhookEndpoint.select().first()
    assert stored["secret"] == secret and stored["events"] == ",order.approved,shipment.shipped,"

    listing = await client.get("/admin/webhooks", headers=ZH)
    edit = await client.get(f"/admin/webhooks/{stored['id']}", headers=ZH)
    for page in (listing, edit):
        assert page.status_code == 200 and "金蝶 ERP" in page.text and secret not in page.text
    assert 'value="order.approved" checked' in edit.text
    assert 'value="order.rejected" checked' not in edit.text

    saved = await post_form(
        client,
        f"/admin/webhooks/{stored['id']}",
        {"url": "https://erp.example.com/v2", "description": "金蝶 ERP", "active": "1"},
    )
    assert saved.status_code == 200 and "已保存" in saved.text
    after = await WebhookEndpoint.select().first()
    assert after["url"] == "https://erp.example.com/v2" and after["events"] == "*"

    rotated = await post_form(client, f"/admin/webhooks/{stored['id']}/secret", {})
    assert rotated.status_code == 200 and "新的签名密钥" in rotated.text
    new = shown_secret(rotated.text)
    assert new != secret and (await WebhookEndpoint.select().first())["secret"] == new


async def test_an_order_placed_through_the_api_reaches_the_receiver_signed(client, shop):
    receiver = await Receiver(free_port()).start()
    try:
        admin = await bearer(client, "root")
        made = await client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["order.submitted", "order.approved"]},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        hook = made.json()
        assert hook["secret"].startswith("whsec_") and hook["events"] == [
            "order.approved",
            "order.submitted",
        ]
        fetched = await client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin)
        assert "secret" not in fetched.json()

        buyer = await bearer(client, "buyer")
        order = await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": shop["sku"]["id"], "qty": 3}]},
            headers={**buyer, "Idempotency-Key": "wh-1"},
        )
        assert order.status_code == 201, order.text
        assert await sender.send_due() == 2
    finally:
        await receiver.stop()
    types = [r.headers["x-portal-event"] for r in receiver.requests]
    assert types == ["order.submitted", "order.approved"]
    for got in receiver.requests:
        assert webhooks.verify(
            hook["secret"],
            got.headers["x-portal-timestamp"],
            got.body,
            got.headers["x-portal-signature"],
        )
        assert json.loads(got.body)["data"]["order"]["number"] == order.json()["number"]

    listed = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin)
    assert listed.status_code == 200
    assert [(d["event_type"], d["status"]) for d in listed.json()] == [
        ("order.approved", "delivered"),
        ("order.submitted", "delivered"),
    ]
    assert listed.json()[0]["order_number"] == order.json()["number"]
    pending = await client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", params={"status": "pending"}, headers=admin
    )
    assert pending.json() == []


async def test_a_failed_delivery_is_sent_again_from_its_page(client, shop):
    port = free_port()  # nothing listens: every attempt fails
    admin_actor = f.actor(shop["admin"])
    saved = await webhooks.save_endpoint(
        admin_actor, None, webhooks.EndpointInput(url=f"http://127.0.0.1:{port}/h")
    )
    buyer = await bearer(client, "buyer")
    await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": shop["sku"]["id"], "qty": 1}]},
        headers={**buyer, "Idempotency-Key": "wh-2"},
    )
    assert await sender.send_due() == 0
    await WebhookDelivery.update({WebhookDelivery.status: "failed"}).where(WebhookDelivery.id > 0)
    await sign_in(client, "root")
    page = await client.get(f"/admin/webhooks/{saved.endpoint['id']}", headers=ZH)
    assert "已放弃" in page.text and "重新发送" in page.text
    first = await WebhookDelivery.select().order_by(WebhookDelivery.id).first()
    again = await post_form(client, f"/admin/webhooks/deliveries/{first['id']}/retry", {})
    assert again.status_code == 200 and "将在几秒内重新发送" in again.text
    row = await WebhookDelivery.select().where(WebhookDelivery.id == first["id"]).first()
    assert row["status"] == "pending" and row["attempts"] == 0


async def test_only_administrators_see_or_change_webhooks(client, shop):
    saved = await webhooks.save_endpoint(
        f.actor(shop["admin"]), None, webhooks.EndpointInput(url="https://erp.example.com/h")
    )
    hook_id = saved.endpoint["id"]
    for username in ("buyer", "money"):
        headers = await bearer(client, username)
        assert_problem(await client.get("/api/v1/webhooks", headers=headers), 403, "forbidden")
        assert_problem(
            await client.post(
                "/api/v1/webhooks", json={"url": "https://evil.example.com"}, headers=headers
            ),
            403,
            "forbidden",
        )
        assert_problem(
            await client.post(f"/api/v1/webhooks/{hook_id}/secret", headers=headers),
            403,
            "forbidden",
        )
    await sign_in(client, "buyer")
    assert (await client.get("/admin/webhooks")).status_code == 403
    assert (await WebhookEndpoint.select().first())["secret"] == saved.secret
    assert await WebhookEndpoint.count() == 1

    admin = await bearer(client, "root")
    assert_problem(await client.get("/api/v1/webhooks/999", headers=admin), 404, "not-found")
    assert_problem(
        await client.post("/api/v1/webhooks/deliveries/999/retry", headers=admin),
        404,
        "not-found",
    )
    refused = await client.put(
        f"/api/v1/webhooks/{hook_id}",
        json={"url": "javascript:alert(1)"},
        headers={**admin, **ZH},
    )
    body = assert_problem(refused, 422, "validation")
    assert "url" in json.dumps(body)
    unknown = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://erp.example.com/x", "events": ["order.exploded"]},
        headers=admin,
    )
    assert unknown.status_code == 400
    assert await WebhookEndpoint.count() == 1


async def test_an_administrator_sends_a_signed_test_and_sees_how_it_went(client, shop):
    """From the endpoint's page and through the API: a signed ping reaches the receiver even
    while the webhook is paused; a receiver that answers 500, or none at all, is reported as
    not reached; nothing is written to the deliveries either way."""
    receiver = await Receiver(free_port()).start()
    try:
        saved = await webhooks.save_endpoint(
            f.actor(shop["admin"]),
            None,
            webhooks.EndpointInput(url=receiver.url, events=("order.approved",), active=False),
        )
        hook_id = saved.endpoint["id"]
        await sign_in(client, "root")
        page = await client.get(f"/admin/webhooks/{hook_id}", headers=ZH)
        assert "发送测试" in page.text
        sent = await post_form(client, f"/admin/webhooks/{hook_id}/test", {})
        assert sent.status_code == 200 and "测试已送达：HTTP 200。" in sent.text

        receiver.status = 500
        admin = await bearer(client, "root")
        failed = await client.post(f"/api/v1/webhooks/{hook_id}/test", headers=admin)
        assert failed.status_code == 200
        assert failed.json()["delivered"] is False and failed.json()["status"] == 500
        assert failed.json()["error"].startswith("HTTP 500")
    finally:
        await receiver.stop()
    nobody = await client.post(f"/api/v1/webhooks/{hook_id}/test", headers=admin)
    assert nobody.json()["delivered"] is False and nobody.json()["status"] is None
    shown = await post_form(client, f"/admin/webhooks/{hook_id}/test", {})
    assert "测试未送达：" in shown.text

    assert len(receiver.requests) == 2  # the page's test and the API's (answered 500)
    got = receiver.requests[0]
    assert got.headers["x-portal-event"] == "ping"
    assert got.headers["x-portal-delivery"].startswith("test-")
    assert webhooks.verify(
        saved.secret, got.headers["x-portal-timestamp"], got.body, got.headers["x-portal-signature"]
    )
    ping = json.loads(got.body)
    assert ping["type"] == "ping" and ping["data"] == {
        "endpoint_id": hook_id,
        "events": ["order.approved"],
    }
    assert await WebhookDelivery.count() == 0

    for username in ("buyer", "money"):
        headers = await bearer(client, username)
        assert_problem(
            await client.post(f"/api/v1/webhooks/{hook_id}/test", headers=headers),
            403,
            "forbidden",
        )
    assert_problem(await client.post("/api/v1/webhooks/999/test", headers=admin), 404, "not-found")
    assert len(receiver.requests) == 2


async def test_the_api_lists_the_event_types_to_subscribe_to(client, shop):
    from portal.domain import webhooks as domain_webhooks
    from tests.http.test_api_auth import EN, bearer

    root = {**await bearer(client, "root"), **EN}
    listed = await client.get("/api/v1/webhooks/events", headers=root)
    assert listed.status_code == 200
    types = {e["type"]: e["label"] for e in listed.json()}
    assert set(types) == set(domain_webhooks.EVENT_TYPES)
    assert "order.stock_moved" in types and types["order.approved"].startswith("Order approved")
