"""Categories (商品分类) and a product's own fields through the pages and the API."""

from __future__ import annotations

from datetime import date

from portal.tables import AuditEntry, Category, Product, Promotion, Sku
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


async def _category(name: str, parent: int | None = None, sort: int = 0) -> dict:
    return await f._insert(Category, name=name, parent=parent, sort=sort)


async def test_an_administrator_keeps_the_tree_on_the_pages(client, db):
    await f.user("admin", username="root")
    await sign_in(client, "root")
    me = await client.get("/me", headers=ZH)
    assert 'href="/admin/categories"' in me.text and "商品分类" in me.text
    page = await client.get("/admin/categories", headers=ZH)
    assert page.status_code == 200
    assert 'id="acting-banner"' not in page.text  # not an ordering page
    assert "还没有分类" in page.text
    token = csrf_from(page.text)

    bad = await client.post(
        "/admin/categories",
        data={"name": "", "parent": "abc", "sort": "x", "_csrf_token": token},
        headers=ZH,
    )
    assert bad.status_code == 422
    assert "请输入名称，最多 50 个字符" in bad.text
    assert "请输入 -1000 到 1000" in bad.text
    assert 'aria-invalid="true" aria-describedby="err-sort"' in bad.text
    assert await Category.count() == 0

    done = await client.post(
        "/admin/categories",
        data={"name": "饮料", "parent": "", "sort": "1", "_csrf_token": token},
        headers=ZH,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/categories"
    drinks = await Category.select().where(Category.name == "饮料").first()
    assert (drinks["parent"], drinks["sort"]) == (None, 1)
    water = await client.post(
        "/admin/categories",
        data={"name": "水", "parent": str(drinks["id"]), "_csrf_token": token},
        follow_redirects=False,
    )
    assert water.status_code == 303
    water_row = await Category.select().where(Category.name == "水").first()
    assert water_row["parent"] == drinks["id"] and water_row["sort"] == 0
    taken = await client.post(
        "/admin/categories",
        data={"name": "水", "parent": str(drinks["id"]), "_csrf_token": token},
        headers=ZH,
    )
    assert taken.status_code == 422 and "同一上级分类下已有同名分类" in taken.text
    assert 'value="水"' in taken.text  # what was typed comes back
    await f.sku(
        code="W550", product=await f._insert(Product, name="纯净水", category=water_row["id"])
    )
    listed = await client.get("/admin/categories", headers=ZH)
    assert f'href="/admin/categories/{water_row["id"]}"' in listed.text
    assert 'class="team-row cat-depth-1"' in listed.text  # 水 indented under 饮料
    assert "1 个商品" in listed.text and "1 个子分类" in listed.text and "排序 1" in listed.text
    # The parent select lists the tree by path.
    assert f'<option value="{water_row["id"]}">饮料 / 水</option>' in listed.text

    # In use: no delete button, and what uses it; a stale delete is refused and says why.
    edit = await client.get(f"/admin/categories/{drinks['id']}", headers=ZH)
    assert edit.status_code == 200
    assert f'action="/admin/categories/{drinks["id"]}/delete"' not in edit.text
    assert "子分类：1 个" in edit.text
    # Its own branch is not offered as a parent.
    assert f'<option value="{water_row["id"]}"' not in edit.text
    refused = await client.post(
        f"/admin/categories/{drinks['id']}/delete", data={"_csrf_token": token}, headers=ZH
    )
    assert refused.status_code == 409
    assert "该分类仍在使用中，无法删除" in refused.text and "子分类：1 个" in refused.text
    assert await Category.count() == 2

    cycle = await client.post(
        f"/admin/categories/{drinks['id']}",
        data={"name": "饮料", "parent": str(water_row["id"]), "sort": "1", "_csrf_token": token},
        headers=ZH,
    )
    assert cycle.status_code == 422 and "分类不能移到自身或其子分类之下" in cycle.text
    food = await _category("食品", sort=2)
    moved = await client.post(
        f"/admin/categories/{water_row['id']}",
        data={"name": "饮用水", "parent": str(food["id"]), "sort": "-3", "_csrf_token": token},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert await Category.select(Category.name, Category.parent, Category.sort).where(
        Category.id == water_row["id"]
    ).first() == {"name": "饮用水", "parent": food["id"], "sort": -3}
    assert await AuditEntry.count().where(AuditEntry.action == "category.saved") == 3

    edit = await client.get(f"/admin/categories/{drinks['id']}", headers=ZH)
    assert f'action="/admin/categories/{drinks["id"]}/delete"' in edit.text
    assert 'name="sort" type="text" value="1"' in edit.text
    removed = await client.post(
        f"/admin/categories/{drinks['id']}/delete",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/categories"
    assert not await Category.exists().where(Category.id == drinks["id"])
    assert await AuditEntry.count().where(AuditEntry.action == "category.deleted") == 1
    assert (await client.get(f"/admin/categories/{drinks['id']}")).status_code == 404


async def test_others_may_not_see_the_category_pages(client, db):
    drinks = await _category("饮料")
    await f.user("finance", username="fin")
    await sign_in(client, "fin")
    assert (await client.get("/admin/categories")).status_code == 403
    assert (await client.get(f"/admin/categories/{drinks['id']}")).status_code == 403
    me = await client.get("/me")
    assert 'href="/admin/categories"' not in me.text


async def test_categories_through_the_api(client, db):
    await f.user("admin", username="root")
    await f.user("sales_manager", username="mgr")
    root = await bearer(client, "root")
    url = "/api/v1/admin/categories"
    created = await client.post(url, json={"name": "饮料", "sort": 1}, headers=root)
    assert created.status_code == 201, created.text
    drinks = created.json()
    assert {k: drinks[k] for k in ("name", "parent_id", "sort", "depth", "path")} == {
        "name": "饮料",
        "parent_id": None,
        "sort": 1,
        "depth": 0,
        "path": ["饮料"],
    }
    water = (
        await client.post(url, json={"name": "水", "parent_id": drinks["id"]}, headers=root)
    ).json()
    assert water["path"] == ["饮料", "水"]
    taken = await client.post(
        url,
        json={"name": "水", "parent_id": drinks["id"]},
        headers={**root, "Accept-Language": "en"},
    )
    problem = assert_problem(taken, 422, "validation")
    assert problem["errors"] == [
        {"field": "name", "message": "Another category under the same parent has this name."}
    ]
    assert_problem(
        await client.post(url, json={"name": "x", "sort": 1001}, headers=root), 400, "validation"
    )
    cycle = await client.put(
        f"{url}/{drinks['id']}", json={"name": "饮料", "parent_id": water["id"]}, headers=root
    )
    assert [e["field"] for e in assert_problem(cycle, 422, "validation")["errors"]] == ["parent"]

    await f.sku(code="W550", product=await f._insert(Product, name="纯净水", category=water["id"]))
    listed = (await client.get(url, headers=root)).json()
    assert [(c["name"], c["products"], c["products_in_tree"]) for c in listed] == [
        ("饮料", 0, 1),
        ("水", 1, 1),
    ]
    one = await client.get(f"{url}/{water['id']}", headers=root)
    assert one.status_code == 200 and one.json()["products"] == 1
    assert_problem(await client.get(f"{url}/987654", headers=root), 404, "not-found")
    renamed = await client.put(
        f"{url}/{water['id']}", json={"name": "饮用水", "sort": 4}, headers=root
    )
    assert renamed.status_code == 200
    # A rename keeps the category where it is; null moves it to the top level.
    assert {k: renamed.json()[k] for k in ("name", "parent_id", "sort")} == {
        "name": "饮用水",
        "parent_id": drinks["id"],
        "sort": 4,
    }
    moved = await client.put(f"{url}/{water['id']}", json={"parent_id": None}, headers=root)
    assert {k: moved.json()[k] for k in ("name", "parent_id", "sort")} == {
        "name": "饮用水",
        "parent_id": None,
        "sort": 4,
    }

    await Promotion.insert(
        Promotion(
            name="饮用水九折",
            kind="percent_off",
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
            category=water["id"],
            percent_bp=1000,
            created_at=f.now(),
            updated_at=f.now(),
        )
    )
    in_use = await client.delete(f"{url}/{water['id']}", headers={**root, **ZH})
    problem = assert_problem(in_use, 409, "conflict")
    assert problem["detail"] == "该分类仍在使用中，无法删除。"
    assert problem["uses"] == {"children": 0, "products": 1, "promotions": 1}
    assert [e["field"] for e in problem["errors"]] == ["products", "promotions"]
    assert await Category.count() == 2

    assert (await client.delete(f"{url}/{drinks['id']}", headers=root)).status_code == 204
    assert [c["name"] for c in (await client.get(url, headers=root)).json()] == ["饮用水"]
    assert_problem(await client.delete(f"{url}/{drinks['id']}", headers=root), 404, "not-found")

    mgr = await bearer(client, "mgr")
    assert_problem(await client.get(url, headers=mgr), 403, "forbidden")
    assert_problem(await client.post(url, json={"name": "x"}, headers=mgr), 403, "forbidden")
    assert_problem(await client.delete(f"{url}/{water['id']}", headers=mgr), 403, "forbidden")
    assert await Category.count() == 1


# --- a product's own fields ------------------------------------------------------------------


async def _shop() -> dict:
    drinks = await _category("饮料")
    water = await _category("水", parent=drinks["id"])
    food = await _category("食品")
    product = await f._insert(
        Product, name="农夫山泉饮用天然水", brand="农夫", category=water["id"]
    )
    sku = await f.sku(code="W550", name="550ml 瓶装", product=product)
    other = await f.sku(code="W1500", name="1.5L 瓶装", product=product)
    return {"water": water, "food": food, "product": product, "sku": sku, "other": other}


async def test_an_administrator_edits_the_product_on_the_sku_page(client, db):
    shop = await _shop()
    await f.user("admin", username="root")
    await sign_in(client, "root")
    url = f"/admin/skus/{shop['sku']['id']}"
    page = await client.get(url, headers=ZH)
    assert page.status_code == 200
    assert f'action="{url}/product#product"' in page.text
    # Said on the product's form, the picture's and the visibility form: every SKU.
    assert page.text.count("此设置适用于 农夫山泉饮用天然水 的所有 SKU") == 3
    assert "停用的商品，其所有 SKU 都不会向客户展示" in page.text
    assert f'<option value="{shop["water"]["id"]}" selected>饮料 / 水</option>' in page.text
    token = csrf_from(page.text)

    bad = await client.post(
        f"{url}/product",
        data={"name": "", "brand": "牌" * 51, "category": "987654", "_csrf_token": token},
        headers=ZH,
    )
    assert bad.status_code == 422
    assert "请输入名称，最多 120 个字符" in bad.text
    assert 'aria-describedby="product-err-category"' in bad.text
    assert 'id="product-err-brand"' in bad.text
    assert (await Product.select(Product.name).first())["name"] == "农夫山泉饮用天然水"

    done = await client.post(
        f"{url}/product",
        data={
            "name": "百岁山天然矿泉水",
            "brand": "景田",
            "category": str(shop["food"]["id"]),
            "description": "来自惠州",
            "_csrf_token": token,
        },  # active unticked: the product is hidden
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{url}?saved=product#product"
    row = await Product.select().first()
    assert (row["name"], row["brand"], row["category"], row["description"], row["active"]) == (
        "百岁山天然矿泉水",
        "景田",
        shop["food"]["id"],
        "来自惠州",
        False,
    )
    # Every SKU of the product follows: its search text, and on its own page.
    texts = sorted(r["search_text"] for r in await Sku.select(Sku.search_text))
    assert texts == [
        "1.5l瓶装百岁山天然矿泉水景田百岁山天然矿泉水",
        "550ml瓶装百岁山天然矿泉水景田百岁山天然矿泉水",
    ]
    other = await client.get(f"/admin/skus/{shop['other']['id']}", headers=ZH)
    assert 'value="百岁山天然矿泉水"' in other.text and "来自惠州" in other.text
    assert await AuditEntry.count().where(AuditEntry.action == "product.saved") == 1


async def test_the_api_changes_a_product(client, db):
    shop = await _shop()
    await f.user("admin", username="root")
    await f.user("sales_manager", username="mgr")
    root = await bearer(client, "root")
    product = shop["product"]["id"]
    url = f"/api/v1/admin/products/{product}"
    before = (await client.get(f"/api/v1/admin/skus/{shop['sku']['id']}", headers=root)).json()
    assert {k: before["product"][k] for k in ("name", "brand", "description", "active")} == {
        "name": "农夫山泉饮用天然水",
        "brand": "农夫",
        "description": "",
        "active": True,
    }
    body = {"name": "百岁山", "brand": "景田", "category_id": shop["food"]["id"], "active": False}
    changed = await client.put(url, json=body, headers=root)
    assert changed.status_code == 200, changed.text
    out = changed.json()
    assert (out["name"], out["brand"], out["active"], out["category_path"]) == (
        "百岁山",
        "景田",
        False,
        ["食品"],
    )
    assert out["visibility"]["visibility"] == "all"
    after = (await client.get(f"/api/v1/admin/skus/{shop['sku']['id']}", headers=root)).json()
    assert after["product"]["name"] == "百岁山" and after["product"]["active"] is False
    found = await client.get("/api/v1/admin/skus", params={"q": "百岁山"}, headers=root)
    assert sorted(i["code"] for i in found.json()["items"]) == ["W1500", "W550"]

    problem = assert_problem(
        await client.put(
            url, json={**body, "category_id": 987654}, headers={**root, "Accept-Language": "en"}
        ),
        422,
        "validation",
    )
    assert problem["errors"] == [
        {"field": "category", "message": "Choose a category from the list."}
    ]
    assert_problem(
        await client.put(url, json={**body, "name": ""}, headers=root), 400, "validation"
    )
    assert_problem(
        await client.put("/api/v1/admin/products/987654", json=body, headers=root), 404, "not-found"
    )
    mgr = await bearer(client, "mgr")
    assert_problem(await client.put(url, json=body, headers=mgr), 403, "forbidden")
    assert (await Product.select(Product.name).first())["name"] == "百岁山"
    assert await AuditEntry.count().where(AuditEntry.action == "product.saved") == 1
