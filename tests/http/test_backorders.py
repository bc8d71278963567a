"""Backorders over HTTP: the cart submission says what was backordered, the order page shows
it, staff list it oldest first (page and API), scoped like orders."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from portal.domain import cart as cart_domain
from portal.domain import orders, stock
from portal.domain.quantities import LineRequest
from portal.tables import Order, StockLevel
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer

HX = {"HX-Request": "true"}
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def shop() -> dict:
    wh = await f.warehouse()
    tier = await f.tier(name="一级经销商")
    a = await f.dealer(tier, name="甲经销商", default_warehouse=wh)
    b = await f.dealer(tier, name="乙经销商", default_warehouse=wh)
    buyer_a = await f.user("dealer_buyer", a, username="buyer_a")
    buyer_b = await f.user("dealer_buyer", b, username="buyer_b")
    manager = await f.user("sales_manager", username="boss")
    rep = await f.user("sales_rep", username="rep_b", manager=manager)
    await f.assign(rep, b)
    await f.user("warehouse", username="clerk")
    await f.user("finance", username="fin")
    bk = await f.sku(
        code="BK1", name="姜汁汽水 330ml", base_price_fen=200, pack=None, allow_backorder=True
    )
    nb = await f.sku(code="NB1", name="米饼 135g", base_price_fen=500, pack=None)
    await f.stock(bk, wh, 4)
    await f.stock(nb, wh, 3)
    return {
        "wh": wh,
        "a": a,
        "b": b,
        "buyer_a": buyer_a,
        "buyer_b": buyer_b,
        "bk": bk,
        "nb": nb,
    }


def key_from(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "cart page has no idempotency key"
    return match.group(1)


async def test_cart_submission_tells_which_lines_were_backordered(client):
    s = await shop()
    await sign_in(client, "buyer_a")
    actor = f.actor(s["buyer_a"])
    await cart_domain.set_qty(actor, s["a"]["id"], s["bk"]["id"], 10)
    await cart_domain.set_qty(actor, s["a"]["id"], s["nb"]["id"], 2)
    page = await client.get("/cart")
    response = await client.post(
        "/cart/submit",
        data={"idempotency_key": key_from(page.text), "_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    order = await Order.select().first()
    detail = await client.get(response.headers["location"])
    html = detail.text
    assert order["number"] in html
    # The flash names the backordered line and its quantity; the line shows it too.
    flash = re.search(r'class="alert alert-warn" role="status">(.*?)</div>', html, re.S).group(1)
    assert "BK1" in flash and "6" in flash and "NB1" not in flash
    assert 'id="backorder-note"' in html
    assert re.search(r'class="status status-warn backordered">[^<]*6[^<]*瓶', html)
    # Staff see the same on the order page.
    await sign_in(client, "clerk")
    staff_view = await client.get(f"/orders/{order['id']}")
    assert staff_view.status_code == 200
    assert 'class="status status-warn backordered"' in staff_view.text


async def test_a_short_sku_without_backorders_is_still_refused(client):
    s = await shop()
    await sign_in(client, "buyer_a")
    actor = f.actor(s["buyer_a"])
    await cart_domain.set_qty(actor, s["a"]["id"], s["bk"]["id"], 10)
    await cart_domain.set_qty(actor, s["a"]["id"], s["nb"]["id"], 2)
    # Someone takes the NB1 stock after the line went in.
    await stock.adjust_stock(
        f.actor(await f.user("admin")),
        warehouse_id=s["wh"]["id"],
        sku_id=s["nb"]["id"],
        reason="damage",
        qty=2,
        now=NOW,
    )
    page = await client.get("/cart")
    response = await client.post(
        "/cart/submit",
        data={"idempotency_key": key_from(page.text), "_csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 422, response.text
    error = re.search(r'id="submit-error">(.*?)</div>', response.text, re.S).group(1)
    assert "NB1" in error and "BK1" not in error
    assert await Order.count() == 0


async def place(s: dict) -> tuple[orders.OrderView, orders.OrderView]:
    first = await orders.submit_order(
        f.actor(s["buyer_b"]),
        None,
        [LineRequest(qty=6, sku_code="BK1")],
        idempotency_key="b1",
        now=NOW,
    )
    second = await orders.submit_order(
        f.actor(s["buyer_a"]),
        None,
        [LineRequest(qty=3, sku_code="BK1")],
        idempotency_key="a1",
        now=NOW + timedelta(minutes=1),
    )
    return first.order, second.order


async def test_backorders_page_lists_oldest_first_within_scope(client):
    s = await shop()
    b_order, a_order = await place(s)
    await sign_in(client, "clerk")
    page = await client.get("/backorders")
    assert page.status_code == 200
    html = page.text
    assert html.index(b_order.number) < html.index(a_order.number)
    assert "乙经销商" in html and "甲经销商" in html and "BK1" in html
    # The search narrows it down; with htmx only the rows come back.
    found = await client.get("/backorders", params={"q": "甲"}, headers=HX)
    assert found.status_code == 200 and "<html" not in found.text
    assert a_order.number in found.text and b_order.number not in found.text
    # From the orders list, staff who may see it get a link.
    assert 'href="/backorders"' in (await client.get("/orders")).text

    # The manager sees only the team's dealer (乙).
    await sign_in(client, "boss")
    mine = await client.get("/backorders")
    assert mine.status_code == 200
    assert b_order.number in mine.text and a_order.number not in mine.text

    for username in ("buyer_a", "rep_b", "fin"):
        await sign_in(client, username)
        refused = await client.get("/backorders")
        assert refused.status_code == 403, username
        assert 'href="/backorders"' not in (await client.get("/orders")).text


async def test_api_lists_backorders_and_order_lines_carry_the_quantity(client):
    s = await shop()
    b_order, a_order = await place(s)
    headers = await bearer(client, "clerk")
    listed = await client.get("/api/v1/backorders", headers=headers)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["order_number"], r["qty_backordered"]) for r in rows] == [
        (b_order.number, 2),
        (a_order.number, 3),
    ]
    assert rows[0]["dealer_name"] == "乙经销商" and rows[0]["sku_code"] == "BK1"
    by_sku = await client.get(
        "/api/v1/backorders", params={"sku_id": s["nb"]["id"]}, headers=headers
    )
    assert by_sku.json() == []

    buyer = await bearer(client, "buyer_a")
    detail = await client.get(f"/api/v1/orders/{a_order.id}", headers=buyer)
    assert detail.json()["lines"][0]["qty_backordered"] == 3
    refused = await client.get("/api/v1/backorders", headers=buyer | EN)
    assert_problem(refused, 403, "forbidden")
    bad = await client.get("/api/v1/backorders", params={"limit": 0}, headers=headers)
    assert bad.status_code == 400

    # Goods arrive: the older order is served first and the list shrinks.
    await stock.adjust_stock(
        f.actor(await f.user("warehouse")),
        warehouse_id=s["wh"]["id"],
        sku_id=s["bk"]["id"],
        reason="receipt",
        qty=3,
        now=NOW,
    )
    rows = (await client.get("/api/v1/backorders", headers=headers)).json()
    assert [(r["order_number"], r["qty_backordered"]) for r in rows] == [(a_order.number, 2)]
    timeline = (await client.get(f"/api/v1/orders/{b_order.id}", headers=headers)).json()
    assert "backorder_reserved" in [e["kind"] for e in timeline["events"]]


async def test_the_catalog_says_a_sku_out_of_stock_still_takes_orders(client):
    """Out of stock but accepting backorders: the dealer reads that it can still be ordered
    (in the list and on the product page), not a bare 缺货 that turns them away."""
    s = await shop()
    await StockLevel.update({StockLevel.on_hand: 0}).where(
        StockLevel.sku.is_in([s["bk"]["id"], s["nb"]["id"]])
    )
    await sign_in(client, "buyer_a")
    listing = await client.get("/catalog", params={"q": "BK1"})
    assert "缺货 · 可订，到货即发" in listing.text
    listing = await client.get("/catalog", params={"q": "NB1"})
    assert "缺货" in listing.text and "可订，到货即发" not in listing.text
    page = await client.get(f"/products/{s['bk']['product']}")
    assert "缺货 · 可订，到货即发" in page.text
    await StockLevel.update({StockLevel.on_hand: 50}).where(StockLevel.sku == s["bk"]["id"])
    listing = await client.get("/catalog", params={"q": "BK1"})
    assert "有货" in listing.text and "可订，到货即发" not in listing.text
