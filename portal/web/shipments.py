"""Shipment pages: the shipment (staff ship it, the dealer confirms receipt), its PDF, the
list of an order's shipments and returns on the order page, and return (RMA) pages."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n, pdf
from portal.domain import returns, shipments
from portal.domain.errors import Conflict, InsufficientStock, ValidationFailed
from portal.web.common import clear_flash, flash, page, take_flash

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _tab(request: Request) -> str:
    return "warehouse" if request.user.role in shipments.WAREHOUSE_ROLES else "orders"


async def _page(
    request: Request,
    shipment_id: int,
    *,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    view = await shipments.get_shipment(request.user, shipment_id)
    flash_data = take_flash(request)
    response = page(
        request,
        "shipments/page.html",
        {
            "shipment": view,
            "flash": flash_data,
            "error": error,
            "values": values or {},
        },
        active_tab=_tab(request),
        status=status,
    )
    return clear_flash(response) if flash_data else response


def _message(exc: ValidationFailed | Conflict | InsufficientStock) -> str:
    return "; ".join(i18n.field_message(e) for e in exc.errors) or i18n.error_message(exc)


@get("/shipments/{shipment_id:int}", include_in_schema=False)
async def shipment_page(request: Request, shipment_id: FromPath[int]) -> Template:
    return await _page(request, shipment_id)


@post("/shipments/{shipment_id:int}/ship", include_in_schema=False)
async def ship(request: Request, shipment_id: FromPath[int], data: Form) -> Response:
    try:
        view = await shipments.ship(
            request.user,
            shipment_id,
            carrier=str(data.get("carrier") or ""),
            tracking_no=str(data.get("tracking_no") or ""),
        )
    except (ValidationFailed, Conflict, InsufficientStock) as exc:
        return await _page(
            request, shipment_id, error=_message(exc), values=dict(data), status=exc.status
        )
    message = i18n.gettext("Shipment %(number)s shipped.", number=view.number)
    return flash(Redirect(f"/shipments/{shipment_id}", status_code=303), "ok", [message])


@post("/shipments/{shipment_id:int}/cancel", include_in_schema=False)
async def cancel(request: Request, shipment_id: FromPath[int]) -> Response:
    try:
        view = await shipments.cancel_shipment(request.user, shipment_id)
    except Conflict as exc:
        return await _page(request, shipment_id, error=_message(exc), status=exc.status)
    message = i18n.gettext("Shipment %(number)s cancelled.", number=view.number)
    return flash(Redirect(f"/warehouse/orders/{view.order_id}", status_code=303), "ok", [message])


@post("/shipments/{shipment_id:int}/receipt", include_in_schema=False)
async def receipt(request: Request, shipment_id: FromPath[int], data: Form) -> Response:
    try:
        view = await shipments.confirm_receipt(
            request.user,
            shipment_id,
            discrepancy=bool(data.get("discrepancy")),
            note=str(data.get("note") or "")[:2000],
        )
    except (ValidationFailed, Conflict) as exc:
        return await _page(
            request, shipment_id, error=_message(exc), values=dict(data), status=exc.status
        )
    message = (
        i18n.gettext("Receipt recorded with your note.")
        if view.discrepancy
        else i18n.gettext("Receipt confirmed. Thank you.")
    )
    return flash(Redirect(f"/shipments/{shipment_id}", status_code=303), "ok", [message])


@get("/shipments/{shipment_id:int}/delivery-note.pdf", include_in_schema=False)
async def delivery_note(request: Request, shipment_id: FromPath[int]) -> Response:
    view = await shipments.get_shipment(request.user, shipment_id)
    url = str(request.base_url).rstrip("/") + f"/shipments/{view.id}"
    body = pdf.delivery_note(
        view, url=url, gettext=i18n.gettext, format_datetime=i18n.local_datetime
    )
    return Response(
        content=body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{view.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@get("/orders/{order_id:int}/shipments", include_in_schema=False)
async def order_shipments(request: Request, order_id: FromPath[int]) -> Template:
    """The order page's shipment list (loaded into the page by htmx)."""
    items = await shipments.list_for_order(request.user, order_id)
    rmas = await returns.list_for_order(request.user, order_id)
    can_return = request.user.is_dealer and any(s.status in ("shipped", "received") for s in items)
    return page(
        request,
        "orders/_shipments.html",
        {
            "shipments": items,
            "returns": rmas,
            "order_id": order_id,
            "can_return": can_return,
            "loaded": True,
        },
        fragment="orders/_shipments.html",
        active_tab="orders",
    )


# --- returns (RMA) ---------------------------------------------------------------------------


async def _return_form(
    request: Request,
    order_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    lines = await returns.returnable_lines(request.user, order_id)
    return page(
        request,
        "shipments/return_new.html",
        {"order_id": order_id, "lines": lines, "errors": errors or {}, "values": values or {}},
        active_tab="orders",
        status=status,
    )


def _errors(exc: ValidationFailed | Conflict) -> dict[str, str]:
    errs = {e.field: i18n.field_message(e) for e in exc.errors}
    if not errs:
        errs["form"] = i18n.error_message(exc)
    return errs


def _quantities(data: dict[str, Any]) -> dict[str, Any]:
    return {k[4:]: v for k, v in data.items() if k.startswith("qty_") and k[4:].isdigit()}


@get("/orders/{order_id:int}/returns/new", include_in_schema=False)
async def return_new(request: Request, order_id: FromPath[int]) -> Template:
    return await _return_form(request, order_id)


@post("/orders/{order_id:int}/returns", include_in_schema=False)
async def return_create(request: Request, order_id: FromPath[int], data: Form) -> Response:
    try:
        view = await returns.request_return(
            request.user,
            order_id,
            quantities=_quantities(data),
            reason=str(data.get("reason") or "")[:2000],
        )
    except (ValidationFailed, Conflict) as exc:
        return await _return_form(
            request, order_id, errors=_errors(exc), values=dict(data), status=exc.status
        )
    message = i18n.gettext("Return %(number)s requested.", number=view.number)
    return flash(Redirect(f"/returns/{view.id}", status_code=303), "ok", [message])


async def _return_page(
    request: Request,
    return_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    view = await returns.get_return(request.user, return_id)
    warehouses = await returns.receiving_warehouses(request.user) if view.can_receive else []
    flash_data = take_flash(request)
    response = page(
        request,
        "shipments/return_page.html",
        {
            "rma": view,
            "warehouses": warehouses,
            "errors": errors or {},
            "values": values or {},
            "flash": flash_data,
        },
        active_tab=_tab(request),
        status=status,
    )
    return clear_flash(response) if flash_data else response


@get("/returns/{return_id:int}", include_in_schema=False)
async def return_page(request: Request, return_id: FromPath[int]) -> Template:
    return await _return_page(request, return_id)


@post("/returns/{return_id:int}/decision", include_in_schema=False)
async def return_decision(request: Request, return_id: FromPath[int], data: Form) -> Response:
    try:
        await returns.decide_return(
            request.user,
            return_id,
            approve=data.get("decision") == "approve",
            note=str(data.get("note") or "")[:2000],
        )
    except (ValidationFailed, Conflict) as exc:
        return await _return_page(
            request, return_id, errors=_errors(exc), values=dict(data), status=exc.status
        )
    return flash(Redirect(f"/returns/{return_id}", status_code=303), "ok", [i18n.gettext("Saved.")])


@post("/returns/{return_id:int}/receive", include_in_schema=False)
async def return_receive(request: Request, return_id: FromPath[int], data: Form) -> Response:
    warehouse = str(data.get("warehouse") or "")
    try:
        await returns.receive_return(
            request.user,
            return_id,
            warehouse_id=int(warehouse) if warehouse.isdigit() and len(warehouse) < 10 else 0,
            accepted=_quantities(data),
            note=str(data.get("note") or "")[:2000],
        )
    except (ValidationFailed, Conflict) as exc:
        return await _return_page(
            request, return_id, errors=_errors(exc), values=dict(data), status=exc.status
        )
    return flash(Redirect(f"/returns/{return_id}", status_code=303), "ok", [i18n.gettext("Saved.")])


ROUTES = [
    shipment_page,
    ship,
    cancel,
    receipt,
    delivery_note,
    order_shipments,
    return_new,
    return_create,
    return_page,
    return_decision,
    return_receive,
]
