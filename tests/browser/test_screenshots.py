"""Screenshots of each role's main pages, on a phone and a desktop, in both Chinese scripts
(and the dealer's pages in dark mode), under test-artifacts/screenshots/ for a person to look
at. Along the way: the language switch on /me works and is remembered, pages do not scroll
sideways on a phone, and the page is in the language chosen."""

from __future__ import annotations

import re

import pytest

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.browser.conftest import (
    NO_SERVICE_WORKER,
    assert_no_horizontal_scroll,
    save_screenshot,
    sign_in,
)
from tests.browser.test_dealer_orders import htmx_settled

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
NARROW = {"width": 360, "height": 740}  # the narrowest phone the portal is made for
SCRIPTS = {"zh_Hans": ("zh-Hans", "订单"), "zh_Hant": ("zh-Hant", "訂單")}
# Users no other browser test orders with, so their carts and languages stay ours.
DEALER = "d02admin"
REP = "rep2"
LONG_NAME = "广州满天星供应链管理有限公司"  # D09, one of rep2's dealers

# The same HTML and CSS on either engine: checked once, on PostgreSQL.
pytestmark = pytest.mark.markup_only


@pytest.fixture
async def context(browser, live_server: str):
    ctx = await browser.new_context(
        base_url=live_server,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=SIZES["phone"],
        device_scale_factor=1,
        has_touch=True,
        service_workers=NO_SERVICE_WORKER,
    )
    ctx.set_default_timeout(30_000)
    yield ctx
    await ctx.close()


class Shots:
    def __init__(self, page, engine: str, role: str) -> None:
        self.page = page
        self.engine = engine
        self.role = role
        self.script = "zh_Hans"
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    async def take(self, name: str, *, dark: bool = False, narrow: bool = False) -> None:
        lang, orders_word = SCRIPTS[self.script]
        assert await self.page.get_attribute("html", "lang") == lang, self.page.url
        if self.role != "login":
            assert orders_word in await self.page.locator(".tabbar").inner_text(), self.page.url
        for size, viewport in SIZES.items():
            await self.page.set_viewport_size(viewport)
            if size == "phone":
                await assert_no_horizontal_scroll(self.page, viewport["width"])
            elif self.role != "login":
                # On a desktop the tabs are a sidebar on the left, beside the page, not over it.
                await assert_no_horizontal_scroll(self.page, viewport["width"])
                bar = await self.page.locator(".tabbar").bounding_box()
                main = await self.page.locator("main").bounding_box()
                assert bar and main and bar["x"] == 0 and bar["height"] > bar["width"], bar
                assert main["x"] >= bar["x"] + bar["width"] - 1, (bar, main)
            await self.page.evaluate("window.scrollTo(0, 0)")
            stem = f"{self.engine}-{self.script}-{size}-{self.role}-{name}"
            await save_screenshot(self.page, stem)
        if narrow:
            await self.page.set_viewport_size(NARROW)
            await assert_no_horizontal_scroll(self.page, NARROW["width"])
            stem = f"{self.engine}-{self.script}-narrow-{self.role}-{name}"
            await save_screenshot(self.page, stem, full_page=False)
        await self.page.set_viewport_size(SIZES["phone"])
        if dark:
            await self.page.emulate_media(color_scheme="dark")
            stem = f"{self.engine}-{self.script}-phone-dark-{self.role}-{name}"
            await save_screenshot(self.page, stem)
            await self.page.emulate_media(color_scheme="light")

    async def visit(self, path: str, name: str, **options: bool) -> None:
        response = await self.page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        await self.take(name, **options)


async def choose_language(page, locale: str) -> None:
    """Pick a language on /me the way a user does; it is kept for the user, not the device."""
    await page.goto("/me")
    await page.locator("#locale").select_option(locale)
    async with page.expect_navigation():
        await page.locator("form[action='/lang'] button[type=submit]").click()
    assert await page.locator("#locale").input_value() == locale


async def first_href(page, selector: str) -> str:
    link = page.locator(selector).first
    await link.wait_for()
    href = await link.get_attribute("href")
    assert href, selector
    return href


async def test_login_page_in_both_scripts(context, live_server: str, engine_name: str):
    page = await context.new_page()
    shots = Shots(page, engine_name, "login")
    for script in SCRIPTS:
        # Before signing in, the language is the device's (a cookie set by the switch).
        await context.add_cookies([{"name": "lang", "value": script, "url": live_server}])
        shots.script = script
        await shots.visit("/login", "login", dark=script == "zh_Hans")
    assert not shots.errors


async def dealer_pages(shots: Shots) -> None:
    page = shots.page
    await shots.visit("/", "home", dark=True, narrow=True)
    await shots.visit("/catalog", "catalog", dark=True)
    product = await first_href(page, "li.sku-row a.sku-name")
    # A line in the cart (one tap on the first +), so the cart and its summary have content.
    async with page.expect_response(lambda r: "/catalog/qty/" in r.url):
        await page.locator("li.sku-row button.step[data-dir=up]").first.click()
    await htmx_settled(page)
    await shots.take("catalog-in-cart")
    await shots.visit(product, "product")
    await shots.visit("/cart", "cart", dark=True)
    await shots.visit("/orders", "orders", narrow=True)
    await shots.visit(await first_href(page, "a[href^='/orders/']"), "order", dark=True)
    await shots.visit("/me", "me")


async def rep_pages(shots: Shots) -> None:
    page = shots.page
    await shots.visit("/dealers", "dealers")
    # The longest dealer name of the demo, to see how the banner wraps it.
    card = page.locator(".dealer-card").filter(has_text=LONG_NAME)
    await card.locator("button.dealer-pick").click()
    await page.wait_for_url(re.compile(r"/catalog"))
    await shots.take("catalog", narrow=True)
    await shots.visit("/cart", "cart")
    await shots.visit("/orders", "orders")
    await shots.visit("/me", "me")


async def staff_pages(shots: Shots) -> None:
    await shots.visit("/", "home")
    await shots.visit("/orders", "orders")


async def manager_pages(shots: Shots) -> None:
    await shots.visit("/approvals", "approvals")
    await shots.visit("/dealers", "dealers")
    await shots.visit("/notifications", "notifications")


async def finance_pages(shots: Shots) -> None:
    await shots.visit("/approvals", "approvals")
    await shots.visit("/finance", "accounts")
    await shots.visit("/orders", "orders")


async def warehouse_pages(shots: Shots) -> None:
    await shots.visit("/warehouse", "to-ship")
    await shots.visit("/stock", "stock")
    await shots.visit("/orders", "orders")


ROLES = {
    "dealer": (DEALER, dealer_pages),
    "rep": (REP, rep_pages),
    "manager": (DEMO_LOGINS["sales_manager"], manager_pages),
    "finance": (DEMO_LOGINS["finance"], finance_pages),
    "warehouse": (DEMO_LOGINS["warehouse"], warehouse_pages),
    "admin": (DEMO_LOGINS["admin"], staff_pages),
}


@pytest.mark.parametrize("role", list(ROLES))
async def test_main_pages_in_both_scripts(context, engine_name: str, role: str):
    username, pages = ROLES[role]
    page = await context.new_page()
    await sign_in(page, username, DEMO_PASSWORD)
    shots = Shots(page, engine_name, role)
    try:
        for script in SCRIPTS:
            await choose_language(page, script)
            shots.script = script
            await pages(shots)
    finally:
        await choose_language(page, "zh_Hans")
    assert not shots.errors, shots.errors


# Detail pages (shipment, return form and page, reject sheet, stock adjust, rule edit,
# backorders), made for this test by dealers no other browser test orders for.
DETAIL_DEALER = "d07buyer"
DETAIL_APPROVAL_DEALER = "d08buyer"


async def test_detail_pages(browser, live_server: str, engine_name: str):
    from tests.browser.returns_data import order_for_the_manager, photo_bytes, shipped_order

    contexts = []

    async def signed_in(username: str, role: str) -> Shots:
        ctx = await browser.new_context(
            base_url=live_server,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport=SIZES["phone"],
            device_scale_factor=1,
            has_touch=True,
            service_workers=NO_SERVICE_WORKER,
        )
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        page = await ctx.new_page()
        await sign_in(page, username, DEMO_PASSWORD)
        return Shots(page, engine_name, role)

    try:
        clerk = await signed_in(DEMO_LOGINS["warehouse"], "warehouse")
        dealer = await signed_in(DETAIL_DEALER, "dealer")
        admin = await signed_in(DEMO_LOGINS["admin"], "admin")
        manager = await signed_in(DEMO_LOGINS["sales_manager"], "manager")

        order, shipment_path = await shipped_order(live_server, DETAIL_DEALER, 12, clerk.page)
        await clerk.take("shipment", dark=True)
        await dealer.visit(shipment_path, "shipment", dark=True, narrow=True)
        await dealer.visit(f"/orders/{order['id']}/returns/new", "return-form", dark=True)
        page = dealer.page
        async with page.expect_navigation():
            await page.locator("#return-form button[type=submit]").click()
        await dealer.take("return-form-refused")
        await page.locator("#return-form input[name^=qty_]").first.fill("2")
        await page.locator("#reason").fill("外箱破损，其中两瓶漏液，照片见附件")
        await page.locator("#photos-pick").set_input_files(
            [
                {"name": f"破损{n}.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes(colour)}
                for n, colour in enumerate(((180, 60, 40), (40, 120, 180), (90, 160, 60)))
            ]
        )
        async with page.expect_navigation():
            await page.locator("#return-form button[type=submit]").click()
        assert re.search(r"/returns/\d+$", page.url), page.url
        return_path = page.url.split(live_server, 1)[-1]
        await dealer.take("return", dark=True, narrow=True)

        await admin.visit(return_path, "return-decision", dark=True)
        async with admin.page.expect_navigation():
            await admin.page.locator("#decision-form button[value=approve]").click()
        await clerk.visit(return_path, "return-receive", dark=True)
        await clerk.visit("/stock", "stock")
        await (
            clerk.page.locator(".stock-row")
            .first.locator("details:has(form.stock-adjust) > summary")
            .click()
        )
        await clerk.take("stock-adjust", dark=True)
        backorders = await clerk.page.goto("/backorders")
        if backorders is not None and backorders.status != 404:  # built by another task
            await clerk.take("backorders", dark=True)

        pending = await order_for_the_manager(live_server, DETAIL_APPROVAL_DEALER)
        await manager.page.goto("/approvals")
        card = manager.page.locator("li", has_text=pending["number"]).first
        href = await card.locator("a[href$='/reject']").get_attribute("href")
        assert href
        await manager.visit(href, "reject-sheet", dark=True, narrow=True)
        await manager.page.locator("form.approval-sheet textarea").fill("请分批下单")
        async with manager.page.expect_navigation():
            await manager.page.locator("form.approval-sheet button[type=submit]").click()

        await admin.visit("/admin/approval-rules", "rules")
        rule = await first_href(admin.page, "a[href^='/admin/approval-rules/']")
        await admin.visit(rule, "rule-edit", dark=True)
        for shots in (clerk, dealer, admin, manager):
            assert not shots.errors, shots.errors
    finally:
        for ctx in contexts:
            await ctx.close()
