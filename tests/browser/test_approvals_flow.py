"""On phones (390×844): a rep discounts beyond their authority, the manager approves from the
inbox with one tap, and the dealer sees the approved order."""

from __future__ import annotations

import re

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, build_plan
from tests.browser.conftest import PHONE, assert_no_horizontal_scroll, sign_in
from tests.browser.test_dealer_orders import (
    add_with_stepper,
    easy_sku,
    htmx_settled,
    search_catalog,
    search_term,
    submit_cart,
)


async def new_phone(browser, live_server: str):
    context = await browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(30_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


async def test_discount_beyond_authority_approved_by_the_manager(phone, browser, live_server, shot):
    plan = build_plan()
    dealer = next(d for d in plan.dealers if d["code"] == "D01")
    sku = easy_sku(2)

    # The admin adds the rule (idempotent enough: a second identical rule changes nothing).
    admin_ctx, admin, admin_errors = await new_phone(browser, live_server)
    await sign_in(admin, DEMO_LOGINS["admin"], DEMO_PASSWORD)
    await admin.goto("/admin/approval-rules")
    await admin.locator("#kind").select_option("discount_beyond_authority")
    await admin.locator("#approver_role").select_option("sales_manager")
    await admin.locator("form.form button[type=submit]").click()
    await admin.wait_for_url(re.compile(r"/admin/approval-rules$"))
    await assert_no_horizontal_scroll(admin)
    await admin_ctx.close()
    assert not admin_errors, admin_errors

    # The rep (authority 3 %) orders for D01 at 10 % off.
    page = phone
    await sign_in(page, DEMO_LOGINS["sales_rep"], DEMO_PASSWORD)
    await page.wait_for_url(re.compile(r"/dealers"))
    async with page.expect_response(lambda r: "/dealers?" in r.url and r.ok):
        await page.locator("#dealer-q").fill(dealer["name"][2:6])
    await htmx_settled(page)
    card = page.locator(".dealer-card").filter(has_text=dealer["name"]).first
    await card.locator("button.dealer-pick").click()
    await page.wait_for_url(re.compile(r"/catalog"))
    await search_catalog(page, search_term(sku))
    await add_with_stepper(page, sku["code"], taps=1)
    await page.goto("/cart")
    line = page.locator(".cart-line").filter(has_text=sku["code"]).first
    await line.locator(".price-details summary").click()
    await line.locator("input[name=percent_off]").fill("10")
    async with page.expect_response(lambda r: r.url.endswith("/price") and r.ok):
        await line.locator(".price-form button[type=submit]").first.click()
    await htmx_settled(page)
    await page.locator(".cart-line .authority-warn").first.wait_for()
    await assert_no_horizontal_scroll(page)
    await shot(page, "rep-discount")
    number = await submit_cart(page)
    assert "status-pending_approval" in await page.locator(".order-header").inner_html()
    order_url = page.url

    # The manager approves it from the inbox with one tap.
    mgr_ctx, mgr, mgr_errors = await new_phone(browser, live_server)
    await sign_in(mgr, DEMO_LOGINS["sales_manager"], DEMO_PASSWORD)
    await mgr.goto("/approvals")
    item = mgr.locator(".approval-card").filter(has_text=number).first
    await item.wait_for()
    assert "−" in await item.locator(".approval-sums").inner_text()  # below the dealer's price
    approve = item.locator("form[action$='/approve'] button")
    box = await approve.bounding_box()
    assert box and box["height"] >= 44, box
    await assert_no_horizontal_scroll(mgr)
    await shot(mgr, "manager-inbox")
    # Reject and send back are buttons to a reader (they open a form in the card), and answer
    # Space as buttons do; the form opened is then left.
    reject = item.get_by_role("button", name="驳回")
    await reject.focus()
    await mgr.keyboard.press(" ")
    await item.locator(".sheet-slot textarea, .sheet-slot input[name=reason]").first.wait_for()
    await mgr.goto("/approvals")
    item = mgr.locator(".approval-card").filter(has_text=number).first
    approve = item.locator("form[action$='/approve'] button")
    await approve.click()
    await mgr.wait_for_url(re.compile(r"/approvals$"))
    await mgr.locator(".alert-ok").wait_for()
    assert await mgr.locator(".approval-card").filter(has_text=number).count() == 0
    await mgr_ctx.close()
    assert not mgr_errors, mgr_errors

    # The dealer sees the approved order.
    buyer_ctx, buyer, buyer_errors = await new_phone(browser, live_server)
    await sign_in(buyer, DEMO_LOGINS["dealer_buyer"], DEMO_PASSWORD)
    await buyer.goto(order_url)
    assert "status-approved" in await buyer.locator(".order-header").inner_html()
    await buyer.goto("/notifications")
    await buyer.get_by_text(number).first.wait_for()
    await buyer_ctx.close()
    assert not buyer_errors, buyer_errors
    assert not page.console_errors, page.console_errors


async def test_finance_ticks_a_small_order_by_its_tap_target_and_approves_the_selection(
    phone, shot
):
    """The demo leaves a small over-credit order with finance: its card has a checkbox whose
    label is a full tap target, the number and date each keep to one line, and the selected
    orders are approved together."""
    page = phone
    await sign_in(page, DEMO_LOGINS["finance"], DEMO_PASSWORD)
    await page.goto("/approvals")
    card = page.locator(".approval-card").filter(has=page.locator(".approval-pick")).first
    await card.wait_for()
    number = (await card.locator(".approval-number").inner_text()).strip()
    target = await card.locator(".approval-pick-target").bounding_box()
    assert target and target["width"] >= 44 and target["height"] >= 44, target
    head = card.locator(".approval-card-head")
    shown = await head.locator(".approval-number").bounding_box()
    when = await head.locator("time").bounding_box()
    assert shown and when
    assert when["y"] >= shown["y"] + shown["height"] - 1  # the date under the number
    assert when["x"] >= target["x"] + target["width"] - 1  # both beside the checkbox
    assert when["height"] < 1.5 * 16 * 1.5  # one line
    await assert_no_horizontal_scroll(page)
    await shot(page, "finance-inbox")

    # A tap on the label's corner, off the checkbox itself, ticks it.
    await page.mouse.click(target["x"] + 3, target["y"] + 3)
    assert await card.locator(".approval-pick").is_checked()
    await page.locator("button[form=bulk-form]").click()
    await page.wait_for_url(re.compile(r"/approvals$"))
    await page.locator(".alert-ok").wait_for()
    assert await page.locator(".approval-card").filter(has_text=number).count() == 0
    assert not page.console_errors, page.console_errors
