"""Shipments (发货): from an approved order, packed per warehouse, shipped, received (签收).

Creating a shipment (packed) checks the quantities against what remains of each order
line (ordered − shipped − backordered − already packed: a backordered quantity waits for
stock and ships only once it is reserved) and what the warehouse can give (the line's
reservation there plus free stock). Shipping is one transaction, locks in the house
order (dealer row, then the shipment, order lines, stock rows by id), each change a
guarded update whose row count is checked: the shipment must still be packed, the
order line must still have the quantity unshipped, the stock row must still hold it.
Two people shipping the same remaining quantity at once: one wins, the other gets a
Conflict and nothing of theirs is written. Shipping consumes the reservation and the
on-hand stock, moves the order to partially_shipped / shipped, and posts the invoice to
the dealer's ledger (the shipment's value moves from open orders to the balance).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from portal.db import current_engine, fetch, is_sqlite, write_transaction
from portal.domain import audit, ledger, notifications, promotions, stock
from portal.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InsufficientStock,
    NotFound,
    ValidationFailed,
    _,
)
from portal.domain.idempotency import KeyTaken as _KeyTaken
from portal.domain.idempotency import check_key, claim_fulfilment_key, first_result
from portal.domain.orders import (
    PARCEL_STATUSES_TO_RECEIVE,
    note_on_order,
    order_in_scope,
    transition,
)
from portal.domain.quantities import in_packs, parse_line_quantities
from portal.domain.scope import (
    Actor,
    in_scope,
    orders_in_warehouses,
    require_staff_warehouse,
    row_in_scope,
    staff_warehouses,
    visible_dealer_ids,
    working_warehouses,
)
from portal.tables import (
    FulfilmentKey,
    Order,
    OrderEvent,
    OrderLine,
    PackUnit,
    Reservation,
    Shipment,
    ShipmentLine,
    StockLevel,
    Warehouse,
)

WAREHOUSE_ROLES = frozenset({"warehouse", "admin"})
SHIPPABLE_ORDER_STATUSES = ("approved", "partially_shipped")
STATUSES = ("packed", "shipped", "delivered", "received", "cancelled")
# Out of the warehouse and waiting for the dealer's receipt (签收).
AWAITING_RECEIPT = ("shipped", "delivered")
STATUS_LABELS = {
    "packed": _("Packed"),
    "shipped": _("Shipped"),
    "delivered": _("Delivered"),
    "received": _("Received"),
    "cancelled": _("Cancelled"),
}
# Timeline entries this module writes on the order (for the order page's labels).
EVENT_LABELS = {
    "shipment_packed": _("Shipment packed"),
    "shipment_shipped": _("Shipment shipped"),
    "shipment_delivered": _("Shipment delivered"),
    "shipment_cancelled": _("Shipment cancelled"),
    "shipment_tracking_changed": _("Carrier or tracking number corrected"),
    "shipment_received": _("Receipt confirmed"),
    "shipment_discrepancy": _("Receipt with a discrepancy"),
    "shipment_auto_received": _("Receipt confirmed automatically"),
    "completed": _("Completed"),
}
# Shipped but unconfirmed shipments count as received after this many days.
AUTO_RECEIVE_DAYS = 7
MAX_FIELD = 50
MAX_NOTE = 500

_test_hooks: dict[str, Callable[[], Awaitable[None]]] = {}


async def _hook(point: str) -> None:
    fn = _test_hooks.get(point)
    if fn is not None:
        await fn()


def _require_warehouse(actor: Actor) -> None:
    if actor.role not in WAREHOUSE_ROLES:
        raise Forbidden(_("Only warehouse staff may do this."))


# --- views -----------------------------------------------------------------------------


@dataclass
class ShipmentLineView:
    order_line_id: int
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: int
    pack_name: str | None = None  # the SKU's largest pack unit, if any (packing list)
    pack_factor: int | None = None
    weight_g: int = 0  # one base unit; 0: not known

    @property
    def in_packs(self) -> str:
        """The quantity as whole packs and loose units ("1 箱 + 4 罐"); "" without a full pack."""
        return in_packs(self.qty, self.unit, self.pack_name, self.pack_factor)


@dataclass
class ShipmentView:
    id: int
    number: str
    status: str
    order_id: int
    order_number: str
    dealer_id: int
    dealer_name: str
    warehouse_id: int
    warehouse_name: str
    carrier: str
    tracking_no: str
    value_fen: int
    created_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None
    discrepancy: bool
    receipt_note: str
    auto_received: bool
    ship_to: str = ""
    lines: list[ShipmentLineView] = field(default_factory=list)
    can_ship: bool = False
    can_cancel: bool = False
    can_confirm: bool = False
    can_deliver: bool = False
    delivered_at: datetime | None = None
    can_correct: bool = False  # carrier and tracking number (shipped, not yet received)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def printable(self) -> bool:
        """Whether it has a delivery note and packing list: a cancelled (unpacked) shipment
        is no parcel, and a paper for it would look like one on its way."""
        return self.status != "cancelled"

    @property
    def total_qty(self) -> int:
        return sum(line.qty for line in self.lines)

    @property
    def qty_by_unit(self) -> list[tuple[int, str]]:
        """What the parcel holds per unit, in the order its lines first name them: (120, 包),
        (36, 袋); a sum across units (156 of nothing in particular) would tell nobody anything."""
        by_unit: dict[str, int] = {}
        for line in self.lines:
            by_unit[line.unit] = by_unit.get(line.unit, 0) + line.qty
        return [(qty, unit) for unit, qty in by_unit.items()]

    @property
    def weight_g(self) -> int | None:
        """The goods' weight for the carrier, or None while a line's SKU has no weight (a
        total that leaves something out would mislead)."""
        if not self.lines or any(line.weight_g <= 0 for line in self.lines):
            return None
        return sum(line.qty * line.weight_g for line in self.lines)


_COLUMNS = (
    Shipment.id,
    Shipment.number,
    Shipment.status,
    Shipment.order,
    Shipment.order.number.as_alias("order_number"),
    Shipment.order.ship_to.as_alias("ship_to"),
    Shipment.dealer,
    Shipment.dealer.name.as_alias("dealer_name"),
    Shipment.warehouse,
    Shipment.warehouse.name.as_alias("warehouse_name"),
    Shipment.carrier,
    Shipment.tracking_no,
    Shipment.value_fen,
    Shipment.created_at,
    Shipment.shipped_at,
    Shipment.delivered_at,
    Shipment.received_at,
    Shipment.discrepancy,
    Shipment.receipt_note,
    Shipment.auto_received,
)


async def largest_packs(sku_ids: list[int]) -> dict[int, tuple[str, int]]:
    """Each SKU's largest pack unit (name, factor), for counting goods in packs; of two
    equally large, the first name in code-point order, as the catalog shows them."""
    packs: dict[int, tuple[str, int]] = {}
    if sku_ids:
        rows = await PackUnit.select(PackUnit.sku, PackUnit.name, PackUnit.factor).where(
            PackUnit.sku.is_in(sorted(set(sku_ids)))
        )
        for p in sorted(rows, key=lambda p: (-p["factor"], p["name"])):
            if p["factor"] > 1:
                packs.setdefault(p["sku"], (p["name"], p["factor"]))
    return packs


async def _views(actor: Actor, rows: list[dict]) -> list[ShipmentView]:
    """Shipment rows with their lines (one query for all lines: no N+1)."""
    if not rows:
        return []
    lines = (
        await ShipmentLine.select(
            ShipmentLine.shipment,
            ShipmentLine.order_line,
            ShipmentLine.sku,
            ShipmentLine.qty,
            ShipmentLine.order_line.sku_code.as_alias("sku_code"),
            ShipmentLine.order_line.sku_name.as_alias("sku_name"),
            ShipmentLine.order_line.unit.as_alias("unit"),
            ShipmentLine.sku.weight_g.as_alias("weight_g"),
        )
        .where(ShipmentLine.shipment.is_in([r["id"] for r in rows]))
        .order_by(ShipmentLine.order_line)
    )
    packs = await largest_packs([ln["sku"] for ln in lines])
    by_shipment: dict[int, list[ShipmentLineView]] = defaultdict(list)
    for ln in lines:
        pack_name, pack_factor = packs.get(ln["sku"], (None, None))
        by_shipment[ln["shipment"]].append(
            ShipmentLineView(
                order_line_id=ln["order_line"],
                sku_id=ln["sku"],
                sku_code=ln["sku_code"],
                sku_name=ln["sku_name"],
                unit=ln["unit"],
                qty=ln["qty"],
                pack_name=pack_name,
                pack_factor=pack_factor,
                weight_g=int(ln["weight_g"] or 0),
            )
        )
    staff = actor.role in WAREHOUSE_ROLES
    mine = actor.is_dealer
    return [
        ShipmentView(
            id=r["id"],
            number=r["number"],
            status=r["status"],
            order_id=r["order"],
            order_number=r["order_number"] or "",
            dealer_id=r["dealer"],
            dealer_name=r["dealer_name"] or "",
            warehouse_id=r["warehouse"],
            warehouse_name=r["warehouse_name"] or "",
            carrier=r["carrier"] or "",
            tracking_no=r["tracking_no"] or "",
            value_fen=int(r["value_fen"] or 0),
            created_at=r["created_at"],
            shipped_at=r["shipped_at"],
            received_at=r["received_at"],
            discrepancy=bool(r["discrepancy"]),
            receipt_note=r["receipt_note"] or "",
            auto_received=bool(r["auto_received"]),
            ship_to=r["ship_to"] or "",
            lines=by_shipment.get(r["id"], []),
            can_ship=staff and r["status"] == "packed",
            can_cancel=staff and r["status"] == "packed",
            can_confirm=mine and r["status"] in AWAITING_RECEIPT,
            can_deliver=staff and r["status"] == "shipped",
            delivered_at=r["delivered_at"],
            can_correct=staff and r["status"] in AWAITING_RECEIPT,
        )
        for r in rows
    ]


async def get_shipment(actor: Actor, shipment_id: int) -> ShipmentView:
    """One shipment the actor may see (its dealer is in scope, and for a warehouse user given
    warehouses, from one of them); NotFound otherwise."""
    row = await row_in_scope(actor, Shipment, shipment_id, _COLUMNS, _("Shipment not found."))
    mine = await staff_warehouses(actor)
    if mine is not None and row["warehouse"] not in mine:
        raise NotFound(_("Shipment not found."))
    return (await _views(actor, [row]))[0]


async def printable_shipment(actor: Actor, shipment_id: int) -> ShipmentView:
    """A shipment to print its delivery note (发货单) and packing list (装箱单) from: as
    get_shipment, and Conflict for a cancelled one (it will not ship)."""
    view = await get_shipment(actor, shipment_id)
    if not view.printable:
        raise Conflict(
            _("Shipment %(number)s was cancelled: it has no delivery note or packing list."),
            {"number": view.number},
        )
    return view


async def list_for_order(actor: Actor, order_id: int) -> list[ShipmentView]:
    """The order's shipments, oldest first (the order must be in the actor's scope)."""
    await order_in_scope(actor, order_id)
    rows = await Shipment.select(*_COLUMNS).where(Shipment.order == order_id).order_by(Shipment.id)
    return await _views(actor, rows)


async def list_shipments(
    actor: Actor,
    *,
    status: str | None = None,
    warehouse_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[ShipmentView]:
    """The shipments the actor may see, newest first (`limit` after skipping `offset`): a
    dealer's own, a rep's dealers', a warehouse user's warehouses'; of one status or all.
    What a warehouse system polls for (packed and waiting, shipped today)."""
    if status is not None and status not in STATUS_LABELS:
        message = _("Unknown shipment status %(status)s.")
        raise ValidationFailed(
            message, {"status": status}, errors=[FieldError("status", message, {"status": status})]
        )
    query = Shipment.select(*_COLUMNS).where(
        in_scope(Shipment.dealer, await visible_dealer_ids(actor))
    )
    mine = await staff_warehouses(actor)
    if mine is not None:
        query = query.where(Shipment.warehouse.is_in(list(mine) or [-1]))
    if status is not None:
        query = query.where(Shipment.status == status)
    if warehouse_id is not None:
        query = query.where(Shipment.warehouse == int(warehouse_id))
    rows = (
        await query.order_by(Shipment.id, ascending=False)
        .limit(max(0, int(limit)))
        .offset(max(0, int(offset)))
    )
    return await _views(actor, rows)


async def awaiting_receipt(actor: Actor, *, limit: int = 5) -> tuple[list[dict], int]:
    """The parcels on their way to the actor's dealers (shipped or delivered, not yet
    received), oldest first: the first `limit` (id, number, status, carrier, tracking_no,
    shipped_at; no lines, a dealer's home lists them) and how many there are."""
    waiting = in_scope(Shipment.dealer, await visible_dealer_ids(actor)) & Shipment.status.is_in(
        list(PARCEL_STATUSES_TO_RECEIVE)
    )
    rows = (
        await Shipment.select(
            Shipment.id,
            Shipment.number,
            Shipment.status,
            Shipment.carrier,
            Shipment.tracking_no,
            Shipment.shipped_at,
        )
        .where(waiting)
        .order_by(Shipment.shipped_at)
        .order_by(Shipment.id)
        .limit(max(0, int(limit)))
    )
    count = len(rows) if len(rows) < limit else await Shipment.count().where(waiting)
    return rows, count


# --- what remains and what a warehouse can give ---------------------------------------------


@dataclass
class PlanLine:
    order_line_id: int
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    ordered: int
    shipped: int
    packed: int  # in shipments packed but not yet shipped
    reserved_here: int  # reserved for this line at the chosen warehouse
    free_here: int  # unreserved stock at the chosen warehouse
    reserved_by_warehouse: dict[int, int] = field(default_factory=dict)
    backordered: int = 0  # waits for stock: not shippable until reserved
    pack_name: str | None = None  # the SKU's largest pack unit, if any
    pack_factor: int | None = None

    @property
    def remaining_in_packs(self) -> str:
        """What is left to pack as whole packs and loose units ("1 箱 + 4 罐"), or ""."""
        return in_packs(self.remaining, self.unit, self.pack_name, self.pack_factor)

    @property
    def remaining(self) -> int:
        """What may still go into a new shipment (never the backordered quantity)."""
        return max(0, self.ordered - self.shipped - self.backordered - self.packed)

    @property
    def can_give(self) -> int:
        """What the chosen warehouse can give for this line now."""
        return self.reserved_here + max(0, self.free_here)

    @property
    def suggested(self) -> int:
        return min(self.remaining, self.can_give)


@dataclass
class ShipmentPlan:
    order: dict
    warehouse_id: int | None
    warehouses: list[dict]
    lines: list[PlanLine]
    shipments: list[ShipmentView]

    @property
    def anything_left(self) -> bool:
        """Whether a new shipment could hold something now (never a backordered unit)."""
        return any(line.remaining for line in self.lines)

    @property
    def backordered(self) -> int:
        """The units of the order waiting for stock: they ship once stock arrives and is
        reserved for them (the backorders list)."""
        return sum(line.backordered for line in self.lines)

    @property
    def all_packed_or_shipped(self) -> bool:
        """Nothing left to pack and nothing waiting for stock."""
        return not self.anything_left and not self.backordered


async def _lines_state(order_id: int, warehouse_id: int | None) -> list[PlanLine]:
    lines = (
        await OrderLine.select(
            OrderLine.id,
            OrderLine.sku,
            OrderLine.sku_code,
            OrderLine.sku_name,
            OrderLine.unit,
            OrderLine.qty,
            OrderLine.qty_shipped,
            OrderLine.qty_backordered,
        )
        .where(OrderLine.order == order_id)
        .order_by(OrderLine.id)
    )
    line_ids = [ln["id"] for ln in lines]
    packed: dict[int, int] = defaultdict(int)
    reserved: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    free: dict[int, int] = {}
    if line_ids:
        for r in await ShipmentLine.select(ShipmentLine.order_line, ShipmentLine.qty).where(
            ShipmentLine.order_line.is_in(line_ids) & (ShipmentLine.shipment.status == "packed")
        ):
            packed[r["order_line"]] += r["qty"]
        for r in await Reservation.select(
            Reservation.order_line, Reservation.warehouse, Reservation.qty
        ).where(Reservation.order_line.is_in(line_ids)):
            reserved[r["order_line"]][r["warehouse"]] += r["qty"]
        if warehouse_id is not None:
            for r in await StockLevel.select(
                StockLevel.sku, StockLevel.on_hand, StockLevel.reserved
            ).where(
                (StockLevel.warehouse == warehouse_id)
                & StockLevel.sku.is_in(sorted({ln["sku"] for ln in lines}))
            ):
                free[r["sku"]] = r["on_hand"] - r["reserved"]
    packs = await largest_packs([ln["sku"] for ln in lines])
    return [
        PlanLine(
            order_line_id=ln["id"],
            sku_id=ln["sku"],
            sku_code=ln["sku_code"],
            sku_name=ln["sku_name"],
            unit=ln["unit"],
            ordered=ln["qty"],
            shipped=ln["qty_shipped"],
            packed=packed.get(ln["id"], 0),
            reserved_here=reserved[ln["id"]].get(warehouse_id, 0) if warehouse_id else 0,
            free_here=free.get(ln["sku"], 0),
            reserved_by_warehouse=dict(reserved[ln["id"]]),
            backordered=ln["qty_backordered"],
            pack_name=packs.get(ln["sku"], (None, None))[0],
            pack_factor=packs.get(ln["sku"], (None, None))[1],
        )
        for ln in lines
    ]


async def shipment_plan(
    actor: Actor, order_id: int, warehouse_id: int | None = None
) -> ShipmentPlan:
    """What a new shipment of the order could hold from a warehouse (default: where most is
    reserved). For the warehouse's create-shipment page."""
    _require_warehouse(actor)
    order = await order_in_scope(actor, order_id)
    warehouses = await working_warehouses(actor)
    known = {w["id"] for w in warehouses}
    if warehouse_id is not None and warehouse_id not in known:
        raise NotFound(_("Warehouse not found."))
    if warehouse_id is None and warehouses:
        state = await _lines_state(order_id, None)
        held: dict[int, int] = defaultdict(int)
        for line in state:
            if line.remaining:
                for wh, qty in line.reserved_by_warehouse.items():
                    held[wh] += qty
        candidates = [w["id"] for w in warehouses]
        warehouse_id = max(candidates, key=lambda w: (held.get(w, 0), -candidates.index(w)))
    lines = await _lines_state(order_id, warehouse_id)
    return ShipmentPlan(
        order=order,
        warehouse_id=warehouse_id,
        warehouses=warehouses,
        lines=lines,
        shipments=await list_for_order(actor, order_id),
    )


# --- the to-ship queue ---------------------------------------------------------------------


@dataclass
class QueueItem:
    order_id: int
    number: str
    status: str
    dealer_name: str
    created_at: datetime
    lines_left: int
    qty_left: int  # what can ship now (reserved), not what waits as a backorder
    packed: int  # shipments packed, waiting to ship
    backordered: int = 0  # units still waiting for stock


async def to_ship_queue(actor: Actor, *, limit: int = 100) -> list[QueueItem]:
    """Approved and partially shipped orders, oldest first, with what remains to ship.

    An order whose every open unit is backordered (nothing to ship, nothing packed) waits
    on the backorders list instead.
    """
    _require_warehouse(actor)
    ids = await visible_dealer_ids(actor)
    orders = await (
        Order.select(
            Order.id,
            Order.number,
            Order.status,
            Order.created_at,
            Order.dealer.name.as_alias("dealer_name"),
        )
        .where(Order.status.is_in(list(SHIPPABLE_ORDER_STATUSES)))
        .where(in_scope(Order.dealer, ids))
        .where(orders_in_warehouses(await staff_warehouses(actor)))
        .order_by(Order.created_at)
        .order_by(Order.id)
        .limit(limit)
    )
    if not orders:
        return []
    order_ids = [o["id"] for o in orders]
    left: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for ln in await OrderLine.select(
        OrderLine.order, OrderLine.qty, OrderLine.qty_shipped, OrderLine.qty_backordered
    ).where(OrderLine.order.is_in(order_ids)):
        rest = ln["qty"] - ln["qty_shipped"] - ln["qty_backordered"]
        if rest > 0:
            left[ln["order"]][0] += 1
            left[ln["order"]][1] += rest
        left[ln["order"]][2] += ln["qty_backordered"]
    packed: dict[int, int] = defaultdict(int)
    for s in await Shipment.select(Shipment.order).where(
        Shipment.order.is_in(order_ids) & (Shipment.status == "packed")
    ):
        packed[s["order"]] += 1
    return [
        QueueItem(
            order_id=o["id"],
            number=o["number"],
            status=o["status"],
            dealer_name=o["dealer_name"] or "",
            created_at=o["created_at"],
            lines_left=left[o["id"]][0],
            qty_left=left[o["id"]][1],
            packed=packed.get(o["id"], 0),
            backordered=left[o["id"]][2],
        )
        for o in orders
        if left[o["id"]][1] or packed.get(o["id"]) or not left[o["id"]][2]
    ]


# --- creating a shipment (packed) -------------------------------------------------------------


def _short_text(value: str, name: str, errors: list[FieldError], max_len: int = MAX_FIELD) -> str:
    value = (value or "").strip()
    if len(value) > max_len:
        errors.append(
            FieldError(name, _("Too long (at most %(max)s characters)."), {"max": max_len})
        )
    return value


def _request_hash(
    order_id: int, warehouse_id: int, qty: dict[int, int], carrier: str, tracking_no: str
) -> str:
    body = {
        "order": order_id,
        "warehouse": warehouse_id,
        "lines": sorted([k, v] for k, v in qty.items() if v),
        "carrier": carrier,
        "tracking_no": tracking_no,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class CreateResult:
    shipment: ShipmentView
    created: bool  # False for an idempotent replay


async def _replay(actor: Actor, key: str, body_hash: str) -> CreateResult | None:
    refusal = _("This idempotency key was already used for a different shipment.")
    shipment_id = await first_result(actor, key, body_hash, "shipment", refusal)
    if shipment_id is None:
        return None
    return CreateResult(await get_shipment(actor, shipment_id), created=False)


async def create_shipment(
    actor: Actor,
    order_id: int,
    *,
    warehouse_id: int,
    quantities: Mapping[int, object],
    carrier: str = "",
    tracking_no: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> CreateResult:
    """Pack a shipment of an approved or partially shipped order from one warehouse.

    `quantities` maps order line ids to quantities (base units; text as typed is fine).
    Each must be a whole number from 0 to what remains of the line and what the warehouse
    can give; at least one above 0. Raises ValidationFailed with per-line errors (a
    WarehouseShort, insufficient-stock, when only the warehouse's stock falls short),
    Conflict when the order cannot ship, NotFound/Forbidden for scope and role.
    """
    now = now or datetime.now(UTC)
    _require_warehouse(actor)
    order = await order_in_scope(actor, order_id)
    await require_staff_warehouse(actor, warehouse_id)
    errors: list[FieldError] = []
    carrier = _short_text(carrier, "carrier", errors)
    tracking_no = _short_text(tracking_no, "tracking_no", errors)
    parsed = parse_line_quantities(quantities, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    if not any(parsed.values()):
        raise ValidationFailed(
            _("Enter a quantity for at least one line."),
            errors=[FieldError("lines", _("Enter a quantity for at least one line."))],
        )
    key = None
    body_hash = _request_hash(order_id, warehouse_id, parsed, carrier, tracking_no)
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        replay = await _replay(actor, key, body_hash)
        if replay is not None:
            return replay
    if not await Warehouse.exists().where(
        (Warehouse.id == warehouse_id) & Warehouse.active.eq(True)
    ):
        raise ValidationFailed(errors=[FieldError("warehouse", _("Choose a warehouse."))])
    try:
        shipment_id = await _pack(
            actor, order, warehouse_id, parsed, carrier, tracking_no, key, body_hash, now
        )
    except _KeyTaken:
        replay = await _replay(actor, key or "", body_hash)
        if replay is None:
            raise Conflict(_("Please try again.")) from None
        return replay
    return CreateResult(await get_shipment(actor, shipment_id), created=True)


class WarehouseShort(InsufficientStock, ValidationFailed):
    """A shipment asking more than the packing warehouse can give: the problem type an order
    short of stock gives (insufficient-stock, with the short lines), so an ERP can branch on
    it; still a refusal of the quantities typed, line by line, as the packing form shows it."""


def _line_refusal(errors: list[FieldError], short: list[dict]) -> ValidationFailed:
    """The refusal of a shipment's lines: insufficient-stock when every problem is the
    warehouse's stock (`short`: sku, requested, available per line), else validation."""
    if short and len(short) == len(errors):
        skus = ", ".join(line["sku"] for line in short)
        return WarehouseShort(
            _("Not enough stock for %(skus)s."),
            {"skus": skus},
            errors=errors,
            extra={"lines": short},
        )
    return ValidationFailed(errors=errors)


async def _hold_at(
    warehouse_id: int, quantities: dict[int, int], state: dict, *, actor: Actor, now: datetime
) -> None:
    """Make the packing warehouse hold what its packed parcels of each line take: a line
    reserved elsewhere (the order's default warehouse) moves that part of its reservation
    here, from this warehouse's free stock, under the stock rows' locks. Otherwise two
    parcels could be packed from the same free units and the second fail only when shipped.
    The units freed elsewhere go to the oldest backorders there."""
    if not quantities:
        return
    skus = sorted({state[line_id].sku_id for line_id in quantities})
    rows = {(r["warehouse"], r["sku"]): r for r in await stock.lock_stock_rows(skus)}
    line_ids = sorted(quantities)
    # What the line's packed parcels take from each warehouse: that much of its reservation
    # there is spoken for, and only the rest may move.
    packed: dict[tuple[int, int], int] = defaultdict(int)
    for r in await ShipmentLine.select(
        ShipmentLine.order_line,
        ShipmentLine.qty,
        ShipmentLine.shipment.warehouse.as_alias("warehouse"),
    ).where(ShipmentLine.order_line.is_in(line_ids) & (ShipmentLine.shipment.status == "packed")):
        packed[(r["order_line"], r["warehouse"])] += r["qty"]
    held = await Reservation.select().where(Reservation.order_line.is_in(line_ids))
    freed: set[int] = set()
    errors: list[FieldError] = []
    short: list[dict] = []
    for line_id in line_ids:
        line = state[line_id]
        mine = [r for r in held if r["order_line"] == line_id]
        here = sum(r["qty"] for r in mine if r["warehouse"] == warehouse_id)
        packed_here = packed[(line_id, warehouse_id)]
        need = packed_here + quantities[line_id] - here
        if need <= 0:
            continue
        row = rows.get((warehouse_id, line.sku_id))
        free = (row["on_hand"] - row["reserved"]) if row else 0
        if free < need:
            have = max(0, here - packed_here) + max(0, free)
            errors.append(
                FieldError(
                    f"qty[{line_id}]",
                    _("%(sku)s: %(qty)s %(unit)s entered, this warehouse has %(have)s."),
                    {
                        "sku": line.sku_code,
                        "qty": quantities[line_id],
                        "unit": line.unit,
                        "have": have,
                    },
                )
            )
            short.append(
                {"sku": line.sku_code, "requested": quantities[line_id], "available": have}
            )
            continue
        # Take the reservation from the other warehouses, where it is not packed, the most
        # first (what the line still has to pack covers it: need <= their free part).
        left = need
        spare = {r["id"]: r["qty"] - packed[(line_id, r["warehouse"])] for r in mine}
        for r in sorted(mine, key=lambda r: (-spare[r["id"]], r["id"])):
            if left == 0 or r["warehouse"] == warehouse_id or spare[r["id"]] <= 0:
                continue
            take = min(left, spare[r["id"]])
            left -= take
            await stock.take_from_reservation(r, take)
            await StockLevel.update({StockLevel.reserved: StockLevel.reserved - take}).where(
                StockLevel.id == rows[(r["warehouse"], line.sku_id)]["id"]
            )
            freed.add(line.sku_id)
        moved = need - left
        if moved:
            # Reserved here as a submission reserves: the guarded raise, then the holder.
            here_row = stock.Allocation(line_id, row["id"], warehouse_id, line.sku_id, moved)
            sql, args = stock.reserve_write([here_row])
            if not await fetch(sql, *args):  # cannot happen under the locks: refuse, not oversell
                raise Conflict(_("Please try again."))
            await stock.write_reservations([here_row])
            row["reserved"] += moved
    if errors:
        raise _line_refusal(errors, short)
    if freed:
        await stock.fill_backorders(sorted(freed), actor=actor, now=now)


async def _pack(
    actor: Actor,
    order: dict,
    warehouse_id: int,
    parsed: dict[int, int],
    carrier: str,
    tracking_no: str,
    key: str | None,
    body_hash: str,
    now: datetime,
) -> int:
    async with write_transaction():
        key_row = await claim_fulfilment_key(actor, key, body_hash, now)
        await ledger.lock_dealer(order["dealer"])
        status = (await Order.select(Order.status).where(Order.id == order["id"]).first())["status"]
        if status not in SHIPPABLE_ORDER_STATUSES:
            raise Conflict(
                _("Only approved or partially shipped orders can be shipped."),
                extra={"order_status": status},
            )
        state = {line.order_line_id: line for line in await _lines_state(order["id"], warehouse_id)}
        errors: list[FieldError] = []
        short: list[dict] = []
        for line_id, qty in parsed.items():
            line = state.get(line_id)
            if line is None:
                errors.append(FieldError(f"qty[{line_id}]", _("Unknown order line.")))
                continue
            if qty == 0:
                continue
            if qty > line.remaining:
                errors.append(
                    FieldError(
                        f"qty[{line_id}]",
                        _("%(sku)s: %(qty)s %(unit)s entered, only %(left)s left to ship."),
                        {
                            "sku": line.sku_code,
                            "qty": qty,
                            "unit": line.unit,
                            "left": line.remaining,
                        },
                    )
                )
            elif qty > line.can_give:
                errors.append(
                    FieldError(
                        f"qty[{line_id}]",
                        _("%(sku)s: %(qty)s %(unit)s entered, this warehouse has %(have)s."),
                        {
                            "sku": line.sku_code,
                            "qty": qty,
                            "unit": line.unit,
                            "have": line.can_give,
                        },
                    )
                )
                short.append({"sku": line.sku_code, "requested": qty, "available": line.can_give})
        if errors:
            raise _line_refusal(errors, short)
        await _hold_at(
            warehouse_id, {k: v for k, v in parsed.items() if v}, state, actor=actor, now=now
        )
        count = await Shipment.count().where(Shipment.order == order["id"])
        shipment = Shipment(
            number=f"{order['number']}-{count + 1}",
            order=order["id"],
            dealer=order["dealer"],
            warehouse=warehouse_id,
            status="packed",
            carrier=carrier,
            tracking_no=tracking_no,
            value_fen=0,
            created_by=actor.user_id,
            created_at=now,
        )
        await Shipment.insert(shipment)
        await ShipmentLine.insert(
            *[
                ShipmentLine(
                    shipment=shipment.id,
                    order_line=line_id,
                    sku=state[line_id].sku_id,
                    qty=qty,
                )
                for line_id, qty in sorted(parsed.items())
                if qty
            ]
        )
        if key_row is not None:
            await FulfilmentKey.update({FulfilmentKey.shipment: shipment.id}).where(
                FulfilmentKey.id == key_row.id
            )
        await OrderEvent.insert(
            OrderEvent(
                order=order["id"],
                at=now,
                actor=actor.user_id,
                kind="shipment_packed",
                from_status=status,
                to_status=status,
                note=shipment.number,
            )
        )
        await audit.record(
            actor,
            "shipment.packed",
            "shipment",
            shipment.id,
            {},
            {
                "number": shipment.number,
                "order_id": order["id"],
                "warehouse_id": warehouse_id,
                "lines": {str(k): v for k, v in sorted(parsed.items()) if v},
                "carrier": carrier,
                "tracking_no": tracking_no,
            },
            now=now,
        )
    return shipment.id


# --- shipping ------------------------------------------------------------------------------


async def ship(
    actor: Actor,
    shipment_id: int,
    *,
    carrier: str | None = None,
    tracking_no: str | None = None,
    now: datetime | None = None,
) -> ShipmentView:
    """Ship a packed shipment: stock out, order lines shipped, the order moves on, invoice.

    One transaction. Conflict when the shipment is no longer packed or its quantities were
    shipped meanwhile by another shipment; InsufficientStock when the warehouse no longer
    holds them. Carrier and tracking number may be given (or corrected) at this step; one
    left blank (or not given) keeps what packing recorded: clearing a prefilled field never
    drops it (correct_tracking changes them afterwards, audited). A tracking number may stay
    empty: some carriers give none.
    """
    now = now or datetime.now(UTC)
    _require_warehouse(actor)
    current = await get_shipment(actor, shipment_id)
    errors: list[FieldError] = []
    carrier = _short_text(carrier or "", "carrier", errors) or current.carrier
    tracking_no = _short_text(tracking_no or "", "tracking_no", errors) or current.tracking_no
    if errors:
        raise ValidationFailed(errors=errors)
    async with write_transaction():
        dealer = await ledger.lock_dealer(current.dealer_id)
        await _hook("ship_after_dealer_lock")
        claimed = await Shipment.raw(
            "UPDATE shipment SET status = 'shipped', shipped_at = {}, shipped_by = {}, "
            "carrier = {}, tracking_no = {} WHERE id = {} AND status = 'packed' RETURNING id",
            now,
            actor.user_id,
            carrier,
            tracking_no,
            shipment_id,
        )
        if not claimed:
            raise Conflict(_("This shipment has already been shipped or cancelled."))
        lines = await ShipmentLine.select(
            ShipmentLine.order_line, ShipmentLine.sku, ShipmentLine.qty
        ).where(ShipmentLine.shipment == shipment_id)
        # Stock rows before order lines (the order filling backorders takes them in).
        await stock.lock_stock_rows([ln["sku"] for ln in lines])
        order_lines = {
            r["id"]: r
            for r in await OrderLine.select(
                OrderLine.id,
                OrderLine.sku,
                OrderLine.sku_code,
                OrderLine.qty,
                OrderLine.qty_backordered,
                OrderLine.unit_price_fen,
                OrderLine.line_total_fen,
            ).where(OrderLine.order == current.order_id)
        }
        value = 0
        shipped_now: dict[int, int] = {}
        for ln in sorted(lines, key=lambda r: r["order_line"]):
            qty = ln["qty"]
            # Never into the backordered quantity: only what is reserved ships.
            done = await OrderLine.raw(
                "UPDATE order_line SET qty_shipped = qty_shipped + {} "
                "WHERE id = {} AND qty_shipped + qty_backordered + {} <= qty "
                "RETURNING qty_shipped",
                qty,
                ln["order_line"],
                qty,
            )
            if not done:
                raise Conflict(
                    _("%(sku)s was shipped meanwhile by another shipment. Please reload."),
                    {"sku": order_lines[ln["order_line"]]["sku_code"]},
                )
            shipped_now[ln["order_line"]] = after = int(done[0]["qty_shipped"])
            line = order_lines[ln["order_line"]]
            value += promotions.units_value(
                line["unit_price_fen"], line["line_total_fen"], line["qty"], after - qty, after
            )
        released = await _take_stock(current, lines, order_lines, shipped_now)
        # A reservation given back elsewhere goes to the oldest backorders of the SKU.
        await stock.fill_backorders(released, actor=actor, now=now)

        all_lines = await OrderLine.select(OrderLine.qty, OrderLine.qty_shipped).where(
            OrderLine.order == current.order_id
        )
        complete = all(r["qty_shipped"] >= r["qty"] for r in all_lines)
        status = (await Order.select(Order.status).where(Order.id == current.order_id).first())[
            "status"
        ]
        await transition(
            current.order_id,
            status,
            "shipped" if complete else "partially_shipped",
            actor=actor,
            kind="shipment_shipped",
            note=current.number,
            now=now,
        )
        await Shipment.update({Shipment.value_fen: value}).where(Shipment.id == shipment_id)
        await notifications.tell(
            current.order_id, "shipment_shipped", actor=actor, now=now, note=current.number
        )
        await ledger.post(
            dealer,
            "invoice",
            value,
            actor=actor,
            now=now,
            ref_type="shipment",
            ref_id=shipment_id,
            due_on=ledger.due_date(dealer, now),
            note=current.number,
            open_orders_delta_fen=-value,
        )
        await audit.record(
            actor,
            "shipment.shipped",
            "shipment",
            shipment_id,
            {
                "status": "packed",
                "dealer_balance_fen": dealer["balance_fen"],
                "dealer_open_orders_fen": dealer["open_orders_fen"],
            },
            {
                "status": "shipped",
                "value_fen": value,
                "order_status": "shipped" if complete else "partially_shipped",
                "carrier": carrier,
                "tracking_no": tracking_no,
                "dealer_balance_fen": dealer["balance_fen"] + value,
                "dealer_open_orders_fen": dealer["open_orders_fen"] - value,
            },
            now=now,
        )
    return await get_shipment(actor, shipment_id)


async def _take_stock(
    shipment: ShipmentView,
    lines: list[dict],
    order_lines: dict[int, dict],
    shipped_now: dict[int, int],
) -> list[int]:
    """Consume the shipped quantities from the warehouse and the lines' reservations.

    From the shipping warehouse: on hand falls by the quantity; its reservation for the
    line is used first, anything beyond comes from free stock. A line never keeps more
    reserved than it still has to ship (less its backordered part): any excess (held
    elsewhere) is released. Returns the SKUs of which a reservation was released.
    """
    wh = shipment.warehouse_id
    line_ids = [ln["order_line"] for ln in lines]
    reservations = (
        await Reservation.select(
            Reservation.id,
            Reservation.order_line,
            Reservation.warehouse,
            Reservation.sku,
            Reservation.qty,
        )
        .where(Reservation.order_line.is_in(line_ids))
        .order_by(Reservation.id)
    )
    by_line: dict[int, list[dict]] = defaultdict(list)
    for r in reservations:
        by_line[r["order_line"]].append(r)
    # Per (warehouse, sku): on-hand taken and reservation released.
    on_hand_out: dict[tuple[int, int], int] = defaultdict(int)
    reserved_out: dict[tuple[int, int], int] = defaultdict(int)
    new_qty: dict[int, int] = {}  # reservation id -> qty left
    released: set[int] = set()  # SKUs with a reservation given back, not shipped
    for ln in lines:
        line_id, sku, qty = ln["order_line"], ln["sku"], ln["qty"]
        on_hand_out[(wh, sku)] += qty
        rows = by_line.get(line_id, [])
        left = {r["id"]: r["qty"] for r in rows}
        need = qty
        for r in rows:
            if r["warehouse"] == wh and need:
                take = min(need, left[r["id"]])
                left[r["id"]] -= take
                need -= take
                reserved_out[(wh, sku)] += take
        ol = order_lines[line_id]
        still_to_ship = ol["qty"] - shipped_now[line_id] - ol["qty_backordered"]
        excess = sum(left.values()) - still_to_ship
        # Release elsewhere first, then what is left here.
        for r in sorted(rows, key=lambda r: (r["warehouse"] == wh, r["id"])):
            if excess <= 0:
                break
            give = min(excess, left[r["id"]])
            left[r["id"]] -= give
            excess -= give
            reserved_out[(r["warehouse"], sku)] += give
            released.add(sku)
        for r in rows:
            if left[r["id"]] != r["qty"]:
                new_qty[r["id"]] = left[r["id"]]
    keys = set(on_hand_out) | set(reserved_out)
    stock_rows = await StockLevel.select(StockLevel.id, StockLevel.warehouse, StockLevel.sku).where(
        StockLevel.sku.is_in(sorted({k[1] for k in keys}))
    )
    row_id = {(r["warehouse"], r["sku"]): r["id"] for r in stock_rows}
    for k in sorted(keys, key=lambda k: row_id.get(k, 0)):
        out, rel = on_hand_out.get(k, 0), reserved_out.get(k, 0)
        sku_code = next(
            (ol["sku_code"] for ol in order_lines.values() if ol["sku"] == k[1]), str(k[1])
        )
        if k not in row_id:
            raise InsufficientStock(
                _("%(sku)s: this warehouse no longer holds the quantity to ship."),
                {"sku": sku_code},
            )
        done = await StockLevel.raw(
            "UPDATE stock_level SET on_hand = on_hand - {}, reserved = reserved - {} "
            "WHERE id = {} AND reserved >= {} AND on_hand - {} >= reserved - {} RETURNING id",
            out,
            rel,
            row_id[k],
            rel,
            out,
            rel,
        )
        if not done:
            raise InsufficientStock(
                _("%(sku)s: this warehouse no longer holds the quantity to ship."),
                {"sku": sku_code},
            )
    gone = [rid for rid, qty in new_qty.items() if qty <= 0]
    for rid, qty in sorted(new_qty.items()):
        if qty > 0:
            await Reservation.update({Reservation.qty: qty}).where(Reservation.id == rid)
    if gone:
        await Reservation.delete().where(Reservation.id.is_in(gone))
    return sorted(released)


async def cancel_shipment(
    actor: Actor, shipment_id: int, *, now: datetime | None = None
) -> ShipmentView:
    """Unpack a shipment not yet shipped (nothing was taken from stock yet)."""
    now = now or datetime.now(UTC)
    _require_warehouse(actor)
    current = await get_shipment(actor, shipment_id)
    async with write_transaction():
        await ledger.lock_dealer(current.dealer_id)
        done = await Shipment.raw(
            "UPDATE shipment SET status = 'cancelled' WHERE id = {} AND status = 'packed' "
            "RETURNING id",
            shipment_id,
        )
        if not done:
            raise Conflict(_("Only a packed shipment can be cancelled."))
        await note_on_order(
            current.order_id, "shipment_cancelled", actor=actor, now=now, note=current.number
        )
        await audit.record(
            actor,
            "shipment.cancelled",
            "shipment",
            shipment_id,
            {"status": "packed"},
            {"status": "cancelled"},
            now=now,
        )
    return await get_shipment(actor, shipment_id)


# --- correcting the carrier and tracking number -------------------------------------------


async def correct_tracking(
    actor: Actor,
    shipment_id: int,
    *,
    carrier: str | None = None,
    tracking_no: str | None = None,
    now: datetime | None = None,
) -> ShipmentView:
    """Correct the carrier and tracking number of a parcel on its way (shipped or delivered,
    not yet received): a typo, or the carrier's real number learnt after shipping. None keeps
    a value; "" clears it (some carriers give no tracking number). Audited before → after and
    noted on the order's timeline, which the dealer sees with the new number. Conflict for a
    shipment not on its way (packed ones take them when shipped); the same values write
    nothing."""
    now = now or datetime.now(UTC)
    _require_warehouse(actor)
    current = await get_shipment(actor, shipment_id)
    errors: list[FieldError] = []
    new_carrier = _short_text(carrier, "carrier", errors) if carrier is not None else None
    new_tracking = (
        _short_text(tracking_no, "tracking_no", errors) if tracking_no is not None else None
    )
    if errors:
        raise ValidationFailed(errors=errors)
    refused = _(
        "Only a parcel on its way (shipped, not yet received) can have its carrier and "
        "tracking number corrected."
    )
    if current.status not in AWAITING_RECEIPT:
        raise Conflict(refused, extra={"shipment_status": current.status})
    async with write_transaction():
        query = Shipment.select(Shipment.status, Shipment.carrier, Shipment.tracking_no).where(
            Shipment.id == shipment_id
        )
        if not is_sqlite(current_engine()):
            query = query.lock_rows()
        row = await query.first()
        if row is None or row["status"] not in AWAITING_RECEIPT:
            raise Conflict(refused, extra={"shipment_status": row["status"] if row else None})
        before = {"carrier": row["carrier"] or "", "tracking_no": row["tracking_no"] or ""}
        after = {
            "carrier": before["carrier"] if new_carrier is None else new_carrier,
            "tracking_no": before["tracking_no"] if new_tracking is None else new_tracking,
        }
        if after != before:
            await Shipment.update(
                {Shipment.carrier: after["carrier"], Shipment.tracking_no: after["tracking_no"]}
            ).where(Shipment.id == shipment_id)
            # The note begins with the number (webhooks find the shipment by it) and says
            # what the number was and is, as of this change.
            was = " ".join(v for v in before.values() if v) or "—"
            now_is = " ".join(v for v in after.values() if v) or "—"
            await note_on_order(
                current.order_id,
                "shipment_tracking_changed",
                actor=actor,
                now=now,
                note=f"{current.number}\n{was} → {now_is}",
            )
            await notifications.tell(
                current.order_id,
                "shipment_tracking_changed",
                actor=actor,
                now=now,
                note=f"{current.number}: {now_is}",
            )
            await audit.record(
                actor,
                "shipment.tracking_corrected",
                "shipment",
                shipment_id,
                before,
                after,
                now=now,
            )
    return await get_shipment(actor, shipment_id)


# --- delivered (送达) ---------------------------------------------------------------------------


async def mark_delivered(
    actor: Actor, shipment_id: int, *, now: datetime | None = None
) -> ShipmentView:
    """The warehouse (or a carrier's system through the API) marks a shipped parcel delivered
    (送达): the dealer is told to confirm receipt. The order's state does not change; the
    dealer's receipt (签收) still completes it. Conflict unless the shipment is shipped."""
    now = now or datetime.now(UTC)
    _require_warehouse(actor)
    current = await get_shipment(actor, shipment_id)
    async with write_transaction():
        done = await Shipment.raw(
            "UPDATE shipment SET status = 'delivered', delivered_at = {}, delivered_by = {} "
            "WHERE id = {} AND status = 'shipped' RETURNING id",
            now,
            actor.user_id,
            shipment_id,
        )
        if not done:
            raise Conflict(_("Only a shipped parcel can be marked delivered."))
        await note_on_order(
            current.order_id, "shipment_delivered", actor=actor, now=now, note=current.number
        )
        await notifications.tell(
            current.order_id, "shipment_delivered", actor=actor, now=now, note=current.number
        )
        await audit.record(
            actor,
            "shipment.delivered",
            "shipment",
            shipment_id,
            {"status": "shipped"},
            {"status": "delivered"},
            now=now,
        )
    return await get_shipment(actor, shipment_id)


# --- receipt (签收) ----------------------------------------------------------------------------


async def _receive(
    actor: Actor | None,
    shipment: ShipmentView,
    *,
    discrepancy: bool,
    note: str,
    auto: bool,
    now: datetime,
) -> None:
    async with write_transaction():
        await ledger.lock_dealer(shipment.dealer_id)
        done = await Shipment.raw(
            "UPDATE shipment SET status = 'received', received_at = {}, received_by = {}, "
            "discrepancy = {}, receipt_note = {}, auto_received = {} "
            "WHERE id = {} AND status IN ('shipped', 'delivered') RETURNING id",
            now,
            actor.user_id if actor else None,
            discrepancy,
            note,
            auto,
            shipment.id,
        )
        if not done:
            raise Conflict(_("This shipment is not waiting for receipt."))
        kind = (
            "shipment_auto_received"
            if auto
            else ("shipment_discrepancy" if discrepancy else "shipment_received")
        )
        status = await note_on_order(
            shipment.order_id,
            kind,
            actor=actor,
            now=now,
            note=f"{shipment.number}" + (f"\n{note}" if note else ""),
        )
        await audit.record(
            actor,
            "shipment.received",
            "shipment",
            shipment.id,
            {"status": shipment.status},
            {"status": "received", "discrepancy": discrepancy, "note": note, "auto": auto},
            now=now,
        )
        if status == "shipped":
            waiting = await Shipment.count().where(
                (Shipment.order == shipment.order_id)
                & Shipment.status.is_in(list(AWAITING_RECEIPT))
            )
            if not waiting:
                await transition(
                    shipment.order_id,
                    "shipped",
                    "completed",
                    actor=actor,
                    kind="completed",
                    now=now,
                )


async def confirm_receipt(
    actor: Actor,
    shipment_id: int,
    *,
    discrepancy: bool = False,
    note: str = "",
    now: datetime | None = None,
) -> ShipmentView:
    """The dealer confirms receipt of a shipment (签收), or reports a discrepancy with a note.

    When every shipment of a fully shipped order is received, the order is completed.
    """
    now = now or datetime.now(UTC)
    shipment = await get_shipment(actor, shipment_id)
    if not actor.is_dealer:
        raise Forbidden(_("Only the dealer confirms receipt."))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(
            errors=[
                FieldError("note", _("Too long (at most %(max)s characters)."), {"max": MAX_NOTE})
            ]
        )
    if discrepancy and not note:
        raise ValidationFailed(
            errors=[FieldError("note", _("Say what was wrong with the delivery."))]
        )
    await _receive(actor, shipment, discrepancy=discrepancy, note=note, auto=False, now=now)
    return await get_shipment(actor, shipment_id)


async def auto_receive(now: datetime, days: int = AUTO_RECEIVE_DAYS) -> int:
    """Count as received every shipment shipped more than `days` ago and still unconfirmed.

    For a scheduled command (no acting user). Returns how many were completed this way.
    """
    cutoff = now - timedelta(days=days)
    rows = await (
        Shipment.select(*_COLUMNS)
        .where(Shipment.status.is_in(list(AWAITING_RECEIPT)) & (Shipment.shipped_at < cutoff))
        .order_by(Shipment.id)
    )
    system = Actor(user_id=0, role="admin", name="")
    count = 0
    for view in await _views(system, rows):
        try:
            await _receive(None, view, discrepancy=False, note="", auto=True, now=now)
        except Conflict:
            continue  # confirmed by the dealer meanwhile
        count += 1
    return count
