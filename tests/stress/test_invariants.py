"""A seeded storm of concurrent submissions and cancellations, then the invariants that must hold.

Real parallel connections from the PostgreSQL pool (SQLite serialises writers, so the storm
says nothing there). Bounded: a few hundred operations, about ten seconds. Whatever the
interleaving, afterwards:
- reserved stock per SKU and warehouse equals the Reservation rows of open orders' lines,
  and those equal the open orders' line quantities;
- available (on hand - reserved) is never negative;
- each dealer's open_orders_fen equals the sum of its open orders' totals, and
  balance + open orders stays within the credit ceiling;
- no order without lines; order numbers unique; every order has its submission audit
  entry, and every cancelled order its cancellation entry and timeline event.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict

import pytest

from portal.domain import credit, orders
from portal.domain.errors import Conflict, CreditExceeded, InsufficientStock
from portal.domain.quantities import LineRequest
from portal.tables import (
    AuditEntry,
    Dealer,
    Order,
    OrderEvent,
    OrderLine,
    Reservation,
    StockLevel,
)
from tests import factories as f

pytestmark = pytest.mark.postgres_only

SEED = 20261125
TASKS = 200
DEALERS = 12
SKUS = 15
TIME_BUDGET_S = 15


async def build_world(rng: random.Random) -> tuple[list, list[dict]]:
    """Dealers with tight credit and tight stock (so refusals happen), two warehouses."""
    tier = await f.tier()
    east = await f.warehouse(name="华东仓", priority=0)
    north = await f.warehouse(name="华北仓", priority=1)
    skus = []
    for i in range(SKUS):
        s = await f.sku(code=f"ST{i:03d}", name=f"压力测试商品{i}", base_price_fen=100 + i * 37)
        await f.stock(s, east, on_hand=rng.randint(20, 120))
        if i % 2:
            await f.stock(s, north, on_hand=rng.randint(0, 60))
        skus.append(s)
    actors = []
    for i in range(DEALERS):
        d = await f.dealer(
            tier,
            credit_limit_fen=rng.choice([8_000, 20_000, 60_000]),
            balance_fen=rng.choice([0, 2_000, 6_000]),
            default_warehouse=east if i % 3 else north,
        )
        for role in ("dealer_admin", "dealer_buyer"):
            actors.append(f.actor(await f.user(role, d)))
    rep = await f.user("sales_rep")
    for d_id in {a.dealer_id for a in actors[: DEALERS // 2 * 2]}:
        await f.assign(rep, {"id": d_id})
    actors.append(f.actor(rep))
    return actors, skus


async def storm(actors: list, skus: list[dict], rng: random.Random) -> Counter:
    """TASKS operations at once: mostly submissions, some retries and cancellations."""
    outcomes: Counter = Counter()
    placed: list[tuple[object, int]] = []
    dealer_actors = [a for a in actors if a.is_dealer]
    rep = next(a for a in actors if a.role == "sales_rep")
    rep_dealers = sorted({a.dealer_id for a in dealer_actors})[: DEALERS // 2]

    submitting: set[int] = set()

    async def submit(i: int) -> None:
        submitting.add(i)
        try:
            await submit_one(i)
        finally:
            submitting.discard(i)

    async def submit_one(i: int) -> None:
        if rng.random() < 0.15:
            actor, dealer_id = rep, rng.choice(rep_dealers)
        else:
            actor = rng.choice(dealer_actors)
            dealer_id = actor.dealer_id
        chosen = rng.sample(skus, rng.randint(1, 5))
        lines = [LineRequest(qty=rng.randint(1, 6), sku_id=s["id"]) for s in chosen]
        key = f"storm-{i}"
        twice = rng.random() < 0.1  # a double tap: the same key at the same moment
        await asyncio.sleep(rng.random() * 0.5)
        calls = [
            orders.submit_order(actor, dealer_id, lines, idempotency_key=key)
            for _ in range(2 if twice else 1)
        ]
        for result in await asyncio.gather(*calls, return_exceptions=True):
            record(result)
            if isinstance(result, orders.SubmitResult) and result.created:
                placed.append((actor, result.order.id))

    async def cancel() -> None:
        await asyncio.sleep(0.2 + rng.random() * 0.8)
        while not placed:  # cancel what exists, for as long as submissions are still coming
            if not submitting:
                outcomes["cancel:nothing"] += 1
                return
            await asyncio.sleep(0.02)
        actor, order_id = placed.pop(rng.randrange(len(placed)))
        twice = rng.random() < 0.2  # two taps on "cancel" at once: one wins, one is told
        results = await asyncio.gather(
            *[orders.cancel_order(actor, order_id, "压力测试") for _ in range(2 if twice else 1)],
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, orders.OrderView):
                outcomes["cancelled"] += 1
            elif isinstance(result, Conflict):
                outcomes["cancel:conflict"] += 1
            else:
                raise result
        assert sum(isinstance(r, orders.OrderView) for r in results) == 1, results

    def record(result: object) -> None:
        if isinstance(result, orders.SubmitResult):
            outcomes["placed" if result.created else "replayed"] += 1
        elif isinstance(result, (CreditExceeded, InsufficientStock, Conflict)):
            outcomes[type(result).__name__] += 1
        elif isinstance(result, BaseException):
            raise result  # anything else is a bug: fail with its traceback

    kinds = ["cancel" if rng.random() < 0.25 else "submit" for _ in range(TASKS)]
    submitting.update(i for i, kind in enumerate(kinds) if kind == "submit")
    jobs = [cancel() if kind == "cancel" else submit(i) for i, kind in enumerate(kinds)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, BaseException)]
    assert unexpected == [], unexpected[:3]
    return outcomes


async def check_invariants() -> None:
    open_orders = await Order.select(Order.id, Order.dealer, Order.total_fen, Order.status)
    by_id = {o["id"]: o for o in open_orders}
    lines = await OrderLine.select(OrderLine.id, OrderLine.order, OrderLine.sku, OrderLine.qty)
    line_order = {ln["id"]: ln["order"] for ln in lines}

    # Stock: reserved == reservations of open orders == open quantities; available >= 0.
    reservations = await Reservation.select(
        Reservation.order_line, Reservation.warehouse, Reservation.sku, Reservation.qty
    )
    by_place: Counter = Counter()
    by_line: Counter = Counter()
    for r in reservations:
        order = by_id[line_order[r["order_line"]]]
        assert order["status"] in orders.OPEN_STATUSES, f"reservation of a {order['status']} order"
        by_place[(r["sku"], r["warehouse"])] += r["qty"]
        by_line[r["order_line"]] += r["qty"]
    for ln in lines:
        if by_id[ln["order"]]["status"] in orders.OPEN_STATUSES:
            assert by_line[ln["id"]] == ln["qty"], f"line {ln['id']} reserved {by_line[ln['id']]}"
    for level in await StockLevel.select():
        key = (level["sku"], level["warehouse"])
        assert level["reserved"] == by_place[key], f"stock {key}"
        assert level["on_hand"] - level["reserved"] >= 0, f"oversold {key}"

    # Credit: open_orders_fen is exactly the open orders, and within the ceiling.
    open_total: Counter = Counter()
    for o in open_orders:
        if o["status"] in orders.OPEN_STATUSES:
            open_total[o["dealer"]] += o["total_fen"]
    for d in await Dealer.select():
        assert d["open_orders_fen"] == open_total[d["id"]], f"dealer {d['id']} exposure"
        exposure = d["balance_fen"] + d["open_orders_fen"]
        assert exposure <= credit.ceiling_fen(d), f"dealer {d['id']} over its ceiling"

    # Orders: lines, unique numbers, timeline and audit for each change.
    with_lines = {ln["order"] for ln in lines}
    assert set(by_id) <= with_lines, "an order without lines"
    numbers = [o["number"] for o in await Order.select(Order.number)]
    assert len(numbers) == len(set(numbers))
    audit: dict[str, set[int]] = defaultdict(set)
    for entry in await AuditEntry.select(AuditEntry.action, AuditEntry.entity_id).where(
        AuditEntry.entity == "order"
    ):
        audit[entry["action"]].add(int(entry["entity_id"]))
    assert set(by_id) == audit["order.submitted"]
    cancelled = {i for i, o in by_id.items() if o["status"] == "cancelled"}
    assert cancelled == audit["order.cancelled"]
    events: dict[str, set[int]] = defaultdict(set)
    for e in await OrderEvent.select(OrderEvent.order, OrderEvent.kind):
        events[e["kind"]].add(e["order"])
    assert events["submitted"] == set(by_id)
    assert events["cancelled"] == cancelled


async def test_storm_keeps_stock_credit_and_orders_consistent(db):
    rng = random.Random(SEED)
    actors, skus = await build_world(rng)
    started = time.monotonic()
    outcomes = await asyncio.wait_for(storm(actors, skus, rng), timeout=TIME_BUDGET_S * 2)
    elapsed = time.monotonic() - started
    await check_invariants()
    # The storm must have exercised every path, or it proves little.
    assert outcomes["placed"] >= 20, outcomes
    assert outcomes["InsufficientStock"] + outcomes["CreditExceeded"] >= 5, outcomes
    assert outcomes["cancelled"] >= 5, outcomes
    assert await Order.count() == outcomes["placed"]
    assert elapsed < TIME_BUDGET_S, f"storm took {elapsed:.1f}s"


async def test_invariant_check_catches_drift(db):
    """The checker is not vacuous: one reserved unit too many is reported."""
    rng = random.Random(SEED)
    actors, skus = await build_world(rng)
    buyer = next(a for a in actors if a.is_dealer)
    await orders.submit_order(
        buyer, None, [LineRequest(qty=1, sku_id=skus[0]["id"])], idempotency_key="drift"
    )
    await check_invariants()
    await StockLevel.update({StockLevel.reserved: StockLevel.reserved + 1}).where(
        StockLevel.sku == skus[0]["id"]
    )
    with pytest.raises(AssertionError, match="stock"):
        await check_invariants()

