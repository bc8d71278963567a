"""API orders: submit with an idempotency key, refusals with figures, bad input, scope, cancel."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.domain import supplier
from portal.tables import (
    IdempotencyKey,
    Order,
    OrderLine,
    Reservation,
    StockLevel,
    SupplierSettings,
    User,
)
from tests import factories as f
from tests.http.test_api_auth import EN, assert_problem, bearer

NUMBER = re.compile(r"^SO-\d{8}-\d{4}$")


@pytest.fixture
async def world(db) -> dict:
    """Dealer A (tier price 1.80/瓶, 100 瓶 in stock) with a buyer and a rep; dealer B apart."""
    t1 = await f.tier(name="一级经销商")
    wh = await f.warehouse()
    a = await f.dealer(t1, name="甲经销商", default_warehouse=wh)
    b = await f.dealer(t1, name="乙经销商", default_warehouse=wh)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=200)
    await f.tier_price(t1, water, price_fen=180)
    stock_row = await f.stock(water, wh, on_hand=100)
    await f.user("dealer_buyer", a, username="buyer_a")
    await f.user("dealer_buyer", b, username="buyer_b")
    rep = await f.user("sales_rep", username="rep_a")
    await f.assign(rep, a)
    await f.user("finance", username="fin")
    return {"a": a, "b": b, "water": water, "wh": wh, "stock": stock_row, "rep": rep}


def order_body(qty=24, **extra) -> dict:
    return {"lines": [{"sku_code": "W550", "qty": qty}], **extra}


async def submit(client, headers: dict, body: dict, key: str = "key-1"):
    return await client.post(
        "/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": key}
    )


async def written() -> tuple[int, int, int, int]:
    """Orders, order lines, idempotency keys and reserved units (all 0 if nothing was written)."""
    reserved = sum(r["reserved"] for r in await StockLevel.select(StockLevel.reserved))
    return (
        await Order.count(),
        await OrderLine.count(),
        await IdempotencyKey.count(),
        reserved,
    )


async def test_submit_replay_and_conflict(client, world):
    headers = await bearer(client, "buyer_a")
    first = await submit(client, headers, order_body(note="请周五前送达"))
    assert first.status_code == 201, first.text
    order = first.json()
    assert NUMBER.match(order["number"])
    assert order["status"] == "approved"
    assert order["dealer_id"] == world["a"]["id"]
    assert order["total"] == "43.20"
    assert order["list_total"] == "48.00"
    assert order["note"] == "请周五前送达"
    assert order["can_cancel"] is False  # approved: no longer the dealer's to cancel
    assert order["rep_name"] == ""
    [line] = order["lines"]
    assert line["sku_code"] == "W550"
    assert (line["qty"], line["unit"]) == (24, "瓶")
    assert (line["unit_price"], line["list_price"], line["line_total"]) == ("1.80", "2.00", "43.20")
    assert line["price_rule"] == "tier"
    assert line["price_rule_label"]
    assert [e["to_status"] for e in order["events"]] == ["pending_approval", "approved"]
    assert await written() == (1, 1, 1, 24)

    replay = await submit(client, headers, order_body(note="请周五前送达"))
    assert replay.status_code == 200, replay.text
    assert replay.json()["id"] == order["id"]
    assert replay.json()["number"] == order["number"]

    different = await submit(client, headers | EN, order_body(qty=48))
    body = assert_problem(different, 409, "conflict")
    assert body["idempotency_key"] == "key-1"
    assert await written() == (1, 1, 1, 24)

    second = await submit(client, headers, order_body(qty=1, note=""), key="key-2")
    assert second.status_code == 201
    assert second.json()["id"] != order["id"]


async def test_pack_units_and_sku_ids(client, world):
    headers = await bearer(client, "buyer_a")
    response = await submit(
        client, headers, {"lines": [{"sku_id": world["water"]["id"], "qty": 2, "unit": "箱"}]}
    )
    assert response.status_code == 201, response.text
    assert response.json()["lines"][0]["qty"] == 48
    assert response.json()["total"] == "86.40"


async def test_an_id_and_a_code_naming_different_skus_are_refused(client, world):
    other = await f.sku(code="C330", name="可乐 330ml", base_price_fen=300)
    await f.stock(other, world["wh"], on_hand=100)
    headers = {**await bearer(client, "buyer_a"), **EN}
    clash = {"lines": [{"sku_id": other["id"], "sku_code": "W550", "qty": 2}]}
    body = assert_problem(await submit(client, headers, clash, key="clash"), 422, "validation")
    [error] = body["errors"]
    assert error["field"] == "lines[0]"
    assert "C330" in error["message"] and "W550" in error["message"]
    assert await written() == (0, 0, 0, 0)
    # Both naming the same SKU (the code in any case, or its barcode): fine.
    same = {"lines": [{"sku_id": world["water"]["id"], "sku_code": "w550", "qty": 2}]}
    placed = await submit(client, headers, same, key="same")
    assert placed.status_code == 201, placed.text
    assert placed.json()["lines"][0]["sku_code"] == "W550"


async def test_rep_orders_for_an_assigned_dealer_only(client, world):
    headers = await bearer(client, "rep_a")
    ok = await submit(client, headers, order_body(dealer_id=world["a"]["id"]))
    assert ok.status_code == 201, ok.text
    assert ok.json()["dealer_id"] == world["a"]["id"]
    assert ok.json()["rep_name"] == world["rep"]["display_name"]

    before = await written()
    unassigned = await submit(client, headers | EN, order_body(dealer_id=world["b"]["id"]), "k2")
    body = assert_problem(unassigned, 404, "not-found")
    nowhere = await submit(client, headers | EN, order_body(dealer_id=999999), "k3")
    assert assert_problem(nowhere, 404, "not-found")["detail"] == body["detail"]
    missing = await submit(client, headers | EN, order_body(), "k4")
    assert assert_problem(missing, 422, "validation")["errors"][0]["field"] == "dealer_id"
    assert await written() == before


async def test_a_dealer_user_orders_for_their_own_dealer(client, world):
    headers = await bearer(client, "buyer_b")
    response = await submit(client, headers, order_body(dealer_id=world["b"]["id"]))
    assert response.status_code == 201
    assert response.json()["dealer_id"] == world["b"]["id"]
    response = await submit(client, headers, order_body(), key="key-2")  # no dealer_id: own
    assert response.status_code == 201
    assert response.json()["dealer_id"] == world["b"]["id"]


async def test_finance_cannot_place_orders(client, world):
    headers = await bearer(client, "fin")
    response = await submit(client, headers, order_body(dealer_id=world["a"]["id"]))
    assert_problem(response, 403, "forbidden")
    assert await written() == (0, 0, 0, 0)


async def test_credit_exceeded_gives_the_figures(client, world):
    from portal.tables import Dealer

    await Dealer.update({Dealer.credit_limit_fen: 5000, Dealer.balance_fen: 1000}).where(
        Dealer.id == world["a"]["id"]
    )
    headers = await bearer(client, "buyer_a")
    response = await submit(client, headers | EN, order_body(qty=48))
    body = assert_problem(response, 422, "credit-exceeded")
    assert body["available"] == "40.00"
    assert body["order_total"] == "86.40"
    assert body["credit_limit"] == "50.00"
    assert "40.00" in body["detail"] and "86.40" in body["detail"]
    assert await written() == (0, 0, 0, 0)


async def test_credit_exceeded_names_short_lines_too(client, world):
    from portal.tables import Dealer

    await Dealer.update({Dealer.credit_limit_fen: 5000}).where(Dealer.id == world["a"]["id"])
    headers = await bearer(client, "buyer_a")
    response = await submit(client, headers | EN, order_body(qty=120))  # 100 in stock
    body = assert_problem(response, 422, "credit-exceeded")
    assert body["available"] == "50.00"
    # The supplier shows dealers no stock numbers (the default): no figure.
    assert body["short_lines"] == [{"sku": "W550", "requested": 120, "available": None}]
    assert body["errors"][0]["field"] == "lines[0].qty"
    assert "not enough in stock" in body["errors"][0]["message"]
    assert await written() == (0, 0, 0, 0)


async def test_insufficient_stock_names_the_short_lines(client, world):
    other = await f.sku(code="T500", name="东方树叶 500ml", base_price_fen=500)
    await f.stock(other, world["wh"], on_hand=50)
    headers = await bearer(client, "buyer_a")
    response = await submit(
        client,
        headers | EN,
        {"lines": [{"sku_code": "T500", "qty": 10}, {"sku_code": "W550", "qty": 120}]},
    )
    body = assert_problem(response, 422, "insufficient-stock")
    # The supplier shows dealers no stock numbers (the default): the refusal tells none.
    assert body["lines"] == [{"sku": "W550", "requested": 120, "available": None}]
    assert body["errors"][0]["field"] == "lines[1].qty"
    message = body["errors"][0]["message"]
    assert "W550" in message and "not enough in stock" in message and "100" not in message
    assert "W550" in body["detail"]
    assert await written() == (0, 0, 0, 0)


async def test_stock_figures_in_a_refusal_follow_the_supplier_setting(client, world):
    rep = await bearer(client, "rep_a") | EN
    body = {"dealer_id": world["a"]["id"], **order_body(qty=120)}
    refused = assert_problem(await submit(client, rep, body), 422, "insufficient-stock")
    assert refused["lines"] == [{"sku": "W550", "requested": 120, "available": 100}]  # staff
    assert "100 available" in refused["errors"][0]["message"]

    await SupplierSettings.insert(SupplierSettings(id=1, show_stock_numbers=True))
    supplier.forget()
    buyer = await bearer(client, "buyer_a") | EN
    refused = assert_problem(
        await submit(client, buyer, order_body(qty=120)), 422, "insufficient-stock"
    )
    assert refused["lines"] == [{"sku": "W550", "requested": 120, "available": 100}]
    assert await written() == (0, 0, 0, 0)


async def test_a_dealer_naming_another_dealer_gets_404(client, world):
    buyer = await bearer(client, "buyer_a") | EN
    other = {"dealer_id": world["b"]["id"], **order_body()}
    assert_problem(await submit(client, buyer, other), 404, "not-found")
    assert await written() == (0, 0, 0, 0)
    listed = await client.get(f"/api/v1/orders?dealer_id={world['b']['id']}", headers=buyer)
    assert_problem(listed, 404, "not-found")
    own = await client.get(f"/api/v1/orders?dealer_id={world['a']['id']}", headers=buyer)
    assert own.status_code == 200, own.text


BAD_LINES = [
    ({"sku_code": "W550", "qty": "abc"}, 400),
    ({"sku_code": "W550", "qty": 1.5}, 400),
    ({"sku_code": "W550", "qty": None}, 400),
    ({"sku_code": "W550"}, 400),
    ({"sku_code": "W550", "qty": 10**30}, 400),
    ({"sku_code": "W550", "qty": -1}, 422),
    ({"sku_code": "W550", "qty": 0}, 422),
    ({"sku_code": "W550", "qty": 10**12}, 422),
    ({"sku_code": "W550", "qty": 1, "unit": "吨"}, 422),
    ({"sku_code": "NOPE", "qty": 1}, 422),
    ({"sku_id": 0, "qty": 1}, 400),
    ({"qty": 1}, 422),
    ({"sku_code": "W" * 41, "qty": 1}, 400),
]


@pytest.mark.parametrize(("line", "status"), BAD_LINES, ids=[repr(x[0]) for x in BAD_LINES])
async def test_bad_lines_are_refused_and_nothing_is_written(client, world, line, status):
    headers = await bearer(client, "buyer_a")
    response = await submit(client, headers | EN, {"lines": [line]})
    body = assert_problem(response, status, "validation")
    assert body["errors"], body
    assert body["errors"][0]["field"].startswith("lines[0]")
    assert body["errors"][0]["message"]
    assert await written() == (0, 0, 0, 0)


async def test_bad_order_details_are_refused(client, world):
    headers = await bearer(client, "buyer_a") | EN
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    cases = [
        (order_body(requested_date="2026-02-30"), 400, "requested_date"),
        (order_body(requested_date="next friday"), 400, "requested_date"),
        (order_body(requested_date=yesterday), 422, "requested_date"),
        (order_body(note="x" * 501), 400, "note"),
        (order_body(address_id=999999), 422, "address_id"),
        ({"lines": []}, 400, "lines"),
        ({"lines": "W550 24"}, 400, "lines"),
        ({}, 400, "lines"),
    ]
    for body, status, field in cases:
        response = await submit(client, headers, body)
        problem = assert_problem(response, status, "validation")
        assert [e["field"] for e in problem["errors"]] == [field], problem
    assert await written() == (0, 0, 0, 0)


async def test_idempotency_key_is_required_and_checked(client, world):
    headers = await bearer(client, "buyer_a") | EN
    missing = await client.post("/api/v1/orders", json=order_body(), headers=headers)
    problem = assert_problem(missing, 400, "validation")
    assert problem["errors"] == [{"field": "Idempotency-Key", "message": "This is required."}]
    for key in ("", "x" * 101, "two words", "钥匙"):
        response = await client.post(
            "/api/v1/orders",
            json=order_body(),
            headers={**headers, "Idempotency-Key": key.encode()},
        )
        assert_problem(response, 400, "validation")
    assert await written() == (0, 0, 0, 0)


async def test_malformed_json_is_a_validation_problem(client, world):
    headers = await bearer(client, "buyer_a") | EN
    response = await client.post(
        "/api/v1/orders",
        content=b'{"lines": [',
        headers={**headers, "Idempotency-Key": "k", "content-type": "application/json"},
    )
    problem = assert_problem(response, 400, "validation")
    assert problem["errors"][0]["field"] == "body"
    assert await written() == (0, 0, 0, 0)


async def test_errors_come_in_the_callers_language(client, world):
    headers = await bearer(client, "buyer_a")
    english = await submit(client, headers | EN, {"lines": [{"sku_code": "W550", "qty": 0}]})
    assert english.json()["title"] == "Some of the input is not valid."
    assert "positive whole number" in english.json()["errors"][0]["message"]
    chinese = await submit(
        client, headers | {"Accept-Language": "zh-CN"}, {"lines": [{"sku_code": "W550", "qty": 0}]}
    )
    assert chinese.status_code == 422
    assert chinese.json()["type"] == "/problems/validation"


async def test_a_huge_quantity_is_told_the_most_a_line_takes(client, world):
    """10^15 (within the schema's range) is too many, not "not a positive whole number"."""
    headers = await bearer(client, "buyer_a") | EN
    response = await submit(client, headers, {"lines": [{"sku_code": "W550", "qty": 10**15}]})
    problem = assert_problem(response, 422, "validation")
    assert problem["errors"][0]["message"] == "W550: at most 1,000,000 per line."
    assert await written() == (0, 0, 0, 0)


async def test_list_and_detail_are_scoped(client, world):
    a_headers = await bearer(client, "buyer_a")
    b_headers = await bearer(client, "buyer_b")
    a_order = (await submit(client, a_headers, order_body())).json()
    b_order = (await submit(client, b_headers, order_body(qty=12))).json()

    mine = (await client.get("/api/v1/orders", headers=a_headers)).json()
    assert [o["id"] for o in mine["items"]] == [a_order["id"]]
    assert (mine["total"], mine["has_more"], mine["page"], mine["per_page"]) == (1, False, 1, 20)
    summary = mine["items"][0]
    assert summary["total"] == "43.20"
    assert summary["line_count"] == 1
    assert summary["number"] == a_order["number"]

    detail = await client.get(f"/api/v1/orders/{a_order['id']}", headers=a_headers)
    assert detail.status_code == 200
    assert detail.json() == a_order

    other = await client.get(f"/api/v1/orders/{b_order['id']}", headers=a_headers | EN)
    nowhere = await client.get("/api/v1/orders/999999", headers=a_headers | EN)
    other_body = assert_problem(other, 404, "not-found")
    nowhere_body = assert_problem(nowhere, 404, "not-found")
    # Another dealer's order reads exactly like one that does not exist.
    assert {k: v for k, v in other_body.items() if k != "instance"} == {
        k: v for k, v in nowhere_body.items() if k != "instance"
    }
    assert b_order["number"] not in other.text

    rep_headers = await bearer(client, "rep_a")
    rep_list = (await client.get("/api/v1/orders", headers=rep_headers)).json()
    assert [o["id"] for o in rep_list["items"]] == [a_order["id"]]
    rep_other = await client.get(f"/api/v1/orders/{b_order['id']}", headers=rep_headers)
    assert_problem(rep_other, 404, "not-found")

    approved = await client.get("/api/v1/orders", params={"status": "approved"}, headers=a_headers)
    assert approved.json()["total"] == 1
    cancelled = await client.get(
        "/api/v1/orders", params={"status": "cancelled"}, headers=a_headers
    )
    assert cancelled.json()["items"] == []
    bogus = await client.get("/api/v1/orders", params={"status": "bogus"}, headers=a_headers)
    assert_problem(bogus, 422, "validation")
    bad_page = await client.get("/api/v1/orders", params={"page": "x"}, headers=a_headers)
    assert_problem(bad_page, 400, "validation")


async def test_cancel_releases_stock_and_is_scoped(client, world):
    a_headers = await bearer(client, "buyer_a")
    order = (await submit(client, a_headers, order_body())).json()
    assert await written() == (1, 1, 1, 24)

    b_headers = await bearer(client, "buyer_b")
    foreign = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "x"}, headers=b_headers
    )
    assert_problem(foreign, 404, "not-found")

    # Approved on submission: the dealer is told to ask its rep (DESIGN: "Before approval a
    # dealer may cancel"); the supplier's staff cancel it.
    refused = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "下错了"}, headers=a_headers | EN
    )
    assert_problem(refused, 409, "conflict")
    assert "ask your sales rep" in refused.json()["detail"]
    assert await Reservation.count() == 1
    await f.user("admin", username="root")
    staff = await bearer(client, "root")
    response = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "下错了"}, headers=staff
    )
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["can_cancel"] is False
    assert cancelled["events"][-1]["kind"] == "cancelled"
    assert cancelled["events"][-1]["note"] == "下错了"
    assert await Reservation.count() == 0
    assert (await written())[3] == 0

    again = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=staff | EN)
    assert_problem(again, 409, "conflict")
    too_long = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", json={"reason": "x" * 501}, headers=staff
    )
    assert_problem(too_long, 400, "validation")
    missing = await client.post("/api/v1/orders/999999/cancel", headers=a_headers)
    assert_problem(missing, 404, "not-found")


# --- the 201 response is the order as GET returns it -----------------------------------------


async def test_submitted_order_is_the_same_json_as_get(client, world):
    """The submission builds its response from what it wrote: it must equal the GET."""
    headers = await bearer(client, "buyer_a")
    response = await submit(
        client,
        headers,
        {
            # The unit belongs to the line (at the top it was once ignored, silently).
            "lines": [{"sku_code": "W550", "qty": 2, "unit": "箱"}],
            "note": " 请周五前送达 ",
            "requested_date": str(date.today() + timedelta(days=3)),
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["lines"][0]["qty"] == 48
    got = await client.get(f"/api/v1/orders/{order['id']}", headers=headers)
    assert got.status_code == 200, got.text
    assert order == got.json()
    assert order["status"] == "approved" and order["ship_to"]


async def test_waiting_backordered_order_by_a_rep_is_the_same_json_as_get(client, world):
    """A rep's order of several lines that waits for approval and backorders part of a line."""
    await f.approval_rule()
    late = await f.sku(code="BK1", name="姜汁汽水 330ml", base_price_fen=350, allow_backorder=True)
    await f.stock(late, world["wh"], on_hand=5)
    cola = await f.sku(code="C330", name="可乐 330ml", base_price_fen=250, pack=None)
    await f.stock(cola, world["wh"], on_hand=50)
    await f.volume_break(await f.tier(name="二级"), cola, 10, 200)
    headers = await bearer(client, "rep_a")
    response = await submit(
        client,
        headers,
        {
            "dealer_id": world["a"]["id"],
            "lines": [
                {"sku_code": "BK1", "qty": 8},
                {"sku_id": cola["id"], "qty": 12},
                {"sku_code": "W550", "qty": 1, "unit": "箱"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()
    got = await client.get(f"/api/v1/orders/{order['id']}", headers=headers)
    assert got.status_code == 200, got.text
    assert order == got.json()
    assert order["status"] == "pending_approval"
    assert order["rep_name"] == world["rep"]["display_name"]
    assert [e["kind"] for e in order["events"]] == ["submitted", "backordered"]
    assert [ln["qty_backordered"] for ln in order["lines"]] == [3, 0, 0]


async def test_a_rep_sets_a_price_through_the_api_and_the_authority_rule_applies(client, world):
    """A rep's discount: the line's price is theirs (rule manual, the dealer's price kept for
    reference); past their authority the order waits where a rule says so. Dealers may not
    set prices; a bad price is a field error; a retry must repeat the price."""
    from portal.tables import User

    await User.update({User.discount_authority_bp: 500}).where(User.id == world["rep"]["id"])
    await f.approval_rule("discount_beyond_authority", "sales_manager")
    rep = await bearer(client, "rep_a")
    a = world["a"]["id"]

    def body(price: str, qty: int = 24) -> dict:
        return {"dealer_id": a, "lines": [{"sku_code": "W550", "qty": qty, "unit_price": price}]}

    within = await submit(client, rep, body("1.75"), key="r1")  # 2.8 % under 1.80
    assert within.status_code == 201, within.text
    order = within.json()
    [line] = order["lines"]
    assert (line["unit_price"], line["price_rule"], order["status"]) == (
        "1.75",
        "manual",
        "approved",
    )
    assert order["total"] == "42.00"
    # The dealer's own price it replaced, and the rule that gave it, for an approver.
    assert (line["ref_unit_price"], line["base_rule"]) == ("1.80", "tier")
    replay = await submit(client, rep, body("1.75"), key="r1")
    assert replay.status_code == 200 and replay.json()["id"] == order["id"]
    other = await submit(client, rep, body("1.70"), key="r1")
    assert_problem(other, 409, "conflict")

    beyond = await submit(client, rep, body("1.50"), key="r2")  # 16.7 % under
    assert beyond.status_code == 201, beyond.text
    assert beyond.json()["status"] == "pending_approval"

    before = await written()
    bad = await submit(client, rep, body("abc"), key="r3")
    problem = assert_problem(bad, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["lines[0].unit_price"]
    negative = await submit(client, rep, body("-1"), key="r4")
    assert_problem(negative, 422, "validation")
    twice = body("1.70")
    twice["lines"].append({"sku_code": "W550", "qty": 24, "unit_price": "1.60"})
    problem = assert_problem(await submit(client, rep, twice, key="r5"), 422, "validation")
    assert any("两个价格" in e["message"] for e in problem["errors"]), problem
    buyer = await submit(
        client,
        await bearer(client, "buyer_a"),
        {"lines": [{"sku_code": "W550", "qty": 24, "unit_price": "1.00"}]},
        key="b2",
    )
    assert_problem(buyer, 403, "forbidden")
    assert await written() == before


async def test_orders_are_listed_by_the_days_they_were_placed_with_the_dealer_code(client, world):
    headers = await bearer(client, "buyer_a")
    for key in ("d1", "d2", "d3"):
        assert (await submit(client, headers, order_body(qty=1), key=key)).status_code == 201
    # 2026-11-24 23:30 Shanghai is 15:30 UTC the same day; 2026-11-25 00:30 Shanghai is
    # 16:30 UTC on the 24th: the days are China's, not UTC's.
    placed = [
        datetime(2026, 11, 24, 15, 30, tzinfo=UTC),
        datetime(2026, 11, 24, 16, 30, tzinfo=UTC),
        datetime(2026, 11, 26, 3, 0, tzinfo=UTC),
    ]
    rows = await Order.select(Order.id).order_by(Order.id)
    for row, at in zip(rows, placed, strict=True):
        await Order.update({Order.created_at: at}).where(Order.id == row["id"])

    async def numbers(**params) -> list[int]:
        got = await client.get("/api/v1/orders", params=params, headers=headers)
        assert got.status_code == 200, got.text
        assert all(i["dealer_code"] == world["a"]["code"] for i in got.json()["items"])
        return sorted(i["id"] for i in got.json()["items"])

    ids = [r["id"] for r in rows]
    assert await numbers(start="2026-11-25") == ids[1:]
    assert await numbers(end="2026-11-24") == ids[:1]
    assert await numbers(start="2026-11-25", end="2026-11-25") == ids[1:2]
    assert await numbers() == ids
    one = await client.get(f"/api/v1/orders/{ids[0]}", headers=headers)
    assert one.json()["dealer_code"] == world["a"]["code"]
    backwards = await client.get(
        "/api/v1/orders", params={"start": "2026-11-26", "end": "2026-11-25"}, headers=headers
    )
    assert assert_problem(backwards, 422, "validation")["errors"][0]["field"] == "end"
    assert_problem(
        await client.get("/api/v1/orders", params={"start": "25/11/2026"}, headers=headers),
        400,
        "validation",
    )


async def test_timeline_says_who_what_and_why_for_every_event(client, world):
    """An order that meets no rule is approved by the system: its timeline entry names the
    system as who did it (not an empty name), and every entry says what happened in the
    caller's language."""
    headers = await bearer(client, "buyer_a")
    order = (await submit(client, headers, order_body())).json()
    events = order["events"]
    assert [e["kind"] for e in events] == ["submitted", "auto_approved"]
    assert events[1]["actor_name"] == "系统"
    assert [e["kind_label"] for e in events] == ["已提交", "自动审核通过"]
    assert all(e["actor_name"] for e in events)
    english = await client.get(f"/api/v1/orders/{order['id']}", headers={**headers, **EN})
    auto = english.json()["events"][1]
    assert (auto["actor_name"], auto["kind_label"]) == ("the system", "Approved automatically")


async def test_a_method_the_address_does_not_take_is_a_problem_naming_those_it_does(client, world):
    headers = await bearer(client, "buyer_a")
    response = await client.delete("/api/v1/orders", headers={**headers, **EN})
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    problem = response.json()
    assert problem["type"] == "/problems/method-not-allowed"
    assert problem["title"] == "This address does not take this method."
    assert "GET" in problem["detail"] and "POST" in problem["detail"]
    chinese = await client.delete("/api/v1/orders", headers=headers)
    assert "不" in chinese.json()["title"]
    page = await client.request("PATCH", "/login")
    assert page.status_code == 405
    assert "GET" in page.headers["allow"]
    assert page.headers["content-type"].startswith("text/html")


async def test_an_expected_total_that_no_longer_holds_places_nothing(client, world):
    headers = await bearer(client, "buyer_a")
    body = order_body(qty=24)
    refused = await submit(client, {**headers, **EN}, {**body, "expected_total": "1.00"})
    problem = assert_problem(refused, 409, "prices-changed")
    assert problem["order_total"] != "1.00" and "¥1.00" in problem["detail"]
    assert await written() == (0, 0, 0, 0)
    placed = await submit(client, headers, {**body, "expected_total": problem["order_total"]})
    assert placed.status_code == 201 and placed.json()["total"] == problem["order_total"]


async def test_an_order_says_who_placed_it_and_who_keyed_it_in(client, world):
    rep = await bearer(client, "rep_a")
    body = {**order_body(qty=2), "dealer_id": world["a"]["id"]}
    placed = (await submit(client, rep, body)).json()
    rep_row = await User.select(User.id).where(User.username == "rep_a").first()
    assert placed["rep_id"] == placed["placed_by_id"] == rep_row["id"]
    again = (await client.get(f"/api/v1/orders/{placed['id']}", headers=rep)).json()
    assert (again["rep_id"], again["placed_by_id"]) == (rep_row["id"], rep_row["id"])
    buyer = await bearer(client, "buyer_a")
    own = (await submit(client, buyer, order_body(qty=1), key="key-2")).json()
    buyer_row = await User.select(User.id).where(User.username == "buyer_a").first()
    assert (own["rep_id"], own["placed_by_id"]) == (None, buyer_row["id"])
