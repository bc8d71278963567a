"""Bulk export and import for administrators (and stock for warehouse staff): one page with
each kind of data, its CSV and Excel export, and an upload that imports all or nothing."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from portal import i18n
from portal.domain import data_io
from portal.domain.errors import Forbidden, NotFound, ValidationFailed, _
from portal.export import table_document
from portal.web.common import page, upload_limits, uploaded_file

MONEY_COLUMNS = {"base_price", "price", "credit_limit"}
FORMATS = ("csv", "xlsx")


def _page(request: Request, status: int = 200, **extra: Any) -> Template:
    actor = request.user
    kinds = data_io.kinds_for(actor)
    if not kinds:
        raise Forbidden(_("Your role cannot import or export this."))
    context = {
        "kinds": kinds,
        "labels": data_io.KIND_LABELS,
        "columns": data_io.COLUMNS,
        "importable": data_io.IMPORTABLE,
        "show_acting_banner": False,
        **extra,
    }
    return page(request, "admin/data.html", context, active_tab="me", status=status)


@get("/admin/data", include_in_schema=False)
async def data_page(request: Request) -> Template:
    return _page(request)


def export_response(
    header: tuple[str, ...], rows: list[list[Any]], kind: str, fmt: str
) -> Response:
    doc = table_document(
        f"{kind}",
        i18n.gettext(data_io.KIND_LABELS[kind]),
        header,
        rows,
        fmt,
        money_columns=frozenset(i for i, c in enumerate(header) if c in MONEY_COLUMNS),
    )
    return Response(
        content=doc.body,
        media_type=doc.media_type,
        headers={"Content-Disposition": doc.disposition, "Cache-Control": "private, no-store"},
    )


@get("/admin/data/{kind:str}/export", include_in_schema=False)
async def data_export(
    request: Request,
    kind: FromPath[str],
    format: FromQuery[str] = "xlsx",  # noqa: A002
) -> Response:
    if kind not in data_io.KINDS or format not in FORMATS:
        raise NotFound(_("Page not found."))
    header, rows = await data_io.export_rows(request.user, kind)
    return export_response(header, rows, kind, format)


UPLOAD_LIMITS = upload_limits(data_io.MAX_FILE_BYTES)


@post("/admin/data/{kind:str}", include_in_schema=False, **UPLOAD_LIMITS)
async def data_import(request: Request, kind: FromPath[str]) -> Template:
    if kind not in data_io.KINDS:
        raise NotFound(_("Page not found."))
    name, data = await uploaded_file(request, data_io.MAX_FILE_BYTES)
    try:
        result = await data_io.import_file(request.user, kind, name, data)
    except ValidationFailed as exc:
        return _page(
            request,
            status=422,
            failed_kind=kind,
            summary=i18n.error_message(exc),
            problems=[i18n.field_message(e) for e in exc.errors],
        )
    return _page(request, done_kind=kind, result=result)


ROUTES = [data_page, data_export, data_import]
