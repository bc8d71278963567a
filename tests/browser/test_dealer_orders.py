"""A dealer's buyer orders on a phone: sign in, search, step quantities up, submit, find it."""

from __future__ import annotations

import re
from functools import cache

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, build_plan
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

ORDER_NUMBER = re.compile(r"SO-\d{8}-\d{4}")


@cache
def easy_sku(index: int = 0) -> dict:
    """A demo SKU anyone may order one unit of, well in stock (the plan is deterministic)."""
    plan = build_plan()
    scarce = set(plan.low_stock) | set(plan.out_of_stock)
    restricted = {p["name"] for p in plan.products if p.get("visibility") == "restricted"}
    names = [p["name"] for p in plan.products]
    found = [
        s
        for s in plan.skus
        if s["code"] not in scarce
        and s["product"] not in restricted
        and s["moq"] == 1
        and s["order_multiple"] == 1
        # the product's name must pick it out: no other product contains it
        and sum(s["product"][1:] in n for n in names) == 1
    ]
    return found[index]


def search_term(sku: dict) -> str:
    """A Chinese substring of the product's name (not its start, not the whole)."""
    term = sku["product"].split(" ", 1)[-1]
    term = term[1:] if len(term) > 2 else sku["product"][1:]
    assert re.search(r"[\u4e00-\u9fff]", term), term
    return term


async def htmx_settled(page) -> None:
    """Wait until no htmx request is in flight and no swap is pending."""
    await page.wait_for_function(
        "() => window.htmx && !document.querySelector('.htmx-request, .htmx-swapping,"
        " .htmx-settling')"
    )


async def search_catalog(page, term: str) -> None:
    """Type a search into the catalog and wait for the results to be swapped in."""
    async with page.expect_response(lambda r: "/catalog?" in r.url and r.ok):
        await page.locator("#q").fill(term)
    await htmx_settled(page)
    names = await page.locator("li.sku-row .sku-name").all_inner_texts()
    assert names, f"no results for {term!r}"
    for name in names:
        assert term in name, f"{name!r} does not contain {term!r}"


async def add_with_stepper(page, code: str, taps: int) -> None:
    """Tap + on a catalog row `taps` times and wait until the server has the quantity."""
    row = page.locator("li.sku-row").filter(has=page.locator(".code", has_text=code))
    await row.first.wait_for()
    plus = row.first.locator("button.step[data-dir=up]")
    box = await plus.bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44, f"+ is too small to tap: {box}"
    # One tap at a time, each answered: two taps a stalled machine spreads past the stepper's
    # 400 ms pause would send two requests, the second aborting the first (htmx logs that).
    for _ in range(taps):
        async with page.expect_response(lambda r: "/catalog/qty/" in r.url):
            await plus.tap()
    await htmx_settled(page)
    row = page.locator("li.sku-row").filter(has=page.locator(".code", has_text=code)).first
    await row.locator(f"input[name=qty][value='{taps}']").wait_for()
    await page.wait_for_function(
        "code => [...document.querySelectorAll('li.sku-row')].some("
        "li => li.classList.contains('in-cart') && li.textContent.includes(code))",
        arg=code,
    )


async def submit_cart(page) -> str:
    """Submit the cart from /cart and return the order number shown on the order page."""
    await page.locator("button.submit-order").click()
    await page.wait_for_url(re.compile(r"/orders/\d+"))
    number = (await page.locator(".order-number").inner_text()).strip()
    assert ORDER_NUMBER.fullmatch(number), number
    return number


async def test_dealer_buyer_orders_from_the_catalog(phone, shot):
    page = phone
    sku = easy_sku()

    await page.goto("/login")
    await assert_no_horizontal_scroll(page)
    await shot(page, "login")

    await sign_in(page, DEMO_LOGINS["dealer_buyer"], DEMO_PASSWORD)
    assert not page.url.endswith("/login"), "sign-in failed"
    await assert_no_horizontal_scroll(page)
    await shot(page, "dealer-home")

    # The catalog, searched by a Chinese substring of the product name.
    await page.locator(".tabbar a[href='/catalog']").click()
    await page.wait_for_url(re.compile(r"/catalog"))
    await assert_no_horizontal_scroll(page)
    await search_catalog(page, search_term(sku))
    await add_with_stepper(page, sku["code"], taps=2)
    await assert_no_horizontal_scroll(page)
    await shot(page, "catalog")

    # The cart shows the line; submit it.
    await page.locator(".tabbar a[href='/cart']").click()
    await page.wait_for_url(re.compile(r"/cart"))
    cart = page.locator("#cart-body")
    await cart.get_by_text(sku["code"]).or_(cart.get_by_text(sku["name"])).first.wait_for()
    await assert_no_horizontal_scroll(page)
    await shot(page, "cart")
    number = await submit_cart(page)

    # The order page: number, status, the line.
    status = (await page.locator(".order-header .status").inner_text()).strip()
    assert status
    await page.locator(".order-line", has_text=sku["code"]).wait_for()
    qty_text = await page.locator(".order-line", has_text=sku["code"]).inner_text()
    assert re.search(r"\b2\b", qty_text), qty_text
    await assert_no_horizontal_scroll(page)
    await shot(page, "order")

    # ...and it is in "my orders".
    await page.locator(".tabbar a[href='/orders']").click()
    await page.wait_for_url(re.compile(r"/orders$|/orders\?"))
    await page.get_by_text(number).first.wait_for()
    await assert_no_horizontal_scroll(page)
    await shot(page, "orders")

    assert not page.console_errors, page.console_errors


SMALL_PAGES = ["/", "/catalog", "/cart", "/orders", "/me"]
# Visible controls a thumb taps that are under 44 px high (a control inside a big enough
# label counts as big enough: the label is the target).
SMALL_TAP_TARGETS_JS = """() => {
  const selector = '.tabbar a, .btn, button, .stepper .step, input:not([type=hidden]), select';
  const height = el => el.getBoundingClientRect().height;
  return [...document.querySelectorAll(selector)]
    .filter(el => el.offsetParent !== null && getComputedStyle(el).visibility !== 'hidden')
    .filter(el => !el.closest('.visually-hidden'))
    .filter(el => el.getBoundingClientRect().width > 0 && height(el) > 0)
    .filter(el => Math.max(height(el), el.closest('label') ? height(el.closest('label')) : 0) < 44)
    .map(el => {
      const r = el.getBoundingClientRect();
      const text = (el.textContent || el.name || '').trim().slice(0, 20);
      return `${el.tagName.toLowerCase()}.${el.className} "${text}" ${r.width | 0}x${r.height | 0}`;
    });
}"""


async def test_a_small_phone_fits_every_dealer_page(phone, shot):
    """At 360 px nothing scrolls sideways and the things a thumb taps are at least 44 px."""
    page = phone
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, DEMO_LOGINS["dealer_admin"], DEMO_PASSWORD)
    for path in SMALL_PAGES:
        await page.goto(path)
        await assert_no_horizontal_scroll(page, width=360)
        small = await page.evaluate(SMALL_TAP_TARGETS_JS)
        assert not small, f"{path}: tap targets under 44 px: {small}"
        name = path.strip("/").replace("/", "-") or "home"
        await shot(page, f"360-{name}")
    assert not page.console_errors, page.console_errors


async def test_a_category_chip_is_picked_by_its_name(phone, shot):
    """A category chip is its radio: checking it by its label, or tapping its name, filters.

    The radio used to be a 1 px square beside its chip, so checking it by its label (as a
    screen reader or a test does) landed on the neighbouring chip; sub-category chips were
    36 px high.
    """
    page = phone
    plan = build_plan()
    top = next(name for name, parent, _sort in plan.categories if parent is None)
    await sign_in(page, DEMO_LOGINS["dealer_buyer"], DEMO_PASSWORD)
    await page.goto("/catalog")
    async with page.expect_response(lambda r: "/catalog?" in r.url and r.ok):
        await page.get_by_label(top, exact=True).check()
    await htmx_settled(page)
    assert re.search(r"[?&]category=\d+", page.url), page.url
    assert await page.get_by_label(top, exact=True).is_checked()
    subcats = page.locator("#subcats .c-chip")
    assert await subcats.count() > 1, "the category has no sub-category chips"
    for chip in await subcats.all():
        box = await chip.bounding_box()
        assert box and box["height"] >= 44, f"sub-category chip too small: {box}"
    second = (await subcats.nth(1).inner_text()).strip()
    async with page.expect_response(lambda r: "/catalog?" in r.url and r.ok):
        await page.locator("#subcats").get_by_text(second, exact=True).click()
    await htmx_settled(page)
    assert await page.get_by_label(second, exact=True).is_checked()
    assert re.search(r"[?&]sub=\d+", page.url), page.url
    await assert_no_horizontal_scroll(page)
    await shot(page, "catalog-subcategory")
    assert not page.console_errors, page.console_errors


async def test_enter_in_the_search_box_asks_once_and_clearing_lists_again(phone):
    """Enter in the search box is one request (it had been two, the search event and the
    form's submit, the first aborted and logged as an error); emptying the box lists the
    catalog again."""
    page = phone
    await sign_in(page, DEMO_LOGINS["dealer_buyer"], DEMO_PASSWORD)
    await page.goto("/catalog")
    listed = await page.locator("li.sku-row").count()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/catalog?" in r.url else None)
    term = search_term(easy_sku())
    async with page.expect_response(lambda r: "/catalog?" in r.url and r.ok):
        await page.locator("#q").fill(term)
    await htmx_settled(page)
    asked.clear()
    async with page.expect_response(lambda r: "/catalog?" in r.url and r.ok):
        await page.locator("#q").press("Enter")
    await htmx_settled(page)
    await page.wait_for_timeout(400)  # the time a second request would have taken to start
    assert len(asked) == 1, asked
    async with page.expect_response(lambda r: "/catalog?" in r.url and r.ok):
        await page.locator("#q").fill("")
    await htmx_settled(page)
    assert await page.locator("li.sku-row").count() == listed
    assert not page.console_errors, page.console_errors
