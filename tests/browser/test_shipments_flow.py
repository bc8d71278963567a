"""On a phone (390×844): the warehouse splits an order into two shipments from two
warehouses; the dealer confirms receipt of one."""

from __future__ import annotations

import re
import uuid

import httpx

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in
from tests.browser.test_dealer_orders import easy_sku


async def place_order(base: str, code: str, qty: int) -> dict:
    """The dealer's buyer places an order through the API (the ordering UI is tested apart)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        token = await api.post(
            "/api/v1/auth/token",
            json={"username": DEMO_LOGINS["dealer_buyer"], "password": DEMO_PASSWORD},
        )
        assert token.status_code == 200, token.text
        headers = {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        r = await api.post(
            "/api/v1/orders",
            json={"lines": [{"sku_code": code, "qty": qty}]},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        return r.json()


async def test_split_shipment_and_receipt(phone, live_server, shot):
    sku = easy_sku(7)
    order = await place_order(live_server, sku["code"], 3)
    assert order["status"] == "approved", order["status"]
    page = phone

    await sign_in(page, DEMO_LOGINS["warehouse"], DEMO_PASSWORD)
    await page.goto("/warehouse")
    await page.get_by_role("link", name=re.compile(order["number"])).click()
    await page.wait_for_load_state("load")
    await assert_no_horizontal_scroll(page)
    await shot(page, "warehouse-pack")

    # First shipment: 2 from the warehouse the page suggests.
    qty = page.locator("input[name^=qty_]")
    await qty.fill("2")
    await page.locator("#carrier").fill("顺丰速运")
    await page.locator("#tracking_no").fill("SF100200300")
    await page.locator("input[name=ship_now]").check()
    await page.locator("#ship-form button[type=submit]").click()
    await page.wait_for_load_state("load")
    assert await page.locator(".shipment-sheet").count() == 1
    first_url = page.url
    first_number = f"{order['number']}-1"
    assert first_number in await page.locator("h1").inner_text()
    await assert_no_horizontal_scroll(page)
    await shot(page, "shipment-shipped")

    # Second shipment: the last one from the other warehouse.
    await page.goto(f"/warehouse/orders/{order['id']}")
    select = page.locator("#wh-pick")
    chosen = await select.input_value()
    other = [
        v
        for v in await select.locator("option").evaluate_all("os => os.map(o => o.value)")
        if v != chosen
    ][0]
    await select.select_option(other)
    await page.locator(".warehouse-pick button").click()
    await page.wait_for_load_state("load")
    await page.locator("input[name^=qty_]").fill("1")
    await page.locator("input[name=ship_now]").check()
    await page.locator("#ship-form button[type=submit]").click()
    await page.wait_for_load_state("load")
    assert f"{order['number']}-2" in await page.locator("h1").inner_text()

    # The stock list, filtered to what is under safety stock.
    await page.goto("/stock?under=1")
    assert await page.locator(".stock-row.under-safety").count() > 0
    await assert_no_horizontal_scroll(page)
    await shot(page, "stock-under-safety")

    # The dealer sees both on the order and confirms receipt of the first.
    await page.context.clear_cookies()
    await sign_in(page, DEMO_LOGINS["dealer_buyer"], DEMO_PASSWORD)
    await page.goto(f"/orders/{order['id']}")
    shipments = page.locator("#order-shipments .shipment-row")
    await shipments.first.wait_for()
    assert await shipments.count() == 2
    await assert_no_horizontal_scroll(page)
    await page.goto(first_url)
    await page.locator("#receipt-form button[name=confirm]").click()
    await page.wait_for_load_state("load")
    assert await page.locator(".status-received").count() == 1
    assert await page.locator("#receipt-form").count() == 0
    await assert_no_horizontal_scroll(page)
    await shot(page, "shipment-received")

    # Finance sees the invoices on the dealer's account.
    await page.context.clear_cookies()
    await sign_in(page, DEMO_LOGINS["finance"], DEMO_PASSWORD)
    await page.goto(f"/finance/dealers/{order['dealer_id']}")
    # Seen once (PostgreSQL, a full parallel run): no rows. Say what the page was if again.
    rows = await page.locator("table.ledger tbody tr").count()
    assert rows >= 2, (page.url, (await page.locator("main").inner_text())[:1500])
    await assert_no_horizontal_scroll(page)
    await shot(page, "finance-dealer")
    assert not page.console_errors, page.console_errors
