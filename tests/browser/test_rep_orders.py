"""A field rep orders for an assigned dealer during a visit: pick the dealer, order, see both."""

from __future__ import annotations

import re

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, build_plan
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in
from tests.browser.test_dealer_orders import (
    add_with_stepper,
    easy_sku,
    htmx_settled,
    search_catalog,
    search_term,
    submit_cart,
)

REP = DEMO_LOGINS["sales_rep"]


def visit_dealer() -> tuple[dict, dict]:
    """One of the rep's dealers that is not the near-limit one, and the rep's user row."""
    plan = build_plan()
    mine = [code for code, rep in plan.assignments if rep == REP]
    dealers = {d["code"]: d for d in plan.dealers}
    dealer = dealers[[c for c in mine if c not in ("D01", "D03")][0]]
    rep = next(u for u in plan.users if u["username"] == REP)
    return dealer, rep


async def test_rep_orders_for_an_assigned_dealer(phone, shot):
    page = phone
    dealer, rep = visit_dealer()
    sku = easy_sku(1)

    await sign_in(page, REP, DEMO_PASSWORD)
    # A rep lands on the dealer picker.
    await page.wait_for_url(re.compile(r"/dealers"))
    await assert_no_horizontal_scroll(page)
    await shot(page, "rep-dealers")

    async with page.expect_response(lambda r: "/dealers?" in r.url and r.ok):
        await page.locator("#dealer-q").fill(dealer["name"][2:6])
    await htmx_settled(page)
    card = page.locator(".dealer-card").filter(has_text=dealer["name"])
    await card.first.wait_for()
    box = await card.first.locator("button.dealer-pick").bounding_box()
    assert box and box["height"] >= 44, box
    await card.first.locator("button.dealer-pick").click()

    # Acting for the dealer: the banner says whom for, on every ordering page.
    await page.wait_for_url(re.compile(r"/catalog"))
    banner = page.locator("#acting-banner")
    await banner.wait_for()
    assert dealer["name"] in await banner.inner_text()
    await assert_no_horizontal_scroll(page)

    await search_catalog(page, search_term(sku))
    await add_with_stepper(page, sku["code"], taps=1)
    await shot(page, "rep-catalog")

    await page.locator(".tabbar a[href='/cart']").click()
    await page.wait_for_url(re.compile(r"/cart"))
    assert dealer["name"] in await page.locator("#acting-banner").inner_text()
    await page.locator("#cart-body").get_by_text(sku["code"]).first.wait_for()
    await assert_no_horizontal_scroll(page)
    await shot(page, "rep-cart")
    number = await submit_cart(page)

    # The order records both the dealer and the rep.
    header = await page.locator(".order-header").inner_text()
    assert dealer["name"] in header, header
    assert rep["display_name"] in header, header
    await page.locator(".order-line", has_text=sku["code"]).wait_for()
    await assert_no_horizontal_scroll(page)
    await shot(page, "rep-order")

    # The rep finds it among the orders too.
    await page.locator(".tabbar a[href='/orders']").click()
    await page.get_by_text(number).first.wait_for()

    assert not page.console_errors, page.console_errors
