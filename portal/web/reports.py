"""Reports for staff on a phone: a period, the sales summary against the period before, the
sales series, rankings by dealer, product, category, region and rep (each exportable as CSV
or Excel), what waits for action and credit exposure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from portal import i18n
from portal.domain import reports, safety_stock
from portal.domain.errors import NotFound, ValidationFailed, _
from portal.domain.money import from_fen
from portal.export import table_document
from portal.http_files import document_response
from portal.web.common import field_errors, page

RANKINGS = ("dealer", "product", "category", "region", "rep")
TOP = 10
FORMATS = ("csv", "xlsx")


def _period(
    start: str | None, end: str | None, preset: str | None
) -> tuple[reports.Period, str, dict[str, str]]:
    """The period asked for, its preset, and field errors (then this month is shown)."""
    today = reports.today_in_shanghai()
    try:
        period, name = reports.parse_period(start, end, preset, today=today)
        return period, name, {}
    except ValidationFailed as exc:
        return reports.preset_period("this_month", today), "", field_errors(exc)


@get("/reports", include_in_schema=False)
async def reports_page(
    request: Request,
    preset: FromQuery[str | None] = None,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Template:
    period, chosen, errors = _period(start, end, preset)
    board = await reports.dashboard(request.user, period, RANKINGS, top=TOP)
    context: dict[str, Any] = {
        "period": period,
        "preset": chosen,
        "presets": reports.PRESETS,
        "errors": errors,
        "start_value": (start or "")[:10] if errors else period.start.isoformat(),
        "end_value": (end or "")[:10] if errors else period.end.isoformat(),
        "overview": board.overview,
        "series_by": period.series,
        "series": board.series,
        "rankings": [(by, r.rows, r.total) for by, r in board.rankings.items()],
        "group_labels": reports.GROUP_LABELS,
        "exposures": board.overview.exposures[:TOP],
        "query": f"start={period.start.isoformat()}&end={period.end.isoformat()}",
        "show_acting_banner": False,
        "percent": percent,
        "row_label": row_label,
    }
    return page(
        request, "reports/page.html", context, active_tab="reports", status=422 if errors else 200
    )


def row_label(by: str, row: reports.Row) -> str:
    """A row's name, translated where it stands for "none" (no region, no rep)."""
    if row.label or by not in reports.NONE_LABELS:
        return row.label
    return i18n.gettext(reports.NONE_LABELS[by])


def _cells(by: str, row: reports.Row) -> list[Any]:
    cells: list[Any] = [row_label(by, row)]
    if by in ("product", "dealer"):
        cells.append(row.detail)
    cells.append(row.orders)
    if by in ("product", "category"):
        # A category's quantity only where it was sold in one unit (else both cells empty).
        cells.extend([row.qty, row.unit])
    cells.append(from_fen(row.amount_fen))
    return cells


@get("/reports/export/{by:str}", include_in_schema=False)
async def reports_export(
    request: Request,
    by: FromPath[str],
    format: FromQuery[str] = "xlsx",  # noqa: A002 - the query parameter's name
    preset: FromQuery[str | None] = None,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Response:
    """One table of the reports page, every row, as CSV or Excel."""
    actor = request.user
    reports.require_reports(actor)
    if by == "exposure" and format in FORMATS:
        return document_response(await _exposure_document(actor, format))
    if by == "safety" and format in FORMATS:
        return document_response(await _safety_document(actor, format))
    if by not in reports.GROUPS or format not in FORMATS:
        raise NotFound(_("Page not found."))
    period, _name = reports.parse_period(start, end, preset, today=reports.today_in_shanghai())
    rows = await reports.sales(actor, period, by)
    # The first column of a series is a date or a month, not a name.
    first = {"day": _("Date"), "month": _("Month")}.get(by, _("Name"))
    headers = [i18n.gettext(first)]
    if by in ("product", "dealer"):
        headers.append(i18n.gettext(_("Code")))
    headers.append(i18n.gettext(_("Orders")))
    if by in ("product", "category"):
        headers.extend([i18n.gettext(_("Quantity")), i18n.gettext(_("Unit"))])
    headers.append(i18n.gettext(_("Sales")))
    label = i18n.gettext(reports.GROUP_LABELS[by])
    title = f"{label} {period.start.isoformat()} – {period.end.isoformat()}"
    doc = table_document(
        f"sales-by-{by}-{period.start.isoformat()}-{period.end.isoformat()}",
        title,
        headers,
        [_cells(by, r) for r in rows],
        format,
        money_columns=frozenset({len(headers) - 1}),
        sheet=label,  # the dates are in the title row: a sheet name has room for 31 characters
    )
    return document_response(doc)


async def _exposure_document(actor: Any, format: str) -> Any:  # noqa: A002
    """The credit exposure table: every dealer in the actor's scope, the most used first; the
    share of the limit used is a number (a percentage in Excel), a deactivated dealer that
    still owes money is marked so."""
    today = reports.today_in_shanghai()
    headers = [
        i18n.gettext(h)
        for h in (
            _("Dealer"),
            _("Code"),
            _("Credit limit"),
            _("Exposure"),
            _("Available credit"),
            _("Credit used (%)"),
            _("State"),
        )
    ]
    inactive = i18n.gettext(_("Inactive"))
    over = i18n.gettext(_("Over its limit"))
    no_limit = i18n.gettext(_("No credit limit"))

    def state(e: reports.Exposure) -> str:
        words = ([over] + ([no_limit] if e.without_limit else [])) if e.over_limit else []
        return " · ".join(words + ([] if e.active else [inactive]))

    rows = [
        [
            e.name,
            e.code,
            from_fen(e.credit_limit_fen),
            from_fen(e.exposure_fen),
            from_fen(e.available_fen),
            e.used_share if e.used_share is not None else "",
            state(e),
        ]
        for e in await reports.exposures(actor)
    ]
    label = i18n.gettext(_("Credit exposure"))
    return table_document(
        f"credit-exposure-{today.isoformat()}",
        f"{label} {today.isoformat()}",
        headers,
        rows,
        format,
        money_columns=frozenset({2, 3, 4}),
        percent_columns=frozenset({5}),
        sheet=label,
    )


async def _safety_document(actor: Any, format: str) -> Any:  # noqa: A002
    """The SKUs under their safety stock, emptiest first (the reports page shows the first few)."""
    today = reports.today_in_shanghai()
    headers = [
        i18n.gettext(h)
        for h in (
            _("Code"),
            _("Name"),
            _("Barcode"),
            _("Unit"),
            _("Safety stock"),
            _("Available"),
            _("Shortfall"),
        )
    ]
    rows = [
        [s.sku_code, s.sku_name, s.barcode, s.unit, s.safety_stock, s.available, s.shortfall]
        for s in await safety_stock.under_safety(actor, limit=None)
    ]
    label = i18n.gettext(_("Under safety stock"))
    return table_document(
        f"under-safety-stock-{today.isoformat()}",
        f"{label} {today.isoformat()}",
        headers,
        rows,
        format,
        sheet=label,
    )


def percent(value: float | None) -> str:
    """+12.5% / −3.0%, for the change against the previous period."""
    if value is None:
        return ""
    sign = "+" if value >= 0 else "−"
    return f"{sign}{abs(Decimal(str(round(value * 100, 1))))}%"


ROUTES = [reports_page, reports_export]
