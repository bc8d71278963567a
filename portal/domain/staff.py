"""The supplier's own people (reps, managers, finance, warehouse, administrators), kept by an
administrator: add with a first password, rename, change role, manager and discount
authority, deactivate, set a new password. A role change, a new manager (the rep's scope
follows the manager's team), a deactivation or a new password ends the user's sessions on
their next request. The portal always keeps one active administrator. A warehouse user may
be given the warehouses they work in (none: every warehouse); they then see and act on
those only (portal.domain.scope.staff_warehouses), from their next request. Audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from portal.db import write_transaction
from portal.domain import audit, pinyin
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.scope import Actor
from portal.domain.team import (
    USERNAME,
    check_new_password,
    insert_user,
    person_errors,
    store_password,
    taken_fields,
    write_user_update,
)
from portal.tables import RepAssignment, User, Warehouse, WarehouseStaff

STAFF_ROLES = ("sales_rep", "sales_manager", "finance", "warehouse", "admin")
MAX_AUTHORITY_BP = 5000  # a discount of at most 50 % below the tier price
MISSING = _("User not found.")
LAST_ADMIN = _("The portal needs at least one active administrator.")
COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.role,
    User.phone,
    User.email,
    User.active,
    User.manager,
    User.discount_authority_bp,
    User.created_at,
)


@dataclass(frozen=True)
class StaffInput:
    display_name: str
    role: str
    phone: str = ""
    email: str = ""
    active: bool = True
    manager_id: int | None = None  # a rep's sales manager
    discount_authority_bp: int = 0  # reps and managers
    warehouse_ids: tuple[int, ...] = ()  # warehouse staff: where they work (none: everywhere)


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may manage staff."))


def _out(row: dict, warehouses: list[int] | None = None) -> dict:
    return {
        **row,
        "active": bool(row["active"]),
        "phone": row["phone"] or "",
        "warehouse_ids": warehouses or [],
    }


async def _warehouses_of(user_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    if user_ids:
        for r in await WarehouseStaff.select(WarehouseStaff.user, WarehouseStaff.warehouse).where(
            WarehouseStaff.user.is_in(user_ids)
        ):
            found.setdefault(r["user"], []).append(r["warehouse"])
    return {uid: sorted(ids) for uid, ids in found.items()}


async def _set_warehouses(
    actor: Actor, user_id: int, wanted: list[int], before: list[int], now: datetime
) -> None:
    """Store a warehouse user's warehouses, inside the caller's transaction; audited."""
    if sorted(wanted) == sorted(before):
        return
    await WarehouseStaff.delete().where(WarehouseStaff.user == user_id)
    if wanted:
        await WarehouseStaff.insert(
            *[WarehouseStaff(user=user_id, warehouse=wh) for wh in sorted(wanted)]
        )
    await audit.record(
        actor,
        "user.warehouses",
        "user",
        user_id,
        {"warehouse_ids": sorted(before)},
        {"warehouse_ids": sorted(wanted)},
        now=now,
    )


async def list_staff(actor: Actor) -> list[dict]:
    _require_admin(actor)
    rows = (
        await User.select(*COLUMNS)
        .where(User.role.is_in(list(STAFF_ROLES)))
        .order_by(User.active, ascending=False)
        .order_by(User.role)
        .order_by(pinyin.order_by_name())
        .order_by(User.id)
    )
    places = await _warehouses_of([r["id"] for r in rows if r["role"] == "warehouse"])
    return [_out(r, places.get(r["id"])) for r in rows]


async def get_staff(actor: Actor, user_id: int) -> dict:
    _require_admin(actor)
    row = (
        await User.select(*COLUMNS)
        .where((User.id == user_id) & User.role.is_in(list(STAFF_ROLES)))
        .first()
    )
    if row is None:
        raise NotFound(MISSING)
    return _out(row, (await _warehouses_of([user_id])).get(user_id))


async def managers() -> list[dict]:
    """Active sales managers, for a rep's manager."""
    return (
        await User.select(User.id, User.display_name)
        .where((User.role == "sales_manager") & (User.active == True))  # noqa: E712
        .order_by(pinyin.order_by_name())
        .order_by(User.id)
    )


async def _check(data: StaffInput, user_id: int | None) -> tuple[list[FieldError], dict, list[int]]:
    errors = person_errors(data.display_name, data.phone, data.email)
    if data.role not in STAFF_ROLES:
        errors.insert(
            1 if errors and errors[0].field == "display_name" else 0,
            FieldError("role", _("Choose a role.")),
        )
    manager = None
    if data.role == "sales_rep" and data.manager_id is not None:
        if data.manager_id not in {m["id"] for m in await managers()} or data.manager_id == user_id:
            errors.append(FieldError("manager_id", _("Choose an active sales manager.")))
        else:
            manager = data.manager_id
    authority = data.discount_authority_bp if data.role in ("sales_rep", "sales_manager") else 0
    if not 0 <= authority <= MAX_AUTHORITY_BP:
        errors.append(
            FieldError(
                "discount_authority",
                _("Enter a discount authority from 0 to %(max)s %%."),
                {"max": MAX_AUTHORITY_BP // 100},
            )
        )
    # Only warehouse staff have warehouses; for any other role they are cleared.
    wanted = sorted(set(data.warehouse_ids)) if data.role == "warehouse" else []
    if wanted:
        if await Warehouse.count().where(Warehouse.id.is_in(wanted)) != len(wanted):
            errors.append(FieldError("warehouse_ids", _("Choose warehouses from the list.")))
    values = {
        "display_name": data.display_name.strip(),
        "role": data.role,
        "phone": data.phone or None,
        "email": data.email,
        "active": data.active,
        "manager": manager,
        "discount_authority_bp": authority,
    }
    return errors, values, wanted


async def create_staff(actor: Actor, username: str, password: str, data: StaffInput) -> dict:
    _require_admin(actor)
    username = (username or "").strip()
    errors, values, wanted = await _check(data, None)
    if not USERNAME.match(username):
        errors.insert(
            0,
            FieldError("username", _("Use 3 to 64 letters, digits, dots, dashes or underscores.")),
        )
    errors += [
        FieldError("password", e.message, e.params)
        for e in check_new_password(password or "", username=username, phone=data.phone)
    ]
    await taken_fields(errors, username if USERNAME.match(username) else None, data.phone, None)
    if errors:
        raise ValidationFailed(errors=errors)

    async def place(user_id: int) -> None:
        await _set_warehouses(actor, user_id, wanted, [], datetime.now(UTC))

    user_id = await insert_user(actor, username, password, values, then=place)
    return await get_staff(actor, user_id)


async def update_staff(actor: Actor, user_id: int, data: StaffInput) -> dict:
    before = await get_staff(actor, user_id)
    errors, values, wanted = await _check(data, user_id)
    await taken_fields(errors, None, data.phone, user_id)
    if errors:
        raise ValidationFailed(errors=errors)
    now = datetime.now(UTC)
    async with write_transaction():
        if before["role"] == "sales_rep" and data.role != "sales_rep":
            # A rep's dealers would stay with someone who no longer visits them, out of every
            # manager's team, and their manager and authority would be dropped with the role.
            kept = await RepAssignment.count().where(RepAssignment.rep == user_id)
            if kept:
                raise ValidationFailed(
                    errors=[
                        FieldError(
                            "role",
                            _(
                                "This rep looks after %(n)s dealers: give them to another rep "
                                "before changing the role."
                            ),
                            {"n": kept},
                        )
                    ]
                )
        stays_admin = data.active and data.role == "admin"
        if before["role"] == "admin" and before["active"] and not stays_admin:
            others = await User.count().where(
                User.role == "admin", User.active.eq(True), User.id != user_id
            )
            if not others:
                raise ValidationFailed(
                    errors=[
                        FieldError("role", _("The portal needs at least one active administrator."))
                    ]
                )
        ends_sessions = (
            before["role"] != data.role
            or before["manager"] != values["manager"]
            or (before["active"] and not data.active)
        )
        await write_user_update(actor, user_id, before, values, ends_sessions, now)
        await _set_warehouses(actor, user_id, wanted, before["warehouse_ids"], now)
    return await get_staff(actor, user_id)


async def reset_staff_password(actor: Actor, user_id: int, password: str) -> None:
    user = await get_staff(actor, user_id)
    errors = check_new_password(password or "", username=user["username"], phone=user.get("phone"))
    if errors:
        raise ValidationFailed(errors=errors)
    await store_password(actor, user_id, password, "user.password_reset")
