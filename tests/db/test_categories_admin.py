"""The category tree kept by an administrator, and a product's own fields, on both engines."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from portal.domain import catalog, catalog_admin, categories
from portal.domain.categories import CategoryInput
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.tables import AuditEntry, Category, Product, Promotion, Sku
from tests import factories as f

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def _audit(action: str) -> list[dict]:
    rows = await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.id)
    return [{**r, "before": json.loads(r["before"]), "after": json.loads(r["after"])} for r in rows]


async def _tree() -> list[tuple[int, str]]:
    """(depth, name) of every category, as the administrators' list shows it."""
    admin = f.actor(await f.user("admin", username="tree.reader"))
    return [(c["depth"], c["name"]) for c in await categories.list_categories(admin)]


@pytest.fixture
async def shop(db) -> dict:
    admin = f.actor(await f.user("admin"))
    tier = await f.tier(code="T1")
    dealer = await f.dealer(tier, name="上海恒通")
    save = categories.save_category
    drinks = await save(admin, None, CategoryInput(name="饮料", sort=1), now=NOW)
    water = await save(admin, None, CategoryInput(name="水", parent_id=drinks["id"]), now=NOW)
    food = await save(admin, None, CategoryInput(name="食品", sort=2), now=NOW)
    product = await f._insert(
        Product, name="农夫山泉饮用天然水", brand="农夫", category=water["id"]
    )
    sku = await f.sku(code="W550", name="550ml 瓶装", product=product)
    return {
        "admin": admin,
        "dealer": dealer,
        "buyer": f.actor(await f.user("dealer_buyer", dealer)),
        "drinks": drinks,
        "water": water,
        "food": food,
        "product": product,
        "sku": sku,
    }


async def test_add_rename_move_and_list_the_tree_with_product_counts(shop):
    admin = shop["admin"]
    listed = await categories.list_categories(admin)
    assert [(c["depth"], c["name"], c["products"], c["products_in_tree"]) for c in listed] == [
        (0, "饮料", 0, 1),
        (1, "水", 1, 1),
        (0, "食品", 0, 0),
    ]
    assert listed[1]["path"] == ["饮料", "水"] and listed[0]["children"] == 1
    # The dealers' catalog reads the same tree.
    tree = await catalog.category_tree()
    assert [(c["name"], [k["name"] for k in c["children"]]) for c in tree] == [
        ("饮料", ["水"]),
        ("食品", []),
    ]

    snacks = await categories.save_category(
        admin, None, CategoryInput(name=" 零食 ", parent_id=shop["food"]["id"], sort=-3), now=NOW
    )
    assert snacks["name"] == "零食" and snacks["path"] == ["食品", "零食"]
    renamed = await categories.save_category(
        admin, shop["water"]["id"], CategoryInput(name="饮用水", parent_id=shop["drinks"]["id"])
    )
    assert renamed["name"] == "饮用水"
    # Move 水 (with its product) under 零食, and sort 食品 first.
    moved = await categories.save_category(
        admin,
        shop["water"]["id"],
        CategoryInput(name="饮用水", parent_id=snacks["id"], sort=5),
        now=NOW,
    )
    assert moved["path"] == ["食品", "零食", "饮用水"] and moved["depth"] == 2
    await categories.save_category(
        admin, shop["food"]["id"], CategoryInput(name="食品", sort=-10), now=NOW
    )
    assert await _tree() == [(0, "食品"), (1, "零食"), (2, "饮用水"), (0, "饮料")]
    # Saving without a change writes nothing.
    await categories.save_category(
        admin, shop["food"]["id"], CategoryInput(name="食品", sort=-10), now=NOW
    )

    saved = await _audit("category.saved")
    assert len(saved) == 3 + 4  # the fixture's three, then ours
    assert saved[3]["before"] == {}
    assert saved[3]["after"] == {"name": "零食", "parent": shop["food"]["id"], "sort": -3}
    assert saved[5]["entity"] == "category"
    assert saved[5]["entity_id"] == str(shop["water"]["id"])
    assert saved[5]["before"] == {"name": "饮用水", "parent": shop["drinks"]["id"], "sort": 0}
    assert saved[5]["after"] == {"name": "饮用水", "parent": snacks["id"], "sort": 5}
    assert saved[5]["actor"] == admin.user_id


async def test_a_moved_category_brings_its_products_to_the_new_parent_in_the_catalog(shop):
    buyer, dealer, sku = shop["buyer"], shop["dealer"], shop["sku"]

    async def codes(category: dict) -> list[str]:
        page = await catalog.search(buyer, dealer, category_id=category["id"])
        return [i.code for i in page.items]

    assert await codes(shop["drinks"]) == ["W550"]
    assert await codes(shop["food"]) == []
    await categories.save_category(
        shop["admin"],
        shop["water"]["id"],
        CategoryInput(name="水", parent_id=shop["food"]["id"]),
        now=NOW,
    )
    assert await codes(shop["food"]) == [sku["code"]]
    assert await codes(shop["drinks"]) == []
    assert await codes(shop["water"]) == ["W550"]
    assert await catalog.category_subtree(shop["food"]["id"]) == sorted(
        [shop["food"]["id"], shop["water"]["id"]]
    )


async def test_a_category_never_moves_under_itself_or_its_sub_categories(shop):
    admin = shop["admin"]
    deep = await categories.save_category(
        admin, None, CategoryInput(name="矿泉水", parent_id=shop["water"]["id"]), now=NOW
    )
    drinks = shop["drinks"]["id"]
    for parent in (drinks, shop["water"]["id"], deep["id"]):
        with pytest.raises(ValidationFailed) as refused:
            await categories.save_category(
                admin, drinks, CategoryInput(name="饮料", parent_id=parent), now=NOW
            )
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("parent", categories.MSG_CYCLE)
        ]
    # The edit page offers only the parents it may go under.
    offered = [c["id"] for c in (await categories.get_category(admin, drinks))["parents"]]
    assert offered == [shop["food"]["id"]]
    # But a sub-category may move up to the top, or anywhere outside its own branch.
    await categories.save_category(admin, deep["id"], CategoryInput(name="矿泉水"), now=NOW)
    # Sort 0 lists it before 饮料 (sort 1).
    assert await _tree() == [(0, "矿泉水"), (0, "饮料"), (1, "水"), (0, "食品")]
    assert len(await _audit("category.saved")) == 5


async def test_bad_input_and_a_sibling_name_taken_change_nothing(shop):
    admin = shop["admin"]
    drinks, water = shop["drinks"]["id"], shop["water"]["id"]
    for data, fields in (
        (CategoryInput(name="食品"), ["name"]),  # a sibling at the top level
        (CategoryInput(name="饮料 "), ["name"]),
        (CategoryInput(name="水", parent_id=drinks), ["name"]),
        (CategoryInput(name="   "), ["name"]),
        (CategoryInput(name="名" * 51), ["name"]),
        (CategoryInput(name="x", sort=1001), ["sort"]),
        (CategoryInput(name="x", sort=-1001), ["sort"]),
        (CategoryInput(name="x", parent_id=987654), ["parent"]),
        (CategoryInput(name="", sort=5000), ["name", "sort"]),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await categories.save_category(admin, None, data, now=NOW)
        assert [e.field for e in refused.value.errors] == fields, data
    # Ignoring case: "Water" and "WATER" are the same name.
    latin = await categories.save_category(
        admin, None, CategoryInput(name="Water", parent_id=drinks), now=NOW
    )
    with pytest.raises(ValidationFailed) as refused:
        await categories.save_category(
            admin, None, CategoryInput(name="WATER", parent_id=drinks), now=NOW
        )
    assert refused.value.errors[0].message == categories.TAKEN
    # Renaming or moving onto a sibling's name is refused too, and leaves it as it was.
    with pytest.raises(ValidationFailed):
        await categories.save_category(
            admin, latin["id"], CategoryInput(name="水", parent_id=drinks), now=NOW
        )
    with pytest.raises(ValidationFailed):
        await categories.save_category(admin, water, CategoryInput(name="食品"), now=NOW)
    assert await Category.count() == 4
    assert (await categories.get_category(admin, water))["path"] == ["饮料", "水"]
    assert (await categories.get_category(admin, latin["id"]))["name"] == "Water"
    assert len(await _audit("category.saved")) == 4
    # The same name elsewhere in the tree is fine; so are the edges.
    await categories.save_category(admin, None, CategoryInput(name="水"), now=NOW)
    edge = await categories.save_category(
        admin, None, CategoryInput(name="名" * 50, sort=-1000), now=NOW
    )
    assert edge["sort"] == -1000


async def test_a_category_in_use_is_not_removed_and_says_why(shop):
    admin, drinks, water = shop["admin"], shop["drinks"], shop["water"]
    await Promotion.insert(
        Promotion(
            name="饮用水九折",
            kind="percent_off",
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
            category=water["id"],
            percent_bp=1000,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    shown = await categories.get_category(admin, water["id"])
    assert shown["removable"] is False
    assert shown["uses"] == {"children": 0, "products": 1, "promotions": 1}
    with pytest.raises(Conflict) as refused:
        await categories.delete_category(admin, water["id"], now=NOW)
    assert refused.value.message == categories.IN_USE
    assert [e.field for e in refused.value.errors] == ["products", "promotions"]
    assert all(e.params == {"n": 1} for e in refused.value.errors)
    with pytest.raises(Conflict) as refused:
        await categories.delete_category(admin, drinks["id"], now=NOW)
    assert [e.field for e in refused.value.errors] == ["children"]
    assert refused.value.extra["uses"] == {"children": 1, "products": 0, "promotions": 0}
    assert await Category.count() == 3 and await Product.count() == 1 and await Sku.count() == 1
    assert await Promotion.count() == 1  # nothing cascaded

    # Each use alone blocks the removal; once the last one is gone, the category goes.
    await Product.update({Product.category: shop["food"]["id"]}).where(
        Product.id == shop["product"]["id"]
    )
    with pytest.raises(Conflict) as refused:
        await categories.delete_category(admin, water["id"], now=NOW)
    assert [e.field for e in refused.value.errors] == ["promotions"]
    await Promotion.delete().where(Promotion.category == water["id"])
    assert (await categories.get_category(admin, water["id"]))["removable"] is True
    assert await _audit("category.deleted") == []

    await categories.delete_category(admin, water["id"], now=NOW)
    await categories.delete_category(admin, drinks["id"], now=NOW)  # no child left
    assert await _tree() == [(0, "食品")]
    assert await Product.count() == 1 and await Sku.count() == 1
    deleted = await _audit("category.deleted")
    assert [d["entity_id"] for d in deleted] == [str(water["id"]), str(drinks["id"])]
    assert deleted[0]["before"] == {"name": "水", "parent": drinks["id"], "sort": 0}
    assert deleted[0]["after"] == {} and deleted[0]["actor"] == admin.user_id
    with pytest.raises(NotFound):
        await categories.delete_category(admin, water["id"], now=NOW)


async def test_only_an_administrator(shop):
    water = shop["water"]
    for role, dealer_row in (
        ("finance", None),
        ("sales_manager", None),
        ("warehouse", None),
        ("dealer_admin", shop["dealer"]),
    ):
        someone = f.actor(await f.user(role, dealer_row))
        with pytest.raises(Forbidden):
            await categories.list_categories(someone)
        with pytest.raises(Forbidden):
            await categories.get_category(someone, water["id"])
        with pytest.raises(Forbidden):
            await categories.save_category(someone, None, CategoryInput(name="x"))
        with pytest.raises(Forbidden):
            await categories.save_category(someone, water["id"], CategoryInput(name="改"))
        with pytest.raises(Forbidden):
            await categories.delete_category(someone, shop["food"]["id"])
        with pytest.raises(Forbidden):
            await catalog_admin.update_product(
                someone,
                shop["product"]["id"],
                catalog_admin.ProductChange("改", "", water["id"], True),
            )
    admin = shop["admin"]
    assert await _tree() == [(0, "饮料"), (1, "水"), (0, "食品")]
    with pytest.raises(NotFound):
        await categories.get_category(admin, 987654)
    with pytest.raises(NotFound):
        await categories.save_category(admin, 987654, CategoryInput(name="x"))
    with pytest.raises(NotFound):
        await categories.delete_category(admin, 987654)
    with pytest.raises(NotFound):
        await catalog_admin.update_product(
            admin, 987654, catalog_admin.ProductChange("x", "", water["id"], True)
        )
    assert await Category.count() == 3


# --- a product's own fields ------------------------------------------------------------------


def product_change(shop: dict, **values) -> catalog_admin.ProductChange:
    base = {
        "name": "农夫山泉饮用天然水",
        "brand": "农夫",
        "category_id": shop["water"]["id"],
        "active": True,
    }
    return catalog_admin.ProductChange(**{**base, **values})


async def test_a_renamed_product_is_found_by_its_new_name_only(shop):
    admin, buyer, dealer = shop["admin"], shop["buyer"], shop["dealer"]
    product = shop["product"]["id"]

    async def found(q: str) -> list[str]:
        return [i.code for i in (await catalog.search(buyer, dealer, q=q)).items]

    assert await found("农夫山泉") == ["W550"]
    assert await found("百岁山") == []
    saved = await catalog_admin.update_product(
        admin,
        product,
        product_change(
            shop,
            name=" 百岁山天然矿泉水 ",
            brand="景田",
            category_id=str(shop["food"]["id"]),
            description="来自惠州",
        ),
        now=NOW,
    )
    assert saved["name"] == "百岁山天然矿泉水" and saved["category_path"] == ["食品"]
    assert saved["brand"] == "景田" and saved["description"] == "来自惠州"
    # The triggers keep the SKUs' search text: the new name and brand find it, the old do not.
    assert await found("百岁山") == ["W550"]
    assert await found("景田") == ["W550"]
    assert await found("农夫山泉") == []
    assert await found("农夫") == []
    search_text = (await Sku.select(Sku.search_text).first())["search_text"]
    assert search_text == "550ml瓶装百岁山天然矿泉水景田百岁山天然矿泉水"
    # The administrators' SKU search follows too, and the SKU page shows the product's fields.
    assert [r.code for r in (await catalog_admin.search_skus(admin, "百岁山")).items] == ["W550"]
    detail = await catalog_admin.get_sku(admin, shop["sku"]["id"])
    assert detail.product["description"] == "来自惠州"
    assert detail.product["category_id"] == shop["food"]["id"]
    # Its category moved: the catalog finds it under 食品, no longer under 饮料.
    page = await catalog.search(buyer, dealer, category_id=shop["food"]["id"])
    assert [i.code for i in page.items] == ["W550"]
    assert (await catalog.search(buyer, dealer, category_id=shop["drinks"]["id"])).items == []

    saved = await _audit("product.saved")
    assert len(saved) == 1 and saved[0]["entity_id"] == str(product)
    assert saved[0]["before"] == {
        "name": "农夫山泉饮用天然水",
        "brand": "农夫",
        "description": "",
        "category": shop["water"]["id"],
    }
    assert saved[0]["after"]["name"] == "百岁山天然矿泉水"
    assert saved[0]["after"]["category"] == shop["food"]["id"]
    # Saving it as it is writes nothing; leaving the description out keeps it.
    await catalog_admin.update_product(
        admin,
        product,
        product_change(shop, name="百岁山天然矿泉水", brand="景田", category_id=shop["food"]["id"]),
        now=NOW,
    )
    assert len(await _audit("product.saved")) == 1
    assert (await catalog_admin.get_product(admin, product))["description"] == "来自惠州"


async def test_an_inactive_product_hides_all_its_skus_from_dealers(shop):
    admin, buyer, dealer = shop["admin"], shop["buyer"], shop["dealer"]
    second = await f.sku(code="W1500", name="1.5L 瓶装", product=shop["product"])
    page = await catalog.search(buyer, dealer, sort="code")
    assert [i.code for i in page.items] == ["W1500", "W550"]
    await catalog_admin.update_product(
        admin, shop["product"]["id"], product_change(shop, active=False), now=NOW
    )
    assert (await catalog.search(buyer, dealer)).items == []
    assert await catalog.items_by_ids(buyer, dealer, [second["id"], shop["sku"]["id"]]) == {}
    # Administrators still find its SKUs, marked.
    rows = (await catalog_admin.search_skus(admin, "W")).items
    assert [(r.code, r.product_active) for r in rows] == [("W1500", False), ("W550", False)]
    saved = await _audit("product.saved")
    assert saved[-1]["before"] == {"active": True} and saved[-1]["after"] == {"active": False}
    await catalog_admin.update_product(
        admin, shop["product"]["id"], product_change(shop, active=True), now=NOW
    )
    assert len((await catalog.search(buyer, dealer)).items) == 2


async def test_bad_product_input_names_every_field_and_changes_nothing(shop):
    admin = shop["admin"]
    product = shop["product"]["id"]
    other = await f._insert(Product, name="怡宝纯净水", brand="怡宝", category=shop["water"]["id"])
    for values, fields in (
        ({"name": "  "}, ["name"]),
        ({"name": "名" * 121}, ["name"]),
        ({"brand": "牌" * 51}, ["brand"]),
        ({"description": "x" * 2001}, ["description"]),
        ({"category_id": 987654}, ["category"]),
        ({"category_id": "abc"}, ["category"]),
        ({"category_id": None}, ["category"]),
        ({"name": "", "brand": "牌" * 51, "category_id": "-1"}, ["name", "brand", "category"]),
        # Another product of the category has the name (the import finds products by it).
        ({"name": "怡宝纯净水"}, ["name"]),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.update_product(
                admin, product, product_change(shop, **values), now=NOW
            )
        assert [e.field for e in refused.value.errors] == fields, values
    row = await Product.select().where(Product.id == product).first()
    assert (row["name"], row["brand"], row["category"], row["active"]) == (
        "农夫山泉饮用天然水",
        "农夫",
        shop["water"]["id"],
        True,
    )
    assert await _audit("product.saved") == []
    # The same name in another category is fine; so are the edges.
    await catalog_admin.update_product(
        admin,
        other["id"],
        product_change(shop, name="名" * 120, brand="牌" * 50, category_id=shop["food"]["id"]),
        now=NOW,
    )
    await catalog_admin.update_product(
        admin, product, product_change(shop, name="名" * 120, description="x" * 2000), now=NOW
    )
    assert len(await _audit("product.saved")) == 2
