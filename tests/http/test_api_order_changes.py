"""API: staff adjust a waiting order, a dealer resubmits one sent back, the warehouse unpacks a
shipment; each through the same checks as the pages, with the line ids the order gives."""

from __future__ import annotations

import pytest

from portal.tables import Dealer, Order, OrderLine, StockLevel
from tests import factories as f
from tests.http.test_api_auth import EN, assert_problem, bearer


@pytest.fixture
async def world(db) -> dict:
    """Dealer A (1.00/瓶, 1,000 瓶 in stock, limit ¥1,000) with a buyer and a rep under a
    manager; every order of ¥100.00 or more waits for the manager."""
    t1 = await f.tier()
    wh = await f.warehouse()
    a = await f.dealer(t1, name="甲经销商", default_warehouse=wh, credit_limit_fen=100_000)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=100)
    await f.tier_price(t1, water, price_fen=100)
    await f.stock(water, wh, on_hand=1000)
    await f.user("dealer_buyer", a, username="buyer_a")
    manager = await f.user("sales_manager", username="mgr")
    rep = await f.user("sales_rep", username="rep_a", manager=manager)
    await f.assign(rep, a)
    await f.user("warehouse", username="clerk")
    await f.approval_rule("total_at_least", "sales_manager", amount_fen=10_000)
    return {"a": a, "wh": wh}


async def submit(client, qty: int, key: str = "k1") -> dict:
    r = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "W550", "qty": qty}]},
        headers={**await bearer(client, "buyer_a"), "Idempotency-Key": key},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def reserved() -> int:
    return sum(r["reserved"] for r in await StockLevel.select(StockLevel.reserved))


async def test_staff_adjust_a_waiting_order_and_every_check_runs_again(client, world):
    placed = await submit(client, 200)  # ¥200.00: waits for the manager
    assert placed["status"] == "pending_approval"
    [line] = placed["lines"]
    url = f"/api/v1/orders/{placed['id']}/adjust"
    rep = await bearer(client, "rep_a")

    # Above the dealer's price (¥1.00): staff may discount, never mark up.
    r = await client.post(
        url,
        json={
            "reason": "涨价",
            "lines": [{"order_line_id": line["id"], "qty": 200, "unit_price": "2.00"}],
        },
        headers=rep,
    )
    assert assert_problem(r, 422, "validation")["errors"][0]["field"] == "lines[0].unit_price"
    # Past the credit limit (lowered to ¥500.00): refused with the figures, nothing changed.
    await Dealer.update({Dealer.credit_limit_fen: 50_000}).where(Dealer.id == world["a"]["id"])
    r = await client.post(
        url,
        json={"reason": "客户要加量", "lines": [{"order_line_id": line["id"], "qty": 1000}]},
        headers=rep,
    )
    assert assert_problem(r, 422, "credit-exceeded")["order_total"] == "1000.00"
    assert await reserved() == 200

    # Down to 50 at 0.90: ¥45.00, under the rule: approved, reservations follow.
    r = await client.post(
        url,
        json={
            "reason": "客户只要半箱",
            "lines": [{"order_line_id": line["id"], "qty": 50, "unit_price": "0.90"}],
        },
        headers=rep,
    )
    assert r.status_code == 200, r.text
    order = r.json()
    assert (order["status"], order["total"]) == ("approved", "45.00")
    assert (order["lines"][0]["qty"], order["lines"][0]["unit_price"]) == (50, "0.90")
    assert order["lines"][0]["price_rule"] == "manual"
    assert "adjusted" in [e["kind"] for e in order["events"]]
    assert await reserved() == 50
    dealer = await Dealer.select().where(Dealer.id == world["a"]["id"]).first()
    assert dealer["open_orders_fen"] == 4_500


async def test_adjustments_refuse_bad_input_and_the_dealers_users(client, world):
    placed = await submit(client, 200)
    [line] = placed["lines"]
    url = f"/api/v1/orders/{placed['id']}/adjust"
    mgr = {**await bearer(client, "mgr"), **EN}
    before = await Order.select().where(Order.id == placed["id"]).first()
    for body, field in (
        ({"reason": "x", "lines": [{"order_line_id": line["id"], "qty": 10, "unit_price": "abc"}]},
         "lines[0].unit_price"),
        ({"reason": "x", "lines": [{"order_line_id": line["id"], "qty": 10, "unit_price": "-1"}]},
         "lines[0].unit_price"),
        ({"reason": " ", "lines": [{"order_line_id": line["id"], "qty": 10}]}, "reason"),
        ({"reason": "x", "lines": [{"order_line_id": 987654, "qty": 10}]},
         "lines[0].order_line_id"),
        ({"reason": "x", "lines": [{"order_line_id": line["id"], "qty": -5}]}, "lines[0].qty"),
    ):  # fmt: skip
        problem = assert_problem(await client.post(url, json=body, headers=mgr), 422, "validation")
        assert field in [e["field"] for e in problem["errors"]], (body, problem)
    huge = {"reason": "x", "lines": [{"order_line_id": line["id"], "qty": 10**15}]}
    problem = assert_problem(await client.post(url, json=huge, headers=mgr), 422, "validation")
    assert "at most 1,000,000 per line" in problem["errors"][0]["message"], problem
    r = await client.post(
        url,
        json={"reason": "x", "lines": [{"order_line_id": line["id"], "qty": 10}]},
        headers=await bearer(client, "buyer_a"),
    )
    assert_problem(r, 403, "forbidden")
    assert await Order.select().where(Order.id == placed["id"]).first() == before
    assert await reserved() == 200


async def test_a_dealer_resubmits_an_order_sent_back_and_credit_is_checked_again(client, world):
    placed = await submit(client, 200)
    url = f"/api/v1/orders/{placed['id']}/resubmit"
    buyer = await bearer(client, "buyer_a")
    assert_problem(await client.post(url, headers=buyer), 409, "conflict")  # not sent back

    r = await client.post(
        f"/api/v1/orders/{placed['id']}/return-to-dealer",
        json={"reason": "请确认数量"},
        headers=await bearer(client, "mgr"),
    )
    assert r.json()["order"]["status"] == "returned"
    # Meanwhile the dealer's balance grew: the resubmission no longer fits the limit.
    await Dealer.update({Dealer.balance_fen: 90_000}).where(Dealer.id == world["a"]["id"])
    assert_problem(await client.post(url, headers=buyer), 422, "credit-exceeded")
    assert (await Order.select(Order.status).where(Order.id == placed["id"]).first())[
        "status"
    ] == "returned"
    await Dealer.update({Dealer.balance_fen: 0}).where(Dealer.id == world["a"]["id"])
    r = await client.post(url, headers=buyer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending_approval"
    assert [e["to_status"] for e in r.json()["events"]][-1] == "pending_approval"
    other = await f.dealer(name="乙经销商")
    await f.user("dealer_buyer", other, username="buyer_b")
    assert_problem(
        await client.post(url, headers=await bearer(client, "buyer_b")), 404, "not-found"
    )


async def test_the_warehouse_unpacks_a_shipment_and_its_quantity_is_open_again(client, world):
    placed = await submit(client, 60)  # under the rule: approved
    [line] = placed["lines"]
    clerk = await bearer(client, "clerk")
    body = {"warehouse_id": world["wh"]["id"], "lines": [{"order_line_id": line["id"], "qty": 60}]}
    packed = await client.post(
        f"/api/v1/orders/{placed['id']}/shipments",
        json=body,
        headers={**clerk, "Idempotency-Key": "s1"},
    )
    assert packed.status_code == 201, packed.text
    shipment = packed.json()
    url = f"/api/v1/shipments/{shipment['id']}/cancel"
    assert_problem(
        await client.post(url, headers=await bearer(client, "buyer_a")), 403, "forbidden"
    )
    r = await client.post(url, headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert_problem(await client.post(url, headers=clerk), 409, "conflict")
    # All 60 can be packed again, and nothing left stock.
    again = await client.post(
        f"/api/v1/orders/{placed['id']}/shipments",
        json=body,
        headers={**clerk, "Idempotency-Key": "s2"},
    )
    assert again.status_code == 201, again.text
    [row] = await OrderLine.select(OrderLine.qty_shipped).where(OrderLine.order == placed["id"])
    assert row["qty_shipped"] == 0
    assert await reserved() == 60


async def test_adjustment_problems_name_the_body_s_own_lines(client, world):
    """A refused line is named by its place in the body (lines[1].qty, lines[0].unit_price),
    never by its order line id: the body of QA's report, one line at index 0, said
    lines[<order line id>]."""
    tea = await f.sku(code="T500", name="东方树叶 500ml", base_price_fen=300)
    await f.stock(tea, world["wh"], on_hand=20)
    r = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "W550", "qty": 200}, {"sku_code": "T500", "qty": 10}]},
        headers={**await bearer(client, "buyer_a"), "Idempotency-Key": "two"},
    )
    assert r.status_code == 201, r.text
    placed = r.json()
    assert placed["status"] == "pending_approval"
    water, tea_line = (ln["id"] for ln in placed["lines"])
    url = f"/api/v1/orders/{placed['id']}/adjust"
    mgr = {**await bearer(client, "mgr"), **EN}

    async def refused(*lines: dict, type_: str = "validation") -> list[dict]:
        body = {"reason": "调整", "lines": list(lines)}
        return assert_problem(await client.post(url, json=body, headers=mgr), 422, type_)["errors"]

    assert await refused({"order_line_id": tea_line, "qty": 12, "unit_price": "9.50"}) == [
        {
            "field": "lines[0].unit_price",
            "message": "T500: a price above the dealer's price (¥3.00) cannot be set.",
        }
    ]
    assert await refused({"order_line_id": tea_line, "qty": 12, "unit_price": "9.5x"}) == [
        {"field": "lines[0].unit_price", "message": "Enter an amount such as 1234.50."}
    ]
    negative = await refused(
        {"order_line_id": water, "qty": 50}, {"order_line_id": tea_line, "qty": -1}
    )
    assert [e["field"] for e in negative] == ["lines[1].qty"]
    twice = await refused({"order_line_id": water, "qty": 50}, {"order_line_id": water, "qty": 60})
    assert twice == [{"field": "lines[1].order_line_id", "message": "W550 is given twice."}]
    unknown = await refused(
        {"order_line_id": water, "qty": 50}, {"order_line_id": 987654, "qty": 1}
    )
    assert unknown == [{"field": "lines[1].order_line_id", "message": "Line not found."}]
    short = await refused(
        {"order_line_id": water, "qty": 200},
        {"order_line_id": tea_line, "qty": 30},
        type_="insufficient-stock",
    )
    assert [e["field"] for e in short] == ["lines[1].qty"]
    assert await reserved() == 210
