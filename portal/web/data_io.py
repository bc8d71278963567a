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
from portal.export import data_document
from portal.http_files import document_response, upload_limits, uploaded_file
from portal.web.common import page

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


@get("/admin/data/{kind:str}/export", include_in_schema=False)
async def data_export(
    request: Request,
    kind: FromPath[str],
    format: FromQuery[str] = "xlsx",  # noqa: A002
) -> Response:
    if kind not in data_io.KINDS or format not in FORMATS:
        raise NotFound(_("Page not found."))
    header, rows = await data_io.export_rows(request.user, kind)
    return document_response(data_document(kind, header, rows, format))


@post("/admin/data/{kind:str}", include_in_schema=False, **upload_limits(data_io.MAX_FILE_BYTES))
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
