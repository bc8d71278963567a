"""Data the detail-page browser tests need and the demo does not have, made through the API
on the live server: a shipped order of a dealer, and an order waiting for the manager."""

from __future__ import annotations

import io
import math
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import httpx
from PIL import Image

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.browser.test_dealer_orders import easy_sku

# The demo's rule: orders from ¥5,000 wait for the regional manager.
MANAGER_THRESHOLD_FEN = 500_000


@asynccontextmanager
async def api(base: str, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = await client.post(
            "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


async def place(client: httpx.AsyncClient, code: str, qty: int) -> dict:
    r = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": code, "qty": qty}]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def shipped_order(base: str, dealer_user: str, sku_index: int, clerk_page, qty: int = 3):
    """An order of the dealer, shipped in full by the warehouse on its page (signed in on
    clerk_page); the order as the API gave it, and the shipment's path."""
    sku = easy_sku(sku_index)
    async with api(base, dealer_user) as dealer:
        order = await place(dealer, sku["code"], qty)
    assert order["status"] == "approved", order["status"]
    await clerk_page.goto(f"/warehouse/orders/{order['id']}")
    await clerk_page.locator("input[name^=qty_]").first.fill(str(qty))
    await clerk_page.locator("input[name=ship_now]").check()
    await clerk_page.locator("#ship-form button[type=submit]").click()
    await clerk_page.wait_for_load_state("load")
    assert re.search(r"/shipments/\d+$", clerk_page.url), clerk_page.url
    return order, clerk_page.url.split(base, 1)[-1]


async def order_for_the_manager(base: str, dealer_user: str) -> dict:
    """An order over the manager's threshold, of a SKU with the stock for it."""
    async with api(base, dealer_user) as dealer, api(base, DEMO_LOGINS["warehouse"]) as clerk:
        skus = (
            await dealer.get(
                "/api/v1/catalog/skus",
                params={"in_stock": "true", "sort": "price_desc", "per_page": 50},
            )
        ).json()["items"]
        for sku in skus:
            if sku["moq"] != 1 or sku["order_multiple"] != 1:
                continue
            price_fen = int(Decimal(sku["price"]["unit_price"]) * 100)
            qty = math.ceil(MANAGER_THRESHOLD_FEN / price_fen) + 1
            rows = (await clerk.get("/api/v1/stock", params={"q": sku["code"]})).json()["items"]
            if sum(r["available"] for r in rows) >= qty * 2:
                order = await place(dealer, sku["code"], qty)
                assert order["status"] == "pending_approval", order["status"]
                return order
    raise AssertionError("no SKU with the stock for an order over the manager's threshold")


def photo_bytes(colour: tuple[int, int, int] = (180, 60, 40)) -> bytes:
    """A small JPEG, as a phone's camera would send (smaller)."""
    img = Image.new("RGB", (640, 480), colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()
