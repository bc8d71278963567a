"""Promotions on a phone: a dealer sees what is on offer, the cart gives a gift (买赠) and tells
how much more earns a saving (满减), and the order keeps the gift as a zero-priced line."""

from __future__ import annotations

import re

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, build_plan
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in
from tests.browser.test_dealer_orders import htmx_settled, submit_cart

DEALER = "d09buyer"


def gift_sku() -> tuple[dict, int]:
    """The demo's 买五赠一 SKU (the first orderable one by the unit) and its pack size."""
    plan = build_plan()
    packs = {code: factor for code, _n, factor in plan.packs}
    sku = next(s for s in plan.skus if s["moq"] == 1 and s["order_multiple"] == 1)
    return sku, packs[sku["code"]]


async def tap_all(page, label: str) -> None:
    """As the administrator: tap every "恢复" (or "暂停") button on the promotions list."""
    await page.goto("/admin/promotions")
    while await page.locator("#promotions button", has_text=label).count():
        await page.locator("#promotions button", has_text=label).first.click()
        await page.wait_for_url(re.compile(r"/admin/promotions$"))


async def test_a_dealer_gets_a_gift_and_sees_the_saving_ahead(phone, shot):
    """The demo's promotions are paused: the administrator resumes them, and pauses them
    again at the end (the live server is shared by the other browser tests)."""
    page = phone
    await sign_in(page, DEMO_LOGINS["admin"], DEMO_PASSWORD)
    await tap_all(page, "恢复")
    await shot(page, "promotions-admin")
    try:
        await dealer_orders_with_a_gift(page, shot)
    finally:
        await page.context.clear_cookies()
        await sign_in(page, DEMO_LOGINS["admin"], DEMO_PASSWORD)
        await tap_all(page, "暂停")


async def dealer_orders_with_a_gift(page, shot) -> None:
    sku, pack = gift_sku()
    await page.context.clear_cookies()
    await sign_in(page, DEALER, DEMO_PASSWORD)
    promo_card = page.locator(".promo-card")
    await promo_card.wait_for()
    assert "买五赠一" in await promo_card.inner_text()
    await page.locator(".promo-card a[href='/promotions']").click()
    await page.wait_for_url(re.compile(r"/promotions$"))
    offers = await page.locator("#promotions").inner_text()
    assert "满8000减200" in offers and "年末特惠 92折" in offers
    await assert_no_horizontal_scroll(page)
    await shot(page, "promotions")

    # Five packs by quick order: the cart shows one pack free and the way to 满8000减200.
    await page.goto("/cart")
    await page.locator("#quick-order summary").click()
    await page.locator("#quick-text").fill(f"{sku['code']} {5 * pack}")
    await page.locator("#quick-order form button[type=submit]").first.click()
    await htmx_settled(page)
    gifts = page.locator("#cart-gifts")
    await gifts.wait_for()
    assert f"× {pack} {sku['base_unit']}" in await gifts.inner_text()
    assert "可减 ¥200.00" in await page.locator("#next-saving").inner_text()
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
