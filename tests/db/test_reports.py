"""Reports on both engines: what counts as a sale (status, Shanghai date), each grouping's
sums, the category roll-up, the overview and credit exposure, and scope by role."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.domain import dealers, ledger, orders, promotions, reports, returns, shipments
from portal.domain.errors import Forbidden, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import Dealer, Order, OrderLine, Product
from tests import factories as f
from tests.db.test_shipments import NOW as SHIPPED
from tests.db.test_shipments import fulfil_world
from tests.db.test_shipments_returns import shipped_order

# 2026-11-10 10:00 in Shanghai.
DAY = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
NOVEMBER = reports.Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
async def shop(db):
    wh = await f.warehouse()
    tier = await f.tier()
    drinks = await f.category("饮料")
    water = await f.category("水", drinks)
    tea = await f.category("茶", drinks)
    snacks = await f.category("零食")
    skus = {}
    for code, cat, price in (("W1", water, 200), ("T1", tea, 500), ("S1", snacks, 1000)):
        product = await f._insert(Product, name=f"商品{code}", category=cat["id"])
        skus[code] = await f.sku(
            code=code, name=f"商品{code}", base_price_fen=price, product=product, pack=None
        )
        await f.stock(skus[code], wh, 10_000)
    manager = await f.user("sales_manager")
    rep_a = await f.user("sales_rep", manager=manager)
    rep_b = await f.user("sales_rep")  # another manager's rep (none here)
    east = await f.dealer(tier, name="东方商行", region="华东", default_warehouse=wh)
    south = await f.dealer(tier, name="南方商行", region="华南", default_warehouse=wh)
    bare = await f.dealer(tier, name="无区商行", region="", default_warehouse=wh)
    await f.assign(rep_a, east)
    await f.assign(rep_b, south)
    buyers = {d["id"]: f.actor(await f.user("dealer_buyer", d)) for d in (east, south, bare)}
    return {
        "skus": skus,
        "east": east,
        "south": south,
        "bare": bare,
        "buyers": buyers,
        "manager": f.actor(manager),
        "rep_a": f.actor(rep_a),
        "rep_b": f.actor(rep_b),
        "admin": f.actor(await f.user("admin")),
        "finance": f.actor(await f.user("finance")),
        "drinks": drinks,
        "snacks": snacks,
    }


async def place(shop, dealer, lines, at=DAY, status=None, key=None) -> dict:
    result = await orders.submit_order(
        shop["buyers"][dealer["id"]],
        dealer["id"],
        [LineRequest(qty=q, sku_code=c) for c, q in lines],
        idempotency_key=key or f"k{at.timestamp()}{dealer['id']}{lines}",
        now=at,
    )
    if status:
        await Order.update({Order.status: status}).where(Order.id == result.order.id)
    return await Order.select().where(Order.id == result.order.id).first()


async def test_sales_count_orders_that_went_through_by_shanghai_date(shop):
    east, south = shop["east"], shop["south"]
    a = await place(shop, east, [("W1", 10), ("T1", 2)])  # ¥20 + ¥10, approved
    b = await place(shop, east, [("S1", 3)], status="shipped", key="b")  # ¥30
    c = await place(shop, south, [("W1", 5)], status="completed", key="c")  # ¥10
    await place(shop, south, [("W1", 7)], status="pending_approval", key="p")  # not a sale
    await place(shop, south, [("W1", 8)], status="cancelled", key="x")  # not a sale
    await place(shop, east, [("W1", 9)], status="rejected", key="r")  # not a sale
    # 23:30 on 30 November in Shanghai is in November; 00:30 on 1 December is not.
    late = await place(shop, east, [("T1", 1)], at=datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    await place(shop, east, [("T1", 4)], at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))

    admin = shop["admin"]
    by_dealer = await reports.sales(admin, NOVEMBER, "dealer")
    assert [(r.label, r.detail, r.orders, r.amount_fen) for r in by_dealer] == [
        ("东方商行", east["code"], 3, a["total_fen"] + b["total_fen"] + late["total_fen"]),
        ("南方商行", south["code"], 1, c["total_fen"]),
    ]
    assert by_dealer[0].share == 1.0 and 0 < by_dealer[1].share < 1

    by_day = await reports.sales(admin, NOVEMBER, "day")
    assert len(by_day) == 30 and by_day[0].key == "2026-11-01"
    days = {r.key: (r.orders, r.amount_fen) for r in by_day}
    assert days["2026-11-10"] == (3, a["total_fen"] + b["total_fen"] + c["total_fen"])
    assert days["2026-11-30"] == (1, late["total_fen"])
    assert days["2026-11-11"] == (0, 0)
    december = reports.Period(date(2026, 12, 1), date(2026, 12, 31))
    assert sum(r.orders for r in await reports.sales(admin, december, "day")) == 1

    by_month = await reports.sales(
        admin, reports.Period(date(2026, 10, 1), date(2026, 12, 31)), "month"
    )
    assert [(r.key, r.orders) for r in by_month] == [("2026-10", 0), ("2026-11", 4), ("2026-12", 1)]


async def test_products_categories_regions_and_reps(shop):
    east, south, bare = shop["east"], shop["south"], shop["bare"]
    await place(shop, east, [("W1", 10), ("T1", 2), ("S1", 1)])  # drinks ¥30, snacks ¥10
    await place(shop, south, [("W1", 5)], key="s")  # drinks ¥10
    await place(shop, bare, [("S1", 2)], key="n")  # snacks ¥20
    admin = shop["admin"]

    products = {
        r.detail: (r.orders, r.qty, r.unit, r.amount_fen)
        for r in await reports.sales(admin, NOVEMBER, "product")
    }
    assert products == {
        "W1": (2, 15, "瓶", 3000),
        "T1": (1, 2, "瓶", 1000),
        "S1": (2, 3, "瓶", 3000),
    }

    # Water and tea roll up into drinks, and the first order counts once there.
    categories = [
        (r.label, r.orders, r.amount_fen) for r in await reports.sales(admin, NOVEMBER, "category")
    ]
    assert categories == [("饮料", 2, 4000), ("零食", 2, 3000)]

    regions = [(r.label, r.amount_fen) for r in await reports.sales(admin, NOVEMBER, "region")]
    assert regions == [("华东", 4000), ("", 2000), ("华南", 1000)]

    reps = {r.label: (r.orders, r.amount_fen) for r in await reports.sales(admin, NOVEMBER, "rep")}
    assert reps == {
        shop["rep_a"].name: (1, 4000),
        "": (1, 2000),
        shop["rep_b"].name: (1, 1000),
    }


async def test_sales_by_rep_stay_with_the_rep_who_looked_after_the_dealer(shop):
    east, admin = shop["east"], shop["admin"]
    await place(shop, east, [("W1", 10)])  # ¥20 while rep A looks after east
    rep_c = await f.user("sales_rep")
    await dealers.reassign(admin, east["id"], rep_c["id"], now=DAY + timedelta(hours=1))
    await place(shop, east, [("T1", 1)], at=DAY + timedelta(days=1))  # ¥5 under rep C
    reps = {r.label: (r.orders, r.amount_fen) for r in await reports.sales(admin, NOVEMBER, "rep")}
    assert reps[shop["rep_a"].name] == (1, 2000)
    assert reps[rep_c["display_name"]] == (1, 500)


async def test_products_and_categories_count_what_was_bought_not_the_gifts(shop):
    east = shop["east"]
    start, end = date(2026, 11, 1), date(2026, 11, 30)
    await promotions.create(
        shop["admin"],
        promotions.PromoData(
            name="买十赠一",
            kind=promotions.BUY_GET,
            starts_on=start,
            ends_on=end,
            sku_code="W1",
            buy_qty=10,
            gift_sku_code="S1",
            gift_qty=1,
        ),
        now=DAY,
    )
    order = await place(shop, east, [("W1", 20)])  # ¥40.00 and 2 S1 free
    gifts = await OrderLine.count().where(
        (OrderLine.order == order["id"]) & (OrderLine.price_rule == "gift")
    )
    assert gifts == 1
    admin = shop["admin"]
    products = {
        r.detail: (r.orders, r.qty, r.amount_fen)
        for r in await reports.sales(admin, NOVEMBER, "product")
    }
    assert products == {"W1": (1, 20, 4000)}
    categories = [
        (r.label, r.orders, r.qty, r.amount_fen)
        for r in await reports.sales(admin, NOVEMBER, "category")
    ]
    assert categories == [("饮料", 1, 20, 4000)]


async def test_each_role_sees_its_own_dealers_and_dealers_see_no_reports(shop):
    await place(shop, shop["east"], [("W1", 10)])
    await place(shop, shop["south"], [("W1", 5)], key="s")

    async def dealers_seen(actor) -> set[str]:
        return {r.label for r in await reports.sales(actor, NOVEMBER, "dealer")}

    assert await dealers_seen(shop["admin"]) == {"东方商行", "南方商行"}
    assert await dealers_seen(shop["finance"]) == {"东方商行", "南方商行"}
    assert await dealers_seen(shop["manager"]) == {"东方商行"}  # their rep's dealer only
    assert await dealers_seen(shop["rep_a"]) == {"东方商行"}
    assert await dealers_seen(shop["rep_b"]) == {"南方商行"}
    lonely = f.actor(await f.user("sales_rep"))
    assert await dealers_seen(lonely) == set()
    assert (await reports.overview(lonely, NOVEMBER)).orders == 0
    for role in ("dealer_buyer", "dealer_admin", "warehouse"):
        who = f.actor(await f.user(role, shop["east"] if role.startswith("dealer") else None))
        with pytest.raises(Forbidden):
            await reports.sales(who, NOVEMBER, "dealer")
        with pytest.raises(Forbidden):
            await reports.overview(who, NOVEMBER)


async def test_overview_compares_periods_and_lists_what_waits(shop):
    east, south = shop["east"], shop["south"]
    a = await place(shop, east, [("W1", 10)])
    await place(shop, east, [("W1", 5)], at=DAY - timedelta(days=30), key="oct")
    p = await place(shop, south, [("T1", 2)], status="pending_approval", key="p")
    s = await place(shop, south, [("S1", 1)], status="partially_shipped", key="s")
    await Dealer.update({Dealer.credit_limit_fen: 1000}).where(Dealer.id == south["id"])
    o = await reports.overview(shop["admin"], NOVEMBER)
    assert (o.orders, o.amount_fen) == (2, a["total_fen"] + s["total_fen"])
    assert (o.previous_orders, o.previous_amount_fen) == (1, 1000)  # October
    assert o.change == pytest.approx((o.amount_fen - 1000) / 1000)
    assert o.average_fen == o.amount_fen // 2
    assert (o.waiting_orders, o.waiting_fen) == (1, p["total_fen"])
    assert o.to_ship_orders == 3  # approved (two) and partially shipped
    assert o.over_limit_dealers == 1
    top = o.exposures
    assert top[0].name == "南方商行" and top[0].used > 1
    assert top[0].exposure_fen == p["total_fen"] + s["total_fen"]


@pytest.mark.parametrize(
    ("start", "end", "preset", "expected"),
    [
        (None, None, None, (date(2026, 11, 1), date(2026, 11, 25))),
        (None, None, "last_month", (date(2026, 10, 1), date(2026, 10, 31))),
        (None, None, "last_30", (date(2026, 10, 27), date(2026, 11, 25))),
        (None, None, "this_year", (date(2026, 1, 1), date(2026, 11, 25))),
        (None, None, "nonsense", (date(2026, 11, 1), date(2026, 11, 25))),
        ("2026-02-01", "2026-02-28", "last_month", (date(2026, 2, 1), date(2026, 2, 28))),
    ],
)
def test_periods(start, end, preset, expected):
    period, _name = reports.parse_period(start, end, preset, today=date(2026, 11, 25))
    assert (period.start, period.end) == expected


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-02-30", "", "start"),
        ("tomorrow", "", "start"),
        ("2026-11-10", "2026-11-01", "end"),
        ("2020-01-01", "2026-11-01", "start"),
        ("=1+1", "", "start"),
    ],
)
def test_bad_periods_are_refused(start, end, field):
    with pytest.raises(ValidationFailed) as refused:
        reports.parse_period(start, end, None, today=date(2026, 11, 25))
    assert refused.value.errors[0].field == field


async def test_the_pages_top_rows_are_the_full_rankings_first_rows_ties_included(shop):
    """The reports page asks the database for each ranking's first rows and the number of
    groups; they must be the full ranking's first rows, in its order (amount, then name, by
    code point), whatever the grouping."""
    east, south, bare = shop["east"], shop["south"], shop["bare"]
    # Equal amounts (W1 ×5 = T1 ×2 = ¥10) so that the names decide, and a third dealer.
    await place(shop, east, [("W1", 5), ("S1", 1)], key="e1")
    await place(shop, south, [("T1", 2)], key="s1")
    await place(shop, bare, [("W1", 5)], key="b1")
    await place(shop, bare, [("T1", 2)], key="b2")
    admin = shop["admin"]
    groups = ("dealer", "product", "category", "region", "rep")
    full = {by: await reports.sales(admin, NOVEMBER, by) for by in groups}
    assert len(full["dealer"]) == 3 and len(full["product"]) == 3
    assert full["product"][0].amount_fen == full["product"][1].amount_fen  # a tie, by name
    for top in (1, 2, 10):
        board = await reports.dashboard(admin, NOVEMBER, groups, top=top)
        for by in groups:
            ranking = board.rankings[by]
            expected = full[by][:top]
            assert [(r.key, r.label, r.orders, r.amount_fen, r.qty) for r in ranking.rows] == [
                (r.key, r.label, r.orders, r.amount_fen, r.qty) for r in expected
            ], (by, top)
            assert [round(r.share, 6) for r in ranking.rows] == [
                round(r.share, 6) for r in expected
            ]
            assert ranking.total == len(full[by])


async def test_to_ship_is_what_the_orders_have_not_shipped_yet(shop):
    east = shop["east"]
    a = await place(shop, east, [("W1", 10), ("T1", 2)])  # ¥20 + ¥10, approved
    b = await place(shop, east, [("S1", 3)], key="b")  # ¥30, approved
    clerk = f.actor(await f.user("warehouse"))
    water = next(
        ln for ln in (await orders.get_order(shop["admin"], a["id"])).lines if ln.sku_code == "W1"
    )
    packed = await shipments.create_shipment(
        clerk, a["id"], warehouse_id=east["default_warehouse"], quantities={water.id: 4}, now=DAY
    )
    await shipments.ship(clerk, packed.shipment.id, now=DAY)
    # A parcel packed but not shipped is still to ship.
    [s1] = (await orders.get_order(shop["admin"], b["id"])).lines
    await shipments.create_shipment(
        clerk, b["id"], warehouse_id=east["default_warehouse"], quantities={s1.id: 1}, now=DAY
    )
    o = await reports.overview(shop["admin"], NOVEMBER)
    assert o.to_ship_orders == 2
    # 4 of the 10 bottles of water (¥8.00) went out: ¥22.00 of the first order is left.
    assert o.to_ship_fen == a["total_fen"] - 800 + b["total_fen"]


async def test_returns_credited_in_the_period_show_beside_the_sales(db):
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    o, line = await shipped_order(w)  # 10 × ¥2.00
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 4}, reason="破损", now=SHIPPED
    )
    await returns.decide_return(admin, rma.id, approve=True, now=SHIPPED)
    await returns.receive_return(
        w.clerk, rma.id, warehouse_id=w.wh1["id"], accepted={line["id"]: 3}, now=SHIPPED
    )
    # A credit note for something else is not a return.
    await ledger.record_credit_note(w.finance, w.dealer["id"], amount="1", note="补差", now=SHIPPED)
    day = ledger.local_day(SHIPPED)
    o_view = await reports.overview(admin, reports.Period(day.replace(day=1), day))
    assert (o_view.amount_fen, o_view.returns, o_view.returned_fen) == (2000, 1, 600)
    assert o_view.net_fen == 1400
    later = reports.Period(day + timedelta(days=1), day + timedelta(days=2))
    assert (await reports.overview(admin, later)).returns == 0
    stranger = f.actor(await f.user("sales_rep"))
    assert (await reports.overview(stranger, reports.Period(day, day))).returned_fen == 0
