"""The dealer's own account: ledger and statement (对账单) for a period, on screen, as PDF
and as Excel. The period parsing and the file download are shared with finance's pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Response, Template

from portal.domain import ledger
from portal.domain.errors import FieldError, NotFound, ValidationFailed, _
from portal.export import statement_document
from portal.http_files import document_response, supplier_now
from portal.web.common import page


def parse_day(raw: str | None) -> date | None:
    """A yyyy-mm-dd date, or None when empty or not a date (for optional form fields)."""
    try:
        return date.fromisoformat((raw or "").strip()) if raw else None
    except ValueError:
        return None


def parse_period(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """The statement period from the query; a value that is not a date is refused (422)."""
    errors: list[FieldError] = []
    days: list[date | None] = []
    for name, raw in (("start", start), ("end", end)):
        text = (raw or "").strip()
        day = parse_day(text) if text else None
        if text and (day is None or len(text) != 10):
            errors.append(FieldError(name, _("Enter a date such as 2026-11-25.")))
        days.append(day)
    if errors:
        raise ValidationFailed(_("Enter a date such as 2026-11-25."), errors=errors)
    return days[0], days[1]


async def statement_file(request: Request, st: ledger.Statement, fmt: str) -> Response:
    """The statement as a PDF (shown inline) or an Excel workbook (downloaded)."""
    doc = statement_document(st, fmt, now=datetime.now(UTC), issuer=await supplier_now(request))
    return document_response(doc)


async def _own_statement(request: Request, start: str | None, end: str | None) -> ledger.Statement:
    actor = request.user
    if not actor.is_dealer or actor.dealer_id is None:
        raise NotFound(_("Page not found."))
    first, last = parse_period(start, end)
    return await ledger.statement(actor, actor.dealer_id, start=first, end=last)


@get("/account/statement", include_in_schema=False)
async def statement_page(
    request: Request,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Template:
    ctx: dict = {"export_base": "/account/statement"}
    try:
        ctx["st"] = await _own_statement(request, start, end)
    except ValidationFailed as exc:
        # The page stays, with the dates as typed and what is wrong with them beside the form
        # (the statement shown is the default period's).
        ctx.update(
            st=await _own_statement(request, None, None),
            period_errors=exc.errors or [FieldError("start", exc.message, exc.params)],
            typed_start=(start or "")[:10],
            typed_end=(end or "")[:10],
        )
        return page(request, "statement/page.html", ctx, active_tab="me", status=422)
    return page(request, "statement/page.html", ctx, active_tab="me")


@get("/account/statement.pdf", include_in_schema=False)
async def statement_pdf(
    request: Request,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Response:
    return await statement_file(request, await _own_statement(request, start, end), "pdf")


@get("/account/statement.xlsx", include_in_schema=False)
async def statement_excel(
    request: Request,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Response:
    return await statement_file(request, await _own_statement(request, start, end), "xlsx")


ROUTES = [statement_page, statement_pdf, statement_excel]
