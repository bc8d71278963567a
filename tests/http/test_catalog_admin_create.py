"""Adding a product with its first SKU, or a SKU to a product, through the pages and the API:
the forms (refused input shown again with each message by its field, in Chinese), the new
SKU's page, a dealer finding it at its base price, and who may add."""

from __future__ import annotations

import re

import pytest

from portal.tables import AuditEntry, PackUnit, Product, Sku
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

EN = {"Accept-Language": "en"}


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier(code="T1", name="一级经销商", rank=1)
    dealer = await f.dealer(tier, name="上海恒通")
    drinks = await f.category(name="饮料")
    water = await f.sku(code="BV-0010-550", name="农夫山泉 550ml", base_price_fen=200)
    await f.user("admin", username="root")  # reads the pages in the default, 简体中文
    await f.user("warehouse", username="clerk")
    await f.user("dealer_buyer", dealer, username="buyer1")
    return {"drinks": drinks, "water": water}


async def counts() -> tuple[int, int, int, int]:
    return (
        await Product.count(),
        await Sku.count(),
        await PackUnit.count(),
        await AuditEntry.count(),
    )


async def dealer_finds(client, q: str) -> list[dict]:
    """The SKUs the dealer's catalog API finds for q."""
    response = await client.get(
        "/api/v1/catalog/skus", params={"q": q}, headers=await bearer(client, "buyer1")
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def new_product_form(shop: dict, token: str, **values: str) -> dict:
    form = {
        "product_name": "元气森林苏打气泡水",
        "product_brand": "元气森林",
        "product_category": str(shop["drinks"]["id"]),
        "product_description": "0 糖 0 脂",
        "product_image": "",
        "product_active": "1",
        "code": "YQ-0001-480",
        "name": "元气森林 白桃味 480ml",
        "spec": "480ml",
        "colour": "白桃",
        "barcode": "6970000000011",
        "base_unit": "瓶",
        "base_price": "5.50",
        "moq": "6",
        "order_multiple": "6",
        "safety_stock": "0",
        "weight_g": "520",
        "packs": "箱 15",
        "active": "1",
        "_csrf_token": token,
    }
    return {**form, **values}


def field_error(html: str, field: str) -> str:
    """The message shown under a field of the new-product or new-SKU form ('' if none)."""
    prefix = "product" if field.startswith("product_") else "sku"
    match = re.search(rf'id="{prefix}-err-{field}">([^<]*)<', html)
    return match.group(1) if match else ""


async def test_an_administrator_adds_a_product_with_its_first_sku_on_the_page(client, shop):
    await sign_in(client, "root")
    listing = await client.get("/admin/skus")
    assert 'href="/admin/products/new"' in listing.text and "新增商品" in listing.text
    form_page = await client.get("/admin/products/new")
    assert form_page.status_code == 200
    assert 'id="acting-banner"' not in form_page.text  # not an ordering page
    assert f'<option value="{shop["drinks"]["id"]}">饮料</option>' in form_page.text
    assert 'name="moq" type="text" value="1"' in form_page.text  # defaults shown
    token = csrf_from(form_page.text)
    before = await counts()

    bad = await client.post(
        "/admin/products",
        data=new_product_form(
            shop, token, product_name=" ", base_price="abc", code="YQ 1", packs="箱 1"
        ),
    )
    assert bad.status_code == 422
    assert "未保存" in bad.text  # the form says nothing was saved
    assert field_error(bad.text, "product_name") == "请输入名称，最多 120 个字符。"
    assert field_error(bad.text, "base_price") == "请输入金额，如 1234.50。"
    assert "空格" in field_error(bad.text, "code")
    assert field_error(bad.text, "packs").startswith("第 1 个包装：")
    assert field_error(bad.text, "name") == ""  # the SKU's own name was fine
    # What was typed is there to correct.
    assert 'value="元气森林 白桃味 480ml"' in bad.text and 'value="YQ 1"' in bad.text
    assert f'<option value="{shop["drinks"]["id"]}" selected>' in bad.text
    assert await counts() == before

    added = await client.post(
        "/admin/products", data=new_product_form(shop, token), follow_redirects=False
    )
    assert added.status_code == 303
    sku = await Sku.select().where(Sku.code == "YQ-0001-480").first()
    assert added.headers["location"] == f"/admin/skus/{sku['id']}"
    assert sku["base_price_fen"] == 550 and sku["base_unit"] == "瓶" and sku["moq"] == 6
    page = await client.get(added.headers["location"])
    assert page.status_code == 200
    assert "已添加商品 元气森林苏打气泡水，及其 SKU YQ-0001-480。" in page.text  # shown once
    assert "YQ-0001-480" in page.text and "元气森林 白桃味 480ml" in page.text
    assert "1 箱 = 15 瓶" in page.text
    assert "已添加商品" not in (await client.get(added.headers["location"])).text
    for q in ("YQ-0001", "白桃"):
        found = await dealer_finds(client, q)
        assert [(i["code"], i["price"]["unit_price"]) for i in found] == [("YQ-0001-480", "5.50")]

    again = await client.post("/admin/products", data=new_product_form(shop, token, code="YQ-2"))
    assert again.status_code == 422
    assert field_error(again.text, "product_name") == "该分类下已有同名商品。"


async def test_an_administrator_adds_a_sku_to_a_product_from_its_page(client, shop):
    water = shop["water"]
    await sign_in(client, "root")
    sku_page = await client.get(f"/admin/skus/{water['id']}")
    link = f'href="/admin/products/{water["product"]}/skus/new"'
    assert link in sku_page.text and "为此商品添加 SKU" in sku_page.text
    form_page = await client.get(f"/admin/products/{water['product']}/skus/new")
    assert form_page.status_code == 200 and "农夫山泉 550ml" in form_page.text
    token = csrf_from(form_page.text)
    form = {
        "code": "BV-0010-550",
        "name": "农夫山泉 1.5L",
        "base_unit": "瓶",
        "base_price": "3.00",
        "moq": "1",
        "order_multiple": "1",
        "safety_stock": "0",
        "weight_g": "1500",
        "packs": "箱 12",
        "active": "1",
        "_csrf_token": token,
    }
    before = await counts()
    url = f"/admin/products/{water['product']}/skus"
    taken = await client.post(url, data=form)
    assert taken.status_code == 422
    assert field_error(taken.text, "code") == "该编码已被其他 SKU 使用。"
    assert 'value="农夫山泉 1.5L"' in taken.text
    assert await counts() == before
    added = await client.post(url, data={**form, "code": "BV-0010-1500"}, follow_redirects=False)
    assert added.status_code == 303
    new_id = (await Sku.select(Sku.id).where(Sku.code == "BV-0010-1500").first())["id"]
    assert added.headers["location"] == f"/admin/skus/{new_id}"
    page = await client.get(added.headers["location"])
    assert "已将 SKU BV-0010-1500 添加到 农夫山泉 550ml。" in page.text
    found = await dealer_finds(client, "BV-0010-1500")
    assert [(i["code"], i["price"]["unit_price"]) for i in found] == [("BV-0010-1500", "3.00")]
    assert (await client.get("/admin/products/987654/skus/new")).status_code == 404
    missing = await client.post("/admin/products/987654/skus", data=form)
    assert missing.status_code == 404


async def test_only_an_administrator_may_add_on_the_pages(client, shop):
    product_id = shop["water"]["product"]
    for username in ("clerk", "buyer1"):
        await sign_in(client, username)
        token = csrf_from((await client.get("/me")).text)
        before = await counts()
        assert (await client.get("/admin/products/new")).status_code == 403
        assert (await client.get(f"/admin/products/{product_id}/skus/new")).status_code == 403
        refused = await client.post("/admin/products", data=new_product_form(shop, token))
        assert refused.status_code == 403
        form = {**new_product_form(shop, token), "code": "X-1"}
        refused = await client.post(f"/admin/products/{product_id}/skus", data=form)
        assert refused.status_code == 403
        assert await counts() == before
        await client.post("/logout", data={"_csrf_token": token})


async def test_the_api_adds_a_product_and_its_skus(client, shop):
    root = await bearer(client, "root")
    before = await counts()
    body = {
        "name": "元气森林苏打气泡水",
        "category_id": shop["drinks"]["id"],
        "brand": "元气森林",
        "image": "https://img.example.com/soda.png",
    }
    made = await client.post("/api/v1/admin/products", json=body, headers=root)
    assert made.status_code == 201, made.text
    product = made.json()
    assert product["name"] == "元气森林苏打气泡水" and product["category_path"] == ["饮料"]
    assert product["active"] is True and product["image"] == "https://img.example.com/soda.png"
    assert product["visibility"]["visibility"] == "all"
    taken = await client.post("/api/v1/admin/products", json=body, headers={**root, **EN})
    problem = assert_problem(taken, 422, "validation")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        ("name", "Another product in this category has this name.")
    ]
    unknown = await client.post(
        "/api/v1/admin/products", json={**body, "category_id": 987_654}, headers=root
    )
    assert [e["field"] for e in assert_problem(unknown, 422, "validation")["errors"]] == [
        "category"
    ]

    url = f"/api/v1/admin/products/{product['id']}/skus"
    sku_body = {
        "code": "YQ-0001-480",
        "name": "元气森林 白桃味 480ml",
        "unit": "瓶",
        "base_price": "5.50",
        "spec": "480ml",
        "moq": 6,
        "order_multiple": 6,
        "packs": [{"name": "箱", "factor": 15}],
    }
    created = await client.post(url, json=sku_body, headers=root)
    assert created.status_code == 201, created.text
    sku = created.json()
    assert (sku["code"], sku["unit"], sku["base_price"]) == ("YQ-0001-480", "瓶", "5.50")
    assert sku["packs"] == [{"name": "箱", "factor": 15}] and sku["weight_g"] == 0
    assert sku["product"]["id"] == product["id"]
    assert sku == (await client.get(f"/api/v1/admin/skus/{sku['id']}", headers=root)).json()
    found = await dealer_finds(client, "白桃")
    assert [(i["code"], i["price"]["unit_price"]) for i in found] == [("YQ-0001-480", "5.50")]

    written = await counts()
    used = await client.post(url, json={**sku_body, "name": "别的"}, headers={**root, **EN})
    problem = assert_problem(used, 422, "validation")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        ("code", "This code is already used by another SKU.")
    ]
    bad_packs = {**sku_body, "code": "YQ-2", "packs": [{"name": "瓶", "factor": 6}]}
    refused = await client.post(url, json=bad_packs, headers=root)
    assert [e["field"] for e in assert_problem(refused, 422, "validation")["errors"]] == ["packs"]
    blank = await client.post(url, json={**sku_body, "code": "YQ-3", "name": " "}, headers=root)
    assert [e["field"] for e in assert_problem(blank, 422, "validation")["errors"]] == ["name"]
    for spoiled in ({"base_price": "abc"}, {"base_price": "-1.00"}, {"moq": 0}, {"code": "A B"}):
        assert_problem(
            await client.post(url, json={**sku_body, **spoiled}, headers=root), 400, "validation"
        )
    missing = await client.post("/api/v1/admin/products/987654/skus", json=sku_body, headers=root)
    assert_problem(missing, 404, "not-found")
    assert await counts() == written
    assert written[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)


async def test_the_api_refuses_other_roles(client, shop):
    before = await counts()
    for username in ("clerk", "buyer1"):
        headers = await bearer(client, username)
        body = {"name": "新品", "category_id": shop["drinks"]["id"]}
        refused = await client.post("/api/v1/admin/products", json=body, headers=headers)
        assert_problem(refused, 403, "forbidden")
        sku_body = {"code": "N-1", "name": "新品", "unit": "瓶", "base_price": "1.00"}
        url = f"/api/v1/admin/products/{shop['water']['product']}/skus"
        assert_problem(await client.post(url, json=sku_body, headers=headers), 403, "forbidden")
    assert await counts() == before
