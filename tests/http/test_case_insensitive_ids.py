"""Usernames, codes and barcodes through the pages and the API: a username signs in in any
letter case and cannot be added again in another; a barcode another SKU has, a minimum order
off the order multiple and a volume break that costs more are refused (422) with nothing
written; a dealer's code is found as typed."""

from __future__ import annotations

import pytest

from portal.tables import AuditEntry, ContractPrice, Sku, TierPrice, User, VolumeBreak
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier(code="T1", name="一级经销商")
    dealer = await f.dealer(tier, name="上海恒通")
    water = await f.sku(code="BV-0001-1500", name="农夫山泉 1.5L", base_price_fen=400)
    tea = await f.sku(code="TEA-0001-500", name="冰红茶 500ml", barcode="6920202888883")
    await f.user("admin", username="root")
    await f.user("dealer_admin", dealer, username="d01boss")
    await f.user("dealer_buyer", dealer, username="d01buyer")
    return {"tier": tier, "dealer": dealer, "water": water, "tea": tea}


def sku_body(water: dict, **values) -> dict:
    return {
        "name": water["name"],
        "barcode": water["barcode"],
        "base_price": "4.00",
        "moq": 1,
        "order_multiple": 1,
        "safety_stock": 0,
        "allow_backorder": False,
        "active": True,
        **values,
    }


async def test_a_username_signs_in_in_any_case_and_is_not_added_twice(client, shop):
    assert (await sign_in(client, "D01BOSS")).status_code == 303
    users = f"/dealers/{shop['dealer']['id']}/users"
    page = await client.get(users, headers=ZH)
    token = csrf_from(page.text)
    before = await User.count()
    refused = await client.post(
        users,
        data={
            "username": "D01Buyer",
            "display_name": "张三",
            "role": "dealer_buyer",
            "password": "first-pass-1",
            "_csrf_token": token,
        },
        headers=ZH,
    )
    assert refused.status_code == 422
    assert "该用户名已被使用。" in refused.text
    assert await User.count() == before
    token_for = await client.post(
        "/api/v1/auth/token", json={"username": "D01BUYER", "password": f.PASSWORD}
    )
    assert token_for.status_code == 200


async def test_the_api_refuses_a_taken_barcode_and_a_moq_off_the_multiple(client, shop):
    water = shop["water"]
    root = {**await bearer(client, "root"), **EN}
    url = f"/api/v1/admin/skus/{water['id']}"
    before = await Sku.select().where(Sku.id == water["id"]).first()
    taken = await client.put(url, json=sku_body(water, barcode="6920202888883"), headers=root)
    problem = assert_problem(taken, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["barcode"]
    assert "This barcode belongs to TEA-0001-500." in taken.text
    bad = await client.put(url, json=sku_body(water, barcode="-2+3"), headers=root)
    assert [e["field"] for e in assert_problem(bad, 422, "validation")["errors"]] == ["barcode"]
    off = await client.put(url, json=sku_body(water, moq=5, order_multiple=4), headers=root)
    assert [e["field"] for e in assert_problem(off, 422, "validation")["errors"]] == ["moq"]
    assert "a multiple of the order multiple (4)" in off.text
    assert await Sku.select().where(Sku.id == water["id"]).first() == before
    assert await AuditEntry.count() == 0
    made = await client.post(
        f"/api/v1/admin/products/{water['product']}/skus",
        json={
            "code": "bv-0001-1500",
            "name": "农夫山泉",
            "unit": "瓶",
            "base_price": "4.00",
            "barcode": "6920202888883",
        },
        headers=root,
    )
    fields = sorted(e["field"] for e in assert_problem(made, 422, "validation")["errors"])
    assert fields == ["barcode", "code"]
    assert await Sku.count() == 2


async def test_a_volume_break_above_the_tier_price_is_refused(client, shop):
    water, tier = shop["water"], shop["tier"]
    root = {**await bearer(client, "root"), **EN}
    url = f"/api/v1/admin/skus/{water['id']}/tier-prices/{tier['id']}"
    refused = await client.put(
        url, json={"percent": "85", "breaks": [{"min_qty": 24, "price": "3.50"}]}, headers=root
    )
    problem = assert_problem(refused, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["breaks"]
    assert "Break 1: the price must be lower than ¥3.40" in refused.text
    assert await TierPrice.count() == await VolumeBreak.count() == 0
    done = await client.put(
        url, json={"percent": "85", "breaks": [{"min_qty": 24, "price": "3.30"}]}, headers=root
    )
    assert done.status_code == 200 and done.json()["unit_price"] == "3.40"
    # The page's form: the break before is what the next one must be below.
    await sign_in(client, "root")
    page = await client.get(f"/admin/skus/{water['id']}", headers=EN)
    bad = await client.post(
        f"/admin/skus/{water['id']}/tier-prices/{tier['id']}",
        data={"price": "3.40", "breaks": "24 3.30\n48 3.30", "_csrf_token": csrf_from(page.text)},
        headers=EN,
    )
    assert bad.status_code == 422
    # Pages speak the user's language (Simplified Chinese until they choose another).
    assert "第 2 档：价格须低于其前一级价格 ¥3.30" in bad.text
    stored = await VolumeBreak.select(VolumeBreak.min_qty, VolumeBreak.price_fen)
    assert stored == [{"min_qty": 24, "price_fen": 330}]
    assert (await TierPrice.select().first())["percent_bp"] == 8500


async def test_a_dealer_code_is_found_in_any_case(client, shop):
    water = shop["water"]
    root = await bearer(client, "root")
    code = shop["dealer"]["code"].lower()
    url = f"/api/v1/admin/skus/{water['id']}/contract-prices/{code}"
    contract = await client.put(url, json={"price": "3.20"}, headers=root)
    assert contract.status_code == 200, contract.text
    row = await ContractPrice.select().first()
    assert (row["dealer"], row["price_fen"]) == (shop["dealer"]["id"], 320)
