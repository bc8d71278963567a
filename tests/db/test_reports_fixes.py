"""Reports after QA, on both engines: a rep's and a manager's sales are the orders they were
the account rep of, whoever has the dealer now; what waits counts what the orders list shows
the reader; a deactivated dealer that owes money stays in the credit exposure; a category's
quantity only where its units add up; one date alone makes a sensible period."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.domain import dealers, ledger, orders, reports, returns
from portal.domain.errors import ValidationFailed
from portal.tables import Dealer, Product
from tests import factories as f
from tests.db import test_reports
from tests.db.test_reports import DAY, NOVEMBER, place
from tests.db.test_shipments import NOW as SHIPPED
from tests.db.test_shipments import fulfil_world
from tests.db.test_shipments_returns import shipped_order

shop = test_reports.shop  # the reports' world: two reps, a manager, three dealers


async def by_rep(actor) -> dict[str, tuple[int, int]]:
    return {r.label: (r.orders, r.amount_fen) for r in await reports.sales(actor, NOVEMBER, "rep")}


async def by_dealer(actor) -> dict[str, tuple[int, int]]:
    return {
        r.label: (r.orders, r.amount_fen) for r in await reports.sales(actor, NOVEMBER, "dealer")
    }


async def test_a_reassigned_dealers_past_sales_stay_with_the_rep_who_made_them(shop):
    east, admin, rep_a = shop["east"], shop["admin"], shop["rep_a"]
    await place(shop, east, [("W1", 10)])  # ¥20 while rep A looks after east
    await place(shop, east, [("S1", 1)], key="a2")  # ¥10, rep A's too
    # Rep C is another manager's: the east dealer moves to another team.
    other_manager = f.actor(await f.user("sales_manager"))
    rep_c_row = await f.user("sales_rep", manager={"id": other_manager.user_id})
    rep_c = f.actor(rep_c_row)
    await dealers.reassign(admin, east["id"], rep_c.user_id, now=DAY + timedelta(hours=1))
    await place(shop, east, [("T1", 1)], at=DAY + timedelta(days=1))  # ¥5 under rep C

    # Each rep reads their own sales only, by rep, by dealer and in the totals.
    assert await by_rep(rep_a) == {rep_a.name: (2, 3000)}
    assert await by_dealer(rep_a) == {"东方商行": (2, 3000)}
    assert await by_rep(rep_c) == {rep_c.name: (1, 500)}
    assert await by_dealer(rep_c) == {"东方商行": (1, 500)}
    a_view = await reports.overview(rep_a, NOVEMBER)
    c_view = await reports.overview(rep_c, NOVEMBER)
    assert (a_view.orders, a_view.amount_fen) == (2, 3000)
    assert (c_view.orders, c_view.amount_fen) == (1, 500)
    days = {r.key: r.orders for r in await reports.sales(rep_c, NOVEMBER, "day")}
    assert days["2026-11-10"] == 0 and days["2026-11-11"] == 1
    products = {r.detail for r in await reports.sales(rep_c, NOVEMBER, "product")}
    assert products == {"T1"}
    regions = await reports.sales(rep_c, NOVEMBER, "region")
    assert [(r.label, r.amount_fen) for r in regions] == [("华东", 500)]
    # The dashboard reads the same.
    board = await reports.dashboard(rep_c, NOVEMBER, ("rep", "dealer"), top=10)
    assert [(r.label, r.amount_fen) for r in board.rankings["rep"].rows] == [(rep_c.name, 500)]
    assert board.overview.amount_fen == 500

    # Managers read their team's: A's manager keeps A's sales, C's manager gets only C's.
    assert await by_rep(shop["manager"]) == {rep_a.name: (2, 3000)}
    assert (await reports.overview(shop["manager"], NOVEMBER)).amount_fen == 3000
    assert await by_rep(other_manager) == {rep_c.name: (1, 500)}
    # Finance and administrators see every order, as before.
    for everyone in (admin, shop["finance"]):
        assert await by_rep(everyone) == {rep_a.name: (2, 3000), rep_c.name: (1, 500)}
        assert (await reports.overview(everyone, NOVEMBER)).amount_fen == 3500


async def test_a_rep_without_dealers_now_still_reads_their_past_sales(shop):
    east, rep_a = shop["east"], shop["rep_a"]
    await place(shop, east, [("W1", 10)])
    await dealers.reassign(shop["admin"], east["id"], None, now=DAY + timedelta(hours=1))
    view = await reports.overview(rep_a, NOVEMBER)
    assert (view.orders, view.amount_fen) == (1, 2000)
    # Nothing waits on them and they carry no dealer's credit any more.
    assert (view.waiting_orders, view.to_ship_orders, view.exposures) == (0, 0, ())


async def test_what_waits_counts_the_orders_the_readers_list_shows(shop):
    east, south = shop["east"], shop["south"]
    await place(shop, east, [("W1", 10)], status="pending_approval", key="p1")
    await place(shop, east, [("W1", 5)], key="a1")  # approved
    s = await place(shop, east, [("S1", 3)], status="partially_shipped", key="s1")
    await place(shop, south, [("T1", 2)], status="pending_approval", key="p2")
    await place(shop, south, [("T1", 1)], key="a2")
    # East moves to rep C after its orders: what waits on it is rep C's to see now.
    rep_c = f.actor(await f.user("sales_rep", manager={"id": shop["manager"].user_id}))
    await dealers.reassign(shop["admin"], east["id"], rep_c.user_id, now=DAY + timedelta(hours=1))
    checked = 0
    for who in ("rep_a", "rep_b", "manager", "finance", "admin"):
        actor = shop[who]
        view = await reports.overview(actor, NOVEMBER)
        for status, n in (
            ("pending_approval", view.waiting_orders),
            ("approved", view.approved_orders),
            ("partially_shipped", view.partly_shipped_orders),
        ):
            listed = await orders.list_orders(actor, status=status)
            assert n == listed.total, (who, status)
            checked += n
        assert view.to_ship_orders == view.approved_orders + view.partly_shipped_orders
    rep_c_view = await reports.overview(rep_c, NOVEMBER)
    assert (rep_c_view.waiting_orders, rep_c_view.approved_orders) == (1, 1)
    assert rep_c_view.partly_shipped_orders == 1
    assert rep_c_view.partly_shipped_fen == s["total_fen"]  # nothing went out yet
    assert (await reports.overview(shop["rep_a"], NOVEMBER)).waiting_orders == 0
    admin_view = await reports.overview(shop["admin"], NOVEMBER)
    assert (admin_view.waiting_orders, admin_view.approved_orders) == (2, 2)
    assert checked > 0


async def test_a_deactivated_dealer_that_owes_money_stays_in_the_credit_exposure(shop):
    east, bare = shop["east"], shop["bare"]
    owing = 1_880_000  # ¥18,800.00 on the ledger
    await Dealer.update({Dealer.balance_fen: owing, Dealer.credit_limit_fen: 2_000_000}).where(
        Dealer.id == east["id"]
    )
    before = await reports.overview(shop["finance"], NOVEMBER)
    await Dealer.update({Dealer.active: False}).where(Dealer.id.is_in([east["id"], bare["id"]]))
    after = await reports.overview(shop["finance"], NOVEMBER)
    assert after.exposure_fen == before.exposure_fen
    assert after.credit_limit_fen == before.credit_limit_fen - bare["credit_limit_fen"]
    listed = {e.name: e for e in after.exposures}
    assert listed["东方商行"].exposure_fen == owing and listed["东方商行"].active is False
    assert listed["南方商行"].active is True
    # A deactivated dealer with nothing owed and nothing open has no exposure to show.
    assert "无区商行" not in listed
    assert {e.name for e in await reports.exposures(shop["finance"])} == set(listed)
    # Its open orders count as well, and the rep who has it sees it.
    await Dealer.update({Dealer.balance_fen: 0, Dealer.open_orders_fen: 5000}).where(
        Dealer.id == east["id"]
    )
    mine = await reports.exposures(shop["rep_a"])
    assert [(e.name, e.exposure_fen, e.active) for e in mine] == [("东方商行", 5000, False)]


def test_the_share_of_the_limit_used_is_an_exact_number():
    over = reports.Exposure(1, "甲", "D1", credit_limit_fen=1000, exposure_fen=1121)
    assert over.used_share == Decimal("1.121")
    assert reports.Exposure(1, "甲", "D1", 3, 1).used_share == Decimal("0.333")
    # No limit and owing: over without bound, first in the table; no share to give.
    no_limit = reports.Exposure(1, "甲", "D1", 0, 1)
    assert no_limit.used_share is None and no_limit.without_limit and no_limit.over_limit
    assert no_limit.used > over.used
    assert reports.Exposure(1, "甲", "D1", 0, 0).used_share == Decimal(0)


async def test_a_categorys_quantity_only_where_its_units_add_up(shop):
    east, admin = shop["east"], shop["admin"]
    await place(shop, east, [("W1", 10), ("T1", 2)], key="drinks")  # 12 瓶 of drinks
    await place(shop, east, [("S1", 1)], key="snack")  # 1 瓶 of snacks

    async def categories() -> dict[str, tuple[int | None, str]]:
        return {r.label: (r.qty, r.unit) for r in await reports.sales(admin, NOVEMBER, "category")}

    assert await categories() == {"饮料": (12, "瓶"), "零食": (1, "瓶")}
    # Crisps sold by the 袋 beside the 瓶: the snacks' quantity no longer adds up.
    bag = await f._insert(Product, name="薯片", category=shop["snacks"]["id"])
    crisps = await f.sku(code="C1", name="薯片", base_price_fen=300, base_unit="袋", product=bag)
    await f.stock(crisps, {"id": east["default_warehouse"]}, 100)
    await place(shop, east, [("C1", 4)], key="crisps")
    assert await categories() == {"饮料": (12, "瓶"), "零食": (None, "")}
    products = {r.detail: (r.qty, r.unit) for r in await reports.sales(admin, NOVEMBER, "product")}
    assert products["C1"] == (4, "袋") and products["S1"] == (1, "瓶")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # An end alone starts on the first of its month (QA: 2026-10-05 said the end was
        # before a start nobody typed).
        (None, "2026-10-05", (date(2026, 10, 1), date(2026, 10, 5))),
        ("", "2026-11-20", (date(2026, 11, 1), date(2026, 11, 20))),
        (None, "2026-12-10", (date(2026, 12, 1), date(2026, 12, 10))),
        # A start alone runs to today, or to the end of its month when it is still to come.
        ("2026-10-05", None, (date(2026, 10, 5), date(2026, 11, 25))),
        ("2026-12-03", "", (date(2026, 12, 3), date(2026, 12, 31))),
        ("2026-11-25", None, (date(2026, 11, 25), date(2026, 11, 25))),
    ],
)
def test_one_date_alone_makes_a_sensible_period(start, end, expected):
    period, name = reports.parse_period(start, end, "last_month", today=date(2026, 11, 25))
    assert ((period.start, period.end), name) == (expected, "")


def test_one_bad_date_alone_is_named():
    with pytest.raises(ValidationFailed) as refused:
        reports.parse_period(None, "2026-10-32", None, today=date(2026, 11, 25))
    assert [e.field for e in refused.value.errors] == ["end"]
    assert refused.value.errors[0].message == "Enter a date such as 2026-11-25."


async def test_returns_count_for_the_rep_whose_sale_they_undo(db):
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    rep_a = f.actor(await f.user("sales_rep"))
    rep_c = f.actor(await f.user("sales_rep"))
    await f.assign({"id": rep_a.user_id}, w.dealer)
    o, line = await shipped_order(w)  # 10 × ¥2.00, rep A's sale
    await dealers.reassign(admin, w.dealer["id"], rep_c.user_id, now=SHIPPED)
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 4}, reason="破损", now=SHIPPED
    )
    await returns.decide_return(admin, rma.id, approve=True, now=SHIPPED)
    await returns.receive_return(
        w.clerk, rma.id, warehouse_id=w.wh1["id"], accepted={line["id"]: 3}, now=SHIPPED
    )
    day = ledger.local_day(SHIPPED)
    period = reports.Period(day.replace(day=1), day)
    a_view = await reports.overview(rep_a, period)
    assert (a_view.amount_fen, a_view.returns, a_view.returned_fen) == (2000, 1, 600)
    c_view = await reports.overview(rep_c, period)
    assert (c_view.amount_fen, c_view.returns, c_view.returned_fen) == (0, 0, 0)
    assert (await reports.overview(admin, period)).returned_fen == 600
