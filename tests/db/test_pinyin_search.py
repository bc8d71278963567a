"""A search in Latin letters finds SKUs and dealers by their names' pinyin, on both
engines: 冰红茶 by binghong or its initials bhc (case aside), a dealer 北京盛世 by bjss; a code
or a Chinese search as before; every way of writing a name writes what it is found by, and
the migrations fill it for names written before them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.domain import catalog, catalog_admin, data_io, dealers
from portal.domain.catalog_admin import SkuNew
from portal.domain.dealers import DealerInput
from portal.domain.pinyin import search_key
from portal.export import csv_bytes
from portal.tables import Dealer, Sku
from tests import factories as f
from tests.db.test_catalog_admin import change
from tests.db.test_pinyin_order import _migration

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier()
    dealer = await f.dealer(tier)
    await f.sku(code="KS-1", name="康师傅冰红茶 500ml")
    await f.sku(code="NF-1", name="农夫山泉 550ml")
    await f.sku(code="HB-1", name="红宝石面包")
    await f.sku(code="BHC-9", name="Coca-Cola 330ml")  # a code that is also initials
    return {
        "admin": f.actor(await f.user("admin")),
        "buyer": f.actor(await f.user("dealer_buyer", dealer)),
        "dealer": dealer,
    }


async def found(shop: dict, q: str) -> list[str]:
    page = await catalog.search(shop["buyer"], shop["dealer"], q=q, sort="code")
    return [i.code for i in page.items]


async def test_latin_letters_find_names_by_pinyin_and_initials(shop):
    assert await found(shop, "binghong") == ["KS-1"]
    assert await found(shop, "BHC") == ["BHC-9", "KS-1"]  # the code, and 冰红茶's initials
    assert await found(shop, "nfsq") == ["NF-1"]
    assert await found(shop, "bs") == []  # two letters: too short for pinyin (宝石 bs)
    assert await found(shop, "hbs") == ["HB-1"]
    assert await found(shop, "hong") == ["HB-1", "KS-1"]  # 红 in both
    assert await found(shop, "kangshifu bhc") == ["KS-1"]  # every term must match
    assert await found(shop, "冰红茶") == ["KS-1"]  # Chinese as before
    assert await found(shop, "coca") == ["BHC-9"]
    assert await found(shop, "NF-1") == ["NF-1"]  # not letters only: no pinyin
    assert await found(shop, "zzzq") == []


async def pinyin_of(code: str) -> str:
    return (await Sku.select(Sku.pinyin).where(Sku.code == code).first())["pinyin"]


async def test_every_way_of_writing_a_sku_name_writes_what_it_is_found_by(shop):
    admin = shop["admin"]
    product = (await Sku.select(Sku.product).where(Sku.code == "KS-1").first())["product"]
    made = await catalog_admin.create_sku(
        admin, product, SkuNew(code="KS-2", name="康师傅绿茶", base_unit="瓶", base_price="3")
    )
    assert await pinyin_of("KS-2") == "kangshifulvcha ksflc"
    await catalog_admin.update_sku(
        admin, made.sku["id"], change(name="统一冰红茶", barcode="", base_price="3.00")
    )
    assert await pinyin_of("KS-2") == "tongyibinghongcha tybhc"
    data = csv_bytes(
        ("category", "product", "sku", "name", "unit", "base_price"),
        [("饮料", "雪碧", "XB-1", "雪碧 330ml", "瓶", "2.50"), ("", "", "NF-1", "怡宝", "", "")],
    )
    result = await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert (result.created, result.updated) == (1, 1)
    assert await pinyin_of("XB-1") == "xuebi330ml xb"
    assert await pinyin_of("NF-1") == "yibao yb"
    assert await found(shop, "yibao") == ["NF-1"]
    # Initials match anywhere in a name (统一冰红茶's 一冰红 are ybh), from three letters.
    assert await found(shop, "ybh") == ["KS-2"]
    assert await found(shop, "yb") == []


async def test_the_migration_fills_what_skus_named_before_it_are_found_by(shop):
    await Sku.update({Sku.pinyin: ""}, force=True)
    assert await found(shop, "binghong") == []
    await _migration()._fill("sku", "name", "pinyin", search_key)
    rows = await Sku.select(Sku.name, Sku.pinyin)
    assert all(r["pinyin"] == search_key(r["name"]) for r in rows)
    assert await found(shop, "binghong") == ["KS-1"]


async def test_a_rep_finds_a_dealer_by_pinyin(db):
    tier = await f.tier()
    rep = await f.user("sales_rep")
    for name in ("北京盛世食品", "北方超市", "上海恒通贸易"):
        await f.assign(rep, await f.dealer(tier, name=name))

    async def names(q: str) -> list[str]:
        page = await dealers.list_page(f.actor(rep), q=q)
        return [c.name for c in page.items]

    assert await names("bjss") == ["北京盛世食品"]
    assert await names("beijing") == ["北京盛世食品"]
    assert await names("BFCS") == ["北方超市"]
    assert await names("bj") == []  # two letters: too short for pinyin
    assert await names("北方") == ["北方超市"]  # Chinese as before


async def test_every_way_of_writing_a_dealer_name_writes_what_it_is_found_by(db):
    tier = await f.tier()
    admin = f.actor(await f.user("admin"))
    saved = await dealers.save_dealer(
        admin, None, DealerInput(name="长城商贸", tier_id=tier["id"], code="CC-1"), now=NOW
    )
    assert await dealer_pinyin(saved["id"]) == "changchengshangmao ccsm"
    await dealers.save_dealer(
        admin, saved["id"], DealerInput(name="重庆火锅", tier_id=tier["id"]), now=NOW
    )
    assert await dealer_pinyin(saved["id"]) == "chongqinghuoguo cqhg"
    data = csv_bytes(("code", "name", "tier"), [("CC-1", "东方超市", tier["code"])])
    await data_io.import_file(admin, "dealers", "d.csv", data, now=NOW)
    assert await dealer_pinyin(saved["id"]) == "dongfangchaoshi dfcs"
    await Dealer.update({Dealer.pinyin: ""}, force=True)
    await _migration()._fill("dealer", "name", "pinyin", search_key)
    assert await dealer_pinyin(saved["id"]) == "dongfangchaoshi dfcs"


async def dealer_pinyin(dealer_id: int) -> str:
    return (await Dealer.select(Dealer.pinyin).where(Dealer.id == dealer_id).first())["pinyin"]


async def test_a_search_typed_in_traditional_characters_finds_the_simplified_names(shop):
    """A 繁體 keyboard types 紅茶 and 農夫: the names are written in Simplified (红茶, 农夫)."""
    await f.sku(code="LM-1", name="柠檬茶 250ml")
    assert await found(shop, "冰紅茶") == ["KS-1"]
    assert await found(shop, "紅茶") == ["KS-1"]  # two characters: the bigram index on PG
    assert await found(shop, "農夫山泉") == ["NF-1"]
    assert await found(shop, "檸檬") == ["LM-1"]
    assert await found(shop, "红宝石") == ["HB-1"]  # Simplified as before
    assert await found(shop, "麵包") == ["HB-1"]
