"""Every link, button and field a thumb taps is at least 44 × 44 px, on staff pages too.

A link inside a sentence is exempt (it is text); a checkbox or radio counts by its label.
"""

from __future__ import annotations

import pytest

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in
from tests.browser.test_screenshots import choose_language

# Markup, styles and scripts, the same on either engine: checked once, on PostgreSQL.
pytestmark = pytest.mark.markup_only

TOO_SMALL_JS = """() => {
  const big = r => r.width >= 44 && r.height >= 44;
  return [...document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary')]
    .filter(el => el.offsetParent !== null && getComputedStyle(el).visibility !== 'hidden')
    .filter(el => !el.closest('.visually-hidden, .skip-link, [hidden]'))
    .filter(el => !(el.tagName === 'A' && getComputedStyle(el).display === 'inline'
                    && el.closest('p, li, td, dd, small')))
    .filter(el => {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || big(r)) return false;
      const label = el.closest('label');
      return !(label && big(label.getBoundingClientRect()));
    })
    .map(el => {
      const r = el.getBoundingClientRect();
      const text = (el.textContent || el.name || '').trim().slice(0, 20);
      return `${el.tagName.toLowerCase()}.${el.className} "${text}" ${r.width | 0}x${r.height | 0}`;
    });
}"""


async def assert_big_enough(page) -> None:
    await assert_no_horizontal_scroll(page, width=360)
    small = await page.evaluate(TOO_SMALL_JS)
    assert not small, f"{page.url}: tap targets under 44 × 44 px: {small}"


async def test_staff_and_dealer_pages_have_44px_targets(phone, shot):
    page = phone
    await page.set_viewport_size({"width": 360, "height": 740})

    await sign_in(page, DEMO_LOGINS["dealer_admin"], DEMO_PASSWORD)
    await page.goto("/catalog?q=冰红茶")
    await assert_big_enough(page)  # the product names in the rows
    await page.locator("li.sku-row .sku-name").first.click()
    await page.wait_for_url("**/products/*")
    await assert_big_enough(page)  # the breadcrumbs
    # A spec × flavour grid wider than the phone scrolls inside its box, hidden labels and
    # all (in English they pushed the whole page to 482 px at 390).
    await choose_language(page, "en")
    try:
        await page.goto("/catalog?q=跳跳 姜汁汽水")
        await page.locator("li.sku-row .sku-name").first.click()
        await page.wait_for_url("**/products/*")
        assert await page.locator("table.variant-grid").count() == 1
        await page.set_viewport_size({"width": 390, "height": 844})
        await assert_no_horizontal_scroll(page, 390)
        await page.set_viewport_size({"width": 360, "height": 740})
        await assert_big_enough(page)
    finally:
        await choose_language(page, "zh_Hans")
    await page.goto("/me")
    await page.locator("a[href$='/users']").click()
    await page.wait_for_url("**/users")
    await assert_big_enough(page)  # short names in the list
    await page.context.clear_cookies()

    await sign_in(page, DEMO_LOGINS["sales_manager"], DEMO_PASSWORD)
    for path in ("/approvals", "/reports"):
        await page.goto(path)
        await assert_big_enough(page)  # order numbers on cards; exposure rows, exports
    await shot(page, "360-manager-reports")
    await page.context.clear_cookies()

    await sign_in(page, DEMO_LOGINS["finance"], DEMO_PASSWORD)
    await page.goto("/admin/audit")
    await assert_big_enough(page)
    await page.goto("/finance")
    await assert_big_enough(page)
    assert not page.console_errors, page.console_errors
