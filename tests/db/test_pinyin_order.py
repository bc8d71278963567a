"""Chinese names in pinyin order, on both engines: the catalog's default listing (by product)
and its order by name put 百事可乐 before 冰红茶 before 茶饮料 before 长城干红, which code points
scatter, and the lists of dealers and of people go by name the same way; every way of
writing a name writes its key (the pages and API, the import), and the migrations fill the
keys of names written before them."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal.db import current_engine
from portal.domain import catalog, catalog_admin, data_io, dealers, orders, staff, team
from portal.domain.catalog_admin import ProductChange, ProductNew, SkuNew
from portal.domain.dealers import DealerInput
from portal.domain.pinyin import sort_key
from portal.domain.quantities import LineRequest
from portal.domain.team import UserInput
from portal.export import csv_bytes
from portal.tables import Dealer, Product, Sku, User
from tests import factories as f
from tests.db.test_catalog_admin import change

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
# name -> code, in pinyin order; by code point it would be 冰 百 茶 长 ... (U+51B0, U+767E ...).
IN_PINYIN_ORDER = {
    "百事可乐 330ml": "P-1",
    "冰红茶 500ml": "P-2",
    "茶饮料 500ml": "P-3",
    "长城干红 750ml": "P-4",
    "绿茶 500ml": "P-5",
    "西安肉夹馍": "P-6",
    "鲜橙多 1L": "P-7",
}


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier()
    dealer = await f.dealer(tier)
    for name, code in reversed(IN_PINYIN_ORDER.items()):  # written in another order
        await f.sku(code=code, name=name)
    return {
        "admin": f.actor(await f.user("admin")),
        "buyer": f.actor(await f.user("dealer_buyer", dealer)),
        "dealer": dealer,
        "category": (await f.category("酒水"))["id"],
    }


def codes(page: catalog.CatalogPage) -> list[str]:
    return [i.code for i in page.items]


async def test_the_catalog_lists_in_pinyin_order_by_product_and_by_name(shop):
    by_code_point = [IN_PINYIN_ORDER[n] for n in sorted(IN_PINYIN_ORDER)]
    expected = list(IN_PINYIN_ORDER.values())
    assert by_code_point != expected
    listing = await catalog.search(shop["buyer"], shop["dealer"])
    assert codes(listing) == expected
    by_name = await catalog.search(shop["buyer"], shop["dealer"], sort="name")
    assert codes(by_name) == expected
    # Page by page, the same order.
    pages = [
        await catalog.search(shop["buyer"], shop["dealer"], sort="name", page=n, per_page=3)
        for n in (1, 2, 3)
    ]
    assert [c for p in pages for c in codes(p)] == expected


async def key_of(table, row_id: int) -> tuple[str, str]:
    row = await table.select(table.name, table.name_key).where(table.id == row_id).first()
    return row["name"], row["name_key"]


async def test_every_way_of_writing_a_name_writes_its_key(shop):
    admin = shop["admin"]
    made = await catalog_admin.create_product_with_sku(
        admin,
        ProductNew(name="长城干红葡萄酒", category_id=shop["category"]),
        SkuNew(code="GW-1", name="长城干红 750ml", base_unit="瓶", base_price="68.00"),
        now=NOW,
    )
    sku_id, product_id = made.sku["id"], made.product["id"]
    assert await key_of(Sku, sku_id) == ("长城干红 750ml", "chang cheng gan hong 750ml")
    assert await key_of(Product, product_id) == (
        "长城干红葡萄酒",
        "chang cheng gan hong pu tao jiu",
    )

    second = await catalog_admin.create_sku(
        admin, product_id, SkuNew(code="GW-2", name="银行特供", base_unit="瓶", base_price="9")
    )
    assert (await key_of(Sku, second.sku["id"]))[1] == "yin hang te gong"

    await catalog_admin.update_sku(
        admin,
        sku_id,
        change(name="阿尔卑斯 棒棒糖", barcode="", base_price="68.00"),
        now=NOW,
    )
    assert await key_of(Sku, sku_id) == ("阿尔卑斯 棒棒糖", sort_key("阿尔卑斯 棒棒糖"))
    await catalog_admin.update_product(
        admin,
        product_id,
        ProductChange(name="百事", brand="", category_id=shop["category"], active=True),
        now=NOW,
    )
    assert await key_of(Product, product_id) == ("百事", "bai shi")

    data = csv_bytes(
        ("category", "product", "brand", "sku", "name", "unit", "base_price"),
        [
            ("饮料 / 茶", "冰红茶", "康师傅", "C300", "冰红茶 500ml", "瓶", "3.00"),
            ("", "", "", "P-1", "重庆小面", "", ""),
        ],
    )
    result = await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert (result.created, result.updated) == (1, 1)
    imported = await Sku.select(Sku.id, Sku.product).where(Sku.code == "C300").first()
    assert (await key_of(Sku, imported["id"]))[1] == "bing hong cha 500ml"
    assert (await key_of(Product, imported["product"]))[1] == "bing hong cha"
    renamed = await Sku.select(Sku.id).where(Sku.code == "P-1").first()
    assert await key_of(Sku, renamed["id"]) == ("重庆小面", "chong qing xiao mian")


def _migration():
    path = Path(__file__).parents[2] / "migrations" / "portal_2026_11_27t13_40_00_000000.py"
    spec = importlib.util.spec_from_file_location("pinyin_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.RawTable._meta.db = current_engine()
    return module


async def test_the_migration_fills_the_keys_of_names_written_before_it(shop):
    await Sku.update({Sku.name_key: ""}, force=True)
    await Product.update({Product.name_key: ""}, force=True)
    migration = _migration()
    for table in migration.TABLES:
        await migration._fill(table)
    skus = await Sku.select(Sku.name, Sku.name_key)
    products = await Product.select(Product.name, Product.name_key)
    assert len(skus) == len(IN_PINYIN_ORDER)
    assert all(r["name_key"] == sort_key(r["name"]) != "" for r in skus + products)
    listing = await catalog.search(shop["buyer"], shop["dealer"])
    assert codes(listing) == list(IN_PINYIN_ORDER.values())


# Dealers by name, in pinyin order; by code point it would be 东 百 茶 西 长.
DEALERS_IN_PINYIN_ORDER = ["百货大楼", "茶叶专卖", "长城商贸", "东方超市", "西安副食"]


async def test_dealer_lists_go_by_name_in_pinyin_order_after_the_recent_ones(db):
    tier = await f.tier()
    rep = await f.user("sales_rep")
    made = {}
    for name in reversed(DEALERS_IN_PINYIN_ORDER):
        made[name] = await f.dealer(tier, name=name)
        await f.assign(rep, made[name])
    finance = f.actor(await f.user("finance"))
    page = await dealers.list_page(finance)
    assert [c.name for c in page.items] == DEALERS_IN_PINYIN_ORDER
    # The rep's picker: the dealer ordered for lately first, then the rest by name.
    water = await f.sku()
    await f.stock(water, await f.warehouse(), on_hand=10)
    await orders.submit_order(
        f.actor(rep),
        made["东方超市"]["id"],
        [LineRequest(sku_id=water["id"], qty=1)],
        idempotency_key="visit-1",
    )
    picker = await dealers.list_page(f.actor(rep))
    assert [c.name for c in picker.items] == [
        "东方超市",
        "百货大楼",
        "茶叶专卖",
        "长城商贸",
        "西安副食",
    ]


async def test_every_way_of_writing_a_dealer_name_writes_its_key(db):
    tier = await f.tier()
    admin = f.actor(await f.user("admin"))
    saved = await dealers.save_dealer(
        admin, None, DealerInput(name="长城商贸", tier_id=tier["id"], code="CC-1"), now=NOW
    )
    assert await key_of(Dealer, saved["id"]) == ("长城商贸", "chang cheng shang mao")
    await dealers.save_dealer(
        admin, saved["id"], DealerInput(name="重庆火锅", tier_id=tier["id"]), now=NOW
    )
    assert await key_of(Dealer, saved["id"]) == ("重庆火锅", "chong qing huo guo")
    data = csv_bytes(
        ("code", "name", "tier"),
        [("CC-1", "银行超市", tier["code"]), ("NEW-1", "东方超市", tier["code"])],
    )
    result = await data_io.import_file(admin, "dealers", "d.csv", data, now=NOW)
    assert (result.created, result.updated) == (1, 1)
    assert await key_of(Dealer, saved["id"]) == ("银行超市", "yin hang chao shi")
    new = await Dealer.select(Dealer.id).where(Dealer.code == "NEW-1").first()
    assert await key_of(Dealer, new["id"]) == ("东方超市", "dong fang chao shi")


async def test_the_migration_fills_the_keys_of_dealers_and_people_named_before_it(db):
    tier = await f.tier()
    for name in DEALERS_IN_PINYIN_ORDER:
        await f.dealer(tier, name=name)
    for name in PEOPLE_IN_PINYIN_ORDER:
        await f.user("sales_rep", display_name=name)
    await Dealer.update({Dealer.name_key: ""}, force=True)
    await User.update({User.name_key: ""}, force=True)
    await _migration()._fill("dealer")
    await _migration()._fill("portal_user", "display_name")
    rows = await Dealer.select(Dealer.name, Dealer.name_key)
    assert len(rows) == len(DEALERS_IN_PINYIN_ORDER)
    assert all(r["name_key"] == sort_key(r["name"]) != "" for r in rows)
    people = await User.select(User.display_name, User.name_key)
    assert len(people) == len(PEOPLE_IN_PINYIN_ORDER)
    assert all(r["name_key"] == sort_key(r["display_name"]) != "" for r in people)


# People by name, in pinyin order; by code point it would be 张 李 王 陈 (U+5F20 U+674E ...).
PEOPLE_IN_PINYIN_ORDER = ["陈静", "李娜", "王芳", "张伟"]


async def test_lists_of_people_go_by_name_in_pinyin_order(db):
    tier = await f.tier()
    dealer = await f.dealer(tier)
    admin = f.actor(await f.user("admin", display_name="管理员"))
    for name in reversed(PEOPLE_IN_PINYIN_ORDER):
        await f.user("sales_manager", display_name=name)
        await f.user("dealer_buyer", dealer, display_name=name)
    managers = [r["display_name"] for r in await staff.list_staff(admin)]
    assert [n for n in managers if n in PEOPLE_IN_PINYIN_ORDER] == PEOPLE_IN_PINYIN_ORDER
    assert [r["display_name"] for r in await staff.managers()] == PEOPLE_IN_PINYIN_ORDER
    users = await team.list_users(admin, dealer["id"])
    assert [r["display_name"] for r in users] == PEOPLE_IN_PINYIN_ORDER


async def test_every_way_of_writing_a_persons_name_writes_its_key(db):
    tier = await f.tier()
    dealer = await f.dealer(tier)
    admin = f.actor(await f.user("admin"))
    buyer = await team.create_user(
        admin, dealer["id"], "zhang.wei", "first-pass-1", UserInput("张伟", "dealer_buyer")
    )
    assert await key_of_person(buyer["id"]) == ("张伟", "zhang wei")
    await team.update_user(admin, dealer["id"], buyer["id"], UserInput("曾小贤", "dealer_buyer"))
    assert await key_of_person(buyer["id"]) == ("曾小贤", sort_key("曾小贤"))
    rep = await staff.create_staff(
        admin, "li.na", "first-pass-1", staff.StaffInput(display_name="李娜", role="sales_rep")
    )
    assert await key_of_person(rep["id"]) == ("李娜", "li na")
    await staff.update_staff(
        admin, rep["id"], staff.StaffInput(display_name="王芳", role="sales_rep")
    )
    assert await key_of_person(rep["id"]) == ("王芳", "wang fang")


async def key_of_person(user_id: int) -> tuple[str, str]:
    row = await User.select(User.display_name, User.name_key).where(User.id == user_id).first()
    return row["display_name"], row["name_key"]
