"""Scope on orders: a dealer sees only its own, a rep only assigned dealers; outside is 404."""

from __future__ import annotations

import pytest

from portal.domain import cart, dealers, ledger, orders, scope, team
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import Dealer, Order, StockLevel
from tests import factories as f
from tests.db.test_orders import NOW, reserved, world


async def two_dealers():
    w = await world()
    other = await f.dealer(w.tier, default_warehouse=w.warehouse)
    other_buyer = f.actor(await f.user("dealer_buyer", other))
    order = (
        await orders.submit_order(
            w.buyer, None, [LineRequest(qty=10, sku_code="A100")], idempotency_key="a", now=NOW
        )
    ).order
    return w, other, other_buyer, order


async def test_another_dealer_cannot_see_or_cancel_or_reorder(db):
    w, other, other_buyer, order = await two_dealers()
    with pytest.raises(NotFound):
        await orders.get_order(other_buyer, order.id)
    with pytest.raises(NotFound):
        await orders.cancel_order(other_buyer, order.id)
    with pytest.raises(NotFound):
        await cart.reorder(other_buyer, order.id)
    page = await orders.list_orders(other_buyer)
    assert page.items == [] and page.total == 0
    # Filtering by the other dealer's id answers as for a dealer that does not exist.
    with pytest.raises(NotFound):
        await orders.list_orders(other_buyer, dealer_id=w.dealer["id"])
    # Nothing changed for the owner.
    assert (await orders.get_order(w.buyer, order.id)).status == "approved"
    assert await reserved(w.sku) == 10


async def test_a_missing_order_reads_like_a_foreign_one(db):
    w, _other, other_buyer, order = await two_dealers()
    with pytest.raises(NotFound) as missing:
        await orders.get_order(w.buyer, order.id + 1000)
    with pytest.raises(NotFound) as foreign:
        await orders.get_order(other_buyer, order.id)
    assert missing.value.message == foreign.value.message


async def test_a_dealer_user_orders_only_for_their_own_dealer(db):
    w, other, other_buyer, _order = await two_dealers()
    with pytest.raises(NotFound) as foreign:
        await orders.submit_order(
            other_buyer,
            w.dealer["id"],
            [LineRequest(qty=1, sku_code="A100")],
            idempotency_key="x",
            now=NOW,
        )
    assert foreign.value.message == "Dealer not found."
    result = await orders.submit_order(
        other_buyer, None, [LineRequest(qty=1, sku_code="A100")], idempotency_key="x", now=NOW
    )
    assert result.order.dealer_id == other["id"]


async def test_a_rep_orders_only_for_assigned_dealers(db):
    w, other, _other_buyer, dealer_order = await two_dealers()
    rep_row = await f.user("sales_rep")
    await f.assign(rep_row, w.dealer)
    rep = f.actor(rep_row)

    result = await orders.submit_order(
        rep, w.dealer["id"], [LineRequest(qty=5, sku_code="A100")], idempotency_key="r", now=NOW
    )
    assert result.order.rep_name == rep.name and result.order.placed_by_name == rep.name
    assert result.order.dealer_id == w.dealer["id"]
    assert (await orders.get_order(rep, dealer_order.id)).can_cancel is True

    with pytest.raises(NotFound):
        await orders.submit_order(
            rep,
            other["id"],
            [LineRequest(qty=5, sku_code="A100")],
            idempotency_key="r2",
            now=NOW,
        )
    with pytest.raises(NotFound):
        await orders.submit_order(
            rep, None, [LineRequest(qty=5, sku_code="A100")], idempotency_key="r3", now=NOW
        )
    other_order = (
        await orders.submit_order(
            _other_buyer,
            None,
            [LineRequest(qty=1, sku_code="A100")],
            idempotency_key="o",
            now=NOW,
        )
    ).order
    with pytest.raises(NotFound):
        await orders.get_order(rep, other_order.id)
    with pytest.raises(NotFound):
        await orders.cancel_order(rep, other_order.id)
    listed = await orders.list_orders(rep)
    assert {o.dealer_id for o in listed.items} == {w.dealer["id"]} and listed.total == 2
    assert await Order.count() == 3


async def test_a_manager_sees_the_teams_dealers_only(db):
    w, other, other_buyer, order = await two_dealers()
    manager_row = await f.user("sales_manager")
    rep_row = await f.user("sales_rep", manager=manager_row)
    await f.assign(rep_row, w.dealer)
    manager = f.actor(manager_row)
    assert (await orders.get_order(manager, order.id)).id == order.id
    other_order = (
        await orders.submit_order(
            other_buyer,
            None,
            [LineRequest(qty=1, sku_code="A100")],
            idempotency_key="o",
            now=NOW,
        )
    ).order
    with pytest.raises(NotFound):
        await orders.get_order(manager, other_order.id)


async def test_roles_that_do_not_order_are_refused(db):
    w = await world()
    clerk = f.actor(await f.user("warehouse"))
    with pytest.raises(Forbidden):
        await orders.submit_order(
            clerk,
            w.dealer["id"],
            [LineRequest(qty=1, sku_code="A100")],
            idempotency_key="w",
            now=NOW,
        )
    with pytest.raises(Forbidden):
        await cart.get_cart(clerk, w.dealer["id"])
    assert await Order.count() == 0


async def test_an_inactive_dealer_cannot_order(db):
    w = await world()
    await Dealer.update({Dealer.active: False}).where(Dealer.id == w.dealer["id"])
    with pytest.raises(Forbidden):
        await orders.submit_order(
            w.buyer, None, [LineRequest(qty=1, sku_code="A100")], idempotency_key="i", now=NOW
        )
    assert await StockLevel.count() == 2 and await reserved(w.sku) == 0


async def test_a_restricted_product_is_not_orderable_by_other_tiers(db):
    w = await world()
    hidden = await f.sku(code="H900", name="专供商品")
    await Order.raw(
        "UPDATE product SET visibility = {} WHERE id = {}", "restricted", hidden["product"]
    )
    await f.stock(hidden, w.warehouse, 100)
    with pytest.raises(ValidationFailed) as err:
        await orders.submit_order(
            w.buyer, None, [LineRequest(qty=1, sku_code="H900")], idempotency_key="h", now=NOW
        )
    assert err.value.errors[0].params["sku"] == "H900"
    with pytest.raises(NotFound):
        await cart.set_qty(w.buyer, None, hidden["id"], 1)


async def test_the_warehouse_sees_orders_to_ship_and_no_dealer_s_account(db):
    w = await world()
    clerk = f.actor(await f.user("warehouse"))
    waiting = (
        await orders.submit_order(
            w.buyer, None, [LineRequest(qty=12, sku_code="A100")], idempotency_key="w", now=NOW
        )
    ).order
    # Not yet approved: not the warehouse's to see (the same 404 as an order that is not).
    await Order.update({Order.status: "pending_approval"}).where(Order.id == waiting.id)
    with pytest.raises(NotFound):
        await orders.get_order(clerk, waiting.id)
    assert (await orders.list_orders(clerk)).items == []
    await Order.update({Order.status: "approved"}).where(Order.id == waiting.id)
    assert (await orders.get_order(clerk, waiting.id)).id == waiting.id
    assert [o.id for o in (await orders.list_orders(clerk)).items] == [waiting.id]
    # The dealer's account (credit, ledger, statements, addresses, users): never.
    for read in (
        lambda: scope.dealer_in_scope(clerk, w.dealer["id"]),
        lambda: ledger.statement(clerk, w.dealer["id"]),
        lambda: team.list_addresses(clerk, w.dealer["id"]),
        lambda: dealers.dealer_card(clerk, w.dealer["id"]),
    ):
        with pytest.raises(NotFound):
            await read()
    with pytest.raises(Forbidden):
        await dealers.list_page(clerk)


async def test_the_scope_inside_a_statement_is_the_scope_read_first(db):
    """scope.visible_dealers_sql (the bell's count, the notifications list) lets through
    exactly the dealers visible_dealer_ids gives, for every role: a dealer its own, a rep its
    assigned dealers, a manager their reps' dealers, finance, warehouse and admin all, and
    nobody else's."""
    from portal.db import fetch

    tier = await f.tier()
    d1, d2, d3 = [await f.dealer(tier) for _ in range(3)]
    manager = await f.user("sales_manager")
    other_manager = await f.user("sales_manager")
    rep = await f.user("sales_rep", manager=manager)
    rep2 = await f.user("sales_rep", manager=other_manager)
    await f.assign(rep, d1)
    await f.assign(rep, d2)
    await f.assign(rep2, d3)
    people = [
        await f.user("dealer_buyer", d2),
        rep,
        rep2,
        manager,
        other_manager,
        await f.user("sales_manager"),
        await f.user("finance"),
        await f.user("warehouse"),
        await f.user("admin"),
    ]
    everyone = sorted(d["id"] for d in (d1, d2, d3))
    seen_any = set()
    for person in people:
        actor = f.actor(person)
        ids = await scope.visible_dealer_ids(actor)
        expected = everyone if ids is None else sorted(set(ids) & set(everyone))
        found = scope.visible_dealers_sql(actor, "d.id")
        sql, args = ("1 = 1", []) if found is None else found
        rows = await fetch(f'SELECT d.id AS id FROM "dealer" d WHERE {sql} ORDER BY d.id', *args)
        got = [r["id"] for r in rows if r["id"] in everyone]
        assert got == expected, person["role"]
        seen_any.add(tuple(got))
    # The roles above see different sets (the comparison is not vacuous).
    assert {(), tuple(everyone), (d1["id"], d2["id"]), (d3["id"],), (d2["id"],)} <= seen_any
