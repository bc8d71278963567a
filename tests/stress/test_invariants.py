"""A seeded storm of concurrent business, then the invariants that must hold.

Real parallel connections from the PostgreSQL pool (SQLite serialises writers, so the storm
says nothing there). Bounded: a few hundred operations, about ten seconds. Dealers and a rep
submit (some double taps), dealers and staff cancel, a sales manager and finance approve,
reject or return orders that wait for them, the warehouse packs partial shipments from the
warehouse holding the stock and ships them (some shipped twice at once, some unpacked), the
dealer confirms receipt (签收) and finance records payments (some retried with one key).
Whatever the interleaving, afterwards:
- stock: reserved per SKU and warehouse equals the Reservation rows, which belong only to
  open orders' lines and equal what each line still has to ship (ordered - shipped -
  backordered); available and on hand never negative;
- lines: 0 <= shipped <= ordered, shipped equals the shipped and received shipment lines;
- ledger: each dealer's balance equals the sum of its ledger entries, invoices equal the
  value of its shipped shipments, payments what finance recorded;
- credit: open_orders_fen equals the open orders' totals less what was invoiced of them
  (so exposure = balance + open orders), and stays within the credit ceiling;
- orders: no order without lines, each line carries its order's dealer, numbers unique;
  every change has its audit entry (order submitted, cancelled, each approval decision,
  shipment packed / shipped / received / cancelled, each payment) and the order timeline
  has its events.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from portal.domain import approvals, credit, ledger, orders, shipments, stock, supplier
from portal.domain.errors import (
    Conflict,
    CreditExceeded,
    InsufficientStock,
    ValidationFailed,
)
from portal.domain.money import to_fen
from portal.domain.quantities import LineRequest
from portal.tables import (
    ApprovalStep,
    AuditEntry,
    Dealer,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    Reservation,
    Shipment,
    ShipmentLine,
    StockLevel,
)
from tests import factories as f

pytestmark = pytest.mark.postgres_only

SEED = 20261125
TASKS = 200
DEALERS = 12
SKUS = 15
TIME_BUDGET_S = 20
# A task waits for something to act on while tasks of these kinds are still running.
PRODUCERS = {
    "cancel": ("submit", "decide"),
    "decide": ("submit",),
    "ship": ("submit", "decide"),
    "receive": ("ship",),
}
# What the tasks do, by weight.
MIX = {
    "submit": 46,
    "cancel": 7,
    "decide": 16,
    "ship": 18,
    "receive": 7,
    "pay": 6,
    "count": 5,
}
SHIPPED_STATES = ("shipped", "received")


class World:
    """The actors and master data of the storm, and what the storm has made so far."""

    def __init__(self) -> None:
        self.dealer_actors: list = []
        self.rep = None
        self.rep_dealers: list[int] = []
        self.manager = None
        self.finance = None
        self.warehouse = None
        self.skus: list[dict] = []
        self.initial_balance: dict[int, int] = {}
        # Filled during the storm.
        self.placed: list[tuple[object, int]] = []  # (who placed it, order id)
        self.payments: dict[int, int] = defaultdict(int)  # dealer id -> fen recorded


async def build_world(rng: random.Random) -> World:
    """Dealers with tight credit and tight stock (so refusals happen), two warehouses,
    approval rules that stop the bigger orders (manager, then finance above a higher total),
    and a few SKUs that may be backordered."""
    w = World()
    tier = await f.tier()
    east = await f.warehouse(name="华东仓", priority=0)
    north = await f.warehouse(name="华北仓", priority=1)
    for i in range(SKUS):
        s = await f.sku(
            code=f"ST{i:03d}",
            name=f"压力测试商品{i}",
            base_price_fen=100 + i * 37,
            allow_backorder=i % 5 == 4,
        )
        # Backorderable SKUs are the scarce ones, so some lines wait for stock.
        await f.stock(s, east, on_hand=rng.randint(0, 8) if i % 5 == 4 else rng.randint(20, 120))
        if i % 2:
            await f.stock(s, north, on_hand=rng.randint(0, 60))
        w.skus.append(s)
    manager = await f.user("sales_manager")
    rep = await f.user("sales_rep", manager=manager)
    rep2 = await f.user("sales_rep", manager=manager)  # the manager sees every dealer
    for i in range(DEALERS):
        balance = rng.choice([0, 2_000, 6_000])
        d = await f.dealer(
            tier,
            credit_limit_fen=rng.choice([8_000, 20_000, 60_000]),
            balance_fen=balance,
            default_warehouse=east if i % 3 else north,
        )
        w.initial_balance[d["id"]] = balance
        for role in ("dealer_admin", "dealer_buyer"):
            w.dealer_actors.append(f.actor(await f.user(role, d)))
        await f.assign(rep if i < DEALERS // 2 else rep2, d)
        if i < DEALERS // 2:
            w.rep_dealers.append(d["id"])
    w.rep = f.actor(rep)
    w.manager = f.actor(manager)
    w.finance = f.actor(await f.user("finance"))
    w.warehouse = f.actor(await f.user("warehouse"))
    admin = f.actor(await f.user("admin"))
    for rule in (
        approvals.RuleInput("total_at_least", "sales_manager", step_order=1, amount_fen=2_500),
        approvals.RuleInput("total_at_least", "finance", step_order=2, amount_fen=6_000),
    ):
        await approvals.save_rule(admin, None, rule)
    return w


async def storm(w: World, rng: random.Random) -> Counter:
    """TASKS operations at once, in a seeded random mix."""
    outcomes: Counter = Counter()

    active: Counter = Counter()  # tasks of each kind still running

    def patient(what: str) -> bool:
        """Wait while a task that could still make something to act on is running."""
        return any(active[kind] for kind in PRODUCERS[what])

    claimed: set = set()

    async def pick(find, what: str):
        """One of what `find()` returns that no other task has taken, once there is one;
        None when nothing comes. (Races on one object are made on purpose: double taps.)"""
        while True:
            found = [x for x in await find() if (what, repr(x)) not in claimed]
            if found:
                chosen = found[rng.randrange(len(found))]
                claimed.add((what, repr(chosen)))
                return chosen
            if not patient(what):
                outcomes[f"{what}:nothing"] += 1
                return None
            # Not too eagerly: a hundred waiting tasks polling would starve the pool.
            await asyncio.sleep(0.1 + rng.random() * 0.3)

    async def orders_in(*statuses: str) -> list[int]:
        rows = await Order.select(Order.id).where(Order.status.is_in(list(statuses)))
        return sorted(r["id"] for r in rows)

    async def pending_steps() -> list[dict]:
        return await (
            ApprovalStep.select(ApprovalStep.id, ApprovalStep.order, ApprovalStep.role)
            .where(ApprovalStep.status == "pending")
            .order_by(ApprovalStep.id)
        )

    async def shipped_not_received() -> list[int]:
        rows = await Shipment.select(Shipment.id).where(Shipment.status == "shipped")
        return sorted(r["id"] for r in rows)

    def expect(result: object, what: str, *allowed: type[BaseException]) -> bool:
        """True for a success; an allowed refusal is counted; anything else fails the storm."""
        if isinstance(result, BaseException):
            if isinstance(result, allowed):
                outcomes[f"{what}:{type(result).__name__}"] += 1
                return False
            raise result
        return True

    async def submit(i: int) -> None:
        if rng.random() < 0.15:
            actor, dealer_id = w.rep, rng.choice(w.rep_dealers)
        else:
            actor = rng.choice(w.dealer_actors)
            dealer_id = actor.dealer_id
        chosen = rng.sample(w.skus, rng.randint(1, 5))
        lines = [LineRequest(qty=rng.randint(1, 6), sku_id=s["id"]) for s in chosen]
        twice = rng.random() < 0.1  # a double tap: the same key at the same moment
        await asyncio.sleep(rng.random() * 0.5)
        calls = [
            orders.submit_order(actor, dealer_id, lines, idempotency_key=f"storm-{i}")
            for _ in range(2 if twice else 1)
        ]
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if expect(result, "submit", CreditExceeded, InsufficientStock, Conflict):
                outcomes["placed" if result.created else "replayed"] += 1
                if result.created:
                    w.placed.append((actor, result.order.id))

    async def cancel() -> None:
        await asyncio.sleep(0.2 + rng.random() * 0.8)

        async def cancellable() -> list[tuple[object, int]]:
            ids = set(await orders_in(*orders.CANCELLABLE_STATUSES))
            waiting = set(await orders_in(*orders.DEALER_CANCELLABLE_STATUSES))
            # A dealer cancels before approval; an approved order finance cancels for them.
            return [
                (who if not who.is_dealer or order_id in waiting else w.finance, order_id)
                for who, order_id in w.placed
                if order_id in ids
            ]

        chosen = await pick(cancellable, "cancel")
        if chosen is None:
            return
        actor, order_id = chosen
        twice = rng.random() < 0.2  # two taps on "cancel" at once: one wins, one is told
        results = await asyncio.gather(
            *[orders.cancel_order(actor, order_id, "压力测试") for _ in range(2 if twice else 1)],
            return_exceptions=True,
        )
        won = [r for r in results if expect(r, "cancel", Conflict)]
        outcomes["cancelled"] += len(won)
        assert len(won) <= 1, results

    async def decide() -> None:
        await asyncio.sleep(0.3 + rng.random() * 1.2)
        step = await pick(pending_steps, "decide")
        if step is None:
            return
        approver = w.manager if step["role"] == "sales_manager" else w.finance
        action = rng.choices(["approve", "reject", "return"], weights=[75, 12, 13])[0]
        twice = rng.random() < 0.2  # two approvers' taps (or one double tap) at once
        results = await asyncio.gather(
            *[
                approvals.decide(approver, step["id"], action, "压力测试")
                for _ in range(2 if twice else 1)
            ],
            return_exceptions=True,
        )
        won = [r for r in results if expect(r, "decide", Conflict)]
        assert len(won) <= 1, results
        for decision in won:
            outcomes[f"decided:{decision.outcome}"] += 1

    async def ship(i: int) -> None:
        await asyncio.sleep(0.5 + rng.random() * 1.5)

        async def shippable() -> list[int]:
            return await orders_in(*shipments.SHIPPABLE_ORDER_STATUSES)

        order_id = await pick(shippable, "ship")
        if order_id is None:
            return
        try:
            await pack_and_ship(i, order_id)
        finally:
            claimed.discard(("ship", repr(order_id)))  # a later parcel of the same order

    async def pack_and_ship(i: int, order_id: int) -> None:
        lines = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id)
        held = await Reservation.select(
            Reservation.order_line, Reservation.warehouse, Reservation.qty
        ).where(Reservation.order_line.is_in([ln["id"] for ln in lines]))
        if not held:
            outcomes["ship:nothing reserved"] += 1
            return
        wh = rng.choice(sorted({r["warehouse"] for r in held}))
        # A partial shipment: some of what is reserved there, now and then a bit too much.
        quantities = {
            r["order_line"]: rng.randint(1, r["qty"] + (1 if rng.random() < 0.1 else 0))
            for r in held
            if r["warehouse"] == wh and rng.random() < 0.8
        } or {held[0]["order_line"]: 1}
        packed = await asyncio.gather(
            shipments.create_shipment(
                w.warehouse,
                order_id,
                warehouse_id=wh,
                quantities=quantities,
                idempotency_key=f"ship-{i}",
            ),
            return_exceptions=True,
        )
        if not expect(packed[0], "pack", Conflict, ValidationFailed, InsufficientStock):
            return
        outcomes["packed"] += 1
        shipment_id = packed[0].shipment.id
        await asyncio.sleep(rng.random() * 0.3)
        if rng.random() < 0.1:  # unpacked again
            result = await asyncio.gather(
                shipments.cancel_shipment(w.warehouse, shipment_id), return_exceptions=True
            )
            if expect(result[0], "unpack", Conflict):
                outcomes["unpacked"] += 1
            return
        twice = rng.random() < 0.2  # two scans of the same parcel at once
        results = await asyncio.gather(
            *[shipments.ship(w.warehouse, shipment_id) for _ in range(2 if twice else 1)],
            return_exceptions=True,
        )
        won = [r for r in results if expect(r, "ship", Conflict, InsufficientStock)]
        assert len(won) <= 1, results
        if won:
            outcomes["shipped"] += 1

    async def receive() -> None:
        await asyncio.sleep(1.0 + rng.random() * 2.0)
        shipment_id = await pick(shipped_not_received, "receive")
        if shipment_id is None:
            return
        dealer_id = (
            await Shipment.select(Shipment.dealer).where(Shipment.id == shipment_id).first()
        )["dealer"]
        actor = rng.choice([a for a in w.dealer_actors if a.dealer_id == dealer_id])
        twice = rng.random() < 0.2
        results = await asyncio.gather(
            *[
                shipments.confirm_receipt(
                    actor, shipment_id, discrepancy=rng.random() < 0.2, note="少一箱"
                )
                for _ in range(2 if twice else 1)
            ],
            return_exceptions=True,
        )
        won = [r for r in results if expect(r, "receive", Conflict)]
        assert len(won) <= 1, results
        outcomes["received"] += len(won)

    async def pay(i: int) -> None:
        await asyncio.sleep(rng.random() * 2.0)
        dealer_id = rng.choice(w.dealer_actors).dealer_id
        amount = Decimal(rng.randint(1, 5_000)) / 100
        twice = rng.random() < 0.3  # the same payment posted twice: one entry
        results = await asyncio.gather(
            *[
                ledger.record_payment(
                    w.finance,
                    dealer_id,
                    amount=str(amount),
                    method="bank",
                    reference=f"BANK-{i}",
                    idempotency_key=f"pay-{i}",
                )
                for _ in range(2 if twice else 1)
            ],
            return_exceptions=True,
        )
        entries = [r for r in results if expect(r, "pay", Conflict)]
        new = [e for e in entries if not e.replayed]
        assert len(new) == 1 or (not new and len(entries) < len(results)), results
        if new:
            w.payments[dealer_id] += to_fen(amount)
            outcomes["paid"] += 1

    async def count(i: int) -> None:
        """A stock count that finds a few units fewer than orders hold, as often as not:
        the newest orders' reservations give way (a count below what is packed is refused)."""
        await asyncio.sleep(0.3 + rng.random() * 2.5)
        levels = await StockLevel.select().order_by(StockLevel.id)
        held = [lv for lv in levels if lv["reserved"] > 0] or levels
        level = held[rng.randrange(len(held))]
        low = max(0, level["reserved"] - 4)
        counted = rng.randint(low, max(low, level["reserved"] - 1))
        result = (
            await asyncio.gather(
                stock.adjust_stock(
                    w.warehouse,
                    warehouse_id=level["warehouse"],
                    sku_id=level["sku"],
                    reason="count",
                    qty=counted,
                    idempotency_key=f"count-{i}",
                ),
                return_exceptions=True,
            )
        )[0]
        if expect(result, "count", ValidationFailed):
            outcomes["counted"] += 1
            outcomes["gave_way"] += sum(g.qty for g in result.gave_way)

    async def run(kind: str, job) -> None:
        try:
            await job
        finally:
            active[kind] -= 1

    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=TASKS)
    active.update(kinds)
    tasks = {
        "submit": submit,
        "cancel": lambda i: cancel(),
        "decide": lambda i: decide(),
        "ship": ship,
        "receive": lambda i: receive(),
        "pay": pay,
        "count": count,
    }
    jobs = [run(kind, tasks[kind](i)) for i, kind in enumerate(kinds)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    unexpected = [r for r in results if isinstance(r, BaseException)]
    if unexpected:
        raise unexpected[0]  # anything but an allowed refusal is a bug: its traceback
    return outcomes


async def check_invariants(w: World) -> None:
    all_orders = await Order.select(Order.id, Order.dealer, Order.total_fen, Order.status)
    by_id = {o["id"]: o for o in all_orders}
    lines = await OrderLine.select()
    line_order = {ln["id"]: ln["order"] for ln in lines}

    def is_open(order_id: int) -> bool:
        return by_id[order_id]["status"] in orders.OPEN_STATUSES

    # Stock: reserved == reservations of open orders == what their lines still have to ship.
    reservations = await Reservation.select(
        Reservation.order_line, Reservation.warehouse, Reservation.sku, Reservation.qty
    )
    by_place: Counter = Counter()
    by_line: Counter = Counter()
    for r in reservations:
        order = by_id[line_order[r["order_line"]]]
        assert order["status"] in orders.OPEN_STATUSES, f"reservation of a {order['status']} order"
        assert r["qty"] > 0, f"empty reservation of line {r['order_line']}"
        by_place[(r["sku"], r["warehouse"])] += r["qty"]
        by_line[r["order_line"]] += r["qty"]
    for ln in lines:
        assert 0 <= ln["qty_shipped"] <= ln["qty"], f"line {ln['id']} shipped {ln['qty_shipped']}"
        backordered = ln.get("qty_backordered", 0) or 0
        assert 0 <= backordered <= ln["qty"] - ln["qty_shipped"], f"line {ln['id']} backorder"
        if is_open(ln["order"]):
            still = ln["qty"] - ln["qty_shipped"] - backordered
            assert by_line[ln["id"]] == still, f"line {ln['id']} reserved {by_line[ln['id']]}"
    for level in await StockLevel.select():
        key = (level["sku"], level["warehouse"])
        assert level["reserved"] == by_place[key], f"stock {key}"
        assert level["on_hand"] >= 0, f"on hand below zero {key}"
        assert level["on_hand"] - level["reserved"] >= 0, f"oversold {key}"

    # Shipments: what the lines say was shipped is what left in shipped or received parcels.
    all_shipments = await Shipment.select(
        Shipment.id, Shipment.order, Shipment.dealer, Shipment.status, Shipment.value_fen
    )
    shipment_by_id = {s["id"]: s for s in all_shipments}
    left: Counter = Counter()
    for sl in await ShipmentLine.select(
        ShipmentLine.shipment, ShipmentLine.order_line, ShipmentLine.qty
    ):
        if shipment_by_id[sl["shipment"]]["status"] in SHIPPED_STATES:
            left[sl["order_line"]] += sl["qty"]
    for ln in lines:
        assert ln["qty_shipped"] == left[ln["id"]], f"line {ln['id']} shipped vs parcels"
    for s in all_shipments:
        if s["status"] == "packed":
            # A parcel left packed for an order that has ended can never ship.
            assert is_open(s["order"]), (
                f"shipment {s['id']} packed for a {by_id[s['order']]['status']} order"
            )
    invoiced_order: Counter = Counter()
    invoiced_dealer: Counter = Counter()
    for s in all_shipments:
        if s["status"] in SHIPPED_STATES:
            invoiced_order[s["order"]] += s["value_fen"]
            invoiced_dealer[s["dealer"]] += s["value_fen"]

    # Ledger: balance == the sum of the entries (the opening entry is written on first use),
    # invoices == shipped value, payments == what finance recorded.
    entries = await LedgerEntry.select(
        LedgerEntry.id, LedgerEntry.dealer, LedgerEntry.kind, LedgerEntry.amount_fen
    )
    sums: Counter = Counter()
    count: Counter = Counter()
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for e in entries:
        sums[e["dealer"]] += e["amount_fen"]
        count[e["dealer"]] += 1
        by_kind[e["kind"]][e["dealer"]] += e["amount_fen"]
    dealers = await Dealer.select()
    for d in dealers:
        expected = sums[d["id"]] if count[d["id"]] else w.initial_balance[d["id"]]
        assert d["balance_fen"] == expected, f"dealer {d['id']} balance vs ledger"
        assert by_kind["invoice"][d["id"]] == invoiced_dealer[d["id"]], f"dealer {d['id']} invoices"
        assert -by_kind["payment"][d["id"]] == w.payments[d["id"]], f"dealer {d['id']} payments"

    # Credit: open_orders_fen is exactly the open orders less their invoiced part.
    open_total: Counter = Counter()
    for o in all_orders:
        if is_open(o["id"]):
            open_total[o["dealer"]] += o["total_fen"] - invoiced_order[o["id"]]
        elif o["status"] in ("shipped", "completed"):
            assert invoiced_order[o["id"]] == o["total_fen"], f"order {o['id']} invoiced"
    tolerance = await supplier.credit_tolerance()
    for d in dealers:
        assert d["open_orders_fen"] == open_total[d["id"]], f"dealer {d['id']} exposure"
        ceiling = credit.ceiling_fen(d, tolerance)
        assert credit.exposure_fen(d) <= ceiling, f"dealer {d['id']} over ceiling"

    # Orders: lines, each carrying its order's dealer (the catalog's last purchases read
    # it), unique numbers.
    assert set(by_id) <= {ln["order"] for ln in lines}, "an order without lines"
    for ln in lines:
        assert ln["dealer"] == by_id[ln["order"]]["dealer"], f"line {ln['id']} dealer"
    numbers = [o["number"] for o in await Order.select(Order.number)]
    assert len(numbers) == len(set(numbers)), "order numbers repeat"

    # Audit: every change has its entry.
    audit: dict[str, Counter] = defaultdict(Counter)
    for entry in await AuditEntry.select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.after):
        audit[entry["action"]][int(entry["entity_id"])] += 1
    statuses: dict[str, set[int]] = defaultdict(set)
    for i, o in by_id.items():
        statuses[o["status"]].add(i)
    assert set(audit["order.submitted"]) == set(by_id), "audit: submitted"
    assert set(audit["order.cancelled"]) == statuses["cancelled"], "audit: cancelled"
    assert set(audit["order.rejected"]) == statuses["rejected"], "audit: rejected"
    decided: Counter = Counter()
    for step in await ApprovalStep.select(ApprovalStep.order, ApprovalStep.status):
        if step["status"] in ("approved", "rejected", "returned"):
            decided[step["order"]] += 1
    decisions: Counter = Counter()
    for action in ("order.approved", "order.step_approved", "order.rejected", "order.returned"):
        decisions.update(audit[action])
    assert decisions == decided, "audit: approval decisions"
    by_status: dict[str, set[int]] = defaultdict(set)
    for s in all_shipments:
        by_status[s["status"]].add(s["id"])
    assert set(audit["shipment.packed"]) == set(shipment_by_id), "audit: packed"
    assert set(audit["shipment.shipped"]) == by_status["shipped"] | by_status["received"], (
        "audit: shipped"
    )
    assert set(audit["shipment.received"]) == by_status["received"], "audit: received"
    assert set(audit["shipment.cancelled"]) == by_status["cancelled"], "audit: unpacked"
    payments = [e for e in entries if e["kind"] == "payment"]
    paid_dealers = Counter(e["dealer"] for e in payments)
    assert audit["ledger.payment"] == paid_dealers, "audit: payments"

    # Timeline: each order's events.
    events: dict[str, set[int]] = defaultdict(set)
    for e in await OrderEvent.select(OrderEvent.order, OrderEvent.kind):
        events[e["kind"]].add(e["order"])
    assert events["submitted"] == set(by_id), "timeline: submitted"
    assert events["cancelled"] == statuses["cancelled"], "timeline: cancelled"
    assert events["rejected"] == statuses["rejected"], "timeline: rejected"
    shipped_orders = {s["order"] for s in all_shipments if s["status"] in SHIPPED_STATES}
    assert events["shipment_shipped"] == shipped_orders, "timeline: shipped"
    # A count that took reservations back: audited and on the orders' timelines (as waiting
    # for stock, or as reserved at another warehouse at once).
    gave_way = events["stock_short"] | events["stock_moved"]
    assert set(audit["order.stock_gave_way"]) == gave_way, "timeline: stock short or moved"


async def test_storm_keeps_stock_credit_ledger_and_orders_consistent(db):
    rng = random.Random(SEED)
    w = await build_world(rng)
    started = time.monotonic()
    outcomes = await asyncio.wait_for(storm(w, rng), timeout=TIME_BUDGET_S * 2)
    elapsed = time.monotonic() - started
    await check_invariants(w)
    # The storm must have exercised every path, or it proves little.
    assert outcomes["placed"] >= 20, outcomes
    assert outcomes["submit:InsufficientStock"] + outcomes["submit:CreditExceeded"] >= 5, outcomes
    assert outcomes["cancelled"] >= 5, outcomes
    assert outcomes["decided:approved"] + outcomes["decided:step_approved"] >= 5, outcomes
    assert outcomes["decided:rejected"] + outcomes["decided:returned"] >= 1, outcomes
    assert outcomes["shipped"] >= 5, outcomes
    assert outcomes["received"] >= 3, outcomes
    assert outcomes["paid"] >= 3, outcomes
    assert outcomes["counted"] >= 3 and outcomes["gave_way"] >= 1, outcomes
    assert await Order.count() == outcomes["placed"]
    backordered = await OrderLine.count().where(OrderLine.qty_backordered > 0)
    refilled = await AuditEntry.count().where(AuditEntry.action == "order.backorder_reserved")
    assert backordered + refilled >= 1, "no line waited for stock"
    assert elapsed < TIME_BUDGET_S, f"storm took {elapsed:.1f}s"


@pytest.mark.parametrize("drift", ["reserved", "balance", "shipped", "audit"])
async def test_invariant_check_catches_drift(db, drift):
    """The checker is not vacuous: one unit of drift anywhere is reported."""
    rng = random.Random(SEED)
    w = await build_world(rng)
    buyer = next(a for a in w.dealer_actors if a.dealer_id == w.rep_dealers[0])
    placed = await orders.submit_order(
        buyer, None, [LineRequest(qty=2, sku_id=w.skus[0]["id"])], idempotency_key="drift"
    )
    order_id = placed.order.id
    line = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id).first()
    wh = (await Reservation.select().where(Reservation.order_line == line["id"]).first())[
        "warehouse"
    ]
    packed = await shipments.create_shipment(
        w.warehouse, order_id, warehouse_id=wh, quantities={line["id"]: 1}
    )
    await shipments.ship(w.warehouse, packed.shipment.id)
    await check_invariants(w)
    if drift == "reserved":
        await StockLevel.update({StockLevel.reserved: StockLevel.reserved + 1}).where(
            StockLevel.sku == w.skus[0]["id"]
        )
        message = "stock"
    elif drift == "balance":
        await Dealer.update({Dealer.balance_fen: Dealer.balance_fen + 1}).where(
            Dealer.id == buyer.dealer_id
        )
        message = "balance vs ledger"
    elif drift == "shipped":
        await OrderLine.update({OrderLine.qty_shipped: 2}).where(OrderLine.id == line["id"])
        message = "line"
    else:
        await AuditEntry.delete().where(AuditEntry.action == "shipment.shipped")
        message = "audit: shipped"
    with pytest.raises(AssertionError, match=message):
        await check_invariants(w)
