"""A phone in the reader's language: English words are longer than Chinese ones, so a 360 px row
that fits 待审核 must still keep an order number whole beside "Awaiting approval"; and the app
installed on the home screen shows its offline page in the language the user picked since.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

# Markup, styles and scripts, the same on either engine: checked once, on PostgreSQL.
pytestmark = pytest.mark.markup_only

# Elements whose text wraps onto more than one line (a range gives one box per line).
BROKEN_JS = """sel => [...document.querySelectorAll(sel)].filter(el => {
  const r = document.createRange(); r.selectNodeContents(el);
  return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size > 1;
}).map(el => el.textContent.trim())"""

# Search fields too narrow to show their hint ("Dealer name or code") whole.
CLIPPED_HINT_JS = """() => [...document.querySelectorAll('input[placeholder]')].filter(el => {
  if (el.offsetParent === null) return false;
  const s = getComputedStyle(el);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
  const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  return ctx.measureText(el.placeholder).width > room;
}).map(el => `${el.id}: ${el.placeholder} in ${el.clientWidth}px`)"""

# The language of the offline page the service worker keeps.
KEPT_OFFLINE_LANG_JS = """() => caches.match('/offline').then(r => r ? r.text() : '')
  .then(t => (t.match(/<html lang="([^"]+)"/) || [])[1] || null)"""


async def choose_language(page, locale: str) -> None:
    await page.goto("/me")
    await page.locator("#locale").select_option(locale)
    async with page.expect_navigation():
        await page.locator("form[action='/lang'] button[type=submit]").click()


async def test_english_at_360_keeps_order_numbers_whole_and_search_hints_readable(phone, shot):
    page = phone
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, DEMO_LOGINS["warehouse"], DEMO_PASSWORD)
    await choose_language(page, "en")
    for path, numbers in (
        ("/warehouse", ".ship-queue-head strong"),
        ("/orders", ".order-number"),
    ):
        await page.goto(path)
        assert await page.locator(numbers).count() > 0, path
        assert await page.evaluate(BROKEN_JS, numbers) == [], f"{path}: order numbers broken"
        await assert_no_horizontal_scroll(page, width=360)
    await page.locator(".order-link").first.click()
    await page.wait_for_url("**/orders/*")
    assert await page.evaluate(BROKEN_JS, "h1.order-number") == []
    await page.goto("/stock")
    assert await page.evaluate(CLIPPED_HINT_JS) == []
    await choose_language(page, "zh_Hans")  # the demo users are shared by the browser tests
    await page.context.clear_cookies()

    await sign_in(page, DEMO_LOGINS["finance"], DEMO_PASSWORD)
    await choose_language(page, "en")
    await page.goto("/finance")
    assert await page.evaluate(CLIPPED_HINT_JS) == [], "the accounts search hides its hint"
    await assert_no_horizontal_scroll(page, width=360)
    await shot(page, "360-en-finance-accounts")
    await choose_language(page, "zh_Hans")


async def test_the_offline_page_is_in_the_language_the_user_picked(browser, live_server: str):
    context = await browser.new_context(base_url=live_server, locale="zh-CN")
    try:
        page = await context.new_page()
        # The worker installs on the first page (sign-in, in Simplified Chinese) and keeps its
        # offline page from then on.
        await sign_in(page, DEMO_LOGINS["dealer_buyer"], DEMO_PASSWORD)
        await page.evaluate("() => navigator.serviceWorker.ready")
        for locale, heading in (("en", "You are offline"), ("zh_Hant", "您已離線")):
            await choose_language(page, locale)
            # The worker fetches the page again in the background: wait until it has.
            for _ in range(50):
                kept = await page.evaluate(KEPT_OFFLINE_LANG_JS)
                if kept == locale.replace("_", "-"):
                    break
                await asyncio.sleep(0.2)
            assert kept == locale.replace("_", "-"), f"the offline page kept is in {kept}"
            await context.set_offline(True)
            # As in test_installable: the offline emulation may reach the worker a moment late.
            for attempt in range(3):
                await page.goto("/orders")
                try:
                    await page.locator(".offline-card h1").wait_for(timeout=5_000)
                    break
                except PlaywrightTimeoutError:
                    if attempt == 2:
                        raise
            assert (await page.locator(".offline-card h1").inner_text()).strip() == heading
            await context.set_offline(False)
        await choose_language(page, "zh_Hans")
    finally:
        await context.close()


async def test_a_visit_card_lays_out_every_order_alike_on_a_narrow_phone(phone, shot):
    """A rep's dealer card at 360 px, in Chinese and in English: order numbers stay whole
    beside a state and a total, and the rows of each list are laid out alike (a total had gone
    under some numbers and beside others, by how wide the amount was)."""
    page = phone
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, DEMO_LOGINS["sales_rep"], DEMO_PASSWORD)
    for locale in ("zh_Hans", "en"):
        await choose_language(page, locale)
        await page.goto("/dealers")
        # D01 by its code: the list puts the dealers ordered for last first, and others order.
        card = page.locator("li.dealer-card").filter(
            has=page.locator(".dealer-meta", has_text="D01")
        )
        await card.locator(".dealer-card-link").click()
        await page.wait_for_url("**/dealers/*")
        await shot(page, f"360-{locale}-visit-card")
        for rows in ("section[aria-labelledby=open-h] li", "section[aria-labelledby=last-h] li"):
            heights = await page.locator(rows).evaluate_all(
                "rows => rows.map(r => Math.round(r.getBoundingClientRect().height))"
            )
            assert len(heights) >= 2, (locale, rows)
            # Within a pixel: the last row has no bottom border.
            assert max(heights) - min(heights) <= 1, (locale, rows, heights)
        assert await page.evaluate(BROKEN_JS, ".visit-order-no") == [], "order numbers broken"
        await assert_no_horizontal_scroll(page, width=360)
    await choose_language(page, "zh_Hans")
