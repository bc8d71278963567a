"""Finance pages: a dealer's ledger and statement, recording payments and credit notes,
setting the credit limit and payment terms."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import ledger
from portal.domain.errors import Forbidden, ValidationFailed, _
from portal.domain.money import from_fen
from portal.web.common import clear_flash, flash, page, take_flash

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()) if raw else None
    except ValueError:
        return None


async def _page(
    request: Request,
    dealer_id: int,
    *,
    start: str | None = None,
    end: str | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    if request.user.role not in ledger.FINANCE_ROLES:
        raise Forbidden(_("Only finance may do this."))
    statement = await ledger.statement(
        request.user, dealer_id, start=parse_day(start), end=parse_day(end)
    )
    flash_data = take_flash(request)
    dealer = statement.dealer
    response = page(
        request,
        "finance/dealer.html",
        {
            "st": statement,
            "dealer": dealer,
            "methods": ledger.PAYMENT_METHOD_LABELS,
            "errors": errors or {},
            "values": values or {},
            "limit_text": str(from_fen(int(dealer["credit_limit_fen"] or 0))),
            "flash": flash_data,
        },
        active_tab="finance",
        status=status,
    )
    return clear_flash(response) if flash_data else response


@get("/finance", include_in_schema=False)
async def accounts(
    request: Request, q: FromQuery[str | None] = None, overdue: FromQuery[str | None] = None
) -> Template:
    query = (q or "").strip()[:50]
    items = await ledger.dealer_accounts(request.user, q=query, overdue_only=bool(overdue))
    return page(
        request,
        "finance/accounts.html",
        {"items": items, "q": query, "overdue": bool(overdue)},
        active_tab="finance",
    )


@get("/finance/dealers/{dealer_id:int}", include_in_schema=False)
async def dealer_page(
    request: Request,
    dealer_id: FromPath[int],
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Template:
    return await _page(request, dealer_id, start=start, end=end)


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    errs = {e.field: i18n.field_message(e) for e in exc.errors}
    if not errs:
        errs["form"] = i18n.error_message(exc)
    return errs


def _done(dealer_id: int, message: str) -> Response:
    return flash(Redirect(f"/finance/dealers/{dealer_id}", status_code=303), "ok", [message])


@post("/finance/dealers/{dealer_id:int}/payments", include_in_schema=False)
async def payment(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    try:
        entry = await ledger.record_payment(
            request.user,
            dealer_id,
            amount=str(data.get("amount") or ""),
            method=str(data.get("method") or ""),
            reference=str(data.get("reference") or ""),
            value_date=parse_day(data.get("value_date")),
            note=str(data.get("note") or ""),
            prepayment=bool(data.get("prepayment")),
        )
    except ValidationFailed as exc:
        return await _page(
            request,
            dealer_id,
            errors={"payment": _field_errors(exc)},
            values=dict(data),
            status=422,
        )
    return _done(
        dealer_id,
        i18n.gettext("Payment of %(amount)s recorded.", amount=i18n.money(-entry.amount_fen)),
    )


@post("/finance/dealers/{dealer_id:int}/credit-notes", include_in_schema=False)
async def credit_note(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    try:
        entry = await ledger.record_credit_note(
            request.user,
            dealer_id,
            amount=str(data.get("amount") or ""),
            note=str(data.get("note") or ""),
        )
    except ValidationFailed as exc:
        return await _page(
            request,
            dealer_id,
            errors={"credit": _field_errors(exc)},
            values=dict(data),
            status=422,
        )
    return _done(
        dealer_id,
        i18n.gettext("Credit note of %(amount)s recorded.", amount=i18n.money(-entry.amount_fen)),
    )


@post("/finance/dealers/{dealer_id:int}/terms", include_in_schema=False)
async def terms(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    try:
        await ledger.set_credit_terms(
            request.user,
            dealer_id,
            credit_limit=str(data.get("credit_limit") or ""),
            payment_terms_days=str(data.get("payment_terms_days") or ""),
        )
    except ValidationFailed as exc:
        return await _page(
            request,
            dealer_id,
            errors={"terms": _field_errors(exc)},
            values=dict(data),
            status=422,
        )
    return _done(dealer_id, i18n.gettext("Credit limit and payment terms saved."))


ROUTES = [accounts, dealer_page, payment, credit_note, terms]
