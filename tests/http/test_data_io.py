"""Bulk export and import through the page and the API."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from portal.tables import AuditEntry, PackUnit, Product, Sku, StockLevel, TierPrice
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def world(db):
    wh = await f.warehouse(code="WH1")
    tier = await f.tier(code="T1")
    a = await f.sku(code="A100", name="矿泉水", base_price_fen=200)
    await f.stock(a, wh, 100, reserved=30)
    await f.tier_price(tier, a, price_fen=180)
    await f.user("admin", username="root")
    await f.user("warehouse", username="clerk")
    await f.user("dealer_buyer", await f.dealer(tier), username="buyer")
    return {"a": a}


async def test_an_administrator_exports_edits_and_imports_prices(client, world):
    await sign_in(client, "root")
    page = await client.get("/admin/data", headers=ZH)
    assert page.status_code == 200 and "导入导出" in page.text
    got = await client.get("/admin/data/prices/export", params={"format": "xlsx"})
    assert got.status_code == 200
    sheet = load_workbook(io.BytesIO(got.content)).active
    assert [c.value for c in sheet[3]] == ["tier", "sku", "min_qty", "price", "percent"]
    csv = b"tier,sku,min_qty,price,percent\nT1,A100,,1.75,\n"
    token = csrf_from(page.text)
    done = await client.post(
        "/admin/data/prices",
        data={"_csrf_token": token},
        files={"file": ("prices.csv", csv, "text/csv")},
        headers={"x-csrftoken": token, **ZH},
    )
    assert done.status_code == 200 and "已导入：新增 0，修改 1，未变 0。" in done.text
    assert (await TierPrice.select().first())["price_fen"] == 175
    bad = await client.post(
        "/admin/data/prices",
        data={"_csrf_token": token},
        files={"file": ("prices.csv", b"tier,sku,price\nT1,NOPE,abc\n", "text/csv")},
        headers={"x-csrftoken": token, **ZH},
    )
    assert bad.status_code == 422
    assert "未导入任何内容" in bad.text and "第 2 行" in bad.text
    assert (await TierPrice.select().first())["price_fen"] == 175


async def test_the_api_imports_all_or_nothing(client, world):
    root = await bearer(client, "root")
    ok = await client.post(
        "/api/v1/data/stock",
        files={"file": ("s.csv", b"warehouse,sku,on_hand\nWH1,A100,90\n", "text/csv")},
        headers=root,
    )
    assert ok.status_code == 200 and ok.json() == {"created": 0, "updated": 1, "unchanged": 0}
    refused = await client.post(
        "/api/v1/data/stock",
        files={"file": ("s.csv", b"warehouse,sku,on_hand\nWH1,A100,10\n", "text/csv")},
        headers={**root, **ZH},
    )
    body = assert_problem(refused, 422, "validation")
    assert body["errors"][0]["field"] == "row 2"
    assert (await StockLevel.select().first())["on_hand"] == 90
    exported = await client.get("/api/v1/data/stock", params={"format": "csv"}, headers=root)
    assert exported.status_code == 200
    assert "WH1,A100,矿泉水,90,30,60,0" in exported.content.decode("utf-8-sig")
    assert await AuditEntry.count() == 1


async def test_warehouse_staff_touch_stock_only_and_dealers_nothing(client, world):
    clerk = await bearer(client, "clerk")
    assert (await client.get("/api/v1/data/stock", headers=clerk)).status_code == 200
    assert_problem(await client.get("/api/v1/data/dealers", headers=clerk), 403, "forbidden")
    buyer = await bearer(client, "buyer")
    assert_problem(await client.get("/api/v1/data/stock", headers=buyer), 403, "forbidden")
    assert_problem(
        await client.post(
            "/api/v1/data/stock",
            files={"file": ("s.csv", b"warehouse,sku,on_hand\nWH1,A100,1\n")},
            headers=buyer,
        ),
        403,
        "forbidden",
    )
    await sign_in(client, "buyer")
    assert (await client.get("/admin/data")).status_code == 403
    assert (await StockLevel.select().first())["on_hand"] == 100


async def test_products_carry_packs_weight_and_image_through_the_page(client, world):
    await sign_in(client, "root")
    page = await client.get("/admin/data", headers=ZH)
    token = csrf_from(page.text)
    got = await client.get("/admin/data/products/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(got.content)).active
    header = [c.value for c in sheet[3]]
    assert header[-3:] == ["weight_g", "packs", "image"]
    assert [c.value for c in sheet[4]][-3:-1] == [0, "箱=24"]
    bad = await client.post(
        "/admin/data/products",
        data={"_csrf_token": token},
        files={"file": ("p.csv", "sku,packs,weight_g\nA100,箱=24; 瓶=6,x\n".encode(), "text/csv")},
        headers={"x-csrftoken": token, **ZH},
    )
    assert bad.status_code == 422
    assert "第 2 行：瓶 是基本单位本身，不是包装。" in bad.text
    assert "第 2 行：weight_g 必须是 0 到 1000000 之间的整数。" in bad.text
    assert await PackUnit.count() == 1
    csv = "sku,packs,weight_g,image\nA100,件=12; 中包=6,560,/static/p/a100.png\n".encode()
    done = await client.post(
        "/admin/data/products",
        data={"_csrf_token": token},
        files={"file": ("p.csv", csv, "text/csv")},
        headers={"x-csrftoken": token, **ZH},
    )
    assert done.status_code == 200 and "已导入：新增 0，修改 1，未变 0。" in done.text
    packs = sorted((r["name"], r["factor"]) for r in await PackUnit.select())
    assert packs == [("中包", 6), ("件", 12)]
    assert (await Sku.select(Sku.weight_g).first())["weight_g"] == 560
    assert (await Product.select(Product.image).first())["image"] == "/static/p/a100.png"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_an_export_imports_again_changing_nothing(client, world, fmt):
    # A dealer whose cells a spreadsheet would take for formulas: the export disarms them
    # with an apostrophe, which the import takes off again. The Excel export has a title row
    # above the column names.
    tier = await f.tier(code="T2")
    await f.dealer(tier, name="=HYPERLINK(1)", region="-华南", contact_phone="+86 13800000000")
    await f.contract_price(await f.dealer(tier), world["a"], price_fen=170)
    root = await bearer(client, "root")
    for kind in ("products", "prices", "contract_prices", "stock", "dealers"):
        exported = await client.get(f"/api/v1/data/{kind}", params={"format": fmt}, headers=root)
        assert exported.status_code == 200, kind
        again = await client.post(
            f"/api/v1/data/{kind}",
            files={"file": (f"{kind}.{fmt}", exported.content)},
            headers=root,
        )
        assert again.status_code == 200, (kind, again.text)
        assert again.json()["created"] == again.json()["updated"] == 0, kind
    assert await AuditEntry.count() == 0
