"""Submitting and cancelling orders: prices, credit, stock, numbers, idempotency, timeline, audit.

Runs on SQLite and PostgreSQL. The helpers here (world, figures) are shared by the other
order test modules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.db import current_engine, is_sqlite, write_transaction
from portal.domain import orders, stock, supplier
from portal.domain.errors import (
    Conflict,
    CreditExceeded,
    Forbidden,
    InsufficientStock,
    ValidationFailed,
)
from portal.domain.quantities import LineRequest
from portal.domain.scope import Actor
from portal.tables import (
    Address,
    AuditEntry,
    Dealer,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    Reservation,
    StockLevel,
    TierPrice,
)
from tests import factories as f
from tests.db.test_pricing_db import QueryCounter

# 02:00 UTC is 10:00 in Shanghai: the order number carries 2026-11-25.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@dataclass
class World:
    warehouse: dict
    tier: dict
    dealer: dict
    buyer_row: dict
    buyer: Actor
    sku: dict  # A100: list ¥2.00/瓶, tier ¥1.80, from 10 箱 ¥1.60; 1 箱 = 24 瓶
    sku2: dict  # B200: list ¥10.00/件, no tier price, MOQ 6 in multiples of 6


async def world(
    *,
    credit_limit_fen: int = 10_000_000,
    on_hand: int = 1000,
    on_hand2: int = 100,
    **dealer_extra,
) -> World:
    wh = await f.warehouse(name="华东仓")
    tier = await f.tier(name="一级经销商")
    dealer = await f.dealer(
        tier, credit_limit_fen=credit_limit_fen, default_warehouse=wh, **dealer_extra
    )
    buyer_row = await f.user("dealer_buyer", dealer)
    sku = await f.sku(code="A100", name="农夫山泉 550ml", base_price_fen=200)
    await f.tier_price(tier, sku, price_fen=180)
    await f.volume_break(tier, sku, 240, 160)
    sku2 = await f.sku(
        code="B200",
        name="洗衣液 2kg",
        base_price_fen=1000,
        base_unit="件",
        pack=None,
        moq=6,
        order_multiple=6,
    )
    await f.stock(sku, wh, on_hand)
    await f.stock(sku2, wh, on_hand2)
    return World(wh, tier, dealer, buyer_row, f.actor(buyer_row), sku, sku2)


async def dealer_now(dealer: dict) -> dict:
    return await Dealer.select().where(Dealer.id == dealer["id"]).first()


async def reserved(sku: dict) -> int:
    rows = await StockLevel.select(StockLevel.reserved).where(StockLevel.sku == sku["id"])
    return sum(r["reserved"] for r in rows)


async def assert_nothing_written(w: World) -> None:
    assert await Order.count() == 0
    assert await OrderLine.count() == 0
    assert await Reservation.count() == 0
    assert await OrderEvent.count() == 0
    assert await IdempotencyKey.count() == 0
    # The day's order counter is taken before the submission's transaction, so a refused
    # submission may leave a gap in the numbers (never a duplicate); nothing else is written.
    assert await AuditEntry.count() == 0
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 0
    assert await reserved(w.sku) == 0
    assert await reserved(w.sku2) == 0


# A supplier that shows dealers stock numbers: refusals here carry the figures.
SHOWN = supplier.Defaults(show_stock_numbers=True)


async def submit(w: World, lines, key="k1", actor=None, **kw):
    kw.setdefault("stock_defaults", SHOWN)
    return await orders.submit_order(
        actor or w.buyer, w.dealer["id"], lines, idempotency_key=key, now=kw.pop("now", NOW), **kw
    )


# --- the happy path ------------------------------------------------------------------------


async def test_submit_reserves_prices_numbers_and_records(db):
    w = await world()
    result = await submit(
        w,
        [
            LineRequest(qty=2, sku_code="A100", unit="箱"),  # 48 瓶 at the tier price
            LineRequest(qty=12, sku_id=w.sku2["id"]),  # 12 件 at the list price
        ],
        note="  请周五前送到  ",
        requested_date=date(2026, 11, 28),
    )
    assert result.created is True
    order = result.order
    assert order.number == "SO-20261125-0001"
    assert order.status == "approved"
    assert order.dealer_id == w.dealer["id"] and order.dealer_name == w.dealer["name"]
    assert order.placed_by_name == w.buyer.name and order.rep_name == ""
    assert order.note == "请周五前送到" and order.requested_date == date(2026, 11, 28)
    assert "张江路" in order.ship_to
    assert order.total_fen == 48 * 180 + 12 * 1000
    assert order.list_total_fen == 48 * 200 + 12 * 1000
    assert order.can_cancel is False  # approved: the dealer's rep or the supplier cancels it

    a, b = order.lines
    assert (a.sku_code, a.qty, a.unit, a.unit_price_fen, a.list_price_fen) == (
        "A100",
        48,
        "瓶",
        180,
        200,
    )
    assert a.line_total_fen == 8640 and a.price_rule == "tier"
    assert a.price_rule_params == {"tier": "一级经销商"}
    assert (b.sku_code, b.qty, b.price_rule, b.line_total_fen) == ("B200", 12, "base", 12000)

    stored = await OrderLine.select(OrderLine.dealer).where(OrderLine.order == order.id)
    assert [ln["dealer"] for ln in stored] == [w.dealer["id"]] * 2
    assert await reserved(w.sku) == 48 and await reserved(w.sku2) == 12
    assert (await dealer_now(w.dealer))["open_orders_fen"] == order.total_fen
    res = await Reservation.select().order_by(Reservation.id)
    assert sorted((r["order_line"], r["qty"]) for r in res) == sorted([(a.id, 48), (b.id, 12)])

    assert [(e.kind, e.from_status, e.to_status) for e in order.events] == [
        ("submitted", "", "pending_approval"),
        ("auto_approved", "pending_approval", "approved"),
    ]
    assert order.events[0].actor_name == w.buyer.name

    entry = await AuditEntry.select().where(AuditEntry.action == "order.submitted").first()
    assert entry["entity"] == "order" and entry["entity_id"] == str(order.id)
    assert entry["actor"] == w.buyer.user_id
    after = json.loads(entry["after"])
    assert after["number"] == order.number and after["total_fen"] == order.total_fen
    assert after["status"] == "approved" and len(after["reserved"]) == 2

    second = await submit(w, [LineRequest(qty=1, sku_id=w.sku["id"])], key="k2")
    assert second.order.number == "SO-20261125-0002"


async def test_volume_break_snapshot_and_later_price_changes_do_not_touch_the_order(db):
    w = await world()
    result = await submit(w, [LineRequest(qty=10, sku_code="A100", unit="箱")])
    line = result.order.lines[0]
    assert (line.qty, line.unit_price_fen, line.price_rule) == (240, 160, "volume_break")
    assert line.price_rule_params["min_qty"] == 240
    assert line.price_rule_label  # rendered from the stored params

    await TierPrice.update({TierPrice.price_fen: 999}).where(TierPrice.sku == w.sku["id"])
    again = await orders.get_order(w.buyer, result.order.id)
    assert again.lines[0].unit_price_fen == 160 and again.total_fen == 240 * 160


async def test_order_number_uses_the_shanghai_date_and_restarts_daily(db):
    w = await world()
    late = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)  # 00:30 on the 26th in Shanghai
    r1 = await submit(w, [LineRequest(qty=1, sku_code="A100")], key="a", now=late)
    r2 = await submit(w, [LineRequest(qty=1, sku_code="A100")], key="b", now=NOW)
    r3 = await submit(w, [LineRequest(qty=1, sku_code="A100")], key="c", now=late)
    assert r1.order.number == "SO-20261126-0001"
    assert r2.order.number == "SO-20261125-0001"
    assert r3.order.number == "SO-20261126-0002"
    assert re.fullmatch(r"SO-\d{8}-\d{4}", r3.order.number)


async def test_duplicate_lines_for_one_sku_are_merged(db):
    w = await world()
    result = await submit(
        w,
        [LineRequest(qty=1, sku_code="A100", unit="箱"), LineRequest(qty=6, sku_id=w.sku["id"])],
    )
    assert [(ln.sku_code, ln.qty) for ln in result.order.lines] == [("A100", 30)]


async def test_a_split_across_warehouses_starts_with_the_default(db):
    w = await world(on_hand=5)
    far = await f.warehouse(name="华南仓", priority=2)
    near = await f.warehouse(name="华北仓", priority=1)
    await f.stock(w.sku, far, 100)
    await f.stock(w.sku, near, 4)
    await submit(w, [LineRequest(qty=12, sku_code="A100")])
    rows = {
        r["warehouse"]: r["reserved"]
        for r in await StockLevel.select().where(StockLevel.sku == w.sku["id"])
    }
    assert rows == {w.warehouse["id"]: 5, near["id"]: 4, far["id"]: 3}
    assert await Reservation.count() == 3


# --- refusals: nothing written ---------------------------------------------------------------


async def test_over_credit_is_refused_with_the_figures_and_nothing_written(db):
    # Limit ¥100.00, ¥20.00 already owed: ¥80.00 available; the order is ¥120.00.
    w = await world(credit_limit_fen=10_000, balance_fen=2_000)
    with pytest.raises(CreditExceeded) as err:
        await submit(w, [LineRequest(qty=12, sku_code="B200")])
    e = err.value
    assert e.params == {"available": "¥80.00", "total": "¥120.00"}
    assert e.extra["available"] == "80.00" and e.extra["order_total"] == "120.00"
    await assert_nothing_written(w)


async def test_over_credit_and_short_of_stock_says_both(db):
    """Refused for credit, an order also short of stock names its short lines in the same
    refusal (with the figure where the reader may see it), so that both are fixed at once."""
    # ¥80.00 available; B200 has 12 in stock, 18 asked: ¥180.00.
    w = await world(credit_limit_fen=10_000, balance_fen=2_000, on_hand2=12)
    lines = [LineRequest(qty=18, sku_code="B200"), LineRequest(qty=1, sku_code="A100")]
    with pytest.raises(CreditExceeded) as err:
        await submit(w, lines)
    e = err.value
    assert e.params == {"available": "¥80.00", "total": "¥181.80"}
    assert e.extra["short_lines"] == [{"sku": "B200", "requested": 18, "available": 12}]
    assert [(x.field, x.params) for x in e.errors] == [
        ("lines[0]", {"sku": "B200", "requested": 18, "unit": "件", "available": 12})
    ]
    # Where the supplier does not show stock figures, a dealer hears that it is short only.
    with pytest.raises(CreditExceeded) as err:
        await submit(w, lines, key="k2", stock_defaults=orders.NO_STOCK_NUMBERS)
    assert err.value.extra["short_lines"] == [{"sku": "B200", "requested": 18, "available": None}]
    assert "available" not in err.value.errors[0].params
    # Enough stock: the credit refusal alone, as before.
    with pytest.raises(CreditExceeded) as err:
        await submit(w, [LineRequest(qty=12, sku_code="B200")], key="k3")
    assert err.value.errors == [] and "short_lines" not in err.value.extra
    await assert_nothing_written(w)


async def test_open_orders_count_against_credit(db):
    w = await world(credit_limit_fen=20_000)
    await submit(w, [LineRequest(qty=12, sku_code="B200")], key="first")  # ¥120.00
    with pytest.raises(CreditExceeded) as err:
        await submit(w, [LineRequest(qty=12, sku_code="B200")], key="second")
    assert err.value.extra["available"] == "80.00"
    assert await Order.count() == 1


async def test_tolerance_lets_an_order_through(db):
    w = await world(credit_limit_fen=10_000, credit_tolerance_fen=2_000)
    result = await submit(w, [LineRequest(qty=12, sku_code="B200")])  # ¥120 on ¥100 + ¥20
    assert result.order.status == "approved"
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 12_000


async def test_the_supplier_tolerance_lets_an_order_through_and_no_further(db):
    # ¥120.00 on a ¥100.00 limit: the supplier's 20 % lets it through, where the dealer has
    # no tolerance of its own; the next ¥120.00 would take it ¥140 over.
    w = await world(credit_limit_fen=10_000)
    admin = f.actor(await f.user("admin"))
    settings = supplier.SettingsInput(name="润川", credit_tolerance_percent="20")
    await supplier.save(admin, settings, supplier.Defaults())
    result = await submit(w, [LineRequest(qty=12, sku_code="B200")], key="first")
    assert result.order.status == "approved"
    with pytest.raises(CreditExceeded) as err:
        await submit(w, [LineRequest(qty=12, sku_code="B200")], key="second")
    assert err.value.extra["tolerance"] == "20.00" and err.value.extra["available"] == "-20.00"
    # The message says what the tolerance allows: "available −¥20" alone reads as a mistake.
    assert err.value.params == {"available": "-¥20.00", "total": "¥120.00", "tolerance": "¥20.00"}
    # The dealer's own tolerance counts where it is the greater.
    await Dealer.update({Dealer.credit_tolerance_fen: 15_000}).where(Dealer.id == w.dealer["id"])
    again = await submit(w, [LineRequest(qty=12, sku_code="B200")], key="third")
    assert again.order.status == "approved"
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 24_000


async def test_short_stock_names_every_short_line_and_writes_nothing(db):
    w = await world(on_hand=10, on_hand2=6)
    extra = await f.sku(code="C300", name="矿泉水 1.5L", base_price_fen=300)
    await f.stock(extra, w.warehouse, 500)
    with pytest.raises(InsufficientStock) as err:
        await submit(
            w,
            [
                LineRequest(qty=12, sku_code="A100"),
                LineRequest(qty=5, sku_code="C300"),
                LineRequest(qty=12, sku_code="B200"),
            ],
        )
    e = err.value
    assert e.extra["lines"] == [
        {"sku": "A100", "requested": 12, "available": 10},
        {"sku": "B200", "requested": 12, "available": 6},
    ]
    assert [x.field for x in e.errors] == ["lines[0]", "lines[2]"]
    assert e.errors[0].params["sku"] == "A100" and e.errors[0].params["available"] == 10
    assert "A100" in str(e) and "B200" in str(e)
    await assert_nothing_written(w)
    assert await reserved(extra) == 0


async def test_the_guarded_stock_update_refuses_what_the_locked_read_got_wrong(db, monkeypatch):
    """The stock rows are raised in the submission's last statement, guarded by
    on_hand - reserved >= qty. Were the read under the lock ever wrong (here: it is told of
    900 more on hand), the guard refuses the order and nothing is left written."""
    w = await world(on_hand=10)
    read = stock._lock_rows_and_warehouses

    async def stale(sku_ids):
        rows, warehouses = await read(sku_ids)
        return [{**r, "on_hand": r["on_hand"] + 900} for r in rows], warehouses

    monkeypatch.setattr(stock, "_lock_rows_and_warehouses", stale)
    with pytest.raises(InsufficientStock) as err:
        await submit(w, [LineRequest(qty=12, sku_code="A100"), LineRequest(qty=6, sku_code="B200")])
    assert err.value.extra["lines"] == [{"sku": "A100", "requested": 12, "available": 10}]
    await assert_nothing_written(w)


async def test_a_sku_without_any_stock_row_is_short(db):
    w = await world()
    bare = await f.sku(code="D400", name="无库存商品")
    with pytest.raises(InsufficientStock) as err:
        await submit(w, [LineRequest(qty=1, sku_id=bare["id"])])
    assert err.value.extra["lines"] == [{"sku": "D400", "requested": 1, "available": 0}]


async def test_invalid_lines_are_all_reported_with_sku_and_rule(db):
    w = await world()
    with pytest.raises(ValidationFailed) as err:
        await submit(
            w,
            [
                LineRequest(qty=4, sku_code="B200"),  # under MOQ 6
                LineRequest(qty=2, sku_code="A100", unit="托"),  # unknown unit
                LineRequest(qty=1, sku_code="NOPE"),  # no such SKU
                LineRequest(qty=0, sku_code="A100"),  # not positive
            ],
        )
    errors = err.value.errors
    by_field = {}
    for e in errors:
        by_field.setdefault(e.field, e)
    assert by_field["lines[0]"].params["sku"] == "B200"
    assert any("%(moq)s" in e.message for e in errors if e.field == "lines[0]")
    assert by_field["lines[1]"].params["unit"] == "托"
    assert by_field["lines[2]"].params["sku"] == "NOPE"
    assert by_field["lines[3]"].params["sku"] == "A100"
    await assert_nothing_written(w)


async def test_no_lines_past_date_long_note_and_bad_key_are_refused(db):
    w = await world()
    with pytest.raises(ValidationFailed):
        await submit(w, [])
    with pytest.raises(ValidationFailed) as err:
        await submit(w, [LineRequest(qty=1, sku_code="A100")], requested_date=date(2026, 11, 24))
    assert err.value.errors[0].field == "requested_date"
    with pytest.raises(ValidationFailed):
        await submit(w, [LineRequest(qty=1, sku_code="A100")], note="长" * 501)
    with pytest.raises(ValidationFailed):
        await submit(w, [LineRequest(qty=1, sku_code="A100")], key="  ")
    other = await f.dealer()
    other_address = (await Address.select().where(Address.dealer == other["id"]))[0]
    with pytest.raises(ValidationFailed) as err:
        await submit(w, [LineRequest(qty=1, sku_code="A100")], address_id=other_address["id"])
    assert err.value.errors[0].field == "address_id"
    await assert_nothing_written(w)


async def test_an_inactive_sku_cannot_be_ordered(db):
    w = await world()
    await OrderLine.raw("UPDATE sku SET active = {} WHERE id = {}", False, w.sku["id"])
    with pytest.raises(ValidationFailed) as err:
        await submit(w, [LineRequest(qty=1, sku_id=w.sku["id"])])
    assert err.value.errors[0].params["sku"] == f"#{w.sku['id']}"


# --- idempotency -------------------------------------------------------------------------------


async def test_the_same_key_and_body_returns_the_first_order(db):
    w = await world()
    lines = [LineRequest(qty=2, sku_code="A100", unit="箱")]
    first = await submit(w, lines, key="tap-1")
    again = await submit(w, list(lines), key="tap-1")
    assert first.created is True and again.created is False
    assert again.order.id == first.order.id and again.order.number == first.order.number
    assert await Order.count() == 1
    assert await reserved(w.sku) == 48
    assert (await dealer_now(w.dealer))["open_orders_fen"] == first.order.total_fen


async def test_a_different_body_under_a_used_key_is_a_conflict(db):
    w = await world()
    await submit(w, [LineRequest(qty=2, sku_code="A100")], key="tap-1")
    with pytest.raises(Conflict):
        await submit(w, [LineRequest(qty=3, sku_code="A100")], key="tap-1")
    with pytest.raises(Conflict):
        await submit(w, [LineRequest(qty=2, sku_code="A100")], key="tap-1", note="x")
    assert await Order.count() == 1


async def test_keys_belong_to_one_user(db):
    w = await world()
    colleague = f.actor(await f.user("dealer_admin", w.dealer))
    a = await submit(w, [LineRequest(qty=1, sku_code="A100")], key="same")
    b = await submit(w, [LineRequest(qty=1, sku_code="A100")], key="same", actor=colleague)
    assert a.order.id != b.order.id and b.created is True


async def test_a_refused_submission_does_not_use_up_its_key(db):
    w = await world(on_hand=1)
    with pytest.raises(InsufficientStock):
        await submit(w, [LineRequest(qty=5, sku_code="A100")], key="retry")
    await StockLevel.update({StockLevel.on_hand: 10}).where(StockLevel.sku == w.sku["id"])
    result = await submit(w, [LineRequest(qty=5, sku_code="A100")], key="retry")
    assert result.created is True


# --- cancellation ------------------------------------------------------------------------------


async def test_cancel_releases_stock_and_exposure(db):
    w = await world()
    order = (await submit(w, [LineRequest(qty=24, sku_code="A100")])).order
    later = NOW + timedelta(hours=1)
    admin = f.actor(await f.user("admin"))
    view = await orders.cancel_order(admin, order.id, "下错了", now=later)
    assert view.status == "cancelled" and view.can_cancel is False
    stamp = await Order.select(Order.updated_at).where(Order.id == order.id).first()
    assert stamp["updated_at"] == later
    assert await reserved(w.sku) == 0
    assert await Reservation.count() == 0
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 0
    last = view.events[-1]
    assert (last.kind, last.from_status, last.to_status, last.note) == (
        "cancelled",
        "approved",
        "cancelled",
        "下错了",
    )
    assert last.actor_name == admin.name
    entry = await AuditEntry.select().where(AuditEntry.action == "order.cancelled").first()
    assert json.loads(entry["before"])["status"] == "approved"
    assert json.loads(entry["after"])["dealer_open_orders_fen"] == 0
    with pytest.raises(Conflict):
        await orders.cancel_order(admin, order.id)


async def test_cancel_keeps_other_orders_holdings(db):
    w = await world()
    keep = (await submit(w, [LineRequest(qty=10, sku_code="A100")], key="a")).order
    drop = (await submit(w, [LineRequest(qty=20, sku_code="A100")], key="b")).order
    await orders.cancel_order(f.actor(await f.user("admin")), drop.id)
    assert await reserved(w.sku) == 10
    assert (await dealer_now(w.dealer))["open_orders_fen"] == keep.total_fen


async def test_a_shipped_order_cannot_be_cancelled(db):
    w = await world()
    order = (await submit(w, [LineRequest(qty=10, sku_code="A100")])).order
    await Order.update({Order.status: "partially_shipped"}).where(Order.id == order.id)
    admin = f.actor(await f.user("admin"))
    view = await orders.get_order(admin, order.id)
    assert view.can_cancel is False
    with pytest.raises(Conflict):
        await orders.cancel_order(admin, order.id)
    assert await reserved(w.sku) == 10


async def test_warehouse_staff_may_not_cancel(db):
    w = await world()
    order = (await submit(w, [LineRequest(qty=10, sku_code="A100")])).order
    clerk = f.actor(await f.user("warehouse"))
    assert (await orders.get_order(clerk, order.id)).can_cancel is False
    with pytest.raises(Forbidden):  # the role, not the order's state, is what stops them
        await orders.cancel_order(clerk, order.id)


# --- the state machine ---------------------------------------------------------------------


def test_state_machine_is_closed_and_ends_stay_ended():
    assert set(orders.TRANSITIONS) == set(orders.STATUSES)
    for targets in orders.TRANSITIONS.values():
        assert targets <= set(orders.STATUSES)
    for end in ("completed", "rejected", "cancelled"):
        assert orders.TRANSITIONS[end] == set()
    assert orders.can_transition("pending_approval", "approved")
    assert not orders.can_transition("shipped", "cancelled")
    assert set(orders.OPEN_STATUSES) <= set(orders.STATUSES)


async def test_an_illegal_transition_is_a_conflict(db):
    w = await world()
    order = (await submit(w, [LineRequest(qty=1, sku_code="A100")])).order
    await Order.update({Order.status: "completed"}).where(Order.id == order.id)
    with pytest.raises(Conflict):
        async with write_transaction():
            await orders.transition(
                order.id, "completed", "approved", actor=None, kind="approved", now=NOW
            )


# --- listing -------------------------------------------------------------------------------


async def test_list_filters_pages_and_counts_lines(db):
    w = await world()
    made = []
    for i in range(5):
        made.append(
            (
                await submit(
                    w,
                    [LineRequest(qty=1, sku_code="A100"), LineRequest(qty=6, sku_code="B200")],
                    key=f"k{i}",
                    now=NOW + timedelta(minutes=i),
                )
            ).order
        )
    await orders.cancel_order(f.actor(await f.user("admin")), made[0].id)
    page = await orders.list_orders(w.buyer, per_page=2)
    assert [o.id for o in page.items] == [made[4].id, made[3].id]
    assert page.has_more is True and page.total == 5
    assert page.items[0].line_count == 2 and page.items[0].dealer_name == w.dealer["name"]
    last = await orders.list_orders(w.buyer, per_page=2, page=3)
    assert [o.id for o in last.items] == [made[0].id] and last.has_more is False
    cancelled = await orders.list_orders(w.buyer, status="cancelled")
    assert [o.id for o in cancelled.items] == [made[0].id]
    found = await orders.list_orders(w.buyer, q=made[2].number[-4:])
    assert [o.id for o in found.items] == [made[2].id]
    by_name = await orders.list_orders(w.buyer, q=w.dealer["name"][2:5])
    assert by_name.total == 5
    with pytest.raises(ValidationFailed):
        await orders.list_orders(w.buyer, status="nonsense")


# --- deterministic races (a competitor runs at an exact point) ------------------------------


@pytest.fixture
def hooks():
    yield orders._test_hooks
    orders._test_hooks.clear()


async def test_credit_used_between_pricing_and_locking_is_seen(db, hooks):
    w = await world(credit_limit_fen=15_000)
    colleague = f.actor(await f.user("dealer_admin", w.dealer))
    ran = []

    async def competitor():
        if not ran:
            ran.append(True)
            await submit(w, [LineRequest(qty=12, sku_code="B200")], key="c", actor=colleague)

    hooks["before_transaction"] = competitor
    with pytest.raises(CreditExceeded) as err:
        await submit(w, [LineRequest(qty=12, sku_code="B200")], key="me")
    assert ran and err.value.extra["available"] == "30.00"
    assert await Order.count() == 1
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 12_000


async def test_stock_taken_between_pricing_and_locking_is_seen(db, hooks):
    w = await world(on_hand=30)
    rival_dealer = await f.dealer(w.tier, default_warehouse=w.warehouse)
    rival = f.actor(await f.user("dealer_buyer", rival_dealer))
    ran = []

    async def competitor():
        if not ran:
            ran.append(True)
            await orders.submit_order(
                rival, None, [LineRequest(qty=20, sku_code="A100")], idempotency_key="r", now=NOW
            )

    hooks["before_transaction"] = competitor
    with pytest.raises(InsufficientStock) as err:
        await submit(w, [LineRequest(qty=24, sku_code="A100")], key="me")
    assert err.value.extra["lines"] == [{"sku": "A100", "requested": 24, "available": 10}]
    assert await reserved(w.sku) == 20


async def test_a_twin_that_used_up_the_credit_first_is_replayed_not_refused(db, hooks):
    """Deterministic: the same key and body commit first (a double tap) and take all the
    credit; the second gets that order back instead of a credit refusal."""
    w = await world(credit_limit_fen=6_000)
    lines = [LineRequest(qty=6, sku_code="B200")]
    twin: list[orders.SubmitResult] = []

    async def competitor():
        if not twin:
            twin.append(None)
            twin[0] = await submit(w, list(lines), key="tap")

    hooks["before_transaction"] = competitor
    second = await submit(w, list(lines), key="tap")
    assert twin[0].created is True
    assert second.created is False and second.order.id == twin[0].order.id
    assert await Order.count() == 1
    assert (await dealer_now(w.dealer))["open_orders_fen"] == 6_000


async def test_a_submission_runs_a_known_number_of_statements(db):
    """The statement count of a plain submission (no gifts, no approval step), as a guard:
    every round trip costs both processes CPU, and the ones after the stock lock make every
    other order of those SKUs wait. On PostgreSQL: the dealer; the key, address, approval
    rules and recipients; the lines' SKUs by code and by id; the day's counter; the dealer
    charged and locked; the order, its key and its lines as one statement (three on SQLite);
    the stock rows locked; then the stock update, reservations, timeline and audit entry as
    one statement (write_together; four on SQLite). BEGIN and COMMIT are not counted."""
    w = await world()
    await submit(w, [LineRequest(qty=1, sku_id=w.sku["id"])], key="warm")
    with QueryCounter(current_engine()) as counter:
        await submit(
            w, [LineRequest(qty=2, sku_id=w.sku["id"]), LineRequest(qty=6, sku_code="B200")]
        )
    assert counter.count == (14 if is_sqlite(current_engine()) else 9)
