"""Races on PostgreSQL with real parallel connections from the pool.

Stock is never oversold, credit never exceeded, a retried submission makes one order and
order numbers stay unique, however the submissions interleave. SQLite serialises writers
with IMMEDIATE transactions, so these run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from portal.domain import orders
from portal.domain.errors import CreditExceeded, InsufficientStock
from portal.domain.quantities import LineRequest
from portal.tables import Dealer, IdempotencyKey, Order, OrderLine, Reservation, StockLevel
from tests import factories as f
from tests.db.test_orders import NOW, reserved, world

pytestmark = pytest.mark.postgres_only


async def buyers_of_separate_dealers(w, n: int):
    """n dealers of the same tier, each with a buyer: only the stock rows are shared."""
    actors = []
    for _ in range(n):
        d = await f.dealer(w.tier, default_warehouse=w.warehouse)
        actors.append(f.actor(await f.user("dealer_buyer", d)))
    return actors


async def outcome(coro):
    try:
        return await coro
    except Exception as exc:  # collected and asserted on below
        return exc


async def test_fifty_submitters_race_for_ten_units(db):
    w = await world(on_hand=10)
    actors = await buyers_of_separate_dealers(w, 50)
    results = await asyncio.gather(
        *[
            outcome(
                orders.submit_order(
                    a,
                    None,
                    [LineRequest(qty=1, sku_code="A100")],
                    idempotency_key=f"k{i}",
                    now=NOW,
                )
            )
            for i, a in enumerate(actors)
        ]
    )
    placed = [r for r in results if isinstance(r, orders.SubmitResult)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    others = [r for r in results if r not in placed and r not in refused]
    assert others == []
    assert len(placed) == 10 and len(refused) == 40
    for r in refused:  # the supplier shows dealers no stock numbers (the default)
        assert r.extra["lines"] == [{"sku": "A100", "requested": 1, "available": None}]
    level = await StockLevel.select().where(StockLevel.sku == w.sku["id"]).first()
    assert (level["on_hand"], level["reserved"]) == (10, 10)
    assert await Order.count() == 10 and await OrderLine.count() == 10
    assert sum(r["qty"] for r in await Reservation.select(Reservation.qty)) == 10
    assert await IdempotencyKey.count() == 10


async def test_split_reservations_across_warehouses_never_oversell(db):
    w = await world(on_hand=7)
    second = await f.warehouse(name="华北仓", priority=1)
    await f.stock(w.sku, second, 8)
    actors = await buyers_of_separate_dealers(w, 12)
    results = await asyncio.gather(
        *[
            outcome(
                orders.submit_order(
                    a,
                    None,
                    [LineRequest(qty=2, sku_code="A100")],
                    idempotency_key="k",
                    now=NOW,
                )
            )
            for a in actors
        ]
    )
    placed = [r for r in results if isinstance(r, orders.SubmitResult)]
    assert all(isinstance(r, orders.SubmitResult | InsufficientStock) for r in results)
    # 15 units: seven orders of 2 fit (one of them split 1 + 1 across the warehouses).
    assert len(placed) == 7
    rows = await StockLevel.select().where(StockLevel.sku == w.sku["id"])
    assert all(r["reserved"] <= r["on_hand"] for r in rows)
    assert await reserved(w.sku) == 14


async def test_two_orders_that_fit_alone_but_not_together(db):
    # Limit ¥100.00; each order is ¥60.00 (6 件 at ¥10.00).
    w = await world(credit_limit_fen=10_000)
    admin = f.actor(await f.user("dealer_admin", w.dealer))
    results = await asyncio.gather(
        *[
            outcome(
                orders.submit_order(
                    who,
                    None,
                    [LineRequest(qty=6, sku_code="B200")],
                    idempotency_key=key,
                    now=NOW,
                )
            )
            for who, key in ((w.buyer, "b"), (admin, "a"))
        ]
    )
    placed = [r for r in results if isinstance(r, orders.SubmitResult)]
    refused = [r for r in results if isinstance(r, CreditExceeded)]
    assert len(placed) == 1 and len(refused) == 1
    assert refused[0].extra["available"] == "40.00"
    dealer = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert dealer["open_orders_fen"] == 6_000
    assert await reserved(w.sku2) == 6


async def test_many_orders_of_one_dealer_stay_within_credit(db):
    # ¥250.00 of credit, 20 users each ordering ¥60.00: exactly four fit.
    w = await world(credit_limit_fen=25_000)
    users = [f.actor(await f.user("dealer_buyer", w.dealer)) for _ in range(20)]
    results = await asyncio.gather(
        *[
            outcome(
                orders.submit_order(
                    u, None, [LineRequest(qty=6, sku_code="B200")], idempotency_key="k", now=NOW
                )
            )
            for u in users
        ]
    )
    assert sum(isinstance(r, orders.SubmitResult) for r in results) == 4
    assert sum(isinstance(r, CreditExceeded) for r in results) == 16
    dealer = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert dealer["open_orders_fen"] == 24_000


async def test_twenty_identical_retries_make_one_order(db):
    w = await world()
    await twins_make_one_order(w, [LineRequest(qty=1, sku_code="A100", unit="箱")], 20)
    assert await reserved(w.sku) == 24
    dealer = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert dealer["open_orders_fen"] == 24 * 180


async def twins_make_one_order(w, lines: list[LineRequest], twins: int = 8) -> None:
    """Identical retries (one key) at once: one order, and every twin gets it back."""
    results = await asyncio.gather(
        *[
            outcome(orders.submit_order(w.buyer, None, lines, idempotency_key="tap", now=NOW))
            for _ in range(twins)
        ]
    )
    assert all(isinstance(r, orders.SubmitResult) for r in results), results
    assert {r.order.id for r in results} == {results[0].order.id}
    assert sum(r.created for r in results) == 1
    assert await Order.count() == 1


async def test_retries_of_an_order_that_uses_up_the_credit_get_that_order(db):
    """The first retry to commit takes all the credit: its twins get its order back, not a
    credit refusal (a twin refused on credit must still find the key taken)."""
    w = await world(credit_limit_fen=6_000)  # exactly one order of ¥60.00
    await twins_make_one_order(w, [LineRequest(qty=6, sku_code="B200")])
    assert await IdempotencyKey.count() == 1
    assert (await Dealer.select().where(Dealer.id == w.dealer["id"]).first())[
        "open_orders_fen"
    ] == 6_000


async def test_retries_of_an_order_that_takes_the_last_units_get_that_order(db):
    w = await world(on_hand=24)
    await twins_make_one_order(w, [LineRequest(qty=24, sku_code="A100")])
    assert await reserved(w.sku) == 24


async def test_order_numbers_stay_unique_under_thirty_parallel_submissions(db):
    w = await world()
    actors = await buyers_of_separate_dealers(w, 30)
    results = await asyncio.gather(
        *[
            orders.submit_order(
                a, None, [LineRequest(qty=1, sku_code="A100")], idempotency_key="n", now=NOW
            )
            for a in actors
        ]
    )
    numbers = sorted(r.order.number for r in results)
    assert numbers == [f"SO-20261125-{i:04d}" for i in range(1, 31)]


async def test_a_competitor_waits_for_the_dealer_lock(db):
    """Deterministic: while one submission holds the dealer row, a second one must wait,
    then see the first one's exposure and be refused."""
    w = await world(credit_limit_fen=10_000)
    admin = f.actor(await f.user("dealer_admin", w.dealer))
    competitor: list[asyncio.Task] = []

    async def start_competitor():
        if competitor:
            return
        # A task of its own, outside this submission's transaction (as another request is).
        context = contextvars.copy_context()
        context.run(db.current_transaction.set, None)
        competitor.append(
            asyncio.create_task(
                outcome(
                    orders.submit_order(
                        admin,
                        None,
                        [LineRequest(qty=6, sku_code="B200")],
                        idempotency_key="c",
                        now=NOW,
                    )
                ),
                context=context,
            )
        )
        await asyncio.sleep(0.5)
        assert not competitor[0].done(), "the competitor got past the dealer lock"

    orders._test_hooks["after_dealer_lock"] = start_competitor
    try:
        first = await orders.submit_order(
            w.buyer, None, [LineRequest(qty=6, sku_code="B200")], idempotency_key="m", now=NOW
        )
        second = await competitor[0]
    finally:
        orders._test_hooks.clear()
    assert first.created is True
    assert isinstance(second, CreditExceeded)
    assert second.extra["available"] == "40.00"
    assert await Order.count() == 1
