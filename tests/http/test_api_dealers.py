"""API dealers: the list and one dealer's credit, scoped per role; finance's credit settings
(limit, tolerance over it, what an order over it does, terms), which the next order obeys."""

from __future__ import annotations

import json

import pytest

from portal.tables import AuditEntry, Dealer
from tests import factories as f
from tests.http.test_api_auth import EN, assert_problem, bearer


@pytest.fixture
async def world(db) -> dict:
    """Dealers A and B (tier price 1.00/瓶, 1,000 瓶 in stock); A has a buyer and a rep."""
    t1 = await f.tier(name="一级经销商")
    wh = await f.warehouse()
    a = await f.dealer(t1, name="甲经销商", default_warehouse=wh, region="华东")
    b = await f.dealer(t1, name="乙经销商", default_warehouse=wh, region="华南")
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=100)
    await f.tier_price(t1, water, price_fen=100)
    await f.stock(water, wh, on_hand=1000)
    await f.user("dealer_buyer", a, username="buyer_a")
    rep = await f.user("sales_rep", username="rep_a")
    await f.assign(rep, a)
    await f.user("finance", username="fin")
    return {"a": a, "b": b}


async def order(client, headers: dict, qty: int, key: str):
    return await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "W550", "qty": qty}]},
        headers={**headers, "Idempotency-Key": key},
    )


async def dealer_row(dealer: dict) -> dict:
    return await Dealer.select().where(Dealer.id == dealer["id"]).first()


async def test_the_dealer_list_is_each_roles_own_scope(client, world):
    a, b = world["a"], world["b"]
    codes = {}
    for username in ("buyer_a", "rep_a", "fin"):
        r = await client.get("/api/v1/dealers", headers=await bearer(client, username))
        assert r.status_code == 200, r.text
        codes[username] = [d["code"] for d in r.json()["items"]]
    assert codes == {
        "buyer_a": [a["code"]],
        "rep_a": [a["code"]],
        # Nobody ordered yet: by name in pinyin order (甲 jia before 乙 yi).
        "fin": [a["code"], b["code"]],
    }
    fin = await bearer(client, "fin")
    [item] = (await client.get("/api/v1/dealers", params={"q": "华南"}, headers=fin)).json()[
        "items"
    ]
    assert item["code"] == b["code"] and item["tier"] == "一级经销商"
    assert item["credit_limit"] == "100000.00" and item["available_credit"] == "100000.00"
    first = (await client.get("/api/v1/dealers", params={"per_page": 1}, headers=fin)).json()
    second = (
        await client.get("/api/v1/dealers", params={"per_page": 1, "page": 2}, headers=fin)
    ).json()
    assert first["has_more"] is True and second["has_more"] is False
    assert {first["items"][0]["code"], second["items"][0]["code"]} == {a["code"], b["code"]}
    bad = await client.get("/api/v1/dealers", params={"per_page": 0}, headers=fin)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem")


async def test_one_dealers_credit_adds_up_and_other_dealers_are_not_found(client, world):
    a, b = world["a"], world["b"]
    buyer = await bearer(client, "buyer_a")
    await Dealer.update({Dealer.balance_fen: 30_000, Dealer.credit_tolerance_bp: 500}).where(
        Dealer.id == a["id"]
    )
    assert (await order(client, buyer, 50, "k1")).status_code == 201
    r = await client.get(f"/api/v1/dealers/{a['id']}", headers=buyer)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["credit_limit"], got["balance"], got["open_orders"]) == (
        "100000.00",
        "300.00",
        "50.00",
    )
    assert (got["exposure"], got["available_credit"]) == ("350.00", "99650.00")
    assert (got["tolerance"], got["tolerance_amount"], got["tolerance_percent"]) == (
        "5000.00",
        "0.00",
        "5",
    )
    assert (got["over_credit_policy"], got["overdue_policy"]) == ("block", "warn")
    assert got["orders_blocked"] is False and got["active"] is True
    for username in ("buyer_a", "rep_a"):
        other = await client.get(
            f"/api/v1/dealers/{b['id']}", headers=await bearer(client, username)
        )
        assert_problem(other, 404, "not-found")
    missing = await client.get("/api/v1/dealers/987654", headers=buyer)
    assert_problem(missing, 404, "not-found")


async def test_finance_sets_the_credit_settings_and_the_next_order_obeys_them(client, world):
    a = world["a"]
    fin, buyer = await bearer(client, "fin"), await bearer(client, "buyer_a")
    url = f"/api/v1/dealers/{a['id']}/credit"
    r = await client.put(
        url,
        json={
            "credit_limit": "100.00",
            "payment_terms_days": 45,
            "tolerance_amount": "20",
            "tolerance_percent": "10",
        },
        headers=fin,
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["credit_limit"], got["payment_terms_days"]) == ("100.00", 45)
    # The greater of ¥20.00 and 10 % of ¥100.00.
    assert (got["tolerance"], got["tolerance_amount"], got["tolerance_percent"]) == (
        "20.00",
        "20.00",
        "10",
    )
    assert got["over_credit_policy"] == "block"  # left out: unchanged

    # ¥115.00 is over the limit but within the tolerance; another ¥10.00 is not.
    assert (await order(client, buyer, 115, "k1")).status_code == 201
    refused = assert_problem(await order(client, buyer, 10, "k2"), 422, "credit-exceeded")
    assert (refused["available"], refused["tolerance"]) == ("-15.00", "20.00")

    # Under the approval policy the same order waits for finance instead.
    r = await client.put(
        url,
        json={"credit_limit": "100", "payment_terms_days": 45, "over_credit_policy": "approval"},
        headers=fin,
    )
    assert r.json()["over_credit_policy"] == "approval"
    assert r.json()["tolerance"] == "20.00"  # kept
    waiting = await order(client, buyer, 10, "k3")
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["status"] == "pending_approval"
    inbox = (await client.get("/api/v1/approvals", headers=fin)).json()
    assert [(i["order_id"], i["rule_kind"]) for i in inbox] == [
        (waiting.json()["id"], "over_credit")
    ]

    # A blank tolerance is none.
    r = await client.put(
        url,
        json={
            "credit_limit": "100",
            "payment_terms_days": 45,
            "tolerance_amount": "",
            "tolerance_percent": "",
        },
        headers=fin,
    )
    assert r.json()["tolerance"] == "0.00" and r.json()["tolerance_percent"] == "0"
    audits = (
        await AuditEntry.select()
        .where(AuditEntry.action == "dealer.credit_terms")
        .order_by(AuditEntry.id)
    )
    assert len(audits) == 3
    first = json.loads(audits[0]["after"])
    assert (first["credit_tolerance_fen"], first["credit_tolerance_bp"]) == (2000, 1000)
    assert json.loads(audits[1]["before"])["over_credit_policy"] == "block"
    assert json.loads(audits[1]["after"])["over_credit_policy"] == "approval"


async def test_credit_settings_refuse_bad_input_and_other_roles_changing_nothing(client, world):
    a = world["a"]
    url = f"/api/v1/dealers/{a['id']}/credit"
    before = await dealer_row(a)
    fin = {**await bearer(client, "fin"), **EN}
    good = {"credit_limit": "5000", "payment_terms_days": 30}
    for field, value in (
        ("credit_limit", "-1"),
        ("credit_limit", "abc"),
        ("payment_terms_days", 366),
        ("tolerance_amount", "-5"),
        ("tolerance_amount", "1.234"),
        ("tolerance_percent", "101"),
        ("tolerance_percent", "2.345"),
        ("tolerance_percent", "abc"),
        ("over_credit_policy", "maybe"),
        ("overdue_policy", "BLOCK"),
    ):
        r = await client.put(url, json={**good, field: value}, headers=fin)
        body = assert_problem(r, 422, "validation")
        [error] = body["errors"]
        assert error["field"] == field, (field, value, body)
        assert error["message"] and "{" not in error["message"]
    r = await client.put(
        url, json={**good, "tolerance_percent": "101"}, headers=await bearer(client, "fin")
    )
    assert "0 到 100" in r.json()["errors"][0]["message"]  # the caller's language: Chinese
    for username in ("buyer_a", "rep_a"):
        r = await client.put(url, json=good, headers=await bearer(client, username))
        assert_problem(r, 403, "forbidden")
    assert await dealer_row(a) == before
    assert await AuditEntry.count().where(AuditEntry.action == "dealer.credit_terms") == 0


async def test_an_administrator_adds_and_changes_a_dealer_through_the_api(client, world):
    await f.user("admin", username="adm")
    adm = {**await bearer(client, "adm"), **EN}
    tier = world["a"]["tier"]
    r = await client.post(
        "/api/v1/dealers",
        json={"code": "D-API", "name": "新开经销商", "tier_id": tier, "region": "西南"},
        headers=adm,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["code"], made["name"], made["tier"], made["region"]) == (
        "D-API",
        "新开经销商",
        "一级经销商",
        "西南",
    )
    assert made["credit_limit"] == "0.00" and made["active"] is True
    again = await client.post(
        "/api/v1/dealers", json={"code": "D-API", "name": "重复", "tier_id": tier}, headers=adm
    )
    assert [e["field"] for e in assert_problem(again, 422, "validation")["errors"]] == ["code"]

    url = f"/api/v1/dealers/{made['id']}"
    r = await client.put(
        url, json={"name": "新开经销商", "tier_id": tier, "active": False}, headers=adm
    )
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["code"] == "D-API"
    r = await client.put(url, json={"name": "x", "tier_id": 987654}, headers=adm)
    assert [e["field"] for e in assert_problem(r, 422, "validation")["errors"]] == ["tier"]
    r = await client.put(
        url, json={"name": "x", "tier_id": tier}, headers=await bearer(client, "fin")
    )
    assert_problem(r, 403, "forbidden")
    assert_problem(
        await client.put(
            "/api/v1/dealers/987654", json={"name": "x", "tier_id": tier}, headers=adm
        ),
        404,
        "not-found",
    )
    assert (await client.get(url, headers=adm)).json()["name"] == "新开经销商"


async def test_a_change_sends_only_what_changes_and_the_rest_stays(client, world):
    await f.user("admin", username="adm")
    adm = await bearer(client, "adm")
    url = f"/api/v1/dealers/{world['a']['id']}"
    before = (await client.get(url, headers=adm)).json()
    # Deactivating a dealer once cleared its region, phone and default warehouse: every field
    # left out took its default.
    off = await client.put(url, json={"active": False}, headers=adm)
    assert off.status_code == 200, off.text
    after = off.json()
    assert after["active"] is False
    for field in ("name", "tier_id", "region", "contact_phone", "default_warehouse_id"):
        assert after[field] == before[field], field
    cleared = await client.put(url, json={"default_warehouse_id": None}, headers=adm)
    assert cleared.json()["default_warehouse_id"] is None and cleared.json()["region"] == "华东"
