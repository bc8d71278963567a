"""Warehouse pages on a phone: the to-ship queue, pick lists, packing a shipment, stock,
adjustments, transfers between warehouses, safety stock and the SKUs under it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from portal import i18n, pick_pdf
from portal.domain import orders, picking, returns, safety_stock, shipments, stock
from portal.domain.errors import Conflict, ValidationFailed, _
from portal.domain.scope import stock_warehouses
from portal.web.common import (
    Pager,
    clear_flash,
    field_errors,
    flash,
    is_htmx,
    page,
    take_flash,
)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
STOCK_PER_PAGE = 50
ALERTS_PER_PAGE = 50


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


@get("/warehouse", include_in_schema=False)
async def queue(request: Request) -> Template:
    items = await shipments.to_ship_queue(request.user)
    flash_data = take_flash(request)
    response = page(
        request,
        "warehouse/queue.html",
        {
            "items": items,
            "flash": flash_data,
            "status_labels": orders.STATUS_LABELS,
            "warehouses": await picking.picking_warehouses(request.user),
            # The filter offers paused warehouses too: they keep their stock.
            "filter_warehouses": await stock_warehouses(request.user),
            "under_safety": await safety_stock.count_under_safety(request.user),
            "returns_waiting": await returns.waiting_count(request.user),
        },
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
            "form_key": uuid.uuid4().hex,  # used unless a refused form brings its own
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
            # The form's one-time key: sent again (a second tap, a re-post after a timeout on
            # slow 4G) it packs, ships and invoices once.
            idempotency_key=str(data.get("idempotency_key") or "")[:100] or None,
        )
        sh = result.shipment
        # A replay (the form sent twice) shows what the first made: the first request ships
        # it, and a second ship() racing it would only be refused.
        if data.get("ship_now") and result.created and sh.status == "packed":
            sh = await shipments.ship(request.user, sh.id)
    except Conflict as exc:  # the same form sent again with other quantities
        values = {k: v for k, v in data.items() if k != "idempotency_key"}
        return await _plan_page(
            request,
            order_id,
            warehouse_id,
            values=values,
            errors={"lines": i18n.error_message(exc)},
            status=409,
        )
    except ValidationFailed as exc:
        errs = field_errors(exc)
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
    page_no: Annotated[str | None, QueryParameter(name="page")] = None,
) -> Template:
    return await _stock_page(request, q, under, warehouse, page_no)


async def _stock_page(
    request: Request,
    q: str | None,
    under: str | None,
    warehouse: str | None,
    page_no: str | None = None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    query = (q or "").strip()[:60]
    # Any ?warehouse= that is not a plain id (an empty choice: all of them) lists them all.
    warehouse_id = _int(warehouse) or None
    filters = {
        "q": query,
        "under": "1" if under else "",
        "warehouse": str(warehouse_id or ""),
    }
    total = await stock.count_stock(
        request.user, q=query, under_safety=bool(under), warehouse_id=warehouse_id
    )
    pager = Pager.of(page_no, total, STOCK_PER_PAGE, "/stock", **filters)
    rows = await stock.list_stock(
        request.user,
        q=query,
        under_safety=bool(under),
        warehouse_id=warehouse_id,
        limit=STOCK_PER_PAGE,
        offset=pager.offset(STOCK_PER_PAGE),
    )
    flash_data = take_flash(request)
    response = page(
        request,
        "warehouse/stock.html",
        {
            "rows": rows,
            "total": total,
            "pager": pager,
            "q": query,
            "under": bool(under),
            "warehouse": warehouse_id,
            "reasons": stock.ADJUST_REASON_LABELS,
            # The warehouse filter, and where stock may move to: the actor's own warehouses.
            "warehouses": await picking.picking_warehouses(request.user),
            # The filter offers paused warehouses too: they keep their stock.
            "filter_warehouses": await stock_warehouses(request.user),
            # One key per form on this page: a double tap or a resent form adjusts once.
            "adjust_key": uuid.uuid4().hex,
            "errors": errors or {},
            "values": values or {},
            "flash": flash_data,
            # A saved safety stock comes back to this page of this list.
            "next_url": pager.url(pager.page),
            "alert_count": 0
            if is_htmx(request)
            else await safety_stock.count_under_safety(request.user),
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
        sku_id = _int(data.get("sku_id")) or 0
        if not sku_id and "sku_code" in data:
            # The "receive a product" form: a SKU this list shows no row of, named by code.
            sku_id = await stock.sku_for_receipt(request.user, str(data.get("sku_code") or ""))
        row = await stock.adjust_stock(
            request.user,
            warehouse_id=_int(data.get("warehouse_id")) or 0,
            sku_id=sku_id,
            reason=str(data.get("reason") or ""),
            qty=data.get("qty"),
            note=str(data.get("note") or ""),
            idempotency_key=str(data.get("idempotency_key") or "")[:100] or None,
        )
    except Conflict as exc:  # the same form sent again with other figures
        target = f"/stock?{urlencode({'q': q})}" if q else "/stock"
        return flash(Redirect(target, status_code=303), "error", [i18n.error_message(exc)])
    except ValidationFailed as exc:
        errs = field_errors(exc)
        errs["row"] = str(data.get("stock_level_id") or "")
        return await _stock_page(request, q, None, None, errors=errs, values=dict(data), status=422)
    messages = [
        i18n.gettext(
            "%(sku)s at %(warehouse)s: on hand %(on_hand)s, available %(available)s.",
            sku=row.sku_code,
            warehouse=row.warehouse_name,
            on_hand=row.on_hand,
            available=row.available,
        )
    ]
    # Fewer on the shelf than orders held: say whose goods come from elsewhere, or wait.
    elsewhere = [g for g in row.gave_way if g.qty > g.waiting]
    waiting = [g for g in row.gave_way if g.waiting > 0]
    if elsewhere:
        messages.append(
            i18n.gettext(
                "%(qty)s %(unit)s of orders %(orders)s are now reserved at another warehouse.",
                qty=sum(g.qty - g.waiting for g in elsewhere),
                unit=row.unit,
                orders=", ".join(dict.fromkeys(g.order_number for g in elsewhere)),
            )
        )
    if waiting:
        messages.append(
            i18n.gettext(
                "%(qty)s %(unit)s of orders %(orders)s now wait for stock.",
                qty=sum(g.waiting for g in waiting),
                unit=row.unit,
                orders=", ".join(dict.fromkeys(g.order_number for g in waiting)),
            )
        )
    target = f"/stock?q={row.sku_code}"
    return flash(Redirect(target, status_code=303), "ok", messages)


@post("/stock/transfer", include_in_schema=False)
async def transfer(request: Request, data: Form) -> Response:
    q = str(data.get("q") or "")[:60]
    try:
        sent, received = await stock.transfer_stock(
            request.user,
            sku_id=_int(data.get("sku_id")) or 0,
            from_warehouse_id=_int(data.get("warehouse_id")) or 0,
            to_warehouse_id=_int(data.get("to_warehouse_id")) or 0,
            qty=data.get("qty"),
            note=str(data.get("note") or ""),
            idempotency_key=str(data.get("idempotency_key") or "")[:100] or None,
        )
    except Conflict as exc:  # the same form sent again with other figures
        target = f"/stock?{urlencode({'q': q})}" if q else "/stock"
        return flash(Redirect(target, status_code=303), "error", [i18n.error_message(exc)])
    except ValidationFailed as exc:
        errs = field_errors(exc)
        errs["row"] = str(data.get("stock_level_id") or "")
        errs["form"] = "transfer"
        return await _stock_page(request, q, None, None, errors=errs, values=dict(data), status=422)
    message = i18n.gettext(
        "%(sku)s moved: %(source)s available %(source_available)s, "
        "%(target)s available %(target_available)s.",
        sku=sent.sku_code,
        source=sent.warehouse_name,
        source_available=sent.available,
        target=received.warehouse_name,
        target_available=received.available,
    )
    return flash(Redirect(f"/stock?q={sent.sku_code}", status_code=303), "ok", [message])


def _ids(raw: list[str] | str | None) -> list[int]:
    """Order ids from repeated query parameters; anything not a plain id is ignored."""
    values = [raw] if isinstance(raw, str) else list(raw or [])
    return [i for i in (_int(v) for v in values[: picking.MAX_ORDERS + 1]) if i]


@get("/warehouse/pick-list", include_in_schema=False)
async def pick_list_page(
    request: Request,
    warehouse: FromQuery[str | None] = None,
    order: FromQuery[list[str] | None] = None,
    format: FromQuery[str | None] = None,
) -> Response:
    plist = await picking.pick_list(request.user, _int(warehouse), _ids(order))
    if format == "pdf":
        body = pick_pdf.pick_list(
            plist,
            gettext=i18n.gettext,
            format_datetime=i18n.local_datetime,
            generated_at=datetime.now(UTC),
        )
        return Response(
            content=body,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="pick-list-{plist.warehouse["code"]}.pdf"'
            },
        )
    return page(
        request,
        "warehouse/pick_list.html",
        {
            "plist": plist,
            "pdf_query": urlencode(
                [("warehouse", plist.warehouse["id"])]
                + [("order", oid) for oid in plist.chosen]
                + [("format", "pdf")]
            ),
        },
        active_tab="warehouse",
    )


@get("/stock/alerts", include_in_schema=False)
async def alerts_page(
    request: Request, page_no: Annotated[str | None, QueryParameter(name="page")] = None
) -> Template:
    total = await safety_stock.count_under_safety(request.user)
    pager = Pager.of(page_no, total, ALERTS_PER_PAGE, "/stock/alerts")
    levels = await safety_stock.under_safety(
        request.user, limit=ALERTS_PER_PAGE, offset=pager.offset(ALERTS_PER_PAGE)
    )
    flash_data = take_flash(request)
    # Warehouse staff and administrators change safety stock from here; the other staff
    # come from the reports and only read.
    can_set = safety_stock.may_set(request.user)
    response = page(
        request,
        "warehouse/alerts.html",
        {
            "levels": levels,
            "total": total,
            "pager": pager,
            "flash": flash_data,
            # A saved safety stock comes back to this page of the list.
            "next_url": pager.url(pager.page) if pager.page > 1 else "/stock/alerts",
            "can_set": can_set,
            "back": ("/warehouse", _("To ship")) if can_set else ("/reports", _("Reports")),
            "show_acting_banner": False,
        },
        active_tab="stock" if can_set else "reports",
    )
    return clear_flash(response) if flash_data else response


def _next(raw: Any, sku_code: str) -> str:
    """Where a saved form returns to: a stock page of this app, never another site."""
    target = str(raw or "").strip()
    if (
        target.startswith("/stock")
        and "//" not in target
        and "\\" not in target
        and len(target) < 200
    ):
        return target
    return f"/stock?q={sku_code}"


async def _safety_page(
    request: Request,
    sku_id: int,
    *,
    values: dict[str, Any] | None = None,
    error: str = "",
    saved: bool = False,
    next_url: str = "",
    status: int = 200,
) -> Template:
    safety_stock.require_safety_staff(request.user)  # the form to change it
    level = await safety_stock.get_safety_level(request.user, sku_id)
    return page(
        request,
        "warehouse/safety.html",
        {
            "s": level,
            "safety_value": (values or {}).get("safety_stock", level.safety_stock),
            "safety_error": error,
            "safety_saved": saved,
            "next_url": next_url or f"/stock?q={level.sku_code}",
        },
        fragment="warehouse/_safety_form.html",
        active_tab="stock",
        status=status,
    )


@get("/stock/{sku_id:int}/safety-stock", include_in_schema=False)
async def safety_page(
    request: Request, sku_id: FromPath[int], next: FromQuery[str | None] = None
) -> Template:
    return await _safety_page(request, sku_id, next_url=_next(next, "") if next else "")


@post("/stock/{sku_id:int}/safety-stock", include_in_schema=False)
async def set_safety(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    try:
        level = await safety_stock.set_safety_stock(request.user, sku_id, data.get("safety_stock"))
    except ValidationFailed as exc:
        errs = field_errors(exc)
        return await _safety_page(
            request,
            sku_id,
            values=dict(data),
            error=errs.get("safety_stock") or i18n.error_message(exc),
            next_url=str(data.get("next") or ""),
            status=422,
        )
    if is_htmx(request):
        # The form alone, saved: the rows around it keep their place on the page.
        return await _safety_page(request, sku_id, saved=True, next_url=str(data.get("next") or ""))
    message = i18n.gettext(
        "%(sku)s: safety stock %(qty)s %(unit)s.",
        sku=level.sku_code,
        qty=level.safety_stock,
        unit=level.unit,
    )
    target = _next(data.get("next"), level.sku_code)
    return flash(Redirect(target, status_code=303), "ok", [message])


ROUTES = [
    queue,
    order_page,
    create,
    pick_list_page,
    stock_page,
    adjust,
    transfer,
    alerts_page,
    safety_page,
    set_safety,
]
