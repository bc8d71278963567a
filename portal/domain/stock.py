"""Stock: availability per SKU, reservations for orders (never oversold), backorders.

available = on_hand - reserved. Reserving runs inside the caller's transaction: the SKUs'
stock rows are locked in id order (PostgreSQL; on SQLite the IMMEDIATE transaction is the
lock), warehouses are chosen by preference, and every change is a guarded update
(`... WHERE on_hand - reserved >= q`) whose row count is checked, so even a caller that
forgot the lock could not oversell.

Backorders (欠货): a SKU that allows them takes what is available and records the rest on
the order line (order_line.qty_backordered) instead of refusing. Whenever stock becomes
free again (goods received, a count, a return, a cancelled order), `fill_backorders` gives
it to the open backordered lines, oldest order first. A line's backordered quantity only
changes while its SKU's stock rows are locked, so filling and cancelling never cross.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from portal.db import (
    Write,
    current_engine,
    fetch,
    is_sqlite,
    write_together,
    write_transaction,
)
from portal.domain import audit, notifications
from portal.domain.codes import same_text
from portal.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.idempotency import (
    KeyTaken,
    check_key,
    claim_fulfilment_key,
    used_fulfilment_key,
)
from portal.domain.scope import (
    Actor,
    in_scope,
    require_staff_warehouse,
    staff_warehouses,
    visible_dealer_ids,
)
from portal.tables import OrderEvent, Reservation, Sku, StockLevel, Warehouse
from portal.tables.orders import OrderLine


@dataclass(frozen=True)
class Shortfall:
    """A line that cannot be reserved: how much was asked for and how much there is."""

    sku_id: int
    requested: int
    available: int


@dataclass(frozen=True)
class Allocation:
    """Part (or all) of a line reserved from one warehouse's stock row."""

    key: Hashable  # the order line id, or the caller's key until the line exists
    stock_level_id: int
    warehouse_id: int
    sku_id: int
    qty: int
    # True: there was no stock for `qty`; it waits on the line as a backorder (no stock row).
    backorder: bool = False


def reserved_allocations(allocations: list[Allocation]) -> list[Allocation]:
    """The allocations that hold stock (without the backordered quantities)."""
    return [a for a in allocations if not a.backorder]


def backordered_by_key(allocations: list[Allocation]) -> dict[Hashable, int]:
    """The backordered quantity per allocation key (only keys with a backorder)."""
    result: dict[Hashable, int] = defaultdict(int)
    for a in allocations:
        if a.backorder:
            result[a.key] += a.qty
    return dict(result)


async def availability_by_sku(
    sku_ids: list[int], warehouse_ids: list[int] | None = None
) -> dict[int, int]:
    """Available quantity (base units) per SKU over active warehouses (of `warehouse_ids`
    only, when given: a warehouse user's own); 0 when none is held."""
    ids = sorted(set(sku_ids))
    result = {sku_id: 0 for sku_id in ids}
    if not ids:
        return result
    active = StockLevel.warehouse.active.eq(True)
    if warehouse_ids is not None:
        active &= StockLevel.warehouse.is_in(sorted(warehouse_ids) or [-1])
    rows = await StockLevel.select(StockLevel.sku, StockLevel.on_hand, StockLevel.reserved).where(
        StockLevel.sku.is_in(ids) & active
    )
    for row in rows:
        result[row["sku"]] += max(0, row["on_hand"] - row["reserved"])
    return result


async def by_warehouse(
    sku_ids: list[int], warehouse_ids: list[int] | None = None
) -> dict[int, list[dict]]:
    """Staff view: per SKU, each active warehouse's on hand, reserved and available (of
    `warehouse_ids` only, when given: a warehouse user's own)."""
    ids = sorted(set(sku_ids))
    result: dict[int, list[dict]] = {sku_id: [] for sku_id in ids}
    if not ids:
        return result
    held = StockLevel.sku.is_in(ids) & StockLevel.warehouse.active.eq(True)
    if warehouse_ids is not None:
        held &= StockLevel.warehouse.is_in(sorted(warehouse_ids) or [-1])
    rows = (
        await StockLevel.select(
            StockLevel.sku,
            StockLevel.warehouse,
            StockLevel.warehouse.code.as_alias("warehouse_code"),
            StockLevel.warehouse.name.as_alias("warehouse_name"),
            StockLevel.on_hand,
            StockLevel.reserved,
        )
        .where(held)
        .order_by(StockLevel.warehouse.priority)
        .order_by(StockLevel.warehouse)
    )
    for row in rows:
        row["available"] = row["on_hand"] - row["reserved"]
        result[row["sku"]].append(row)
    return result


async def lock_stock_rows(sku_ids: list[int]) -> list[dict]:
    """The SKUs' stock rows (every warehouse), locked in id order: the fixed order that
    prevents deadlocks. Every change of stock or of a backordered quantity takes it first."""
    query = (
        StockLevel.select(
            StockLevel.id,
            StockLevel.warehouse,
            StockLevel.sku,
            StockLevel.on_hand,
            StockLevel.reserved,
        )
        .where(StockLevel.sku.is_in(sorted(set(sku_ids))))
        .order_by(StockLevel.id)
    )
    if not is_sqlite(current_engine()):
        query = query.lock_rows()
    return await query


async def _lock_rows_and_warehouses(sku_ids: list[int]) -> tuple[list[dict], dict[int, dict]]:
    """`lock_stock_rows` with each row's warehouse (priority, active) in the same statement:
    the same rows, locked in the same (id) order; returns (rows, warehouses by id)."""
    ids = sorted(set(sku_ids))
    sql = (
        "SELECT s.id AS id, s.warehouse AS warehouse, s.sku AS sku, s.on_hand AS on_hand, "
        "s.reserved AS reserved, w.priority AS priority, w.active AS active "
        "FROM stock_level s JOIN warehouse w ON w.id = s.warehouse "
        "WHERE s.sku IN (" + ", ".join("{}" for _ in ids) + ") ORDER BY s.id"
    )
    if not is_sqlite(current_engine()):
        sql += " FOR UPDATE OF s"
    rows = await fetch(sql, *ids)
    warehouses: dict[int, dict] = {}
    for row in rows:
        active = row.pop("active")
        priority = row.pop("priority")
        warehouses[row["warehouse"]] = {
            "id": row["warehouse"],
            "priority": priority,
            "active": active is True or active == 1 or active == "1",
        }
    return rows, warehouses


def _preference(dealer: dict, warehouses: dict[int, dict]):
    """Warehouse order: the dealer's default first, then by priority (1 before 2), then id."""
    default = dealer.get("default_warehouse")

    def key(row: dict) -> tuple:
        wh = warehouses[row["warehouse"]]
        return (0 if wh["id"] == default else 1, wh["priority"], wh["id"])

    return key


async def backorderable(sku_ids: list[int]) -> set[int]:
    """The SKUs among `sku_ids` that allow backorders."""
    ids = sorted(set(sku_ids))
    if not ids:
        return set()
    rows = await Sku.select(Sku.id).where(Sku.id.is_in(ids) & Sku.allow_backorder.eq(True))
    return {r["id"] for r in rows}


async def _active_warehouses() -> dict[int, dict]:
    return {
        w["id"]: w
        for w in await Warehouse.select(Warehouse.id, Warehouse.priority, Warehouse.active)
    }


def reserve_write(allocations: list[Allocation]) -> Write | None:
    """The one guarded statement that raises `reserved` on the allocations' stock rows, in id
    order (the caller holds their locks), returning the ids of the rows it raised: a row
    missing from them failed its guard (`on_hand - reserved >= q`). None if nothing is
    reserved (all backordered)."""
    per_row: dict[int, int] = defaultdict(int)
    for a in reserved_allocations(allocations):
        per_row[a.stock_level_id] += a.qty
    ids = sorted(per_row)
    if not ids:
        return None
    args: list[int] = []
    for row_id in ids:
        args += [row_id, per_row[row_id]]
    return (
        "UPDATE stock_level SET reserved = stock_level.reserved + v.column2 FROM (VALUES "
        + ", ".join("(CAST({} AS INTEGER), CAST({} AS INTEGER))" for _ in ids)
        + ") AS v WHERE stock_level.id = v.column1 "
        "AND stock_level.on_hand - stock_level.reserved >= v.column2 RETURNING id",
        args,
    )


async def guard_shortfalls(
    lines: list[tuple[Hashable, int, int]], allocations: list[Allocation], raised: list[dict]
) -> list[Shortfall]:
    """The lines whose stock rows the guarded update did not raise (`raised`: the rows it
    returned), as short with today's figures; [] if it raised them all. Only possible
    without the rows' locks: the caller must raise (roll back) on a non-empty list."""
    done = {int(r["id"]) for r in raised}
    failed_skus = {
        a.sku_id for a in reserved_allocations(allocations) if a.stock_level_id not in done
    }
    if not failed_skus:
        return []
    now_free = await availability_by_sku(sorted(failed_skus))
    return [
        Shortfall(sku_id, qty, now_free.get(sku_id, 0))
        for _key, sku_id, qty in lines
        if sku_id in failed_skus
    ]


async def allocate(
    dealer: dict,
    lines: list[tuple[Hashable, int, int]],
    *,
    backorders: bool = True,
    backorderable_skus: set[int] | None = None,
    apply: bool = True,
) -> tuple[list[Allocation], list[Shortfall]]:
    """Reserve stock for (key, sku_id, qty) lines inside the caller's transaction.

    Returns the allocations made, or (when any line is short) no allocations and every
    short line with what is available. Shortfalls are found before any update, so normally
    nothing has changed; still, the caller must raise (roll back) on a non-empty list.
    A line may be split across warehouses. A line of a SKU that allows backorders is never
    short: it takes what there is and the rest comes back as a `backorder` allocation
    (unless `backorders` is False). `backorderable_skus`: which of the SKUs allow
    backorders, when the caller already read it (else it is read here). With apply=False
    the rows are locked and the allocations computed but `reserved` is not raised: the
    caller runs reserve_write(allocations) itself, with its other writes, and checks it
    with guard_shortfalls.
    """
    if not lines:
        return [], []
    sku_ids = [sku_id for _, sku_id, _ in lines]
    rows, warehouses = await _lock_rows_and_warehouses(sku_ids)
    if not backorders:
        may_wait: set[int] = set()
    elif backorderable_skus is not None:
        may_wait = set(backorderable_skus) & set(sku_ids)
    else:
        may_wait = await backorderable(sku_ids)
    rows = [r for r in rows if warehouses.get(r["warehouse"], {}).get("active")]
    free = {r["id"]: r["on_hand"] - r["reserved"] for r in rows}
    per_sku: dict[int, list[dict]] = defaultdict(list)
    for row in sorted(rows, key=_preference(dealer, warehouses)):
        per_sku[row["sku"]].append(row)

    allocations: list[Allocation] = []
    shortfalls: list[Shortfall] = []
    for key, sku_id, qty in lines:
        candidates = per_sku.get(sku_id, [])
        total_free = sum(max(0, free[r["id"]]) for r in candidates)
        if total_free < qty and sku_id not in may_wait:
            shortfalls.append(Shortfall(sku_id=sku_id, requested=qty, available=total_free))
            continue
        remaining = qty
        for row in candidates:
            if remaining == 0:
                break
            take = min(remaining, max(0, free[row["id"]]))
            if take <= 0:
                continue
            free[row["id"]] -= take
            remaining -= take
            allocations.append(
                Allocation(
                    key=key,
                    stock_level_id=row["id"],
                    warehouse_id=row["warehouse"],
                    sku_id=sku_id,
                    qty=take,
                )
            )
        if remaining:
            allocations.append(
                Allocation(
                    key=key,
                    stock_level_id=0,
                    warehouse_id=0,
                    sku_id=sku_id,
                    qty=remaining,
                    backorder=True,
                )
            )
    if shortfalls:
        return [], shortfalls

    if not apply:
        return allocations, []
    # Apply in stock-row id order; each update is guarded, and its row count checked.
    write = reserve_write(allocations)
    if write is None:
        return allocations, []
    shortfalls = await guard_shortfalls(lines, allocations, await write_together([write]))
    return ([], shortfalls) if shortfalls else (allocations, [])


async def write_reservations(allocations: list[Allocation], line_ids: dict | None = None) -> None:
    """Record who holds what, and the backordered quantities on the order lines.

    `line_ids` maps allocation keys to order line ids if the keys are not line ids already.
    """
    await write_together(reservation_writes(allocations, line_ids))


def reservation_writes(allocations: list[Allocation], line_ids: dict | None = None) -> list[Write]:
    """What write_reservations writes, for a caller that writes it together with more."""

    def line_of(a: Allocation) -> int:
        return line_ids[a.key] if line_ids is not None else a.key

    writes: list[Write] = []
    held = reserved_allocations(allocations)
    if held:
        args: list[Any] = []
        for a in held:
            args += [line_of(a), a.warehouse_id, a.sku_id, a.qty]
        writes.append(
            (
                "INSERT INTO reservation (order_line, warehouse, sku, qty) VALUES "
                + ", ".join("({}, {}, {}, {})" for _ in held),
                args,
            )
        )
    waiting: dict[int, int] = defaultdict(int)
    for a in allocations:
        if a.backorder:
            waiting[line_of(a)] += a.qty
    writes += [
        (
            "UPDATE order_line SET qty_backordered = qty_backordered + {} WHERE id = {}",
            [waiting[line_id], line_id],
        )
        for line_id in sorted(waiting)
    ]
    return writes


async def reserve_lines(dealer: dict, lines: list[tuple[int, int, int]]) -> list[Shortfall]:
    """Reserve (order_line_id, sku_id, qty) lines and write Reservation rows (and backorders).

    Inside the caller's transaction. A non-empty result means nothing usable was reserved
    and the caller must roll back (raise InsufficientStock).
    """
    allocations, shortfalls = await allocate(dealer, lines)
    if shortfalls:
        return shortfalls
    await write_reservations(allocations)
    return []


async def release_order(order_id: int) -> list[int]:
    """Give back every reservation of the order, delete them and clear its backorders.

    In the caller's transaction, under the locks of the stock rows of every SKU on the order.
    Returns the SKUs whose stock became free (for `fill_backorders`).
    """
    skus = await OrderLine.select(OrderLine.sku).where(OrderLine.order == order_id)
    if not skus:
        return []
    # Lock first, then read: a backorder filled meanwhile is seen with its reservation.
    rows = await lock_stock_rows(sorted({r["sku"] for r in skus}))
    lines = await OrderLine.select(OrderLine.id, OrderLine.qty_backordered).where(
        OrderLine.order == order_id
    )
    line_ids = [ln["id"] for ln in lines]
    reservations = await Reservation.select(
        Reservation.id, Reservation.warehouse, Reservation.sku, Reservation.qty
    ).where(Reservation.order_line.is_in(line_ids))
    waiting = [ln["id"] for ln in lines if ln["qty_backordered"]]
    held: dict[tuple[int, int], int] = defaultdict(int)
    for r in reservations:
        held[(r["warehouse"], r["sku"])] += r["qty"]
    row_ids = {(r["warehouse"], r["sku"]): r["id"] for r in rows}
    for (warehouse_id, sku_id), qty in sorted(held.items(), key=lambda kv: row_ids[kv[0]]):
        done = await fetch(
            "UPDATE stock_level SET reserved = reserved - {} "
            "WHERE id = {} AND reserved >= {} RETURNING id",
            qty,
            row_ids[(warehouse_id, sku_id)],
            qty,
        )
        if not done:
            raise RuntimeError(
                f"stock row for warehouse {warehouse_id}, sku {sku_id} holds less than "
                f"the {qty} reserved by order {order_id}"
            )
    if reservations:
        await Reservation.delete().where(Reservation.id.is_in([r["id"] for r in reservations]))
    if waiting:
        await OrderLine.update({OrderLine.qty_backordered: 0}).where(OrderLine.id.is_in(waiting))
    return sorted({sku for _, sku in held})


# --- backorders: free stock goes to the oldest open backordered lines ------------------------


@dataclass(frozen=True)
class GaveWay:
    """Part of a line's reservation that a count or a loss took back: it waits for stock."""

    order_id: int
    order_number: str
    order_line_id: int
    sku_code: str
    unit: str
    qty: int
    waiting: int  # of qty, what still waits once other warehouses served what they could
    order_status: str = ""


@dataclass(frozen=True)
class FilledLine:
    """Part (or all) of a line's backorder that was reserved when stock became free."""

    order_id: int
    order_number: str
    order_line_id: int
    sku_id: int
    sku_code: str
    unit: str
    qty: int
    still_backordered: int


async def _open_backorder_lines(sku_ids: list[int]) -> list[dict]:
    """Open orders' backordered lines of the SKUs, oldest order first (submitted, then id)."""
    from portal.domain.orders import OPEN_STATUSES  # orders imports this module

    return await (
        OrderLine.select(
            OrderLine.id,
            OrderLine.sku,
            OrderLine.sku_code,
            OrderLine.unit,
            OrderLine.qty_backordered,
            OrderLine.order,
            OrderLine.order.number.as_alias("order_number"),
            OrderLine.order.status.as_alias("order_status"),
            OrderLine.order.dealer.default_warehouse.as_alias("default_warehouse"),
        )
        .where(OrderLine.sku.is_in(sorted(set(sku_ids))))
        .where(OrderLine.qty_backordered > 0)
        .where(OrderLine.order.status.is_in(list(OPEN_STATUSES)))
        .order_by(OrderLine.order.created_at)
        .order_by(OrderLine.order.id)
        .order_by(OrderLine.id)
    )


async def fill_backorders(
    sku_ids: list[int],
    *,
    actor: Actor | None,
    now: datetime,
    silent_lines: frozenset[int] = frozenset(),
) -> list[FilledLine]:
    """Reserve free stock of the SKUs for open backordered lines, oldest order first.

    Inside the caller's transaction, which has just made stock free (a receipt, a count, a
    return, a release). Locks the SKUs' stock rows in id order, then writes reservations,
    lowers the lines' backordered quantities (guarded), puts "backorder reserved" on each
    order's timeline and audits it. Returns what was reserved.
    """
    ids = sorted(set(sku_ids))
    if not ids or not await _open_backorder_lines(ids):
        return []
    rows = await lock_stock_rows(ids)
    lines = await _open_backorder_lines(ids)  # again, now that nobody else can change them
    warehouses = await _active_warehouses()
    rows = [r for r in rows if warehouses.get(r["warehouse"], {}).get("active")]
    free = {r["id"]: r["on_hand"] - r["reserved"] for r in rows}
    allocations: list[Allocation] = []
    filled: list[FilledLine] = []
    for line in lines:
        if sum(max(0, free[r["id"]]) for r in rows if r["sku"] == line["sku"]) <= 0:
            continue
        prefer = _preference({"default_warehouse": line["default_warehouse"]}, warehouses)
        need, got = line["qty_backordered"], 0
        for row in sorted((r for r in rows if r["sku"] == line["sku"]), key=prefer):
            take = min(need - got, max(0, free[row["id"]]))
            if take <= 0:
                continue
            free[row["id"]] -= take
            got += take
            allocations.append(
                Allocation(line["id"], row["id"], row["warehouse"], line["sku"], take)
            )
            if got == need:
                break
        filled.append(
            FilledLine(
                order_id=line["order"],
                order_number=line["order_number"],
                order_line_id=line["id"],
                sku_id=line["sku"],
                sku_code=line["sku_code"],
                unit=line["unit"],
                qty=got,
                still_backordered=need - got,
            )
        )
    if not filled:
        return []
    write = reserve_write(allocations)
    raised = await write_together([write]) if write else []
    if {int(r["id"]) for r in raised} != {a.stock_level_id for a in allocations}:
        raise RuntimeError("stock rows changed under their lock while filling backorders")
    await write_reservations(allocations)
    for f in filled:
        done = await fetch(
            "UPDATE order_line SET qty_backordered = qty_backordered - {} "
            "WHERE id = {} AND qty_backordered >= {} RETURNING id",
            f.qty,
            f.order_line_id,
            f.qty,
        )
        if not done:
            raise RuntimeError(f"order line {f.order_line_id} has less backordered than {f.qty}")
    status = {ln["order"]: ln["order_status"] for ln in lines}
    by_order: dict[int, list[FilledLine]] = defaultdict(list)
    for f in filled:
        by_order[f.order_id].append(f)
    for order_id, parts in sorted(by_order.items()):
        # What is still waiting shows on the line itself ("backordered N").
        note = "; ".join(f"{p.sku_code}: {p.qty} {p.unit}" for p in parts)
        # Lines whose reservation gave way a moment ago (silent_lines): the caller tells that
        # story once, without a "backorder arrived" for what never waited.
        told = not all(p.order_line_id in silent_lines for p in parts)
        if told:
            await OrderEvent.insert(
                OrderEvent(
                    order=order_id,
                    at=now,
                    actor=actor.user_id if actor else None,
                    kind="backorder_reserved",
                    from_status=status[order_id],
                    to_status=status[order_id],
                    note=note,
                )
            )
        await audit.record(
            actor,
            "order.backorder_reserved",
            "order",
            order_id,
            {"backordered": {str(p.order_line_id): p.qty + p.still_backordered for p in parts}},
            {
                "backordered": {str(p.order_line_id): p.still_backordered for p in parts},
                "reserved": [
                    {
                        "order_line_id": a.key,
                        "sku_id": a.sku_id,
                        "warehouse_id": a.warehouse_id,
                        "qty": a.qty,
                    }
                    for a in allocations
                    if a.key in {p.order_line_id for p in parts}
                ],
            },
            now=now,
        )
        # The dealer hears that goods they waited for are now set aside for them.
        if told:
            await notifications.tell(
                order_id, "backorder_reserved", actor=actor, now=now, note=note
            )
    return filled


# --- staff: the open backorders, oldest first ------------------------------------------------

BACKORDER_VIEWERS = frozenset({"warehouse", "admin", "sales_manager"})


def may_see_backorders(actor: Actor | None) -> bool:
    return actor is not None and actor.role in BACKORDER_VIEWERS


@dataclass
class BackorderRow:
    """One order line waiting for stock, for staff."""

    order_line_id: int
    order_id: int
    order_number: str
    order_status: str
    submitted_at: datetime
    dealer_id: int
    dealer_name: str
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: int  # ordered
    qty_backordered: int


async def _backorders_where(actor: Actor, query: Any, q: str, sku_id: int | None) -> Any:
    """`query` (a select or a count of order lines) narrowed to the open orders' backordered
    lines the actor may see, matching q (SKU code or name, order number, dealer name)."""
    from portal.domain.orders import OPEN_STATUSES  # orders imports this module

    if not may_see_backorders(actor):
        raise Forbidden(_("Your role cannot see backorders."))
    query = (
        query.where(OrderLine.qty_backordered > 0)
        .where(OrderLine.order.status.is_in(list(OPEN_STATUSES)))
        .where(in_scope(OrderLine.order.dealer, await visible_dealer_ids(actor)))
    )
    text = q.replace("%", "").replace("_", "").replace("\\", "").strip()[:60]
    if text:
        pattern = f"%{text}%"
        like = "like" if is_sqlite(current_engine()) else "ilike"
        query = query.where(
            getattr(OrderLine.sku_code, like)(pattern)
            | getattr(OrderLine.sku_name, like)(pattern)
            | getattr(OrderLine.order.number, like)(pattern)
            | getattr(OrderLine.order.dealer.name, like)(pattern)
        )
    if sku_id is not None:
        query = query.where(OrderLine.sku == sku_id)
    return query


async def count_backorders(actor: Actor, *, q: str = "", sku_id: int | None = None) -> int:
    """How many lines list_backorders finds on all its pages."""
    return int(await (await _backorders_where(actor, OrderLine.count(), q, sku_id)))


async def list_backorders(
    actor: Actor, *, q: str = "", sku_id: int | None = None, limit: int = 200, offset: int = 0
) -> list[BackorderRow]:
    """Open orders' backordered lines the actor may see (their dealers), oldest order first:
    the order in which arriving stock will be reserved for them; `limit` of them (at most
    500) from `offset`."""
    limit = min(max(1, int(limit)), 500)
    query = await _backorders_where(
        actor,
        OrderLine.select(
            OrderLine.id,
            OrderLine.order,
            OrderLine.order.number.as_alias("order_number"),
            OrderLine.order.status.as_alias("order_status"),
            OrderLine.order.created_at.as_alias("submitted_at"),
            OrderLine.order.dealer.as_alias("dealer_id"),
            OrderLine.order.dealer.name.as_alias("dealer_name"),
            OrderLine.sku,
            OrderLine.sku_code,
            OrderLine.sku_name,
            OrderLine.unit,
            OrderLine.qty,
            OrderLine.qty_backordered,
        ),
        q,
        sku_id,
    )
    rows = await (
        query.order_by(OrderLine.order.created_at)
        .order_by(OrderLine.order.id)
        .order_by(OrderLine.id)
        .limit(limit)
        .offset(max(0, int(offset)))
    )
    return [
        BackorderRow(
            order_line_id=r["id"],
            order_id=r["order"],
            order_number=r["order_number"],
            order_status=r["order_status"],
            submitted_at=r["submitted_at"],
            dealer_id=r["dealer_id"],
            dealer_name=r["dealer_name"] or "",
            sku_id=r["sku"],
            sku_code=r["sku_code"],
            sku_name=r["sku_name"],
            unit=r["unit"],
            qty=r["qty"],
            qty_backordered=r["qty_backordered"],
        )
        for r in rows
    ]


# --- staff: the stock list and adjustments (warehouse staff and admin) ----------------------

STOCK_STAFF = frozenset({"warehouse", "admin"})
ADJUST_REASONS = ("receipt", "count", "damage")
ADJUST_REASON_LABELS = {
    "receipt": _("Goods received"),
    "count": _("Stock count"),
    "damage": _("Damaged or lost"),
}
MAX_ADJUST_QTY = 10_000_000


@dataclass
class StockRow:
    """One SKU at one warehouse, for staff."""

    stock_level_id: int
    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    unit: str
    warehouse_id: int
    warehouse_code: str
    warehouse_name: str
    on_hand: int
    reserved: int
    safety_stock: int
    sku_available: int  # over all active warehouses
    # What an adjustment just took back from orders' reservations here (adjust_stock).
    gave_way: tuple[GaveWay, ...] = ()

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def under_safety(self) -> bool:
        return self.safety_stock > 0 and self.sku_available < self.safety_stock


def _require_stock_staff(actor: Actor) -> None:
    if actor.role not in STOCK_STAFF:
        raise Forbidden(_("Only warehouse staff may do this."))


async def _stock_where(
    actor: Actor,
    *,
    q: str,
    warehouse_id: int | None,
    under_safety: bool,
    sku_id: int | None,
    include_paused: bool,
) -> tuple[str, list[Any], list[int] | None]:
    """The FROM and WHERE of the staff stock list, with its arguments and the actor's own
    warehouses (None: all). A warehouse user given warehouses reads those only; a warehouse
    asked for outside them, or that does not exist, is NotFound."""
    _require_stock_staff(actor)
    mine = await staff_warehouses(actor)
    if warehouse_id is not None:
        # One warehouse asked for: its rows even while it is paused (it keeps its stock and
        # reservations, parcels still leave it, and staff count and adjust what is left).
        include_paused = True
        await require_staff_warehouse(actor, warehouse_id)
        if mine is None and not await Warehouse.exists().where(Warehouse.id == int(warehouse_id)):
            raise NotFound(_("Warehouse not found."))
    sql = (
        'FROM "sku" s JOIN "stock_level" sl ON sl.sku = s.id '
        'JOIN "warehouse" w ON w.id = sl.warehouse WHERE w.active IN ({}, {})'
    )
    # Both flags for a paused warehouse too; the same statement shape either way.
    args: list[Any] = [True, not include_paused]
    text = q.replace("%", "").replace("_", "").replace("\\", "").strip()[:60]
    if text:
        like = "LIKE" if is_sqlite(current_engine()) else "ILIKE"
        sql += f" AND (s.code {like} {{}} OR s.name {like} {{}} OR s.barcode = {{}})"
        args += [f"%{text}%", f"%{text}%", text]
    if mine is not None:
        sql += " AND sl.warehouse IN (" + ", ".join("{}" for _i in mine) + ")"
        args += mine
    if warehouse_id is not None:
        sql += " AND sl.warehouse = {}"
        args.append(int(warehouse_id))
    if sku_id is not None:
        sql += " AND sl.sku = {}"
        args.append(int(sku_id))
    if under_safety:
        # The SKUs under safety stock, decided in SQL (as the alert list) before the limit,
        # over the same warehouses as the alert list the actor sees.
        from portal.domain.safety_stock import under_sql

        sql += f" AND s.id IN (SELECT id FROM ({under_sql(mine)}) AS u)"
    return sql, args, mine


async def list_stock(
    actor: Actor,
    *,
    q: str = "",
    warehouse_id: int | None = None,
    under_safety: bool = False,
    sku_id: int | None = None,
    limit: int = 200,
    include_paused: bool = False,
    offset: int = 0,
) -> list[StockRow]:
    """Stock by SKU and warehouse, in SKU code order (`offset` rows skipped, for paging);
    search code, name or barcode; only SKUs under safety stock. Paused warehouses are left
    out unless include_paused. A warehouse user given warehouses sees those only (their
    SKUs' availability summed over them too); another warehouse asked for is NotFound."""
    where, args, mine = await _stock_where(
        actor,
        q=q,
        warehouse_id=warehouse_id,
        under_safety=under_safety,
        sku_id=sku_id,
        include_paused=include_paused,
    )
    # From the SKUs in code order to their stock rows (inner joins): PostgreSQL walks the
    # code index and stops at the limit. From the stock rows with outer joins, as the ORM
    # wrote it, it sorted every stock row first (107 ms at 100,000 SKUs against 0.2).
    rows = await fetch(
        "SELECT sl.id AS id, sl.sku AS sku, s.code AS sku_code, s.name AS sku_name, "
        "s.barcode AS barcode, s.base_unit AS unit, s.safety_stock AS safety_stock, "
        "sl.warehouse AS warehouse, w.code AS warehouse_code, w.name AS warehouse_name, "
        f"sl.on_hand AS on_hand, sl.reserved AS reserved {where} "
        f"ORDER BY s.code, sl.warehouse LIMIT {max(0, int(limit)):d} "
        f"OFFSET {max(0, int(offset)):d}",
        *args,
    )
    totals = await availability_by_sku([r["sku"] for r in rows], mine)
    result = [
        StockRow(
            stock_level_id=r["id"],
            sku_id=r["sku"],
            sku_code=r["sku_code"],
            sku_name=r["sku_name"],
            barcode=r["barcode"] or "",
            unit=r["unit"],
            warehouse_id=r["warehouse"],
            warehouse_code=r["warehouse_code"],
            warehouse_name=r["warehouse_name"],
            on_hand=r["on_hand"],
            reserved=r["reserved"],
            safety_stock=r["safety_stock"] or 0,
            sku_available=totals.get(r["sku"], 0),
        )
        for r in rows
    ]
    return result


async def count_stock(
    actor: Actor,
    *,
    q: str = "",
    warehouse_id: int | None = None,
    under_safety: bool = False,
    sku_id: int | None = None,
    include_paused: bool = False,
) -> int:
    """How many rows list_stock has for the same filters (for the stock page's pages)."""
    where, args, _mine = await _stock_where(
        actor,
        q=q,
        warehouse_id=warehouse_id,
        under_safety=under_safety,
        sku_id=sku_id,
        include_paused=include_paused,
    )
    rows = await fetch(f"SELECT COUNT(*) AS n {where}", *args)
    return int(rows[0]["n"]) if rows else 0


def _whole(raw: object, name: str) -> int:
    text = str(raw if raw is not None else "").strip()
    if not isinstance(raw, bool) and text.isdigit() and len(text) <= 9:
        return int(text)
    # Say what is wrong with a number: -5 and 10^15 are whole numbers.
    if not isinstance(raw, bool) and text.startswith("-") and text[1:].isdigit():
        message = _("The quantity cannot be negative.")
    elif not isinstance(raw, bool) and text.isdigit():
        message = _("The quantity is too large.")
    else:
        message = _("Enter a whole number.")
    raise ValidationFailed(errors=[FieldError(name, message)])


async def adjust_stock(
    actor: Actor,
    *,
    warehouse_id: int,
    sku_id: int,
    reason: str,
    qty: object,
    note: str = "",
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> StockRow:
    """Change on-hand stock with a reason (audited).

    receipt: `qty` arrived (+); damage: `qty` lost (−); count: `qty` is what was counted.
    A count or a loss that leaves fewer units than orders hold here stands (it is what is on
    the shelf): the newest orders' reservations give way and wait for stock (StockRow's
    `gave_way`; see _give_way).
    With an idempotency key, a retry of the same adjustment changes nothing more and answers
    with the stock as it is; the same key with another adjustment is a Conflict. A
    warehouse user given warehouses adjusts those only (NotFound for another).
    """
    now = now or datetime.now(UTC)
    _require_stock_staff(actor)
    await require_staff_warehouse(actor, warehouse_id)
    if reason not in ADJUST_REASONS:
        raise ValidationFailed(errors=[FieldError("reason", _("Choose a reason."))])
    amount = _whole(qty, "qty")
    if amount > MAX_ADJUST_QTY:
        raise ValidationFailed(errors=[FieldError("qty", _("The quantity is too large."))])
    if reason != "count" and amount == 0:
        raise ValidationFailed(errors=[FieldError("qty", _("Enter a quantity above zero."))])
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationFailed(
            errors=[FieldError("note", _("Too long (at most %(max)s characters)."), {"max": 200})]
        )
    if not await Warehouse.exists().where(Warehouse.id == warehouse_id):
        raise NotFound(_("Warehouse not found."))
    if not await Sku.exists().where(Sku.id == sku_id):
        raise NotFound(_("Product not found."))
    key, body_hash = None, ""
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        body_hash = hashlib.sha256(
            json.dumps([warehouse_id, sku_id, reason, amount, note]).encode()
        ).hexdigest()
        if await _adjustment_replayed(actor, key, body_hash):
            return (await list_stock(actor, warehouse_id=warehouse_id, sku_id=sku_id))[0]
    gave: list[GaveWay] = []
    try:
        gave = await _adjust(actor, warehouse_id, sku_id, reason, amount, note, now, key, body_hash)
    except KeyTaken:
        if not await _adjustment_replayed(actor, key or "", body_hash):
            raise Conflict(_("Please try again.")) from None
    # One warehouse named: its row even while it is paused (_stock_where).
    row = (await list_stock(actor, warehouse_id=warehouse_id, sku_id=sku_id))[0]
    return replace(row, gave_way=tuple(gave))


async def sku_for_receipt(actor: Actor, code_or_barcode: str) -> int:
    """The SKU a warehouse user names by code or barcode (any letter case) to receive it where
    the stock page lists no row for it yet (a new product, a new warehouse); a field error
    on sku_code when there is none."""
    _require_stock_staff(actor)
    text = (code_or_barcode or "").strip()
    if text and len(text) <= 40:
        row = await Sku.select(Sku.id).where(same_text(Sku.code, text)).first()
        if row is None:
            row = await Sku.select(Sku.id).where(Sku.barcode == text).first()
        if row is not None:
            return int(row["id"])
    raise ValidationFailed(
        errors=[FieldError("sku_code", _("No product has this code or barcode."))]
    )


async def _adjustment_replayed(actor: Actor, key: str, body_hash: str) -> bool:
    """True when this key already made this adjustment; Conflict when it made another."""
    row = await used_fulfilment_key(actor, key)
    if row is None:
        return False
    if row["request_hash"] != body_hash:
        raise Conflict(
            _("This idempotency key was already used for a different adjustment."),
            extra={"idempotency_key": key},
        )
    return True


async def _adjust(
    actor: Actor,
    warehouse_id: int,
    sku_id: int,
    reason: str,
    amount: int,
    note: str,
    now: datetime,
    key: str | None,
    body_hash: str,
) -> list[GaveWay]:
    async with write_transaction():
        await claim_fulfilment_key(actor, key, body_hash, now)
        return await adjust_in_transaction(
            actor, warehouse_id, sku_id, reason, amount, note, now, give_way=True
        )


async def adjust_in_transaction(
    actor: Actor,
    warehouse_id: int,
    sku_id: int,
    reason: str,
    amount: int,
    note: str,
    now: datetime,
    *,
    create_row: bool = False,
    audit_extra: dict[str, Any] | None = None,
    give_way: bool = False,
) -> list[GaveWay]:
    """One adjustment inside the caller's write transaction (a stock import makes many in
    one): lock the SKU's rows, change on hand (never below reserved: see give_way), fill
    backorders, audit.
    A receipt, or `create_row`, first gives a SKU new to the warehouse its stock row.
    transfer_out / transfer_in are the two halves of a transfer (transfer_stock).

    `give_way`: a count or a loss that leaves fewer units than the warehouse's orders hold is
    what is on the shelf, so it stands: the newest orders' reservations there give way
    (_give_way), and the other warehouses' free stock then goes to the oldest backorders.
    Without it (imports, transfers) such an adjustment is refused. Returns what gave way."""
    # All the SKU's rows, in id order (as filling backorders below takes them).
    await lock_stock_rows([sku_id])
    if reason == "receipt" or create_row:
        # A SKU new to this warehouse gets its stock row on first receipt.
        await fetch(
            "INSERT INTO stock_level (warehouse, sku, on_hand, reserved) "
            "VALUES ({}, {}, 0, 0) ON CONFLICT (warehouse, sku) DO NOTHING",
            warehouse_id,
            sku_id,
        )
    query = StockLevel.select().where(
        (StockLevel.warehouse == warehouse_id) & (StockLevel.sku == sku_id)
    )
    if not is_sqlite(current_engine()):
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise NotFound(_("This warehouse holds no stock of this product."))
    delta = {
        "receipt": amount,
        "damage": -amount,
        "count": amount - row["on_hand"],
        "transfer_in": amount,
        "transfer_out": -amount,
    }[reason]
    if reason == "damage" and row["on_hand"] + delta < 0:
        have = {"on_hand": row["on_hand"]}
        message = _("Only %(on_hand)s on hand: no more can be lost.")
        raise ValidationFailed(message, have, errors=[FieldError("qty", message, have)])
    gave: list[GaveWay] = []
    before = {"on_hand": row["on_hand"], "reserved": row["reserved"]}
    deficit = row["reserved"] - (row["on_hand"] + delta)
    if give_way and reason in ("count", "damage") and deficit > 0:
        gave = await _give_way(row, deficit, actor=actor, reason=reason, now=now)
        row = {**row, "reserved": row["reserved"] - deficit}
    done = await fetch(
        "UPDATE stock_level SET on_hand = on_hand + {} "
        "WHERE id = {} AND on_hand + {} >= reserved RETURNING on_hand",
        delta,
        row["id"],
        delta,
    )
    if not done and reason == "transfer_out":
        free = {"available": max(0, row["on_hand"] - row["reserved"])}
        message = _("Only %(available)s can move: the rest is reserved for orders.")
        raise ValidationFailed(message, free, errors=[FieldError("qty", message, free)])
    if not done:
        raise ValidationFailed(
            _("On hand cannot fall below the %(reserved)s reserved for orders."),
            {"reserved": row["reserved"]},
            errors=[
                FieldError(
                    "qty",
                    _("On hand cannot fall below the %(reserved)s reserved for orders."),
                    {"reserved": row["reserved"]},
                )
            ],
        )
    reserved_after = row["reserved"]
    filled: list[FilledLine] = []
    if delta > 0 or gave:
        # More on hand: the oldest open backorders of the SKU get it first. Reservations that
        # gave way: another warehouse's free stock may serve them (oldest backorders first).
        filled = await fill_backorders(
            [sku_id],
            actor=actor,
            now=now,
            silent_lines=frozenset(g.order_line_id for g in gave),
        )
        served = defaultdict(int)
        for f in filled:
            served[f.order_line_id] += f.qty
        still = []
        for g in gave:  # another warehouse served the line first for what it could
            took = min(g.qty, served[g.order_line_id])
            served[g.order_line_id] -= took
            still.append(replace(g, waiting=g.qty - took))
        gave = still
        if gave:
            await _tell_gave_way(gave, warehouse_id, actor=actor, now=now)
        if filled:
            reserved_after = (
                await StockLevel.select(StockLevel.reserved)
                .where(StockLevel.id == row["id"])
                .first()
            )["reserved"]
    await audit.record(
        actor,
        f"stock.{reason}",
        "stock_level",
        row["id"],
        before,
        {
            "on_hand": int(done[0]["on_hand"]),
            "reserved": reserved_after,
            "delta": delta,
            "warehouse_id": warehouse_id,
            "sku_id": sku_id,
            "note": note,
            "backorders_reserved": sum(f.qty for f in filled),
            "gave_way": [
                {
                    "order_id": g.order_id,
                    "order_line_id": g.order_line_id,
                    "qty": g.qty,
                    "waiting": g.waiting,
                }
                for g in gave
            ],
            **(audit_extra or {}),
        },
        now=now,
    )
    return gave


async def take_from_reservation(reservation: dict, qty: int) -> None:
    """Lower a reservation row (id, qty) by `qty`, deleting it when nothing is left; the stock
    row's `reserved` is the caller's to lower, under its lock."""
    if qty >= reservation["qty"]:
        await Reservation.delete().where(Reservation.id == reservation["id"])
    else:
        await Reservation.update({Reservation.qty: reservation["qty"] - qty}).where(
            Reservation.id == reservation["id"]
        )


async def _give_way(
    row: dict, deficit: int, *, actor: Actor, reason: str, now: datetime
) -> list[GaveWay]:
    """A count or a loss left the warehouse `deficit` units short of what its orders hold:
    the newest orders' reservations there give way (never what is packed in a parcel, which
    is on the shelf in a box), the units they gave up backordered on their lines, so that
    the oldest orders keep theirs and nothing is promised twice. Each order's timeline and
    audit say so and its people are told. ValidationFailed (nothing changed) when the
    packed parcels alone hold more than is left. Inside the caller's transaction, under
    the SKU's stock-row locks."""
    held = await (
        Reservation.select(
            Reservation.id,
            Reservation.order_line,
            Reservation.qty,
            Reservation.order_line.order.as_alias("order"),
            Reservation.order_line.order.number.as_alias("order_number"),
            Reservation.order_line.order.status.as_alias("order_status"),
            Reservation.order_line.sku_code.as_alias("sku_code"),
            Reservation.order_line.unit.as_alias("unit"),
        )
        .where((Reservation.warehouse == row["warehouse"]) & (Reservation.sku == row["sku"]))
        .order_by(Reservation.order_line.order.created_at, ascending=False)
        .order_by(Reservation.order_line.order.id, ascending=False)
        .order_by(Reservation.id, ascending=False)
    )
    packed: dict[int, int] = defaultdict(int)  # order line -> units in its packed parcels here
    if held:
        from portal.tables import ShipmentLine  # fulfilment's tables, beside this module's

        for r in await ShipmentLine.select(ShipmentLine.order_line, ShipmentLine.qty).where(
            ShipmentLine.order_line.is_in(sorted({h["order_line"] for h in held}))
            & (ShipmentLine.shipment.status == "packed")
            & (ShipmentLine.shipment.warehouse == row["warehouse"])
        ):
            packed[r["order_line"]] += r["qty"]
    # What each reservation gives (newest first), worked out before anything is written.
    left, plan = deficit, []
    for h in held:
        boxed = min(h["qty"], packed[h["order_line"]])
        packed[h["order_line"]] -= boxed
        take = min(left, h["qty"] - boxed)
        if take > 0:
            plan.append((h, take))
            left -= take
        if left == 0:
            break
    if left:
        count = row["reserved"] - deficit + left  # what must stay: the packed units
        message = _("At least %(count)s must remain: that many are packed in parcels for orders.")
        raise ValidationFailed(
            message, {"count": count}, errors=[FieldError("qty", message, {"count": count})]
        )
    for h, take in plan:
        await take_from_reservation(h, take)
        await OrderLine.update({OrderLine.qty_backordered: OrderLine.qty_backordered + take}).where(
            OrderLine.id == h["order_line"]
        )
    await fetch("UPDATE stock_level SET reserved = reserved - {} WHERE id = {}", deficit, row["id"])
    for order_id in sorted({h["order"] for h, _take in plan}):
        parts = [(h, take) for h, take in plan if h["order"] == order_id]
        # Each line's reservation at this warehouse before and after (the rest backordered).
        # The timeline and the dealer hear of it once other warehouses had their say
        # (_tell_gave_way): units another warehouse serves at once never waited.
        await audit.record(
            actor,
            "order.stock_gave_way",
            "order",
            order_id,
            {"reserved_here": {str(h["order_line"]): h["qty"] for h, _take in parts}},
            {
                "reserved_here": {str(h["order_line"]): h["qty"] - take for h, take in parts},
                "backordered_more": {str(h["order_line"]): take for h, take in parts},
                "warehouse_id": row["warehouse"],
                "reason": reason,
            },
            now=now,
        )
    return [
        GaveWay(
            order_id=h["order"],
            order_number=h["order_number"],
            order_line_id=h["order_line"],
            sku_code=h["sku_code"],
            unit=h["unit"],
            qty=take,
            waiting=take,  # until another warehouse serves it (adjust_in_transaction)
            order_status=h["order_status"],
        )
        for h, take in plan
    ]


async def _tell_gave_way(
    gave: list[GaveWay], warehouse_id: int, *, actor: Actor, now: datetime
) -> None:
    """The timeline and the order's people after reservations gave way at a warehouse and
    other warehouses served what they could: what still waits is "short in stock" (and the
    dealer is told); what another warehouse took over at once is only noted on the timeline,
    for nothing was ever late (no alarm, no "backorder arrived")."""
    where = await Warehouse.select(Warehouse.name).where(Warehouse.id == warehouse_id).first()
    for order_id in sorted({g.order_id for g in gave}):
        parts = [g for g in gave if g.order_id == order_id]
        status = parts[0].order_status
        waiting = [g for g in parts if g.waiting > 0]
        moved = [g for g in parts if g.qty > g.waiting]
        for kind, items, qty_of in (
            ("stock_short", waiting, lambda g: g.waiting),
            ("stock_moved", moved, lambda g: g.qty - g.waiting),
        ):
            if not items:
                continue
            note = "; ".join(f"{g.sku_code}: {qty_of(g)} {g.unit}" for g in items)
            note += f" · {where['name']}"
            await OrderEvent.insert(
                OrderEvent(
                    order=order_id,
                    at=now,
                    actor=actor.user_id,
                    kind=kind,
                    from_status=status,
                    to_status=status,
                    note=note,
                )
            )
            if kind == "stock_short":
                await notifications.tell(order_id, kind, actor=actor, now=now, note=note)


async def transfer_stock(
    actor: Actor,
    *,
    sku_id: int,
    from_warehouse_id: int,
    to_warehouse_id: int,
    qty: object,
    note: str = "",
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> tuple[StockRow, StockRow]:
    """Move free stock of a SKU from one warehouse to another (调拨), both sides or neither.

    Only what is not reserved moves (an order's reservation stays where it is); the
    receiving warehouse's oldest open backorders of the SKU get the goods first, as with a
    receipt. Each side is audited (stock.transfer_out, stock.transfer_in) naming the other.
    A warehouse user given warehouses moves between those only (NotFound for another).
    With an idempotency key, a retry moves nothing more. Answers both stock rows after.
    """
    now = now or datetime.now(UTC)
    _require_stock_staff(actor)
    await require_staff_warehouse(actor, from_warehouse_id)
    await require_staff_warehouse(actor, to_warehouse_id)
    amount = _whole(qty, "qty")
    if amount == 0:
        raise ValidationFailed(errors=[FieldError("qty", _("Enter a quantity above zero."))])
    if amount > MAX_ADJUST_QTY:
        raise ValidationFailed(errors=[FieldError("qty", _("The quantity is too large."))])
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationFailed(
            errors=[FieldError("note", _("Too long (at most %(max)s characters)."), {"max": 200})]
        )
    if from_warehouse_id == to_warehouse_id:
        raise ValidationFailed(
            errors=[FieldError("to_warehouse_id", _("Choose another warehouse to move it to."))]
        )
    found = {
        w["id"]: w
        for w in await Warehouse.select(Warehouse.id, Warehouse.code, Warehouse.active).where(
            Warehouse.id.is_in([from_warehouse_id, to_warehouse_id])
        )
    }
    if from_warehouse_id not in found or to_warehouse_id not in found:
        raise NotFound(_("Warehouse not found."))
    if not found[to_warehouse_id]["active"]:
        raise ValidationFailed(
            errors=[
                FieldError("to_warehouse_id", _("This warehouse is paused: it takes no stock."))
            ]
        )
    if not await Sku.exists().where(Sku.id == sku_id):
        raise NotFound(_("Product not found."))
    key, body_hash = None, ""
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        body_hash = hashlib.sha256(
            json.dumps(
                ["transfer", sku_id, from_warehouse_id, to_warehouse_id, amount, note]
            ).encode()
        ).hexdigest()
    if key is None or not await _adjustment_replayed(actor, key, body_hash):
        try:
            async with write_transaction():
                await claim_fulfilment_key(actor, key, body_hash, now)
                await adjust_in_transaction(
                    actor,
                    from_warehouse_id,
                    sku_id,
                    "transfer_out",
                    amount,
                    note,
                    now,
                    audit_extra={"to_warehouse_id": to_warehouse_id},
                )
                await adjust_in_transaction(
                    actor,
                    to_warehouse_id,
                    sku_id,
                    "transfer_in",
                    amount,
                    note,
                    now,
                    create_row=True,
                    audit_extra={"from_warehouse_id": from_warehouse_id},
                )
        except KeyTaken:
            if not await _adjustment_replayed(actor, key or "", body_hash):
                raise Conflict(_("Please try again.")) from None
    rows = {
        r.warehouse_id: r
        for r in await list_stock(actor, sku_id=sku_id, include_paused=True)
        if r.warehouse_id in (from_warehouse_id, to_warehouse_id)
    }
    return rows[from_warehouse_id], rows[to_warehouse_id]
