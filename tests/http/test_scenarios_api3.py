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


async def order_of(client, who: dict, order_id: int) -> dict:
    r = await client.get(f"{API}/orders/{order_id}", headers=who)
    assert r.status_code == 200, r.text
    return r.json()


async def adjust_qty(client, who: dict, order_id: int, line_id: int, qty: int, reason: str, **line):
    """POST an adjustment of one line's quantity (and what else `line` carries)."""
    return await client.post(
        f"{API}/orders/{order_id}/adjust",
        json={"reason": reason, "lines": [{"order_line_id": line_id, "qty": qty, **line}]},
        headers=who,
    )


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
    got = await order_of(client, fin, order["id"])
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
    mgr = await as_(client, "mgr")
    # More than the stock of both warehouses (600): refused, insufficient-stock.
    r = await adjust_qty(client, mgr, order["id"], line["id"], 601, "加量")
    assert_problem(r, 422, "insufficient-stock")
    # ¥1,200 past the ¥1,000 limit: refused, credit-exceeded.
    r = await adjust_qty(client, mgr, order["id"], line["id"], 600, "加量")
    assert_problem(r, 422, "credit-exceeded")
    got = await order_of(client, mgr, order["id"])
    assert got["total"] == "200.00" and got["lines"][0]["qty"] == 100
    # Down to 40 (¥80.00), under the rule: approved at once.
    r = await adjust_qty(client, mgr, order["id"], line["id"], 40, "减量")
    assert r.status_code == 200, r.text
    got = await order_of(client, mgr, order["id"])
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
    got = await order_of(client, buyer, first["id"])
    assert got["status"] == "returned"
    # Changing its quantities sends it again: a total still over the limit is refused too,
    # however much lower than before (there is no way around the check but finance's).
    [line] = got["lines"]
    r = await adjust_qty(client, buyer, first["id"], line["id"], 290, "少一点")
    assert_problem(r, 422, "credit-exceeded")
    got = await order_of(client, buyer, first["id"])
    assert (got["status"], got["total"]) == ("returned", "600.00")
    # The dealer halves the quantity (its own right once sent back): sent and approved.
    r = await adjust_qty(client, buyer, first["id"], line["id"], 200, "分两单")
    assert r.status_code == 200, r.text
    got = await order_of(client, buyer, first["id"])
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


# --- prices: which rule gave it, promotions, placed orders keep theirs ---------------------


async def price_of(client, who: dict, sku_id: int, qty: int, **params) -> dict:
    r = await client.get(f"{API}/catalog/skus/{sku_id}", params={"qty": qty, **params}, headers=who)
    assert r.status_code == 200, r.text
    return r.json()["price"]


async def test_price_explanation_contract_break_tier_base(client, world):
    root = await as_(client, "root")
    water = world["water"]
    cola = await f.sku(code="C330", name="可乐 330ml", base_price_fen=300)
    await f.stock(cola, world["east"], on_hand=100)
    r = await client.put(
        f"{API}/admin/skus/{water['id']}/tier-prices/{world['t1']['id']}",
        json={"price": "2.00", "breaks": [{"min_qty": 48, "price": "1.90"}]},
        headers=root,
    )
    assert r.status_code == 200, r.text
    buyer_a = await as_(client, "buyer_a")
    tier = await price_of(client, buyer_a, water["id"], 24)
    assert (tier["unit_price"], tier["rule"]) == ("2.00", "tier")
    assert "一级经销商" in tier["rule_label"]
    assert tier["next_break"]["more_qty"] == 24 and tier["next_break"]["unit_price"] == "1.90"
    brk = await price_of(client, buyer_a, water["id"], 48)
    assert brk["unit_price"] == "1.90" and brk["rule"] != "tier", brk
    assert brk["rule_label"] == "一级经销商 price, from 2 箱", brk
    assert tier["next_break"]["label"] == "1 more 箱 → ¥1.90/瓶"
    base = await price_of(client, buyer_a, cola["id"], 1)
    assert (base["unit_price"], base["rule"]) == ("3.00", "base"), base
    r = await client.put(
        f"{API}/admin/skus/{water['id']}/contract-prices/{world['a']['code']}",
        json={"price": "1.70"},
        headers=root,
    )
    assert r.status_code == 200, r.text
    contract = await price_of(client, buyer_a, water["id"], 48)
    assert (contract["unit_price"], contract["rule"]) == ("1.70", "contract"), contract
    # 乙 has no contract: still the tier's break.
    assert (await price_of(client, await as_(client, "buyer_b"), water["id"], 48))[
        "unit_price"
    ] == "1.90"

    # The order keeps the price, its rule and the list price after the lists change.
    r = await submit(client, buyer_a, [{"sku_id": water["id"], "qty": 48}], "p-1")
    assert r.status_code == 201, r.text
    order = r.json()
    [line] = order["lines"]
    assert (line["unit_price"], line["price_rule"], line["list_price"]) == (
        "1.70",
        "contract",
        "2.50",
    )
    await client.delete(
        f"{API}/admin/skus/{water['id']}/contract-prices/{world['a']['code']}", headers=root
    )
    sku = (await client.get(f"{API}/admin/skus/{water['id']}", headers=root)).json()
    keep = ("name", "barcode", "moq", "order_multiple", "safety_stock", "allow_backorder")
    r = await client.put(
        f"{API}/admin/skus/{water['id']}",
        json={**{k: sku[k] for k in keep}, "active": True, "base_price": "3.00"},
        headers=root,
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        f"{API}/admin/skus/{water['id']}/tier-prices/{world['t1']['id']}",
        json={"price": "2.20", "breaks": []},
        headers=root,
    )
    assert r.status_code == 200, r.text
    again = await order_of(client, buyer_a, order["id"])
    assert again["lines"] == order["lines"] and again["total"] == order["total"] == "81.60"


async def test_promotions_percent_off_spend_save_and_gift_with_dates(client, world):
    root = await as_(client, "root")
    water = world["water"]
    cup = await f.sku(code="CUP", name="赠品杯", base_price_fen=500)
    await f.stock(cup, world["east"], on_hand=10)
    from datetime import timedelta

    from portal.domain import promotions as promo_domain

    today = promo_domain.today(f.now())
    later = today + timedelta(days=10)
    # Two days on: still ahead should Shanghai's midnight pass while the test runs.
    after_tomorrow = today + timedelta(days=2)
    for body in (
        {
            "name": "水九折",
            "kind": "percent_off",
            "sku_code": "W550",
            "percent_off_bp": 1000,
            "starts_on": str(today),
            "ends_on": str(later),
        },
        {
            "name": "满200减20",
            "kind": "spend_save",
            "threshold_fen": 20_000,
            "save_fen": 2_000,
            "starts_on": str(today),
            "ends_on": str(later),
        },
        {
            "name": "买48送1杯",
            "kind": "buy_get",
            "sku_code": "W550",
            "buy_qty": 48,
            "gift_sku_code": "CUP",
            "gift_qty": 1,
            "starts_on": str(today),
            "ends_on": str(later),
        },
        {
            "name": "后天起半价",
            "kind": "percent_off",
            "sku_code": "W550",
            "percent_off_bp": 5000,
            "starts_on": str(after_tomorrow),
            "ends_on": str(later),
        },
    ):
        r = await client.post(f"{API}/promotions", json=body, headers=root)
        assert r.status_code == 201, r.text
    buyer = await as_(client, "buyer_a")
    p = await price_of(client, buyer, water["id"], 1)
    assert p["unit_price"] == "1.80", p  # 10% off ¥2.00; the later half price not yet
    assert "水九折" in p["rule_label"] or "10" in p["rule_label"], p
    current = (await client.get(f"{API}/promotions/current", headers=buyer)).json()
    names = {c["name"] for c in (current if isinstance(current, list) else current["items"])}
    assert names == {"水九折", "满200减20", "买48送1杯"}, names

    # 120 瓶 × ¥1.80 = ¥216.00, ≥ ¥200 saves ¥20.00; 2 × 48 earns 2 cups at ¥0.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 120}], "promo-1")
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["goods_total"] == "216.00" and order["discount"] == "20.00", order
    assert order["total"] == "196.00"
    [gift] = [ln for ln in order["lines"] if ln["is_gift"]]
    assert (gift["sku_code"], gift["qty"], gift["unit_price"], gift["line_total"]) == (
        "CUP",
        2,
        "0.00",
        "0.00",
    )
    assert gift["price_rule"] == "gift" and gift["price_rule_label"]
    # The gift is reserved like any line.
    r = await client.get(f"{API}/stock", params={"q": "CUP"}, headers=await as_(client, "clerk"))
    assert r.status_code == 200, r.text
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "196.00"


# --- shipments, backorders, receipt; returns and the ledger --------------------------------


def png_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_split_shipments_receipt_return_and_exposure_after_each_step(client, world):
    buyer = await as_(client, "buyer_a")
    clerk = await as_(client, "clerk")
    fin = await as_(client, "fin")
    a_id = world["a"]["id"]
    # 400 瓶 at ¥2.00: 300 from the dealer's default 华东仓, 100 from 华北仓.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 400}], "s-1")
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "approved"
    [line] = order["lines"]
    credit = await dealer_credit(client, a_id)
    assert (credit["balance"], credit["open_orders"], credit["exposure"]) == (
        "0.00",
        "800.00",
        "800.00",
    )

    async def ship(warehouse: dict, qty: int, tracking: str) -> dict:
        r = await client.post(
            f"{API}/orders/{order['id']}/shipments",
            json={
                "warehouse_id": warehouse["id"],
                "lines": [{"order_line_id": line["id"], "qty": qty}],
                "carrier": "顺丰",
                "tracking_no": tracking,
            },
            headers={**clerk, "Idempotency-Key": f"pack-{tracking}"},
        )
        assert r.status_code == 201, r.text
        s = r.json()
        r = await client.post(f"{API}/shipments/{s['id']}/ship", json={}, headers=clerk)
        assert r.status_code == 200, r.text
        return r.json()

    # More than remains in a warehouse: refused, nothing packed.
    r = await client.post(
        f"{API}/orders/{order['id']}/shipments",
        json={
            "warehouse_id": world["north"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 401}],
        },
        headers={**clerk, "Idempotency-Key": "pk-566"},
    )
    assert r.status_code in (409, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")

    first = await ship(world["east"], 200, "SF100")
    assert first["status"] == "shipped" and first["tracking_no"] == "SF100"
    got = await order_of(client, buyer, order["id"])
    assert got["status"] == "partially_shipped"
    assert got["lines"][0]["qty_shipped"] == 200
    credit = await dealer_credit(client, a_id)
    # Invoiced ¥400 moves from open orders to the balance; exposure stays ¥800.
    assert (credit["balance"], credit["open_orders"], credit["exposure"]) == (
        "400.00",
        "400.00",
        "800.00",
    )
    second = await ship(world["east"], 100, "SF101")
    third = await ship(world["north"], 100, "YT200")
    got = await order_of(client, buyer, order["id"])
    assert got["status"] == "shipped"
    credit = await dealer_credit(client, a_id)
    assert (credit["balance"], credit["open_orders"], credit["exposure"]) == (
        "800.00",
        "0.00",
        "800.00",
    )
    # Tracking is visible to the dealer; delivered; the dealer confirms receipt (签收).
    mine = (await client.get(f"{API}/orders/{order['id']}/shipments", headers=buyer)).json()
    assert {s["tracking_no"] for s in (mine if isinstance(mine, list) else mine["items"])} == {
        "SF100",
        "SF101",
        "YT200",
    }
    for s in (first, second, third):
        r = await client.post(f"{API}/shipments/{s['id']}/deliver", json={}, headers=clerk)
        assert r.status_code == 200, r.text
        r = await client.post(f"{API}/shipments/{s['id']}/receipt", json={}, headers=buyer)
        assert r.status_code == 200, r.text
        assert r.json()["received_at"]
    got = await order_of(client, buyer, order["id"])
    assert got["status"] == "completed", got["status"]

    # Payment of ¥500: exposure ¥300.
    r = await client.post(
        f"{API}/payments",
        json={"dealer_id": a_id, "amount": "500.00", "method": "bank"},
        headers={**fin, "Idempotency-Key": "pay-1"},
    )
    assert r.status_code == 201, r.text
    assert (await dealer_credit(client, a_id))["exposure"] == "300.00"

    # A return of 30 瓶 with a photo; staff approve; the warehouse accepts 20 of them.
    r = await client.post(
        f"{API}/orders/{order['id']}/returns",
        json={"reason": "破损", "lines": [{"order_line_id": line["id"], "qty": 30}]},
        headers={**buyer, "Idempotency-Key": "ret-1"},
    )
    assert r.status_code == 201, r.text
    ret = r.json()
    r = await client.post(
        f"{API}/returns/{ret['id']}/photos",
        files={"photos": ("broken.png", png_bytes(), "image/png")},
        headers=buyer,
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["photos"]) == 1
    # Another dealer cannot see it, nor its photo.
    buyer_b = await as_(client, "buyer_b")
    assert_problem(
        await client.get(f"{API}/returns/{ret['id']}", headers=buyer_b), 404, "not-found"
    )
    photo_id = r.json()["photos"][0]["id"]
    assert_problem(
        await client.get(f"{API}/returns/{ret['id']}/photos/{photo_id}", headers=buyer_b),
        404,
        "not-found",
    )
    assert (await dealer_credit(client, a_id))["exposure"] == "300.00"
    r = await client.post(
        f"{API}/returns/{ret['id']}/decision",
        json={"decision": "approve"},
        headers=await as_(client, "mgr"),
    )
    assert r.status_code == 200, r.text
    assert (await dealer_credit(client, a_id))["exposure"] == "300.00"
    before = {
        s["warehouse_id"]: s["on_hand"]
        for s in (await client.get(f"{API}/stock", headers=clerk)).json()["items"]
        if s["sku_code"] == "W550"
    }
    r = await client.post(
        f"{API}/returns/{ret['id']}/receive",
        json={
            "warehouse_id": world["east"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 20}],
            "note": "10 瓶不可再售",
        },
        headers=clerk,
    )
    assert r.status_code == 200, r.text
    assert r.json()["credit"] == "40.00", r.json()
    after = {
        s["warehouse_id"]: s["on_hand"]
        for s in (await client.get(f"{API}/stock", headers=clerk)).json()["items"]
        if s["sku_code"] == "W550"
    }
    assert after[world["east"]["id"]] == before[world["east"]["id"]] + 20
    credit = await dealer_credit(client, a_id)
    assert (credit["balance"], credit["exposure"]) == ("260.00", "260.00")
    ledger = (await client.get(f"{API}/dealers/{a_id}/ledger", headers=fin)).json()
    kinds = [e["kind"] for e in ledger["entries"]]
    assert kinds.count("invoice") == 3 and "payment" in kinds and "credit_note" in kinds, kinds
    # The dealer sees its own ledger and the same figures.
    mine = await client.get(f"{API}/dealers/{a_id}/ledger", headers=buyer)
    assert mine.status_code == 200 and mine.json()["closing_balance"] == "260.00"
    assert_problem(
        await client.get(f"{API}/dealers/{a_id}/ledger", headers=buyer_b), 404, "not-found"
    )


async def test_backorder_accepted_shown_and_shipped_when_stock_comes(client, world):
    root = await as_(client, "root")
    cola = await f.sku(code="C330", name="可乐 330ml", base_price_fen=300, allow_backorder=True)
    await f.stock(cola, world["east"], on_hand=10)
    buyer = await as_(client, "buyer_a")
    r = await submit(client, buyer, [{"sku_code": "C330", "qty": 25}], "bo-1")
    assert r.status_code == 201, r.text
    order = r.json()
    [line] = order["lines"]
    assert (line["qty"], line["qty_backordered"]) == (25, 15)
    # Without backorders allowed, the same shortage is refused with the figures.
    await set_credit(client, world["a"]["id"], credit_limit="5000.00")
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 601}], "bo-2")
    body = assert_problem(r, 422, "insufficient-stock")
    # Dealers see no stock figures unless the supplier shows them.
    assert body["lines"] == [{"sku": "W550", "requested": 601, "available": None}]
    clerk = await as_(client, "clerk")
    r = await client.get(f"{API}/backorders", headers=clerk)
    rows = r.json() if isinstance(r.json(), list) else r.json()["items"]
    assert [(b["order_id"], b["qty_backordered"]) for b in rows] == [(order["id"], 15)]
    # Only what is reserved can ship now.
    r = await client.post(
        f"{API}/orders/{order['id']}/shipments",
        json={
            "warehouse_id": world["east"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 11}],
        },
        headers={**clerk, "Idempotency-Key": "pk-713"},
    )
    assert r.status_code in (409, 422), r.text
    r = await client.post(
        f"{API}/stock/adjust",
        json={
            "sku_id": cola["id"],
            "warehouse_id": world["east"]["id"],
            "qty": 20,
            "reason": "receipt",
        },
        headers={**clerk, "Idempotency-Key": "rcv-1"},
    )
    assert r.status_code in (200, 201), r.text
    got = await order_of(client, buyer, order["id"])
    assert got["lines"][0]["qty_backordered"] == 0
    r = await client.post(
        f"{API}/orders/{order['id']}/shipments",
        json={
            "warehouse_id": world["east"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 25}],
        },
        headers={**clerk, "Idempotency-Key": "pk-735"},
    )
    assert r.status_code == 201, r.text
    assert root


# --- webhooks --------------------------------------------------------------------------------


@pytest.fixture
async def receiver():
    from tests.webhook_receiver import Receiver, free_port

    r = await Receiver(free_port()).start()
    yield r
    await r.stop()


async def test_webhooks_signed_retried_and_none_for_a_refused_change(client, world, receiver):
    import json
    from datetime import UTC, datetime, timedelta

    from portal import webhooks as sender
    from portal.domain import webhooks as hooks

    root = await as_(client, "root")
    r = await client.post(
        f"{API}/webhooks",
        json={"url": receiver.url, "events": ["order.submitted", "order.approved"]},
        headers=root,
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()
    secret = endpoint["secret"]
    # Every shipment step an integrator tracks can be subscribed to on its own.
    r = await client.post(
        f"{API}/webhooks",
        json={
            # Another address of the same receiver: one endpoint per address.
            "url": receiver.url + "?shipments",
            "events": [
                "shipment.packed",
                "shipment.shipped",
                "shipment.delivered",
                "shipment.received",
                "order.remainder_closed",
            ],
        },
        headers=root,
    )
    assert r.status_code == 201, r.text
    ship_hook = r.json()

    buyer = await as_(client, "buyer_a")
    # Refused for credit: nothing committed, nothing owed to the receiver.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 501}], "wh-0")
    assert_problem(r, 422, "credit-exceeded")
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 5}], "wh-1")
    assert r.status_code == 201, r.text
    order = r.json()
    # A retry of the same submission is the same order: no second event.
    again = await submit(client, buyer, [{"sku_code": "W550", "qty": 5}], "wh-1")
    assert again.json()["id"] == order["id"]

    receiver.status = 503
    assert await sender.send_due() == 0
    assert len(receiver.requests) == 2  # submitted, approved (on submission)
    deliveries = (
        await client.get(f"{API}/webhooks/{endpoint['id']}/deliveries", headers=root)
    ).json()
    assert {(d["event_type"], d["status"], d["attempts"]) for d in deliveries} == {
        ("order.submitted", "pending", 1),
        ("order.approved", "pending", 1),
    }
    # Not due again at once; due after the back-off, and then delivered.
    assert await sender.send_due() == 0
    receiver.status = 200
    assert await sender.send_due(now=datetime.now(UTC) + timedelta(minutes=5)) == 2
    assert len(receiver.requests) == 4
    for got in receiver.requests[2:]:
        assert hooks.verify(
            secret,
            got.headers["x-portal-timestamp"],
            got.body,
            got.headers["x-portal-signature"],
        )
        doc = json.loads(got.body)
        assert doc["data"]["order"]["number"] == order["number"]
        assert doc["type"] == got.headers["x-portal-event"]
    # A retry repeats the delivery id.
    assert receiver.requests[0].headers["x-portal-delivery"] in {
        g.headers["x-portal-delivery"] for g in receiver.requests[2:]
    }

    # Shipment steps reach the subscriber of shipment events.
    clerk = await as_(client, "clerk")
    [line] = order["lines"]
    r = await client.post(
        f"{API}/orders/{order['id']}/shipments",
        json={
            "warehouse_id": world["east"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 5}],
            "carrier": "顺丰",
            "tracking_no": "SF1",
        },
        headers={**clerk, "Idempotency-Key": "wh-pack"},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    for step in ("ship", "deliver"):
        r = await client.post(f"{API}/shipments/{sid}/{step}", json={}, headers=clerk)
        assert r.status_code == 200, r.text
    r = await client.post(f"{API}/shipments/{sid}/receipt", json={}, headers=buyer)
    assert r.status_code == 200, r.text
    await sender.send_due(now=datetime.now(UTC) + timedelta(minutes=5))
    shipped = (
        await client.get(f"{API}/webhooks/{ship_hook['id']}/deliveries", headers=root)
    ).json()
    assert sorted(d["event_type"] for d in shipped) == [
        "shipment.delivered",
        "shipment.packed",
        "shipment.received",
        "shipment.shipped",
    ]


# --- scoping: foreign ids read as not found, for every role and for role-scoped keys --------


async def test_foreign_ids_answer_404_for_every_role_and_for_keys(client, world):
    buyer_a = await as_(client, "buyer_a")
    r = await submit(client, buyer_a, [{"sku_code": "W550", "qty": 10}], "sc-1")
    order = r.json()
    [line] = order["lines"]
    clerk = await as_(client, "clerk")
    r = await client.post(
        f"{API}/orders/{order['id']}/shipments",
        json={
            "warehouse_id": world["east"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 10}],
        },
        headers={**clerk, "Idempotency-Key": "sc-pack"},
    )
    sid = r.json()["id"]
    await client.post(f"{API}/shipments/{sid}/ship", json={}, headers=clerk)
    r = await client.post(
        f"{API}/orders/{order['id']}/returns",
        json={"reason": "破损", "lines": [{"order_line_id": line["id"], "qty": 1}]},
        headers={**buyer_a, "Idempotency-Key": "sc-ret"},
    )
    rid = r.json()["id"]
    a_id = world["a"]["id"]
    await f.contract_price(world["a"], world["water"], 170)
    addresses = (await client.get(f"{API}/dealers/{a_id}/addresses", headers=buyer_a)).json()
    address_id = (addresses if isinstance(addresses, list) else addresses["items"])[0]["id"]

    # Keys scoped to 乙's buyer and to the other team's rep and manager act as them.
    root = await as_(client, "root")
    keys = {}
    for username in ("buyer_b", "rep_b", "mgr2"):
        r = await client.post(
            f"{API}/api-keys", json={"username": username, "name": f"erp {username}"}, headers=root
        )
        assert r.status_code == 201, r.text
        keys[username] = {"Authorization": f"Bearer {r.json()['key']}", **EN}

    reads = [
        f"/orders/{order['id']}",
        f"/orders/{order['id']}/shipments",
        f"/orders/{order['id']}/returns",
        f"/shipments/{sid}",
        f"/shipments/{sid}/delivery-note",
        f"/returns/{rid}",
        f"/dealers/{a_id}",
        f"/dealers/{a_id}/ledger",
        f"/dealers/{a_id}/statement",
        f"/dealers/{a_id}/addresses",
        f"/dealers/{a_id}/rep",
        f"/catalog/skus?dealer_id={a_id}",
        f"/catalog/skus/{world['water']['id']}?dealer_id={a_id}",
        f"/promotions/current?dealer_id={a_id}",
    ]
    writes = [
        (f"/orders/{order['id']}/cancel", {}),
        (f"/orders/{order['id']}/approve", {}),
        (f"/orders/{order['id']}/reject", {"reason": "x"}),
        (f"/orders/{order['id']}/return-to-dealer", {"reason": "x"}),
        (f"/orders/{order['id']}/resubmit", {}),
        (
            f"/orders/{order['id']}/adjust",
            {"reason": "x", "lines": [{"order_line_id": line["id"], "qty": 1}]},
        ),
        (
            f"/orders/{order['id']}/returns",
            {"reason": "x", "lines": [{"order_line_id": line["id"], "qty": 1}]},
        ),
        (f"/shipments/{sid}/receipt", {}),
        (
            f"/dealers/{a_id}/addresses",
            {"label": "x", "contact": "x", "phone": "13800000000", "line": "x"},
        ),
        ("/orders", {"dealer_id": a_id, "lines": [{"sku_code": "W550", "qty": 1}]}),
    ]
    headers_of = {
        "buyer_b": await as_(client, "buyer_b"),
        "rep_b": await as_(client, "rep_b"),
        "mgr2": await as_(client, "mgr2"),
        **{f"key {k}": v for k, v in keys.items()},
    }
    leaks = []
    for who, headers in headers_of.items():
        is_dealer = who.endswith("buyer_b")
        for path in reads:
            r = await client.get(API + path, headers=headers)
            if is_dealer and "dealer_id=" in path:
                # Another dealer's id is not found for a dealer's user too (not its own prices
                # under that id), and never another's contract price.
                assert "1.70" not in r.text, r.text
            if r.status_code != 404:
                leaks.append((who, "GET", path, r.status_code))
        for path, body in writes:
            r = await client.post(
                API + path,
                json=body,
                headers={**headers, "Idempotency-Key": f"{who}{path}".replace(" ", "-")},
            )
            if not is_dealer and path.endswith("/returns") and r.status_code == 403:
                continue  # staff never ask for returns: refused by role, whatever the id
            if r.status_code != 404:
                leaks.append((who, "POST", path, r.status_code, r.text[:120]))
        r = await client.put(
            f"{API}/dealers/{a_id}/addresses/{address_id}", json={"label": "改"}, headers=headers
        )
        if r.status_code != 404:
            leaks.append((who, "PUT", "address", r.status_code))
        r = await client.delete(f"{API}/dealers/{a_id}/addresses/{address_id}", headers=headers)
        if r.status_code != 404:
            leaks.append((who, "DELETE", "address", r.status_code))
        listed = (await client.get(f"{API}/orders", headers=headers)).json()["items"]
        if any(o["id"] == order["id"] for o in listed):
            leaks.append((who, "listed", "orders"))
        shipments = (await client.get(f"{API}/shipments", headers=headers)).json()["items"]
        if any(s["id"] == sid for s in shipments):
            leaks.append((who, "listed", "shipments"))
        returns = (await client.get(f"{API}/returns", headers=headers)).json()["items"]
        if any(x["id"] == rid for x in returns):
            leaks.append((who, "listed", "returns"))
        dealers = await client.get(f"{API}/dealers", headers=headers)
        if dealers.status_code == 200 and any(d["id"] == a_id for d in dealers.json()["items"]):
            leaks.append((who, "listed", "dealers"))
    assert leaks == []
    # Nothing was changed by any of them.
    got = await order_of(client, buyer_a, order["id"])
    assert got["status"] == "shipped"
    assert (await dealer_credit(client, a_id))["open_orders"] == "0.00"


# --- bulk import: row by row, all or nothing -------------------------------------------------


async def test_bulk_imports_report_each_bad_row_and_write_nothing(client, world):
    root = await as_(client, "root")
    clerk = await as_(client, "clerk")
    buyer = await as_(client, "buyer_a")
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 100}], "imp-1")
    assert r.status_code == 201, r.text  # holds 100 of 华东仓's 300

    async def upload(kind: str, text: str, who: dict):
        return await client.post(
            f"{API}/data/{kind}",
            files={"file": (f"{kind}.csv", text.encode("utf-8-sig"), "text/csv")},
            headers={**who, "Idempotency-Key": f"imp-{kind}-{hash(text)}"},
        )

    async def on_hand() -> dict:
        rows = (await client.get(f"{API}/stock", headers=clerk)).json()["items"]
        return {(s["warehouse_code"], s["sku_code"]): s["on_hand"] for s in rows}

    before = await on_hand()
    bad = "warehouse,sku,on_hand\nN,W550,500\nE,NOPE,5\nE,W550,x\nX,W550,1\n"
    r = await upload("stock", bad, clerk)
    body = assert_problem(r, 422, "validation")
    assert [e["field"] for e in body["errors"]] == ["row 3", "row 4", "row 5"]
    assert await on_hand() == before  # the good first row was not written either

    good = "warehouse,sku,on_hand\nN,W550,500\nE,W550,120\n"
    r = await upload("stock", good, clerk)
    assert r.status_code in (200, 201), r.text
    assert (await on_hand())[("N", "W550")] == 500
    assert (await on_hand())[("E", "W550")] == 120

    bad_prices = "tier,sku,min_qty,price,percent\nT1,W550,,1.95,\nT1,W550,24,-1,\nT9,W550,,1,\n"
    r = await upload("prices", bad_prices, root)
    body = assert_problem(r, 422, "validation")
    assert len(body["errors"]) >= 2, body
    p = await price_of(client, buyer, world["water"]["id"], 1)
    assert p["unit_price"] == "2.00"  # the good row was not applied

    # The dealer's people and the warehouse cannot import prices.
    assert (await upload("prices", "tier,sku,price\nT1,W550,1.00\n", clerk)).status_code in (
        403,
        404,
    )
    assert (await upload("stock", good, buyer)).status_code in (403, 404)


# --- races (PostgreSQL: real parallel connections) -------------------------------------------


@pytest.mark.postgres_only
async def test_parallel_orders_never_pass_the_limit_nor_oversell(client, world):
    import asyncio

    chips = await f.sku(code="CHIP", name="薯片", base_price_fen=100)
    await f.tier_price(world["t1"], chips, price_fen=100)
    await f.stock(chips, world["east"], on_hand=10)
    await f.user("dealer_buyer", world["a"], username="buyer_a2")
    await f.user("dealer_buyer", world["b"], username="buyer_b2")
    who = [
        await as_(client, "buyer_a"),
        await as_(client, "buyer_a2"),
        await as_(client, "admin_a"),
    ]
    # Three of 甲's people at once, ¥400.00 each on a ¥1,000 limit: exactly two pass.
    answers = await asyncio.gather(
        *(
            submit(client, h, [{"sku_code": "W550", "qty": 200}], f"race-{n}")
            for n, h in enumerate(who)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 201, 422], [a.text for a in answers]
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "800.00"

    # Four orders of 3 for the last 10 chips, from two dealers: exactly three pass.
    buyers = [await as_(client, u) for u in ("buyer_a", "buyer_b", "buyer_a2", "buyer_b2")]
    answers = await asyncio.gather(
        *(
            submit(client, h, [{"sku_code": "CHIP", "qty": 3}], f"chip-{n}")
            for n, h in enumerate(buyers)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 201, 201, 422], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 422)
    assert refused.json()["type"] == "/problems/insufficient-stock"
    rows = (await client.get(f"{API}/stock", headers=await as_(client, "clerk"))).json()["items"]
    [chip_row] = [s for s in rows if s["sku_code"] == "CHIP"]
    assert (chip_row["on_hand"], chip_row["reserved"]) == (10, 9)


# --- a rep's price change re-runs the approval rules; problem types --------------------------


async def test_rep_price_adjustment_beyond_authority_then_needs_the_manager(client, world):
    root = await as_(client, "root")
    for body in (
        {"kind": "total_at_least", "approver_role": "finance", "amount": "300.00"},
        {"kind": "discount_beyond_authority", "approver_role": "sales_manager"},
    ):
        r = await client.post(f"{API}/approval-rules", json=body, headers=root)
        assert r.status_code == 201, r.text
    rep = await as_(client, "rep_a")
    r = await submit(
        client, rep, [{"sku_code": "W550", "qty": 200}], "ra-1", dealer_id=world["a"]["id"]
    )
    order = r.json()  # ¥400.00: waits for finance
    assert order["status"] == "pending_approval", r.text
    [line] = order["lines"]
    # The rep gives 10% off (beyond 5%): ¥360.00; finance's step stays, the manager's comes.
    r = await adjust_qty(client, rep, order["id"], line["id"], 200, "老客户", unit_price="1.80")
    assert r.status_code == 200, r.text
    fin = await as_(client, "fin")
    [step] = (await client.get(f"{API}/approvals", headers=fin)).json()
    assert (step["rule_kind"], step["step_no"], step["step_count"]) == ("total_at_least", 1, 2)
    r = await client.post(f"{API}/orders/{order['id']}/approve", headers=fin)
    assert r.json()["order"]["status"] == "pending_approval", r.text
    steps = (await client.get(f"{API}/approvals", headers=await as_(client, "mgr"))).json()
    assert [s["rule_kind"] for s in steps] == ["discount_beyond_authority"], steps
    got = await order_of(client, rep, order["id"])
    assert got["lines"][0]["price_rule"] == "manual" and got["total"] == "360.00"
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "360.00"
    # The dealer is told its order changed, with the reason.
    assert any(n["kind"] == "adjusted" for n in await notices(client, "buyer_a"))


async def test_each_failure_has_its_problem_type_in_the_callers_language(client, world):
    buyer = await as_(client, "buyer_a")
    zh = {**await bearer(client, "buyer_a"), "Accept-Language": "zh-CN"}
    assert_problem(await client.get(f"{API}/orders/999999", headers=buyer), 404, "not-found")
    body = assert_problem(await client.get(f"{API}/orders/999999", headers=zh), 404, "not-found")
    assert any("\u4e00" <= c <= "\u9fff" for c in body["detail"]), body
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 0}], "pt-0")
    assert r.status_code in (400, 422) and r.json()["type"] == "/problems/validation"
    r = await submit(client, buyer, [{"sku_code": "NOPE", "qty": 1}], "pt-1")
    assert r.json()["type"] in ("/problems/validation", "/problems/not-found"), r.text
    r = await submit(client, zh, [{"sku_code": "W550", "qty": 501}], "pt-2")
    body = assert_problem(r, 422, "credit-exceeded")
    assert "¥" in body["detail"] and any("\u4e00" <= c <= "\u9fff" for c in body["detail"])
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 5}], "pt-3")
    order = r.json()
    # The same key with another body is a conflict, not a second order.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 6}], "pt-3")
    assert_problem(r, 409, "conflict")
    # Approving an order that waits for nothing is a conflict.
    r = await client.post(f"{API}/orders/{order['id']}/approve", headers=await as_(client, "mgr"))
    assert_problem(r, 409, "conflict")
    # Receipt of a shipment not yet shipped is a conflict; the dealer cannot pack.
    clerk = await as_(client, "clerk")
    [line] = order["lines"]
    r = await client.post(
        f"{API}/orders/{order['id']}/shipments",
        json={
            "warehouse_id": world["east"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 5}],
        },
        headers={**clerk, "Idempotency-Key": "pt-pack"},
    )
    sid = r.json()["id"]
    assert_problem(
        await client.post(f"{API}/shipments/{sid}/receipt", json={}, headers=buyer), 409, "conflict"
    )
    await client.post(f"{API}/shipments/{sid}/ship", json={}, headers=clerk)
    # Cancelling a shipped order is a conflict; nothing changes.
    assert_problem(
        await client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=buyer),
        409,
        "conflict",
    )


# --- an order's value follows it through partial shipment and a closed remainder -----------


async def test_exposure_adds_up_through_partial_shipment_and_closed_remainder(client, world):
    from datetime import timedelta

    from portal.domain import promotions as promo_domain

    root = await as_(client, "root")
    today = promo_domain.today(f.now())
    r = await client.post(
        f"{API}/promotions",
        json={
            "name": "满200减25",
            "kind": "spend_save",
            "threshold_fen": 20_000,
            "save_fen": 2_500,
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=3)),
        },
        headers=root,
    )
    assert r.status_code == 201, r.text
    buyer = await as_(client, "buyer_a")
    clerk = await as_(client, "clerk")
    a_id = world["a"]["id"]
    # 150 瓶 × ¥2.00 = ¥300.00 less ¥25.00 = ¥275.00.
    r = await submit(client, buyer, [{"sku_code": "W550", "qty": 150}], "cr-1")
    order = r.json()
    assert order["total"] == "275.00", order
    [line] = order["lines"]
    r = await client.post(
        f"{API}/orders/{order['id']}/shipments",
        json={
            "warehouse_id": world["east"]["id"],
            "lines": [{"order_line_id": line["id"], "qty": 49}],
        },
        headers={**clerk, "Idempotency-Key": "cr-pack"},
    )
    sid = r.json()["id"]
    r = await client.post(f"{API}/shipments/{sid}/ship", json={}, headers=clerk)
    assert r.status_code == 200, r.text
    invoiced = r.json()["value"]
    credit = await dealer_credit(client, a_id)
    assert credit["balance"] == invoiced
    assert credit["exposure"] == "275.00", credit
    r = await client.post(
        f"{API}/orders/{order['id']}/close-remainder",
        json={"reason": "客户不要了"},
        headers=await as_(client, "mgr"),
    )
    assert r.status_code == 200, r.text
    credit = await dealer_credit(client, a_id)
    assert (credit["open_orders"], credit["exposure"]) == ("0.00", invoiced), credit
    rows = (await client.get(f"{API}/stock", headers=clerk)).json()["items"]
    assert sum(s["reserved"] for s in rows if s["sku_code"] == "W550") == 0
    assert sum(s["on_hand"] for s in rows if s["sku_code"] == "W550") == 600 - 49
    got = await order_of(client, buyer, order["id"])
    assert got["status"] == "completed" or got["status"] == "shipped", got["status"]


async def test_a_reps_discount_within_authority_stays_so_when_the_dealer_resubmits(client, world):
    root = await as_(client, "root")
    for body in (
        {"kind": "total_at_least", "approver_role": "finance", "amount": "300.00"},
        {"kind": "discount_beyond_authority", "approver_role": "sales_manager"},
    ):
        r = await client.post(f"{API}/approval-rules", json=body, headers=root)
        assert r.status_code == 201, r.text
    rep = await as_(client, "rep_a")
    # ¥1.94 is 3% off ¥2.00, within the rep's 5%: only finance's step (the total).
    r = await submit(
        client,
        rep,
        [{"sku_code": "W550", "qty": 200, "unit_price": "1.94"}],
        "rd-1",
        dealer_id=world["a"]["id"],
    )
    order = r.json()
    assert order["status"] == "pending_approval", r.text
    fin = await as_(client, "fin")
    [step] = (await client.get(f"{API}/approvals", headers=fin)).json()
    assert (step["rule_kind"], step["step_count"]) == ("total_at_least", 1)
    r = await client.post(
        f"{API}/orders/{order['id']}/return-to-dealer", json={"reason": "确认地址"}, headers=fin
    )
    assert r.status_code == 200, r.text
    # The dealer resubmits as it was, and then changes a quantity: the rep's price is still
    # within the rep's authority, so the manager has nothing to decide either time.
    buyer = await as_(client, "buyer_a")
    r = await client.post(f"{API}/orders/{order['id']}/resubmit", headers=buyer)
    assert r.status_code == 200, r.text
    [step] = (await client.get(f"{API}/approvals", headers=fin)).json()
    assert (step["rule_kind"], step["step_count"]) == ("total_at_least", 1), step
    assert (await client.get(f"{API}/approvals", headers=await as_(client, "mgr"))).json() == []
    r = await client.post(
        f"{API}/orders/{order['id']}/return-to-dealer", json={"reason": "再确认"}, headers=fin
    )
    [line] = order["lines"]
    r = await adjust_qty(client, buyer, order["id"], line["id"], 210, "多要一点")
    assert r.status_code == 200, r.text
    [step] = (await client.get(f"{API}/approvals", headers=fin)).json()
    assert (step["rule_kind"], step["step_count"]) == ("total_at_least", 1), step


async def test_a_refused_adjustment_leaves_no_event_notice_or_webhook(client, world, receiver):
    root = await as_(client, "root")
    r = await client.post(f"{API}/webhooks", json={"url": receiver.url}, headers=root)
    assert r.status_code == 201, r.text
    hook = r.json()
    await client.post(
        f"{API}/approval-rules",
        json={"kind": "total_at_least", "approver_role": "sales_manager", "amount": "100.00"},
        headers=root,
    )
    buyer = await as_(client, "buyer_a")
    order = (await submit(client, buyer, [{"sku_code": "W550", "qty": 100}], "ra-1")).json()
    [line] = order["lines"]
    seen = len((await client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=root)).json())
    told = len(await notices(client, "buyer_a"))
    r = await adjust_qty(client, await as_(client, "mgr"), order["id"], line["id"], 550, "加量")
    assert_problem(r, 422, "credit-exceeded")
    after = (await client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=root)).json()
    assert len(after) == seen
    assert len(await notices(client, "buyer_a")) == told
    got = await order_of(client, buyer, order["id"])
    assert [e["kind"] for e in got["events"]] == [e["kind"] for e in order["events"]]


async def test_a_warehouse_key_ships_but_reads_no_account_and_a_revoked_key_stops(client, world):
    root = await as_(client, "root")
    r = await client.post(
        f"{API}/api-keys", json={"username": "clerk", "name": "WMS"}, headers=root
    )
    assert r.status_code == 201, r.text
    key_id, wms = r.json()["id"], {"Authorization": f"Bearer {r.json()['key']}", **EN}
    assert (await client.get(f"{API}/stock", headers=wms)).status_code == 200
    a_id = world["a"]["id"]
    for path in (f"/dealers/{a_id}/ledger", f"/dealers/{a_id}/statement"):
        r = await client.get(API + path, headers=wms)
        assert r.status_code in (403, 404), (path, r.status_code)
    r = await client.get(f"{API}/dealers/{a_id}", headers=wms)
    assert r.status_code in (403, 404) or "credit_limit" not in r.json(), r.text
    r = await client.post(
        f"{API}/payments",
        json={"dealer_id": a_id, "amount": "1.00", "method": "bank"},
        headers={**wms, "Idempotency-Key": "wms-pay"},
    )
    assert r.status_code in (403, 404), r.text
    # Keys cannot make keys.
    r = await client.post(f"{API}/api-keys", json={"username": "root", "name": "x"}, headers=wms)
    assert r.status_code in (401, 403), r.text
    r = await client.post(f"{API}/api-keys/{key_id}/revoke", headers=root)
    assert r.status_code in (200, 201), r.text
    r = await client.get(f"{API}/stock", headers=wms)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_dealers_see_stock_as_words_unless_the_supplier_shows_numbers(client, world):
    buyer = await as_(client, "buyer_a")
    rep = await as_(client, "rep_a")
    sku_id = world["water"]["id"]
    r = await client.get(f"{API}/catalog/skus/{sku_id}", headers=buyer)
    got = r.json()
    assert got["availability"] and got["available_qty"] is None, got
    r = await client.get(
        f"{API}/catalog/skus/{sku_id}", params={"dealer_id": world["a"]["id"]}, headers=rep
    )
    assert r.json()["available_qty"] == 600, r.json()
    r = await client.put(
        f"{API}/settings",
        json={"name": "某某饮料", "show_stock_numbers": True},
        headers=await as_(client, "root"),
    )
    assert r.status_code == 200, r.text
    assert (await client.get(f"{API}/catalog/skus/{sku_id}", headers=buyer)).json()[
        "available_qty"
    ] == 600
    body = assert_problem(
        await submit(client, buyer, [{"sku_code": "W550", "qty": 601}], "sn-1"),
        422,
        "credit-exceeded",
    )
    assert body
    await set_credit(client, world["a"]["id"], credit_limit="5000.00")
    body = assert_problem(
        await submit(client, buyer, [{"sku_code": "W550", "qty": 601}], "sn-2"),
        422,
        "insufficient-stock",
    )
    assert body["lines"] == [{"sku": "W550", "requested": 601, "available": 600}]


async def test_an_order_sent_back_waits_for_the_dealer_not_the_approver(client, world):
    root = await as_(client, "root")
    await client.post(
        f"{API}/approval-rules",
        json={"kind": "total_at_least", "approver_role": "sales_manager", "amount": "100.00"},
        headers=root,
    )
    buyer = await as_(client, "buyer_a")
    order = (await submit(client, buyer, [{"sku_code": "W550", "qty": 300}], "sw-1")).json()
    mgr = await as_(client, "mgr")
    r = await client.post(
        f"{API}/orders/{order['id']}/return-to-dealer", json={"reason": "改数量"}, headers=mgr
    )
    assert r.status_code == 200, r.text
    await set_credit(client, world["a"]["id"], credit_limit="500.00")
    # Approving it as it stands (¥600 on a ¥500 limit) is not a way around the credit check.
    r = await client.post(f"{API}/orders/{order['id']}/approve", headers=mgr)
    assert r.status_code in (404, 409, 422), r.text
    assert (await client.get(f"{API}/approvals", headers=mgr)).json() == []
    got = await order_of(client, buyer, order["id"])
    assert got["status"] == "returned"
    # Held while it is with the dealer: its stock and its value in exposure.
    assert (await dealer_credit(client, world["a"]["id"]))["open_orders"] == "600.00"
    # The dealer cancels it instead: both are released.
    r = await client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=buyer)
    assert r.status_code == 200, r.text
    assert (await dealer_credit(client, world["a"]["id"]))["exposure"] == "0.00"
    rows = (await client.get(f"{API}/stock", headers=await as_(client, "clerk"))).json()["items"]
    assert sum(s["reserved"] for s in rows) == 0


async def test_the_dealers_rep_hears_of_decisions_on_orders_the_dealer_placed(client, world):
    root = await as_(client, "root")
    await client.post(
        f"{API}/approval-rules",
        json={"kind": "total_at_least", "approver_role": "sales_manager", "amount": "100.00"},
        headers=root,
    )
    buyer = await as_(client, "buyer_a")
    mgr = await as_(client, "mgr")
    first = (await submit(client, buyer, [{"sku_code": "W550", "qty": 60}], "rh-1")).json()
    second = (await submit(client, buyer, [{"sku_code": "W550", "qty": 70}], "rh-2")).json()
    r = await client.post(f"{API}/orders/{first['id']}/approve", headers=mgr)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{API}/orders/{second['id']}/reject", json={"reason": "重复下单"}, headers=mgr
    )
    assert r.status_code == 200, r.text
    for who in ("buyer_a", "rep_a"):
        got = {(n["order_id"], n["kind"]) for n in await notices(client, who)}
        assert {(first["id"], "approved"), (second["id"], "rejected")} <= got, (who, got)
    # The other dealer's people and rep hear nothing of it.
    for who in ("buyer_b", "rep_b"):
        assert await notices(client, who) == []
