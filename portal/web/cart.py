"""The cart page: steppers, quick order, ship-to and date, and submitting the order."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import cart, catalog, order_files, orders
from portal.domain.errors import (
    CreditExceeded,
    DomainError,
    FieldError,
    InsufficientStock,
    NotFound,
    PricesChanged,
    ValidationFailed,
    _,
)
from portal.domain.quantities import MAX_LINE_QTY, offers_pack_step, pack_step, parse_qty_unit
from portal.domain.scope import ordering_dealer
from portal.export import csv_bytes
from portal.http_files import upload_limits, uploaded_file
from portal.web.common import (
    acting_dealer_id,
    clear_flash,
    flash,
    is_htmx,
    page,
    take_flash,
)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

AVAILABILITY_LABELS = {
    "in_stock": _("In stock"),
    "low": _("Low stock"),
    "out": _("Out of stock"),
    "short": _("Not enough stock"),
    "unavailable": _("No longer available"),
}
MSG_BAD_QTY = _("Enter a whole number from 0 to %(max)s.")
MSG_BAD_DATE = _("Enter a date as YYYY-MM-DD.")
MSG_BAD_ADDRESS = _("Choose one of your addresses.")
MSG_NOTE_TOO_LONG = _("The note is too long (at most %(max)s characters).")
MSG_QUICK_EMPTY = _('Paste one line per product: SKU code and quantity, e.g. "A100 12".')
MSG_QUICK_TOO_LONG = _("The text is too long.")
MSG_BAD_KEY = _("The form has expired. Reload the page and try again.")
MAX_NOTE = 500
MAX_QUICK_TEXT = 20_000
DETAIL_FIELDS = ("address_id", "requested_date", "note")
_KEY = re.compile(r"^[A-Za-z0-9-]{8,100}$")


def _no_dealer(request: Request) -> Redirect | None:
    """Staff must pick a dealer before there is a cart to show."""
    if acting_dealer_id(request) is None:
        return Redirect("/dealers", status_code=303)
    return None


def _line_ui(line: Any) -> dict[str, Any]:
    """The stepper's target quantities for one line (the domain checks whatever is sent)."""
    step = max(1, int(line.order_multiple or 1))
    lower = line.qty - step
    if lower < max(1, int(line.moq or 1)):
        lower = 0  # below the minimum the line goes: "−" on the last step removes it
    ui = {
        "dec": max(0, lower),
        "inc": min(MAX_LINE_QTY, max(line.qty + step, int(line.moq or 1))),
        "availability": AVAILABILITY_LABELS.get(line.availability or "", ""),
    }
    pack = int(line.pack_factor or 0)
    if line.pack_name and offers_pack_step(pack, step):
        # "+1 箱": a step of the largest pack, as on the catalog's rows.
        first = catalog.first_qty(int(line.moq or 1), step)
        ui["pack_inc"] = min(
            MAX_LINE_QTY, pack_step(line.qty, pack, first=first, order_multiple=step)
        )
        ui["pack_label"] = i18n.gettext("+1 %(pack)s", pack=line.pack_name)
        ui["pack_size"] = i18n.gettext("= %(n)s %(pack)s", n=pack, pack=line.unit)
    return ui


def _context(
    view: Any,
    *,
    submit_error: str | None = None,
    submit_errors: list[FieldError] | None = None,
    short_skus: set[str] | None = None,
    quick_errors: list[FieldError] | None = None,
    quick_text: str = "",
    quick_added: int | None = None,
    details_errors: dict[str, str] | None = None,
    details_typed: dict[str, str] | None = None,
    line_errors: dict[int, str] | None = None,
    price_refused: dict[int, dict[str, str]] | None = None,
    flash_data: dict | None = None,
    details_saved: bool = False,
    cart_error: str | None = None,
) -> dict[str, Any]:
    # Quick order's example: lines of the cart as they would be typed ("BV-0021-1000-DT 24"),
    # else the shape of a line in words (made-up codes would be refused if typed).
    placeholder = (
        "\n".join(f"{line.code} {line.qty}" for line in view.lines[:2])
        if view.lines
        else i18n.gettext("SKU code and quantity, e.g. CODE 12")
    )
    return {
        "cart": view,
        "quick_placeholder": placeholder,
        "ui": {line.sku_id: _line_ui(line) for line in view.lines},
        "cart_count": view.count,
        # A fresh key each time the form is drawn: a double tap or a retry of this
        # form sends the same key and gets one order.
        "idempotency_key": uuid.uuid4().hex,
        "submit_error": submit_error,
        "submit_errors": submit_errors or [],
        "short_skus": short_skus or set(),
        "quick_errors": quick_errors or [],
        "quick_text": quick_text,
        "quick_added": quick_added,
        "details_errors": details_errors or {},
        "details_typed": details_typed,
        "line_errors": line_errors or {},
        # A refused price or percentage: the panel stays open with what was typed and why.
        "price_refused": price_refused or {},
        "flash": flash_data,
        "details_saved": details_saved,
        "cart_error": cart_error,
    }


def _render(
    request: Request,
    view: Any,
    *,
    status: int = 200,
    fragment: str = "cart/_body_response.html",
    **extra: Any,
) -> Template:
    return page(
        request,
        "cart/page.html",
        _context(view, **extra),
        fragment=fragment,
        active_tab="cart",
        status=status,
    )


def _back_to_cart(request: Request) -> Response:
    """After a plain form post: back to the cart page (POST-redirect-GET)."""
    return Redirect("/cart", status_code=303)


@get("/cart", include_in_schema=False)
async def cart_page(request: Request) -> Response:
    if (redirect := _no_dealer(request)) is not None:
        return redirect
    try:
        view = await cart.get_cart(request.user, acting_dealer_id(request))
    except NotFound:
        if request.user.is_dealer:
            raise
        # The chosen dealer is no longer in this rep's scope: choose again.
        return Redirect("/dealers", status_code=303)
    flash_data = take_flash(request)
    response = _render(request, view, flash_data=flash_data)
    return clear_flash(response) if flash_data else response


@post("/cart/lines/{sku_id:int}", include_in_schema=False)
async def set_line(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    if (redirect := _no_dealer(request)) is not None:
        return redirect
    actor, dealer_id = request.user, acting_dealer_id(request)
    raw = data.get("set")
    if raw is None or raw == "":
        raw = data.get("qty", "")
    if data.get("step") == "pack":
        # "+1 箱" adds a case to what the cart holds now (another tab may have changed it),
        # as the catalog row's does; a number the page was drawn with would undo that.
        current = await cart.get_cart(actor, dealer_id)
        line = next((ln for ln in current.lines if ln.sku_id == sku_id), None)
        if line is not None and line.pack_factor:
            step = max(1, int(line.order_multiple or 1))
            first = catalog.first_qty(int(line.moq or 1), step)
            raw = str(pack_step(line.qty, int(line.pack_factor), first=first, order_multiple=step))
    if "remove" in data:
        raw = "0"
    unit = str(data.get("unit") or "").strip()[:10] or None
    try:
        # "5箱", "5 箱" or "48瓶" as well as 48: the unit typed in the box wins over a unit
        # field; the domain converts it and names the SKU's units if it has no such unit.
        qty, typed_unit = parse_qty_unit(str(raw))
    except ValueError:
        view = await cart.get_cart(actor, dealer_id)
        message = i18n.gettext(MSG_BAD_QTY, max=i18n.number(MAX_LINE_QTY))
        return _line_response(request, view, sku_id, status=422, error=message)
    unit = typed_unit or unit
    try:
        view = await cart.set_qty(actor, dealer_id, sku_id, qty, unit=unit)
    except ValidationFailed as exc:
        view = await cart.get_cart(actor, dealer_id)
        message = "; ".join(i18n.field_message(e) for e in exc.errors) or i18n.error_message(exc)
        return _line_response(request, view, sku_id, status=422, error=message)
    if view is None:
        view = await cart.get_cart(actor, dealer_id)
    return _line_response(request, view, sku_id)


def _line_response(
    request: Request,
    view: Any,
    sku_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    price_refused: dict[str, str] | None = None,
) -> Response:
    """The changed line (htmx) or the cart. `price_refused`: a refused price form, as typed,
    with its "error": shown in the line's open discount panel rather than as a quantity's."""
    refused = {sku_id: price_refused} if price_refused else None
    if not is_htmx(request):
        if error is None and refused is None:
            return _back_to_cart(request)
        if not any(ln.sku_id == sku_id for ln in view.lines):
            message = error or (price_refused or {}).get("error")
            return _render(request, view, status=status, cart_error=message)
        return _render(
            request,
            view,
            status=status,
            line_errors={sku_id: error} if error else None,
            price_refused=refused,
        )
    if not view.lines:
        # The last line went: show the empty cart instead of an empty list.
        response = _render(request, view, status=status)
        response.headers.update({"HX-Retarget": "#cart-body", "HX-Reswap": "outerHTML"})
        return response
    # htmx: the changed line, with the totals and the badge swapped out of band.
    line = next((ln for ln in view.lines if ln.sku_id == sku_id), None)
    context = _context(view, line_errors={sku_id: error} if error else None, price_refused=refused)
    context["line"] = line
    return page(
        request,
        "cart/page.html",
        context,
        fragment="cart/_line_response.html",
        active_tab="cart",
        status=status,
    )


@post("/cart/details", include_in_schema=False)
async def save_details(request: Request, data: Form) -> Response:
    if (redirect := _no_dealer(request)) is not None:
        return redirect
    actor, dealer_id = request.user, acting_dealer_id(request)
    details, errors = _parse_details(data)
    fragment = "cart/_details.html"
    # A refusal shows the fields as typed (the note just written stays in its box), not the
    # cart's stored copy.
    typed = {
        "address_id": str(data.get("address_id") or "").strip(),
        "requested_date": str(data.get("requested_date") or "").strip()[:10],
        "note": str(data.get("note") or "")[: MAX_NOTE * 2],
    }
    if errors:
        view = await cart.get_cart(actor, dealer_id)
        return _render(
            request,
            view,
            status=422,
            fragment=fragment,
            details_errors=errors,
            details_typed=typed,
        )
    try:
        view = await cart.update_details(actor, dealer_id, **details)
    except ValidationFailed as exc:
        view = await cart.get_cart(actor, dealer_id)
        return _render(
            request,
            view,
            status=422,
            fragment=fragment,
            details_errors=_details_errors(exc),
            details_typed=typed,
        )
    if not is_htmx(request):
        return _back_to_cart(request)
    if view is None:
        view = await cart.get_cart(actor, dealer_id)
    return _render(request, view, fragment=fragment, details_saved=True)


def _parse_details(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    raw_address = str(data.get("address_id") or "").strip()
    address_id = None
    if raw_address:
        if raw_address.isdigit() and len(raw_address) < 12:
            address_id = int(raw_address)
        else:
            errors["address_id"] = i18n.gettext(MSG_BAD_ADDRESS)
    raw_date = str(data.get("requested_date") or "").strip()
    requested = None
    if raw_date:
        try:
            requested = date.fromisoformat(raw_date)
        except ValueError:
            errors["requested_date"] = i18n.gettext(MSG_BAD_DATE)
        if requested is not None and len(raw_date) != 10:
            errors["requested_date"] = i18n.gettext(MSG_BAD_DATE)
    note = str(data.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        errors["note"] = i18n.gettext(MSG_NOTE_TOO_LONG, max=MAX_NOTE)
    return {"address_id": address_id, "requested_date": requested, "note": note}, errors


def _details_errors(exc: DomainError) -> dict[str, str]:
    errors = {e.field: i18n.field_message(e) for e in exc.errors}
    if not errors:
        errors["details"] = i18n.error_message(exc)
    return errors


@post("/cart/quick", include_in_schema=False)
async def quick_order(request: Request, data: Form) -> Response:
    if (redirect := _no_dealer(request)) is not None:
        return redirect
    actor, dealer_id = request.user, acting_dealer_id(request)
    text = str(data.get("text") or "")
    if len(text) > MAX_QUICK_TEXT or not text.strip():
        view = await cart.get_cart(actor, dealer_id)
        msgid = MSG_QUICK_TOO_LONG if text.strip() else MSG_QUICK_EMPTY
        return _render(
            request,
            view,
            status=422,
            quick_errors=[FieldError("text", msgid)],
            quick_text=text[:MAX_QUICK_TEXT],
        )
    return await _quick_add(request, text)


@post("/cart/upload", include_in_schema=False, **upload_limits(order_files.MAX_FILE_BYTES))
async def upload_order_file(request: Request) -> Response:
    """A CSV or Excel file of "SKU code, quantity, unit" rows into the cart, as a quick order
    (row N of the file is line N of the messages)."""
    if (redirect := _no_dealer(request)) is not None:
        return redirect
    name, data = await uploaded_file(request, order_files.MAX_FILE_BYTES)
    try:
        text = order_files.quick_order_text(name, data)
    except ValidationFailed as exc:
        view = await cart.get_cart(request.user, acting_dealer_id(request))
        return _render(request, view, status=422, quick_errors=exc.errors)
    return await _quick_add(request, text)


async def _quick_add(request: Request, text: str) -> Response:
    """Add quick-order lines to the cart: back to the cart, or the cart with what failed (and
    nothing added: the text stays in the box to be fixed and sent again)."""
    actor, dealer_id = request.user, acting_dealer_id(request)
    before = await cart.get_cart(actor, dealer_id)
    view, errors = await cart.quick_add(actor, dealer_id, text)
    if not errors and not is_htmx(request):
        return _back_to_cart(request)
    return _render(
        request,
        view,
        status=422 if errors else 200,
        quick_errors=errors,
        quick_text=text if errors else "",
        quick_added=0 if errors else _count_added(before, view),
    )


def _count_added(before: Any, after: Any) -> int:
    old = {ln.sku_id: ln.qty for ln in before.lines}
    return sum(1 for ln in after.lines if old.get(ln.sku_id) != ln.qty)


@post("/cart/submit", include_in_schema=False)
async def submit(request: Request, data: Form) -> Response:
    if (redirect := _no_dealer(request)) is not None:
        return redirect
    actor, dealer_id = request.user, acting_dealer_id(request)
    key = str(data.get("idempotency_key") or "")
    if not _KEY.match(key):
        view = await cart.get_cart(actor, dealer_id)
        return _render(request, view, status=400, submit_error=i18n.gettext(MSG_BAD_KEY))
    if any(name in data for name in DETAIL_FIELDS):
        # The ship-to, date and note sit in the submit form so a plain (no-JS) post keeps
        # them; they are saved to the cart first (with htmx they were saved on change).
        details, errors = _parse_details(data)
        if errors:
            view = await cart.get_cart(actor, dealer_id)
            return _render(request, view, status=422, details_errors=errors)
        try:
            await cart.update_details(actor, dealer_id, **details)
        except ValidationFailed as exc:
            view = await cart.get_cart(actor, dealer_id)
            return _render(request, view, status=422, details_errors=_details_errors(exc))
    shown = str(data.get("expected_total") or "").strip()
    try:
        result = await orders.submit_cart(
            actor,
            dealer_id,
            idempotency_key=key,
            stock_defaults=request.app.state.supplier_defaults,
            # The total on the button the buyer tapped (a form without it: not checked).
            expected_total_fen=int(shown) if shown.isdigit() and len(shown) < 16 else None,
        )
    except (CreditExceeded, InsufficientStock, ValidationFailed, PricesChanged) as exc:
        view = await cart.get_cart(actor, dealer_id)
        short = {str(e.params.get("sku")) for e in exc.errors if e.params.get("sku")}
        return _render(
            request,
            view,
            status=exc.status,
            submit_error=i18n.error_message(exc),
            submit_errors=exc.errors,
            # A credit refusal names the short lines too, when there are any.
            short_skus=short if isinstance(exc, (InsufficientStock, CreditExceeded)) else set(),
        )
    target = f"/orders/{result.order.id}"
    response: Response
    if is_htmx(request):
        response = Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    else:
        response = Redirect(target, status_code=303)
    message = i18n.gettext("Order %(number)s has been placed.", number=result.order.number)
    waiting = result.order.backordered_lines
    if waiting:
        # Short of stock on SKUs that allow it: say which lines wait, and how much.
        messages = [message, i18n.gettext("Backordered (reserved as stock arrives):")]
        messages += [
            i18n.gettext(
                "%(sku)s %(name)s: %(qty)s %(unit)s backordered",
                sku=ln.sku_code,
                name=ln.sku_name,
                qty=ln.qty_backordered,
                unit=ln.unit,
            )
            for ln in waiting
        ]
        return flash(response, "warn", messages)
    return flash(response, "ok", [message])


@get("/cart/order-sample.csv", include_in_schema=False)
async def order_sample(request: Request) -> Response:
    """A sample order file with codes the dealer can order (a static sample's made-up codes
    would be refused when uploaded): a few SKUs of its catalog, one in its pack unit."""
    if (redirect := _no_dealer(request)) is not None:
        return redirect
    # Who may order for which dealer (Forbidden for a role that does not order), without
    # reading the cart the sample has nothing to do with.
    dealer = await ordering_dealer(request.user, acting_dealer_id(request))
    found = await catalog.search(request.user, dealer, in_stock=True, per_page=3)
    rows: list[list[Any]] = []
    for n, item in enumerate(found.items):
        if (
            n == 1
            and item.pack_name
            and item.pack_factor
            and offers_pack_step(item.pack_factor, item.order_multiple)
        ):
            rows.append([item.code, 1, item.pack_name])
        else:
            rows.append([item.code, item.first_qty, ""])
    body = csv_bytes([i18n.gettext("SKU"), i18n.gettext("Quantity"), i18n.gettext("Unit")], rows)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="order-sample.csv"'},
    )


ROUTES = [cart_page, set_line, save_details, quick_order, upload_order_file, submit, order_sample]
