"""Acceptance scenarios through the public JSON API only, as an integrator and each role would
play them, written from the product design: approvals in steps, credit and its tolerance,
staff adjustments, price explanations, split shipments, returns and the ledger, webhooks, bulk
import, problem types and scoping."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.http.test_api_auth import EN, assert_problem, bearer

API = "/api/v1"


@pytest.fixture
async def world(db) -> dict:
    """A supplier with one tier (water at ¥2.00/瓶), two warehouses, dealer 甲 (limit ¥1,000)
    with a buyer and dealer 乙 with a buyer; rep_a (5% authority) serves 甲 under mgr; finance,
    warehouse clerk and an admin."""
    t1 = await f.tier(code="T1", name="一级经销商")
    east = await f.warehouse(code="E", name="华东仓", priority=0)
    north = await f.warehouse(code="N", name="华北仓", priority=1)
    a = await f.dealer(t1, name="甲经销商", default_warehouse=east, credit_limit_fen=100_000)
    b = await f.dealer(t1, name="乙经销商", default_warehouse=east, credit_limit_fen=100_000)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=250)
    await f.tier_price(t1, water, price_fen=200)
    await f.stock(water, east, on_hand=300)
    await f.stock(water, north, on_hand=300)
    await f.user("dealer_admin", a, username="admin_a")
    await f.user("dealer_buyer", a, username="buyer_a")
    await f.user("dealer_buyer", b, username="buyer_b")
    manager = await f.user("sales_manager", username="mgr")
    rep = await f.user("sales_rep", username="rep_a", manager=manager, discount_authority_bp=500)
    await f.assign(rep, a)
    other_mgr = await f.user("sales_manager", username="mgr2")
    rep_b = await f.user("sales_rep", username="rep_b", manager=other_mgr)
    await f.assign(rep_b, b)
    await f.user("finance", username="fin")
    await f.user("warehouse", username="clerk")
    await f.user("admin", username="root")
    return {"t1": t1, "east": east, "north": north, "a": a, "b": b, "water": water}


async def as_(client, username: str) -> dict:
    return {**await bearer(client, username), **EN}


async def submit(client, who: dict, lines: list[dict], key: str, **extra):
    return await client.post(
        f"{API}/orders",
        json={"lines": lines, **extra},
        headers={**who, "Idempotency-Key": key},
    )


async def dealer_credit(client, dealer_id: int) -> dict:
    r = await client.get(f"{API}/dealers/{dealer_id}", headers=await as_(client, "fin"))
    assert r.status_code == 200, r.text
    return r.json()


async def notices(client, username: str) -> list[dict]:
    r = await client.get(f"{API}/notifications", headers=await as_(client, username))
    assert r.status_code == 200, r.text
    return r.json()["items"]


# --- approvals in steps ----------------------------------------------------------------------


async def test_rep_discount_beyond_authority_then_over_credit_goes_manager_then_finance(
    client, world
):
    root = await as_(client, "root")
    for kind, role, step in (
        ("discount_beyond_authority", "sales_manager", 10),
        ("over_credit", "finance", 20),
    ):
        r = await client.post(
            f"{API}/approval-rules",
            json={"kind": kind, "approver_role": role, "step_order": step},
            headers=root,
        )
        assert r.status_code == 201, r.text
    fin = await as_(client, "fin")
    r = await client.put(
        f"{API}/dealers/{world['a']['id']}/credit",
        json={
            "credit_limit": "1000.00",
            "payment_terms_days": 30,
            "over_credit_policy": "approval",
        },
        headers=fin,
    )
    assert r.status_code == 200, r.text

    rep = await as_(client, "rep_a")
    # 600 瓶 at ¥1.80 (10% off ¥2.00, beyond the rep's 5%) = ¥1,080.00, over the ¥1,000 limit.
    r = await submit(
        client,
        rep,
        [{"sku_code": "W550", "qty": 600, "unit_price": "1.80"}],
        "rep-1",
        dealer_id=world["a"]["id"],
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "pending_approval"
    assert order["total"] == "1080.00"
    assert order["lines"][0]["unit_price"] == "1.80"
    assert order["lines"][0]["list_price"] in ("2.00", "2.50")

    # Finance cannot take the manager's step first.
    r = await client.get(f"{API}/approvals", headers=fin)
    assert [s["order_id"] for s in r.json()] == []
    mgr = await as_(client, "mgr")
    r = await client.get(f"{API}/approvals", headers=mgr)
    [step] = r.json()
    assert (step["rule_kind"], step["step_no"], step["step_count"]) == (
        "discount_beyond_authority",
        1,
        2,
    )
    # A manager of another team does not see it, and cannot approve it.
    mgr2 = await as_(client, "mgr2")
    assert (await client.get(f"{API}/approvals", headers=mgr2)).json() == []
    assert_problem(
        await client.post(f"{API}/orders/{order['id']}/approve", headers=mgr2), 404, "not-found"
    )
    r = await client.post(f"{API}/orders/{order['id']}/approve", headers=fin)
    assert r.status_code in (403, 409), r.text

    r = await client.post(f"{API}/orders/{order['id']}/approve", headers=mgr)
    assert r.status_code == 200, r.text
    assert r.json()["order"]["status"] == "pending_approval"
    [step] = (await client.get(f"{API}/approvals", headers=fin)).json()
    assert step["rule_kind"] == "over_credit" and step["step_no"] == 2

    r = await client.post(f"{API}/orders/{order['id']}/approve", headers=fin)
    assert r.status_code == 200, r.text
    assert r.json()["order"]["status"] == "approved"

    # Finance's over-credit approval is recorded: in the timeline and in the audit log.
    got = (await client.get(f"{API}/orders/{order['id']}", headers=fin)).json()
    assert [e["to_status"] for e in got["events"]][-1] == "approved"
    audit = await client.get(
        f"{API}/audit", params={"entity": "order", "entity_id": str(order["id"])}, headers=fin
    )
    assert any("credit" in str(e["changes"]) for e in audit.json()["items"]), audit.text

    # The dealer and the rep are told of each decision.
    for who in ("buyer_a", "rep_a"):
        kinds = [n["kind"] for n in await notices(client, who)]
        assert "approved" in kinds, (who, kinds)
    # Exposure now holds the approved order: limit 1,000 − 1,080 = −80.
    credit = await dealer_credit(client, world["a"]["id"])
    assert credit["exposure"] == "1080.00"
    assert credit["available_credit"] == "-80.00"


# --- credit: tolerance, block, approval ------------------------------------------------------


async def set_credit(client, dealer_id: int, **terms) -> dict:
    body = {"credit_limit": "1000.00", "payment_terms_days": 30, **terms}
    r = await client.put(
        f"{API}/dealers/{dealer_id}/credit", json=body, headers=await as_(client, "fin")
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_supplier_percentage_tolerance_lets_an_order_over_the_limit_and_no_further(
    client, world
):
    root = await as_(client, "root")
    r = await client.put(
        f"{API}/settings",
        json={"name": "某某饮料", "credit_tolerance_percent": "10"},
        headers=root,
    )
    assert r.status_code == 200, r.text
    buyer = await as_(client, "buyer_a")
    # ¥1,080.00 on a ¥1,000 limit with 10% (¥100) allowed over: accepted and approved.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 540}], "t-1")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "approved"
    credit = await dealer_credit(client, world["a"]["id"])
    assert (credit["exposure"], credit["available_credit"]) == ("1080.00", "-80.00")
    # ¥40.00 more would reach ¥1,120.00, past ¥1,100: refused with the figures, nothing held.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 20}], "t-2")
    body = assert_problem(r, 422, "credit-exceeded")
    assert (body["available"], body["order_total"], body["tolerance"]) == (
        "-80.00",
        "40.00",
        "100.00",
    )
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "1080.00"
    # ¥20.00 reaches exactly ¥1,100: accepted.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 10}], "t-3")
    assert r.status_code == 201, r.text


async def test_dealer_amount_tolerance_before_finance_approval(client, world):
    root = await as_(client, "root")
    r = await client.post(
        f"{API}/approval-rules",
        json={"kind": "over_credit", "approver_role": "finance"},
        headers=root,
    )
    assert r.status_code == 201, r.text
    await set_credit(
        client, world["a"]["id"], over_credit_policy="approval", tolerance_amount="50.00"
    )
    buyer = await as_(client, "buyer_a")
    # ¥1,040.00: within the ¥50 allowed over the limit, approved on submission.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 520}], "a-1")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "approved"
    # ¥20.00 more reaches ¥1,060.00, past ¥1,050: goes to finance, not refused.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 10}], "a-2")
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["status"] == "pending_approval"
    [step] = (await client.get(f"{API}/approvals", headers=await as_(client, "fin"))).json()
    assert step["rule_kind"] == "over_credit" and step["order_id"] == second["id"]
    # A rejection releases its credit and its stock.
    r = await client.post(
        f"{API}/orders/{second['id']}/reject",
        json={"reason": "先付款"},
        headers=await as_(client, "fin"),
    )
    assert r.status_code == 200, r.text
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "1040.00"
    kinds = [n["kind"] for n in await notices(client, "buyer_a")]
    assert "rejected" in kinds


# --- staff adjustments, sending back, resubmission ----------------------------------------


async def test_adjustment_upwards_rechecks_credit_stock_and_approval(client, world):
    root = await as_(client, "root")
    r = await client.post(
        f"{API}/approval-rules",
        json={"kind": "total_at_least", "approver_role": "sales_manager", "amount": "100.00"},
        headers=root,
    )
    assert r.status_code == 201, r.text
    buyer = await as_(client, "buyer_a")
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 100}], "adj-1")
    order = r.json()
    assert order["status"] == "pending_approval", r.text
    [line] = order["lines"]
    url = f"{API}/orders/{order['id']}/adjust"
    mgr = await as_(client, "mgr")
    # More than the stock of both warehouses (600): refused, insufficient-stock.
    r = await client.post(
        url,
        json={"reason": "加量", "lines": [{"order_line_id": line["id"], "qty": 601}]},
        headers=mgr,
    )
    assert_problem(r, 422, "insufficient-stock")
    # ¥1,200 past the ¥1,000 limit: refused, credit-exceeded.
    r = await client.post(
        url,
        json={"reason": "加量", "lines": [{"order_line_id": line["id"], "qty": 600}]},
        headers=mgr,
    )
    assert_problem(r, 422, "credit-exceeded")
    got = (await client.get(f"{API}/orders/{order['id']}", headers=mgr)).json()
    assert got["total"] == "200.00" and got["lines"][0]["qty"] == 100
    # Down to 40 (¥80.00), under the rule: approved at once.
    r = await client.post(
        url,
        json={"reason": "减量", "lines": [{"order_line_id": line["id"], "qty": 40}]},
        headers=mgr,
    )
    assert r.status_code == 200, r.text
    got = (await client.get(f"{API}/orders/{order['id']}", headers=mgr)).json()
    assert got["status"] == "approved" and got["total"] == "80.00"
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "80.00"


async def test_sent_back_order_resubmitted_has_its_credit_checked_again(client, world):
    root = await as_(client, "root")
    await client.post(
        f"{API}/approval-rules",
        json={"kind": "total_at_least", "approver_role": "sales_manager", "amount": "500.00"},
        headers=root,
    )
    buyer = await as_(client, "buyer_a")
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 300}], "sb-1")  # ¥600
    first = r.json()
    assert first["status"] == "pending_approval", r.text
    mgr = await as_(client, "mgr")
    r = await client.post(
        f"{API}/orders/{first['id']}/return-to-dealer", json={"reason": "请分两单"}, headers=mgr
    )
    assert r.status_code == 200, r.text
    assert "returned" in [n["kind"] for n in await notices(client, "buyer_a")]
    # Finance lowers the limit to ¥500 meanwhile: the resubmission is refused with figures.
    await set_credit(client, world["a"]["id"], credit_limit="500.00")
    r = await client.post(f"{API}/orders/{first['id']}/resubmit", headers=buyer)
    assert_problem(r, 422, "credit-exceeded")
    got = (await client.get(f"{API}/orders/{first['id']}", headers=buyer)).json()
    assert got["status"] == "returned"
    # Changing its quantities sends it again: a total still over the limit is refused too,
    # however much lower than before (there is no way around the check but finance's).
    [line] = got["lines"]
    url = f"{API}/orders/{first['id']}/adjust"
    r = await client.post(
        url,
        json={"reason": "少一点", "lines": [{"order_line_id": line["id"], "qty": 290}]},
        headers=buyer,
    )
    assert_problem(r, 422, "credit-exceeded")
    got = (await client.get(f"{API}/orders/{first['id']}", headers=buyer)).json()
    assert (got["status"], got["total"]) == ("returned", "600.00")
    # The dealer halves the quantity (its own right once sent back): sent and approved.
    r = await client.post(
        url,
        json={"reason": "分两单", "lines": [{"order_line_id": line["id"], "qty": 200}]},
        headers=buyer,
    )
    assert r.status_code == 200, r.text
    got = (await client.get(f"{API}/orders/{first['id']}", headers=buyer)).json()
    assert got["status"] == "approved" and got["total"] == "400.00"
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "400.00"


async def test_new_dealer_first_orders_wait_then_stop_waiting(client, world):
    root = await as_(client, "root")
    r = await client.post(
        f"{API}/approval-rules",
        json={"kind": "first_orders", "approver_role": "sales_manager", "count": 2},
        headers=root,
    )
    assert r.status_code == 201, r.text
    buyer = await as_(client, "buyer_a")
    mgr = await as_(client, "mgr")
    statuses = []
    for n in range(3):
        r = await submit(client, buyer, [{"sku_code": "W550", "qty": 1}], f"fo-{n}")
        assert r.status_code == 201, r.text
        statuses.append(r.json()["status"])
        if r.json()["status"] == "pending_approval":
            a = await client.post(f"{API}/orders/{r.json()['id']}/approve", headers=mgr)
            assert a.status_code == 200, a.text
    assert statuses == ["pending_approval", "pending_approval", "approved"]
    # A cancelled or rejected first order does not count as one of the first orders.
    r = await submit(client, await as_(client, "buyer_b"), [{"sku_code": "W550", "qty": 1}], "b")
    assert r.json()["status"] == "pending_approval"
    r2 = await client.post(
        f"{API}/orders/{r.json()['id']}/cancel", json={}, headers=await as_(client, "buyer_b")
    )
    assert r2.status_code == 200, r2.text
    r = await submit(client, await as_(client, "buyer_b"), [{"sku_code": "W550", "qty": 1}], "b2")
    assert r.json()["status"] == "pending_approval"
