"""Finance pages: the accounts list, a dealer's ledger and statement (on screen, PDF, Excel),
recording payments and credit notes, and the credit settings: limit, tolerance over it, what
an order over it does, payment terms and overdue policy."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import credit, ledger, supplier
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed, _
from portal.domain.money import from_fen, percent_text
from portal.export import table_document
from portal.http_files import document_response
from portal.web.common import Pager, clear_flash, flash, page, page_number, take_flash
from portal.web.statement import parse_day, parse_period, statement_file

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
# The hidden key a payment or credit-note form carries (made when the form is drawn, as the
# cart's checkout form does): a double tap or a resend of the form books the money once.
_KEY = re.compile(r"^[A-Za-z0-9-]{8,100}$")
MSG_BAD_KEY = _("The form has expired. Reload the page and try again.")
MSG_KEY_REUSED = _(
    "This form was already sent with other values. Reload the page to record another entry."
)


def _require_finance(request: Request) -> None:
    if request.user.role not in ledger.FINANCE_ROLES:
        raise Forbidden(_("Only finance may do this."))


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
    _require_finance(request)
    first, last = parse_period(start, end)
    statement = await ledger.statement(request.user, dealer_id, start=first, end=last)
    flash_data = take_flash(request)
    dealer = statement.dealer
    supplier_tolerance = await supplier.credit_tolerance()
    response = page(
        request,
        "finance/dealer.html",
        {
            "st": statement,
            "dealer": dealer,
            "export_base": f"/finance/dealers/{dealer_id}/statement",
            "methods": ledger.PAYMENT_METHOD_LABELS,
            "policies": ledger.OVERDUE_POLICY_LABELS,
            "over_credit_policies": ledger.OVER_CREDIT_POLICY_LABELS,
            "errors": errors or {},
            "values": values or {},
            # Fresh each time the page is drawn, one per money form.
            "payment_key": uuid.uuid4().hex,
            "credit_key": uuid.uuid4().hex,
            "reversal_key": uuid.uuid4().hex,
            # Payments and credit notes entered by hand that can still be taken back.
            "reversible": await ledger.reversible_entries(request.user, dealer_id),
            "limit_text": str(from_fen(int(dealer["credit_limit_fen"] or 0))),
            "tolerance_fen": credit.tolerance_fen(dealer, supplier_tolerance),
            "supplier_tolerance": supplier_tolerance,
            "supplier_percent": percent_text(supplier_tolerance.bp),
            "tolerance_text": _blank_if_zero(
                str(from_fen(int(dealer["credit_tolerance_fen"] or 0)))
            ),
            "tolerance_percent_text": _blank_if_zero(
                percent_text(int(dealer["credit_tolerance_bp"] or 0))
            ),
            "flash": flash_data,
        },
        active_tab="finance",
        status=status,
    )
    return clear_flash(response) if flash_data else response


def _blank_if_zero(text: str) -> str:
    """A tolerance field's value: blank when there is none (0, 0.00)."""
    return "" if Decimal(text) == 0 else text


@get("/finance", include_in_schema=False)
async def accounts(
    request: Request,
    q: FromQuery[str | None] = None,
    overdue: FromQuery[str | None] = None,
    page_no: Annotated[str | None, QueryParameter(name="page")] = None,
) -> Template:
    query = (q or "").strip()[:50]
    result = await ledger.dealer_accounts(
        request.user, q=query, overdue_only=bool(overdue), page=page_number(page_no)
    )
    base = {"q": query, "overdue": "1"} if overdue else {"q": query}
    return page(
        request,
        "finance/accounts.html",
        {
            "result": result,
            "items": result.items,
            "q": query,
            "overdue": bool(overdue),
            "pager": Pager(result.page, result.pages, "/finance", base),
            "policies": ledger.OVERDUE_POLICY_LABELS,
        },
        fragment="finance/_accounts.html",
        active_tab="finance",
    )


@get("/finance/export", include_in_schema=False)
async def accounts_export(
    request: Request,
    q: FromQuery[str | None] = None,
    overdue: FromQuery[str | None] = None,
    fmt: Annotated[str | None, QueryParameter(name="format")] = None,
) -> Response:
    """The accounts list as it is filtered, every page of it, as CSV or Excel."""
    query = (q or "").strip()[:50]
    accounts: list[ledger.DealerAccount] = []
    number = 1
    while True:  # every page; a page is one query for the dealers and one for their entries
        result = await ledger.dealer_accounts(
            request.user,
            q=query,
            overdue_only=bool(overdue),
            page=number,
            per_page=ledger.MAX_ACCOUNTS_PER_PAGE,
        )
        accounts.extend(result.items)
        if not result.has_more:
            break
        number += 1
    headers = [
        i18n.gettext(h)
        for h in (
            _("Code"),
            _("Name"),
            _("Credit limit"),
            _("Balance owed"),
            _("Open orders"),
            _("Available credit"),
            _("Payment terms (days)"),
            _("Overdue"),
            _("When invoices are overdue"),
        )
    ]
    rows = [
        [
            a.code,
            a.name,
            from_fen(a.credit_limit_fen),
            from_fen(a.balance_fen),
            from_fen(a.open_orders_fen),
            from_fen(a.available_fen),
            a.payment_terms_days,
            from_fen(a.overdue_fen),
            i18n.gettext(ledger.OVERDUE_POLICY_LABELS.get(a.overdue_policy, a.overdue_policy)),
        ]
        for a in accounts
    ]
    doc = table_document(
        "accounts",
        i18n.gettext(_("Accounts")),
        headers,
        rows,
        fmt if fmt in ("csv", "xlsx") else "csv",
        money_columns=frozenset({2, 3, 4, 5, 7}),
    )
    return document_response(doc)


@get("/finance/dealers/{dealer_id:int}", include_in_schema=False)
async def dealer_page(
    request: Request,
    dealer_id: FromPath[int],
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Template:
    return await _page(request, dealer_id, start=start, end=end)


async def _statement(
    request: Request, dealer_id: int, start: str | None, end: str | None
) -> ledger.Statement:
    _require_finance(request)
    first, last = parse_period(start, end)
    return await ledger.statement(request.user, dealer_id, start=first, end=last)


@get("/finance/dealers/{dealer_id:int}/statement.pdf", include_in_schema=False)
async def statement_pdf(
    request: Request,
    dealer_id: FromPath[int],
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Response:
    return await statement_file(request, await _statement(request, dealer_id, start, end), "pdf")


@get("/finance/dealers/{dealer_id:int}/statement.xlsx", include_in_schema=False)
async def statement_excel(
    request: Request,
    dealer_id: FromPath[int],
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Response:
    return await statement_file(request, await _statement(request, dealer_id, start, end), "xlsx")


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    errs = {e.field: i18n.field_message(e) for e in exc.errors}
    if not errs:
        errs["form"] = i18n.error_message(exc)
    return errs


def _done(dealer_id: int, message: str) -> Response:
    return flash(Redirect(f"/finance/dealers/{dealer_id}", status_code=303), "ok", [message])


def _form_key(data: dict[str, Any]) -> str | None:
    """The form's idempotency key; None when the post carries none (not sent by the page,
    which always does: recorded as before, without replay); "" when it is malformed."""
    raw = data.get("idempotency_key")
    if raw is None:
        return None
    key = str(raw)
    return key if _KEY.match(key) else ""


async def _conflict(
    request: Request, dealer_id: int, form: str, data: Form, exc: Conflict
) -> Template:
    """A key already used for other values (the form was changed after it was sent, and sent
    again), or its twin request still at work: said above the form."""
    if "idempotency_key" in exc.extra:
        return await _refused(request, dealer_id, form, data, MSG_KEY_REUSED, 409)
    return await _refused(request, dealer_id, form, data, exc.message, 409)


async def _refused(
    request: Request, dealer_id: int, form: str, data: Form, message: str, status: int
) -> Template:
    """The page again with `message` above the form named `form` (payment, credit)."""
    return await _page(
        request,
        dealer_id,
        errors={form: {"form": i18n.gettext(message)}},
        values=dict(data),
        status=status,
    )


@post("/finance/dealers/{dealer_id:int}/payments", include_in_schema=False)
async def payment(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    key = _form_key(data)
    if key == "":
        return await _refused(request, dealer_id, "payment", data, MSG_BAD_KEY, 400)
    raw_day = str(data.get("value_date") or "").strip()
    if raw_day and parse_day(raw_day) is None:
        # Not a date: say so rather than booking the payment on today's date.
        errors = {"value_date": i18n.gettext("Enter a date such as 2026-11-25.")}
        return await _page(
            request, dealer_id, errors={"payment": errors}, values=dict(data), status=422
        )
    try:
        # A resend of the same form (same key, same values) returns the first entry, and the
        # page says what it said the first time.
        entry = await ledger.record_payment(
            request.user,
            dealer_id,
            amount=str(data.get("amount") or ""),
            method=str(data.get("method") or ""),
            reference=str(data.get("reference") or ""),
            value_date=parse_day(data.get("value_date")),
            note=str(data.get("note") or ""),
            prepayment=bool(data.get("prepayment")),
            idempotency_key=key,
        )
    except ValidationFailed as exc:
        return await _page(
            request,
            dealer_id,
            errors={"payment": _field_errors(exc)},
            values=dict(data),
            status=422,
        )
    except Conflict as exc:
        return await _conflict(request, dealer_id, "payment", data, exc)
    return _done(
        dealer_id,
        i18n.gettext("Payment of %(amount)s recorded.", amount=i18n.money(-entry.amount_fen)),
    )


@post("/finance/dealers/{dealer_id:int}/credit-notes", include_in_schema=False)
async def credit_note(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    key = _form_key(data)
    if key == "":
        return await _refused(request, dealer_id, "credit", data, MSG_BAD_KEY, 400)
    try:
        entry = await ledger.record_credit_note(
            request.user,
            dealer_id,
            amount=str(data.get("amount") or ""),
            note=str(data.get("note") or ""),
            idempotency_key=key,
        )
    except ValidationFailed as exc:
        return await _page(
            request,
            dealer_id,
            errors={"credit": _field_errors(exc)},
            values=dict(data),
            status=422,
        )
    except Conflict as exc:
        return await _conflict(request, dealer_id, "credit", data, exc)
    return _done(
        dealer_id,
        i18n.gettext("Credit note of %(amount)s recorded.", amount=i18n.money(-entry.amount_fen)),
    )


def _optional(data: dict[str, Any], name: str) -> str | None:
    return str(data[name]) if name in data else None


@post("/finance/dealers/{dealer_id:int}/reversals", include_in_schema=False)
async def reversal(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    """Take back a payment or credit note entered in error (the ledger keeps both)."""
    key = _form_key(data)
    if key == "":
        return await _refused(request, dealer_id, "reversal", data, MSG_BAD_KEY, 400)
    raw = str(data.get("entry_id") or "").strip()
    if not raw.isdigit() or len(raw) > 10:
        errors = {"entry_id": i18n.gettext("Choose the entry to reverse.")}
        return await _page(
            request, dealer_id, errors={"reversal": errors}, values=dict(data), status=422
        )
    try:
        entry = await ledger.reverse_entry(
            request.user,
            dealer_id,
            int(raw),
            reason=str(data.get("reason") or ""),
            idempotency_key=key,
        )
    except ValidationFailed as exc:
        return await _page(
            request,
            dealer_id,
            errors={"reversal": _field_errors(exc)},
            values=dict(data),
            status=422,
        )
    except Conflict as exc:
        return await _conflict(request, dealer_id, "reversal", data, exc)
    except NotFound:
        errors = {"entry_id": i18n.gettext("Choose the entry to reverse.")}
        return await _page(
            request, dealer_id, errors={"reversal": errors}, values=dict(data), status=422
        )
    return _done(
        dealer_id,
        i18n.gettext(
            "Reversed: %(amount)s is owed again. The statement shows both entries.",
            amount=i18n.money(entry.amount_fen),
        ),
    )


@post("/finance/dealers/{dealer_id:int}/terms", include_in_schema=False)
async def terms(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    try:
        await ledger.set_credit_terms(
            request.user,
            dealer_id,
            credit_limit=str(data.get("credit_limit") or ""),
            payment_terms_days=str(data.get("payment_terms_days") or ""),
            # A field absent from the form keeps the dealer's setting as it is.
            overdue_policy=_optional(data, "overdue_policy"),
            over_credit_policy=_optional(data, "over_credit_policy"),
            tolerance_amount=_optional(data, "tolerance_amount"),
            tolerance_percent=_optional(data, "tolerance_percent"),
        )
    except ValidationFailed as exc:
        return await _page(
            request,
            dealer_id,
            errors={"terms": _field_errors(exc)},
            values=dict(data),
            status=422,
        )
    return _done(dealer_id, i18n.gettext("Credit settings saved."))


ROUTES = [
    accounts,
    accounts_export,
    dealer_page,
    reversal,
    statement_pdf,
    statement_excel,
    payment,
    credit_note,
    terms,
]
