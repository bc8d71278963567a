"""Warehouses for administrators: list, add, edit (name, region, priority, active)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Response, Template

from portal.domain import warehouses
from portal.domain.errors import ValidationFailed, _
from portal.web.common import checked, done, field_errors, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
FIELDS = ("code", "name", "region", "priority")


def _input(data: dict[str, Any]) -> warehouses.WarehouseInput:
    priority_text = str(data.get("priority") or "0").strip()[:8]
    digits = priority_text.lstrip("-")
    priority = int(priority_text) if digits.isdigit() else 10_000  # refused by the domain
    return warehouses.WarehouseInput(
        code=str(data.get("code") or "").strip()[:40],
        name=str(data.get("name") or "")[:100],
        region=str(data.get("region") or "")[:100],
        priority=priority,
        active=checked(data, "active"),
    )


async def _page(request: Request, template: str, status: int = 200, **extra: Any) -> Template:
    warehouses.require_admin(request.user)  # staff read warehouses; only admins manage them
    context = {
        "errors": {},
        "values": {"priority": 0, "active": True},
        # Not an ordering page: no "order for which dealer?" banner.
        "show_acting_banner": False,
        **extra,
    }
    if template == "admin/warehouses.html":
        context["warehouses"] = await warehouses.list_warehouses(request.user)
    return page(request, template, context, active_tab="me", status=status)


@get("/admin/warehouses", include_in_schema=False)
async def warehouse_list(request: Request) -> Template:
    return await _page(request, "admin/warehouses.html")


@post("/admin/warehouses", include_in_schema=False)
async def warehouse_add(request: Request, data: Form) -> Response:
    try:
        await warehouses.save_warehouse(request.user, None, _input({**data, "active": "1"}))
    except ValidationFailed as exc:
        values = {k: str(data.get(k) or "")[:100] for k in FIELDS} | {"active": True}
        return await _page(
            request, "admin/warehouses.html", 422, values=values, errors=field_errors(exc)
        )
    return done("/admin/warehouses", _("Warehouse added."))


@get("/admin/warehouses/{warehouse_id:int}", include_in_schema=False)
async def warehouse_edit(request: Request, warehouse_id: FromPath[int]) -> Template:
    warehouses.require_admin(request.user)
    row = await warehouses.get_warehouse(request.user, warehouse_id)
    return await _page(request, "admin/warehouse_edit.html", warehouse=row, values=row)


@post("/admin/warehouses/{warehouse_id:int}", include_in_schema=False)
async def warehouse_save(request: Request, warehouse_id: FromPath[int], data: Form) -> Response:
    warehouses.require_admin(request.user)
    row = await warehouses.get_warehouse(request.user, warehouse_id)
    try:
        await warehouses.save_warehouse(request.user, warehouse_id, _input(data))
    except ValidationFailed as exc:
        values = {k: str(data.get(k) or "")[:100] for k in FIELDS}
        values["active"] = checked(data, "active")
        return await _page(
            request,
            "admin/warehouse_edit.html",
            422,
            warehouse=row,
            values=values,
            errors=field_errors(exc),
        )
    return done("/admin/warehouses", _("Saved."))


ROUTES = [warehouse_list, warehouse_add, warehouse_edit, warehouse_save]
