"""Pages in the reader's language: what a phone user meets in 简体, 繁體 and English, beyond the
message catalogs (dates read as dates of the language, empty pages that say what to do, labels
that say what they mean, names not said twice)."""

from __future__ import annotations

import re

import httpx

from portal.tables import Product
from tests import factories as f
from tests.db.test_shipments import approved_order, fulfil_world
from tests.http.conftest import sign_in


async def in_language(client: httpx.AsyncClient, username: str, locale: str) -> None:
    """Sign in and choose a language under 我的, as a user does."""
    assert (await sign_in(client, username)).status_code == 303
    me = await client.get("/me")
    token = re.search(r'"x-csrftoken": "([^"]+)"', me.text).group(1)
    chosen = await client.post(
        "/lang",
        data={"locale": locale, "next": "/me", "_csrf_token": token},
        follow_redirects=False,
    )
    assert chosen.status_code == 303


def visible(html: str) -> str:
    """The page's text, tags dropped and spaces squeezed (what a reader sees, roughly)."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


async def test_sales_by_day_and_by_month_read_as_dates_of_the_language(client, db):
    await f.user("sales_manager", username="boss")
    await in_language(client, "boss", "en")
    days = visible((await client.get("/reports?start=2026-11-01&end=2026-11-03")).text)
    assert "2026-11-0" not in days, "a day reads as an ISO code"
    assert "Sun, Nov 1" in days and "Tue, Nov 3" in days
    months = visible((await client.get("/reports?start=2026-01-01&end=2026-12-31")).text)
    assert "2026-0" not in months and "Jan 2026" in months and "Dec 2026" in months

    await in_language(client, "boss", "zh_Hant")
    days = visible((await client.get("/reports?start=2026-11-01&end=2026-11-03")).text)
    assert "2026-11-0" not in days and "11月1日週日" in days
    await in_language(client, "boss", "zh_Hans")
    months = visible((await client.get("/reports?start=2026-01-01&end=2026-12-31")).text)
    assert "2026年1月" in months and "2026年12月" in months


async def test_an_empty_returns_list_tells_a_dealer_how_to_ask_for_one(client, db):
    dealer = await f.dealer()
    await f.user("dealer_buyer", dealer, username="buyer")
    await f.user("finance", username="money")
    await in_language(client, "buyer", "en")
    page = visible((await client.get("/returns")).text)
    assert "No returns here." in page
    assert "open the order under Orders and tap Request a return" in page
    await in_language(client, "buyer", "zh_Hant")
    page = visible((await client.get("/returns")).text)
    assert "在「訂單」中打開那張訂單，點「申請退貨」" in page
    # Staff do not ask for returns: they only read that nothing waits.
    await in_language(client, "money", "en")
    page = visible((await client.get("/returns")).text)
    assert "No returns here." in page and "Request a return" not in page


async def test_a_shipment_line_says_what_this_warehouse_can_ship(client, db):
    w = await fulfil_world(on_hand1=6, on_hand2=100)
    await f.user("warehouse", username="clerk")
    o = await approved_order(w, qty=10)
    await in_language(client, "clerk", "en")
    page = visible((await client.get(f"/warehouse/orders/{o['id']}?warehouse={w.wh1['id']}")).text)
    assert "left 10; this warehouse can ship 6" in page, page
    assert "; here " not in page
    await in_language(client, "clerk", "zh_Hans")
    page = visible((await client.get(f"/warehouse/orders/{o['id']}?warehouse={w.wh1['id']}")).text)
    assert "剩 10；本仓可发 6" in page


async def test_a_variant_named_with_its_spec_is_not_named_twice(client, db):
    tier = await f.tier()
    dealer = await f.dealer(tier)
    await f.user("dealer_buyer", dealer, username="buyer")
    named = await f.sku(
        code="JS-200-RS", name="净丝 护发素 柔顺 200ml", spec="200ml", colour="柔顺"
    )
    await f.sku(
        code="JS-400-ZY",
        name="净丝 护发素",
        spec="400ml",
        colour="滋养",
        product=await Product.select().where(Product.id == named["product"]).first(),
    )
    await in_language(client, "buyer", "en")
    page = await client.get(f"/products/{named['product']}")
    assert page.status_code == 200
    text = visible(page.text)
    assert "200ml 200ml" not in text and "柔顺 200ml 柔顺" not in text, "the spec said twice"
    assert "Quantity of 净丝 护发素 柔顺 200ml in 瓶" in page.text
    # A name without them still gets them, to tell the variants apart.
    assert "净丝 护发素 400ml 滋养" in text
    assert "Quantity of 净丝 护发素 400ml 滋养 in 瓶" in page.text
