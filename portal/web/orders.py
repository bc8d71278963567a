"""My orders: the list with state filters, an order's detail and timeline, cancel and reorder."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import cart, margins, orders, returns, shipments, stock, visit
from portal.domain.errors import Conflict, FieldError, NotFound, ValidationFailed, _
from portal.domain.money import from_fen
from portal.domain.scope import ACCOUNT_BLIND_ROLES, dealer_in_scope
from portal.export import table_document
from portal.http_files import document_response
from portal.web.common import (
    ACTING_DEALER_COOKIE,
    clear_flash,
    flash,
    is_htmx,
    page,
    take_flash,
)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
PER_PAGE = 20
MAX_PAGE = 10_000
MAX_REASON = orders.MAX_NOTE
# The chips above the list: "all", the orders with a parcel to confirm, then every state.
FILTERS = [("", _("All")), (orders.TO_RECEIVE, _("To confirm receipt"))] + [
    (s, orders.STATUS_LABELS[s]) for s in orders.STATUSES
]


# Every kind of timeline entry, whichever area wrote it.
EVENT_LABELS = {**orders.EVENT_LABELS, **shipments.EVENT_LABELS, **returns.EVENT_LABELS}


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


def _detail_context(view: orders.OrderView, actor: Any, **extra: Any) -> dict[str, Any]:
    return {
        "order": view,
        "status_labels": orders.STATUS_LABELS,
        "event_labels": EVENT_LABELS,
        "closing_roles": orders.CANCELLING_STAFF,
        # Reordering needs a role that orders and a dealer not paused; the domain checks
        # both again.
        "can_reorder": actor.can_order and view.dealer_active,
        **extra,
    }


@get("/orders", include_in_schema=False)
async def order_list(
    request: Request,
    status: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    page_no: Annotated[str | None, QueryParameter(name="page")] = None,
    dealer_id: FromQuery[str | None] = None,
) -> Template:
    chosen = status if status in orders.ORDER_FILTERS else ""
    query = (q or "").strip()[:30]
    number = _page_number(page_no)
    dealer = await _dealer_filter(request, dealer_id)
    result = await orders.list_orders(
        request.user,
        status=chosen or None,
        dealer_id=dealer["id"] if dealer else None,
        q=query or None,
        page=number,
        per_page=PER_PAGE,
    )
    context = {
        "result": result,
        "status": chosen,
        "q": query,
        "dealer": dealer,
        # Kept on every link of the list (states, more, export) while the dealer is chosen.
        "dq": f"&dealer_id={dealer['id']}" if dealer else "",
        "filters": FILTERS,
        "status_labels": orders.STATUS_LABELS,
        "bad_status": bool(status) and not chosen,
        "can_see_backorders": stock.may_see_backorders(request.user),
    }
    fragment = "orders/_rows.html" if number > 1 else "orders/_list.html"
    return page(
        request,
        "orders/list.html",
        context,
        fragment=fragment,
        active_tab="orders",
        status=400 if context["bad_status"] else 200,
    )


async def _dealer_filter(request: Request, raw: str | None) -> dict | None:
    """?dealer_id=N on the orders list: staff see one dealer's orders (the rep's way from a
    dealer's card to its whole history). A dealer's own people see only theirs anyway; an id
    the staff member may not see is NotFound, as everywhere."""
    text = (raw or "").strip()
    if not text or request.user.is_dealer:
        return None
    if not text.isdigit() or len(text) > 10:
        raise NotFound(_("Dealer not found."))
    return await dealer_in_scope(request.user, int(text))


@get("/orders/export", include_in_schema=False)
async def order_export(
    request: Request,
    status: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    fmt: Annotated[str | None, QueryParameter(name="format")] = None,
    dealer_id: FromQuery[str | None] = None,
) -> Response:
    """The orders the list shows (its state, dealer and search), every page of them, as CSV
    or Excel."""
    if fmt not in (None, "csv", "xlsx"):
        raise ValidationFailed(
            _("Choose CSV or Excel."), errors=[FieldError("format", _("Choose CSV or Excel."))]
        )
    # An unknown state is the domain's validation error, said on an error page.
    dealer = await _dealer_filter(request, dealer_id)
    found = await orders.export_orders(
        request.user,
        status=status or None,
        q=(q or "").strip()[:30] or None,
        dealer_id=dealer["id"] if dealer else None,
    )
    kind = fmt or "csv"
    headers = [
        i18n.gettext(_("Order number")),
        i18n.gettext(_("Placed at")),
        i18n.gettext(_("Dealer")),
        i18n.gettext(_("State")),
        i18n.gettext(_("Line count")),
        i18n.gettext(_("Total")),
        i18n.gettext(_("Placed by")),
        i18n.gettext(_("Sales rep")),
    ]
    rows = [
        [
            o.number,
            o.created_at,  # a date cell in Excel (sorts and filters as one), Shanghai time
            o.dealer_name,
            i18n.gettext(orders.STATUS_LABELS.get(o.status, o.status)),
            o.line_count,
            from_fen(o.total_fen),
            o.placed_by_name,
            o.rep_name,
        ]
        for o in found
    ]
    doc = table_document(
        "orders", i18n.gettext(_("Orders")), headers, rows, kind, money_columns=frozenset({5})
    )
    return document_response(doc)


@get("/orders/{order_id:int}", include_in_schema=False)
async def order_detail(request: Request, order_id: FromPath[int]) -> Template:
    actor = request.user
    view = await orders.get_order(actor, order_id)
    flash_data = take_flash(request)
    # Staff who see dealers' accounts read the dealer's credit and recent orders beside the
    # order (an approver decides with them: DESIGN, Approvals).
    account = None
    if actor.is_staff and actor.role not in ACCOUNT_BLIND_ROLES:
        account = await visit.dealer_account(actor, view.dealer_id)
    # Approvers and administrators also read the gross margin at today's costs (None for
    # the roles that never see costs).
    gross = await margins.order_margin(actor, view)
    response = page(
        request,
        "orders/detail.html",
        _detail_context(view, actor, flash=flash_data, account=account, gross=gross),
        active_tab="orders",
    )
    return clear_flash(response) if flash_data else response


@get("/orders/{order_id:int}/cancel", include_in_schema=False)
async def cancel_confirm(request: Request, order_id: FromPath[int]) -> Template:
    """The confirmation step (a page without JS, an inline panel with htmx)."""
    view = await orders.get_order(request.user, order_id)
    return page(
        request,
        "orders/cancel.html",
        _detail_context(view, request.user, reason="", error=None),
        fragment="orders/_cancel_form.html",
        active_tab="orders",
    )


@post("/orders/{order_id:int}/cancel", include_in_schema=False)
async def cancel(request: Request, order_id: FromPath[int], data: Form) -> Response:
    reason = str(data.get("reason") or "").strip()
    error, status = None, 200
    if len(reason) > MAX_REASON:
        status = 422
        error = i18n.gettext("The reason is too long (at most %(max)s characters).", max=MAX_REASON)
    else:
        try:
            await orders.cancel_order(request.user, order_id, reason)
        except (ValidationFailed, Conflict) as exc:
            status = exc.status
            error = "; ".join(i18n.field_message(e) for e in exc.errors) or i18n.error_message(exc)
    if error is not None:
        view = await orders.get_order(request.user, order_id)
        return page(
            request,
            "orders/cancel.html",
            _detail_context(view, request.user, reason=reason[: MAX_REASON * 2], error=error),
            fragment="orders/_cancel_form.html",
            active_tab="orders",
            status=status,
        )
    target = f"/orders/{order_id}"
    response = _redirect(request, target)
    return flash(response, "ok", [i18n.gettext("The order has been cancelled.")])


@post("/orders/{order_id:int}/close-rest", include_in_schema=False)
async def close_rest(request: Request, order_id: FromPath[int], data: Form) -> Response:
    reason = str(data.get("reason") or "")[: MAX_REASON * 2]
    try:
        await orders.close_remainder(request.user, order_id, reason)
    except (ValidationFailed, Conflict) as exc:
        view = await orders.get_order(request.user, order_id)
        error = "; ".join(i18n.field_message(e) for e in exc.errors) or i18n.error_message(exc)
        return page(
            request,
            "orders/detail.html",
            _detail_context(view, request.user, close_error=error, close_reason=reason.strip()),
            active_tab="orders",
            status=exc.status,
        )
    response = _redirect(request, f"/orders/{order_id}")
    return flash(response, "ok", [i18n.gettext("The rest of the order will not ship.")])


@post("/orders/{order_id:int}/reorder", include_in_schema=False)
async def reorder(request: Request, order_id: FromPath[int]) -> Response:
    view, errors = await cart.reorder(request.user, order_id)
    response = _redirect(request, "/cart")
    if not request.user.is_dealer:
        # Staff reorder for the order's dealer: the cart they land on is that dealer's.
        response.cookies.append(
            Cookie(
                key=ACTING_DEALER_COOKIE,
                value=str(view.dealer_id),
                httponly=True,
                samesite="lax",
                secure=request.app.state.settings.secure_cookies,
                path="/",
                max_age=12 * 3600,
            )
        )
    if errors:
        messages = [i18n.gettext("Some lines could not be added:")]
        messages += [i18n.field_message(e) for e in errors]
        return flash(response, "warn", messages)
    return flash(response, "ok", [i18n.gettext("The order's lines are in your cart.")])


def _redirect(request: Request, target: str) -> Response:
    if is_htmx(request):
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


ROUTES = [close_rest, order_list, order_export, order_detail, cancel_confirm, cancel, reorder]
