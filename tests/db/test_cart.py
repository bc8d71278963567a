"""The cart: steppers, variant grid, quick order, reorder, details, and submitting it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal import i18n
from portal.domain import cart, orders
from portal.domain.errors import InsufficientStock, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import Address, Cart, CartLine, Dealer, Order, Sku, TierPrice
from tests import factories as f
from tests.db.test_orders import NOW, reserved, world


async def test_set_qty_in_packs_prices_the_line_and_zero_removes_it(db):
    w = await world()
    view = await cart.set_qty(w.buyer, None, w.sku["id"], 2, "箱")
    assert view.count == 1 and view.dealer_id == w.dealer["id"]
    line = view.lines[0]
    assert (line.code, line.qty, line.unit, line.pack_name, line.pack_factor) == (
        "A100",
        48,
        "瓶",
        "箱",
        24,
    )
    assert (line.unit_price_fen, line.rule, line.line_total_fen) == (180, "tier", 8640)
    assert line.next_break is not None and line.next_break.more_qty == 240 - 48
    assert line.errors == [] and line.availability == "in_stock"
    assert view.total_fen == 8640 and view.list_total_fen == 9600
    assert view.credit_available_fen == 10_000_000
    assert view.can_submit

    view = await cart.set_qty(w.buyer, None, w.sku["id"], 240)
    assert view.lines[0].rule == "volume_break" and view.total_fen == 240 * 160
    # More than the 1,000 in stock: the line says it is short, not "in stock", beside the error.
    view = await cart.set_qty(w.buyer, None, w.sku["id"], 1200)
    assert view.lines[0].availability == "short" and view.lines[0].errors
    view = await cart.set_qty(w.buyer, None, w.sku["id"], 0)
    assert view.lines == [] and view.total_fen == 0 and await CartLine.count() == 0


async def test_set_qty_refuses_broken_rules_by_name_and_keeps_the_cart(db):
    w = await world()
    await cart.set_qty(w.buyer, None, w.sku2["id"], 12)
    with pytest.raises(ValidationFailed) as err:
        await cart.set_qty(w.buyer, None, w.sku2["id"], 8)
    assert err.value.params["sku"] == "B200"
    assert any("%(multiple)s" in e.message for e in err.value.errors)
    with pytest.raises(ValidationFailed):
        await cart.set_qty(w.buyer, None, w.sku["id"], 1, "托")
    with pytest.raises(ValidationFailed):
        await cart.set_qty(w.buyer, None, w.sku["id"], -1)
    with pytest.raises(NotFound):
        await cart.set_qty(w.buyer, None, 999_999, 1)
    view = await cart.get_cart(w.buyer, None)
    assert [(ln.code, ln.qty) for ln in view.lines] == [("B200", 12)]


async def test_set_many_is_all_or_nothing_with_an_error_per_sku(db):
    w = await world()
    with pytest.raises(ValidationFailed) as err:
        await cart.set_many(w.buyer, None, {w.sku["id"]: 5, w.sku2["id"]: 7, 424242: 1})
    fields = {e.field for e in err.value.errors}
    assert fields == {str(w.sku2["id"]), "424242"}
    assert await CartLine.count() == 0
    view = await cart.set_many(w.buyer, None, {w.sku["id"]: 5, w.sku2["id"]: 6})
    assert {ln.code: ln.qty for ln in view.lines} == {"A100": 5, "B200": 6}
    view = await cart.set_many(w.buyer, None, {w.sku["id"]: 0})
    assert [ln.code for ln in view.lines] == ["B200"]


async def test_quick_add_reports_each_bad_line_and_adds_nothing_until_all_are_good(db):
    w = await world()
    await cart.set_qty(w.buyer, None, w.sku["id"], 10)
    barcode = w.sku2["barcode"]
    text = "\n".join(
        [
            "A100 1 箱",  # 24 more, added to the 10 already there
            "NOPE 3",  # unknown code
            "B200 4",  # under the MOQ of 6
            "A100 1.5",  # not a whole number
            f"{barcode}\t6",  # by barcode
            "a100 2 托",  # unknown unit (code matched case-insensitively)
        ]
    )
    view, errors = await cart.quick_add(w.buyer, None, text)
    assert {ln.code: ln.qty for ln in view.lines} == {"A100": 10}  # nothing added
    # B200 4 breaks two rules (MOQ 6, multiples of 6): two errors on line 3.
    assert [e.field for e in errors] == ["line 2", "line 3", "line 3", "line 4", "line 6"]
    assert errors[0].params["sku"] == "NOPE"
    assert errors[1].params["line"] == 3 and errors[1].params["problem"].params["sku"] == "B200"
    # Said with its line number, as the other lines' problems are.
    i18n.set_locale("en")
    assert i18n.field_message(errors[1]).startswith("Line 3: B200")
    i18n.set_locale("zh_Hans")
    assert errors[-1].params["unit"] == "托"

    view, errors = await cart.quick_add(w.buyer, None, f"A100 1 箱\n{barcode}\t6")
    assert errors == [] and {ln.code: ln.qty for ln in view.lines} == {"A100": 34, "B200": 6}


async def test_reorder_uses_todays_prices_and_reports_what_is_gone(db):
    w = await world()
    placed = (
        await orders.submit_order(
            w.buyer,
            None,
            [LineRequest(qty=24, sku_code="A100"), LineRequest(qty=6, sku_code="B200")],
            idempotency_key="past",
            now=NOW,
        )
    ).order
    await TierPrice.update({TierPrice.price_fen: 170}).where(TierPrice.sku == w.sku["id"])
    await Sku.update({Sku.active: False}).where(Sku.id == w.sku2["id"])
    view, errors = await cart.reorder(w.buyer, placed.id)
    assert [(ln.code, ln.qty, ln.unit_price_fen) for ln in view.lines] == [("A100", 24, 170)]
    assert [(e.field, e.params["sku"]) for e in errors] == [("B200", "B200")]
    view, _errors = await cart.reorder(w.buyer, placed.id)
    assert view.lines[0].qty == 48


async def test_a_line_that_became_unavailable_stays_visible_with_an_error(db):
    w = await world()
    await cart.set_qty(w.buyer, None, w.sku["id"], 24)
    await cart.set_qty(w.buyer, None, w.sku2["id"], 6)
    await Sku.update({Sku.active: False}).where(Sku.id == w.sku2["id"])
    view = await cart.get_cart(w.buyer, None)
    gone = [ln for ln in view.lines if not ln.available]
    assert [ln.code for ln in gone] == ["B200"] and gone[0].errors
    assert view.total_fen == 24 * 180 and not view.can_submit
    with pytest.raises(ValidationFailed):
        await orders.submit_cart(w.buyer, None, idempotency_key="k", now=NOW)


async def test_cart_warns_of_short_stock_and_credit(db):
    w = await world(on_hand=10, credit_limit_fen=1_000)
    view = await cart.set_qty(w.buyer, None, w.sku["id"], 12)
    assert view.lines[0].errors[0].params["sku"] == "A100"
    assert view.errors and view.errors[0].field == "credit"
    assert "approval" not in view.errors[0].message
    # Where over-credit orders go to finance, the cart says so instead.
    await Dealer.update({Dealer.over_credit_policy: "approval"}).where(Dealer.id == w.dealer["id"])
    view = await cart.get_cart(w.buyer, None)
    assert view.errors[0].field == "credit" and "finance's approval" in view.errors[0].message


async def test_details_are_checked_and_kept(db):
    w = await world()
    own = await Address.select().where(Address.dealer == w.dealer["id"]).first()
    other = await f.dealer()
    foreign = await Address.select().where(Address.dealer == other["id"]).first()
    with pytest.raises(ValidationFailed) as err:
        await cart.update_details(
            w.buyer, None, address_id=foreign["id"], requested_date=None, note="", now=NOW
        )
    assert err.value.errors[0].field == "address_id"
    with pytest.raises(ValidationFailed):
        await cart.update_details(
            w.buyer, None, address_id=None, requested_date=date(2026, 11, 1), note="", now=NOW
        )
    view = await cart.update_details(
        w.buyer,
        None,
        address_id=own["id"],
        requested_date=date(2026, 12, 1),
        note="放门卫",
        now=NOW,
    )
    assert (view.address_id, view.requested_date, view.note) == (
        own["id"],
        date(2026, 12, 1),
        "放门卫",
    )
    assert view.addresses[0]["id"] == own["id"]


async def test_each_user_has_their_own_cart_per_dealer(db):
    w = await world()
    rep_row = await f.user("sales_rep")
    await f.assign(rep_row, w.dealer)
    rep = f.actor(rep_row)
    await cart.set_qty(w.buyer, None, w.sku["id"], 5)
    view = await cart.set_qty(rep, w.dealer["id"], w.sku["id"], 7)
    assert view.lines[0].qty == 7
    assert (await cart.get_cart(w.buyer, None)).lines[0].qty == 5
    assert await Cart.count() == 2
    await cart.clear(rep, w.dealer["id"])
    assert (await cart.get_cart(rep, w.dealer["id"])).lines == []
    assert (await cart.get_cart(w.buyer, None)).lines[0].qty == 5


async def test_submit_cart_places_the_order_and_empties_the_cart(db):
    w = await world()
    own = await Address.select().where(Address.dealer == w.dealer["id"]).first()
    await cart.set_qty(w.buyer, None, w.sku["id"], 2, "箱")
    await cart.set_qty(w.buyer, None, w.sku2["id"], 6)
    tomorrow = (NOW + timedelta(days=1)).date()
    await cart.update_details(
        w.buyer, None, address_id=own["id"], requested_date=tomorrow, note="加急", now=NOW
    )
    result = await orders.submit_cart(w.buyer, None, idempotency_key="cart-1", now=NOW)
    assert result.created is True
    order = result.order
    assert {ln.sku_code: ln.qty for ln in order.lines} == {"A100": 48, "B200": 6}
    assert order.note == "加急" and order.requested_date == tomorrow
    assert order.total_fen == 48 * 180 + 6 * 1000
    assert await reserved(w.sku) == 48
    view = await cart.get_cart(w.buyer, None)
    assert view.lines == [] and view.note == "" and view.requested_date is None

    again = await orders.submit_cart(w.buyer, None, idempotency_key="cart-1", now=NOW)
    assert again.created is False and again.order.id == order.id
    assert await Order.count() == 1
    with pytest.raises(ValidationFailed):
        await orders.submit_cart(w.buyer, None, idempotency_key="cart-2", now=NOW)


async def test_a_refused_cart_submission_leaves_the_cart_alone(db):
    w = await world(on_hand=10)
    await cart.set_qty(w.buyer, None, w.sku["id"], 12)
    with pytest.raises(InsufficientStock):
        await orders.submit_cart(w.buyer, None, idempotency_key="c", now=NOW)
    assert (await cart.get_cart(w.buyer, None)).lines[0].qty == 12
    assert await Order.count() == 0
