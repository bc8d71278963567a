"""Ties decided by a rule, not by where rows lie: on PostgreSQL a query without ORDER BY reads
rows in heap order, and an UPDATEd row moves after the others. Each test puts the rows the
wrong way round on disk (or, for a grouping, lets PostgreSQL hash) and checks what a user
sees; both engines."""

from __future__ import annotations

from datetime import date

from portal.domain import accounts, orders, picking, promotions, reports, shipments, staff, visit
from portal.domain.quantities import LineRequest
from portal.tables import Dealer, Order, PackUnit
from tests import factories as f
from tests.db.test_orders import NOW, submit, world
from tests.db.test_promotions import an_admin, buy_get, percent_off, quote_of
from tests.db.test_shipments import approved_order, fulfil_world

NOVEMBER = reports.Period(date(2026, 11, 1), date(2026, 11, 30))  # NOW's month


async def test_equal_percent_offs_go_to_the_earliest_promotion(db):
    w = await world()
    admin = await an_admin()
    first = await percent_off(1000, by=admin, sku_code="A100", name="先到九折")
    await percent_off(1000, by=admin, sku_code="A100", name="后到九折")
    # Resaved, the first lies after the second: the in-force JSON column listed it last.
    await promotions.set_active(admin, first.id, True, now=NOW)
    assert (await quote_of(w, w.sku)).rule_params["promo_id"] == first.id
    line = (await submit(w, [LineRequest(qty=24, sku_code="A100")])).order.lines[0]
    assert line.price_rule_params["promo_id"] == first.id and "先到九折" in line.price_rule_label


async def test_a_login_that_is_a_username_and_another_users_phone_signs_in_the_username(db):
    await f.user("dealer_buyer", await f.dealer(), phone="13900000001")
    named = await f.user("sales_rep", username="13900000001")
    # The phone's owner lies first: the first row found signed in the wrong account.
    user = await accounts.authenticate("13900000001", f.PASSWORD, "10.0.0.1", now=NOW)
    assert user["id"] == named["id"]


async def test_a_promotion_saved_by_sku_code_takes_the_code_before_a_barcode(db):
    await f.sku(code="X1", barcode="C300")
    exact = await f.sku(code="C300")
    # The SKU whose barcode is C300 lies first: the first row found was taken.
    p = await buy_get("C300", 10, "C300", 1)
    assert p.sku_id == p.gift_sku_id == exact["id"]
    # Two SKUs with one barcode no longer exist (the unique index sku_barcode_unique).


async def test_open_orders_placed_at_the_same_moment_come_newest_first(db):
    w = await world()
    older = (await submit(w, [LineRequest(qty=24, sku_code="A100")], key="a")).order
    newer = (await submit(w, [LineRequest(qty=24, sku_code="A100")], key="b")).order
    # Same created_at; resaved, the older lies last: the order of ties was the disk's.
    await Order.update({Order.note: "改"}).where(Order.id == older.id)
    account = await visit.dealer_account(await an_admin(), w.dealer["id"])
    assert [o["id"] for o in account.open_orders] == [newer.id, older.id]


async def test_a_full_ranking_orders_ties_as_its_top_page_does(db):
    w = await world()
    for n in range(4):
        dealer = await f.dealer(w.tier, name="同名商行", default_warehouse=w.warehouse)
        buyer = f.actor(await f.user("dealer_buyer", dealer))
        line = [LineRequest(qty=24, sku_code="A100")]
        await orders.submit_order(buyer, None, line, idempotency_key=f"t{n}", now=NOW)
    admin = await an_admin()
    if db.engine_type == "postgres":  # with statistics, as autovacuum keeps them, it hashes
        await Order.raw("ANALYZE sales_order, dealer")
    # Tied on amount and name: the export listed them in hash order, the page by key.
    export = await reports.sales(admin, NOVEMBER, "dealer")
    page = (await reports.dashboard(admin, NOVEMBER, ("dealer",), top=10)).rankings["dealer"]
    assert [r.key for r in export] == [r.key for r in page.rows]
    assert [int(r.key) for r in export] == sorted(int(r.key) for r in export)


async def test_dealers_tied_on_credit_use_and_name_come_by_code(db):
    first, second = await f.dealer(), await f.dealer()
    # Renamed alike, the first last: it lies after the second, and the stable sort kept that.
    for d in (second, first):
        await Dealer.update({Dealer.name: "同名商行"}).where(Dealer.id == d["id"])
    found = await reports.exposures(await an_admin())
    assert [e.code for e in found] == [first["code"], second["code"]]


async def test_staff_with_the_same_name_are_listed_by_id(db):
    admin = await an_admin()
    first, second = await f.user("sales_manager"), await f.user("sales_manager")
    # Renamed alike, the first last: it lies after the second and was listed after it.
    for m in (second, first):
        await staff.update_staff(admin, m["id"], staff.StaffInput("王经理", "sales_manager"))
    assert [m["id"] for m in await staff.managers()] == [first["id"], second["id"]]
    listed = [s["id"] for s in await staff.list_staff(admin) if s["role"] == "sales_manager"]
    assert listed == [first["id"], second["id"]]


async def test_two_largest_packs_of_a_size_count_in_the_first_name(db):
    w = await fulfil_world()
    # 箱 (U+7BB1) lies before 件 (U+4EF6): the first row read at the largest factor was used.
    await PackUnit.insert(
        PackUnit(sku=w.sku["id"], name="箱", factor=12),
        PackUnit(sku=w.sku["id"], name="件", factor=12),
    )
    order = await approved_order(w, qty=30)
    plan = await shipments.shipment_plan(w.clerk, order["id"], w.wh1["id"])
    assert [(ln.pack_name, ln.pack_factor) for ln in plan.lines] == [("件", 12)]
    pick = await picking.pick_list(w.clerk, w.wh1["id"])
    assert [(ln.pack_name, ln.pack_factor) for ln in pick.lines] == [("件", 12)]
