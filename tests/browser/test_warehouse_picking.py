"""On a phone (390×844) and a desktop: the warehouse's alert list (one tap from the queue),
safety stock saved through htmx, and the pick list on screen and in print; axe on each page."""

from __future__ import annotations

import re

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in
from tests.browser.test_accessibility import Audit
from tests.browser.test_dealer_orders import htmx_settled


async def test_alerts_safety_stock_and_pick_list(phone, shot):
    page = phone
    await sign_in(page, DEMO_LOGINS["warehouse"], DEMO_PASSWORD)
    await page.goto("/warehouse")
    audit = Audit(page)
    await audit.check("/warehouse")
    await assert_no_horizontal_scroll(page)
    await shot(page, "warehouse-queue")
    badge = page.locator(".warehouse-links a[href='/stock/alerts'] .count-badge")
    assert int(await badge.inner_text()) > 0  # the demo has SKUs under their safety stock

    # One tap to the alert list.
    await page.locator(".warehouse-links a[href='/stock/alerts']").click()
    await page.wait_for_url(re.compile(r"/stock/alerts$"))
    await assert_no_horizontal_scroll(page)
    await audit.check("/stock/alerts")
    await shot(page, "stock-alerts")

    # Safety stock through htmx: only the form is swapped, the page stays.
    item = page.locator(".safety-alerts > li").first
    await item.locator("summary").click()
    form = item.locator("form.safety-form")
    field = form.locator("input[name=safety_stock]")
    before = await field.input_value()
    await field.fill(str(int(before) + 1))
    async with page.expect_response(lambda r: "/safety-stock" in r.url and r.ok):
        await form.locator("button[type=submit]").click()
    await htmx_settled(page)
    assert await item.locator(".safety-saved").count() == 1
    assert re.search(r"/stock/alerts$", page.url)
    # A value the server refuses (the browser's own checks removed) shows its reason inline.
    await field.evaluate("el => { el.removeAttribute('max'); el.removeAttribute('min'); }")
    await field.fill("99999999999")
    async with page.expect_response(lambda r: "/safety-stock" in r.url and r.status == 422):
        await item.locator("form.safety-form button[type=submit]").click()
    await htmx_settled(page)
    assert await item.locator(".field-error").count() == 1
    await audit.check("/stock/alerts (refused)")
    await item.locator("input[name=safety_stock]").fill(before)
    async with page.expect_response(lambda r: "/safety-stock" in r.url and r.ok):
        await item.locator("form.safety-form button[type=submit]").click()
    await htmx_settled(page)

    # The per-SKU page (the no-JS fallback and error page).
    href = await page.locator(".safety-alerts form.safety-form").first.get_attribute("action")
    await audit.visit(href or "", "/stock/{id}/safety-stock")

    # The pick list for every queued order of the first warehouse.
    await page.goto("/warehouse")
    await page.locator("#pick-form button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/warehouse/pick-list\?"))
    await assert_no_horizontal_scroll(page)
    await audit.check("/warehouse/pick-list")
    assert await page.locator("[data-print]").is_visible()
    await shot(page, "pick-list")
    await page.emulate_media(media="print")
    assert not await page.locator(".tabbar").is_visible()
    assert not await page.locator("form.warehouse-pick").is_visible()
    await page.emulate_media(media="screen")
    audit.assert_clean()
