"""Promotions (促销): percentage off, spend X save Y (满减), buy N get M free (买赠).

Runs on SQLite and PostgreSQL: prices and quotes, orders, the cart, shipments and returns,
staff adjustments, administration and audit; plus the arithmetic of spreading a saving
(`spread`, `portion_fen`, `units_value`), with hypothesis.

Dates: the catalog and the cart price with today's (real) Asia/Shanghai date, while an
order's gifts and saving are dated by the `now` it is submitted with (NOW, 2026-11-25). A
promotion meant to be in force therefore runs over both days (`window()`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from math import ceil, floor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domain import (
    approvals,
    cart,
    catalog,
    orders,
    pricing,
    promotions,
    returns,
    shipments,
    visit,
)
from portal.domain.errors import (
    CreditExceeded,
    Forbidden,
    InsufficientStock,
    NotFound,
    ValidationFailed,
)
from portal.domain.promotions import PromoData
from portal.domain.quantities import LineRequest
from portal.domain.scope import Actor
from portal.tables import (
    AuditEntry,
    Dealer,
    LedgerEntry,
    Order,
    OrderLine,
    Product,
    ProductVisibility,
    Promotion,
    Reservation,
    Shipment,
    TierPrice,
    VolumeBreak,
)
from tests import factories as f
from tests.conftest import empty_all_tables
from tests.db.test_approvals import rule, team
from tests.db.test_orders import NOW, World, dealer_now, reserved, submit, world
from tests.db.test_shipments import (
    FulfilWorld,
    assert_ledger_balanced,
    dealer_row,
    fulfil_world,
    stock_of,
)

NOW_DAY = promotions.today(NOW)  # 2026-11-25 in Shanghai
SHANGHAI_MIDNIGHT = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 2026-11-25 00:00 in Shanghai


def window() -> tuple[date, date]:
    """A promotion's first and last day so that it is in force on NOW's date (orders) and
    today (catalog and cart), with a day or two to spare."""
    today = promotions.today()
    return min(NOW_DAY, today) - timedelta(days=2), max(NOW_DAY, today) + timedelta(days=2)


async def an_admin() -> Actor:
    return f.actor(await f.user("admin"))


async def promo(kind: str, *, by: Actor | None = None, **fields) -> promotions.Promo:
    start, end = window()
    data = PromoData(
        name=fields.pop("name", f"促销 {kind}"),
        kind=kind,
        starts_on=fields.pop("starts_on", start),
        ends_on=fields.pop("ends_on", end),
        **fields,
    )
    return await promotions.create(by or await an_admin(), data, now=NOW)


async def percent_off(bp: int, **kw) -> promotions.Promo:
    return await promo(promotions.PERCENT_OFF, percent_bp=bp, **kw)


async def spend_save(threshold_fen: int, save_fen: int, **kw) -> promotions.Promo:
    return await promo(promotions.SPEND_SAVE, threshold_fen=threshold_fen, save_fen=save_fen, **kw)


async def buy_get(sku_code: str, buy: int, gift_code: str, get: int, **kw) -> promotions.Promo:
    return await promo(
        promotions.BUY_GET,
        sku_code=sku_code,
        buy_qty=buy,
        gift_sku_code=gift_code,
        gift_qty=get,
        **kw,
    )


async def quote_of(w: World, sku: dict, qty: int | None = None):
    items = await catalog.items_by_ids(w.buyer, w.dealer, [sku["id"]])
    item = items[sku["id"]]
    return item.quote if qty is None else item.quote_for(qty)


async def lines_of(order_id: int) -> list[dict]:
    return await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.id)


async def order_row(order_id: int) -> dict:
    return await Order.select().where(Order.id == order_id).first()


async def gift_sku(warehouse: dict, on_hand: int, **extra) -> dict:
    """C300, the usual gift: list ¥3.00 a 个."""
    sku = await f.sku(
        code="C300", name="赠品 开瓶器", base_price_fen=300, base_unit="个", pack=None, **extra
    )
    await f.stock(sku, warehouse, on_hand)
    return sku


async def sku_in(category: dict, code: str, price_fen: int) -> dict:
    product = Product(name=f"商品 {code}", category=category["id"])
    await product.save()
    return await f.sku(
        code=code, name=f"商品 {code}", base_price_fen=price_fen, product={"id": product.id}
    )


def assert_lines_add_up(lines: list[dict]) -> None:
    """Each line: quantity × unit price = its total + its share of the saving."""
    for ln in lines:
        gross = ln["unit_price_fen"] * ln["qty"]
        assert ln["line_total_fen"] + ln["discount_fen"] == gross, ln
        assert 0 <= ln["discount_fen"] <= gross


# --- 1. percentage off ---------------------------------------------------------------------


async def test_percent_off_a_sku_on_top_of_the_tier_price_and_its_volume_break(db):
    w = await world()
    p = await percent_off(1000, sku_code="A100", name="双十一九折")
    q = await quote_of(w, w.sku)
    assert (q.unit_price_fen, q.list_price_fen, q.rule) == (162, 200, "promotion")
    assert q.rule_params["promo_id"] == p.id and q.rule_params["off_bp"] == 1000
    assert q.rule_params["before_fen"] == 180 and q.rule_params["base_rule"] == "tier"
    # The next-break hint tells what the dealer would really pay there: ¥1.60 less 10 %.
    assert q.next_break is not None and q.next_break.unit_price_fen == 144
    at_break = await quote_of(w, w.sku, 240)
    assert (at_break.unit_price_fen, at_break.rule) == (144, "promotion")
    assert at_break.rule_params["base_rule"] == "volume_break"
    # Another SKU is untouched.
    other = await quote_of(w, w.sku2)
    assert (other.unit_price_fen, other.rule) == (1000, "base")


async def test_percent_off_a_category_reaches_its_sub_categories_only(db):
    w = await world()
    drinks = await f.category("饮料")
    water = await f.category("矿泉水", drinks)
    soap = await f.category("日化")
    in_water = await sku_in(water, "W1", 500)
    in_drinks = await sku_in(drinks, "D1", 500)
    in_soap = await sku_in(soap, "S1", 300)
    await percent_off(2000, category_id=drinks["id"])
    assert (await quote_of(w, in_water)).unit_price_fen == 400  # a sub-category's SKU
    assert (await quote_of(w, in_drinks)).unit_price_fen == 400
    soap_quote = await quote_of(w, in_soap)
    assert (soap_quote.unit_price_fen, soap_quote.rule) == (300, "base")
    # A promotion of the sub-category does not reach up to its parent's own SKUs.
    await percent_off(3000, category_id=water["id"])
    assert (await quote_of(w, in_water)).unit_price_fen == 350
    assert (await quote_of(w, in_drinks)).unit_price_fen == 400
    # The same through pricing.quote (rows without the category: it is looked up).
    quotes = await pricing.quote(
        w.dealer, {in_water["id"]: 2, in_drinks["id"]: 1, in_soap["id"]: 1}
    )
    assert {k: (q.unit_price_fen, q.rule) for k, q in quotes.items()} == {
        in_water["id"]: (350, "promotion"),
        in_drinks["id"]: (400, "promotion"),
        in_soap["id"]: (300, "base"),
    }


async def test_percent_off_everything_the_largest_wins_and_they_never_stack(db):
    w = await world()
    await percent_off(500)  # the whole catalog
    assert (await quote_of(w, w.sku)).unit_price_fen == 171
    assert (await quote_of(w, w.sku2)).unit_price_fen == 950
    best = await percent_off(1500, sku_code="A100")
    a_category = (await Product.select(Product.category).where(Product.id == w.sku["product"]))[0]
    await percent_off(1000, category_id=a_category["category"])
    q = await quote_of(w, w.sku)
    # 15 % off ¥1.80, not 15 % off 5 % off 10 % off.
    assert (q.unit_price_fen, q.rule_params["promo_id"]) == (153, best.id)
    assert (await quote_of(w, w.sku2)).unit_price_fen == 950
    await percent_off(2000)
    assert (await quote_of(w, w.sku)).unit_price_fen == 144
    assert (await quote_of(w, w.sku2)).unit_price_fen == 800


async def test_percent_off_a_contract_price_rounds_half_up_once(db):
    w = await world()
    await f.contract_price(w.dealer, w.sku, 190)
    await percent_off(500, sku_code="A100")
    q = await quote_of(w, w.sku)
    # ¥1.90 × 95 % = ¥1.805: half-up to ¥1.81 (half-even would give ¥1.80).
    assert (q.unit_price_fen, q.rule, q.rule_params["base_rule"]) == (181, "promotion", "contract")
    order = (await submit(w, [LineRequest(qty=10, sku_code="A100")])).order
    line = order.lines[0]
    assert (line.unit_price_fen, line.line_total_fen, line.price_rule) == (181, 1810, "promotion")
    assert line.price_rule_params["base_rule"] == "contract"


async def test_percent_off_only_while_dated_active_and_for_its_tier(db):
    w = await world()
    admin = await an_admin()
    today = promotions.today()
    await percent_off(
        1000, by=admin, starts_on=today + timedelta(days=2), ends_on=today + timedelta(days=9)
    )
    await percent_off(
        1500, by=admin, starts_on=today - timedelta(days=9), ends_on=today - timedelta(days=2)
    )
    other_tier = await f.tier(name="二级经销商", rank=2)
    await percent_off(2000, by=admin, tier_id=other_tier["id"])
    q = await quote_of(w, w.sku)
    assert (q.unit_price_fen, q.rule) == (180, "tier")

    mine = await percent_off(500, by=admin, tier_id=w.tier["id"])
    assert (await quote_of(w, w.sku)).unit_price_fen == 171
    big = await percent_off(3000, by=admin)
    assert (await quote_of(w, w.sku)).unit_price_fen == 126
    await promotions.set_active(admin, big.id, False, now=NOW)
    q = await quote_of(w, w.sku)
    assert (q.unit_price_fen, q.rule_params["promo_id"]) == (171, mine.id)
    await promotions.set_active(admin, big.id, True, now=NOW)
    assert (await quote_of(w, w.sku)).unit_price_fen == 126


async def test_a_promotion_is_in_force_from_its_first_to_its_last_day_inclusive(db):
    w = await world()
    first, last = date(2026, 12, 1), date(2026, 12, 12)
    p = await percent_off(1000, starts_on=first, ends_on=last)
    for day, expected in (
        (first - timedelta(days=1), []),
        (first, [p.id]),
        (last, [p.id]),
        (last + timedelta(days=1), []),
    ):
        assert [x.id for x in await promotions.in_force_for(w.dealer, day)] == expected, day
    assert p.state(first - timedelta(days=1)) == "scheduled"
    assert p.state(last) == "running" and p.state(last + timedelta(days=1)) == "ended"
    # Only the kinds asked for.
    assert await promotions.in_force_for(w.dealer, first, (promotions.SPEND_SAVE,)) == []


async def test_the_order_line_keeps_the_promotion_price_after_it_is_paused(db):
    w = await world()
    admin = await an_admin()
    p = await percent_off(1250, by=admin, sku_code="A100", name="店庆")
    # ¥1.80 × 87.5 % = ¥1.575: ¥1.58 a 瓶, the line rounds once.
    assert (await quote_of(w, w.sku)).unit_price_fen == 158
    order = (await submit(w, [LineRequest(qty=2, sku_code="A100", unit="箱")])).order
    line = order.lines[0]
    assert (line.qty, line.unit_price_fen, line.list_price_fen) == (48, 158, 200)
    assert line.line_total_fen == 48 * 158 and line.price_rule == "promotion"
    assert line.price_rule_params["promo_id"] == p.id
    assert line.price_rule_params["off_bp"] == 1250 and line.price_rule_params["before_fen"] == 180
    assert "店庆" in line.price_rule_label
    assert order.total_fen == 48 * 158 and order.list_total_fen == 48 * 200
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 48 * 158

    await promotions.set_active(admin, p.id, False, now=NOW)
    assert (await quote_of(w, w.sku)).unit_price_fen == 180
    again = await orders.get_order(w.buyer, order.id)
    assert again.lines[0].unit_price_fen == 158 and again.lines[0].price_rule == "promotion"
    assert again.total_fen == 48 * 158
    stored = (await lines_of(order.id))[0]
    assert (stored["unit_price_fen"], stored["line_total_fen"]) == (158, 48 * 158)
    # Nor does changing the promotion's terms.
    data = promotions.data_of(await promotions.get_promotion(admin, p.id))
    data.percent_bp, data.active = 5000, True
    await promotions.update(admin, p.id, data, now=NOW)
    assert (await quote_of(w, w.sku)).unit_price_fen == 90
    assert (await orders.get_order(w.buyer, order.id)).lines[0].unit_price_fen == 158


async def test_an_order_dated_now_gets_the_percent_off_in_force_on_that_day(db):
    w = await world()
    day = promotions.today() - timedelta(days=30)
    at = datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # noon in Shanghai
    await percent_off(1000, sku_code="A100", starts_on=day, ends_on=day)
    await spend_save(1_000, 100, starts_on=day, ends_on=day)
    order = (await submit(w, [LineRequest(qty=24, sku_code="A100")], now=at)).order
    # The saving, dated by `now`, is there...
    assert order.discount_fen == 100
    # ...and so should the percentage off in force that same day be.
    assert order.lines[0].price_rule == "promotion"
    assert order.lines[0].unit_price_fen == 162


# --- 2. spend X save Y (满减) ---------------------------------------------------------------


async def test_spend_save_below_at_and_above_the_threshold_largest_saving_wins(db):
    w = await world()
    await spend_save(12_000, 500, name="满120减5")
    best = await spend_save(20_640, 1_500, name="满206.40减15")
    await spend_save(30_000, 3_000, name="满300减30")

    below = (await submit(w, [LineRequest(qty=48, sku_code="A100")], key="a")).order
    assert (below.total_fen, below.discount_fen, below.discount_params) == (8_640, 0, "")
    assert below.saving is None
    assert [ln.discount_fen for ln in below.lines] == [0]
    open_before = (await dealer_now(w.dealer))["open_orders_fen"]
    assert open_before == 8_640

    at = (await submit(w, [LineRequest(qty=12, sku_code="B200")], key="b")).order
    assert (at.goods_fen, at.discount_fen, at.total_fen) == (12_000, 500, 11_500)

    both = (
        await submit(
            w,
            [LineRequest(qty=48, sku_code="A100"), LineRequest(qty=12, sku_code="B200")],
            key="c",
        )
    ).order
    # Both ¥120 and ¥206.40 are reached: the larger saving only, not both.
    assert (both.goods_fen, both.discount_fen, both.total_fen) == (20_640, 1_500, 19_140)
    assert both.saving is not None and both.saving.promo_id == best.id
    assert json.loads(both.discount_params) == {
        "name": "满206.40减15",
        "promo_id": best.id,
        "save_fen": 1_500,
        "threshold_fen": 20_640,
        # every 满减 in force, kept for a later change of quantities (for_goods)
        "tiers": [
            [best.id - 1, "满120减5", 12_000, 500],
            [best.id, "满206.40减15", 20_640, 1_500],
            [best.id + 1, "满300减30", 30_000, 3_000],
        ],
    }
    # Spread by the lines' totals (8640 : 12000), largest remainder: 627.9 → 628, 872.1 → 872.
    assert [ln.discount_fen for ln in both.lines] == [628, 872]
    assert [ln.line_total_fen for ln in both.lines] == [8_640 - 628, 12_000 - 872]
    assert [ln.gross_fen for ln in both.lines] == [8_640, 12_000]

    stored = await lines_of(both.id)
    assert sum(ln["discount_fen"] for ln in stored) == 1_500
    assert sum(ln["line_total_fen"] for ln in stored) == 19_140
    assert_lines_add_up(stored)
    row = await order_row(both.id)
    assert (row["total_fen"], row["discount_fen"]) == (19_140, 1_500)
    assert row["list_total_fen"] == 48 * 200 + 12 * 1_000
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 8_640 + 11_500 + 19_140
    entry = (
        await AuditEntry.select()
        .where((AuditEntry.action == "order.submitted") & (AuditEntry.entity_id == str(both.id)))
        .first()
    )
    after = json.loads(entry["after"])
    assert after["discount_fen"] == 1_500 and after["total_fen"] == 19_140


async def test_spend_save_counts_the_shanghai_day_of_the_submission(db):
    w = await world()
    await spend_save(1_000, 100, starts_on=NOW_DAY, ends_on=NOW_DAY)
    lines = [LineRequest(qty=10, sku_code="A100")]  # ¥18.00
    one_sec = timedelta(seconds=1)
    for n, (at, saved) in enumerate(
        (
            (SHANGHAI_MIDNIGHT - one_sec, 0),  # 24th, 23:59:59
            (SHANGHAI_MIDNIGHT, 100),  # 25th, 00:00
            (SHANGHAI_MIDNIGHT + timedelta(days=1) - one_sec, 100),  # 25th, 23:59:59
            (SHANGHAI_MIDNIGHT + timedelta(days=1), 0),  # 26th
        )
    ):
        order = (await submit(w, lines, key=f"k{n}", now=at)).order
        assert (order.discount_fen, order.total_fen) == (saved, 1_800 - saved), at


async def test_a_paused_or_other_tier_spend_save_gives_nothing(db):
    w = await world()
    admin = await an_admin()
    paused = await spend_save(1_000, 300, by=admin)
    await promotions.set_active(admin, paused.id, False, now=NOW)
    other_tier = await f.tier(name="二级经销商", rank=2)
    await spend_save(1_000, 200, by=admin, tier_id=other_tier["id"])
    order = (await submit(w, [LineRequest(qty=24, sku_code="A100")])).order
    assert (order.discount_fen, order.total_fen) == (0, 24 * 180)


async def test_the_cart_shows_the_saving_and_what_more_to_add(db):
    w = await world()
    small = await spend_save(10_000, 500, name="满100减5")
    big = await spend_save(20_000, 1_500, name="满200减15")

    view = await cart.set_qty(w.buyer, None, w.sku["id"], 48)  # ¥86.40
    assert view.saving is None and view.total_fen == view.goods_fen == 8_640
    assert view.next_saving is not None
    assert (view.next_saving.more_fen, view.next_saving.save_fen) == (1_360, 500)
    assert "满100减5" in view.next_saving.label

    view = await cart.set_qty(w.buyer, None, w.sku2["id"], 6)  # + ¥60.00
    assert view.saving is not None and view.saving.promo_id == small.id
    assert (view.goods_fen, view.total_fen) == (14_640, 14_140)
    assert (view.next_saving.more_fen, view.next_saving.save_fen) == (5_360, 1_500)

    view = await cart.set_qty(w.buyer, None, w.sku2["id"], 12)  # + ¥60.00 more
    assert view.saving.promo_id == big.id and view.saving.save_fen == 1_500
    assert (view.goods_fen, view.total_fen) == (20_640, 19_140)
    assert view.next_saving is None

    placed = (await orders.submit_cart(w.buyer, None, idempotency_key="cart", now=NOW)).order
    assert (placed.total_fen, placed.discount_fen) == (view.total_fen, 1_500)
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 19_140


async def test_credit_is_checked_against_the_total_after_the_saving(db):
    w = await world(credit_limit_fen=19_139)
    await spend_save(20_000, 1_500)
    lines = [LineRequest(qty=48, sku_code="A100"), LineRequest(qty=12, sku_code="B200")]
    with pytest.raises(CreditExceeded) as err:
        await submit(w, lines, key="a")
    assert err.value.extra["order_total"] == "191.40"  # ¥206.40 less ¥15.00
    assert await Order.count() == 0 and await reserved(w.sku) == 0
    await Dealer.update({Dealer.credit_limit_fen: 19_140}).where(Dealer.id == w.dealer["id"])
    order = (await submit(w, lines, key="b")).order
    assert order.total_fen == 19_140
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 19_140


async def test_a_replayed_submission_does_not_give_the_gift_twice(db):
    w = await world()
    c300 = await gift_sku(w.warehouse, 100)
    await buy_get("B200", 6, "C300", 1)
    await spend_save(10_000, 500)
    lines = [LineRequest(qty=12, sku_code="B200")]
    first = await submit(w, lines, key="tap")
    again = await submit(w, list(lines), key="tap")
    assert again.created is False and again.order.id == first.order.id
    assert [(ln.sku_code, ln.qty) for ln in gift_lines(again.order)] == [("C300", 2)]
    assert again.order.discount_fen == 500 and again.order.total_fen == 11_500
    assert await Order.count() == 1 and await OrderLine.count() == 2
    assert await reserved(c300) == 2 and await reserved(w.sku2) == 12
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 11_500


async def test_cancelling_an_order_with_a_saving_releases_its_net_total(db):
    w = await world()
    await spend_save(10_000, 700)
    order = (
        await submit(
            w, [LineRequest(qty=48, sku_code="A100"), LineRequest(qty=12, sku_code="B200")]
        )
    ).order
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 20_640 - 700
    await orders.cancel_order(await an_admin(), order.id, "不要了", now=NOW)
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 0
    assert await reserved(w.sku) == 0 and await reserved(w.sku2) == 0


# --- 3. shipments and returns of an order with a saving -------------------------------------


async def saved_order(w: FulfilWorld, qty: int = 7, qty2: int = 3, key: str = "k1"):
    """A100 × 7 (¥14.00) and B200 × 3 (¥30.00) with ¥3.33 off: lines ¥12.94 and ¥27.73."""
    result = await orders.submit_order(
        w.buyer,
        None,
        [LineRequest(qty=qty, sku_id=w.sku["id"]), LineRequest(qty=qty2, sku_id=w.sku2["id"])],
        idempotency_key=key,
        now=NOW,
    )
    assert result.order.status == "approved"
    return result.order, await lines_of(result.order.id)


async def ship(w: FulfilWorld, order_id: int, quantities: dict[int, int], wh: dict | None = None):
    sh = (
        await shipments.create_shipment(
            w.clerk,
            order_id,
            warehouse_id=(wh or w.wh1)["id"],
            quantities=quantities,
            now=NOW,
        )
    ).shipment
    return await shipments.ship(w.clerk, sh.id, now=NOW)


async def test_partial_shipments_invoice_exactly_the_discounted_total(db):
    w = await fulfil_world()
    await spend_save(4_000, 333)
    before = await dealer_row(w)
    order, (a, b) = await saved_order(w)
    # 333 over 1400 : 3000 → 105.95 / 227.05, largest remainder: 106 and 227.
    assert (a["discount_fen"], b["discount_fen"]) == (106, 227)
    assert (a["line_total_fen"], b["line_total_fen"]) == (1_294, 2_773)
    assert order.total_fen == 4_067
    assert (await dealer_row(w))["open_orders_fen"] == before["open_orders_fen"] + 4_067

    s1 = await ship(w, order.id, {a["id"]: 3, b["id"]: 1})
    s2 = await ship(w, order.id, {a["id"]: 2}, wh=w.wh2)
    assert (await order_row(order.id))["status"] == "partially_shipped"
    s3 = await ship(w, order.id, {a["id"]: 2, b["id"]: 2})
    # Units 1..3 of 7 of ¥12.94: 5.546 → ¥5.55; unit 1 of 3 of ¥27.73: ¥9.24; and so on,
    # each piece the difference of the rounded running shares.
    assert [s1.value_fen, s2.value_fen, s3.value_fen] == [555 + 924, 924 - 555, 370 + 1_849]
    assert s1.value_fen + s2.value_fen + s3.value_fen == order.total_fen
    assert (await order_row(order.id))["status"] == "shipped"
    invoices = await LedgerEntry.select().where(LedgerEntry.kind == "invoice")
    assert sum(e["amount_fen"] for e in invoices) == order.total_fen
    after = await dealer_row(w)
    assert after["open_orders_fen"] == before["open_orders_fen"]
    assert after["balance_fen"] == before["balance_fen"] + order.total_fen
    await assert_ledger_balanced(w.dealer["id"])
    values = await Shipment.select(Shipment.value_fen)
    assert sum(s["value_fen"] for s in values) == order.total_fen


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    save=st.integers(1, 3_999),
    cuts=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3)), min_size=0, max_size=3),
)
async def test_any_split_of_shipments_invoices_the_order_total(db, save, cuts):
    await empty_all_tables(db)
    w = await fulfil_world()
    await spend_save(4_000, save)
    order, (a, b) = await saved_order(w)
    assert order.total_fen == 4_400 - save
    left = {a["id"]: 7, b["id"]: 3}
    total = 0
    for qa, qb in cuts:
        wanted = {a["id"]: min(qa, left[a["id"]]), b["id"]: min(qb, left[b["id"]])}
        wanted = {k: v for k, v in wanted.items() if v}
        if not wanted:
            continue
        total += (await ship(w, order.id, wanted)).value_fen
        for k, v in wanted.items():
            left[k] -= v
    rest = {k: v for k, v in left.items() if v}
    if rest:
        total += (await ship(w, order.id, rest)).value_fen
    assert total == order.total_fen
    d = await dealer_row(w)
    assert (d["open_orders_fen"], d["balance_fen"]) == (0, order.total_fen)


async def return_and_receive(w: FulfilWorld, admin: Actor, order_id: int, quantities: dict):
    rma = await returns.request_return(
        w.buyer, order_id, quantities=quantities, reason="破损", now=NOW
    )
    await returns.decide_return(admin, rma.id, approve=True, now=NOW)
    return await returns.receive_return(
        w.clerk, rma.id, warehouse_id=w.wh1["id"], accepted=quantities, now=NOW
    )


async def test_a_return_is_credited_at_the_discounted_value(db):
    w = await fulfil_world()
    admin = await an_admin()
    await spend_save(4_000, 333)
    order, (a, b) = await saved_order(w)
    await ship(w, order.id, {a["id"]: 7, b["id"]: 3})
    balance = (await dealer_row(w))["balance_fen"]
    assert balance == 4_067
    received = await return_and_receive(w, admin, order.id, {a["id"]: 3, b["id"]: 1})
    # 3 of 7 of ¥12.94 → ¥5.55 and 1 of 3 of ¥27.73 → ¥9.24; not 3 × ¥2.00 + ¥10.00.
    assert received.credit_fen == 555 + 924
    assert received.credit_fen == promotions.units_value(
        200, 1_294, 7, 0, 3
    ) + promotions.units_value(1_000, 2_773, 3, 0, 1)
    assert (await dealer_row(w))["balance_fen"] == balance - (555 + 924)
    await assert_ledger_balanced(w.dealer["id"])
    note = await LedgerEntry.select().where(LedgerEntry.kind == "credit_note").first()
    assert note["amount_fen"] == -(555 + 924)


async def test_a_return_without_a_saving_is_credited_at_the_unit_price(db):
    w = await fulfil_world()
    admin = await an_admin()
    order, (a, b) = await saved_order(w)  # no promotion: 7 × ¥2.00, 3 × ¥10.00
    assert order.discount_fen == 0
    await ship(w, order.id, {a["id"]: 7, b["id"]: 3})
    received = await return_and_receive(w, admin, order.id, {a["id"]: 3, b["id"]: 1})
    assert received.credit_fen == 3 * 200 + 1_000


async def test_returning_a_line_in_pieces_credits_exactly_what_was_invoiced(db):
    w = await fulfil_world()
    admin = await an_admin()
    await spend_save(4_000, 333)
    order, (a, _b) = await saved_order(w)
    shipped = await ship(w, order.id, {a["id"]: 7})
    assert shipped.value_fen == 1_294
    credits = []
    for qty in (2, 2, 2, 1):
        credits.append((await return_and_receive(w, admin, order.id, {a["id"]: qty})).credit_fen)
    # Everything invoiced for the line came back: the credit notes come to the invoice
    # (today: 370 + 370 + 370 + 185 = 1295, one fen more than the dealer paid).
    assert sum(credits) == 1_294


# --- 4. buy N get M (买赠) -----------------------------------------------------------------


def gift_lines(order: orders.OrderView) -> list[orders.OrderLineView]:
    return [ln for ln in order.lines if ln.price_rule == orders.RULE_GIFT]


async def reservations_of(line_id: int) -> int:
    rows = await Reservation.select(Reservation.qty).where(Reservation.order_line == line_id)
    return sum(r["qty"] for r in rows)


async def test_buy_get_the_same_sku_adds_a_zero_priced_gift_line(db):
    w = await world()
    p = await buy_get("A100", 24, "A100", 2, name="买一箱送两瓶")
    order = (await submit(w, [LineRequest(qty=50, sku_code="A100")])).order
    bought, gift = order.lines
    assert (bought.qty, bought.unit_price_fen, bought.price_rule) == (50, 180, "tier")
    assert (gift.sku_code, gift.qty, gift.unit_price_fen, gift.line_total_fen) == ("A100", 4, 0, 0)
    assert gift.price_rule == orders.RULE_GIFT and gift.is_gift
    assert gift.list_price_fen == 200 and gift.discount_fen == 0
    assert gift.price_rule_params["promo_id"] == p.id
    assert (gift.price_rule_params["buy"], gift.price_rule_params["get"]) == (24, 2)
    assert gift.price_rule_params["for"] == "A100"
    assert "买一箱送两瓶" in gift.price_rule_label
    assert order.total_fen == 50 * 180 and order.list_total_fen == 54 * 200
    # Stock is held for the gift as well, on its own line.
    assert await reserved(w.sku) == 54
    assert await reservations_of(bought.id) == 50 and await reservations_of(gift.id) == 4
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 9_000
    stored = await lines_of(order.id)
    assert [(ln["qty"], ln["price_rule"]) for ln in stored] == [(50, "tier"), (4, "gift")]
    # Cancelling gives the gift's stock back too.
    await orders.cancel_order(await an_admin(), order.id, "不要了", now=NOW)
    assert await reserved(w.sku) == 0


async def test_buy_get_another_sku_and_the_most_generous_offer_wins(db):
    w = await world()
    c300 = await gift_sku(w.warehouse, 100)
    await buy_get("B200", 12, "C300", 1)
    generous = await buy_get("B200", 6, "C300", 1)
    order = (await submit(w, [LineRequest(qty=30, sku_code="B200")])).order
    [gift] = gift_lines(order)  # one offer per bought SKU, not both
    # Every 6 get 1: 30 → 5 (every 12 get 1 would give 2).
    assert (gift.sku_code, gift.qty, gift.unit_price_fen) == ("C300", 5, 0)
    assert gift.price_rule_params["promo_id"] == generous.id
    assert await reserved(c300) == 5 and await reserved(w.sku2) == 30
    assert order.total_fen == 30_000
    # Another SKU bought earns nothing.
    other = (await submit(w, [LineRequest(qty=54, sku_code="A100")], key="k2")).order
    assert gift_lines(other) == []


async def test_a_gift_is_capped_by_the_stock_left_when_backorders_are_not_allowed(db):
    w = await world()
    c300 = await gift_sku(w.warehouse, 3)
    await buy_get("B200", 6, "C300", 1)
    view = await cart.set_qty(w.buyer, None, w.sku2["id"], 30)
    [offered] = view.gifts
    assert (offered.code, offered.entitled, offered.qty) == ("C300", 5, 3)
    order = (await orders.submit_cart(w.buyer, None, idempotency_key="c", now=NOW)).order
    [gift] = gift_lines(order)
    assert (gift.qty, gift.qty_backordered) == (3, 0)  # 赠完即止
    assert await reserved(c300) == 3
    # The next order finds none left: it is placed, without a gift.
    again = (await submit(w, [LineRequest(qty=30, sku_code="B200")], key="k2")).order
    assert gift_lines(again) == [] and [ln.sku_code for ln in again.lines] == ["B200"]
    assert await reserved(c300) == 3


async def test_no_gift_when_the_gift_is_out_of_stock_or_inactive(db):
    w = await world()
    await gift_sku(w.warehouse, 0)
    await buy_get("B200", 6, "C300", 1)
    order = (await submit(w, [LineRequest(qty=12, sku_code="B200")])).order
    assert gift_lines(order) == [] and order.total_fen == 12_000
    d400 = await f.sku(code="D400", name="停产赠品", base_price_fen=100, pack=None, active=False)
    await f.stock(d400, w.warehouse, 50)
    await buy_get("A100", 10, "D400", 1)
    order = (await submit(w, [LineRequest(qty=20, sku_code="A100")], key="k2")).order
    assert gift_lines(order) == []
    assert await reserved(d400) == 0


async def test_a_backorderable_gift_is_given_in_full_and_waits_for_stock(db):
    w = await world()
    c300 = await gift_sku(w.warehouse, 3, allow_backorder=True)
    await buy_get("B200", 6, "C300", 1)
    order = (await submit(w, [LineRequest(qty=30, sku_code="B200")])).order
    [gift] = gift_lines(order)
    assert (gift.qty, gift.qty_backordered) == (5, 2)
    assert await reserved(c300) == 3


async def test_a_same_sku_gift_counts_what_the_order_itself_takes(db):
    w = await world(on_hand=52)
    await buy_get("A100", 10, "A100", 1)
    order = (await submit(w, [LineRequest(qty=50, sku_code="A100")])).order
    [gift] = gift_lines(order)
    # 5 earned, but only 52 - 50 = 2 left after the bought 50.
    assert gift.qty == 2 and await reserved(w.sku) == 52


async def test_a_gift_with_a_saving_takes_no_share_and_ships_at_zero(db):
    w = await fulfil_world()
    await buy_get("A100", 5, "B200", 1)
    await spend_save(1_000, 150)
    result = await orders.submit_order(
        w.buyer, None, [LineRequest(qty=10, sku_id=w.sku["id"])], idempotency_key="k", now=NOW
    )
    order = result.order
    bought, gift = order.lines
    assert (gift.sku_code, gift.qty, gift.price_rule) == ("B200", 2, "gift")
    assert (gift.line_total_fen, gift.discount_fen) == (0, 0)
    assert (bought.line_total_fen, bought.discount_fen) == (1_850, 150)
    assert order.total_fen == 1_850
    assert_lines_add_up(await lines_of(order.id))

    gift_only = await ship(w, order.id, {gift.id: 2})
    assert gift_only.value_fen == 0
    assert await stock_of(w.sku2, w.wh1) == (98, 0)
    rest = await ship(w, order.id, {bought.id: 10})
    assert rest.value_fen == 1_850
    d = await dealer_row(w)
    assert (d["open_orders_fen"], d["balance_fen"]) == (0, 1_850)
    await assert_ledger_balanced(w.dealer["id"])


async def test_a_same_sku_gift_ships_with_the_bought_line(db):
    w = await fulfil_world()
    await buy_get("A100", 5, "A100", 1)
    result = await orders.submit_order(
        w.buyer, None, [LineRequest(qty=10, sku_id=w.sku["id"])], idempotency_key="k", now=NOW
    )
    bought, gift = result.order.lines
    assert (gift.qty, gift.price_rule) == (2, "gift")
    assert await stock_of(w.sku, w.wh1) == (100, 12)
    shipped = await ship(w, result.order.id, {bought.id: 10, gift.id: 2})
    assert shipped.value_fen == 2_000
    assert await stock_of(w.sku, w.wh1) == (88, 0)
    assert await Reservation.count() == 0
    assert (await order_row(result.order.id))["status"] == "shipped"


async def test_reorder_leaves_the_gifts_out(db):
    w = await world()
    await gift_sku(w.warehouse, 100)
    await buy_get("B200", 6, "C300", 1)
    await buy_get("A100", 24, "A100", 1)
    placed = (
        await submit(
            w, [LineRequest(qty=12, sku_code="B200"), LineRequest(qty=48, sku_code="A100")]
        )
    ).order
    assert sorted((ln.sku_code, ln.qty) for ln in gift_lines(placed)) == [("A100", 2), ("C300", 2)]
    view, errors = await cart.reorder(w.buyer, placed.id)
    assert errors == []
    # What was bought goes back in the cart; the gifts come again from the promotions.
    assert {ln.code: ln.qty for ln in view.lines} == {"B200": 12, "A100": 48}


async def test_bought_before_and_the_visit_card_count_what_was_bought_not_gifts(db):
    t = await team()
    w = t.w
    await buy_get("A100", 24, "A100", 1)
    placed = (await submit(w, [LineRequest(qty=48, sku_code="A100")])).order
    assert sorted((ln.price_rule, ln.qty) for ln in placed.lines) == [("gift", 2), ("tier", 48)]
    last = (await catalog.bought_before(w.dealer, [w.sku["id"]]))[w.sku["id"]]
    assert (last.qty, last.unit_price_fen) == (48, 180)  # not the free line's 2 × ¥0.00
    card = await visit.visit_card(t.rep, w.dealer["id"])
    assert [(x.code, x.qty) for x in card.top_skus] == [("A100", 48)]


async def test_a_gift_taken_meanwhile_does_not_refuse_the_order(db):
    w = await world()
    c300 = await gift_sku(w.warehouse, 3)
    await buy_get("B200", 6, "C300", 1)
    rival_dealer = await f.dealer(w.tier, default_warehouse=w.warehouse)
    rival = f.actor(await f.user("dealer_buyer", rival_dealer))
    ran = []

    async def competitor():
        if not ran:
            ran.append(True)
            await orders.submit_order(
                rival, None, [LineRequest(qty=3, sku_code="C300")], idempotency_key="r", now=NOW
            )

    orders._test_hooks["before_transaction"] = competitor
    try:
        order = (await submit(w, [LineRequest(qty=12, sku_code="B200")], key="me")).order
    except InsufficientStock as exc:
        pytest.fail(f"refused for the gift: {exc.extra}")
    finally:
        orders._test_hooks.pop("before_transaction", None)
    assert ran and gift_lines(order) == []
    assert await reserved(c300) == 3


# --- 5. staff adjusting a waiting order ---------------------------------------------------


async def test_adjusting_the_bought_quantity_moves_the_gift_and_removes_it_at_zero(db):
    t = await team(on_hand=200)
    w = t.w
    c300 = await gift_sku(w.warehouse, 50)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    await buy_get("A100", 24, "C300", 1)
    order = (await submit(w, [LineRequest(qty=96, sku_code="A100")])).order
    assert order.status == "pending_approval"
    bought, gift = order.lines
    assert (gift.sku_code, gift.qty) == ("C300", 4)
    assert await reserved(c300) == 4

    # A gift's quantity cannot be set by hand.
    with pytest.raises(ValidationFailed):
        await approvals.adjust(
            t.manager, order.id, [approvals.LineChange(gift.id, 10)], "多送点", now=NOW
        )

    status = await approvals.adjust(
        t.manager, order.id, [approvals.LineChange(bought.id, 50)], "客户减量", now=NOW
    )
    assert status == "pending_approval"
    stored = await lines_of(order.id)
    assert [(ln["sku_code"], ln["qty"], ln["price_rule"]) for ln in stored] == [
        ("A100", 50, "tier"),
        ("C300", 2, "gift"),
    ]
    assert (stored[1]["unit_price_fen"], stored[1]["line_total_fen"]) == (0, 0)
    assert await reserved(w.sku) == 50 and await reserved(c300) == 2
    assert await reservations_of(gift.id) == 2
    row = await order_row(order.id)
    assert (row["total_fen"], row["list_total_fen"]) == (50 * 180, 50 * 200 + 2 * 300)
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 50 * 180

    await approvals.adjust(
        t.manager, order.id, [approvals.LineChange(bought.id, 23)], "再减", now=NOW
    )
    stored = await lines_of(order.id)
    assert [(ln["sku_code"], ln["qty"]) for ln in stored] == [("A100", 23)]
    assert await reserved(c300) == 0 and await reserved(w.sku) == 23
    assert await Reservation.count() == 1
    row = await order_row(order.id)
    assert (row["total_fen"], row["list_total_fen"]) == (23 * 180, 23 * 200)
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 23 * 180


async def test_a_quantity_changed_within_its_price_bracket_keeps_the_price_it_was_placed_at(db):
    """Later price changes never alter a placed order: staff changing a quantity reprice a
    line only when it reaches or loses a volume break and the price list still prices the
    placed quantity as placed (with the promotions in force the day the order was placed);
    once prices changed since, the line keeps its price and staff type another if they mean
    to."""
    t = await team(on_hand=2000)
    w = t.w
    await rule("total_at_least", "sales_manager", amount_fen=1)
    sale = await percent_off(1000, sku_code="A100")
    order = (await submit(w, [LineRequest(qty=240, sku_code="A100")])).order
    [line] = order.lines
    assert (line.unit_price_fen, line.price_rule) == (144, "promotion")  # ¥1.60 break, 10% off
    # Since then: the promotion ended the day the order was placed, the tier's price and its
    # break went up.
    await Promotion.update({Promotion.ends_on: NOW_DAY}).where(Promotion.id == sale.id)
    await TierPrice.update({TierPrice.price_fen: 190}).where(TierPrice.sku == w.sku["id"])
    await VolumeBreak.update({VolumeBreak.price_fen: 170}).where(VolumeBreak.sku == w.sku["id"])

    async def adjust(qty: int) -> dict:
        await approvals.adjust(
            t.manager, order.id, [approvals.LineChange(line.id, qty)], "客户改量", now=NOW
        )
        [stored] = await lines_of(order.id)
        return stored

    same = await adjust(264)  # still the 240 break: the price it was placed at
    assert (same["unit_price_fen"], same["price_rule"], same["line_total_fen"]) == (
        144,
        "promotion",
        264 * 144,
    )
    # The break lost, but the list no longer prices 240 at ¥1.44: today's prices stay out.
    down = await adjust(48)
    assert (down["unit_price_fen"], down["price_rule"]) == (144, "promotion")
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 48 * 144
    # Back as the list was when the order was placed: the lost break prices it again.
    await TierPrice.update({TierPrice.price_fen: 180}).where(TierPrice.sku == w.sku["id"])
    await VolumeBreak.update({VolumeBreak.price_fen: 160}).where(VolumeBreak.sku == w.sku["id"])
    up = await adjust(264)  # 48 → 264 reaches the break again: ¥1.60 less the order's 10%
    assert (up["unit_price_fen"], up["price_rule"]) == (144, "promotion")
    lower = await adjust(48)
    assert (lower["unit_price_fen"], lower["price_rule"]) == (162, "promotion")  # ¥1.80 less 10%


async def test_adjusting_earns_what_the_terms_in_force_at_submission_give_the_new_goods(db):
    t = await team(on_hand=200)
    w = t.w
    await rule("total_at_least", "sales_manager", amount_fen=1)
    smallest = await spend_save(10_000, 500, name="满100减5")
    await spend_save(20_000, 1_500, name="满200减15")
    largest = await spend_save(25_000, 3_000, name="满250减30")
    order = (
        await submit(
            w, [LineRequest(qty=48, sku_code="A100"), LineRequest(qty=12, sku_code="B200")]
        )
    ).order
    assert order.status == "pending_approval"
    assert (order.total_fen, order.discount_fen) == (19_140, 1_500)
    a, b = order.lines
    # Offers changed after submission do not reach the order: it keeps the terms it was
    # placed on (all three 满减 then in force).
    await promotions.set_active(await an_admin(), largest.id, False)
    await spend_save(15_000, 9_000, name="满150减90 (later)")

    # More goods: the ¥250 offer in force at submission is now reached.
    await approvals.adjust(t.manager, order.id, [approvals.LineChange(b.id, 18)], "加量", now=NOW)
    stored = await lines_of(order.id)
    assert [ln["discount_fen"] for ln in stored] == promotions.spread(3_000, [8_640, 18_000])
    assert_lines_add_up(stored)
    row = await order_row(order.id)
    assert (row["total_fen"], row["discount_fen"]) == (26_640 - 3_000, 3_000)
    assert promotions.Saving.from_params(row["discount_params"]).promo_id == largest.id
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 23_640

    # Below ¥200 but over ¥100: the ¥100 offer it was placed with gives ¥5.00.
    await approvals.adjust(t.manager, order.id, [approvals.LineChange(b.id, 6)], "减量", now=NOW)
    stored = await lines_of(order.id)
    assert [ln["discount_fen"] for ln in stored] == promotions.spread(500, [8_640, 6_000])
    row = await order_row(order.id)
    assert (row["total_fen"], row["discount_fen"]) == (14_140, 500)
    view = await orders.get_order(w.buyer, order.id)
    assert view.saving.promo_id == smallest.id and view.goods_fen == 14_640
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 14_140
    assert await reserved(w.sku) == 48 and await reserved(w.sku2) == 6

    # Below every threshold: no saving, and the terms stay for a later change.
    await approvals.adjust(
        t.manager,
        order.id,
        [approvals.LineChange(a.id, 12), approvals.LineChange(b.id, 6)],
        "再减",
        now=NOW,
    )
    row = await order_row(order.id)
    assert (row["total_fen"], row["discount_fen"]) == (8_160, 0)
    assert (await orders.get_order(w.buyer, order.id)).saving is None
    await approvals.adjust(t.manager, order.id, [approvals.LineChange(a.id, 48)], "加回", now=NOW)
    assert (await order_row(order.id))["discount_fen"] == 500

    # Back over it: the recorded terms apply again.
    await approvals.adjust(t.manager, order.id, [approvals.LineChange(b.id, 12)], "恢复", now=NOW)
    stored = await lines_of(order.id)
    assert [ln["discount_fen"] for ln in stored] == [628, 872]
    assert (await order_row(order.id))["total_fen"] == 19_140
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 19_140
    assert await reserved(w.sku2) == 12


async def test_lowering_an_order_whose_gift_ran_short_keeps_the_gift_within_stock(db):
    t = await team(on_hand=200)
    w = t.w
    c300 = await gift_sku(w.warehouse, 3)
    await rule("total_at_least", "sales_manager", amount_fen=1)
    await buy_get("A100", 10, "C300", 1)
    order = (await submit(w, [LineRequest(qty=50, sku_code="A100")])).order
    bought, gift = order.lines
    assert gift.qty == 3  # 5 earned, 3 in stock
    try:
        await approvals.adjust(
            t.manager, order.id, [approvals.LineChange(bought.id, 40)], "客户减量", now=NOW
        )
    except ValidationFailed as exc:
        pytest.fail(f"refused: {[(e.field, e.message % e.params) for e in exc.errors]}")
    stored = await lines_of(order.id)
    assert [(ln["sku_code"], ln["qty"]) for ln in stored] == [("A100", 40), ("C300", 3)]
    assert await reserved(c300) == 3


# --- 6. administration --------------------------------------------------------------------


async def assert_nothing_written() -> None:
    assert await Promotion.count() == 0
    assert await AuditEntry.count() == 0


async def test_invalid_promotions_are_refused_field_by_field_and_nothing_is_written(db):
    w = await world()
    admin = await an_admin()
    drinks = await f.category("饮料")
    start, end = window()
    good = [
        PromoData(kind="percent_off", percent_bp=1000),
        PromoData(kind="spend_save", threshold_fen=10_000, save_fen=500),
        PromoData(kind="buy_get", sku_code="A100", buy_qty=10, gift_sku_code="B200", gift_qty=1),
    ]
    cases = [
        (dict(name="  "), "percent_off", "name"),
        (dict(name="长" * 61), "percent_off", "name"),
        (dict(kind="bogus"), None, "kind"),
        (dict(starts_on=None), "percent_off", "starts_on"),
        (dict(ends_on=None), "percent_off", "ends_on"),
        (dict(ends_on=start - timedelta(days=1)), "percent_off", "ends_on"),
        (dict(ends_on=start + timedelta(days=promotions.MAX_DAYS + 1)), "percent_off", "ends_on"),
        (dict(tier_id=999_999), "percent_off", "tier"),
        (dict(percent_bp=0), "percent_off", "percent"),
        (dict(percent_bp=10_000), "percent_off", "percent"),
        (dict(percent_bp=-5), "percent_off", "percent"),
        (dict(percent_bp=None), "percent_off", "percent"),
        (dict(percent_bp=True), "percent_off", "percent"),
        (dict(sku_code="NOPE"), "percent_off", "sku"),
        (dict(sku_code="A100", category_id=drinks["id"]), "percent_off", "sku"),
        (dict(category_id=999_999), "percent_off", "category"),
        (dict(save_fen=10_000), "spend_save", "save"),
        (dict(save_fen=10_001), "spend_save", "save"),
        (dict(save_fen=0), "spend_save", "save"),
        (dict(threshold_fen=0), "spend_save", "threshold"),
        (dict(threshold_fen=promotions.MAX_AMOUNT_FEN + 1), "spend_save", "threshold"),
        (dict(sku_code=""), "buy_get", "sku"),
        (dict(sku_code="NOPE"), "buy_get", "sku"),
        (dict(gift_sku_code=""), "buy_get", "gift_sku"),
        (dict(gift_sku_code="NOPE"), "buy_get", "gift_sku"),
        (dict(buy_qty=0), "buy_get", "buy_qty"),
        (dict(gift_qty=0), "buy_get", "gift_qty"),
        (dict(gift_qty=promotions.MAX_QTY + 1), "buy_get", "gift_qty"),
    ]
    by_kind = {d.kind: d for d in good}
    for change, kind, field in cases:
        base = by_kind[kind] if kind else PromoData()
        data = PromoData(
            **{
                **base.__dict__,
                "name": "促销",
                "starts_on": start,
                "ends_on": end,
                **change,
            }
        )
        with pytest.raises(ValidationFailed) as err:
            await promotions.create(admin, data, now=NOW)
        fields = {e.field for e in err.value.errors}
        assert field in fields, (change, kind, fields)
        await assert_nothing_written()
    # The same data, made valid, is taken.
    for data in good:
        data.name, data.starts_on, data.ends_on = "ok", start, end
        await promotions.create(admin, data, now=NOW)
    assert await Promotion.count() == 3
    assert {p.kind for p in await promotions.list_promotions(admin)} == set(promotions.KINDS)
    assert w.sku["code"] == "A100" and w.sku2["code"] == "B200"  # the SKUs the codes name


async def test_every_problem_is_named_at_once(db):
    admin = await an_admin()
    with pytest.raises(ValidationFailed) as err:
        await promotions.create(
            admin,
            PromoData(
                name="",
                kind="spend_save",
                starts_on=date(2026, 12, 10),
                ends_on=date(2026, 12, 1),
                threshold_fen=500,
                save_fen=500,
            ),
            now=NOW,
        )
    assert {e.field for e in err.value.errors} == {"name", "ends_on", "save"}
    await assert_nothing_written()


async def test_an_invalid_update_changes_nothing(db):
    await world()
    admin = await an_admin()
    p = await percent_off(1000, by=admin, sku_code="A100", name="九折")
    before = await Promotion.select().where(Promotion.id == p.id).first()
    audits = await AuditEntry.count()
    for change in (
        dict(percent_bp=10_000),
        dict(name=""),
        dict(sku_code="NOPE"),
        dict(ends_on=p.starts_on - timedelta(days=1)),
    ):
        data = promotions.data_of(p)
        for k, v in change.items():
            setattr(data, k, v)
        with pytest.raises(ValidationFailed):
            await promotions.update(admin, p.id, data, now=NOW)
    assert await Promotion.select().where(Promotion.id == p.id).first() == before
    assert await AuditEntry.count() == audits
    with pytest.raises(NotFound):
        await promotions.update(admin, 999_999, promotions.data_of(p), now=NOW)
    with pytest.raises(NotFound):
        await promotions.set_active(admin, 999_999, False, now=NOW)


async def test_only_an_administrator_manages_promotions(db):
    w = await world()
    admin = await an_admin()
    p = await percent_off(1000, by=admin)
    audits = await AuditEntry.count()
    start, end = window()
    data = PromoData(name="越权", kind="percent_off", starts_on=start, ends_on=end, percent_bp=9000)
    others = [
        f.actor(await f.user(role))
        for role in ("sales_manager", "sales_rep", "finance", "warehouse")
    ]
    others += [w.buyer, f.actor(await f.user("dealer_admin", w.dealer))]
    for who in others:
        with pytest.raises(Forbidden):
            await promotions.create(who, data, now=NOW)
        with pytest.raises(Forbidden):
            await promotions.update(who, p.id, data, now=NOW)
        with pytest.raises(Forbidden):
            await promotions.set_active(who, p.id, False, now=NOW)
        with pytest.raises(Forbidden):
            await promotions.list_promotions(who)
        with pytest.raises(Forbidden):
            await promotions.get_promotion(who, p.id)
    assert await Promotion.count() == 1
    row = await Promotion.select().where(Promotion.id == p.id).first()
    assert (row["percent_bp"], row["active"]) == (1000, True)
    assert await AuditEntry.count() == audits


async def test_each_change_is_audited(db):
    w = await world()
    admin = await an_admin()
    start, end = window()
    created = await promotions.create(
        admin,
        PromoData(
            name=" 买十送一 ",
            kind="buy_get",
            starts_on=start,
            ends_on=end,
            tier_id=w.tier["id"],
            sku_code=w.sku["barcode"],  # a barcode names the SKU too
            buy_qty=10,
            gift_sku_code="B200",
            gift_qty=1,
        ),
        now=NOW,
    )
    assert (created.name, created.sku_id, created.gift_sku_id) == (
        "买十送一",
        w.sku["id"],
        w.sku2["id"],
    )
    assert (created.sku_code, created.gift_code, created.tier_name) == (
        "A100",
        "B200",
        "一级经销商",
    )
    entry = await AuditEntry.select().where(AuditEntry.action == "promotion.created").first()
    assert (entry["entity"], entry["entity_id"], entry["actor"]) == (
        "promotion",
        str(created.id),
        admin.user_id,
    )
    after = json.loads(entry["after"])
    assert after["name"] == "买十送一" and after["kind"] == "buy_get"
    assert (after["sku"], after["gift_sku"], after["buy_qty"], after["gift_qty"]) == (
        w.sku["id"],
        w.sku2["id"],
        10,
        1,
    )
    assert after["starts_on"] == start.isoformat() and after["tier"] == w.tier["id"]

    data = promotions.data_of(created)
    data.gift_qty = 2
    updated = await promotions.update(admin, created.id, data, now=NOW + timedelta(minutes=1))
    assert updated.gift_qty == 2
    entry = await AuditEntry.select().where(AuditEntry.action == "promotion.updated").first()
    assert json.loads(entry["before"])["gift_qty"] == 1
    assert json.loads(entry["after"])["gift_qty"] == 2

    paused = await promotions.set_active(admin, created.id, False, now=NOW + timedelta(minutes=2))
    assert paused.active is False and paused.state(NOW_DAY) == "paused"
    entries = (
        await AuditEntry.select().where(AuditEntry.entity == "promotion").order_by(AuditEntry.id)
    )
    assert [e["action"] for e in entries] == [
        "promotion.created",
        "promotion.updated",
        "promotion.updated",
    ]
    last = entries[-1]
    assert json.loads(last["before"])["active"] is True
    assert json.loads(last["after"])["active"] is False
    assert all(e["entity_id"] == str(created.id) for e in entries)
    listed = await promotions.list_promotions(admin)
    assert [(p.id, p.active, p.gift_qty) for p in listed] == [(created.id, False, 2)]


# --- 7. the arithmetic of a saving ---------------------------------------------------------


def test_spread_examples():
    assert promotions.spread(100, [100, 100, 100]) == [34, 33, 33]  # ties to the earlier line
    assert promotions.spread(1_500, [8_640, 12_000]) == [628, 872]
    assert promotions.spread(10, [0, 5, 5]) == [0, 5, 5]
    assert promotions.spread(50, [10, 20]) == [10, 20]  # never more than the lines
    assert promotions.spread(0, [10, 20]) == [0, 0]
    assert promotions.spread(-5, [10, 20]) == [0, 0]
    assert promotions.spread(5, [0, 0]) == [0, 0]
    assert promotions.spread(5, []) == []
    assert promotions.spread(1, [3, 1]) == [1, 0]


@given(
    amount=st.integers(-100, 10**9),
    totals=st.lists(st.integers(0, 10**8), min_size=0, max_size=12),
)
def test_spread_is_exact_proportional_and_never_beyond_a_line(amount, totals):
    shares = promotions.spread(amount, totals)
    assert len(shares) == len(totals)
    whole = sum(totals)
    if amount <= 0 or whole <= 0:
        assert shares == [0] * len(totals)
        return
    spent = min(amount, whole)
    assert sum(shares) == spent
    for share, total in zip(shares, totals, strict=True):
        exact = Fraction(spent * total, whole)
        assert floor(exact) <= share <= ceil(exact)
        assert 0 <= share <= total


def test_portion_and_units_value_examples():
    assert promotions.portion_fen(1_294, 3, 7) == 555
    assert promotions.portion_fen(1_294, 7, 7) == 1_294
    assert promotions.portion_fen(1_294, 0, 7) == 0
    assert promotions.portion_fen(1_001, 1, 2) == 501  # ¥5.005 half-up
    assert promotions.portion_fen(100, 1, 0) == 0
    assert promotions.units_value(200, 1_294, 7, 3, 5) == 924 - 555
    # Without a saving: exactly unit price × units.
    assert promotions.units_value(199, 199 * 7, 7, 2, 5) == 3 * 199
    assert promotions.units_value(0, 0, 4, 0, 4) == 0  # a gift


@given(
    unit=st.integers(0, 100_000),
    qty=st.integers(1, 500),
    data=st.data(),
)
def test_the_pieces_of_a_line_add_up_to_its_total(unit, qty, data):
    gross = unit * qty
    share = data.draw(st.integers(0, gross))
    total = gross - share
    cuts = sorted(data.draw(st.lists(st.integers(0, qty), max_size=6)))
    bounds = [0, *cuts, qty]
    pieces = [
        promotions.units_value(unit, total, qty, a, b)
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    assert sum(pieces) == total
    assert all(p >= 0 for p in pieces)
    for (a, b), piece in zip(zip(bounds, bounds[1:], strict=False), pieces, strict=True):
        portion = promotions.portion_fen(total, b, qty) - promotions.portion_fen(total, a, qty)
        assert piece == portion
        if share == 0:
            assert piece == unit * (b - a)
        # No piece is worth more than the same units at the undiscounted price (+ rounding).
        assert piece <= unit * (b - a) + 1


def test_best_and_next_saving_and_gift_quantity():
    def p(pid, threshold, save):
        return promotions.Promo(
            id=pid,
            name=f"p{pid}",
            kind=promotions.SPEND_SAVE,
            active=True,
            starts_on=NOW_DAY,
            ends_on=NOW_DAY,
            threshold_fen=threshold,
            save_fen=save,
        )

    offers = [p(1, 10_000, 500), p(2, 20_000, 1_500), p(3, 15_000, 1_500), p(4, 30_000, 3_000)]
    assert promotions.best_saving(offers, 9_999) is None
    assert promotions.best_saving(offers, 10_000).promo_id == 1
    assert promotions.best_saving(offers, 25_000).promo_id == 2  # a tie: the earlier
    nxt = promotions.next_saving(offers, 12_000, promotions.best_saving(offers, 12_000))
    assert (nxt.more_fen, nxt.save_fen) == (3_000, 1_500)
    assert promotions.next_saving(offers, 30_000, promotions.best_saving(offers, 30_000)) is None
    saving = promotions.best_saving(offers, 20_000)
    assert promotions.Saving.from_params(saving.params()) == saving
    assert saving.earned(19_999) == 0 and saving.earned(20_000) == 1_500
    assert promotions.Saving.from_params("") is None
    assert promotions.gift_quantity(50, 24, 2) == 4
    assert promotions.gift_quantity(23, 24, 2) == 0
    assert promotions.gift_quantity(50, 0, 2) == 0


async def test_a_promotion_on_a_product_the_dealer_may_not_see_is_neither_shown_nor_given(db):
    """A gift listed to other tiers only must not land on this dealer's order, nor its offer
    show on this dealer's list of promotions (its code and name are the supplier's to keep)."""
    w = await world()
    c300 = await gift_sku(w.warehouse, 100)
    await Product.update({Product.visibility: "restricted"}).where(Product.id == c300["product"])
    await buy_get("B200", 6, "C300", 1)
    await percent_off(1000, sku_code="C300")
    order = (await submit(w, [LineRequest(qty=12, sku_code="B200")])).order
    assert gift_lines(order) == [] and await reserved(c300) == 0
    shown = await promotions.running_for(w.buyer, w.dealer, now=NOW)
    assert shown == []
    # Listed to the dealer's tier: offered and given.
    await ProductVisibility.insert(ProductVisibility(product=c300["product"], tier=w.tier["id"]))
    again = (await submit(w, [LineRequest(qty=12, sku_code="B200")], key="k2")).order
    assert [ln.sku_code for ln in gift_lines(again)] == ["C300"]
    assert len(await promotions.running_for(w.buyer, w.dealer, now=NOW)) == 2
