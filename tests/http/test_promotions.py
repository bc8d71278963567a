"""Promotions through the pages and the API: an administrator sets them up; a dealer sees them
in the catalog, the cart and the order (a percentage off, 满减 and 买赠)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from portal.domain import promotions
from portal.tables import AuditEntry, Order, OrderLine, Product, Promotion
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


async def shop() -> dict:
    """Admin "root", dealer buyer "buyer"; W550 list ¥2.00 in 饮料 › 矿泉水, J100 ¥5.00."""
    tier = await f.tier()
    wh = await f.warehouse()
    dealer = await f.dealer(tier, default_warehouse=wh)
    await f.user("admin", username="root")
    await f.user("dealer_buyer", dealer, username="buyer")
    drinks = await f.category("饮料")
    water_cat = await f.category("矿泉水", drinks)
    water_product = await f._insert(Product, name="农夫山泉", category=water_cat["id"])
    water = await f.sku(code="W550", base_price_fen=200, product=water_product)
    juice = await f.sku(code="J100", name="果汁 1L", base_price_fen=500)
    await f.stock(water, wh, on_hand=1000)
    await f.stock(juice, wh, on_hand=1000)
    return {"tier": tier, "dealer": dealer, "water": water, "juice": juice, "cat": drinks}


def period() -> dict[str, str]:
    today = promotions.today()
    return {
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=7)).isoformat(),
    }


async def test_an_administrator_adds_a_promotion_on_the_page_and_pauses_it(client, db):
    s = await shop()
    await sign_in(client, "root")
    page = await client.get("/admin/promotions", headers=ZH)
    assert page.status_code == 200 and 'id="promotion-form"' in page.text
    assert "每单只减一次" in page.text  # 满减 is once per order, and the form says so
    token = csrf_from(page.text)
    bad = await client.post(
        "/admin/promotions",
        data={
            "name": "",
            "kind": "percent_off",
            "starts_on": "2026-12-10",
            "ends_on": "2026-12-01",
            "percent": "120",
            "_csrf_token": token,
        },
        headers=ZH,
    )
    assert bad.status_code == 422
    assert "请填写促销名称" in bad.text and "结束日期不能早于开始日期" in bad.text
    assert "请输入百分比" in bad.text
    assert await Promotion.count() == 0

    done = await client.post(
        "/admin/promotions",
        data={
            "name": "饮料九折",
            "kind": "percent_off",
            "percent": "10",
            "category": str(s["cat"]["id"]),
            "_csrf_token": token,
            **period(),
        },
        headers=ZH,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    listed = await client.get("/admin/promotions", headers=ZH)
    assert "饮料九折" in listed.text and "进行中" in listed.text
    row = await Promotion.select().first()
    assert row["percent_bp"] == 1000 and row["category"] == s["cat"]["id"]
    assert await AuditEntry.count().where(AuditEntry.action == "promotion.created") == 1

    edit = await client.get(f"/admin/promotions/{row['id']}", headers=ZH)
    assert 'value="饮料九折"' in edit.text
    paused = await client.post(
        f"/admin/promotions/{row['id']}",
        data={
            "name": "饮料九折",
            "kind": "percent_off",
            "percent": "10",
            "category": str(s["cat"]["id"]),
            "_csrf_token": csrf_from(edit.text),
            **period(),
        },  # no "active": the box is cleared
        headers=ZH,
        follow_redirects=False,
    )
    assert paused.status_code == 303
    assert (await Promotion.select(Promotion.active).first())["active"] is False
    assert "已暂停" in (await client.get("/admin/promotions", headers=ZH)).text


async def test_the_dealer_sees_a_percentage_off_in_the_catalog_and_the_api(client, db):
    s = await shop()
    root = await bearer(client, "root")
    made = await client.post(
        "/api/v1/promotions",
        json={
            "name": "饮料九折",
            "kind": "percent_off",
            "category_id": s["cat"]["id"],
            "percent_off_bp": 1000,
            **period(),
        },
        headers=root,
    )
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "running"
    buyer = await bearer(client, "buyer")
    skus = await client.get("/api/v1/catalog/skus?q=W550", headers={**buyer, **ZH})
    price = skus.json()["items"][0]["price"]
    assert price["unit_price"] == "1.80" and price["list_price"] == "2.00"
    assert price["rule"] == "promotion" and "饮料九折" in price["rule_label"]
    assert price["base_rule"] == "base"  # what the percentage is off: the list price here
    juice = await client.get("/api/v1/catalog/skus?q=J100", headers=buyer)
    juice_price = juice.json()["items"][0]["price"]
    assert juice_price["rule"] == juice_price["base_rule"] == "base"  # not in the category

    current = await client.get("/api/v1/promotions/current", headers=buyer)
    assert [p["name"] for p in current.json()] == ["饮料九折"]
    await sign_in(client, "buyer")
    catalog = await client.get("/catalog?q=W550", headers=ZH)
    assert "¥1.80" in catalog.text and "饮料九折" in catalog.text
    offers = await client.get("/promotions", headers=ZH)
    assert "饮料九折" in offers.text and "减 10%" in offers.text
    home = await client.get("/", headers=ZH)
    assert "饮料九折" in home.text

    # Paused: the price is the list price again, and nothing is on offer.
    body = made.json()
    paused = await client.put(
        f"/api/v1/promotions/{body['id']}",
        json={
            "name": "饮料九折",
            "kind": "percent_off",
            "category_id": s["cat"]["id"],
            "percent_off_bp": 1000,
            "active": False,
            **period(),
        },
        headers=root,
    )
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    again = await client.get("/api/v1/catalog/skus?q=W550", headers=buyer)
    assert again.json()["items"][0]["price"]["unit_price"] == "2.00"
    assert (await client.get("/api/v1/promotions/current", headers=buyer)).json() == []
    # Moving a paused promotion's last day once started it again (active left out was true).
    later = str(date.fromisoformat(period()["ends_on"]) + timedelta(days=7))
    moved = await client.put(
        f"/api/v1/promotions/{body['id']}", json={"ends_on": later}, headers=root
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["state"], moved.json()["ends_on"]) == ("paused", later)
    assert moved.json()["percent_off_bp"] == 1000
    assert (await client.get("/api/v1/promotions/current", headers=buyer)).json() == []


async def test_the_product_page_s_volume_breaks_carry_the_percentage_off(client, db):
    s = await shop()
    await f.volume_break(s["tier"], s["water"], 240, 160)
    root = await bearer(client, "root")
    made = await client.post(
        "/api/v1/promotions",
        json={"name": "九折", "kind": "percent_off", "sku_code": "W550", "percent_off_bp": 1000}
        | period(),
        headers=root,
    )
    assert made.status_code == 201, made.text
    await sign_in(client, "buyer")
    page = await client.get(f"/products/{s['water']['product']}", headers=ZH)
    table = page.text[page.text.index('class="breaks"') :]
    table = table[: table.index("</table>")]
    # ¥2.00 and, from 10 箱, ¥1.60, each 10% off: what the dealer pays, as the cart says.
    assert "¥1.80" in table and "¥1.44" in table and "¥1.60" not in table
    # The API's price ladder says the same.
    items = await client.get("/api/v1/catalog/skus?q=W550", headers=await bearer(client, "buyer"))
    [step] = items.json()["items"][0]["price"]["breaks"]
    assert (step["min_qty"], step["unit_price"]) == (240, "1.44")


async def test_a_gift_offer_shows_on_the_row_and_the_product_before_it_is_earned(client, db):
    s = await shop()
    root = await bearer(client, "root")
    for body in (
        {
            "name": "买十赠一",
            "kind": "buy_get",
            "sku_code": "W550",
            "buy_qty": 10,
            "gift_sku_code": "J100",
            "gift_qty": 1,
        },
        {
            "name": "果汁买六赠一",
            "kind": "buy_get",
            "sku_code": "J100",
            "buy_qty": 6,
            "gift_sku_code": "J100",
            "gift_qty": 1,
        },
    ):
        made = await client.post("/api/v1/promotions", json={**body, **period()}, headers=root)
        assert made.status_code == 201, made.text
    await sign_in(client, "buyer")

    def offers(html: str, sku_id: int) -> list[str]:
        row = html[html.index(f'id="sku-{sku_id}"') :]
        row = row[: row.index("</li>")]
        return re.findall(r'class="c-offer">([^<]*)<', row)

    listed = await client.get("/catalog", headers=ZH)
    assert offers(listed.text, s["water"]["id"]) == ["每买 10 瓶 赠 1 瓶果汁 1L"]
    assert offers(listed.text, s["juice"]["id"]) == ["每买 6 瓶 赠 1 瓶"]
    api = await client.get(
        "/api/v1/catalog/skus?q=W550", headers={**await bearer(client, "buyer"), **EN}
    )
    assert api.json()["items"][0]["offers"] == ["Buy 10 瓶, get 1 瓶 of 果汁 1L free"]
    # The stepper's row keeps it.
    token = csrf_from(listed.text)
    row = await client.post(
        f"/catalog/qty/{s['water']['id']}",
        data={"qty": "10", "_csrf_token": token},
        headers={**ZH, "HX-Request": "true"},
    )
    assert row.status_code == 200 and "每买 10 瓶 赠 1 瓶果汁 1L" in row.text
    product = await client.get(f"/products/{s['water']['product']}", headers=ZH)
    assert 'class="c-offer">每买 10 瓶 赠 1 瓶果汁 1L<' in product.text
    # /promotions links each offer to its product.
    offers_page = await client.get("/promotions", headers=ZH)
    assert 'href="/catalog?q=W550"' in offers_page.text

    # Paused: gone from the row.
    pid = (await Promotion.select(Promotion.id).where(Promotion.name == "买十赠一").first())["id"]
    paused = await client.put(f"/api/v1/promotions/{pid}", json={"active": False}, headers=root)
    assert paused.status_code == 200, paused.text
    await sign_in(client, "buyer")
    assert offers((await client.get("/catalog", headers=ZH)).text, s["water"]["id"]) == []


async def test_cart_and_order_carry_the_saving_and_the_gift(client, db):
    s = await shop()
    root = await bearer(client, "root")
    for body in (
        {"name": "满100减10", "kind": "spend_save", "threshold_fen": 10_000, "save_fen": 1_000},
        {
            "name": "买十赠一",
            "kind": "buy_get",
            "sku_code": "W550",
            "buy_qty": 10,
            "gift_sku_code": "J100",
            "gift_qty": 1,
        },
    ):
        made = await client.post("/api/v1/promotions", json={**body, **period()}, headers=root)
        assert made.status_code == 201, made.text

    await sign_in(client, "buyer")
    page = await client.get("/cart", headers=ZH)
    token = csrf_from(page.text)
    await client.post(
        f"/cart/lines/{s['water']['id']}", data={"qty": "40", "_csrf_token": token}, headers=ZH
    )
    cart = await client.get("/cart", headers=ZH)
    # ¥80.00 of goods: no saving yet, a hint, and 4 bottles of juice free.
    assert "再买 ¥20.00 可减 ¥10.00" in cart.text
    assert 'id="cart-gifts"' in cart.text and "果汁 1L × 4" in cart.text
    assert re.search(r'id="cart-total">¥80.00<', cart.text)
    await client.post(
        f"/cart/lines/{s['water']['id']}", data={"qty": "60", "_csrf_token": token}, headers=ZH
    )
    cart = await client.get("/cart", headers=ZH)
    assert re.search(r'id="cart-saving">−¥10.00<', cart.text)
    assert re.search(r'id="cart-total">¥110.00<', cart.text)  # ¥120.00 less ¥10.00

    buyer = await bearer(client, "buyer")
    submitted = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "W550", "qty": 60}]},
        headers={**buyer, **EN, "Idempotency-Key": "promo-1"},
    )
    assert submitted.status_code == 201, submitted.text
    order = submitted.json()
    assert order["goods_total"] == "120.00" and order["discount"] == "10.00"
    assert order["total"] == "110.00" and "满100减10" in order["discount_label"]
    gift = next(ln for ln in order["lines"] if ln["is_gift"])
    assert gift["sku_code"] == "J100" and gift["qty"] == 6 and gift["unit_price"] == "0.00"
    assert gift["price_rule"] == "gift" and "买十赠一" in gift["price_rule_label"]
    water = next(ln for ln in order["lines"] if not ln["is_gift"])
    assert water["discount"] == "10.00" and water["line_total"] == "110.00"
    row = await Order.select().where(Order.id == order["id"]).first()
    assert row["total_fen"] == 11_000 and row["discount_fen"] == 1_000
    assert await OrderLine.count().where(OrderLine.order == order["id"]) == 2

    await sign_in(client, "buyer")
    detail = await client.get(f"/orders/{order['id']}", headers=ZH)
    assert re.search(r'id="order-saving">−¥10.00<', detail.text)
    assert "赠品（买十赠一，随 W550）" in detail.text


async def test_a_promotion_as_get_returns_it_can_be_put_back_changed(client, db):
    s = await shop()
    root = await bearer(client, "root")
    bodies = (
        {"name": "饮料九折", "kind": "percent_off", "category_id": s["cat"]["id"]}
        | {"percent_off_bp": 1000},
        {"name": "满100减10", "kind": "spend_save", "threshold_fen": 10_000, "save_fen": 1_000},
        {"name": "买十赠一", "kind": "buy_get", "sku_code": "W550", "buy_qty": 10}
        | {"gift_sku_code": "J100", "gift_qty": 1},
    )
    for body in bodies:
        made = await client.post("/api/v1/promotions", json={**body, **period()}, headers=root)
        assert made.status_code == 201, made.text
        # An integration reads the promotion, pauses it and sends it back whole: the other
        # kinds' fields come back as 0 (they were refused, "must be at least 1").
        got = (await client.get(f"/api/v1/promotions/{made.json()['id']}", headers=root)).json()
        put = await client.put(
            f"/api/v1/promotions/{got['id']}", json={**got, "active": False}, headers=root
        )
        assert put.status_code == 200, put.text
        assert put.json() == {**got, "active": False, "state": "paused"}
    # A kind's own field still may not be 0.
    refused = await client.put(
        f"/api/v1/promotions/{got['id']}", json={**got, "gift_qty": 0}, headers=root
    )
    assert_problem(refused, 422, "validation")
    assert (await Promotion.select(Promotion.gift_qty).where(Promotion.id == got["id"]).first())[
        "gift_qty"
    ] == 1


async def test_a_buy_get_of_the_same_sku_names_the_unit_of_the_gift_too(client, db):
    await shop()
    root = await bearer(client, "root")
    body = {"name": "买五赠一", "kind": "buy_get", "sku_code": "W550", "buy_qty": 60}
    made = await client.post(
        "/api/v1/promotions",
        json=body | {"gift_sku_code": "W550", "gift_qty": 12} | period(),
        headers={**root, **ZH},
    )
    assert made.status_code == 201, made.text
    assert made.json()["terms"].endswith("每买 60 瓶 赠 12 瓶")


async def test_only_administrators_manage_promotions_and_bad_bodies_write_nothing(client, db):
    await shop()
    buyer = await bearer(client, "buyer")
    assert_problem(await client.get("/api/v1/promotions", headers=buyer), 403, "forbidden")
    body = {"name": "满减", "kind": "spend_save", "threshold_fen": 1_000, "save_fen": 1_000}
    assert_problem(
        await client.post("/api/v1/promotions", json={**body, **period()}, headers=buyer),
        403,
        "forbidden",
    )
    root = await bearer(client, "root")
    refused = assert_problem(
        await client.post("/api/v1/promotions", json={**body, **period()}, headers={**root, **ZH}),
        422,
        "validation",
    )
    assert any("减免金额须小于满额" in e["message"] for e in refused["errors"])
    unknown = assert_problem(
        await client.post(
            "/api/v1/promotions",
            json={
                "name": "买赠",
                "kind": "buy_get",
                "sku_code": "NOPE",
                "buy_qty": 1,
                "gift_sku_code": "W550",
                "gift_qty": 1,
                **period(),
            },
            headers={**root, **EN},
        ),
        422,
        "validation",
    )
    assert any("NOPE" in e["message"] for e in unknown["errors"])
    assert await Promotion.count() == 0
    assert_problem(await client.get("/api/v1/promotions/99999", headers=root), 404, "not-found")


async def test_a_buy_get_promotion_from_the_page_names_its_own_sku_box(client, db):
    await shop()
    await sign_in(client, "root")
    token = csrf_from((await client.get("/admin/promotions")).text)
    form = {"name": "买十赠一", "kind": "buy_get", "buy_qty": "10", "gift_qty": "1", **period()}
    unknown = await client.post(
        "/admin/promotions",
        data={**form, "buy_sku": "NOPE", "gift_sku": "J100", "_csrf_token": token},
        headers=ZH,
    )
    assert unknown.status_code == 422
    assert re.search(r'id="err-buy_sku"[^>]*>没有编码为 NOPE 的 SKU', unknown.text)
    done = await client.post(
        "/admin/promotions",
        data={**form, "buy_sku": "W550", "gift_sku": "J100", "_csrf_token": token},
        headers=ZH,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    row = (await promotions.list_promotions(f.actor(await admin_row())))[0]
    assert (row.kind, row.sku_code, row.gift_code, row.buy_qty, row.gift_qty) == (
        "buy_get",
        "W550",
        "J100",
        10,
        1,
    )
    edit = await client.get(f"/admin/promotions/{row.id}", headers=ZH)
    assert 'id="f-buy_sku" name="buy_sku" type="text" value="W550"' in edit.text


async def admin_row() -> dict:
    from portal.tables import User

    return await User.select().where(User.username == "root").first()


async def test_one_tap_pauses_and_resumes_a_promotion_from_the_list(client, db):
    await shop()
    root = await bearer(client, "root")
    body = {"name": "满减", "kind": "spend_save", "threshold_fen": 10_000, "save_fen": 500}
    made = (await client.post("/api/v1/promotions", json={**body, **period()}, headers=root)).json()
    await sign_in(client, "root")
    listed = await client.get("/admin/promotions", headers=ZH)
    assert f'action="/admin/promotions/{made["id"]}/active"' in listed.text
    token = csrf_from(listed.text)
    url = f"/admin/promotions/{made['id']}/active"
    bad = await client.post(url, data={"active": "maybe", "_csrf_token": token}, headers=ZH)
    assert bad.status_code == 422
    assert (await Promotion.select(Promotion.active).first())["active"] is True
    paused = await client.post(
        url, data={"active": "0", "_csrf_token": token}, follow_redirects=False
    )
    assert paused.status_code == 303
    assert (await Promotion.select(Promotion.active).first())["active"] is False
    await client.post(url, data={"active": "1", "_csrf_token": token})
    assert (await Promotion.select(Promotion.active).first())["active"] is True
    assert await AuditEntry.count().where(AuditEntry.action == "promotion.updated") == 2
