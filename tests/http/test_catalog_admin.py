"""Products and prices (商品与价格) through the pages and the API: an administrator changes a SKU,
a tier's price and breaks, a contract price and who sees the product, and dealers then get it."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, Router

from portal.api import catalog_admin as api_catalog_admin
from portal.app import create_app
from portal.tables import (
    AuditEntry,
    ContractPrice,
    Product,
    ProductVisibility,
    Sku,
    TierPrice,
    User,
    VolumeBreak,
)
from portal.web import catalog_admin as web_catalog_admin
from portal.web.common import load_page_chrome
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
_APPS: dict[tuple, Litestar] = {}


def _app(settings, engine) -> Litestar:
    """The app, with these routes added where portal.web and portal.api do not list them yet
    (once they do, this adds nothing)."""
    key = (replace(settings, var_dir=Path()), id(engine))
    if key not in _APPS:
        app = create_app(settings, engine=engine)
        paths = {route.path for route in app.routes}
        if "/admin/skus" not in paths:
            app.register(
                Router(
                    path="/",
                    route_handlers=web_catalog_admin.ROUTES,
                    before_request=load_page_chrome,
                )
            )
        if "/api/v1/admin/skus" not in paths:
            for handler in api_catalog_admin.ROUTES:
                app.register(handler)
        _APPS[key] = app
    return _APPS[key]


@pytest.fixture
async def client(db, settings):
    transport = httpx.ASGITransport(app=_app(settings, db))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local", follow_redirects=True
    ) as c:
        yield c


@pytest.fixture
async def shop(db) -> dict:
    first = await f.tier(code="T1", name="一级经销商", rank=1)
    second = await f.tier(code="T2", name="二级经销商", rank=2)
    d1 = await f.dealer(first, name="上海恒通")
    d2 = await f.dealer(second, name="杭州百汇")
    water = await f.sku(code="BV-0010-550", name="农夫山泉 550ml", base_price_fen=200)
    await f.user("admin", username="root")
    # The administrator reads the pages in English (a page follows its reader's language).
    await User.update({User.locale: "en"}).where(User.username == "root")
    await f.user("warehouse", username="clerk")
    await f.user("dealer_buyer", d1, username="buyer1")
    await f.user("dealer_buyer", d2, username="buyer2")
    return {"first": first, "second": second, "d1": d1, "d2": d2, "water": water}


async def dealer_price(client, username: str, code: str) -> dict | None:
    """The SKU as the dealer's catalog API shows it (None: the dealer does not see it)."""
    response = await client.get(
        "/api/v1/catalog/skus", params={"q": code}, headers=await bearer(client, username)
    )
    assert response.status_code == 200, response.text
    items = [i for i in response.json()["items"] if i["code"] == code]
    return items[0] if items else None


async def test_an_administrator_finds_and_changes_a_sku_on_the_page(client, shop):
    water = shop["water"]
    await f.sku(code="TEA-0002-OFF", name="康师傅绿茶 500ml", active=False)
    await sign_in(client, "root")
    me = await client.get("/me")
    listing = await client.get("/admin/skus", params={"q": "off"})
    assert listing.status_code == 200
    assert 'id="acting-banner"' not in listing.text  # not an ordering page
    assert "康师傅绿茶" in listing.text and "农夫山泉" not in listing.text  # inactive ones too
    swapped = await client.get("/admin/skus", params={"q": "0010"}, headers={"HX-Request": "true"})
    assert swapped.text.lstrip().startswith('<div id="sku-list">')
    assert f'href="/admin/skus/{water["id"]}"' in swapped.text
    page = await client.get(f"/admin/skus/{water['id']}")
    assert page.status_code == 200 and "BV-0010-550" in page.text
    token = csrf_from(page.text)
    forms = page.text.count('<form method="post"')
    # Eight sections, and the form that adds one more picture.
    assert forms == 9 and page.text.count('name="_csrf_token"') == forms  # each carries it
    form = {
        "name": "农夫山泉 550ml 新装",
        "barcode": "6900000000017",
        "base_price": "abc",
        "moq": "0",
        "order_multiple": "6",
        "safety_stock": "120",
        "active": "1",
        "_csrf_token": token,
    }
    bad = await client.post(f"/admin/skus/{water['id']}", data=form, headers=EN)
    assert bad.status_code == 422
    assert 'id="sku-err-base_price"' in bad.text and 'id="sku-err-moq"' in bad.text
    assert 'id="sku-err-name"' not in bad.text
    assert 'value="abc"' in bad.text  # what was typed stays in the form
    row = await Sku.select().where(Sku.id == water["id"]).first()
    assert (row["name"], row["base_price_fen"], row["moq"]) == ("农夫山泉 550ml", 200, 1)
    done = await client.post(
        f"/admin/skus/{water['id']}",
        data={**form, "base_price": "2.40", "moq": "24", "allow_backorder": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/skus/{water['id']}?saved=sku#sku"
    shown = await client.get(done.headers["location"], headers=EN)
    assert "Saved." in shown.text and 'value="2.40"' in shown.text
    row = await Sku.select().where(Sku.id == water["id"]).first()
    assert (row["base_price_fen"], row["moq"], row["order_multiple"]) == (240, 24, 6)
    assert bool(row["allow_backorder"]) and row["code"] == "BV-0010-550"
    assert await AuditEntry.count().where(AuditEntry.action == "sku.saved") == 1
    assert (await dealer_price(client, "buyer1", "BV-0010-550"))["price"]["unit_price"] == "2.40"
    assert me.status_code == 200


async def test_tier_prices_and_breaks_from_the_page_are_what_the_tier_pays(client, shop):
    water, first = shop["water"], shop["first"]
    await sign_in(client, "root")
    page = await client.get(f"/admin/skus/{water['id']}", headers=ZH)
    # Breaks may be typed in packs: the form says so, with the SKU's pack as the example.
    assert 'placeholder="10 箱 1.60"' in page.text and "10 箱 = 240 瓶" in page.text
    token = csrf_from(page.text)
    url = f"/admin/skus/{water['id']}/tier-prices/{first['id']}"
    bad = await client.post(
        url,
        data={"price": "1.80", "percent": "", "breaks": "240 1.60\n120 1.50", "_csrf_token": token},
        headers=EN,
    )
    assert bad.status_code == 422
    key = f"tier-{first['id']}"
    assert f'id="{key}-err-breaks"' in bad.text
    assert "Break 2: each break must start at a larger quantity" in bad.text
    assert await TierPrice.count() == await VolumeBreak.count() == 0
    done = await client.post(
        url,
        data={
            "price": "1.80",
            "percent": "",
            "breaks": "10 箱 1.60\r\n480 1.50",
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith(f"#{key}")
    item = await dealer_price(client, "buyer1", "BV-0010-550")
    assert item["price"]["unit_price"] == "1.80" and item["price"]["rule"] == "tier"
    assert item["price"]["next_break"]["min_qty"] == 240
    assert item["price"]["next_break"]["unit_price"] == "1.60"
    # The other tier is untouched.
    other = await dealer_price(client, "buyer2", "BV-0010-550")
    assert (other["price"]["unit_price"], other["price"]["rule"]) == ("2.00", "base")
    # A percentage instead of the fixed price.
    await client.post(url, data={"price": "", "percent": "85", "breaks": "", "_csrf_token": token})
    item = await dealer_price(client, "buyer1", "BV-0010-550")
    assert item["price"]["unit_price"] == "1.70" and item["price"]["next_break"] is None
    shown = await client.get(f"/admin/skus/{water['id']}")
    assert re.search(rf'id="{key}-percent"[^>]*value="85"', shown.text)
    assert await AuditEntry.count().where(AuditEntry.entity == "volume_break") == 4


async def test_contract_prices_and_visibility_from_the_page(client, shop):
    water, d2 = shop["water"], shop["d2"]
    await sign_in(client, "root")
    page = await client.get(f"/admin/skus/{water['id']}")
    token = csrf_from(page.text)
    base = f"/admin/skus/{water['id']}"
    bad = await client.post(
        f"{base}/contract-prices",
        data={"dealer": "NO-SUCH", "price": "1.234", "_csrf_token": token},
        headers=EN,
    )
    assert bad.status_code == 422
    assert 'id="contract-err-dealer"' in bad.text and 'id="contract-err-price"' in bad.text
    assert "No dealer has the code NO-SUCH." in bad.text
    assert await ContractPrice.count() == 0
    done = await client.post(
        f"{base}/contract-prices",
        data={"dealer": d2["code"], "price": "1.55", "_csrf_token": token},
    )
    assert done.status_code == 200 and "杭州百汇" in done.text
    item = await dealer_price(client, "buyer2", "BV-0010-550")
    assert (item["price"]["unit_price"], item["price"]["rule"]) == ("1.55", "contract")
    removed = await client.post(
        f"{base}/contract-prices/{d2['code']}/remove",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303 and removed.headers["location"].endswith("#contracts")
    assert await ContractPrice.count() == 0
    item = await dealer_price(client, "buyer2", "BV-0010-550")
    assert item["price"]["rule"] == "base"
    # Visibility: restricted with nobody listed is refused; then only tier 1 sees it.
    bad = await client.post(
        f"{base}/visibility",
        data={"visibility": "restricted", "dealer_codes": "", "_csrf_token": token},
        headers=EN,
    )
    assert bad.status_code == 422 and 'id="visibility-err-visibility"' in bad.text
    assert await ProductVisibility.count() == 0
    done = await client.post(
        f"{base}/visibility",
        data={
            "visibility": "restricted",
            "tier_ids": [str(shop["first"]["id"])],
            "dealer_codes": "",
            "_csrf_token": token,
        },
    )
    assert done.status_code == 200
    assert await dealer_price(client, "buyer2", "BV-0010-550") is None
    assert await dealer_price(client, "buyer1", "BV-0010-550") is not None
    assert await AuditEntry.count().where(AuditEntry.action == "product.visibility") == 1


async def test_the_pages_are_for_administrators_only(client, shop):
    water = shop["water"]
    for username in ("clerk", "buyer1"):
        await sign_in(client, username)
        assert (await client.get("/admin/skus")).status_code == 403
        page = await client.get(f"/admin/skus/{water['id']}")
        assert page.status_code == 403
        token = csrf_from((await client.get("/me")).text)
        refused = await client.post(
            f"/admin/skus/{water['id']}/tier-prices/{shop['first']['id']}",
            data={"price": "0.01", "_csrf_token": token},
        )
        assert refused.status_code == 403
        await client.post("/logout", data={"_csrf_token": token})
    assert await TierPrice.count() == 0
    await sign_in(client, "root")
    assert (await client.get("/admin/skus/987654")).status_code == 404


async def test_the_api_for_products_and_prices(client, shop):
    water, first, d2 = shop["water"], shop["first"], shop["d2"]
    root = await bearer(client, "root")
    listing = await client.get("/api/v1/admin/skus", params={"q": "550"}, headers=root)
    assert listing.status_code == 200
    assert [i["code"] for i in listing.json()["items"]] == ["BV-0010-550"]
    url = f"/api/v1/admin/skus/{water['id']}"
    detail = (await client.get(url, headers=root)).json()
    assert detail["base_price"] == "2.00" and detail["packs"] == [{"name": "箱", "factor": 24}]
    assert [t["tier_code"] for t in detail["tier_prices"]] == ["T1", "T2"]
    body = {
        "name": "农夫山泉 550ml",
        "barcode": "6900000000017",
        "base_price": "2.20",
        "moq": 24,
        "order_multiple": 24,
        "safety_stock": 48,
        "allow_backorder": False,
        "active": True,
    }
    bad = await client.put(url, json={**body, "name": " "}, headers={**root, **EN})
    problem = assert_problem(bad, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["name"]
    assert_problem(
        await client.put(url, json={**body, "base_price": "-1.00"}, headers=root), 400, "validation"
    )
    changed = await client.put(url, json=body, headers=root)
    assert changed.status_code == 200 and changed.json()["base_price"] == "2.20"
    assert (await dealer_price(client, "buyer2", "BV-0010-550"))["price"]["unit_price"] == "2.20"
    tier_url = f"{url}/tier-prices/{first['id']}"
    refused = await client.put(
        tier_url,
        json={"price": "1.80", "percent": "85", "breaks": [{"min_qty": 240, "price": "1.60"}]},
        headers={**root, **EN},
    )
    assert [e["field"] for e in assert_problem(refused, 422, "validation")["errors"]] == ["percent"]
    tier = await client.put(
        tier_url,
        json={"percent": "90", "breaks": [{"min_qty": 240, "price": "1.60"}]},
        headers=root,
    )
    assert tier.status_code == 200
    assert tier.json() == {
        "tier_id": first["id"],
        "tier_code": "T1",
        "tier_name": "一级经销商",
        "price": None,
        "percent": "90",
        "unit_price": "1.98",
        "breaks": [{"min_qty": 240, "price": "1.60"}],
    }
    assert (await dealer_price(client, "buyer1", "BV-0010-550"))["price"]["unit_price"] == "1.98"
    assert_problem(
        await client.put(f"{url}/tier-prices/987654", json={}, headers=root), 404, "not-found"
    )
    contract_url = f"{url}/contract-prices/{d2['code']}"
    contract = await client.put(contract_url, json={"price": "1.50"}, headers=root)
    assert contract.status_code == 200 and contract.json()["price"] == "1.50"
    assert (await dealer_price(client, "buyer2", "BV-0010-550"))["price"]["rule"] == "contract"
    unknown = await client.put(
        f"{url}/contract-prices/NO-SUCH", json={"price": "1.50"}, headers=root
    )
    assert [e["field"] for e in assert_problem(unknown, 422, "validation")["errors"]] == ["dealer"]
    assert (await client.delete(contract_url, headers=root)).status_code == 204
    assert (await client.delete(contract_url, headers=root)).status_code == 204  # nothing left
    assert_problem(
        await client.delete(f"{url}/contract-prices/NO-SUCH", headers=root), 404, "not-found"
    )
    assert await ContractPrice.count() == 0
    vis_url = f"/api/v1/admin/products/{water['product']}/visibility"
    restricted = await client.put(
        vis_url,
        json={"visibility": "restricted", "tier_ids": [], "dealer_codes": [d2["code"]]},
        headers=root,
    )
    assert restricted.status_code == 200
    assert [d["code"] for d in restricted.json()["dealers"]] == [d2["code"]]
    assert await dealer_price(client, "buyer1", "BV-0010-550") is None
    assert await dealer_price(client, "buyer2", "BV-0010-550") is not None
    nobody = await client.put(vis_url, json={"visibility": "restricted"}, headers=root)
    assert [e["field"] for e in assert_problem(nobody, 422, "validation")["errors"]] == [
        "visibility"
    ]
    assert await ProductVisibility.count() == 1
    assert await AuditEntry.count().where(AuditEntry.action == "sku.saved") == 1


async def test_the_api_is_for_administrators_only(client, shop):
    water = shop["water"]
    url = f"/api/v1/admin/skus/{water['id']}"
    for username in ("clerk", "buyer1"):
        headers = await bearer(client, username)
        assert_problem(await client.get("/api/v1/admin/skus", headers=headers), 403, "forbidden")
        assert_problem(await client.get(url, headers=headers), 403, "forbidden")
        assert_problem(
            await client.put(
                f"{url}/tier-prices/{shop['first']['id']}", json={"price": "0.01"}, headers=headers
            ),
            403,
            "forbidden",
        )
        assert_problem(
            await client.delete(f"{url}/contract-prices/{shop['d1']['code']}", headers=headers),
            403,
            "forbidden",
        )
        assert_problem(
            await client.put(
                f"/api/v1/admin/products/{water['product']}/visibility",
                json={"visibility": "all"},
                headers=headers,
            ),
            403,
            "forbidden",
        )
    assert (await client.get("/api/v1/admin/skus")).status_code == 401
    assert await TierPrice.count() == 0
    root = await bearer(client, "root")
    assert_problem(await client.get("/api/v1/admin/skus/987654", headers=root), 404, "not-found")
    doc = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/admin/skus/{sku_id}/tier-prices/{tier_id}" in doc["paths"]


async def test_pack_units_weight_and_picture_on_the_page(client, shop):
    water = shop["water"]
    sibling = await f.sku(
        code="BV-0010-1500", name="农夫山泉 1.5L", product={"id": water["product"]}
    )
    await User.update({User.locale: "zh_Hans"}).where(User.username == "root")
    await sign_in(client, "root")
    base = f"/admin/skus/{water['id']}"
    page = await client.get(base)
    packs_area = r'<textarea id="packs-packs" name="packs" rows="3" placeholder="箱 24"[^>]*>'
    assert re.search(packs_area + "箱 24</textarea>", page.text)
    assert "修改会同时改变该商品所有 SKU 的图片" in page.text  # said next to the field
    token = csrf_from(page.text)
    bad = await client.post(
        f"{base}/packs", data={"packs": "箱 24\n瓶 6\n件 1", "_csrf_token": token}
    )
    assert bad.status_code == 422
    assert 'id="packs-err-packs"' in bad.text
    assert "第 2 个包装：瓶 是基本单位本身，不是包装。" in bad.text
    assert "第 3 个包装：所含瓶数须为 2 到 100000 的整数。" in bad.text
    assert "箱 24\n瓶 6\n件 1</textarea>" in bad.text  # what was typed stays
    assert (await dealer_price(client, "buyer1", "BV-0010-550"))["pack"] == {
        "name": "箱",
        "factor": 24,
        "unit_price": "48.00",
    }
    done = await client.post(
        f"{base}/packs",
        data={"packs": "件 12\r\n中包 6", "_csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{base}?saved=packs#packs"
    shown = await client.get(done.headers["location"])
    assert "已保存" in shown.text and "件 12\n中包 6</textarea>" in shown.text
    item = await dealer_price(client, "buyer1", "BV-0010-550")
    assert item["pack"] == {"name": "件", "factor": 12, "unit_price": "24.00"}
    assert await AuditEntry.count().where(AuditEntry.action == "sku.packs") == 1
    # Weight and picture go with the SKU's other fields.
    form = {
        "name": "农夫山泉 550ml",
        "barcode": "6900000000017",
        "base_price": "2.00",
        "moq": "1",
        "order_multiple": "1",
        "safety_stock": "0",
        "active": "1",
        "_csrf_token": token,
    }
    bad = await client.post(base, data={**form, "weight_g": "-5", "image": "ftp://x/a.jpg"})
    assert bad.status_code == 422
    assert "请输入重量（克），0 到 1000000 的整数。" in bad.text
    assert "请输入以 https:// 开头的地址" in bad.text
    assert 'value="ftp://x/a.jpg"' in bad.text
    image = "/static/products/nongfu.png"
    done = await client.post(
        base, data={**form, "weight_g": "560", "image": image}, follow_redirects=False
    )
    assert done.status_code == 303
    assert (await Sku.select(Sku.weight_g).where(Sku.id == water["id"]).first())["weight_g"] == 560
    assert (await dealer_price(client, "buyer1", "BV-0010-550"))["image"] == image
    assert (await dealer_price(client, "buyer1", "BV-0010-1500"))["image"] == image
    sibling_page = await client.get(f"/admin/skus/{sibling['id']}")
    assert f'value="{image}"' in sibling_page.text
    # Not for other roles.
    await client.post("/logout", data={"_csrf_token": token})
    await sign_in(client, "clerk")
    token = csrf_from((await client.get("/me")).text)
    refused = await client.post(f"{base}/packs", data={"packs": "", "_csrf_token": token})
    assert refused.status_code == 403
    assert (await dealer_price(client, "buyer1", "BV-0010-550"))["pack"]["name"] == "件"


async def test_the_api_sets_pack_units_weight_and_picture(client, shop):
    water = shop["water"]
    root = await bearer(client, "root")
    url = f"/api/v1/admin/skus/{water['id']}"
    detail = (await client.get(url, headers=root)).json()
    assert (detail["weight_g"], detail["image"]) == (0, "")
    body = {
        "name": "农夫山泉 550ml",
        "barcode": "6900000000017",
        "base_price": "2.00",
        "moq": 1,
        "order_multiple": 1,
        "safety_stock": 0,
        "allow_backorder": False,
        "active": True,
    }
    zh = {**root, "Accept-Language": "zh-CN"}
    twice = await client.put(
        url,
        json={**body, "packs": [{"name": "箱", "factor": 24}, {"name": "箱", "factor": 12}]},
        headers=zh,
    )
    problem = assert_problem(twice, 422, "validation")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        ("packs", "第 2 个包装：已有名为 箱 的包装。")
    ]
    for spoiled in (
        {"packs": [{"name": "件", "factor": 1}]},
        {"packs": [{"name": "一二三四五六七八九十一", "factor": 6}]},
        {"packs": [{"name": f"包{n}", "factor": n + 2} for n in range(6)]},
        {"weight_g": 1_000_001},
        {"image": "x" * 256},
    ):
        assert_problem(
            await client.put(url, json={**body, **spoiled}, headers=root), 400, "validation"
        )
    bad_image = await client.put(url, json={**body, "image": "javascript:alert(1)"}, headers=zh)
    assert [e["field"] for e in assert_problem(bad_image, 422, "validation")["errors"]] == ["image"]
    changed = await client.put(
        url,
        json={
            **body,
            "weight_g": 560,
            "image": "https://img.example.com/550.jpg",
            "packs": [{"name": "中包", "factor": 6}, {"name": "件", "factor": 12}],
        },
        headers=root,
    )
    assert changed.status_code == 200, changed.text
    out = changed.json()
    assert (out["weight_g"], out["image"]) == (560, "https://img.example.com/550.jpg")
    assert out["packs"] == [{"name": "件", "factor": 12}, {"name": "中包", "factor": 6}]
    assert (await dealer_price(client, "buyer1", "BV-0010-550"))["pack"] == {
        "name": "件",
        "factor": 12,
        "unit_price": "24.00",
    }
    # Left out: unchanged. [] removes every pack; "" removes the picture.
    same = (await client.put(url, json=body, headers=root)).json()
    assert (same["weight_g"], same["image"], len(same["packs"])) == (560, out["image"], 2)
    cleared = (await client.put(url, json={**body, "packs": [], "image": ""}, headers=root)).json()
    assert (cleared["packs"], cleared["image"], cleared["weight_g"]) == ([], "", 560)
    assert (await dealer_price(client, "buyer1", "BV-0010-550"))["pack"] is None
    assert await AuditEntry.count().where(AuditEntry.action == "sku.packs") == 2
    assert await AuditEntry.count().where(AuditEntry.action == "product.image") == 2


async def test_a_product_put_without_its_brand_keeps_it(client, shop):
    water = shop["water"]
    root = await bearer(client, "root")
    url = f"/api/v1/admin/products/{water['product']}"
    await Product.update({Product.brand: "农夫山泉"}).where(Product.id == water["product"])
    current = await Product.select().where(Product.id == water["product"]).first()
    body = {"name": "饮用天然水", "category_id": current["category"], "active": True}
    changed = await client.put(url, json=body, headers=root)
    assert changed.status_code == 200, changed.text
    row = await Product.select().where(Product.id == water["product"]).first()
    assert (row["name"], row["brand"]) == ("饮用天然水", "农夫山泉")
    cleared = await client.put(url, json={**body, "brand": ""}, headers=root)
    assert cleared.status_code == 200, cleared.text
    assert (await Product.select().where(Product.id == water["product"]).first())["brand"] == ""


async def test_a_sku_put_changes_what_it_sends_and_takes_back_what_get_gave(client, shop):
    """As every other PUT: {"active": false} takes a SKU off sale and keeps its name, price
    and the rest; what GET returns, sent back with one field changed, changes that field."""
    water = shop["water"]
    root = await bearer(client, "root")
    url = f"/api/v1/admin/skus/{water['id']}"
    before = (await client.get(url, headers=root)).json()
    off = await client.put(url, json={"active": False}, headers=root)
    assert off.status_code == 200, off.text
    assert off.json() == {**before, "active": False}
    round_trip = await client.put(url, json={**off.json(), "base_price": "2.40"}, headers=root)
    assert round_trip.status_code == 200, round_trip.text
    assert round_trip.json()["base_price"] == "2.40"
    assert round_trip.json()["name"] == before["name"] and not round_trip.json()["active"]
    # A field sent still has its checks; an unknown one is still refused; nothing written.
    assert_problem(await client.put(url, json={"moq": 0}, headers=root), 400, "validation")
    assert_problem(await client.put(url, json={"colour_x": "红"}, headers=root), 400, "validation")
    assert (await client.get(url, headers=root)).json() == round_trip.json()
