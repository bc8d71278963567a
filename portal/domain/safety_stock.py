"""Safety stock per SKU: warehouse staff set it (audited) and watch the SKUs that fall under it.

A SKU is under its safety stock when its safety stock is above zero and what is available
over all active warehouses (on hand − reserved) is below it — the same rule as the stock
list's "under safety stock" filter (portal.domain.stock.StockRow.under_safety). The alert
list is one row per SKU and includes SKUs that no warehouse holds at all (available 0).
A warehouse user given warehouses reads those only (DESIGN: scope on every read): the SKUs
stocked there, under their safety stock by what is available there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from portal.db import current_engine, is_sqlite, write_transaction
from portal.domain import audit, stock
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.scope import Actor, staff_warehouses
from portal.tables import Sku

# Who sets a SKU's safety stock; every staff role sees what is under it (DESIGN: "staff see
# what is under it"; a manager's dashboard shows it).
SAFETY_STAFF = frozenset({"warehouse", "admin"})
MAX_SAFETY_STOCK = 10_000_000  # base units; the same bound as a stock adjustment
ALERT_LIMIT = 200

# Available over active warehouses per SKU (never below 0 per row, as availability_by_sku).
_AVAILABLE = (
    "COALESCE(SUM(CASE WHEN w.active AND sl.on_hand > sl.reserved "
    "THEN sl.on_hand - sl.reserved ELSE 0 END), 0)"
)
_UNDER_SQL = (
    "SELECT s.id AS id, s.code AS code, s.name AS name, s.barcode AS barcode, "
    "s.base_unit AS unit, s.safety_stock AS safety_stock, "
    f"{_AVAILABLE} AS available "
    "FROM sku s "
    "LEFT JOIN stock_level sl ON sl.sku = s.id{held} "
    "LEFT JOIN warehouse w ON w.id = sl.warehouse "
    "WHERE s.safety_stock > 0 AND s.active{stocked} "
    "GROUP BY s.id, s.code, s.name, s.barcode, s.base_unit, s.safety_stock "
    f"HAVING {_AVAILABLE} < s.safety_stock"
)


def under_sql(warehouse_ids: list[int] | None) -> str:
    """The SKUs under their safety stock (id, code, name, barcode, unit, safety_stock,
    available) as one SELECT. None: over every active warehouse, SKUs no warehouse holds
    included. A warehouse user's own warehouses (integers of ours, written into the
    statement): what is available there, of the SKUs stocked there; another warehouse's
    figures are not read."""
    if warehouse_ids is None:
        return _UNDER_SQL.format(held="", stocked="")
    listed = ", ".join(str(int(i)) for i in warehouse_ids) or "-1"
    return _UNDER_SQL.format(
        held=f" AND sl.warehouse IN ({listed})",
        stocked=(
            f" AND s.id IN (SELECT ls.sku FROM stock_level ls WHERE ls.warehouse IN ({listed}))"
        ),
    )


@dataclass
class SafetyLevel:
    """One SKU: its safety stock, what is available over active warehouses, and per warehouse."""

    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    unit: str
    safety_stock: int
    available: int
    warehouses: list[dict] = field(default_factory=list)  # code, name, on_hand, reserved, ...

    @property
    def under_safety(self) -> bool:
        return self.safety_stock > 0 and self.available < self.safety_stock

    @property
    def shortfall(self) -> int:
        """How much is missing to reach the safety stock (0 when not under it)."""
        return max(0, self.safety_stock - self.available) if self.under_safety else 0


def require_safety_staff(actor: Actor) -> None:
    if actor.role not in SAFETY_STAFF:
        raise Forbidden(_("Only warehouse staff may do this."))


def require_safety_viewer(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden(_("Only the supplier's staff see safety stock."))


def may_set(actor: Actor) -> bool:
    return actor.role in SAFETY_STAFF


def parse_safety_stock(raw: object) -> int:
    """A whole number of base units from 0 to MAX_SAFETY_STOCK, from a form field or JSON."""
    if isinstance(raw, bool):
        raw = None
    if isinstance(raw, int):
        text = str(raw)
    else:
        text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) > MAX_SAFETY_STOCK:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "safety_stock",
                    _("Enter a whole number from 0 to %(max)s."),
                    {"max": MAX_SAFETY_STOCK},
                )
            ]
        )
    return int(text)


async def _levels(rows: list[dict], warehouse_ids: list[int] | None) -> list[SafetyLevel]:
    ids = [r["id"] for r in rows]
    per_warehouse = await stock.by_warehouse(ids, warehouse_ids)
    totals = await stock.availability_by_sku(ids, warehouse_ids)
    return [
        SafetyLevel(
            sku_id=r["id"],
            sku_code=r["code"],
            sku_name=r["name"],
            barcode=r["barcode"] or "",
            unit=r["unit"],
            safety_stock=int(r["safety_stock"] or 0),
            available=totals.get(r["id"], 0),
            warehouses=per_warehouse.get(r["id"], []),
        )
        for r in rows
    ]


_SKU_COLUMNS = (
    Sku.id,
    Sku.code,
    Sku.name,
    Sku.barcode,
    Sku.base_unit.as_alias("unit"),
    Sku.safety_stock,
)


async def get_safety_level(actor: Actor, sku_id: int) -> SafetyLevel:
    """One SKU's safety stock and availability, for staff (a warehouse user given warehouses:
    over those); NotFound for an unknown SKU."""
    require_safety_viewer(actor)
    row = await Sku.select(*_SKU_COLUMNS).where(Sku.id == sku_id).first()
    if row is None:
        raise NotFound(_("Product not found."))
    return (await _levels([row], await staff_warehouses(actor)))[0]


async def set_safety_stock(
    actor: Actor, sku_id: int, value: object, *, now: datetime | None = None
) -> SafetyLevel:
    """Set a SKU's safety stock (base units, 0 turns the alert off); audited with before/after.

    Setting the value it already has writes nothing.
    """
    now = now or datetime.now(UTC)
    require_safety_staff(actor)
    if not await Sku.exists().where(Sku.id == sku_id):
        raise NotFound(_("Product not found."))
    new = parse_safety_stock(value)
    async with write_transaction():
        query = Sku.select(Sku.id, Sku.code, Sku.safety_stock).where(Sku.id == sku_id)
        if not is_sqlite(current_engine()):
            query = query.lock_rows()
        row = await query.first()
        if row is None:
            raise NotFound(_("Product not found."))
        old = int(row["safety_stock"] or 0)
        if old != new:
            await Sku.update({Sku.safety_stock: new}).where(Sku.id == sku_id)
            await audit.record(
                actor,
                "sku.safety_stock",
                "sku",
                sku_id,
                {"safety_stock": old},
                {"safety_stock": new, "sku_code": row["code"]},
                now=now,
            )
    return await get_safety_level(actor, sku_id)


async def under_safety(
    actor: Actor, *, limit: int | None = ALERT_LIMIT, offset: int = 0
) -> list[SafetyLevel]:
    """Active SKUs whose available stock is below their safety stock: empty shelves first,
    then by how far under they are (available ÷ safety stock), then by code (and id). `limit`
    of them (at most 1,000; None: all, for an export) from `offset`. A warehouse user given
    warehouses sees the SKUs stocked there, by what is available there (under_sql)."""
    require_safety_viewer(actor)
    mine = await staff_warehouses(actor)
    order = f"ORDER BY {_AVAILABLE} * 1.0 / s.safety_stock, s.code, s.id"
    if limit is None:
        rows = await Sku.raw(f"{under_sql(mine)} {order}")
    else:
        rows = await Sku.raw(
            f"{under_sql(mine)} {order} LIMIT {{}} OFFSET {{}}",
            max(1, min(int(limit), 1000)),
            max(0, int(offset)),
        )
    return await _levels(rows, mine)


async def count_under_safety(actor: Actor) -> int:
    """How many active SKUs are under their safety stock (the warehouse page's badge, the
    reports), over the same warehouses as under_safety."""
    require_safety_viewer(actor)
    sql = under_sql(await staff_warehouses(actor))
    rows = await Sku.raw(f"SELECT COUNT(*) AS n FROM ({sql}) AS under_safety")
    return int(rows[0]["n"]) if rows else 0
