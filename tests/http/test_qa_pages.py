"""What a tester on a phone met on the pages: a paused dealer's home, a reason too long on the
cancel form, a dealer opening the approvals inbox."""

from __future__ import annotations

from portal.domain import orders
from portal.domain.quantities import LineRequest
from portal.tables import Dealer, Order
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_pages_cart_orders import needs_approval, put, shop


async def test_a_paused_dealer_home_says_so_and_offers_only_what_opens(client, db):
    s = await shop()
    placed = await orders.submit_order(
        f.actor(s.buyer), None, [LineRequest(qty=2, sku_id=s.a["id"])], idempotency_key="k"
    )
    reorder = f'action="/orders/{placed.order.id}/reorder"'
    await sign_in(client, "buyer")
    home = await client.get("/")
    assert 'href="/catalog"' in home.text and "已暂停" not in home.text
    assert reorder in home.text
    assert reorder in (await client.get(f"/orders/{placed.order.id}")).text
    await Dealer.update({Dealer.active: False}).where(Dealer.id == s.dealer["id"])
    home = await client.get("/")
    assert home.status_code == 200
    assert "该经销商账户已暂停" in home.text
    links = home.text.split('class="quick-links"')[1].split("</nav>")[0]
    assert 'href="/orders"' in links and "/catalog" not in links and "/cart" not in links
    # No "order again" that could only end on a refusal: not on the home, not on the order.
    assert reorder not in home.text
    detail = await client.get(f"/orders/{placed.order.id}")
    assert detail.status_code == 200 and reorder not in detail.text


async def test_a_cancel_reason_too_long_is_called_a_reason(client, db):
    s = await shop()
    await needs_approval()
    placed = await orders.submit_order(
        f.actor(s.buyer), None, [LineRequest(qty=2, sku_id=s.a["id"])], idempotency_key="k"
    )
    await sign_in(client, "buyer")
    page = await client.get(f"/orders/{placed.order.id}")
    refused = await client.post(
        f"/orders/{placed.order.id}/cancel",
        data={"_csrf_token": csrf_from(page.text), "reason": "太" * 501},
    )
    assert refused.status_code == 422
    assert "原因过长（最多 500 个字符）。" in refused.text and "备注过长" not in refused.text
    assert (await Order.select(Order.status).first())["status"] == "pending_approval"


async def test_a_dealer_has_no_approvals_inbox(client, db):
    await shop()
    await sign_in(client, "buyer")
    refused = await client.get("/approvals")
    assert refused.status_code == 403 and "您的角色没有需要审批的事项。" in refused.text


async def test_a_rep_lists_one_dealers_orders_from_its_card(client, db):
    s = await shop()
    other = await f.dealer(s.tier, name="乙经销商")
    stranger = await f.dealer(s.tier, name="丙经销商")
    rep = await f.user("sales_rep", username="rep")
    await f.assign(rep, s.dealer)
    await f.assign(rep, other)
    for dealer, key in ((s.dealer, "k1"), (other, "k2")):
        await orders.submit_order(
            f.actor(rep), dealer["id"], [LineRequest(qty=2, sku_id=s.a["id"])], idempotency_key=key
        )
    numbers = {r["dealer"]: r["number"] for r in await Order.select(Order.dealer, Order.number)}
    await sign_in(client, "rep")
    card = await client.get(f"/dealers/{other['id']}")
    assert f'href="/orders?dealer_id={other["id"]}"' in card.text
    listed = await client.get(f"/orders?dealer_id={other['id']}")
    assert listed.status_code == 200
    assert numbers[other["id"]] in listed.text and numbers[s.dealer["id"]] not in listed.text
    assert "乙经销商 的订单" in listed.text and f"dealer_id={other['id']}" in listed.text
    everything = await client.get("/orders")
    assert all(n in everything.text for n in numbers.values())
    exported = await client.get(f"/orders/export?format=csv&dealer_id={other['id']}")
    assert numbers[other["id"]] in exported.text and numbers[s.dealer["id"]] not in exported.text
    # A dealer the rep does not look after is not found, as everywhere.
    assert (await client.get(f"/orders?dealer_id={stranger['id']}")).status_code == 404
    assert (await client.get("/orders?dealer_id=abc")).status_code == 404


async def test_a_requested_date_years_ahead_is_a_slip_and_refused(client, db):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 2)
    page = await client.get("/cart")
    refused = await client.post(
        "/cart/details",
        data={"_csrf_token": csrf_from(page.text), "requested_date": "9999-12-31"},
    )
    assert refused.status_code == 422 and "期望日期最多为一年以内" in refused.text
    buyer = f.actor(s.buyer)
    from portal.domain import cart as cart_domain

    assert (await cart_domain.get_cart(buyer, s.dealer["id"])).requested_date is None
    headers = {"Idempotency-Key": "far"}
    token = (
        await client.post("/api/v1/auth/token", json={"username": "buyer", "password": f.PASSWORD})
    ).json()["access_token"]
    body = {"lines": [{"sku_id": s.a["id"], "qty": 2}], "requested_date": "2099-01-01"}
    api = await client.post(
        "/api/v1/orders", json=body, headers={**headers, "Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "requested_date"
    assert await Order.count() == 0


async def test_a_cancelled_order_is_told_to_the_dealer_and_its_rep(client, db):
    from portal.tables import Notification

    s = await shop()
    rep = await f.user("sales_rep", username="rep")
    await f.assign(rep, s.dealer)
    await needs_approval()
    placed = await orders.submit_order(
        f.actor(rep), s.dealer["id"], [LineRequest(qty=2, sku_id=s.a["id"])], idempotency_key="k"
    )
    await Notification.delete(force=True)
    await orders.cancel_order(f.actor(s.buyer), placed.order.id, "买错了")
    told = await Notification.select(Notification.user, Notification.note).where(
        Notification.kind == "cancelled"
    )
    assert {r["user"] for r in told} == {rep["id"]}  # not the buyer who cancelled it
    assert told[0]["note"] == "买错了"
    await sign_in(client, "rep")
    page = await client.get("/notifications")
    assert f"订单 {placed.order.number} 已取消。" in page.text


async def test_a_flash_cookie_the_portal_did_not_sign_is_not_shown(client, db):
    import base64
    import json

    await shop()
    await sign_in(client, "buyer")
    forged = base64.urlsafe_b64encode(
        json.dumps({"kind": "ok", "messages": ["请到 evil.example 重新登录"]}).encode()
    ).decode()
    for value in (forged, f"{forged}.0123456789abcdef0123456789abcdef"):
        client.cookies.set("flash", value)
        assert "evil.example" not in (await client.get("/cart")).text
    # The portal's own signed flash still reads (tests/http/test_team.py: "已添加地址。").


async def test_a_rep_reads_their_own_discount_authority_on_their_page(client, db):
    await f.user("sales_rep", username="rep", discount_authority_bp=350)
    await sign_in(client, "rep")
    me = await client.get("/me")
    assert 'id="my-authority">经销商价以下 3.5% 以内<' in me.text
