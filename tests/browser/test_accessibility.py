"""axe-core on each role's main pages, on a phone (390×844) and a desktop (1280×800), and on
the phone in dark mode: no violations of any impact (labels, contrast, landmarks, heading
order, names of links)."""

from __future__ import annotations

import re

import pytest

from portal.demo import DEMO_PASSWORD
from tests.browser.axe import axe_violations, describe
from tests.browser.conftest import NO_SERVICE_WORKER, sign_in
from tests.browser.test_dealer_orders import htmx_settled

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
CONTEXT = {
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "viewport": SIZES["phone"],
    "color_scheme": "light",
    "service_workers": NO_SERVICE_WORKER,
}

# Users the other browser tests do not touch, so carts and orders stay theirs.
DEALER = "d02buyer"
DEALER_ADMIN = "d02admin"
REP = "rep2"

# The same HTML and CSS on either engine: checked once, on PostgreSQL.
pytestmark = pytest.mark.markup_only


@pytest.fixture
async def context(browser, live_server: str):
    ctx = await browser.new_context(base_url=live_server, **CONTEXT)
    ctx.set_default_timeout(30_000)
    yield ctx
    await ctx.close()


class Audit:
    """Runs axe on pages at both sizes and keeps every violation for one assertion at the end."""

    def __init__(self, page) -> None:
        self.page = page
        self.found: list[str] = []
        self.checked: list[str] = []

    async def check(self, label: str) -> None:
        for size, viewport in SIZES.items():
            await self.page.set_viewport_size(viewport)
            violations = await axe_violations(self.page)
            self.checked.append(f"{label}@{size}")
            if violations:
                self.found.append(describe(violations, f"{label} ({self.page.url}) @{size}"))
        await self.page.set_viewport_size(SIZES["phone"])
        # Dark mode follows the system: it must be as readable (contrast) as the light one. Only
        # colours change (the same markup and layout were just checked by every rule).
        await self.page.emulate_media(color_scheme="dark")
        violations = await axe_violations(self.page, colours_only=True)
        await self.page.emulate_media(color_scheme="light")
        self.checked.append(f"{label}@phone-dark")
        if violations:
            self.found.append(describe(violations, f"{label} ({self.page.url}) @phone-dark"))

    async def visit(self, path: str, label: str | None = None) -> None:
        response = await self.page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        await self.check(label or path)

    def assert_clean(self) -> None:
        assert not self.found, "axe violations:\n" + "\n".join(self.found)


async def _first_href(page, selector: str) -> str:
    link = page.locator(selector).first
    await link.wait_for()
    href = await link.get_attribute("href")
    assert href, selector
    return href


async def test_login_page_is_accessible(context):
    page = await context.new_page()
    audit = Audit(page)
    await audit.visit("/login")
    await audit.visit("/schema", "API reference")
    audit.assert_clean()


async def test_dealer_pages_are_accessible(context):
    page = await context.new_page()
    await sign_in(page, DEALER, DEMO_PASSWORD)
    audit = Audit(page)
    await audit.visit("/", "home")
    await audit.visit("/catalog")
    product = await _first_href(page, "li.sku-row a.sku-name")
    await audit.visit(product, "product")

    # A cart with a line: one tap on the first row's +.
    await page.goto("/catalog")
    async with page.expect_response(lambda r: "/catalog/qty/" in r.url):
        await page.locator("li.sku-row button.step[data-dir=up]").first.click()
    await htmx_settled(page)
    await audit.check("catalog with a line in the cart")
    await audit.visit("/cart")
    assert await page.locator("form.cart-submit, button.submit-order").count(), "cart is empty"

    await audit.visit("/orders")
    order = await _first_href(page, "a[href^='/orders/']")
    assert re.fullmatch(r"/orders/\d+", order), order
    await audit.visit(order, "order")
    await audit.visit("/me")
    await audit.visit("/me/password")
    audit.assert_clean()


async def test_dealer_admin_pages_are_accessible(context):
    """A dealer's users and addresses, as its administrator keeps them (read only here)."""
    page = await context.new_page()
    await sign_in(page, DEALER_ADMIN, DEMO_PASSWORD)
    audit = Audit(page)
    await audit.visit("/me")
    users = await _first_href(page, "a[href$='/users']")
    await audit.visit(users, "users")
    await audit.visit(await _first_href(page, ".team-row a"), "user")
    addresses = users.replace("/users", "/addresses")
    await audit.visit(addresses, "addresses")
    await audit.visit(await _first_href(page, ".team-row a"), "address")
    audit.assert_clean()


async def test_rep_pages_are_accessible(context):
    page = await context.new_page()
    await sign_in(page, REP, DEMO_PASSWORD)
    await page.wait_for_url(re.compile(r"/dealers"))
    audit = Audit(page)
    await audit.check("/dealers")
    await page.locator("button.dealer-pick").first.click()
    await page.wait_for_url(re.compile(r"/catalog"))
    await audit.check("/catalog for a dealer")
    await audit.visit("/cart")
    await audit.visit("/orders")
    audit.assert_clean()


@pytest.mark.parametrize("role", ["finance", "warehouse", "admin"])
async def test_staff_pages_are_accessible(context, role: str):
    from portal.demo import DEMO_LOGINS

    page = await context.new_page()
    await sign_in(page, DEMO_LOGINS[role], DEMO_PASSWORD)
    audit = Audit(page)
    await audit.visit("/", "home")
    await audit.visit("/orders")
    audit.assert_clean()


async def test_axe_finds_violations(context):
    # The audit must be able to fail: an unlabelled field and an image without alt are caught.
    page = await context.new_page()
    await page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>t</h1>'
        '<input type="text"><img src="data:,"></main></body></html>'
    )
    ids = {v["id"] for v in await axe_violations(page)}
    assert {"label", "image-alt"} <= ids, ids


async def test_keyboard_reaches_content_with_a_visible_focus(context):
    # The first Tab lands on the skip link, which is shown and takes focus to <main>; every
    # focused control draws an outline.
    page = await context.new_page()
    await sign_in(page, DEALER, DEMO_PASSWORD)
    await page.goto("/catalog")
    await page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert await skip.evaluate("el => el === document.activeElement")
    box = await skip.bounding_box()
    assert box and box["x"] >= 0, "the skip link stays off screen when focused"
    await page.keyboard.press("Enter")
    assert await page.evaluate("() => location.hash") == "#main"
    for _ in range(4):
        await page.keyboard.press("Tab")
        outline = await page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
        )
        assert outline[1] != "none" and outline[2] != "0px", outline


# Pages of approvals, fulfilment and money, per role: (path, or a CSS selector of a link to
# follow from the previous page, with a name for the report).
SECOND_ROUND_PAGES = {
    "sales_manager": [
        ("/approvals", None),
        ("/reports", None),
        ("/reports?preset=this_year", None),
        ("/dealers", "a[href^='/dealers/']"),
        ("/notifications", None),
    ],
    "finance": [
        ("/approvals", None),
        ("/finance", "a[href^='/finance/dealers/']"),
        ("/dealers", "a[href^='/dealers/']"),
        ("/admin/audit?entity=order", None),
    ],
    "warehouse": [
        ("/warehouse", "a[href^='/warehouse/orders/']"),
        ("/stock", None),
        ("/admin/data", None),
    ],
    "admin": [
        ("/admin/approval-rules", None),
        ("/notifications", None),
        ("/reports", None),
        ("/admin/data", None),
        ("/admin/users", "a[href^='/admin/users/']"),
        ("/admin/warehouses", "a[href^='/admin/warehouses/']"),
        ("/admin/settings", None),
        ("/me/api-keys", None),
        ("/admin/tiers", "a[href^='/admin/tiers/']"),
        ("/admin/categories", "a[href^='/admin/categories/']"),
        ("/admin/promotions", "a[href^='/admin/promotions/']"),
        ("/admin/skus", "a[href^='/admin/skus/']"),
        ("/admin/products/new", None),
        ("/admin/products/1/skus/new", None),  # the demo's first product
        ("/admin/dealers/new", None),
        ("/dealers", "a[href^='/dealers/']"),
        ("/admin/dealers/1", None),  # the demo's first dealer
        ("/admin/audit", None),
    ],
    "dealer_buyer": [
        ("/account/statement", None),
        ("/notifications", None),
        ("/promotions", None),
    ],
}


@pytest.mark.parametrize("role", sorted(SECOND_ROUND_PAGES))
async def test_approval_and_fulfilment_pages_are_accessible(context, role: str):
    from portal.demo import DEMO_LOGINS

    page = await context.new_page()
    await sign_in(page, DEMO_LOGINS[role], DEMO_PASSWORD)
    audit = Audit(page)
    for path, follow in SECOND_ROUND_PAGES[role]:
        await audit.visit(path)
        if follow:
            target = await _first_href(page, follow)
            await audit.visit(target, f"{path} → detail")
    audit.assert_clean()


# --- detail pages: shipment, return (form and page), reject sheet, stock adjust, rule edit ---

# Dealers no other browser test orders for, so their orders and returns stay ours.
RETURN_DEALER = "d05buyer"
APPROVAL_DEALER = "d06buyer"


async def _signed_in(browser, live_server: str, username: str):
    ctx = await browser.new_context(base_url=live_server, **CONTEXT)
    ctx.set_default_timeout(30_000)
    page = await ctx.new_page()
    await sign_in(page, username, DEMO_PASSWORD)
    return ctx, page


async def test_detail_pages_are_accessible(browser, live_server: str):
    from portal.demo import DEMO_LOGINS
    from tests.browser.returns_data import order_for_the_manager, photo_bytes, shipped_order

    contexts = []
    audits: list[Audit] = []
    try:
        for username in (DEMO_LOGINS["warehouse"], RETURN_DEALER, "admin", "manager"):
            contexts.append(await _signed_in(browser, live_server, username))
        (_, clerk), (_, dealer), (_, admin), (_, manager) = contexts
        audits += [Audit(p) for p in (clerk, dealer, admin, manager)]
        at_clerk, at_dealer, at_admin, at_manager = audits

        # The shipment, as the warehouse just shipped it and as the dealer sees it (签收 form).
        order, shipment_path = await shipped_order(live_server, RETURN_DEALER, 11, clerk)
        await at_clerk.check("shipment (warehouse)")
        await at_dealer.visit(shipment_path, "shipment (dealer)")

        # The return form: empty, refused (nothing entered), then sent with a photo.
        await at_dealer.visit(f"/orders/{order['id']}/returns/new", "return form")
        async with dealer.expect_navigation():
            await dealer.locator("#return-form button[type=submit]").click()
        assert await dealer.locator(".field-error").count(), "the empty form was not refused"
        await at_dealer.check("return form refused")
        await dealer.locator("#return-form input[name^=qty_]").first.fill("1")
        await dealer.locator("#reason").fill("外箱破损，瓶身漏液")
        await dealer.locator("#photos-pick").set_input_files(
            [{"name": "破损.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes()}]
        )
        async with dealer.expect_navigation():
            await dealer.locator("#return-form button[type=submit]").click()
        assert re.search(r"/returns/\d+$", dealer.url), dealer.url
        return_path = dealer.url.split(live_server, 1)[-1]
        assert await dealer.locator(".photo-strip img").count() == 1
        await at_dealer.check("return (dealer, with a photo)")

        # Staff decide, then the warehouse receives.
        await at_admin.visit(return_path, "return (decision form)")
        async with admin.expect_navigation():
            await admin.locator("#decision-form button[value=approve]").click()
        await at_admin.check("return (approved)")
        await at_clerk.visit(return_path, "return (receive form)")

        # Stock: the adjust form opened, and refused (no quantity).
        await at_clerk.visit("/stock", "stock")
        row = clerk.locator(".stock-row").first
        await row.locator("details:has(form.stock-adjust) > summary").click()
        await at_clerk.check("stock adjust form")
        async with clerk.expect_navigation():
            await row.locator("form.stock-adjust button[type=submit]").click()
        await at_clerk.check("stock adjust refused")
        backorders = await clerk.goto("/backorders")
        if backorders is not None and backorders.status != 404:  # built by another task
            assert backorders.ok, backorders.status
            await at_clerk.check("/backorders")

        # The reject sheet: as its own page and opened over the inbox card by htmx.
        pending = await order_for_the_manager(live_server, APPROVAL_DEALER)
        await manager.goto("/approvals")
        card = manager.locator("li", has_text=pending["number"]).first
        reject = card.locator("a[href$='/reject']")
        href = await reject.get_attribute("href")
        assert href, "no reject link on the card"
        await at_manager.visit(href, "reject sheet")
        await manager.goto("/approvals")
        async with manager.expect_response(lambda r: r.url.endswith("/reject")):
            await (
                manager.locator("li", has_text=pending["number"])
                .first.locator("a[href$='/reject']")
                .click()
            )
        await htmx_settled(manager)
        sheet = manager.locator("form.approval-sheet")
        await sheet.locator("textarea").wait_for()
        # A second tap replaces the sheet rather than adding another one.
        async with manager.expect_response(lambda r: r.url.endswith("/reject")):
            await (
                manager.locator("li", has_text=pending["number"])
                .first.locator("a[href$='/reject']")
                .click()
            )
        await htmx_settled(manager)
        assert await sheet.count() == 1
        # Nothing (the bulk-approve bar) lies over the sheet's button: a tap reaches it.
        button = sheet.locator("button[type=submit]")
        await button.scroll_into_view_if_needed()
        hit = await button.evaluate(
            "b => { const r = b.getBoundingClientRect();"
            " const e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
            " return e === b || b.contains(e); }"
        )
        assert hit, "the sheet's button is covered"
        await at_manager.check("reject sheet over the card")
        # Rejected with a reason, so the inbox is as the other tests expect it.
        await sheet.locator("textarea").fill("库存调整，请分批下单")
        async with manager.expect_response(lambda r: r.url.endswith("/reject")):
            await sheet.locator("button[type=submit]").click()
        await htmx_settled(manager)
        await manager.goto("/approvals")
        assert not await manager.locator("li", has_text=pending["number"]).count()

        # An approval rule's edit page.
        await at_admin.visit("/admin/approval-rules")
        await at_admin.visit(
            await _first_href(admin, "a[href^='/admin/approval-rules/']"), "approval rule edit"
        )
        # Webhooks: the list with its form, the secret shown once, the edit page. Added
        # inactive, so the live server's sender never tries to reach it.
        await at_admin.visit("/admin/webhooks")
        await admin.fill("#wh-url", "https://erp.example.com/hooks/portal")
        await admin.locator("input[name=events][value='order.approved']").check()
        await admin.locator("input[name=active]").uncheck()
        async with admin.expect_navigation():
            await admin.locator("form[action='/admin/webhooks'] button[type=submit]").click()
        assert (await admin.locator("#wh-secret").input_value()).startswith("whsec_")
        await at_admin.check("webhook added, its secret shown")
        await at_admin.visit(
            await _first_href(admin, "a[href^='/admin/webhooks/']"), "webhook edit"
        )
    finally:
        for ctx, _page in contexts:
            await ctx.close()
    found = [line for a in audits for line in a.found]
    assert not found, "axe violations:\n" + "\n".join(found)
