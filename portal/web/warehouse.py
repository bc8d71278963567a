"""Warehouse pages on a phone: the to-ship queue, packing a shipment, stock and adjustments."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import orders, shipments, stock
from portal.domain.errors import ValidationFailed
from portal.web.common import clear_flash, flash, page, take_flash

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
STOCK_ROWS = 60


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return {e.field: i18n.field_message(e) for e in exc.errors}


@get("/warehouse", include_in_schema=False)
async def queue(request: Request) -> Template:
    items = await shipments.to_ship_queue(request.user)
    flash_data = take_flash(request)
    response = page(
        request,
        "warehouse/queue.html",
        {"items": items, "flash": flash_data, "status_labels": orders.STATUS_LABELS},
        active_tab="warehouse",
    )
    return clear_flash(response) if flash_data else response


async def _plan_page(
    request: Request,
    order_id: int,
    warehouse_id: int | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    plan = await shipments.shipment_plan(request.user, order_id, warehouse_id)
    return page(
        request,
        "warehouse/order.html",
        {
            "plan": plan,
            "values": values or {},
            "errors": errors or {},
            "shipment_status_labels": shipments.STATUS_LABELS,
        },
        active_tab="warehouse",
        status=status,
    )


@get("/warehouse/orders/{order_id:int}", include_in_schema=False)
async def order_page(
    request: Request, order_id: FromPath[int], warehouse: FromQuery[str | None] = None
) -> Template:
    return await _plan_page(request, order_id, _int(warehouse))


@post("/warehouse/orders/{order_id:int}", include_in_schema=False)
async def create(request: Request, order_id: FromPath[int], data: Form) -> Response:
    warehouse_id = _int(data.get("warehouse"))
    quantities = {
        key[4:]: value
        for key, value in data.items()
        if key.startswith("qty_") and key[4:].isdigit()
    }
    try:
        result = await shipments.create_shipment(
            request.user,
            order_id,
            warehouse_id=warehouse_id or 0,
            quantities=quantities,
            carrier=str(data.get("carrier") or ""),
            tracking_no=str(data.get("tracking_no") or ""),
        )
        sh = result.shipment
        if data.get("ship_now"):
            sh = await shipments.ship(request.user, sh.id)
    except ValidationFailed as exc:
        errs = _errors(exc)
        if not exc.errors:
            errs["lines"] = i18n.error_message(exc)
        return await _plan_page(
            request, order_id, warehouse_id, values=dict(data), errors=errs, status=422
        )
    message = (
        i18n.gettext("Shipment %(number)s shipped.", number=sh.number)
        if sh.status == "shipped"
        else i18n.gettext("Shipment %(number)s packed.", number=sh.number)
    )
    return flash(Redirect(f"/shipments/{sh.id}", status_code=303), "ok", [message])


@get("/stock", include_in_schema=False)
async def stock_page(
    request: Request,
    q: FromQuery[str | None] = None,
    under: FromQuery[str | None] = None,
    warehouse: FromQuery[str | None] = None,
) -> Template:
    return await _stock_page(request, q, under, warehouse)


async def _stock_page(
    request: Request,
    q: str | None,
    under: str | None,
    warehouse: str | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    query = (q or "").strip()[:60]
    rows = await stock.list_stock(
        request.user,
        q=query,
        under_safety=bool(under),
        warehouse_id=_int(warehouse),
        limit=STOCK_ROWS,
    )
    flash_data = take_flash(request)
    response = page(
        request,
        "warehouse/stock.html",
        {
            "rows": rows,
            "truncated": len(rows) >= STOCK_ROWS,
            "q": query,
            "under": bool(under),
            "warehouse": _int(warehouse),
            "reasons": stock.ADJUST_REASON_LABELS,
            "errors": errors or {},
            "values": values or {},
            "flash": flash_data,
        },
        fragment="warehouse/_stock_rows.html",
        active_tab="stock",
        status=status,
    )
    return clear_flash(response) if flash_data else response


@post("/stock/adjust", include_in_schema=False)
async def adjust(request: Request, data: Form) -> Response:
    q = str(data.get("q") or "")[:60]
    try:
        row = await stock.adjust_stock(
            request.user,
            warehouse_id=_int(data.get("warehouse_id")) or 0,
            sku_id=_int(data.get("sku_id")) or 0,
            reason=str(data.get("reason") or ""),
            qty=data.get("qty"),
            note=str(data.get("note") or ""),
        )
    except ValidationFailed as exc:
        errs = _errors(exc)
        errs["row"] = str(data.get("stock_level_id") or "")
        return await _stock_page(request, q, None, None, errors=errs, values=dict(data), status=422)
    message = i18n.gettext(
        "%(sku)s at %(warehouse)s: on hand %(on_hand)s, available %(available)s.",
        sku=row.sku_code,
        warehouse=row.warehouse_name,
        on_hand=row.on_hand,
        available=row.available,
    )
    target = f"/stock?q={row.sku_code}"
    return flash(Redirect(target, status_code=303), "ok", [message])


ROUTES = [queue, order_page, create, stock_page, adjust]
