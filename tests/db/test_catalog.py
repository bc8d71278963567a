"""The catalog as a dealer sees it: visibility, search, filters, paging, favourites, history."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from portal.domain import catalog, promotions, search_rankings
from portal.domain.catalog import availability
from portal.domain.errors import NotFound
from portal.domain.pricing import RULE_CONTRACT, RULE_TIER, RULE_VOLUME
from portal.domain.promotions import PromoData
from portal.tables import Order, OrderLine, Product, ProductVisibility, Sku
from tests import factories as f
from tests.db.test_pricing_db import QueryCounter


async def product(
    name: str, category: dict, *, visibility: str = "all", active: bool = True, brand: str = ""
) -> dict:
    return await f._insert(
        Product,
        name=name,
        category=category["id"],
        visibility=visibility,
        active=active,
        brand=brand,
    )


async def visible_to(product_row: dict, *, tier: dict | None = None, dealer: dict | None = None):
    await ProductVisibility(
        product=product_row["id"],
        tier=tier["id"] if tier else None,
        dealer=dealer["id"] if dealer else None,
    ).save()


_order_seq = itertools.count(1)


async def past_order(
    dealer: dict,
    user: dict,
    lines: list[tuple[dict, int, int]],
    *,
    status: str = "approved",
    at: datetime | None = None,
) -> None:
    """An order as the orders module leaves it (rows only; pricing is not under test here)."""
    at = at or datetime.now(UTC)
    order = Order(
        number=f"SO-{at:%Y%m%d}-{next(_order_seq):04d}",
        dealer=dealer["id"],
        placed_by=user["id"],
        status=status,
        created_at=at,
        updated_at=at,
    )
    await order.save()
    for sku_row, qty, price in lines:
        await OrderLine(
            order=order.id,
            dealer=dealer["id"],
            sku=sku_row["id"],
            sku_code=sku_row["code"],
            sku_name=sku_row["name"],
            unit=sku_row["base_unit"],
            qty=qty,
            unit_price_fen=price,
            list_price_fen=sku_row["base_price_fen"],
            line_total_fen=qty * price,
            price_rule="tier",
            price_rule_params="{}",
        ).save()


@pytest.fixture
async def world(db):
    """Two tiers, three dealers, a category tree and a handful of drinks."""
    t1 = await f.tier(name="一级经销商")
    t2 = await f.tier(name="二级经销商", rank=2)
    d1 = await f.dealer(t1)
    d2 = await f.dealer(t2)
    d3 = await f.dealer(t2)
    buyer1 = await f.user("dealer_buyer", d1)
    buyer2 = await f.user("dealer_buyer", d2)
    buyer3 = await f.user("dealer_buyer", d3)
    drinks = await f.category("饮料")
    water_cat = await f.category("饮用水", parent=drinks)
    mineral = await f.category("矿泉水", parent=water_cat)
    snacks = await f.category("零食")
    wh = await f.warehouse()
    p_water = await product("农夫山泉饮用天然水", mineral, brand="农夫山泉")
    p_tea = await product("东方树叶茶饮料", drinks)
    p_chips = await product("乐事薯片", snacks)
    p_secret = await product("特供白酒", drinks, visibility="restricted")
    p_gone = await product("停产汽水", drinks, active=False)
    water = await f.sku(
        code="NF-550",
        name="农夫山泉 550ml",
        product=p_water,
        barcode="6921168509256",
        base_price_fen=200,
        safety_stock=50,
    )
    water_big = await f.sku(
        code="NF-1500", name="农夫山泉 1.5L", product=p_water, base_price_fen=350, pack=("箱", 12)
    )
    tea = await f.sku(
        code="DF-500",
        name="东方树叶 茉莉花茶 500ml",
        product=p_tea,
        base_price_fen=500,
        moq=10,
        order_multiple=6,
    )
    chips = await f.sku(
        code="LS-70", name="乐事 原味 70g", product=p_chips, base_price_fen=650, pack=None
    )
    secret = await f.sku(
        code="TG-01", name="特供白酒 500ml", product=p_secret, base_price_fen=99900
    )
    gone = await f.sku(code="QS-01", name="停产汽水 330ml", product=p_gone, base_price_fen=300)
    retired = await f.sku(
        code="NF-380", name="农夫山泉 380ml", product=p_water, base_price_fen=150, active=False
    )
    await f.stock(water, wh, on_hand=30)  # under safety stock 50: low
    await f.stock(water_big, wh, on_hand=100, reserved=100)  # nothing available: out
    await f.stock(tea, wh, on_hand=500, reserved=20)
    await f.tier_price(t1, water, price_fen=180)
    await f.volume_break(t1, water, 240, 170)
    await f.tier_price(t2, water, percent_bp=9500)
    await f.contract_price(d2, chips, 600)
    return dict(
        t1=t1,
        t2=t2,
        d1=d1,
        d2=d2,
        d3=d3,
        a1=f.actor(buyer1),
        a2=f.actor(buyer2),
        a3=f.actor(buyer3),
        u1=buyer1,
        drinks=drinks,
        water_cat=water_cat,
        mineral=mineral,
        snacks=snacks,
        wh=wh,
        p_water=p_water,
        p_tea=p_tea,
        p_chips=p_chips,
        p_secret=p_secret,
        p_gone=p_gone,
        water=water,
        water_big=water_big,
        tea=tea,
        chips=chips,
        secret=secret,
        gone=gone,
        retired=retired,
    )


@pytest.fixture
async def shop(db):
    """A dealer buyer (actor, dealer) of a fresh tier, and a category for new products."""
    d = await f.dealer(await f.tier())
    return f.actor(await f.user("dealer_buyer", d)), d, await f.category("饮料")


def codes(page) -> list[str]:
    return [i.code for i in page.items]


async def test_only_visible_active_skus_are_listed(world):
    w = world
    page = await catalog.search(w["a1"], w["d1"], sort="code")
    assert codes(page) == ["DF-500", "LS-70", "NF-1500", "NF-550"]
    assert page.total == 4 and not page.has_more


async def test_restricted_product_is_seen_by_named_tier_or_dealer_only(world):
    w = world
    await visible_to(w["p_secret"], tier=w["t1"])
    await visible_to(w["p_secret"], dealer=w["d3"])
    assert "TG-01" in codes(await catalog.search(w["a1"], w["d1"], q="白酒"))
    assert "TG-01" in codes(await catalog.search(w["a3"], w["d3"], q="白酒"))
    assert codes(await catalog.search(w["a2"], w["d2"], q="白酒")) == []
    assert await catalog.find_sku(w["a2"], w["d2"], "TG-01") is None
    assert await catalog.items_by_ids(w["a2"], w["d2"], [w["secret"]["id"]]) == {}
    with pytest.raises(NotFound):
        await catalog.product_detail(w["a2"], w["d2"], w["p_secret"]["id"])
    with pytest.raises(NotFound):
        await catalog.toggle_favourite(w["a2"], w["d2"], w["secret"]["id"])
    detail = await catalog.product_detail(w["a3"], w["d3"], w["p_secret"]["id"])
    assert [s.code for s in detail.skus] == ["TG-01"]


async def test_a_dealer_user_cannot_browse_as_another_dealer(world):
    w = world
    with pytest.raises(NotFound):
        await catalog.search(w["a1"], w["d2"])


async def test_chinese_substring_search(world):
    w = world
    assert codes(await catalog.search(w["a1"], w["d1"], q="山泉", sort="code")) == [
        "NF-1500",
        "NF-550",
    ]
    assert codes(await catalog.search(w["a1"], w["d1"], q="茉莉")) == ["DF-500"]
    # the product name matches too ("树叶茶饮" is only in the product name)
    assert codes(await catalog.search(w["a1"], w["d1"], q="树叶茶饮")) == ["DF-500"]
    # every term must match
    assert codes(await catalog.search(w["a1"], w["d1"], q="山泉 1.5L")) == ["NF-1500"]
    assert codes(await catalog.search(w["a1"], w["d1"], q="汽水")) == []  # inactive product
    assert codes(await catalog.search(w["a1"], w["d1"], q="380ml")) == []  # inactive SKU


async def test_like_wildcards_in_input_are_literal(world):
    w = world
    assert codes(await catalog.search(w["a1"], w["d1"], q="%")) == []
    assert codes(await catalog.search(w["a1"], w["d1"], q="_")) == []
    assert codes(await catalog.search(w["a1"], w["d1"], q="NF_550")) == []
    assert codes(await catalog.search(w["a1"], w["d1"], q="NF-5")) == ["NF-550"]


async def test_code_and_barcode_search(world):
    w = world
    assert codes(await catalog.search(w["a1"], w["d1"], q="nf-550")) == ["NF-550"]
    assert codes(await catalog.search(w["a1"], w["d1"], q="NF-")) == ["NF-1500", "NF-550"]
    assert codes(await catalog.search(w["a1"], w["d1"], q="6921168509256")) == ["NF-550"]
    assert codes(await catalog.search(w["a1"], w["d1"], q="692116850")) == ["NF-550"]
    # an exact code is ranked first
    page = await catalog.search(w["a1"], w["d1"], q="NF-1500")
    assert codes(page)[0] == "NF-1500"


async def test_category_includes_descendants(world):
    w = world
    drinks = await catalog.search(w["a1"], w["d1"], category_id=w["drinks"]["id"], sort="code")
    assert codes(drinks) == ["DF-500", "NF-1500", "NF-550"]
    water = await catalog.search(w["a1"], w["d1"], category_id=w["water_cat"]["id"], sort="code")
    assert codes(water) == ["NF-1500", "NF-550"]
    snacks = await catalog.search(w["a1"], w["d1"], category_id=w["snacks"]["id"])
    assert codes(snacks) == ["LS-70"]
    both = await catalog.search(w["a1"], w["d1"], q="山泉", category_id=w["snacks"]["id"])
    assert codes(both) == []
    gone = await catalog.search(w["a1"], w["d1"], category_id=w["snacks"]["id"] + 1000)
    assert (codes(gone), gone.total) == ([], 0)
    past = await catalog.search(w["a1"], w["d1"], category_id=w["drinks"]["id"], page=5)
    assert (codes(past), past.total) == ([], 3)
    assert await catalog.category_subtree(w["water_cat"]["id"]) == sorted(
        [w["water_cat"]["id"], w["mineral"]["id"]]
    )
    # The catalog page hands over the categories it read for its menu: one statement, not two.
    rows = await catalog.category_rows()
    with QueryCounter(Sku._meta.db) as handed:
        drinks = await catalog.search(
            w["a1"], w["d1"], category_id=w["drinks"]["id"], sort="code", categories=rows
        )
    with QueryCounter(Sku._meta.db) as alone:
        await catalog.search(w["a1"], w["d1"], category_id=w["drinks"]["id"], sort="code")
    assert codes(drinks) == ["DF-500", "NF-1500", "NF-550"]
    assert (handed.count, alone.count) == (1, 2)


async def test_category_tree(world):
    tree = await catalog.category_tree()
    names = {n["name"]: n for n in tree}
    assert set(names) == {"饮料", "零食"}
    assert names["饮料"]["children"][0]["name"] == "饮用水"
    assert names["饮料"]["children"][0]["children"][0]["name"] == "矿泉水"


async def test_in_stock_filter_and_availability(world):
    w = world
    page = await catalog.search(w["a1"], w["d1"], in_stock=True, sort="code")
    assert codes(page) == ["DF-500", "NF-550"]
    items = {i.code: i for i in (await catalog.search(w["a1"], w["d1"], sort="code")).items}
    assert (items["NF-550"].availability, items["NF-550"].available_qty) == ("low", 30)
    assert (items["NF-1500"].availability, items["NF-1500"].available_qty) == ("out", 0)
    assert (items["DF-500"].availability, items["DF-500"].available_qty) == ("in_stock", 480)
    assert items["LS-70"].availability == "out"  # no stock row at all


async def test_stock_in_an_inactive_warehouse_does_not_count(world):
    w = world
    closed = await f.warehouse()
    await f.stock(w["chips"], closed, on_hand=100)
    from portal.tables import Warehouse

    await Warehouse.update({Warehouse.active: False}).where(Warehouse.id == closed["id"])
    assert codes(await catalog.search(w["a1"], w["d1"], q="乐事", in_stock=True)) == []


def test_availability_values():
    assert availability(0, 0) == "out"
    assert availability(-3, 10) == "out"
    assert availability(1, 0) == "in_stock"
    assert availability(9, 10) == "low"
    assert availability(10, 10) == "in_stock"


async def test_favourites_toggle_and_filter(world):
    w = world
    assert await catalog.toggle_favourite(w["a1"], w["d1"], w["tea"]["id"]) is True
    assert await catalog.toggle_favourite(w["a1"], w["d1"], w["chips"]["id"]) is True
    assert await catalog.toggle_favourite(w["a1"], w["d1"], w["chips"]["id"]) is False
    page = await catalog.search(w["a1"], w["d1"], favourites=True)
    assert codes(page) == ["DF-500"] and page.items[0].favourite
    # favourites belong to the dealer, not to everyone
    assert codes(await catalog.search(w["a2"], w["d2"], favourites=True)) == []
    other = await catalog.search(w["a2"], w["d2"], q="茉莉")
    assert not other.items[0].favourite
    with pytest.raises(NotFound):
        await catalog.toggle_favourite(w["a1"], w["d1"], w["gone"]["id"])
    with pytest.raises(NotFound):
        await catalog.toggle_favourite(w["a1"], w["d1"], 999999)


async def test_pagination_and_has_more(db):
    t = await f.tier()
    d = await f.dealer(t)
    a = f.actor(await f.user("dealer_buyer", d))
    cat = await f.category("调味品")
    p = await product("海天酱油", cat)
    for i in range(25):
        await f.sku(code=f"HT-{i:03d}", name=f"海天酱油 {i:03d}", product=p)
    first = await catalog.search(a, d, q="酱油", sort="code", per_page=10)
    assert (len(first.items), first.has_more, first.total) == (10, True, 25)
    third = await catalog.search(a, d, q="酱油", sort="code", page=3, per_page=10)
    assert (codes(third), third.has_more) == ([f"HT-{i:03d}" for i in range(20, 25)], False)
    beyond = await catalog.search(a, d, q="酱油", page=9, per_page=10)
    assert (beyond.items, beyond.has_more, beyond.total) == ([], False, 25)
    seen = []
    for n in (1, 2, 3):
        seen += codes(await catalog.search(a, d, sort="name", page=n, per_page=10))
    assert len(seen) == len(set(seen)) == 25


async def test_search_runs_a_constant_number_of_queries(db):
    t = await f.tier()
    d = await f.dealer(t)
    a = f.actor(await f.user("dealer_buyer", d))
    wh = await f.warehouse()
    cat = await f.category("调味品")
    p = await product("海天酱油", cat)
    for i in range(30):
        s = await f.sku(code=f"HT-{i:03d}", name=f"海天酱油 {i:03d}", product=p)
        await f.stock(s, wh, on_hand=i)
        await f.tier_price(t, s, percent_bp=9000)
        await catalog.toggle_favourite(a, d, s["id"])
    # Pages with more after them (the total is counted) cost the same whatever their size:
    # the ranking with the total, then the rows with stock, prices, packs, breaks, favourites
    # and bought-before; and the first search after a change to the catalog reads its
    # version and who sees what by name (search_rankings).
    search_rankings.forget()
    with QueryCounter(Sku._meta.db) as small:
        await catalog.search(a, d, q="酱油", per_page=2)
    search_rankings.forget()
    with QueryCounter(Sku._meta.db) as large:
        page = await catalog.search(a, d, q="酱油", per_page=25)
    assert len(page.items) == 25 and page.has_more
    print("queries per search:", small.count)
    assert small.count == large.count == 3
    # Asked again, a search is ranked already: its rows only, on any of its first pages.
    for n in (1, 2):
        with QueryCounter(Sku._meta.db) as kept:
            again = await catalog.search(a, d, q="酱油", page=n, per_page=10)
        assert (kept.count, len(again.items), again.total) == (1, 10, 30)
    # A search counts its matches in the page's own query; so does the last page.
    search_rankings.forget()
    with QueryCounter(Sku._meta.db) as whole:
        page = await catalog.search(a, d, q="酱油", per_page=30)
    assert (len(page.items), page.total, page.total_exact) == (30, 30, True)
    assert whole.count == small.count
    # Browsing without a search is kept the same way: its order with the count (capped),
    # then the rows; asked again (here for a longer page), the rows alone.
    with QueryCounter(Sku._meta.db) as browse_more:
        page = await catalog.search(a, d, per_page=10)
    assert (page.total, page.has_more) == (30, True)
    with QueryCounter(Sku._meta.db) as browse_last:
        page = await catalog.search(a, d, per_page=30)
    assert (page.total, page.has_more) == (30, False)
    assert (browse_more.count, browse_last.count) == (2, 1)
    # A listing that is never kept (by price) counts and brings the dealer's last purchases
    # in the page's own statement, after reading the promotions that take part in a price.
    with QueryCounter(Sku._meta.db) as by_price:
        page = await catalog.search(a, d, sort="price_asc", per_page=10)
    assert (by_price.count, page.total, page.has_more) == (2, 30, True)
    # Past the last page nothing comes back with the rows: the total is counted apart.
    with QueryCounter(Sku._meta.db) as beyond:
        page = await catalog.search(a, d, page=5, per_page=10)
    assert (page.items, page.total, page.total_exact, page.has_more) == ([], 30, True, False)
    assert beyond.count == 2


async def test_sorts(world):
    w = world
    by_name = codes(await catalog.search(w["a1"], w["d1"], sort="name"))
    assert by_name == ["DF-500", "LS-70", "NF-1500", "NF-550"]  # 东 < 乐 < 农夫山泉 1 < 5
    asc = await catalog.search(w["a1"], w["d1"], sort="price_asc")
    # d1 pays 180 for NF-550 (tier), the rest at list price
    assert [i.quote.unit_price_fen for i in asc.items] == [180, 350, 500, 650]
    desc = await catalog.search(w["a1"], w["d1"], sort="price_desc")
    assert codes(desc) == list(reversed(codes(asc)))
    # dealer 2: 95 % of 200 = 190 for NF-550, contract 600 for LS-70
    asc2 = await catalog.search(w["a2"], w["d2"], sort="price_asc")
    assert [i.quote.unit_price_fen for i in asc2.items] == [190, 350, 500, 600]
    assert (await catalog.search(w["a1"], w["d1"], sort="bogus")).total == 4


async def test_sorting_by_price_counts_the_percentage_off_in_force(world):
    w = world
    today = promotions.today()
    admin = f.actor(await f.user("admin"))
    for name, bp, target in (
        ("饮用水五折", 5000, {"category_id": w["water_cat"]["id"]}),  # its sub-category too
        ("薯片七折", 3000, {"sku_code": "LS-70"}),
        ("全场九五折", 500, {}),  # every SKU: the better one above wins where it applies
    ):
        await promotions.create(
            admin,
            PromoData(
                name=name,
                kind=promotions.PERCENT_OFF,
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=1),
                percent_bp=bp,
                **target,
            ),
        )
    asc = await catalog.search(w["a1"], w["d1"], sort="price_asc")
    # 180 and 350 at half, 650 at 70 %, 500 at 95 %
    assert [i.quote.unit_price_fen for i in asc.items] == [90, 175, 455, 475]
    desc = await catalog.search(w["a1"], w["d1"], sort="price_desc")
    assert codes(desc) == list(reversed(codes(asc)))
    found = await catalog.search(w["a1"], w["d1"], q="农夫", sort="price_desc")
    assert codes(found) == ["NF-1500", "NF-550"]


async def test_items_carry_the_dealers_price_and_first_quantity(world):
    w = world
    items = await catalog.items_by_ids(
        w["a1"], w["d1"], [w["water"]["id"], w["tea"]["id"], w["gone"]["id"], w["retired"]["id"]]
    )
    assert set(items) == {w["water"]["id"], w["tea"]["id"]}
    water = items[w["water"]["id"]]
    assert (water.quote.unit_price_fen, water.quote.rule) == (180, RULE_TIER)
    assert (water.pack_name, water.pack_factor, water.unit) == ("箱", 24, "瓶")
    assert water.quote.next_break.min_qty == 240
    assert water.quote_for(240).rule == RULE_VOLUME
    tea = items[w["tea"]["id"]]
    assert (tea.moq, tea.order_multiple, tea.first_qty) == (10, 6, 12)
    priced = await catalog.items_by_ids(
        w["a1"], w["d1"], [w["water"]["id"]], quantities={w["water"]["id"]: 240}
    )
    assert priced[w["water"]["id"]].quote.unit_price_fen == 170
    chips = await catalog.items_by_ids(w["a2"], w["d2"], [w["chips"]["id"]])
    assert chips[w["chips"]["id"]].quote.rule == RULE_CONTRACT


async def test_bought_before_is_the_latest_real_purchase(world):
    w = world
    now = datetime.now(UTC)
    await past_order(
        w["d1"], w["u1"], [(w["water"], 48, 180), (w["tea"], 12, 450)], at=now - timedelta(days=10)
    )
    await past_order(w["d1"], w["u1"], [(w["water"], 240, 170)], at=now - timedelta(days=2))
    await past_order(w["d1"], w["u1"], [(w["water"], 999, 100)], status="cancelled", at=now)
    buyer2 = await f.user("dealer_buyer", w["d2"])
    await past_order(w["d2"], buyer2, [(w["chips"], 5, 600)], at=now)
    items = {i.code: i for i in (await catalog.search(w["a1"], w["d1"])).items}
    water = items["NF-550"].bought_before
    assert (water.qty, water.unit_price_fen) == (240, 170)
    assert abs(water.at - (now - timedelta(days=2))) < timedelta(seconds=1)
    assert items["DF-500"].bought_before.qty == 12
    assert items["LS-70"].bought_before is None  # another dealer's order
    # A listing brings it in its own statement; a search and items_by_ids ask apart: the
    # same answer.
    searched = await catalog.search(w["a1"], w["d1"], q="NF-550")
    assert searched.items[0].bought_before == water
    alone = await catalog.items_by_ids(w["a1"], w["d1"], [w["water"]["id"], w["chips"]["id"]])
    assert alone[w["water"]["id"]].bought_before == water
    assert alone[w["chips"]["id"]].bought_before is None


async def test_find_sku_by_code_or_barcode(world):
    w = world
    assert (await catalog.find_sku(w["a1"], w["d1"], "NF-550")).sku_id == w["water"]["id"]
    assert (await catalog.find_sku(w["a1"], w["d1"], " nf-550 ")).sku_id == w["water"]["id"]
    assert (await catalog.find_sku(w["a1"], w["d1"], "6921168509256")).code == "NF-550"
    assert await catalog.find_sku(w["a1"], w["d1"], "NF-55") is None  # exact only
    assert await catalog.find_sku(w["a1"], w["d1"], "QS-01") is None  # inactive product
    assert await catalog.find_sku(w["a1"], w["d1"], "NF-380") is None  # inactive SKU
    assert await catalog.find_sku(w["a1"], w["d1"], "") is None
    found = await catalog.find_skus(w["a1"], w["d1"], ["NF-550", "DF-500", "nope", "ls-70"])
    assert {k: v.code for k, v in found.items()} == {
        "NF-550": "NF-550",
        "DF-500": "DF-500",
        "ls-70": "LS-70",
    }


async def test_product_detail_grid_breaks_and_packs(world):
    w = world
    p = await product("李宁运动袜", w["drinks"])
    for spec in ("M", "L"):
        for colour in ("黑", "白"):
            await f.sku(
                code=f"LN-{spec}-{colour}",
                name=f"李宁运动袜 {spec} {colour}",
                product=p,
                spec=spec,
                colour=colour,
                pack=("打", 12),
            )
    detail = await catalog.product_detail(w["a1"], w["d1"], p["id"])
    assert detail.product["name"] == "李宁运动袜" and detail.product["category_name"] == "饮料"
    assert sorted(detail.specs) == ["L", "M"] and sorted(detail.colours) == ["白", "黑"]
    assert detail.grid[("M", "白")].code == "LN-M-白"
    assert all(v == [("打", 12)] for v in detail.packs.values())

    water = await catalog.product_detail(w["a1"], w["d1"], w["p_water"]["id"])
    assert [s.code for s in water.skus] == ["NF-1500", "NF-550"]  # not the inactive NF-380
    assert water.breaks[w["water"]["id"]] == [(240, 170)]
    assert water.breaks[w["water_big"]["id"]] == []
    with pytest.raises(NotFound):
        await catalog.product_detail(w["a1"], w["d1"], w["p_gone"]["id"])
    with pytest.raises(NotFound):
        await catalog.product_detail(w["a1"], w["d1"], 999999)


async def test_a_rep_sees_the_dealers_catalog_at_the_dealers_prices(world):
    w = world
    rep = f.actor(await f.user("sales_rep"))
    await f.assign({"id": rep.user_id}, w["d2"])
    items = {i.code: i for i in (await catalog.search(rep, w["d2"])).items}
    assert items["NF-550"].quote.unit_price_fen == 190  # 95 % of 200 for 二级经销商
    assert items["LS-70"].quote.rule == RULE_CONTRACT


# --- the index-friendly search paths (one subquery per column, issue #3) ----------------------


async def test_search_by_exact_barcode_and_barcode_prefix_only(world):
    w = world
    page = await catalog.search(w["a1"], w["d1"], q="6921168509256")
    assert (codes(page), page.total, page.total_exact, page.has_more) == (
        ["NF-550"],
        1,
        True,
        False,
    )
    # A barcode matches from its start, never in the middle.
    assert codes(await catalog.search(w["a1"], w["d1"], q="1168509256")) == []
    # A scanned prefix of eight digits or more still finds it.
    assert codes(await catalog.search(w["a1"], w["d1"], q="69211685")) == ["NF-550"]


async def test_a_long_number_searches_names_as_text_and_barcodes_by_prefix(shop):
    a, d, cat = shop
    p = await product("礼盒 20261125", cat, brand="品牌 20261125")
    await f.sku(code="GB-1", name="礼盒 20261125 装", product=p, barcode="6900000000001")
    await f.sku(code="GB-2", name="礼盒", product=p, barcode="6900000000002")
    # A number is text like any other in names (the SKU's, its product's, the brand), and a
    # prefix of a barcode.
    assert codes(await catalog.search(a, d, q="20261125", sort="code")) == ["GB-1", "GB-2"]
    assert codes(await catalog.search(a, d, q="2026112", sort="code")) == ["GB-1", "GB-2"]
    assert codes(await catalog.search(a, d, q="125 装")) == ["GB-1"]
    assert codes(await catalog.search(a, d, q="690000000000")) == ["GB-1", "GB-2"]
    assert codes(await catalog.search(a, d, q="6900000000002")) == ["GB-2"]
    assert codes(await catalog.search(a, d, q="00000000002")) == []


async def test_search_follows_renames_of_products_skus_and_brands(shop):
    """The names a search matches are kept by the database (sku.search_text and its
    triggers), whoever writes them: here plain table updates, as an import would."""
    a, d, cat = shop
    tea = await product("冰红茶", cat, brand="茶韵")
    water = await product("矿泉水", cat, brand="润川")
    await f.sku(code="T-1", name="冰红茶 500ml", product=tea)
    moved = await f.sku(code="T-2", name="原味 1L", product=tea)

    async def found(q: str) -> list[str]:
        return codes(await catalog.search(a, d, q=q, sort="code"))

    assert await found("冰红茶") == ["T-1", "T-2"]  # T-2 by its product's name
    assert await found("茶韵") == ["T-1", "T-2"]
    await Product.update({Product.name: "柠檬红茶", Product.brand: "新茶"}).where(
        Product.id == tea["id"]
    )
    assert await found("冰红茶") == ["T-1"]  # still in the SKU's own name
    assert await found("柠檬红茶") == await found("新茶") == ["T-1", "T-2"]
    assert await found("茶韵") == []
    await Sku.update({Sku.product: water["id"]}).where(Sku.id == moved["id"])
    assert await found("矿泉水") == await found("润川") == ["T-2"]
    await Sku.update({Sku.name: "冰红茶 限定"}).where(Sku.id == moved["id"])
    assert await found("限定") == ["T-2"]
    assert await found("冰红茶") == ["T-1", "T-2"]


async def test_search_by_code_prefix_in_any_letter_case(world):
    w = world
    assert codes(await catalog.search(w["a1"], w["d1"], q="df-")) == ["DF-500"]
    assert codes(await catalog.search(w["a1"], w["d1"], q="Nf-15")) == ["NF-1500"]
    # The code matches from its start only ("500" is inside DF-500 and NF-1500).
    assert codes(await catalog.search(w["a1"], w["d1"], q="F-500")) == []


async def test_search_chinese_substring_of_the_sku_name_only(world):
    w = world
    # "茉莉花" is in the SKU name, not in the product name or brand.
    assert codes(await catalog.search(w["a1"], w["d1"], q="茉莉花")) == ["DF-500"]
    # "天然水" is in the product name only (农夫山泉饮用天然水): every visible SKU of it.
    assert codes(await catalog.search(w["a1"], w["d1"], q="天然水", sort="code")) == [
        "NF-1500",
        "NF-550",
    ]


async def test_search_by_brand_and_terms_across_columns(shop):
    a, d, cat = shop
    p = await product("冰红茶", cat, brand="康师傅")
    other = await product("冰红茶", cat, brand="统一")
    await f.sku(code="KSF-1", name="冰红茶 500ml", product=p, barcode="6920000000001")
    await f.sku(code="TY-1", name="冰红茶 500ml", product=other, barcode="6920000000002")
    await f.sku(code="TY-2", name="冰红茶 1L", product=other, barcode="6920000000003")
    assert codes(await catalog.search(a, d, q="康师傅")) == ["KSF-1"]
    # Every term must match, each in any column: brand + SKU name, brand + code prefix.
    assert codes(await catalog.search(a, d, q="统一 1L")) == ["TY-2"]
    assert codes(await catalog.search(a, d, q="统一 ty-1")) == ["TY-1"]
    assert codes(await catalog.search(a, d, q="康师傅 69200000000")) == ["KSF-1"]
    assert codes(await catalog.search(a, d, q="康师傅 TY")) == []
    # Typed without a space, as a Chinese keyboard does: the name and the spec are two words.
    assert codes(await catalog.search(a, d, q="冰红茶1L")) == ["TY-2"]
    assert codes(await catalog.search(a, d, q="1l冰红茶")) == ["TY-2"]
    assert codes(await catalog.search(a, d, q="统一冰红茶500ml", sort="code")) == ["TY-1"]


async def test_relevance_puts_the_exact_code_first(world):
    w = world
    page = await catalog.search(w["a1"], w["d1"], q="NF-1500")
    assert codes(page)[0] == "NF-1500"
    # Exact barcode, then code prefix, then name matches: the order is unchanged.
    both = await catalog.search(w["a1"], w["d1"], q="NF")
    assert codes(both) == ["NF-1500", "NF-550"]


async def test_total_is_exact_up_to_the_cap_then_a_lower_bound(db, monkeypatch):
    t = await f.tier()
    d = await f.dealer(t)
    a = f.actor(await f.user("dealer_buyer", d))
    cat = await f.category("调味品")
    p = await product("海天酱油", cat)
    for i in range(12):
        await f.sku(code=f"HT-{i:03d}", name=f"海天酱油 {i:03d}", product=p)
    monkeypatch.setattr(catalog, "COUNT_CAP", 5)
    first = await catalog.search(a, d, sort="code", per_page=3)
    assert (first.total, first.total_exact, first.has_more) == (5, False, True)
    # Past the cap the count reaches at least to the end of the page asked for.
    third = await catalog.search(a, d, sort="code", page=3, per_page=3)
    assert (third.total, third.total_exact) == (10, False)
    # The last page knows its total exactly, without counting.
    last = await catalog.search(a, d, sort="code", page=4, per_page=3)
    assert (codes(last), last.total, last.total_exact) == (
        ["HT-009", "HT-010", "HT-011"],
        12,
        True,
    )
    monkeypatch.setattr(catalog, "COUNT_CAP", 1000)
    assert (await catalog.search(a, d, per_page=3)).total == 12


async def test_items_by_ids_prices_stock_and_favourites_in_two_queries(world):
    w = world
    await catalog.toggle_favourite(w["a1"], w["d1"], w["tea"]["id"])
    ids = [w["water"]["id"], w["water_big"]["id"], w["tea"]["id"], w["chips"]["id"]]
    with QueryCounter(Sku._meta.db) as counter:
        items = await catalog.items_by_ids(w["a1"], w["d1"], ids)
    # The rows with stock, prices, packs, breaks and favourites; then bought-before.
    assert counter.count == 2
    assert items[w["water"]["id"]].quote.unit_price_fen == 180
    assert items[w["water"]["id"]].available_qty == 30
    assert items[w["water_big"]["id"]].availability == "out"
    assert items[w["tea"]["id"]].favourite and not items[w["chips"]["id"]].favourite
    assert items[w["tea"]["id"]].available_qty == 480


async def test_page_rows_carry_every_pack_and_break_as_pricing_reads_them(db):
    """The page query brings packs and breaks along (JSON); they match pricing's own lists."""
    from portal.domain import pricing
    from portal.tables import PackUnit

    t = await f.tier(name='一级 "A" 经销商')
    other = await f.tier(name="二级经销商", rank=2)
    d = await f.dealer(t)
    a = f.actor(await f.user("dealer_buyer", d))
    p = await product("海天酱油", await f.category("调味品"))
    many = await f.sku(code="HT-1", name="海天酱油 500ml", product=p, pack=("箱", 24))
    await PackUnit(sku=many["id"], name='中包 "6"', factor=6).save()
    await PackUnit(sku=many["id"], name="托", factor=480).save()
    for min_qty, price in ((240, 170), (48, 185), (960, 160)):
        await f.volume_break(t, many, min_qty, price)
    await f.volume_break(other, many, 24, 100)  # another tier's break never applies
    bare = await f.sku(code="HT-2", name="海天酱油 1L", product=p, pack=None)
    with QueryCounter(Sku._meta.db) as counter:
        page = await catalog.search(a, d, q="海天")
    assert counter.count == 3  # the ranking, the catalog's version (new SKUs), the rows
    items = {i.sku_id: i for i in page.items}
    expected = await pricing.price_inputs(d, [many["id"], bare["id"]])
    for sku_id in (many["id"], bare["id"]):
        assert items[sku_id].price_inputs == expected[sku_id]
    item = items[many["id"]]
    assert item.packs == (("托", 480), ("箱", 24), ('中包 "6"', 6))
    assert (item.pack_name, item.pack_factor) == ("托", 480)
    assert item.price_inputs.breaks == ((48, 185), (240, 170), (960, 160))
    assert item.price_inputs.tier_name == '一级 "A" 经销商'
    assert item.quote_for(240).unit_price_fen == 170
    assert (items[bare["id"]].packs, items[bare["id"]].price_inputs.breaks) == ((), ())


async def test_a_two_character_term_matches_as_a_substring_on_both_engines(db):
    """On PostgreSQL a two-character term is found by the bigram index (search_bigrams),
    not the trigram one; what it matches is the same as a substring match."""
    t = await f.tier()
    d = await f.dealer(t)
    a = f.actor(await f.user("dealer_buyer", d))
    cat = await f.category("饮料")
    tea = await product("茶饮", cat, brand="Bh 饮品")
    names = ["冰红茶 500ml", "茶红 500ml", "红 茶 1L", "b_h 测试", "bxh 测试", "纯净水"]
    made = {n: await f.sku(code=f"T-{i}", name=n, product=tea) for i, n in enumerate(names)}
    plain = await product("矿泉水", cat)
    water = await f.sku(code="W-1", name="b%h 矿泉水", product=plain)

    async def found(q: str) -> set[str]:
        return {i.name for i in (await catalog.search(a, d, q=q, per_page=50)).items}

    # Spaces in names do not count (Chinese is typed run together): 红 茶 has 红茶.
    assert await found("红茶") == {"冰红茶 500ml", "红 茶 1L"}
    assert await found("冰红茶500") == {"冰红茶 500ml"}
    assert await found("_h") == {"b_h 测试"}  # a LIKE wildcard is a plain character
    assert await found("%h") == {water["name"]}
    assert await found("bh") == set(names)  # the brand "Bh 饮品", case aside
    assert await found("饮品") == set(names)
    assert await found("水 矿泉") == {water["name"]}
    assert made["纯净水"]["name"] in await found("净水")


async def test_a_search_follows_every_change_to_a_product_at_once(db):
    """A search reads the SKU table alone: the product's name and whether it is listed to
    all are kept on the SKU row by triggers. Renaming, moving, deactivating and restricting
    show in the next search; a restricted product stays visible to the tier it names."""
    t, other = await f.tier(), await f.tier(name="二级", rank=2)
    d, d2 = await f.dealer(t), await f.dealer(other)
    a, a2 = f.actor(await f.user("dealer_buyer", d)), f.actor(await f.user("dealer_buyer", d2))
    cat = await f.category("饮料")
    tea = await product("冰红茶", cat)
    water = await product("矿泉水", cat)
    s1 = await f.sku(code="T-1", name="柠檬味 500ml", product=tea)
    await f.sku(code="W-1", name="原味 550ml", product=water)

    async def found(actor, q: str) -> list[str]:
        dealer = d if actor is a else d2
        return codes(await catalog.search(actor, dealer, q=q, per_page=50))

    assert await found(a, "冰红茶") == ["T-1"]  # by its product's name
    await Product.update({Product.name: "绿茶"}).where(Product.id == tea["id"])
    assert await found(a, "冰红茶") == [] and await found(a, "绿茶") == ["T-1"]
    # Relevance: a product name that starts with the query ranks before one that contains it.
    await Product.update({Product.name: "无糖矿泉水"}).where(Product.id == water["id"])
    await Sku.update({Sku.product: water["id"]}).where(Sku.id == s1["id"])
    assert await found(a, "矿泉水") == ["T-1", "W-1"]  # both now "无糖矿泉水": by code
    await Sku.update({Sku.product: tea["id"]}).where(Sku.id == s1["id"])
    await Product.update({Product.name: "无糖矿泉水 大瓶"}).where(Product.id == tea["id"])
    await Product.update({Product.name: "矿泉水 原味"}).where(Product.id == water["id"])
    assert await found(a, "矿泉水") == ["W-1", "T-1"]  # "矿泉水 原味" starts with the query
    await Product.update({Product.active: False}).where(Product.id == tea["id"])
    assert await found(a, "矿泉水") == ["W-1"]
    await Product.update({Product.active: True, Product.visibility: "tier"}).where(
        Product.id == tea["id"]
    )
    assert await found(a, "矿泉水") == ["W-1"] and await found(a2, "矿泉水") == ["W-1"]
    await visible_to(tea, tier=other)
    assert await found(a, "矿泉水") == ["W-1"] and await found(a2, "矿泉水") == ["W-1", "T-1"]
    await visible_to(tea, dealer=d)
    assert await found(a, "矿泉水") == ["W-1", "T-1"]
    rows = await Sku.select(Sku.product_key, Sku.listed).where(Sku.id == s1["id"])
    assert rows[0]["product_key"] == "无糖矿泉水 大瓶" and not rows[0]["listed"]


async def test_a_name_typed_without_its_spaces_is_found_and_ranked(db):
    t = await f.tier()
    d = await f.dealer(t)
    a = f.actor(await f.user("dealer_buyer", d))
    cat = await f.category("饮料")
    tea = await product("冰红茶", cat, brand="康师傅")
    low = await f.sku(code="KS-1", name="康师傅 冰红茶 低糖 500ml", product=tea)
    await f.sku(code="KS-2", name="冰红茶 1L", product=tea)  # the brand only on the product
    other = await product("绿茶", cat, brand="统一")
    await f.sku(code="TY-1", name="统一 绿茶 500ml", product=other)

    async def found(q: str) -> list[str]:
        return [i.code for i in (await catalog.search(a, d, q=q, per_page=50)).items]

    assert sorted(await found("康师傅冰红茶")) == ["KS-1", "KS-2"]
    assert await found("冰红茶低糖") == ["KS-1"]
    assert await found("冰红茶 低糖") == ["KS-1"]  # terms with spaces still match apart
    assert await found("统一绿茶") == ["TY-1"]
    # Renaming keeps the text right (the triggers): the new name is found, run together.
    await Sku.update({Sku.name: "康师傅 冰红茶 无糖 500ml"}).where(Sku.id == low["id"])
    assert await found("冰红茶无糖") == ["KS-1"] and await found("冰红茶低糖") == []
