"""Promotions on a phone: a dealer sees what is on offer, the cart gives a gift (买赠) and tells
how much more earns a saving (满减), and the order keeps the gift as a zero-priced line."""

from __future__ import annotations

import re

from portal.demo import DEMO_PASSWORD, build_plan
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in
from tests.browser.test_dealer_orders import htmx_settled, submit_cart

DEALER = "d09buyer"


def gift_sku() -> tuple[dict, int]:
    """The demo's 买五赠一 SKU (the first orderable one by the unit) and its pack size."""
    plan = build_plan()
    packs = {code: factor for code, _n, factor in plan.packs}
    sku = next(s for s in plan.skus if s["moq"] == 1 and s["order_multiple"] == 1)
    return sku, packs[sku["code"]]


async def test_a_dealer_gets_a_gift_and_sees_the_saving_ahead(phone, shot):
    page = phone
    sku, pack = gift_sku()
    await sign_in(page, DEALER, DEMO_PASSWORD)
    promo_card = page.locator(".promo-card")
    await promo_card.wait_for()
    assert "买五赠一" in await promo_card.inner_text()
    await page.locator(".promo-card a[href='/promotions']").click()
    await page.wait_for_url(re.compile(r"/promotions$"))
    offers = await page.locator("#promotions").inner_text()
    assert "满5000减150" in offers and "年末特惠 92折" in offers
    await assert_no_horizontal_scroll(page)
    await shot(page, "promotions")

    # Five packs by quick order: the cart shows one pack free and the way to 满5000减150.
    await page.goto("/cart")
    await page.locator("#quick-order summary").click()
    await page.locator("#quick-text").fill(f"{sku['code']} {5 * pack}")
    await page.locator("#quick-order form button[type=submit]").first.click()
    await htmx_settled(page)
    gifts = page.locator("#cart-gifts")
    await gifts.wait_for()
    assert f"× {pack} {sku['base_unit']}" in await gifts.inner_text()
    assert "可减 ¥150.00" in await page.locator("#next-saving").inner_text()
    await assert_no_horizontal_scroll(page)
    await shot(page, "cart-gift")

    number = await submit_cart(page)
    lines = page.locator(".order-lines")
    gift = lines.locator("li.order-line", has_text="买五赠一")
    await gift.wait_for()
    assert "赠品" in await gift.inner_text() and f"{pack} {sku['base_unit']}" in (
        await gift.inner_text()
    )
    assert number.startswith("SO-")
    await assert_no_horizontal_scroll(page)
    await shot(page, "order-gift")
    assert not page.console_errors, page.console_errors
