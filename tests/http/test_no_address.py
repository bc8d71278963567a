"""An order needs somewhere to ship to: a dealer whose last address was removed cannot place
one (page or API) until an address is added; nothing is written meanwhile."""

from __future__ import annotations

from portal.tables import Address, CartLine, Order
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer
from tests.http.test_pages_cart_orders import shop, submit_cart_page

EN = {"Accept-Language": "en"}


async def test_no_ship_to_address_no_order(client, db):
    s = await shop()
    await Address.delete().where(Address.dealer == s.dealer["id"])
    await sign_in(client, "buyer")
    page = await client.get("/catalog")
    await client.post(
        f"/cart/lines/{s.a['id']}", data={"qty": "12", "_csrf_token": csrf_from(page.text)}
    )
    _page, refused = await submit_cart_page(client)
    assert refused.status_code == 422
    assert "没有收货地址" in refused.text
    assert await Order.count() == 0
    assert await CartLine.count() == 1  # the cart stays as it was

    api = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "A100", "qty": 12}]},
        headers={**await bearer(client, "buyer"), **EN, "Idempotency-Key": "no-addr"},
    )
    body = assert_problem(api, 422, "validation")
    assert [e["field"] for e in body["errors"]] == ["address_id"]
    assert "no ship-to address" in body["errors"][0]["message"]
    assert await Order.count() == 0

    # An address added: the same cart goes through.
    await Address.insert(
        Address(
            dealer=s.dealer["id"],
            label="新仓",
            contact="李",
            phone="13900000000",
            line="上海市闵行区 1 号",
            is_default=True,
        )
    )
    await sign_in(client, "buyer")
    _page, placed = await submit_cart_page(client, follow_redirects=False)
    assert placed.status_code == 303 and await Order.count() == 1
    assert "新仓" in (await Order.select(Order.ship_to).first())["ship_to"]
