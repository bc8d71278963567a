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
from datetime import UTC, datetime

from portal.db import current_engine, is_sqlite, write_transaction
from portal.domain import audit
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.scope import Actor
from portal.tables import Reservation, Sku, StockLevel, Warehouse
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

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def under_safety(self) -> bool:
        return self.safety_stock > 0 and self.sku_available < self.safety_stock


def _require_stock_staff(actor: Actor) -> None:
    if actor.role not in STOCK_STAFF:
        raise Forbidden(_("Only warehouse staff may do this."))


async def list_stock(
    actor: Actor,
    *,
    q: str = "",
    warehouse_id: int | None = None,
    under_safety: bool = False,
    sku_id: int | None = None,
    limit: int = 200,
) -> list[StockRow]:
    """Stock by SKU and warehouse; search code, name or barcode; only SKUs under safety stock."""
    _require_stock_staff(actor)
    query = StockLevel.select(
        StockLevel.id,
        StockLevel.sku,
        StockLevel.sku.code.as_alias("sku_code"),
        StockLevel.sku.name.as_alias("sku_name"),
        StockLevel.sku.barcode.as_alias("barcode"),
        StockLevel.sku.base_unit.as_alias("unit"),
        StockLevel.sku.safety_stock.as_alias("safety_stock"),
        StockLevel.warehouse,
        StockLevel.warehouse.code.as_alias("warehouse_code"),
        StockLevel.warehouse.name.as_alias("warehouse_name"),
        StockLevel.on_hand,
        StockLevel.reserved,
    ).where(StockLevel.warehouse.active.eq(True))
    text = q.replace("%", "").replace("_", "").replace("\\", "").strip()[:60]
    if text:
        pattern = f"%{text}%"
        like = "like" if is_sqlite(current_engine()) else "ilike"
        query = query.where(
            getattr(StockLevel.sku.code, like)(pattern)
            | getattr(StockLevel.sku.name, like)(pattern)
            | (StockLevel.sku.barcode == text)
        )
    if warehouse_id is not None:
        query = query.where(StockLevel.warehouse == warehouse_id)
    if sku_id is not None:
        query = query.where(StockLevel.sku == sku_id)
    rows = (
        await query.order_by(StockLevel.sku.code)
        .order_by(StockLevel.warehouse)
        .limit(limit * 4 if under_safety else limit)
    )
    totals = await availability_by_sku([r["sku"] for r in rows])
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
    if under_safety:
        result = [r for r in result if r.under_safety][:limit]
    return result


def _whole(raw: object, name: str) -> int:
    text = str(raw if raw is not None else "").strip()
    if isinstance(raw, bool) or not text.isdigit() or len(text) > 9:
        raise ValidationFailed(errors=[FieldError(name, _("Enter a whole number."))])
    return int(text)


async def adjust_stock(
    actor: Actor,
    *,
    warehouse_id: int,
    sku_id: int,
    reason: str,
    qty: object,
    note: str = "",
    now: datetime | None = None,
) -> StockRow:
    """Change on-hand stock with a reason (audited); never below what is reserved.

    receipt: `qty` arrived (+); damage: `qty` lost (−); count: `qty` is what was counted.
    """
    now = now or datetime.now(UTC)
    _require_stock_staff(actor)
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
    async with write_transaction():
        if reason == "receipt":
            # A SKU new to this warehouse gets its stock row on first receipt.
            await StockLevel.raw(
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
        delta = {"receipt": amount, "damage": -amount, "count": amount - row["on_hand"]}[reason]
        done = await StockLevel.raw(
            "UPDATE stock_level SET on_hand = on_hand + {} "
            "WHERE id = {} AND on_hand + {} >= reserved RETURNING on_hand",
            delta,
            row["id"],
            delta,
        )
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
        await audit.record(
            actor,
            f"stock.{reason}",
            "stock_level",
            row["id"],
            {"on_hand": row["on_hand"], "reserved": row["reserved"]},
            {
                "on_hand": int(done[0]["on_hand"]),
                "reserved": row["reserved"],
                "delta": delta,
                "warehouse_id": warehouse_id,
                "sku_id": sku_id,
                "note": note,
            },
            now=now,
        )
    return (await list_stock(actor, warehouse_id=warehouse_id, sku_id=sku_id))[0]
