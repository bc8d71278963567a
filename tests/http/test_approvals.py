"""Approval pages and API: inbox, one-tap approve, reject sheet, return, bulk, badge, scope,
the rep's discount field, the dealer card, admin rules and the API's problem+json."""

from __future__ import annotations

import re

import pytest

from portal.domain import approvals, orders
from portal.domain.quantities import LineRequest
from portal.tables import ApprovalRule, ApprovalStep, CartLine, Order, StockLevel, User
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

NOW_RULE = {"kind": "total_at_least", "approver_role": "sales_manager", "amount": "1"}


@pytest.fixture
async def world(db) -> dict:
    t1 = await f.tier(name="一级经销商")
    wh = await f.warehouse()
    a = await f.dealer(t1, name="甲经销商", default_warehouse=wh)
    b = await f.dealer(t1, name="乙经销商", default_warehouse=wh)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=200)
    await f.tier_price(t1, water, price_fen=180)
    await f.stock(water, wh, on_hand=1000)
    buyer = await f.user("dealer_buyer", a, username="buyer_a")
    mgr = await f.user("sales_manager", username="mgr")
    rep = await f.user("sales_rep", username="rep_a", manager=mgr, discount_authority_bp=500)
    await f.assign(rep, a)
    other_mgr = await f.user("sales_manager", username="mgr_b")
    rep_b = await f.user("sales_rep", username="rep_b", manager=other_mgr)
    await f.assign(rep_b, b)
    await f.user("finance", username="fin")
    await f.user("admin", username="root")
    await f.approval_rule()
    return {"a": a, "b": b, "water": water, "buyer": f.actor(buyer), "rep": rep}


async def place(world, key="k1", boxes=1) -> orders.OrderView:
    result = await orders.submit_order(
        world["buyer"],
        None,
        [LineRequest(qty=boxes, sku_code="W550", unit="箱")],
        idempotency_key=key,
    )
    return result.order


async def form_post(client, url: str, data: dict | None = None, page: str = "/approvals"):
    html = (await client.get(page)).text
    # A page without a form (an empty inbox): the double-submit cookie is the token.
    token = csrf_from(html) if "_csrf_token" in html else client.cookies["csrftoken"]
    return await client.post(url, data={"_csrf_token": token, **(data or {})})


async def test_inbox_approve_and_badge(client, world):
    order = await place(world)
    await sign_in(client, "mgr")
    inbox = await client.get("/approvals")
    assert inbox.status_code == 200
    assert order.number in inbox.text and "甲经销商" in inbox.text
    badge = await client.get("/approvals/badge", headers={"HX-Request": "true"})
    assert badge.status_code == 200 and badge.text.strip().startswith("1")
    step = await ApprovalStep.select().first()
    done = await form_post(client, f"/approvals/{step['id']}/approve")
    assert done.status_code == 200 and str(done.url).endswith("/approvals")
    assert order.number in done.text  # the flash names the order
    assert (await Order.select(Order.status).first())["status"] == "approved"
    assert (await client.get("/approvals/badge")).text.strip() == ""
    token = csrf_from(inbox.text)
    again = await client.post(f"/approvals/{step['id']}/approve", data={"_csrf_token": token})
    assert again.status_code == 200  # back to the inbox, with the refusal as a flash
    assert "alert-error" in again.text


async def test_reject_sheet_requires_a_reason_and_releases_stock(client, world):
    order = await place(world)
    await sign_in(client, "mgr")
    step = await ApprovalStep.select().first()
    sheet = await client.get(f"/approvals/{step['id']}/reject", headers={"HX-Request": "true"})
    assert sheet.status_code == 200 and "<textarea" in sheet.text and "<html" not in sheet.text
    token = csrf_from(sheet.text)
    refused = await client.post(
        f"/approvals/{step['id']}/reject",
        data={"_csrf_token": token, "reason": " "},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert (await Order.select(Order.status).first())["status"] == "pending_approval"
    ok = await client.post(
        f"/approvals/{step['id']}/reject", data={"_csrf_token": token, "reason": "价格有误"}
    )
    assert ok.status_code == 200
    assert (await Order.select(Order.status).first())["status"] == "rejected"
    assert sum(r["reserved"] for r in await StockLevel.select(StockLevel.reserved)) == 0
    await sign_in(client, "buyer_a")
    detail = await client.get(f"/orders/{order.id}")
    assert "价格有误" in detail.text
    notes = await client.get("/notifications")
    assert order.number in notes.text


async def test_return_then_dealer_resubmits(client, world):
    order = await place(world)
    await sign_in(client, "mgr")
    step = await ApprovalStep.select().first()
    await form_post(client, f"/approvals/{step['id']}/return", {"reason": "请确认数量"})
    assert (await Order.select(Order.status).first())["status"] == "returned"
    await sign_in(client, "buyer_a")
    part = await client.get(f"/orders/{order.id}/approval", headers={"HX-Request": "true"})
    assert "请确认数量" in part.text and "/resubmit" in part.text
    again = await form_post(client, f"/orders/{order.id}/resubmit", page=f"/orders/{order.id}")
    assert again.status_code == 200
    assert (await Order.select(Order.status).first())["status"] == "pending_approval"


async def test_manager_outside_the_team_gets_404(client, world):
    order = await place(world)
    await sign_in(client, "mgr_b")
    assert order.number not in (await client.get("/approvals")).text
    step = await ApprovalStep.select().first()
    refused = await form_post(client, f"/approvals/{step['id']}/approve")
    assert refused.status_code == 404
    assert (await client.get(f"/orders/{order.id}/approval")).status_code == 404
    assert (await Order.select(Order.status).first())["status"] == "pending_approval"


async def test_bulk_approve(client, world):
    await place(world, "a")
    await place(world, "b")
    await sign_in(client, "mgr")
    steps = [s["id"] for s in await ApprovalStep.select()]
    page = await client.get("/approvals")
    token = csrf_from(page.text)
    done = await client.post(
        "/approvals/bulk", data={"_csrf_token": token, "step": [str(s) for s in steps]}
    )
    assert done.status_code == 200
    assert {r["status"] for r in await Order.select(Order.status)} == {"approved"}


async def test_rep_discount_field_and_dealer_card(client, world):
    await sign_in(client, "rep_a")
    card = await client.get(f"/dealers/{world['a']['id']}")
    assert card.status_code == 200 and "甲经销商" in card.text
    assert (await client.get(f"/dealers/{world['b']['id']}")).status_code == 404
    token = csrf_from(card.text)
    await client.post(f"/dealers/{world['a']['id']}/act", data={"_csrf_token": token})
    await client.post(
        f"/cart/lines/{world['water']['id']}", data={"_csrf_token": token, "qty": "24"}
    )
    cart = await client.get("/cart")
    assert 'name="percent_off"' in cart.text
    bad = await client.post(
        f"/cart/lines/{world['water']['id']}/price",
        data={"_csrf_token": token, "price": "abc"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422
    both = await client.post(
        f"/cart/lines/{world['water']['id']}/price",
        data={"_csrf_token": token, "price": "1.50", "percent_off": "10"},
        headers={"HX-Request": "true"},
    )
    assert both.status_code == 422 and "二者择一" in both.text
    assert (await CartLine.select().first())["unit_price_override_fen"] is None
    # The refused panel stays open with what was typed and the reason beside it (not on the
    # quantity box).
    assert '<details class="price-details" open>' in both.text
    assert 'name="price" inputmode="decimal" autocomplete="off"\n      value="1.50"' in both.text
    assert 'value="10" aria-invalid="true"' in both.text
    assert re.search(r'id="price-err-\d+">[^<]*二者择一', both.text)
    assert 'aria-describedby="line-err-' not in both.text
    plain = await client.post(
        f"/cart/lines/{world['water']['id']}/price",
        data={"_csrf_token": token, "price": "abc"},
    )
    assert plain.status_code == 422 and 'id="price-err-' in plain.text
    ok = await client.post(
        f"/cart/lines/{world['water']['id']}/price",
        data={"_csrf_token": token, "percent_off": "10"},
        headers={"HX-Request": "true"},
    )
    assert ok.status_code == 200 and "¥1.62" in ok.text
    assert (await CartLine.select().first())["unit_price_override_fen"] == 162
    # The price box now shows ¥1.62; a new percentage typed beside it, the price left as
    # shown, is the new discount (5% off ¥1.80).
    assert 'value="1.62"' in ok.text
    again = await client.post(
        f"/cart/lines/{world['water']['id']}/price",
        data={"_csrf_token": token, "price": "1.62", "percent_off": "5"},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 200, again.text
    assert (await CartLine.select().first())["unit_price_override_fen"] == 171
    # 3% off ¥1.80 is ¥1.746, ¥1.75 to the fen (2.8% off): the panel says what was typed.
    three = await client.post(
        f"/cart/lines/{world['water']['id']}/price",
        data={"_csrf_token": token, "percent_off": "3"},
        headers={"HX-Request": "true"},
    )
    assert (await CartLine.select().first())["unit_price_override_fen"] == 175
    assert "· −3%</summary>" in three.text and "2.8%" not in three.text


async def test_dealers_get_no_price_field_and_cannot_set_one(client, world):
    await sign_in(client, "buyer_a")
    page = await client.get("/catalog")
    token = csrf_from(page.text)
    await client.post(
        f"/cart/lines/{world['water']['id']}", data={"_csrf_token": token, "qty": "24"}
    )
    assert 'name="percent_off"' not in (await client.get("/cart")).text
    refused = await client.post(
        f"/cart/lines/{world['water']['id']}/price",
        data={"_csrf_token": token, "price": "0.01"},
    )
    assert refused.status_code == 403
    assert (await CartLine.select().first())["unit_price_override_fen"] is None


async def test_admin_rules_pages(client, world):
    await sign_in(client, "root")
    page = await client.get("/admin/approval-rules")
    assert page.status_code == 200
    token = csrf_from(page.text)
    bad = await client.post(
        "/admin/approval-rules",
        data={"_csrf_token": token, "kind": "total_at_least", "approver_role": "finance"},
    )
    assert bad.status_code == 422
    ok = await client.post(
        "/admin/approval-rules",
        data={
            "_csrf_token": token,
            "kind": "total_at_least",
            "approver_role": "finance",
            "amount": "5000",
            "step_order": "20",
            "active": "1",
        },
    )
    assert ok.status_code == 200
    rule = await ApprovalRule.select().where(ApprovalRule.approver_role == "finance").first()
    assert rule["amount_fen"] == 500_000 and rule["active"]
    off = await client.post(
        f"/admin/approval-rules/{rule['id']}",
        data={
            "_csrf_token": token,
            "kind": "total_at_least",
            "approver_role": "finance",
            "amount": "5000",
            "step_order": "20",
        },
    )
    assert off.status_code == 200
    assert not (await ApprovalRule.select().where(ApprovalRule.id == rule["id"]).first())["active"]
    await sign_in(client, "mgr")
    assert (await client.get("/admin/approval-rules")).status_code == 403


async def test_api_approvals_and_conflict(client, world):
    order = await place(world)
    headers = await bearer(client, "mgr")
    listed = await client.get("/api/v1/approvals", headers=headers)
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["number"] == order.number and item["total"] == "43.20"
    refused = await client.post(
        f"/api/v1/orders/{order.id}/reject", json={"reason": ""}, headers=headers
    )
    assert_problem(refused, 422, "validation")
    ok = await client.post(f"/api/v1/orders/{order.id}/approve", json={}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["outcome"] == "approved" and ok.json()["order"]["status"] == "approved"
    again = await client.post(f"/api/v1/orders/{order.id}/approve", headers=headers)
    assert_problem(again, 409, "conflict")
    other = await bearer(client, "mgr_b")
    missing = await client.post(f"/api/v1/orders/{order.id}/approve", headers=other)
    assert_problem(missing, 404, "not-found")


async def test_api_return_and_rules_crud(client, world):
    order = await place(world)
    headers = await bearer(client, "mgr")
    back = await client.post(
        f"/api/v1/orders/{order.id}/return-to-dealer", json={"reason": "改数量"}, headers=headers
    )
    assert back.status_code == 200 and back.json()["order"]["status"] == "returned"
    admin = await bearer(client, "root")
    assert_problem(await client.get("/api/v1/approval-rules", headers=headers), 403, "forbidden")
    created = await client.post(
        "/api/v1/approval-rules",
        json={"kind": "first_orders", "approver_role": "sales_manager", "count": 3},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    changed = await client.put(
        f"/api/v1/approval-rules/{rid}",
        json={
            "kind": "first_orders",
            "approver_role": "sales_manager",
            "count": 3,
            "active": False,
        },
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    bad = await client.post(
        "/api/v1/approval-rules",
        json={"kind": "over_credit", "approver_role": "sales_manager"},
        headers=admin,
    )
    assert_problem(bad, 422, "validation")
    assert len((await client.get("/api/v1/approval-rules", headers=admin)).json()) == 2


async def test_staff_adjust_page(client, world):
    order = await place(world, boxes=2)
    await sign_in(client, "mgr")
    part = await client.get(f"/orders/{order.id}/approval")
    assert f"/orders/{order.id}/adjust" in part.text
    form = await client.get(f"/orders/{order.id}/adjust")
    assert form.status_code == 200
    token = csrf_from(form.text)
    line = order.lines[0]
    refused = await client.post(
        f"/orders/{order.id}/adjust",
        data={"_csrf_token": token, f"qty_{line.id}": "24", f"price_{line.id}": "1.80"},
    )
    assert refused.status_code == 422  # no reason
    bad = await client.post(
        f"/orders/{order.id}/adjust",
        data={"_csrf_token": token, f"qty_{line.id}": "x", "reason": "r"},
    )
    assert bad.status_code == 422
    short = await client.post(
        f"/orders/{order.id}/adjust",
        data={"_csrf_token": token, f"qty_{line.id}": "100000", "reason": "加量"},
    )
    assert short.status_code == 422 and "W550" in short.text and "100000 瓶" in short.text
    ok = await client.post(
        f"/orders/{order.id}/adjust",
        data={
            "_csrf_token": token,
            f"qty_{line.id}": "24",
            f"price_{line.id}": "1.80",
            "reason": "客户减量",
        },
    )
    assert ok.status_code == 200 and str(ok.url).endswith(f"/orders/{order.id}")
    row = await Order.select(Order.total_fen, Order.status).first()
    assert row["total_fen"] == 24 * 180 and row["status"] == "pending_approval"
    assert "客户减量" in ok.text
    reserved = sum(r["reserved"] for r in await StockLevel.select(StockLevel.reserved))
    assert reserved == 24
    await sign_in(client, "buyer_a")
    assert (await client.get(f"/orders/{order.id}/adjust")).status_code == 403
    token = csrf_from((await client.get("/catalog")).text)
    denied = await client.post(
        f"/orders/{order.id}/adjust",
        data={"_csrf_token": token, f"qty_{line.id}": "48", "reason": "x"},
    )
    assert denied.status_code == 403
    assert (await Order.select(Order.total_fen).first())["total_fen"] == 24 * 180


async def test_admin_rule_edit_page_and_visit_card_contents(client, world):
    order = await place(world)
    await sign_in(client, "root")
    rule = await ApprovalRule.select().first()
    edit = await client.get(f"/admin/approval-rules/{rule['id']}")
    assert edit.status_code == 200 and 'value="0.01"' in edit.text
    assert (await client.get("/admin/approval-rules/999999")).status_code == 404
    await sign_in(client, "rep_a")
    card = await client.get(f"/dealers/{world['a']['id']}")
    assert order.number in card.text and "W550" in card.text and "张江路" in card.text


async def test_the_order_page_shows_staff_the_dealer_s_credit_and_recent_orders(client, world):
    first = await place(world, key="k1")
    second = await place(world, key="k2", boxes=2)
    await f.user("warehouse", username="wh")
    await sign_in(client, "mgr")
    page = await client.get(f"/orders/{second.id}")
    account = re.search(r'id="dealer-account".*?</section>', page.text, re.S)
    assert account, "no credit and history section for the approver"
    text = account.group(0)
    assert "信用额度" in text and "可用额度" in text
    assert first.number in text and second.number not in text  # the others, not this one
    assert f'href="/dealers/{world["a"]["id"]}"' in text
    # A dealer's own people and staff who see no accounts (warehouse, an approved order).
    manager = f.actor(await User.select().where(User.username == "mgr").first())
    [card] = [c for c in await approvals.inbox(manager) if c.order_id == first.id]
    await approvals.decide(manager, card.step_id, "approve")
    for user, order_id in (("buyer_a", second.id), ("wh", first.id)):
        await sign_in(client, user)
        shown = await client.get(f"/orders/{order_id}")
        assert shown.status_code == 200 and 'id="dealer-account"' not in shown.text
    await sign_in(client, "buyer_a")
    own = await client.get(f"/dealers/{world['a']['id']}", follow_redirects=False)
    assert own.status_code == 303 and own.headers["location"] == "/me"


async def test_the_order_page_shows_an_approver_the_margin_against_the_dealer_s_prices(
    client, world
):
    """Opening an order from the inbox shows what the card showed: each discounted line's
    dealer price and how far under it, and the order against the dealer's prices."""
    rep = f.actor(world["rep"])
    placed = await orders.submit_order(
        rep,
        world["a"]["id"],
        [LineRequest(qty=24, sku_code="W550", unit_price_fen=162)],
        idempotency_key="m1",
    )
    await sign_in(client, "mgr")
    page = await client.get(f"/orders/{placed.order.id}")
    line = re.search(r'<li class="order-line">.*?</li>', page.text, re.S)
    assert line and "经销商价 ¥1.80 · −10.0%" in line.group(0), line
    margin = re.search(r'<dd id="order-margin"[^>]*>(.*?)</dd>', page.text, re.S)
    assert margin and margin.group(1).strip() == "−¥4.32 (−10.0%)", margin
    at_price = await place(world, key="m2")
    shown = await client.get(f"/orders/{at_price.id}")
    assert re.search(r'<dd id="order-margin"[^>]*>无折让</dd>', shown.text)
    await sign_in(client, "buyer_a")
    own = await client.get(f"/orders/{placed.order.id}")
    assert own.status_code == 200
    assert 'id="order-margin"' not in own.text and "经销商价 ¥1.80" not in own.text
