"""Pick lists (拣货单): per warehouse, what to take off the shelves for orders waiting to ship.

For one warehouse and the queued orders (approved or partially shipped, in the actor's
scope; all of them or the ones chosen), each SKU's quantity to pick is what those orders
hold reserved in that warehouse and have not yet shipped. Shipping consumes reservations,
so a shipped part no longer counts. Goods already in a packed (not yet shipped) shipment
from this warehouse were picked already, so they are taken off too; and a line never asks
for more than it still has to pack (ordered − shipped − packed anywhere).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.scope import Actor, in_scope, visible_dealer_ids, working_warehouses
from portal.domain.shipments import largest_packs
from portal.tables import OrderLine, Reservation, ShipmentLine

PICKING_ROLES = frozenset({"warehouse", "admin"})
QUEUED_STATUSES = ("approved", "partially_shipped")  # the to-ship queue's orders
MAX_ORDERS = 200  # orders one may choose for one pick list


@dataclass
class PickOrderQty:
    """One order's share of a SKU on the pick list."""

    order_id: int
    order_number: str
    dealer_name: str
    qty: int


@dataclass
class PickLine:
    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    unit: str
    qty: int  # base units to pick
    pack_name: str | None = None  # the SKU's largest pack unit, if any
    pack_factor: int | None = None
    orders: list[PickOrderQty] = field(default_factory=list)

    @property
    def full_packs(self) -> int:
        return self.qty // self.pack_factor if self.pack_factor else 0

    @property
    def loose(self) -> int:
        """Base units left over after the full packs."""
        return self.qty % self.pack_factor if self.pack_factor else self.qty


@dataclass
class PickOrder:
    order_id: int
    number: str
    dealer_name: str
    created_at: datetime
    qty: int  # base units to pick for this order here


@dataclass
class PickList:
    warehouse: dict  # id, code, name
    warehouses: list[dict]  # every active warehouse, to choose another
    chosen: list[int]  # the order ids asked for; empty: every queued order
    orders: list[PickOrder]  # the orders with something to pick here, oldest first
    lines: list[PickLine]  # by SKU code

    @property
    def total_qty(self) -> int:
        return sum(line.qty for line in self.lines)


def require_picking_staff(actor: Actor) -> None:
    if actor.role not in PICKING_ROLES:
        raise Forbidden(_("Only warehouse staff may do this."))


async def picking_warehouses(actor: Actor) -> list[dict]:
    """The warehouses the actor picks in (scope.working_warehouses)."""
    require_picking_staff(actor)
    return await working_warehouses(actor)


def _chosen(order_ids: list[int] | None) -> list[int]:
    ids = sorted({int(i) for i in order_ids or []})
    if len(ids) > MAX_ORDERS:
        raise ValidationFailed(
            errors=[FieldError("order_id", _("At most %(max)s items."), {"max": MAX_ORDERS})]
        )
    return ids


async def pick_list(
    actor: Actor, warehouse_id: int | None = None, order_ids: list[int] | None = None
) -> PickList:
    """The pick list of a warehouse (default: the first active one) for the queued orders.

    `order_ids` limits it to those orders; ids that are not queued or not in the actor's
    scope are left out, exactly like ids that do not exist. NotFound for an unknown or
    inactive warehouse; Forbidden for roles other than warehouse staff and admin.
    """
    require_picking_staff(actor)
    chosen = _chosen(order_ids)
    warehouses = await picking_warehouses(actor)
    if warehouse_id is None:
        if not warehouses:
            raise NotFound(_("Warehouse not found."))
        warehouse = warehouses[0]
    else:
        warehouse = next((w for w in warehouses if w["id"] == warehouse_id), None)
        if warehouse is None:
            raise NotFound(_("Warehouse not found."))
    wh = warehouse["id"]
    dealer_ids = await visible_dealer_ids(actor)
    order = Reservation.order_line.order
    query = Reservation.select(
        Reservation.order_line,
        Reservation.qty,
        Reservation.sku,
        Reservation.sku.code.as_alias("sku_code"),
        Reservation.sku.name.as_alias("sku_name"),
        Reservation.sku.barcode.as_alias("barcode"),
        Reservation.sku.base_unit.as_alias("unit"),
        order.id.as_alias("order_id"),
        order.number.as_alias("order_number"),
        order.created_at.as_alias("created_at"),
        order.dealer.name.as_alias("dealer_name"),
    ).where(
        (Reservation.warehouse == wh)
        & order.status.is_in(list(QUEUED_STATUSES))
        & in_scope(order.dealer, dealer_ids)
    )
    if chosen:
        query = query.where(order.id.is_in(chosen))
    reservations = await query
    if not reservations:
        return PickList(warehouse, warehouses, chosen, [], [])

    line_ids = sorted({r["order_line"] for r in reservations})
    held_here: dict[int, int] = defaultdict(int)
    for r in reservations:
        held_here[r["order_line"]] += r["qty"]
    open_qty = {
        ln["id"]: ln["qty"] - ln["qty_shipped"]
        for ln in await OrderLine.select(OrderLine.id, OrderLine.qty, OrderLine.qty_shipped).where(
            OrderLine.id.is_in(line_ids)
        )
    }
    packed_here: dict[int, int] = defaultdict(int)
    packed_all: dict[int, int] = defaultdict(int)
    for p in await ShipmentLine.select(
        ShipmentLine.order_line, ShipmentLine.qty, ShipmentLine.shipment.warehouse
    ).where(ShipmentLine.order_line.is_in(line_ids) & (ShipmentLine.shipment.status == "packed")):
        packed_all[p["order_line"]] += p["qty"]
        if p["shipment.warehouse"] == wh:
            packed_here[p["order_line"]] += p["qty"]

    def to_pick(line_id: int) -> int:
        still_to_pack = open_qty.get(line_id, 0) - packed_all[line_id]
        return max(0, min(held_here[line_id] - packed_here[line_id], still_to_pack))

    # One entry per order line (a line may hold several reservation rows here).
    seen: dict[int, dict] = {}
    for r in reservations:
        seen.setdefault(r["order_line"], r)
    by_sku: dict[int, PickLine] = {}
    per_order: dict[int, PickOrder] = {}
    for line_id, r in sorted(
        seen.items(), key=lambda kv: (kv[1]["created_at"], kv[1]["order_id"], kv[0])
    ):
        qty = to_pick(line_id)
        if qty <= 0:
            continue
        line = by_sku.get(r["sku"])
        if line is None:
            line = by_sku[r["sku"]] = PickLine(
                sku_id=r["sku"],
                sku_code=r["sku_code"],
                sku_name=r["sku_name"],
                barcode=r["barcode"] or "",
                unit=r["unit"],
                qty=0,
            )
        line.qty += qty
        if line.orders and line.orders[-1].order_id == r["order_id"]:
            line.orders[-1].qty += qty
        else:
            line.orders.append(
                PickOrderQty(r["order_id"], r["order_number"], r["dealer_name"] or "", qty)
            )
        po = per_order.get(r["order_id"])
        if po is None:
            po = per_order[r["order_id"]] = PickOrder(
                r["order_id"], r["order_number"], r["dealer_name"] or "", r["created_at"], 0
            )
        po.qty += qty
    if by_sku:
        for sku_id, (name, factor) in (await largest_packs(sorted(by_sku))).items():
            by_sku[sku_id].pack_name, by_sku[sku_id].pack_factor = name, factor
    lines = sorted(by_sku.values(), key=lambda ln: ln.sku_code)
    orders = sorted(per_order.values(), key=lambda o: (o.created_at, o.order_id))
    return PickList(warehouse, warehouses, chosen, orders, lines)
