"""Catalog, product and home pages: prices per dealer, search, steppers, grid, scope, bad input."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from portal.domain import orders
from portal.domain.quantities import LineRequest
from portal.tables import CartLine, Favourite, Product, ProductVisibility, Sku
from tests import factories as f
from tests.http.conftest import csrf_from, shared_app, sign_in

HX = {"HX-Request": "true"}


async def _product(name: str, category: dict, **extra) -> dict:
    row = Product(name=name, category=category["id"], **extra)
    await row.save()
    return await Product.select().where(Product.id == row.id).first()


@pytest.fixture
async def world(db):
    """Two dealers on one tier; B has a contract price on the water; a rep looks after A."""
    tier = await f.tier(name="一级经销商")
    wh = await f.warehouse()
    a = await f.dealer(tier, name="甲经销商", default_warehouse=wh)
    b = await f.dealer(tier, name="乙经销商", default_warehouse=wh)
    drinks = await f.category("饮料")
    water_cat = await f.category("矿泉水", parent=drinks)
    snacks = await f.category("零食")
    water_product = await _product("农夫山泉 550ml", water_cat)
    water = await f.sku(
        code="NF550",
        name="农夫山泉 550ml",
        base_price_fen=200,
        product=water_product,
        barcode="6921168509256",
    )
    cola = await f.sku(
        code="KO330", name="可口可乐 330ml", base_price_fen=300, moq=6, order_multiple=6
    )
    chips = await f.sku(
        code="LAY70",
        name="乐事薯片 70g",
        base_price_fen=650,
        product=await _product("乐事薯片 70g", snacks),
    )
    await f.tier_price(tier, water, price_fen=180)
    await f.volume_break(tier, water, 240, 170)
    await f.tier_price(tier, cola, percent_bp=9000)
    await f.contract_price(b, water, 150)
    for s in (water, cola, chips):
        await f.stock(s, wh, 1000)
    buyer_a = await f.user("dealer_buyer", a, username="buyer_a")
    buyer_b = await f.user("dealer_buyer", b, username="buyer_b")
    rep = await f.user("sales_rep", username="rep1")
    await f.assign(rep, a)
    return {
        "tier": tier,
        "wh": wh,
        "a": a,
        "b": b,
        "water": water,
        "cola": cola,
        "chips": chips,
        "buyer_a": buyer_a,
        "buyer_b": buyer_b,
        "rep": rep,
        "drinks": drinks,
        "water_cat": water_cat,
        "snacks": snacks,
    }


async def _cart_qty(user: dict, sku: dict) -> int:
    rows = await CartLine.select(CartLine.qty, CartLine.cart.user.as_alias("user")).where(
        CartLine.sku == sku["id"]
    )
    return sum(r["qty"] for r in rows if r["user"] == user["id"])


def _row(html: str, sku: dict) -> str:
    found = re.search(rf'id="sku-{sku["id"]}".*?</li>', html, re.S)
    assert found, "no row for the SKU"
    return found.group(0)


async def _token(client) -> str:
    page = await client.get("/catalog")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


# --- prices and search ------------------------------------------------------------------------


async def test_catalog_shows_the_dealers_tier_price_and_rule_not_another_dealers_contract(
    client, world
):
    await sign_in(client, "buyer_a")
    page = await client.get("/catalog")
    assert page.status_code == 200
    row = _row(page.text, world["water"])
    assert "¥1.80" in row
    assert "¥2.00" in row  # the list price, struck through
    assert "一级经销商" in row  # the rule names the tier
    assert "¥1.50" not in page.text  # B's contract price
    # The next volume break: 240 bottles = 10 boxes at ¥1.70.
    assert "¥1.70" in row, row

    await client.post("/logout", headers={"x-csrftoken": csrf_from(page.text)})
    await sign_in(client, "buyer_b")
    page_b = await client.get("/catalog")
    row_b = _row(page_b.text, world["water"])
    assert "¥1.50" in row_b
    assert "¥1.80" not in row_b


async def test_search_by_chinese_substring_code_and_barcode(client, world):
    await sign_in(client, "buyer_a")
    by_name = await client.get("/catalog", params={"q": "山泉"})
    assert "NF550" in by_name.text and "KO330" not in by_name.text
    by_code = await client.get("/catalog", params={"q": "ko33"})
    assert "KO330" in by_code.text and "NF550" not in by_code.text
    by_barcode = await client.get("/catalog", params={"q": "6921168509256"})
    assert "NF550" in by_barcode.text and "LAY70" not in by_barcode.text


async def test_category_chip_includes_subcategories_and_offers_them(client, world):
    await sign_in(client, "buyer_a")
    page = await client.get("/catalog", params={"category": world["drinks"]["id"]})
    assert "NF550" in page.text and "LAY70" not in page.text
    assert f'id="sub-{world["water_cat"]["id"]}"' in page.text
    # A sub chip left over from another top chip is dropped, not searched.
    other = await client.get(
        "/catalog", params={"category": world["snacks"]["id"], "sub": world["water_cat"]["id"]}
    )
    assert "LAY70" in other.text and "NF550" not in other.text


async def test_htmx_search_returns_only_the_results_fragment(client, world):
    await sign_in(client, "buyer_a")
    response = await client.get("/catalog", params={"q": "可乐"}, headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "KO330" in response.text and "NF550" not in response.text
    assert 'id="subcats"' in response.text and "hx-swap-oob" in response.text
    assert "HX-Request" in response.headers.get("vary", "")
    # A history restore gets the whole page.
    restore = await client.get(
        "/catalog",
        params={"q": "可乐"},
        headers={**HX, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text


async def test_paging_with_load_more_and_plain_links(client, world):
    for n in range(22):
        await f.sku(code=f"BULK{n:03d}", name=f"批量商品{n:03d}", base_price_fen=100)
    await sign_in(client, "buyer_a")
    first = await client.get("/catalog", params={"q": "批量"})
    assert 'id="load-more"' in first.text
    assert "page=2" in first.text
    more = await client.get(
        "/catalog", params={"q": "批量", "page": "2"}, headers={**HX, "HX-Target": "load-more"}
    )
    assert more.status_code == 200
    assert "<html" not in more.text and "<ul" not in more.text
    assert more.text.count('class="sku-row') == 2
    assert 'id="load-more"' not in more.text
    plain = await client.get("/catalog", params={"q": "批量", "page": "2"})
    assert "<html" in plain.text and 'rel="prev"' in plain.text


async def test_a_large_result_shows_a_lower_bound_not_a_full_count(client, world, monkeypatch):
    from portal.domain import catalog

    for n in range(25):
        await f.sku(code=f"CAP{n:03d}", name=f"封顶商品{n:03d}", base_price_fen=100)
    monkeypatch.setattr(catalog, "COUNT_CAP", 3)
    await sign_in(client, "buyer_a")
    # Browsing, 20 a page: counted to one past the page, then "more than".
    capped = await client.get("/catalog")
    assert "超过 21 个商品" in capped.text
    monkeypatch.setattr(catalog, "COUNT_CAP", 1000)
    exact = await client.get("/catalog")
    assert "超过" not in exact.text
    # A search counts its matches the same way: exactly up to the cap, then "more than".
    found = await client.get("/catalog", params={"q": "封顶"})
    assert "25 个商品" in found.text and "超过" not in found.text
    monkeypatch.setattr(catalog, "COUNT_CAP", 3)
    found = await client.get("/catalog", params={"q": "封顶"})
    assert "超过 21 个商品" in found.text


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "x"},
        {"page": "-1"},
        {"sort": "hack"},
        {"in_stock": "maybe"},
        {"category": "abc"},
        {"category": "999999"},
    ],
)
async def test_bad_query_strings_get_a_clear_400(client, world, params):
    await sign_in(client, "buyer_a")
    response = await client.get("/catalog", params=params)
    assert response.status_code == 400
    assert 'class="alert alert-error"' in response.text
    assert "sku-row" not in response.text


# --- the stepper ------------------------------------------------------------------------------


async def test_stepper_adds_to_the_cart_and_updates_the_badge_out_of_band(client, world):
    await sign_in(client, "buyer_a")
    token = await _token(client)
    cola = world["cola"]
    response = await client.post(
        f"/catalog/qty/{cola['id']}",
        data={"qty": "0", "step": "up", "_csrf_token": token},
        headers=HX,
    )
    assert response.status_code == 200, response.text
    assert await _cart_qty(world["buyer_a"], cola) == 6  # the MOQ, in steps of 6
    assert "<html" not in response.text
    assert re.search(
        r'<span id="cart-badge"[^>]*hx-swap-oob="true"[^>]*>\s*1\s*</span>', response.text
    )
    assert f'id="sku-{cola["id"]}"' in response.text
    assert 'value="6"' in response.text

    again = await client.post(
        f"/catalog/qty/{cola['id']}",
        data={"qty": "6", "step": "up", "_csrf_token": token},
        headers=HX,
    )
    assert again.status_code == 200
    assert await _cart_qty(world["buyer_a"], cola) == 12
    down = await client.post(
        f"/catalog/qty/{cola['id']}",
        data={"qty": "6", "step": "down", "_csrf_token": token},
        headers=HX,
    )
    assert down.status_code == 200
    assert await _cart_qty(world["buyer_a"], cola) == 0


async def test_stepper_without_javascript_redirects_back(client, world):
    await sign_in(client, "buyer_a")
    token = await _token(client)
    water = world["water"]
    response = await client.post(
        f"/catalog/qty/{water['id']}",
        data={"qty": "240", "_csrf_token": token, "next": "/catalog?q=%E5%B1%B1%E6%B3%89"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/catalog?q=%E5%B1%B1%E6%B3%89#sku-{water['id']}"
    assert await _cart_qty(world["buyer_a"], water) == 240
    # The row now shows the volume-break price reached.
    page = await client.get("/catalog", params={"q": "山泉"})
    assert "¥1.70" in page.text
    # An offsite "next" is never followed.
    offsite = await client.post(
        f"/catalog/qty/{water['id']}",
        data={"qty": "24", "_csrf_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert offsite.headers["location"].startswith("/catalog#")


@pytest.mark.parametrize("qty", ["abc", "-1", "5", "1.5", "99999999"])
async def test_bad_quantities_are_refused_inline_and_change_nothing(client, world, qty):
    await sign_in(client, "buyer_a")
    token = await _token(client)
    cola = world["cola"]
    ok = await client.post(
        f"/catalog/qty/{cola['id']}", data={"qty": "12", "_csrf_token": token}, headers=HX
    )
    assert ok.status_code == 200
    response = await client.post(
        f"/catalog/qty/{cola['id']}", data={"qty": qty, "_csrf_token": token}, headers=HX
    )
    assert response.status_code == 422
    assert 'class="c-error"' in response.text
    assert "KO330" in response.text  # the message names the SKU
    assert await _cart_qty(world["buyer_a"], cola) == 12
    plain = await client.post(f"/catalog/qty/{cola['id']}", data={"qty": qty, "_csrf_token": token})
    assert plain.status_code == 422
    assert "<html" in plain.text and 'class="c-error"' in plain.text
    assert await _cart_qty(world["buyer_a"], cola) == 12


async def test_a_huge_quantity_is_told_the_most_a_line_takes(client, world):
    """10^15 in a stepper is a number too large, not "not a positive whole number"."""
    await sign_in(client, "buyer_a")
    token = await _token(client)
    cola = world["cola"]
    response = await client.post(
        f"/catalog/qty/{cola['id']}",
        data={"qty": "1000000000000000", "_csrf_token": token},
        headers=HX,
    )
    assert response.status_code == 422
    assert "KO330：每行最多 1,000,000。" in response.text
    assert await _cart_qty(world["buyer_a"], cola) == 0


async def test_the_next_break_counts_from_what_is_in_the_cart(client, world):
    """With none in the cart the whole break is still to buy, in packs (it had said 239 瓶 of
    240, as if one were in the cart); with 12 in it, the rest."""
    await sign_in(client, "buyer_a")
    page = await client.get("/catalog", params={"q": "NF550"})
    assert "再买 10 箱 → ¥1.70/瓶" in page.text  # 240 瓶, whole packs
    water = world["water"]
    token = await _token(client)
    r = await client.post(
        f"/catalog/qty/{water['id']}", data={"qty": "12", "_csrf_token": token}, headers=HX
    )
    assert r.status_code == 200 and "再买 228 瓶 → ¥1.70/瓶" in r.text


async def test_stepper_without_csrf_token_is_refused(client, world):
    await sign_in(client, "buyer_a")
    response = await client.post(f"/catalog/qty/{world['cola']['id']}", data={"qty": "6"})
    assert response.status_code == 403
    assert await _cart_qty(world["buyer_a"], world["cola"]) == 0


async def test_favourite_toggle_and_filter(client, world):
    await sign_in(client, "buyer_a")
    token = await _token(client)
    water = world["water"]
    response = await client.post(
        f"/catalog/favourite/{water['id']}", data={"_csrf_token": token}, headers=HX
    )
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.text
    assert await Favourite.count().where(Favourite.sku == water["id"]) == 1
    favs = await client.get("/catalog", params={"favourites": "1"})
    assert "NF550" in favs.text and "KO330" not in favs.text
    off = await client.post(
        f"/catalog/favourite/{water['id']}", data={"_csrf_token": token}, headers=HX
    )
    assert 'aria-pressed="false"' in off.text
    assert await Favourite.count() == 0


# --- product page -----------------------------------------------------------------------------


async def _tee_product(world) -> tuple[dict, list[dict]]:
    product = await _product("纯棉T恤", world["snacks"], description="柔软透气")
    skus = []
    for spec in ("M", "L"):
        for colour in ("白", "黑"):
            skus.append(
                await f.sku(
                    code=f"TEE-{spec}-{colour}",
                    name="纯棉T恤",
                    base_price_fen=3900,
                    product=product,
                    spec=spec,
                    colour=colour,
                    pack=("箱", 10),
                )
            )
    for s in skus:
        await f.stock(s, world["wh"], 100)
    await f.volume_break(world["tier"], skus[0], 50, 3500)
    return product, skus


async def test_product_page_with_variant_grid_adds_all_to_the_cart(client, world):
    product, skus = await _tee_product(world)
    await sign_in(client, "buyer_a")
    page = await client.get(f"/products/{product['id']}")
    assert page.status_code == 200
    for s in skus:
        assert f'name="qty_{s["id"]}"' in page.text
    assert 'inputmode="numeric"' in page.text
    assert "¥35.00" in page.text  # the volume break in the breaks table
    token = csrf_from(page.text)
    response = await client.post(
        f"/products/{product['id']}/grid",
        data={
            f"qty_{skus[0]['id']}": "2",
            f"qty_{skus[3]['id']}": "1",
            "unit": "pack",
            "_csrf_token": token,
        },
        headers=HX,
    )
    assert response.status_code == 200, response.text
    assert await _cart_qty(world["buyer_a"], skus[0]) == 20
    assert await _cart_qty(world["buyer_a"], skus[3]) == 10
    assert await _cart_qty(world["buyer_a"], skus[1]) == 0
    assert 'id="cart-badge"' in response.text and "hx-swap-oob" in response.text
    assert "<html" not in response.text
    # Without JavaScript the grid posts as a plain form and comes back to the page.
    plain = await client.post(
        f"/products/{product['id']}/grid",
        data={f"qty_{skus[1]['id']}": "5", "unit": "base", "_csrf_token": token},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"].startswith(f"/products/{product['id']}?added=1")
    assert await _cart_qty(world["buyer_a"], skus[1]) == 5
    shown = await client.get(plain.headers["location"])
    assert 'class="alert alert-ok"' in shown.text
    assert 'value="5"' in shown.text


async def test_grid_with_a_bad_quantity_changes_nothing(client, world):
    product, skus = await _tee_product(world)
    await sign_in(client, "buyer_a")
    page = await client.get(f"/products/{product['id']}")
    token = csrf_from(page.text)
    response = await client.post(
        f"/products/{product['id']}/grid",
        data={f"qty_{skus[0]['id']}": "3", f"qty_{skus[1]['id']}": "abc", "_csrf_token": token},
    )
    assert response.status_code == 422
    assert 'class="c-error"' in response.text and "TEE-M-" in response.text
    assert await _cart_qty(world["buyer_a"], skus[0]) == 0
    bad_unit = await client.get(f"/products/{product['id']}", params={"unit": "pallet"})
    assert bad_unit.status_code == 422


async def test_restricted_product_is_404_for_a_dealer_who_may_not_see_it(client, world):
    product = await _product("特供酒", world["snacks"], visibility="restricted")
    await ProductVisibility(product=product["id"], dealer=world["b"]["id"]).save()
    secret = await f.sku(code="VIP01", name="特供酒", base_price_fen=99900, product=product)
    await sign_in(client, "buyer_a")
    assert (await client.get(f"/products/{product['id']}")).status_code == 404
    assert "VIP01" not in (await client.get("/catalog", params={"q": "VIP"})).text
    token = await _token(client)
    response = await client.post(
        f"/catalog/qty/{secret['id']}", data={"qty": "1", "_csrf_token": token}, headers=HX
    )
    assert response.status_code == 404
    assert await _cart_qty(world["buyer_a"], secret) == 0
    await client.post("/logout", headers={"x-csrftoken": token})
    await sign_in(client, "buyer_b")
    assert (await client.get(f"/products/{product['id']}")).status_code == 200


# --- reps, home -------------------------------------------------------------------------------


async def test_rep_without_an_acting_dealer_is_sent_to_the_dealer_picker(client, world):
    await sign_in(client, "rep1")
    for path in ("/catalog", f"/products/{world['water']['id']}", "/"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/dealers"


async def test_rep_acting_for_a_dealer_sees_that_dealers_prices(client, world):
    await sign_in(client, "rep1")
    client.cookies.set("acting_dealer", str(world["a"]["id"]))
    page = await client.get("/catalog", params={"q": "山泉"})
    assert page.status_code == 200
    assert "¥1.80" in page.text
    token = csrf_from(page.text)
    response = await client.post(
        f"/catalog/qty/{world['water']['id']}",
        data={"qty": "24", "_csrf_token": token},
        headers=HX,
    )
    assert response.status_code == 200
    assert await _cart_qty(world["rep"], world["water"]) == 24
    # A dealer the rep does not look after is no dealer at all.
    client.cookies.set("acting_dealer", str(world["b"]["id"]))
    assert (await client.get("/catalog", follow_redirects=False)).status_code == 303


async def test_dealer_home_shows_credit_recent_orders_and_quick_links(client, world):
    buyer = f.actor(world["buyer_a"])
    placed = await orders.submit_order(
        buyer,
        world["a"]["id"],
        [LineRequest(qty=24, sku_id=world["water"]["id"])],
        idempotency_key="home-test-1",
    )
    # B's order never shows on A's home.
    other = await orders.submit_order(
        f.actor(world["buyer_b"]),
        world["b"]["id"],
        [LineRequest(qty=24, sku_id=world["water"]["id"])],
        idempotency_key="home-test-2",
    )
    await sign_in(client, "buyer_a")
    home = await client.get("/")
    assert home.status_code == 200
    assert "¥100,000.00" in home.text  # the factory's credit limit
    assert "¥43.20" in home.text  # used: the open order, 24 x ¥1.80
    assert "¥99,956.80" in home.text  # available
    assert placed.order.number in home.text
    assert other.order.number not in home.text
    assert f'action="/orders/{placed.order.id}/reorder"' in home.text
    assert 'href="/catalog"' in home.text and 'href="/catalog?favourites=1"' in home.text


async def test_staff_home_lists_what_they_can_reach(client, world):
    await f.user("finance", username="fin1")
    await sign_in(client, "fin1")
    home = await client.get("/")
    assert home.status_code == 200
    assert 'href="/orders"' in home.text
    assert 'class="credit-card' not in home.text
    assert 'href="/admin/skus"' not in home.text
    # An administrator's tools are on the home page too, not only under 我的.
    await f.user("admin", username="root1")
    await sign_in(client, "root1")
    home = await client.get("/")
    for path in ("/admin/skus", "/admin/promotions", "/admin/approval-rules", "/admin/settings"):
        assert f'href="{path}"' in home.text


async def test_product_page_shows_the_contract_price_where_it_applies(client, world):
    water = world["water"]
    await sign_in(client, "buyer_b")
    page = await client.get(f"/products/{water['product']}")
    assert page.status_code == 200
    assert "¥1.50" in page.text and "rule-contract" in page.text
    assert "¥1.70" not in page.text  # volume breaks do not apply under a contract
    await client.post("/logout", headers={"x-csrftoken": csrf_from(page.text)})
    await sign_in(client, "buyer_a")
    page_a = await client.get(f"/products/{water['product']}")
    assert "¥1.80" in page_a.text and "¥1.70" in page_a.text  # tier price and its break
    assert "¥1.50" not in page_a.text and "rule-contract" not in page_a.text


async def test_staff_who_cannot_order_browse_without_steppers(client, world):
    await f.user("finance", username="fin2")
    await sign_in(client, "fin2")
    client.cookies.set("acting_dealer", str(world["a"]["id"]))
    page = await client.get("/catalog")
    assert page.status_code == 200
    assert "NF550" in page.text and 'class="stepper"' not in page.text


async def test_stock_figures_for_staff_and_where_the_supplier_shows_them(
    client, world, settings, db
):
    """A dealer sees in stock / low / out; a rep sees how much, and each warehouse's figures
    on the product page; with PORTAL_SHOW_STOCK_NUMBERS dealers see how much too."""
    await sign_in(client, "buyer_a")
    page = await client.get("/catalog", params={"q": "NF550"})
    assert "有货" in page.text and "1,000 瓶" not in page.text
    product = await client.get(f"/products/{world['water']['product']}")
    assert "各仓库存" not in product.text and "1,000 瓶" not in product.text

    await client.post("/logout", data={"_csrf_token": csrf_from(page.text)})
    client.cookies.clear()
    await sign_in(client, "rep1")
    client.cookies.set("acting_dealer", str(world["a"]["id"]))
    page = await client.get("/catalog", params={"q": "NF550"})
    assert "有货 · 1,000 瓶" in page.text
    product = await client.get(f"/products/{world['water']['product']}")
    assert "各仓库存" in product.text
    assert re.search(
        rf"<td>{world['wh']['name']}</td><td>1,000</td><td>0</td><td>1,000</td>", product.text
    )

    shown = shared_app(replace(settings, show_stock_numbers=True), db)
    transport = httpx.ASGITransport(app=shown)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        await sign_in(c, "buyer_a")
        page = await c.get("/catalog", params={"q": "NF550"}, follow_redirects=True)
        assert "有货 · 1,000 瓶" in page.text
        product = await c.get(f"/products/{world['water']['product']}")
        assert "各仓库存" not in product.text  # per warehouse: staff only


async def test_prices_per_pack_beside_the_price_per_unit(client, world):
    """1 箱 = 24 瓶 at ¥1.80 a 瓶: the list, the product page and the grid in 箱 say ¥43.20/箱;
    order rules name their unit."""
    product, skus = await _tee_product(world)
    await sign_in(client, "buyer_a")
    listing = await client.get("/catalog", params={"q": "NF550"})
    water = _row(listing.text, world["water"])
    assert "1 箱 = 24 瓶" in water and "¥43.20/箱" in water
    cola = _row((await client.get("/catalog", params={"q": "KO330"})).text, world["cola"])
    assert "起订量 6 瓶" in cola and "6 瓶 的倍数" in cola

    await Sku.update({Sku.weight_g: 250}).where(Sku.id == skus[0]["id"])
    page = await client.get(f"/products/{product['id']}")
    assert "1 箱 = 10 瓶 (¥390.00/箱)" in page.text
    assert page.text.count("重量 250 g/瓶") == 1
    # In 瓶 the grid prices a 瓶; in 箱, a 箱 (and still says what a 瓶 costs).
    assert "¥390.00/箱" not in page.text.split('id="grid"')[1].split("</form>")[0]
    boxes = await client.get(f"/products/{product['id']}", params={"unit": "pack"}, headers=HX)
    assert boxes.status_code == 200
    assert '<span class="cell-price">¥390.00/箱</span>' in boxes.text
    assert "¥39.00/" in boxes.text


async def test_product_page_says_what_the_dealer_bought_last(client, world):
    product, skus = await _tee_product(world)
    buyer = f.actor(world["buyer_a"])
    await orders.submit_order(
        buyer, None, [LineRequest(qty=20, sku_id=skus[1]["id"])], idempotency_key="tee-1"
    )
    await sign_in(client, "buyer_a")
    page = await client.get(f"/products/{product['id']}")
    assert page.text.count("上次购买") == 1
    assert "上次购买 20 瓶，单价 ¥39.00" in page.text
    # Another dealer's purchase is not theirs.
    client.cookies.clear()
    await sign_in(client, "buyer_b")
    other = await client.get(f"/products/{product['id']}")
    assert other.status_code == 200 and "纯棉T恤" in other.text and "上次购买" not in other.text


async def test_the_unit_switch_names_a_unit_only_when_every_variant_has_it(client, world):
    product, skus = await _tee_product(world)  # every variant in 瓶, packed by the 箱
    await sign_in(client, "buyer_a")
    page = await client.get(f"/products/{product['id']}")
    switch = page.text.split('class="unit-switch"')[1].split("</nav>")[0]
    assert ">按瓶<" in switch and ">按箱<" in switch
    box = await f.sku(
        code="TEE-GIFT", name="纯棉T恤礼盒", base_unit="盒", product=product, pack=("件", 6)
    )
    await f.stock(box, world["wh"], 10)
    page = await client.get(f"/products/{product['id']}")
    switch = page.text.split('class="unit-switch"')[1].split("</nav>")[0]
    assert ">按单品<" in switch and ">按整箱<" in switch and "按瓶" not in switch


async def test_an_empty_list_says_why_in_its_own_words(client, db):
    """No favourites yet, or a page past the last: not "try fewer words" when none were typed."""
    from tests.http.test_pages_cart_orders import shop

    await shop()
    await sign_in(client, "buyer")
    favourites = await client.get("/catalog?favourites=1")
    assert "还没有收藏" in favourites.text and "关键词" not in favourites.text
    past = await client.get("/catalog?page=40")
    assert "此列表没有第 40 页" in past.text and 'href="/catalog"' in past.text
    nothing = await client.get("/catalog?q=不存在的东西")
    assert "还没有收藏" not in nothing.text and "第 1 页" not in nothing.text
