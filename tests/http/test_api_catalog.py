"""API catalog: each dealer sees its own prices; reps see assigned dealers only; bad input."""

from __future__ import annotations

import re
from typing import get_args

from portal.api import catalog as api_catalog
from portal.domain import catalog
from portal.tables import PackUnit, Sku
from tests import factories as f
from tests.http.test_api_auth import EN, assert_problem, bearer

MONEY = re.compile(r"^-?\d+\.\d{2}$")


async def two_dealers_one_sku() -> dict:
    """SKU list 2.00/瓶; tier 1 fixed 1.80 with a break at 10 箱; tier 2 at 90 %; dealer B
    also has a contract price of 1.55."""
    t1 = await f.tier(name="一级经销商", rank=1)
    t2 = await f.tier(name="二级经销商", rank=2)
    wh = await f.warehouse()
    a = await f.dealer(t1, name="甲经销商", default_warehouse=wh)
    b = await f.dealer(t2, name="乙经销商", default_warehouse=wh)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=200)
    tea = await f.sku(code="T500", name="东方树叶 500ml", base_price_fen=500)
    await f.stock(water, wh, on_hand=1000)
    await f.tier_price(t1, water, price_fen=180)
    await f.volume_break(t1, water, min_qty=240, price_fen=165)
    await f.tier_price(t2, water, percent_bp=9000)
    await f.contract_price(b, tea, price_fen=455)
    await f.user("dealer_buyer", a, username="buyer_a")
    await f.user("dealer_buyer", b, username="buyer_b")
    return {"a": a, "b": b, "water": water, "tea": tea, "t1": t1, "t2": t2, "wh": wh}


def by_code(body: dict) -> dict[str, dict]:
    return {item["code"]: item for item in body["items"]}


async def test_each_dealer_sees_its_own_prices(client):
    w = await two_dealers_one_sku()
    a_items = by_code(
        (await client.get("/api/v1/catalog/skus", headers=await bearer(client, "buyer_a"))).json()
    )
    b_response = await client.get("/api/v1/catalog/skus", headers=await bearer(client, "buyer_b"))
    assert b_response.status_code == 200, b_response.text
    b_items = by_code(b_response.json())

    water_a, water_b = a_items["W550"]["price"], b_items["W550"]["price"]
    assert water_a["unit_price"] == "1.80"
    assert water_a["list_price"] == "2.00"
    assert water_a["rule"] == "tier"
    label = water_a["next_break"].pop("label")
    assert water_a["next_break"] == {"more_qty": 239, "min_qty": 240, "unit_price": "1.65"}
    assert label == "再买 239 瓶 → ¥1.65/瓶"  # as the catalog page says it
    [ladder] = water_a["breaks"]  # the price ladder, as the product page's table
    assert (ladder["min_qty"], ladder["unit_price"]) == (240, "1.65")
    assert "满 10 箱" in ladder["rule_label"]
    assert water_b["unit_price"] == "1.80"  # 90 % of 2.00, by another rule
    assert water_b["rule"] == "tier"
    assert water_b["next_break"] is None

    assert a_items["T500"]["price"]["unit_price"] == "5.00"
    assert a_items["T500"]["price"]["rule"] == "base"
    assert b_items["T500"]["price"]["unit_price"] == "4.55"
    assert b_items["T500"]["price"]["rule"] == "contract"
    assert b_items["T500"]["price"]["breaks"] == water_b["breaks"] == []

    for items in (a_items, b_items):
        for item in items.values():
            for key in ("unit_price", "list_price"):
                assert isinstance(item["price"][key], str)
                assert MONEY.match(item["price"][key])
            assert item["price"]["rule_label"]
    item = a_items["W550"]
    assert item["sku_id"] == w["water"]["id"]
    assert item["unit"] == "瓶"
    assert item["pack"] == {"name": "箱", "factor": 24, "unit_price": "43.20"}
    assert item["availability"] == "in_stock"
    assert item["available_qty"] is None  # dealers see in stock / low / out only
    assert a_items["T500"]["availability"] == "out"


async def test_a_dealer_cannot_ask_for_another_dealers_prices(client):
    w = await two_dealers_one_sku()
    headers = await bearer(client, "buyer_a")
    response = await client.get(
        "/api/v1/catalog/skus", params={"dealer_id": w["b"]["id"]}, headers=headers
    )
    # Another dealer's id is not found, as the orders API answers (it was ignored: the
    # caller's own prices came back under B's id).
    assert response.status_code == 404 and "T500" not in response.text
    own = await client.get(
        "/api/v1/catalog/skus", params={"dealer_id": w["a"]["id"]}, headers=headers
    )
    assert by_code(own.json())["T500"]["price"]["unit_price"] == "5.00"


async def test_rep_sees_assigned_dealer_and_404_for_others(client):
    w = await two_dealers_one_sku()
    rep = await f.user("sales_rep", username="rep1")
    await f.assign(rep, w["b"])
    headers = await bearer(client, "rep1")

    assigned = await client.get(
        "/api/v1/catalog/skus", params={"dealer_id": w["b"]["id"]}, headers=headers
    )
    assert assigned.status_code == 200, assigned.text
    items = by_code(assigned.json())
    assert items["T500"]["price"]["unit_price"] == "4.55"
    assert items["W550"]["available_qty"] == 1000  # staff see numbers

    unassigned = await client.get(
        "/api/v1/catalog/skus", params={"dealer_id": w["a"]["id"]}, headers=headers | EN
    )
    body = assert_problem(unassigned, 404, "not-found")
    missing = await client.get(
        "/api/v1/catalog/skus", params={"dealer_id": 987654}, headers=headers | EN
    )
    # Out of scope reads exactly like a dealer that does not exist.
    assert {k: v for k, v in assert_problem(missing, 404, "not-found").items()} == body
    assert "items" not in body

    no_dealer = await client.get("/api/v1/catalog/skus", headers=headers | EN)
    problem = assert_problem(no_dealer, 422, "validation")
    assert problem["errors"][0]["field"] == "dealer_id"


async def test_search_filters_and_pages(client):
    w = await two_dealers_one_sku()
    for n in range(5):
        await f.sku(code=f"JX{n}", name=f"加多宝凉茶 {n}号")
    headers = await bearer(client, "buyer_a")
    found = await client.get("/api/v1/catalog/skus", params={"q": "凉茶"}, headers=headers)
    assert {i["code"] for i in found.json()["items"]} == {f"JX{n}" for n in range(5)}
    by_code_q = await client.get("/api/v1/catalog/skus", params={"q": "w550"}, headers=headers)
    assert [i["code"] for i in by_code_q.json()["items"]] == ["W550"]
    by_barcode = await client.get(
        "/api/v1/catalog/skus", params={"q": w["tea"]["barcode"]}, headers=headers
    )
    assert [i["code"] for i in by_barcode.json()["items"]] == ["T500"]
    in_stock = await client.get(
        "/api/v1/catalog/skus", params={"in_stock": "true"}, headers=headers
    )
    assert [i["code"] for i in in_stock.json()["items"]] == ["W550"]

    first = await client.get(
        "/api/v1/catalog/skus", params={"per_page": 3, "sort": "code"}, headers=headers
    )
    body = first.json()
    assert (body["page"], body["per_page"], body["total"], body["has_more"]) == (1, 3, 7, True)
    last = await client.get(
        "/api/v1/catalog/skus", params={"per_page": 3, "page": 3, "sort": "code"}, headers=headers
    )
    assert [i["code"] for i in last.json()["items"]] == ["W550"]
    assert last.json()["has_more"] is False


async def test_bad_query_parameters_are_validation_problems(client):
    await two_dealers_one_sku()
    headers = await bearer(client, "buyer_a") | EN
    for params in (
        {"per_page": 101},
        {"per_page": 0},
        {"page": 0},
        {"page": "abc"},
        {"in_stock": "maybe"},
        {"category_id": "x"},
        {"q": "x" * 101},
        {"sort": "newest"},
    ):
        response = await client.get("/api/v1/catalog/skus", params=params, headers=headers)
        problem = assert_problem(response, 400, "validation")
        assert problem["errors"][0]["field"] == next(iter(params)), problem
        assert problem["errors"][0]["message"]


async def test_category_tree(client):
    drinks = await f.category("饮料")
    await f.category("矿泉水", parent=drinks)
    await f.category("茶饮料", parent=drinks)
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="buyer")
    response = await client.get("/api/v1/catalog/categories", headers=await bearer(client, "buyer"))
    assert response.status_code == 200
    roots = response.json()
    assert [r["name"] for r in roots] == ["饮料"]
    assert sorted(c["name"] for c in roots[0]["children"]) == ["矿泉水", "茶饮料"]
    assert all(c["children"] == [] for c in roots[0]["children"])


async def test_catalog_needs_a_token(client):
    response = await client.get("/api/v1/catalog/skus")
    assert_problem(response, 401, "unauthorized")


async def test_total_is_a_lower_bound_past_the_count_cap(client, monkeypatch):
    from portal.domain import catalog

    w = await two_dealers_one_sku()
    for n in range(6):
        await f.sku(code=f"CAP{n}", name=f"封顶凉茶 {n}", base_price_fen=300)
    headers = await bearer(client, "buyer_a")
    monkeypatch.setattr(catalog, "COUNT_CAP", 2)
    capped = (
        await client.get("/api/v1/catalog/skus", params={"per_page": 1}, headers=headers)
    ).json()
    assert (capped["total"], capped["total_exact"], capped["has_more"]) == (2, False, True)
    monkeypatch.setattr(catalog, "COUNT_CAP", 1000)
    exact = (
        await client.get("/api/v1/catalog/skus", params={"per_page": 1}, headers=headers)
    ).json()
    assert (exact["total"], exact["total_exact"]) == (8, True)
    assert w["water"]["code"] == "W550"


async def test_favourites_are_starred_and_unstarred_through_the_api(client):
    w = await two_dealers_one_sku()
    rep = await f.user("sales_rep", username="rep_a")
    await f.assign(rep, w["a"])
    await f.user("finance", username="fin")
    buyer = await bearer(client, "buyer_a")
    water = w["water"]["id"]
    url = f"/api/v1/favourites/{water}"

    async def starred(headers: dict, **params) -> list[str]:
        r = await client.get(
            "/api/v1/catalog/skus", params={"favourites": "true", **params}, headers=headers
        )
        assert r.status_code == 200, r.text
        return [item["code"] for item in r.json()["items"]]

    for _ in range(2):  # idempotent
        r = await client.put(url, headers=buyer)
        assert r.status_code == 200, r.text
        assert r.json() == {"dealer_id": w["a"]["id"], "sku_id": water, "favourite": True}
    assert await starred(buyer) == ["W550"]
    assert await starred(await bearer(client, "buyer_b")) == []  # dealer B's own list
    # A rep keeps the list of the dealer they act for.
    rep_headers = await bearer(client, "rep_a")
    assert await starred(rep_headers, dealer_id=w["a"]["id"]) == ["W550"]
    r = await client.delete(url, params={"dealer_id": w["a"]["id"]}, headers=rep_headers)
    assert r.json()["favourite"] is False
    assert (await client.delete(url, headers=buyer)).json()["favourite"] is False
    assert await starred(buyer) == []

    assert_problem(await client.put(url, headers=rep_headers), 422, "validation")  # no dealer
    r = await client.put(url, params={"dealer_id": w["b"]["id"]}, headers=rep_headers)
    assert_problem(r, 404, "not-found")  # not their dealer
    r = await client.put(
        url, params={"dealer_id": w["a"]["id"]}, headers=await bearer(client, "fin")
    )
    assert_problem(r, 403, "forbidden")  # finance orders for nobody
    assert_problem(await client.put("/api/v1/favourites/987654", headers=buyer), 404, "not-found")


async def test_each_pack_unit_carries_its_price(client):
    """The dealer's price for one pack, for the largest pack and every pack unit."""
    w = await two_dealers_one_sku()
    await PackUnit.insert(PackUnit(sku=w["water"]["id"], name="中包", factor=6))
    items = by_code(
        (await client.get("/api/v1/catalog/skus", headers=await bearer(client, "buyer_a"))).json()
    )
    water = items["W550"]
    assert water["pack"] == {"name": "箱", "factor": 24, "unit_price": "43.20"}
    assert water["packs"] == [
        {"name": "箱", "factor": 24, "unit_price": "43.20"},
        {"name": "中包", "factor": 6, "unit_price": "10.80"},
    ]
    assert items["T500"]["packs"] == [{"name": "箱", "factor": 24, "unit_price": "120.00"}]
    assert water["weight_g"] == 0


async def test_weight_per_base_unit(client):
    w = await two_dealers_one_sku()
    await Sku.update({Sku.weight_g: 580}).where(Sku.id == w["water"]["id"])
    items = by_code(
        (await client.get("/api/v1/catalog/skus", headers=await bearer(client, "buyer_a"))).json()
    )
    assert items["W550"]["weight_g"] == 580


def test_the_api_sorts_are_the_catalogs():
    assert set(get_args(api_catalog.Sort)) == set(catalog.SORTS)


async def test_one_sku_is_priced_at_a_quantity_with_its_rule(client):
    w = await two_dealers_one_sku()
    a = {**await bearer(client, "buyer_a"), **EN}
    url = f"/api/v1/catalog/skus/{w['water']['id']}"
    first = (await client.get(url, headers=a)).json()
    assert first["code"] == "W550" and first["price"]["unit_price"] == "1.80"
    at_break = await client.get(url, params={"qty": 240}, headers=a)
    assert at_break.status_code == 200, at_break.text
    price = at_break.json()["price"]
    assert (price["unit_price"], price["rule"], price["next_break"]) == (
        "1.65",
        "volume_break",
        None,
    )
    assert "10" in price["rule_label"]
    below = (await client.get(url, params={"qty": 200}, headers=a)).json()["price"]
    hint = below["next_break"]
    assert {k: hint[k] for k in ("more_qty", "min_qty", "unit_price")} == {
        "more_qty": 40,
        "min_qty": 240,
        "unit_price": "1.65",
    }
    assert "40" in hint["label"] and "1.65" in hint["label"]
    # Dealer B's contract price on tea; its 90 % tier price on water, whatever the quantity.
    b = await bearer(client, "buyer_b")
    tea = await client.get(f"/api/v1/catalog/skus/{w['tea']['id']}", headers=b)
    assert (tea.json()["price"]["unit_price"], tea.json()["price"]["rule"]) == ("4.55", "contract")
    assert_problem(await client.get("/api/v1/catalog/skus/987654", headers=a), 404, "not-found")
    assert_problem(await client.get(url, params={"qty": 0}, headers=a), 400, "validation")


async def test_a_product_lists_its_variants_with_breaks_and_packs(client):
    w = await two_dealers_one_sku()
    a = await bearer(client, "buyer_a")
    got = await client.get(f"/api/v1/catalog/products/{w['water']['product']}", headers=a)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["id"] == w["water"]["product"]
    [variant] = body["skus"]
    assert variant["code"] == "W550" and variant["price"]["unit_price"] == "1.80"
    breaks = [(b["min_qty"], b["unit_price"]) for b in variant["price"]["breaks"]]
    assert breaks[-1] == (240, "1.65")
    assert variant["packs"] == [{"name": "箱", "factor": 24, "unit_price": "43.20"}]
    # Dealer B's tier has no breaks on water.
    b = await bearer(client, "buyer_b")
    other = await client.get(f"/api/v1/catalog/products/{w['water']['product']}", headers=b)
    assert [b["min_qty"] for b in other.json()["skus"][0]["price"]["breaks"]] in ([], [1])
    assert_problem(await client.get("/api/v1/catalog/products/987654", headers=a), 404, "not-found")
