"""Shipment pages: the shipment (staff ship it, the dealer confirms receipt), its PDF, the
list of an order's shipments and returns on the order page, and return (RMA) pages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import photos, returns, shipments
from portal.domain.errors import Conflict, FieldError, InsufficientStock, ValidationFailed, _
from portal.export import delivery_note_document
from portal.http_files import document_response, page_address, supplier_now
from portal.web.common import Pager, clear_flash, flash, page, take_flash

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


@post("/shipments/{shipment_id:int}/tracking", include_in_schema=False)
async def correct_tracking(request: Request, shipment_id: FromPath[int], data: Form) -> Response:
    """Warehouse staff correct the carrier and tracking number of a parcel on its way: the
    form sends both as they should read (a field left empty is cleared, one not sent stays)."""
    try:
        view = await shipments.correct_tracking(
            request.user,
            shipment_id,
            carrier=None if data.get("carrier") is None else str(data["carrier"]),
            tracking_no=None if data.get("tracking_no") is None else str(data["tracking_no"]),
        )
    except (ValidationFailed, Conflict) as exc:
        values = {**dict(data), "correcting": "1"}
        return await _page(
            request, shipment_id, error=_message(exc), values=values, status=exc.status
        )
    message = i18n.gettext(
        "Shipment %(number)s: carrier and tracking number saved.", number=view.number
    )
    return flash(Redirect(f"/shipments/{shipment_id}", status_code=303), "ok", [message])


@post("/shipments/{shipment_id:int}/deliver", include_in_schema=False)
async def deliver(request: Request, shipment_id: FromPath[int]) -> Response:
    try:
        view = await shipments.mark_delivered(request.user, shipment_id)
    except Conflict as exc:
        return await _page(request, shipment_id, error=_message(exc), status=exc.status)
    message = i18n.gettext("Shipment %(number)s marked delivered.", number=view.number)
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
    view = await shipments.printable_shipment(request.user, shipment_id)
    page_url = page_address(request, f"/shipments/{view.id}")
    doc = delivery_note_document(view, page_url=page_url, issuer=await supplier_now(request))
    return document_response(doc)


@get("/orders/{order_id:int}/shipments", include_in_schema=False)
async def order_shipments(request: Request, order_id: FromPath[int]) -> Template:
    """The order page's shipment list (loaded into the page by htmx)."""
    items = await shipments.list_for_order(request.user, order_id)
    rmas = await returns.list_for_order(request.user, order_id)
    # Only while something shipped is still there to ask back (not all of it asked already).
    can_return = (
        request.user.is_dealer
        and any(s.status in ("shipped", "delivered", "received") for s in items)
        and any(qty > 0 for qty in (await returns.returnable(order_id)).values())
    )
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

PHOTO_LIMITS = {"max_photos": returns.MAX_PHOTOS, "max_mb": photos.MAX_BYTES // (1024 * 1024)}


def photos_too_large(request: Request, exc: Exception) -> Response:
    """A body over the upload limit is refused before any handler runs: say why in words."""
    from portal.app import render_domain_error

    message = _("The photos are too large together: at most %(max)s photos of %(mb)s MB each.")
    params = {"max": PHOTO_LIMITS["max_photos"], "mb": PHOTO_LIMITS["max_mb"]}
    refused = ValidationFailed(message, params, errors=[FieldError("photos", message, params)])
    refused.status = 413
    return render_domain_error(request, refused)


# Upload routes take a larger body than the app's default, and explain a body over it.
UPLOAD_LIMITS: dict[str, Any] = {
    "request_max_body_size": returns.PHOTO_UPLOAD_BODY_BYTES,
    "exception_handlers": {413: photos_too_large},
}


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
        {
            "order_id": order_id,
            "lines": lines,
            # Nothing shipped yet, or all of it asked back already: no form to fill in vain.
            "nothing_to_return": not any(ln.returnable > 0 for ln in lines),
            # A double tap or a resend on a slow connection asks for one return, not two.
            "idempotency_key": str((values or {}).get("idempotency_key") or uuid.uuid4().hex),
            "errors": errors or {},
            "values": values or {},
            **PHOTO_LIMITS,
        },
        active_tab="orders",
        status=status,
    )


def _errors(exc: ValidationFailed | Conflict) -> dict[str, str]:
    errs: dict[str, str] = {}
    for e in exc.errors:
        # Several photos may be refused at once: each says which file and why.
        message = i18n.field_message(e)
        errs[e.field] = f"{errs[e.field]} {message}" if e.field in errs else message
    if not errs:
        errs["form"] = i18n.error_message(exc)
    return errs


def _quantities(data: dict[str, Any]) -> dict[str, Any]:
    return {k[4:]: v for k, v in data.items() if k.startswith("qty_") and k[4:].isdigit()}


async def _form(request: Request) -> tuple[dict[str, str], list[photos.Upload]]:
    """A plain or multipart form: its text fields, and the files chosen as `photos`.

    A file input left empty arrives as an empty text field, not as a file: it is no upload.
    """
    form = await request.form()
    values: dict[str, str] = {}
    uploads: list[photos.Upload] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "photos":
                uploads.append(photos.Upload(value.filename or "", await value.read()))
            await value.close()
        elif key not in values:
            values[key] = str(value)
    return values, uploads


@get("/orders/{order_id:int}/returns/new", include_in_schema=False)
async def return_new(request: Request, order_id: FromPath[int]) -> Template:
    return await _return_form(request, order_id)


@post(
    "/orders/{order_id:int}/returns",
    include_in_schema=False,
    **UPLOAD_LIMITS,
)
async def return_create(request: Request, order_id: FromPath[int]) -> Response:
    data, uploads = await _form(request)
    try:
        key = str(data.get("idempotency_key") or "")
        if key:
            view, _created = await returns.request_return_once(
                request.user,
                order_id,
                quantities=_quantities(data),
                reason=str(data.get("reason") or "")[:2000],
                uploads=uploads,
                idempotency_key=key,
            )
        else:  # a form from before the key (a page kept open across an update)
            view = await returns.request_return(
                request.user,
                order_id,
                quantities=_quantities(data),
                reason=str(data.get("reason") or "")[:2000],
                uploads=uploads,
            )
    except (ValidationFailed, Conflict) as exc:
        # A browser cannot put files back into a form: say so when some were sent.
        values = {**data, "photos_sent": "1" if uploads else ""}
        return await _return_form(
            request, order_id, errors=_errors(exc), values=values, status=exc.status
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
    warehouses = await returns.receiving_warehouses(request.user, view) if view.can_receive else []
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
            **PHOTO_LIMITS,
        },
        active_tab=_tab(request),
        status=status,
    )
    return clear_flash(response) if flash_data else response


# The list's tabs: what waits for a decision, what waits for the warehouse, everything.
RETURN_FILTERS = (
    ("requested", _("Waiting for a decision")),
    ("approved", _("Waiting to be received")),
    ("", _("All")),
)


RETURNS_PER_PAGE = 50


@get("/returns", include_in_schema=False)
async def return_list(
    request: Request,
    status: FromQuery[str | None] = None,
    page_no: Annotated[str | None, QueryParameter(name="page")] = None,
) -> Template:
    actor = request.user
    # Each role starts where its work is: deciding staff at requests, the warehouse at
    # what it receives, dealers at all of theirs.
    default = (
        "requested"
        if actor.role in returns.DECIDING_ROLES
        else "approved"
        if actor.role in returns.RECEIVING_ROLES
        else ""
    )
    chosen = default if status is None else status.strip()
    chosen = "" if chosen == "all" else chosen  # "all": every state (kept across pages)
    bad = chosen not in returns.STATUS_LABELS and chosen != ""
    if bad:  # as the orders page: say so, and show them all
        chosen = ""
    total = await returns.count_returns(actor, chosen or None)
    pager = Pager.of(page_no, total, RETURNS_PER_PAGE, "/returns", status=chosen or "all")
    return page(
        request,
        "shipments/return_list.html",
        {
            "pager": pager,
            "found": await returns.list_returns(
                actor,
                chosen or None,
                limit=RETURNS_PER_PAGE,
                offset=pager.offset(RETURNS_PER_PAGE),
            ),
            "status": chosen,
            "filters": RETURN_FILTERS,
            "bad_status": bad,
            "status_labels": returns.STATUS_LABELS,
        },
        active_tab=_tab(request),
    )


@get("/returns/{return_id:int}", include_in_schema=False)
async def return_page(request: Request, return_id: FromPath[int]) -> Template:
    return await _return_page(request, return_id)


@post("/returns/{return_id:int}/decision", include_in_schema=False)
async def return_decision(request: Request, return_id: FromPath[int], data: Form) -> Response:
    try:
        view = await returns.decide_return(
            request.user,
            return_id,
            approve=data.get("decision") == "approve",
            note=str(data.get("note") or "")[:2000],
        )
    except (ValidationFailed, Conflict) as exc:
        return await _return_page(
            request, return_id, errors=_errors(exc), values=dict(data), status=exc.status
        )
    # Say what was decided ("Saved." did not tell an approver which button had been taken).
    done = (
        i18n.gettext(
            "Return %(number)s approved: the warehouse receives it next.", number=view.number
        )
        if view.status == "approved"
        else i18n.gettext("Return %(number)s rejected.", number=view.number)
    )
    return flash(Redirect(f"/returns/{return_id}", status_code=303), "ok", [done])


@post("/returns/{return_id:int}/receive", include_in_schema=False)
async def return_receive(request: Request, return_id: FromPath[int], data: Form) -> Response:
    warehouse = str(data.get("warehouse") or "")
    try:
        view = await returns.receive_return(
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
    done = (
        i18n.gettext(
            "Return %(number)s received: %(credit)s credited to the dealer.",
            number=view.number,
            credit=i18n.money(view.credit_fen),
        )
        if view.credit_fen
        else i18n.gettext(
            "Return %(number)s received: nothing accepted, nothing credited.", number=view.number
        )
    )
    return flash(Redirect(f"/returns/{return_id}", status_code=303), "ok", [done])


@post(
    "/returns/{return_id:int}/photos",
    include_in_schema=False,
    **UPLOAD_LIMITS,
)
async def return_photos_add(request: Request, return_id: FromPath[int]) -> Response:
    data, uploads = await _form(request)
    try:
        view = await returns.add_photos(request.user, return_id, uploads)
    except (ValidationFailed, Conflict) as exc:
        return await _return_page(
            request, return_id, errors=_errors(exc), values=data, status=exc.status
        )
    message = i18n.ngettext(
        "%(num)s photo added.", "%(num)s photos added.", len(uploads), num=len(uploads)
    )
    return flash(Redirect(f"/returns/{view.id}", status_code=303), "ok", [message])


def photo_response(photo: returns.PhotoFile, name: str) -> Response:
    """A stored photo: private to this user's browser, never sniffed as anything else."""
    return Response(
        content=photo.data,
        media_type=photo.content_type,
        headers={
            # A photo never changes under its id; only the viewer's own browser keeps it.
            "Cache-Control": "private, max-age=86400",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{name}"',
        },
    )


@get("/returns/{return_id:int}/photos/{photo_id:int}", include_in_schema=False)
async def return_photo(
    request: Request,
    return_id: FromPath[int],
    photo_id: FromPath[int],
    size: Annotated[str | None, QueryParameter(name="size", max_length=10)] = None,
) -> Response:
    photo = await returns.get_photo(request.user, return_id, photo_id, thumbnail=size == "thumb")
    ext = photos.EXTENSIONS.get(photo.content_type, "bin")
    return photo_response(photo, f"return-{return_id}-{photo_id}.{ext}")


ROUTES = [
    return_list,
    shipment_page,
    ship,
    correct_tracking,
    deliver,
    cancel,
    receipt,
    delivery_note,
    order_shipments,
    return_new,
    return_create,
    return_page,
    return_decision,
    return_receive,
    return_photos_add,
    return_photo,
]
