"""Field sales on a visit: the dealer card, and a rep's own price for a cart line."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import cart, dealers, ledger, orders, visit
from portal.domain.errors import FieldError, NotFound, ValidationFailed, _
from portal.domain.money import parse_amount, to_fen
from portal.web.cart import _line_response
from portal.web.common import (
    acting_dealer_id,
    clear_flash,
    field_errors,
    flash,
    page,
    take_flash,
)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
MSG_BAD_PRICE = _("Enter a price such as 12.50, or a percentage off such as 5.")
MSG_PRICE_OR_PERCENT = _("Enter a price or a percentage off, not both.")


async def _card_page(request: Request, dealer_id: int, status: int = 200, **extra: Any) -> Template:
    card = await visit.visit_card(request.user, dealer_id)
    context = {
        "card": card,
        "status_labels": orders.STATUS_LABELS,
        "over_credit_policies": ledger.OVER_CREDIT_POLICY_LABELS,
        # The reps this actor may move the dealer to (none for other roles: no form).
        "reps": await dealers.assignable_reps(request.user),
        **extra,
    }
    if acting_dealer_id(request) is None:
        # "No dealer chosen yet" above a dealer's card, whose first button orders for it.
        context["show_acting_banner"] = False
    return page(request, "visit/card.html", context, active_tab="dealers", status=status)


@get("/dealers/{dealer_id:int}", include_in_schema=False)
async def dealer_card(request: Request, dealer_id: FromPath[int]) -> Response:
    if request.user.is_dealer:
        # The card is staff's view of a dealer (order for it, reassign, review): a dealer's
        # own people have their account page instead; another dealer's id is not found.
        if dealer_id != request.user.dealer_id:
            raise NotFound(_("Dealer not found."))
        return Redirect("/me", status_code=303)
    flash_data = take_flash(request)
    response = await _card_page(request, dealer_id, flash=flash_data)
    return clear_flash(response) if flash_data else response


@post("/dealers/{dealer_id:int}/rep", include_in_schema=False)
async def reassign_dealer(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    raw = str(data.get("rep_id") or "").strip()[:12]
    rep_id = int(raw) if raw.isdigit() and int(raw) < 2**31 else None
    try:
        if raw and rep_id is None:
            raise ValidationFailed(errors=[FieldError("rep_id", _("Choose one of your reps."))])
        rep = await dealers.reassign(request.user, dealer_id, rep_id, now=datetime.now(UTC))
    except ValidationFailed as exc:
        return await _card_page(request, dealer_id, status=422, rep_error=field_errors(exc))
    message = (
        i18n.gettext(_("The dealer is now looked after by %(name)s."), name=rep["display_name"])
        if rep
        else i18n.gettext(_("The dealer has no rep now."))
    )
    return flash(Redirect(f"/dealers/{dealer_id}", status_code=303), "ok", [message])


@post("/dealers/{dealer_id:int}/review-flag", include_in_schema=False)
async def review_flag(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    flagged = str(data.get("flagged", "")) == "1"
    reason = str(data.get("reason", ""))[:1000]
    try:
        await dealers.set_review_flag(
            request.user, dealer_id, flagged, reason, now=datetime.now(UTC)
        )
    except ValidationFailed as exc:
        flag_error = i18n.field_message(exc.errors[0]) if exc.errors else ""
        return await _card_page(request, dealer_id, status=422, flag_error=flag_error)
    return Redirect(f"/dealers/{dealer_id}", status_code=303)


def _parse_price(data: dict[str, Any]) -> dict[str, int | None]:
    """{"unit_price_fen": ...} or {"percent_off_bp": ...}; both empty clears the override."""
    price = str(data.get("price") or "").strip()[:20]
    percent = str(data.get("percent_off") or "").strip().rstrip("%")[:10]
    if "clear" in data or (not price and not percent):
        return {}
    if price and percent:
        # Which was meant? One of them would be dropped without a word.
        raise ValueError(MSG_PRICE_OR_PERCENT)
    try:
        if percent:
            bp = Decimal(percent) * 100
            if bp != bp.to_integral_value():
                raise ValueError
            return {"percent_off_bp": int(bp)}
        return {"unit_price_fen": to_fen(parse_amount(price))}
    except (ValueError, InvalidOperation, ArithmeticError, ValidationFailed) as exc:
        raise ValueError from exc


@post("/cart/lines/{sku_id:int}/price", include_in_schema=False)
async def set_line_price(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    """A rep's (or manager's) own unit price or percentage off for a line of the cart."""
    actor, dealer_id = request.user, acting_dealer_id(request)
    typed = {
        "price": str(data.get("price") or "").strip()[:20],
        "percent_off": str(data.get("percent_off") or "").strip()[:10],
    }
    if typed["price"] and typed["percent_off"]:
        # The price box shows the price set last time: a percentage typed beside it, with the
        # price left as shown, is the new discount (not "which of the two?").
        current = next(
            (
                ln.price_input
                for ln in (await cart.get_cart(actor, dealer_id)).lines
                if ln.sku_id == sku_id
            ),
            "",
        )
        if current and typed["price"] == current:
            data = {k: v for k, v in data.items() if k != "price"}
    try:
        values = _parse_price(data)
    except ValueError as exc:
        view = await cart.get_cart(actor, dealer_id)
        msgid = MSG_PRICE_OR_PERCENT if MSG_PRICE_OR_PERCENT in exc.args else MSG_BAD_PRICE
        refused = {**typed, "error": i18n.gettext(msgid)}
        return _line_response(request, view, sku_id, status=422, price_refused=refused)
    try:
        view = await cart.set_price(actor, dealer_id, sku_id, **values)
    except ValidationFailed as exc:
        view = await cart.get_cart(actor, dealer_id)
        message = "; ".join(i18n.field_message(e) for e in exc.errors) or i18n.error_message(exc)
        refused = {**typed, "error": message}
        return _line_response(request, view, sku_id, status=422, price_refused=refused)
    return _line_response(request, view, sku_id)


ROUTES = [dealer_card, reassign_dealer, set_line_price, review_flag]
