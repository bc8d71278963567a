"""Adding a product with its first SKU, or a SKU to a product, on both engines: a dealer then
finds it at its base price; refusals (a used code or name, any bad field, a role that may not)
write nothing; races between two administrators leave one product or one code."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from portal.domain import catalog, catalog_admin
from portal.domain.catalog_admin import ProductNew, SkuNew
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.safety_stock import MAX_SAFETY_STOCK
from portal.tables import AuditEntry, PackUnit, Product, Sku
from tests import factories as f

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier(code="T1", name="一级经销商", rank=1)
    dealer = await f.dealer(tier, name="上海恒通")
    drinks = await f.category(name="饮料")
    snacks = await f.category(name="零食")
    water = await f.sku(code="BV-0010-550", name="农夫山泉 550ml", base_price_fen=200)
    return {
        "admin": f.actor(await f.user("admin")),
        "buyer": f.actor(await f.user("dealer_buyer", dealer)),
        "dealer": dealer,
        "drinks": drinks,
        "snacks": snacks,
        "water": water,
    }


def product(shop: dict, **values) -> ProductNew:
    base = {
        "name": "元气森林苏打气泡水",
        "category_id": shop["drinks"]["id"],
        "brand": "元气森林",
        "description": "0 糖 0 脂",
        "image": "/static/products/soda.png",
    }
    return ProductNew(**{**base, **values})


def sku(**values) -> SkuNew:
    base = {
        "code": "YQ-0001-480",
        "name": "元气森林 白桃味 480ml",
        "base_unit": "瓶",
        "base_price": "12.50",
        "spec": "480ml",
        "colour": "白桃",
        "barcode": "6970000000011",
        "moq": "6",
        "order_multiple": "6",
        "safety_stock": "120",
        "weight_g": "520",
        "packs": "箱 15\n中包 5",
    }
    return SkuNew(**{**base, **values})


async def counts() -> tuple[int, int, int, int]:
    """Products, SKUs, pack units and audit entries: what a refusal must leave as it was."""
    return (
        await Product.count(),
        await Sku.count(),
        await PackUnit.count(),
        await AuditEntry.count(),
    )


async def found_by_dealer(shop: dict, q: str) -> list[catalog.CatalogItem]:
    page = await catalog.search(shop["buyer"], shop["dealer"], q=q)
    return page.items


async def test_a_product_with_its_first_sku_is_added_and_a_dealer_finds_it(shop):
    d = await catalog_admin.create_product_with_sku(shop["admin"], product(shop), sku(), now=NOW)
    assert d.sku["code"] == "YQ-0001-480" and d.sku["base_unit"] == "瓶"
    assert d.sku["base_price_fen"] == 1250 and isinstance(d.sku["base_price_fen"], int)
    assert (d.sku["moq"], d.sku["order_multiple"], d.sku["safety_stock"]) == (6, 6, 120)
    assert (d.sku["spec"], d.sku["colour"], d.sku["weight_g"]) == ("480ml", "白桃", 520)
    assert d.sku["active"] is True and d.sku["allow_backorder"] is False
    assert d.packs == [("箱", 15), ("中包", 5)]
    assert d.product["name"] == "元气森林苏打气泡水" and d.product["category_path"] == ["饮料"]
    assert d.product["image"] == "/static/products/soda.png"
    # Every tier pays the base price until a tier price is set.
    assert all(t.unit_price_fen is None for t in d.tier_prices)
    for q in ("白桃", "元气森林", "yq-0001", "YQ-0001-480"):
        items = await found_by_dealer(shop, q)
        assert [i.code for i in items] == ["YQ-0001-480"], q
        assert items[0].quote.unit_price_fen == 1250 and items[0].quote.rule == "base"
        assert items[0].first_qty == 6 and items[0].packs == (("箱", 15), ("中包", 5))
    entries = await AuditEntry.select().order_by(AuditEntry.id)
    assert [e["action"] for e in entries] == ["product.created", "sku.created", "sku.packs"]
    created = json.loads(entries[1]["after"])
    assert created["code"] == "YQ-0001-480" and created["base_price_fen"] == 1250
    assert json.loads(entries[0]["after"])["category"] == shop["drinks"]["id"]


async def test_a_product_then_skus_are_added_one_by_one(shop):
    admin = shop["admin"]
    made = await catalog_admin.create_product(
        admin, product(shop, name="  冰红茶  ", image="", active=False), now=NOW
    )
    assert made["name"] == "冰红茶" and made["active"] is False and made["image"] == ""
    assert made == await catalog_admin.get_product(admin, made["id"])
    first = await catalog_admin.create_sku(
        admin, made["id"], sku(code=" TEA-1 ", packs="", base_price="1,234.5"), now=NOW
    )
    assert first.sku["code"] == "TEA-1" and first.sku["base_price_fen"] == 123_450
    assert first.packs == [] and first.product["id"] == made["id"]
    # An inactive product's SKUs are not shown to dealers.
    assert await found_by_dealer(shop, "TEA-1") == []
    # Another SKU of an existing product, which dealers see.
    water = shop["water"]
    second = await catalog_admin.create_sku(
        admin,
        water["product"],
        sku(code="BV-0010-1500", name="农夫山泉 1.5L", packs="箱 12", barcode="6970000000028"),
    )
    assert second.product["id"] == water["product"] and second.packs == [("箱", 12)]
    assert await Sku.count().where(Sku.product == water["product"]) == 2
    items = await found_by_dealer(shop, "农夫山泉")
    assert sorted(i.code for i in items) == ["BV-0010-1500", "BV-0010-550"]
    assert {i.code: i.quote.unit_price_fen for i in items}["BV-0010-1500"] == 1250


async def test_a_used_code_is_refused_and_nothing_is_written(shop):
    admin = shop["admin"]
    before = await counts()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(admin, product(shop), sku(code="BV-0010-550"))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("code", catalog_admin.CODE_TAKEN)
    ]
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_sku(admin, shop["water"]["product"], sku(code=" BV-0010-550"))
    assert [e.field for e in refused.value.errors] == ["code"]
    assert await counts() == before


async def test_a_product_name_used_in_its_category_is_refused_but_not_in_another(shop):
    admin = shop["admin"]
    await catalog_admin.create_product(admin, product(shop))
    before = await counts()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product(admin, product(shop, brand="别的"))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("name", catalog_admin.PRODUCT_TAKEN)
    ]
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(admin, product(shop), sku())
    assert [e.field for e in refused.value.errors] == ["product_name"]
    assert await counts() == before
    other = await catalog_admin.create_product(
        admin, product(shop, category_id=shop["snacks"]["id"])
    )
    assert other["category_path"] == ["零食"]


# (field as the error names it, the input it belongs to, a bad value)
BAD = [
    ("code", "sku", ""),
    ("code", "sku", "   "),
    ("code", "sku", "X" * 41),
    ("code", "sku", "YQ 0001"),
    ("code", "sku", "YQ,0001"),
    ("code", "sku", "YQ；0001"),
    ("code", "sku", "YQ\x010001"),
    ("code", "sku", "元气-0001"),
    ("code", "sku", "ＹＱ-0001"),
    ("code", "sku", "YQ-😀"),
    ("name", "sku", ""),
    ("name", "sku", "名" * 161),
    ("spec", "sku", "x" * 51),
    ("colour", "sku", "色" * 31),
    ("barcode", "sku", "6" * 41),
    ("base_unit", "sku", ""),
    ("base_unit", "sku", "瓶" * 11),
    ("base_unit", "sku", "大 瓶"),
    ("base_unit", "sku", "瓶=1"),
    ("base_price", "sku", ""),
    ("base_price", "sku", "abc"),
    ("base_price", "sku", "-1"),
    ("base_price", "sku", "1.234"),
    ("base_price", "sku", "9" * 30),
    ("base_price", "sku", "NaN"),
    ("moq", "sku", "0"),
    ("moq", "sku", "-1"),
    ("moq", "sku", "1.5"),
    ("moq", "sku", str(catalog_admin.ORDER_QTY_MAX + 1)),
    ("order_multiple", "sku", ""),
    ("order_multiple", "sku", "9" * 30),
    ("safety_stock", "sku", "-1"),
    ("safety_stock", "sku", str(MAX_SAFETY_STOCK + 1)),
    ("weight_g", "sku", "abc"),
    ("weight_g", "sku", str(catalog_admin.MAX_WEIGHT_G + 1)),
    ("packs", "sku", "箱"),
    ("packs", "sku", "箱 1"),
    ("packs", "sku", "箱 abc"),
    ("packs", "sku", "瓶 24"),
    ("packs", "sku", "箱 24\n箱 12"),
    ("packs", "sku", "\n".join(f"包{n} {n + 2}" for n in range(6))),
    ("packs", "sku", "x" * 201),
    ("product_name", "product", ""),
    ("product_name", "product", "品" * 121),
    ("product_brand", "product", "b" * 51),
    ("product_description", "product", "d" * 2001),
    ("product_category", "product", "abc"),
    ("product_category", "product", "987654"),
    ("product_category", "product", None),
    ("product_image", "product", "http://img.example.com/a.png"),
    ("product_image", "product", "ftp://img.example.com/a.png"),
    ("product_image", "product", "/static/../secret"),
    ("product_image", "product", "https://img.example.com/" + "a" * 255),
]
PRODUCT_KEYS = {"category": "category_id"}


@pytest.mark.parametrize(("field", "part", "value"), BAD, ids=[f"{b[0]}={b[2]!r:.14}" for b in BAD])
async def test_each_bad_field_is_refused_by_name_and_nothing_is_written(shop, field, part, value):
    admin = shop["admin"]
    before = await counts()
    if part == "product":
        key = field.removeprefix("product_")
        new_product, new_sku = product(shop, **{PRODUCT_KEYS.get(key, key): value}), sku()
    else:
        new_product, new_sku = product(shop), sku(**{field: value})
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(admin, new_product, new_sku)
    assert {e.field for e in refused.value.errors} == {field}
    # The same problem through the two use cases that add one thing each.
    with pytest.raises(ValidationFailed) as alone:
        if part == "product":
            await catalog_admin.create_product(admin, new_product)
        else:
            await catalog_admin.create_sku(admin, shop["water"]["product"], new_sku)
    assert {e.field for e in alone.value.errors} == {field.removeprefix("product_")}
    assert await counts() == before


async def test_every_problem_is_reported_at_once_in_the_readers_words(shop):
    from portal import i18n

    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(
            shop["admin"],
            product(shop, name="", category_id="x"),
            sku(code="", base_unit="", base_price="abc", moq="0", packs="箱"),
        )
    fields = [e.field for e in refused.value.errors]
    assert sorted(fields) == sorted(
        ["product_name", "product_category", "code", "base_unit", "base_price", "moq", "packs"]
    )
    previous = i18n.get_locale()
    i18n.set_locale("zh_Hans")
    try:
        messages = {e.field: i18n.field_message(e) for e in refused.value.errors}
    finally:
        i18n.set_locale(previous)
    assert messages["code"] == (
        "请填写 1 到 40 个字母、数字或 - _ . / 等符号组成的编码，不能有空格、逗号或分号。"
    )
    assert messages["product_category"] == "请从列表中选择分类。"


@pytest.mark.parametrize(
    "role", ["dealer_admin", "dealer_buyer", "sales_rep", "sales_manager", "finance", "warehouse"]
)
async def test_only_an_administrator_may_add(shop, role):
    dealer = shop["dealer"] if role.startswith("dealer") else None
    someone = f.actor(await f.user(role, dealer))
    before = await counts()
    with pytest.raises(Forbidden):
        await catalog_admin.create_product(someone, product(shop))
    with pytest.raises(Forbidden):
        await catalog_admin.create_sku(someone, shop["water"]["product"], sku())
    with pytest.raises(Forbidden):
        await catalog_admin.create_product_with_sku(someone, product(shop), sku())
    assert await counts() == before


async def test_a_sku_for_an_unknown_product_is_not_found(shop):
    before = await counts()
    with pytest.raises(NotFound):
        await catalog_admin.create_sku(shop["admin"], 987_654, sku())
    assert await counts() == before


@pytest.fixture
def hooks():
    yield catalog_admin._test_hooks
    catalog_admin._test_hooks.clear()


async def test_a_code_taken_between_the_check_and_the_write_is_a_field_error(shop, hooks):
    """The unique index catches what the check could not see: the product is not written
    either (one transaction)."""
    admin = shop["admin"]

    async def rival() -> None:
        hooks.clear()
        await catalog_admin.create_sku(
            admin, shop["water"]["product"], sku(name="抢先", barcode="6970000000028")
        )

    hooks["before_write"] = rival
    before = await counts()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(admin, product(shop), sku())
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("code", catalog_admin.CODE_TAKEN)
    ]
    assert await Product.count().where(Product.name == "元气森林苏打气泡水") == 0
    after = await counts()
    # Only the rival's SKU, its two packs and its audit entries were written.
    assert after[:3] == (before[0], before[1] + 1, before[2] + 2)
    rows = await Sku.select(Sku.name).where(Sku.code == "YQ-0001-480")
    assert rows == [{"name": "抢先"}]


async def test_a_name_taken_between_the_check_and_the_write_is_a_field_error(shop, hooks):
    admin = shop["admin"]

    async def rival() -> None:
        hooks.clear()
        await catalog_admin.create_product(admin, product(shop, brand="抢先"))

    hooks["before_write"] = rival
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(admin, product(shop), sku())
    assert [e.field for e in refused.value.errors] == ["product_name"]
    assert await Sku.count().where(Sku.code == "YQ-0001-480") == 0
    rows = await Product.select(Product.brand).where(Product.name == "元气森林苏打气泡水")
    assert rows == [{"brand": "抢先"}]


async def test_concurrent_additions_leave_one_product_and_one_code(shop):
    admin = shop["admin"]
    results = await asyncio.gather(
        *(
            catalog_admin.create_product_with_sku(
                admin, product(shop), sku(code=f"YQ-{n}", barcode=f"697000000010{n}")
            )
            for n in range(4)
        ),
        *(
            catalog_admin.create_sku(
                admin, shop["water"]["product"], sku(name=f"同码{n}", barcode=f"697000000020{n}")
            )
            for n in range(4)
        ),
        return_exceptions=True,
    )
    added, codes = results[:4], results[4:]
    assert sum(not isinstance(r, Exception) for r in added) == 1
    assert all(
        isinstance(r, ValidationFailed) and [e.field for e in r.errors] == ["product_name"]
        for r in added
        if isinstance(r, Exception)
    ), added
    assert await Product.count().where(Product.name == "元气森林苏打气泡水") == 1
    assert sum(not isinstance(r, Exception) for r in codes) == 1
    assert all(
        isinstance(r, ValidationFailed) and [e.field for e in r.errors] == ["code"]
        for r in codes
        if isinstance(r, Exception)
    ), codes
    assert await Sku.count().where(Sku.code == "YQ-0001-480") == 1
