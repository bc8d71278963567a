"""The approver's phone: the inbox, one-tap approve, reject or return with a reason, bulk
approve, the tab-bar badge, and where an order stands (a fragment of the order page)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import approvals, returns
from portal.domain.errors import (
    Conflict,
    CreditExceeded,
    DomainError,
    Forbidden,
    InsufficientStock,
    ValidationFailed,
    _,
)
from portal.domain.money import from_fen, parse_amount, to_fen
from portal.domain.quantities import MAX_LINE_QTY, parse_qty
from portal.web.common import clear_flash, flash, is_htmx, page, take_flash

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
ACTIONS = {"approve": "approve", "reject": "reject", "return": "return"}
MSG_BAD_QTY = _("%(sku)s: enter a whole quantity (0 takes the line off the order).")
MSG_QTY_TOO_LARGE = _("%(sku)s: at most %(max)s per line.")
MSG_BAD_PRICE = _("%(sku)s: enter a price such as 12.50.")
DONE_MESSAGES = {
    "approved": _("Order %(number)s is approved."),
    "step_approved": _("Step approved; order %(number)s goes to the next approver."),
    "rejected": _("Order %(number)s is rejected."),
    "returned": _("Order %(number)s is returned to the dealer."),
}


def _message(exc: DomainError) -> str:
    return "; ".join(i18n.field_message(e) for e in exc.errors) or i18n.error_message(exc)


async def _inbox_page(request: Request, *, status: int = 200, **extra: Any) -> Template:
    cards = await approvals.inbox(request.user)
    flash_data = extra.pop("flash", None)
    context = {
        "cards": cards,
        "returns_waiting": await returns.waiting_count(request.user),
        "flash": flash_data,
        "bulk_max": approvals.BULK_MAX_TOTAL_FEN,
        # Not an ordering page: no "order for which dealer?" banner.
        "show_acting_banner": False,
    }
    context.update(extra)
    return page(
        request,
        "approvals/inbox.html",
        context,
        fragment="approvals/_list.html",
        active_tab="approvals",
        status=status,
    )


@get("/approvals", include_in_schema=False)
async def inbox(request: Request) -> Template:
    if request.user.is_dealer:
        # A dealer's people decide nothing here (their orders are on 订单): say so, as the
        # reports do, rather than an inbox that is always empty.
        raise Forbidden(_("Your role has no approvals to decide."))
    flash_data = take_flash(request)
    response = await _inbox_page(request, flash=flash_data)
    return clear_flash(response) if flash_data else response


@get("/approvals/badge", include_in_schema=False)
async def badge(request: Request) -> Template:
    """The waiting count for the tab bar; refreshed by htmx (load, every 60s)."""
    count = await approvals.inbox_count(request.user)
    return Template(
        template_name="approvals/_badge.html",
        context={"count": count},
        headers={"Vary": "HX-Request", "Cache-Control": "no-store"},
    )


@get("/approvals/{step_id:int}/{action:str}", include_in_schema=False)
async def decision_form(
    request: Request, step_id: FromPath[int], action: FromPath[str]
) -> Template:
    """The reject / return sheet (a page without JS, a sheet over the card with htmx)."""
    if action not in ("reject", "return"):
        raise ValidationFailed(_("Unknown decision."))
    card = next((c for c in await approvals.inbox(request.user) if c.step_id == step_id), None)
    if card is None:
        raise Conflict(_("This step was already decided."))
    return page(
        request,
        "approvals/decide.html",
        {"card": card, "action": action, "reason": "", "error": None},
        fragment="approvals/_sheet.html",
        active_tab="approvals",
    )


@post("/approvals/{step_id:int}/{action:str}", include_in_schema=False)
async def decide(
    request: Request, step_id: FromPath[int], action: FromPath[str], data: Form
) -> Response:
    if action not in ACTIONS:
        raise ValidationFailed(_("Unknown decision."))
    reason = str(data.get("reason") or "")[: approvals.MAX_REASON * 2]
    try:
        decision = await approvals.decide(request.user, step_id, ACTIONS[action], reason)
    except (ValidationFailed, Conflict, Forbidden) as exc:
        card = next((c for c in await approvals.inbox(request.user) if c.step_id == step_id), None)
        if card is None or action == "approve":
            response = _back(request)
            return flash(response, "error", [_message(exc)])
        return page(
            request,
            "approvals/decide.html",
            {"card": card, "action": action, "reason": reason.strip(), "error": _message(exc)},
            fragment="approvals/_sheet.html",
            active_tab="approvals",
            status=exc.status,
        )
    number = await approvals.order_number(request.user, decision.order_id)
    response = _back(request, str(data.get("next") or ""))
    return flash(response, "ok", [i18n.gettext(DONE_MESSAGES[decision.outcome], number=number)])


@post("/approvals/bulk", include_in_schema=False)
async def bulk(request: Request, data: Form) -> Response:
    raw = data.get("step")
    values = raw if isinstance(raw, list) else [raw] if raw else []
    ids = [int(v) for v in values if str(v).isdigit() and len(str(v)) < 12][:100]
    response = _back(request)
    if not ids:
        return flash(response, "warn", [i18n.gettext("Choose the orders to approve.")])
    results = await approvals.bulk_approve(request.user, ids)
    ok = [r for r in results if r.outcome != "failed"]
    messages = [i18n.ngettext("%(num)s order approved.", "%(num)s orders approved.", len(ok))]
    messages += [i18n.field_message(e) for r in results for e in r.errors]
    return flash(response, "ok" if len(ok) == len(results) else "warn", messages)


@get("/orders/{order_id:int}/approval", include_in_schema=False)
async def standing(request: Request, order_id: FromPath[int]) -> Template:
    """Where the order stands in its approval (loaded into the order page)."""
    view = await approvals.standing(request.user, order_id)
    return Template(
        template_name="orders/_approval.html",
        context={"standing": view, "order_id": order_id, "actor": request.user},
        headers={"Vary": "HX-Request"},
    )


@post("/orders/{order_id:int}/resubmit", include_in_schema=False)
async def resubmit(request: Request, order_id: FromPath[int]) -> Response:
    target = f"/orders/{order_id}"
    response = _redirect(request, target)
    try:
        status = await approvals.resubmit(request.user, order_id)
    except (Conflict, Forbidden) as exc:
        return flash(response, "error", [_message(exc)])
    except DomainError as exc:
        if exc.status == 404:
            raise
        return flash(response, "error", [_message(exc)])
    text = (
        _("The order is approved.")
        if status == "approved"
        else _("The order was sent for approval again.")
    )
    return flash(response, "ok", [i18n.gettext(text)])


def _redirect(request: Request, target: str) -> Response:
    if is_htmx(request):
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def _back(request: Request, target: str = "") -> Response:
    # Only our own paths: an order page or the inbox.
    if not (target.startswith("/orders/") and target[8:].isdigit()):
        target = "/approvals"
    return _redirect(request, target)


async def _adjust_page(
    request: Request, order_id: int, *, values: dict, errors: list[str], status: int = 200
) -> Template:
    view = await approvals.adjustable_order(request.user, order_id)
    return page(
        request,
        "approvals/adjust.html",
        {"order": view, "values": values, "errors": errors},
        active_tab="orders",
        status=status,
    )


@get("/orders/{order_id:int}/adjust", include_in_schema=False)
async def adjust_form(request: Request, order_id: FromPath[int]) -> Template:
    view = await approvals.adjustable_order(request.user, order_id)
    values = {
        ln.id: {"qty": str(ln.qty), "price": str(from_fen(ln.unit_price_fen))} for ln in view.lines
    }
    return await _adjust_page(request, order_id, values={"lines": values, "reason": ""}, errors=[])


@post("/orders/{order_id:int}/adjust", include_in_schema=False)
async def adjust(request: Request, order_id: FromPath[int], data: Form) -> Response:
    view = await approvals.adjustable_order(request.user, order_id)
    changes, errors, values = [], [], {}
    for ln in view.lines:
        if ln.is_gift:  # follows the line it comes with (approvals.adjust)
            continue
        qty_raw = str(data.get(f"qty_{ln.id}") or "").strip()[:12]
        price_raw = str(data.get(f"price_{ln.id}") or "").strip()[:20]
        values[ln.id] = {"qty": qty_raw, "price": price_raw}
        try:
            qty = parse_qty(qty_raw)
        except ValueError:
            digits = qty_raw.isdigit()
            msgid = MSG_QTY_TOO_LARGE if digits and len(qty_raw) > 6 else MSG_BAD_QTY
            errors.append(i18n.gettext(msgid, sku=ln.sku_code, max=f"{MAX_LINE_QTY:,}"))
            continue
        try:
            price = to_fen(parse_amount(price_raw)) if price_raw else None
        except ValueError:
            errors.append(i18n.gettext(MSG_BAD_PRICE, sku=ln.sku_code))
            continue
        changes.append(approvals.LineChange(ln.id, qty, price))
    reason = str(data.get("reason") or "")[: approvals.MAX_REASON * 2]
    form_values = {"lines": values, "reason": reason.strip()}
    if not errors:
        try:
            status = await approvals.adjust(
                request.user,
                order_id,
                changes,
                reason,
                stock_defaults=request.app.state.supplier_defaults,
            )
        except (
            ValidationFailed,
            InsufficientStock,
            CreditExceeded,
            Conflict,
            Forbidden,
        ) as exc:
            errors = [i18n.field_message(e) for e in exc.errors] or [i18n.error_message(exc)]
        else:
            response = _redirect(request, f"/orders/{order_id}")
            text = (
                _("The order was adjusted and is approved.")
                if status == "approved"
                else _("The order was adjusted and waits for approval.")
            )
            return flash(response, "ok", [i18n.gettext(text)])
    return await _adjust_page(request, order_id, values=form_values, errors=errors, status=422)


ROUTES = [
    inbox,
    badge,
    decision_form,
    decide,
    bulk,
    standing,
    resubmit,
    adjust_form,
    adjust,
]
