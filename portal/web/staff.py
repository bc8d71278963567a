"""Pages for administrators: the supplier's staff (reps, managers, finance, warehouse,
administrators): list, add, edit, set a new password."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Response, Template

from portal.domain import staff, warehouses
from portal.domain.errors import ValidationFailed, _
from portal.web.common import checked, done, field_errors, page
from portal.web.me import ROLE_LABELS

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
FIELDS = ("username", "display_name", "role", "phone", "email", "manager_id", "discount_authority")


def _text(data: dict[str, Any], name: str, limit: int = 300) -> str:
    return str(data.get(name) or "")[:limit]


def _warehouse_ids(data: dict[str, Any]) -> tuple[int, ...]:
    """The ticked warehouses (one value or several); anything not a number is left for the
    domain to refuse as an unknown warehouse (-1)."""
    raw = data.get("warehouse_ids") or []
    ticked = raw if isinstance(raw, list) else [raw]
    return tuple(int(t) if str(t).isdigit() and len(str(t)) < 10 else -1 for t in ticked[:100])


def _input(data: dict[str, Any]) -> staff.StaffInput:
    """The form as the domain takes it. A manager or authority that is not a number goes on
    as an impossible value, so the domain reports it beside every other problem."""
    manager_text = _text(data, "manager_id", 12).strip()
    manager = None
    if manager_text:
        manager = int(manager_text) if manager_text.isdigit() and len(manager_text) < 10 else -1
    authority_text = _text(data, "discount_authority", 12).strip().rstrip("%") or "0"
    try:
        bp = Decimal(authority_text) * 100
        authority = int(bp) if bp == bp.to_integral_value() else -1
    except (InvalidOperation, ValueError, OverflowError):
        authority = -1
    return staff.StaffInput(
        display_name=_text(data, "display_name", 200),
        role=_text(data, "role", 20),
        phone=_text(data, "phone", 40).strip(),
        email=_text(data, "email", 300).strip(),
        active=checked(data, "active"),
        manager_id=manager,
        discount_authority_bp=authority,
        warehouse_ids=_warehouse_ids(data),
    )


async def _context(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "roles": [(r, ROLE_LABELS[r]) for r in staff.STAFF_ROLES],
        "role_labels": ROLE_LABELS,
        "managers": await staff.managers(),
        "warehouses": await warehouses.list_warehouses(request.user),
        "errors": {},
        "show_acting_banner": False,
        **extra,
    }


async def _list_page(request: Request, status: int = 200, **extra: Any) -> Template:
    context = await _context(
        request,
        people=await staff.list_staff(request.user),
        values=extra.pop("values", None) or {"role": "sales_rep", "active": True},
        **extra,
    )
    return page(request, "admin/staff.html", context, active_tab="me", status=status)


@get("/admin/users", include_in_schema=False)
async def staff_list(request: Request) -> Template:
    return await _list_page(request)


@post("/admin/users", include_in_schema=False)
async def staff_add(request: Request, data: Form) -> Response:
    try:
        await staff.create_staff(
            request.user,
            _text(data, "username", 100).strip(),
            _text(data, "password"),
            _input({**data, "active": "1"}),
        )
    except ValidationFailed as exc:
        values = {k: _text(data, k, 300) for k in FIELDS}
        values["warehouse_ids"] = list(_warehouse_ids(data))
        return await _list_page(request, status=422, values=values, errors=field_errors(exc))
    return done("/admin/users", _("User added."))


def _values(person: dict) -> dict[str, Any]:
    return {
        **person,
        "manager_id": person["manager"] or "",
        "discount_authority": Decimal(person["discount_authority_bp"]) / 100,
    }


async def _edit_page(request: Request, user_id: int, status: int = 200, **extra: Any) -> Template:
    person = await staff.get_staff(request.user, user_id)
    context = await _context(
        request, person=person, values=extra.pop("values", None) or _values(person), **extra
    )
    return page(request, "admin/staff_edit.html", context, active_tab="me", status=status)


@get("/admin/users/{user_id:int}", include_in_schema=False)
async def staff_edit(request: Request, user_id: FromPath[int]) -> Template:
    return await _edit_page(request, user_id)


@post("/admin/users/{user_id:int}", include_in_schema=False)
async def staff_save(request: Request, user_id: FromPath[int], data: Form) -> Response:
    try:
        await staff.update_staff(request.user, user_id, _input(data))
    except ValidationFailed as exc:
        values = {k: _text(data, k, 300) for k in FIELDS} | {
            "active": checked(data, "active"),
            "warehouse_ids": list(_warehouse_ids(data)),
        }
        return await _edit_page(
            request, user_id, status=422, values=values, errors=field_errors(exc)
        )
    return done("/admin/users", _("Saved."))


@post("/admin/users/{user_id:int}/password", include_in_schema=False)
async def staff_password(request: Request, user_id: FromPath[int], data: Form) -> Template:
    try:
        await staff.reset_staff_password(request.user, user_id, _text(data, "new_password"))
    except ValidationFailed as exc:
        return await _edit_page(request, user_id, status=422, errors=field_errors(exc))
    return await _edit_page(request, user_id, done="password")


ROUTES = [staff_list, staff_add, staff_edit, staff_save, staff_password]
