"""Warehouses, kept by administrators: code, name, region, priority (lower is tried first
after a dealer's default warehouse) and active. An inactive warehouse keeps its stock and
what is already reserved there, but new orders no longer reserve from it. Audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from portal.db import write_transaction
from portal.domain import audit
from portal.domain.codes import same_text
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.idempotency import is_unique_violation
from portal.domain.scope import Actor, staff_warehouses
from portal.tables import Warehouse

CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
MISSING = _("Warehouse not found.")
TAKEN = _("Another warehouse has this code.")


@dataclass(frozen=True)
class WarehouseInput:
    code: str
    name: str
    region: str = ""
    priority: int = 0
    active: bool = True


def require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may change warehouses."))


def _out(row: dict) -> dict:
    return {**row, "active": bool(row["active"])}


async def _readable(actor: Actor) -> list[int] | None:
    """Which warehouses the actor may read: every one for staff (an ERP's warehouse or finance
    key needs their ids for stock and shipments), a warehouse user's own where they have some
    (None: all); dealers none (Forbidden)."""
    if not actor.is_staff:
        raise Forbidden(_("Your role cannot see warehouses."))
    return await staff_warehouses(actor)


async def list_warehouses(actor: Actor) -> list[dict]:
    mine = await _readable(actor)
    query = Warehouse.select().order_by(Warehouse.priority).order_by(Warehouse.code)
    if mine is not None:
        query = query.where(Warehouse.id.is_in(mine))
    return [_out(r) for r in await query]


async def get_warehouse(actor: Actor, warehouse_id: int) -> dict:
    mine = await _readable(actor)
    row = await Warehouse.select().where(Warehouse.id == warehouse_id).first()
    if row is None or (mine is not None and row["id"] not in mine):
        raise NotFound(MISSING)
    return _out(row)


def _check(data: WarehouseInput) -> list[FieldError]:
    errors = []
    if not CODE.match(data.code):
        errors.append(FieldError("code", _("Use 1 to 20 letters, digits, dashes or underscores.")))
    if not data.name.strip() or len(data.name) > 50:
        errors.append(FieldError("name", _("Enter a name of at most 50 characters.")))
    if len(data.region) > 50:
        errors.append(FieldError("region", _("At most %(n)s characters."), {"n": 50}))
    if not -1000 <= data.priority <= 1000:
        errors.append(FieldError("priority", _("Enter a whole number from -1000 to 1000.")))
    return errors


async def save_warehouse(
    actor: Actor, warehouse_id: int | None, data: WarehouseInput, *, now: datetime | None = None
) -> dict:
    """Add (warehouse_id None) or change a warehouse; a code another warehouse has, in any
    letter case (sh is SH), is a field error, also when two administrators save it at once."""
    require_admin(actor)
    errors = _check(data)
    taken = Warehouse.exists().where(same_text(Warehouse.code, data.code))
    if warehouse_id is not None:
        taken = taken.where(Warehouse.id != warehouse_id)
    if not errors and await taken:
        errors.append(FieldError("code", TAKEN))
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    values = {
        "code": data.code,
        "name": data.name.strip(),
        "region": data.region.strip(),
        "priority": data.priority,
        "active": data.active,
    }
    try:
        async with write_transaction():
            if warehouse_id is None:
                row = Warehouse(**values)
                await Warehouse.insert(row)
                warehouse_id, before = row.id, {}
            else:
                old = await Warehouse.select().where(Warehouse.id == warehouse_id).first()
                if old is None:
                    raise NotFound(MISSING)
                await Warehouse.update({getattr(Warehouse, k): v for k, v in values.items()}).where(
                    Warehouse.id == warehouse_id
                )
                before = {k: old[k] for k in values} | {"active": bool(old["active"])}
            await audit.record(
                actor, "warehouse.saved", "warehouse", warehouse_id, before, values, now=now
            )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        raise ValidationFailed(errors=[FieldError("code", TAKEN)]) from None
    return await get_warehouse(actor, warehouse_id)
