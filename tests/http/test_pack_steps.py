"""Buying by the case from the catalog rows and the cart lines: "+1 箱" steps a whole pack
(keeping the MOQ and the order multiple), the quantity box takes "5箱", "5 箱", "2件" or "48瓶"
(converted to base units on the server), a unit the SKU lacks is refused naming the units it
has, and a row's pack price follows the price for the quantity in the cart."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from portal.domain import cart as cart_domain
from portal.tables import CartLine, PackUnit
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_pages_languages import in_language, visible

HX = {"HX-Request": "true"}


@pytest.fixture
async def shop(db) -> SimpleNamespace:
    """Water by the 瓶 (箱 = 24 瓶, and a 件 of 6), with a volume break at 10 箱; cola in 6s
    packed 24 to the 箱; juice in 10s packed 24 to the 箱; a 6-pack sold in 6s; loose chips."""
    wh = await f.warehouse()
    tier = await f.tier(name="一级经销商")
    dealer = await f.dealer(tier, default_warehouse=wh)
    buyer = await f.user("dealer_buyer", dealer, username="buyer")
    water = await f.sku(code="NF550", name="农夫山泉 550ml", base_price_fen=200)
    await PackUnit.insert(PackUnit(sku=water["id"], name="件", factor=6))
    cola = await f.sku(code="KO330", name="可口可乐 330ml", moq=6, order_multiple=6)
    juice = await f.sku(code="JU250", name="果汁 250ml", moq=30, order_multiple=10)
    six = await f.sku(code="SIX06", name="六连包", order_multiple=6, pack=("箱", 6))
    chips = await f.sku(code="LAY70", name="乐事薯片 70g", base_unit="袋", pack=None)
    await f.tier_price(tier, water, price_fen=213)
    await f.volume_break(tier, water, 240, 207)
    for sku in (water, cola, juice, six, chips):
        await f.stock(sku, wh, 100_000)
    return SimpleNamespace(
        dealer=dealer, buyer=buyer, water=water, cola=cola, juice=juice, six=six, chips=chips
    )


async def in_cart(s: SimpleNamespace, sku: dict) -> int:
    rows = await CartLine.select(CartLine.qty).where(
        (CartLine.cart.dealer == s.dealer["id"]) & (CartLine.sku == sku["id"])
    )
    return rows[0]["qty"] if rows else 0


async def put(s: SimpleNamespace, sku: dict, qty: int) -> None:
    await cart_domain.set_qty(f.actor(s.buyer), s.dealer["id"], sku["id"], qty)


def row_of(html: str, sku: dict) -> str:
    found = re.search(rf'id="sku-{sku["id"]}".*?</li>', html, re.S)
    assert found, "no row for the SKU"
    return found.group(0)


def line_of(html: str, sku: dict) -> str:
    found = re.search(rf'id="line-{sku["id"]}".*?</li>', html, re.S)
    assert found, "no cart line for the SKU"
    return found.group(0)


async def token(client, path: str = "/catalog") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def row_post(client, sku: dict, csrf: str, **data) -> object:
    return await client.post(
        f"/catalog/qty/{sku['id']}", data={**data, "_csrf_token": csrf}, headers=HX
    )


# --- the catalog row ----------------------------------------------------------------------------


async def test_a_row_offers_one_more_case_and_a_tap_adds_a_whole_case(client, shop):
    await sign_in(client, "buyer")
    page = await client.get("/catalog")
    row = row_of(page.text, shop.water)
    button = re.search(r'<button[^>]*class="pack-step"[^>]*>.*?</button>', row, re.S)
    assert button, "no +1 箱 on a SKU sold by the case"
    assert 'name="step" value="pack"' in button.group(0) and 'data-pack="24"' in button.group(0)
    assert "+1 箱" in button.group(0) and "= 24 瓶" in button.group(0)  # what a case holds
    # The box is a text box with a digit pad: a number box would drop "5箱".
    box = re.search(r'<input id="qty-\d+"[^>]*>', row).group(0)
    assert 'type="text"' in box and 'inputmode="numeric"' in box and "pattern" not in box

    csrf = csrf_from(page.text)
    first = await row_post(client, shop.water, csrf, qty="0", step="pack")
    assert first.status_code == 200, first.text
    assert await in_cart(shop, shop.water) == 24
    assert 'value="24"' in first.text and "= 1 箱" in first.text
    assert re.search(r'id="cart-badge"[^>]*hx-swap-oob', first.text)  # the badge follows
    again = await row_post(client, shop.water, csrf, qty="24", step="pack")
    assert await in_cart(shop, shop.water) == 48
    assert "= 2 箱" in again.text
    # − and + still step one 瓶.
    await row_post(client, shop.water, csrf, qty="48", step="up")
    assert await in_cart(shop, shop.water) == 49


async def test_one_more_case_keeps_the_moq_and_the_order_multiple(client, shop):
    await sign_in(client, "buyer")
    csrf = await token(client)
    # Cola: MOQ 6, in 6s, 24 a case: whole cases.
    await row_post(client, shop.cola, csrf, qty="0", step="pack")
    assert await in_cart(shop, shop.cola) == 24
    await row_post(client, shop.cola, csrf, qty="24", step="pack")
    assert await in_cart(shop, shop.cola) == 48
    # Juice: MOQ 30, in 10s: one case (24) is not allowed, the first allowed quantity is 30;
    # from there a case more is 54, rounded up to the multiple: 60.
    await row_post(client, shop.juice, csrf, qty="0", step="pack")
    assert await in_cart(shop, shop.juice) == 30
    await row_post(client, shop.juice, csrf, qty="30", step="pack")
    assert await in_cart(shop, shop.juice) == 60


async def test_no_case_button_where_plus_already_steps_a_case_or_there_is_no_pack(client, shop):
    await sign_in(client, "buyer")
    page = await client.get("/catalog")
    assert 'class="pack-step"' not in row_of(page.text, shop.six)  # + steps the 6-pack
    assert 'class="pack-step"' not in row_of(page.text, shop.chips)  # no pack at all
    assert 'class="pack-step"' in row_of(page.text, shop.cola)


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("5箱", 120),
        ("5 箱", 120),
        ("５箱", 120),
        ("2件", 12),
        ("2 件", 12),
        ("48瓶", 48),
        ("48", 48),
    ],
)
async def test_the_row_box_takes_a_quantity_with_a_unit(client, shop, typed, expected):
    await sign_in(client, "buyer")
    response = await row_post(client, shop.water, await token(client), qty=typed)
    assert response.status_code == 200, response.text
    assert await in_cart(shop, shop.water) == expected
    assert f'value="{expected}"' in response.text  # shown back in base units


async def test_a_typed_case_count_then_a_step_steps_from_the_cases(client, shop):
    """What the page sends when JavaScript leaves a typed unit to the server (or there is none):
    the typed text with the tapped step."""
    await sign_in(client, "buyer")
    csrf = await token(client)
    await row_post(client, shop.water, csrf, qty="5箱", step="pack")
    assert await in_cart(shop, shop.water) == 144
    await row_post(client, shop.water, csrf, qty="2箱", step="up")
    assert await in_cart(shop, shop.water) == 49
    await row_post(client, shop.water, csrf, qty="2箱", step="down")
    assert await in_cart(shop, shop.water) == 47


async def test_the_row_without_javascript_takes_cases_and_the_case_button(client, shop):
    await sign_in(client, "buyer")
    csrf = await token(client)
    typed = await client.post(
        f"/catalog/qty/{shop.water['id']}",
        data={"qty": "3箱", "step": "set", "next": "/catalog", "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert typed.status_code == 303
    assert typed.headers["location"] == f"/catalog#sku-{shop.water['id']}"
    assert await in_cart(shop, shop.water) == 72
    tapped = await client.post(
        f"/catalog/qty/{shop.water['id']}",
        data={"qty": "72", "step": "pack", "next": "/catalog", "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert tapped.status_code == 303
    assert await in_cart(shop, shop.water) == 96


async def test_a_unit_the_sku_lacks_is_refused_naming_its_units(client, shop):
    await sign_in(client, "buyer")
    csrf = await token(client)
    await put(shop, shop.water, 24)
    response = await row_post(client, shop.water, csrf, qty="5吨")
    assert response.status_code == 422
    message = visible(row_of(response.text, shop.water))
    assert "此商品没有单位 吨。可用单位：瓶, 件 (= 6 瓶), 箱 (= 24 瓶)。" in message
    assert 'aria-invalid="true"' in response.text
    assert await in_cart(shop, shop.water) == 24  # nothing changed
    # Without JavaScript: the page, with the same message.
    plain = await client.post(
        f"/catalog/qty/{shop.water['id']}", data={"qty": "5 托", "_csrf_token": csrf}
    )
    assert plain.status_code == 422 and "<html" in plain.text
    assert "此商品没有单位 托" in plain.text
    # A SKU with no pack names its one unit.
    chips = await row_post(client, shop.chips, csrf, qty="2箱")
    assert chips.status_code == 422
    assert "可用单位：袋。" in visible(chips.text)
    # A number of cases past what a line holds is told the limit, not accepted.
    huge = await row_post(client, shop.water, csrf, qty="100000箱")
    assert huge.status_code == 422 and "1,000,000" in huge.text
    assert await in_cart(shop, shop.water) == 24


async def test_the_refusal_reads_in_the_users_language(client, shop):
    await in_language(client, "buyer", "en")
    csrf = await token(client)
    response = await row_post(client, shop.water, csrf, qty="5 pallets")
    assert response.status_code == 422
    assert (
        "There is no unit pallets for this product. Its units: 瓶, 件 (= 6 瓶), 箱 (= 24 瓶)."
        in visible(response.text)
    )
    await in_language(client, "buyer", "zh_Hant")
    response = await row_post(client, shop.water, csrf, qty="5吨")
    assert "此商品沒有單位 吨。可用單位：" in visible(response.text)


# --- the cart line -----------------------------------------------------------------------------


async def test_a_cart_line_offers_one_more_case(client, shop):
    await put(shop, shop.water, 30)
    await put(shop, shop.juice, 30)
    await put(shop, shop.chips, 2)
    await sign_in(client, "buyer")
    page = await client.get("/cart")
    line = line_of(page.text, shop.water)
    button = re.search(r'<button[^>]*class="pack-step"[^>]*>.*?</button>', line, re.S)
    assert button, "no +1 箱 on a cart line sold by the case"
    # A step from what the cart holds when it arrives, not a number the page was drawn with.
    assert 'name="step" value="pack"' in button.group(0)
    assert "+1 箱" in button.group(0)
    box = re.search(r'<input id="qty-\d+"[^>]*>', line).group(0)
    assert 'type="text"' in box and 'inputmode="numeric"' in box
    # Juice in 10s with a case of 24: no case a step could add (as "1箱" typed is refused).
    assert 'class="pack-step"' not in line_of(page.text, shop.juice)
    assert 'class="pack-step"' not in line_of(page.text, shop.chips)

    csrf = csrf_from(page.text)
    response = await client.post(
        f"/cart/lines/{shop.water['id']}",
        data={"qty": "30", "step": "pack", "_csrf_token": csrf},
        headers=HX,
    )
    assert response.status_code == 200, response.text
    assert await in_cart(shop, shop.water) == 54
    # Another tab put 120 in meanwhile: this page's "+1 箱" adds a case to that (the page still
    # shows 54), it does not set 78.
    await client.post(
        f"/cart/lines/{shop.water['id']}", data={"qty": "5箱", "_csrf_token": csrf}, headers=HX
    )
    stale = await client.post(
        f"/cart/lines/{shop.water['id']}",
        data={"qty": "54", "step": "pack", "_csrf_token": csrf},
        headers=HX,
    )
    assert stale.status_code == 200 and await in_cart(shop, shop.water) == 144


@pytest.mark.parametrize(
    "typed,expected", [("5箱", 120), ("5 箱", 120), ("2件", 12), ("48瓶", 48), ("７箱", 168)]
)
async def test_the_cart_box_takes_a_quantity_with_a_unit(client, shop, typed, expected):
    await put(shop, shop.water, 24)
    await sign_in(client, "buyer")
    csrf = await token(client, "/cart")
    # htmx: the box's value with the default (empty) "set" button, as Enter sends it.
    response = await client.post(
        f"/cart/lines/{shop.water['id']}",
        data={"qty": typed, "set": "", "_csrf_token": csrf},
        headers=HX,
    )
    assert response.status_code == 200, response.text
    assert await in_cart(shop, shop.water) == expected
    assert f'value="{expected}"' in line_of(response.text, shop.water)


async def test_the_cart_without_javascript_takes_cases(client, shop):
    await put(shop, shop.water, 24)
    await sign_in(client, "buyer")
    csrf = await token(client, "/cart")
    response = await client.post(
        f"/cart/lines/{shop.water['id']}",
        data={"qty": "3 箱", "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/cart"
    assert await in_cart(shop, shop.water) == 72
    # The case button without JavaScript: its name and value, as a plain form sends them.
    page = await client.get("/cart")
    assert 'name="step" value="pack" class="pack-step"' in page.text
    tapped = await client.post(
        f"/cart/lines/{shop.water['id']}",
        data={"qty": "72", "step": "pack", "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert tapped.status_code == 303
    assert await in_cart(shop, shop.water) == 96


async def test_the_cart_refuses_a_unit_the_sku_lacks_and_keeps_the_rules(client, shop):
    await put(shop, shop.water, 24)
    await put(shop, shop.juice, 30)
    await sign_in(client, "buyer")
    csrf = await token(client, "/cart")
    response = await client.post(
        f"/cart/lines/{shop.water['id']}",
        data={"qty": "2吨", "set": "", "_csrf_token": csrf},
        headers=HX,
    )
    assert response.status_code == 422
    line = visible(line_of(response.text, shop.water))
    assert "此商品没有单位 吨。可用单位：瓶, 件 (= 6 瓶), 箱 (= 24 瓶)。" in line
    assert await in_cart(shop, shop.water) == 24
    plain = await client.post(
        f"/cart/lines/{shop.water['id']}", data={"qty": "2吨", "_csrf_token": csrf}
    )
    assert plain.status_code == 422 and "<html" in plain.text and "可用单位" in plain.text
    # A case of juice is 24, not a multiple of 10: refused by the rule, as a typed 24 is.
    juice = await client.post(
        f"/cart/lines/{shop.juice['id']}",
        data={"qty": "2箱", "set": "", "_csrf_token": csrf},
        headers=HX,
    )
    assert juice.status_code == 422
    assert "JU250" in juice.text and "10" in visible(line_of(juice.text, shop.juice))
    assert await in_cart(shop, shop.juice) == 30


# --- the pack price on a row --------------------------------------------------------------------


async def test_a_rows_case_price_follows_the_price_for_the_quantity_in_the_cart(client, shop):
    await sign_in(client, "buyer")
    page = await client.get("/catalog")
    row = visible(row_of(page.text, shop.water))
    assert "¥2.13" in row and "¥51.12/箱" in row  # 24 × ¥2.13, nothing in the cart
    await put(shop, shop.water, 240)
    page = await client.get("/catalog")
    row = visible(row_of(page.text, shop.water))
    assert "¥2.07" in row
    assert "¥49.68/箱" in row and "¥51.12" not in row  # 24 × ¥2.07, the break's price
    # The row an htmx step sends back says the same.
    csrf = csrf_from(page.text)
    stepped = await row_post(client, shop.water, csrf, qty="240", step="pack")
    assert await in_cart(shop, shop.water) == 264
    assert "¥49.68/箱" in visible(row_of(stepped.text, shop.water))
