"""Stock: availability per SKU, reservations for orders (never oversold) and their release.

available = on_hand - reserved. Reserving runs inside the caller's transaction: the SKUs'
stock rows are locked in id order (PostgreSQL; on SQLite the IMMEDIATE transaction is the
lock), warehouses are chosen by preference, and every change is a guarded update
(`... WHERE on_hand - reserved >= q`) whose row count is checked, so even a caller that
forgot the lock could not oversell.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass

from portal.db import current_engine, is_sqlite
from portal.tables import Reservation, StockLevel, Warehouse
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


async def availability_by_sku(sku_ids: list[int]) -> dict[int, int]:
    """Available quantity (base units) per SKU over active warehouses; 0 when none is held."""
    ids = sorted(set(sku_ids))
    result = {sku_id: 0 for sku_id in ids}
    if not ids:
        return result
    active = StockLevel.warehouse.active.eq(True)
    rows = await StockLevel.select(StockLevel.sku, StockLevel.on_hand, StockLevel.reserved).where(
        StockLevel.sku.is_in(ids) & active
    )
    for row in rows:
        result[row["sku"]] += max(0, row["on_hand"] - row["reserved"])
    return result


async def by_warehouse(sku_ids: list[int]) -> dict[int, list[dict]]:
    """Staff view: per SKU, each active warehouse's on hand, reserved and available."""
    ids = sorted(set(sku_ids))
    result: dict[int, list[dict]] = {sku_id: [] for sku_id in ids}
    if not ids:
        return result
    rows = (
        await StockLevel.select(
            StockLevel.sku,
            StockLevel.warehouse,
            StockLevel.warehouse.code.as_alias("warehouse_code"),
            StockLevel.warehouse.name.as_alias("warehouse_name"),
            StockLevel.on_hand,
            StockLevel.reserved,
        )
        .where(StockLevel.sku.is_in(ids) & StockLevel.warehouse.active.eq(True))
        .order_by(StockLevel.warehouse.priority)
        .order_by(StockLevel.warehouse)
    )
    for row in rows:
        row["available"] = row["on_hand"] - row["reserved"]
        result[row["sku"]].append(row)
    return result


async def _locked_stock_rows(sku_ids: list[int]) -> list[dict]:
    """The SKUs' stock rows, locked in id order (the fixed order that prevents deadlocks)."""
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


def _preference(dealer: dict, warehouses: dict[int, dict]):
    """Warehouse order: the dealer's default first, then by priority (1 before 2), then id."""
    default = dealer.get("default_warehouse")

    def key(row: dict) -> tuple:
        wh = warehouses[row["warehouse"]]
        return (0 if wh["id"] == default else 1, wh["priority"], wh["id"])

    return key


async def allocate(
    dealer: dict, lines: list[tuple[Hashable, int, int]]
) -> tuple[list[Allocation], list[Shortfall]]:
    """Reserve stock for (key, sku_id, qty) lines inside the caller's transaction.

    Returns the allocations made, or (when any line is short) no allocations and every
    short line with what is available. Shortfalls are found before any update, so normally
    nothing has changed; still, the caller must raise (roll back) on a non-empty list.
    A line may be split across warehouses.
    """
    if not lines:
        return [], []
    sku_ids = [sku_id for _, sku_id, _ in lines]
    rows = await _locked_stock_rows(sku_ids)
    warehouses = {
        w["id"]: w
        for w in await Warehouse.select(Warehouse.id, Warehouse.priority, Warehouse.active)
    }
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
        if total_free < qty:
            shortfalls.append(Shortfall(sku_id=sku_id, requested=qty, available=total_free))
            continue
        remaining = qty
        for row in candidates:
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
            if remaining == 0:
                break
    if shortfalls:
        return [], shortfalls

    # Apply in stock-row id order; each update is guarded, and its row count checked.
    per_row: dict[int, int] = defaultdict(int)
    for a in allocations:
        per_row[a.stock_level_id] += a.qty
    failed_skus: set[int] = set()
    for row_id in sorted(per_row):
        qty = per_row[row_id]
        done = await StockLevel.raw(
            "UPDATE stock_level SET reserved = reserved + {} "
            "WHERE id = {} AND on_hand - reserved >= {} RETURNING id",
            qty,
            row_id,
            qty,
        )
        if not done:
            failed_skus.add(next(a.sku_id for a in allocations if a.stock_level_id == row_id))
    if failed_skus:
        # Only possible without the lock; report the lines as short with today's figures.
        now_free = await availability_by_sku(sorted(failed_skus))
        for _key, sku_id, qty in lines:
            if sku_id in failed_skus:
                shortfalls.append(Shortfall(sku_id, qty, now_free.get(sku_id, 0)))
        return [], shortfalls
    return allocations, []


async def write_reservations(allocations: list[Allocation], line_ids: dict | None = None) -> None:
    """Record who holds what; `line_ids` maps allocation keys to order line ids if needed."""
    if not allocations:
        return
    await Reservation.insert(
        *[
            Reservation(
                order_line=line_ids[a.key] if line_ids is not None else a.key,
                warehouse=a.warehouse_id,
                sku=a.sku_id,
                qty=a.qty,
            )
            for a in allocations
        ]
    )


async def reserve_lines(dealer: dict, lines: list[tuple[int, int, int]]) -> list[Shortfall]:
    """Reserve (order_line_id, sku_id, qty) lines and write Reservation rows.

    Inside the caller's transaction. A non-empty result means nothing usable was reserved
    and the caller must roll back (raise InsufficientStock).
    """
    allocations, shortfalls = await allocate(dealer, lines)
    if shortfalls:
        return shortfalls
    await write_reservations(allocations)
    return []


async def release_order(order_id: int) -> None:
    """Give back every reservation of the order and delete them (in the caller's transaction)."""
    line_ids = [
        r["id"] for r in await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id)
    ]
    if not line_ids:
        return
    reservations = await Reservation.select(
        Reservation.id, Reservation.warehouse, Reservation.sku, Reservation.qty
    ).where(Reservation.order_line.is_in(line_ids))
    if not reservations:
        return
    held: dict[tuple[int, int], int] = defaultdict(int)
    for r in reservations:
        held[(r["warehouse"], r["sku"])] += r["qty"]
    rows = await _locked_stock_rows(sorted({sku for _, sku in held}))
    row_ids = {(r["warehouse"], r["sku"]): r["id"] for r in rows}
    for (warehouse_id, sku_id), qty in sorted(held.items(), key=lambda kv: row_ids[kv[0]]):
        done = await StockLevel.raw(
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
    await Reservation.delete().where(Reservation.id.is_in([r["id"] for r in reservations]))
