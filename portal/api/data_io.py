"""API: bulk export (CSV or Excel) and import (all or nothing) of products, prices, contract
prices, stock and dealers; administrators, and warehouse staff for stock."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, get, post
from litestar.params import FromQuery, PathParameter
from litestar.response import Response
from msgspec import Struct

from portal.api.schemas import file_operation, problems, upload_operation
from portal.domain import data_io
from portal.domain.scope import Actor
from portal.export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, data_document
from portal.http_files import document_response, upload_limits, uploaded_file

Kind = Annotated[
    Literal["products", "prices", "contract_prices", "stock", "dealers"],
    PathParameter(description="what to export or import"),
]
COLUMNS = "; ".join(f"{k}: {', '.join(v)}" for k, v in data_io.COLUMNS.items())


class ImportResult(Struct):
    created: int
    updated: int
    unchanged: int


@get(
    "/api/v1/data/{kind:str}",
    tags=["data"],
    summary="Export as CSV (format=csv) or Excel (format=xlsx); the first row names the columns",
    description=COLUMNS,
    operation_class=file_operation(
        "The rows, the first naming the columns", CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
    ),
    responses=problems(401, 403, 404),
)
async def export_data(
    request: Request[Actor, Any, Any],
    kind: Kind,
    format: FromQuery[Literal["csv", "xlsx"]] = "csv",  # noqa: A002 - the parameter's name
) -> Response[bytes]:
    header, rows = await data_io.export_rows(request.user, kind)
    return document_response(data_document(kind, header, rows, format))


@post(
    "/api/v1/data/{kind:str}",
    tags=["data"],
    summary="Import a CSV or Excel file sent as multipart field `file`: all rows or none",
    description="A file with any wrong row answers 422 with the problems by row "
    "(`row N`) and changes nothing. Blank cells leave values as they are. " + COLUMNS,
    status_code=200,
    operation_class=upload_operation(
        "file", "The CSV (UTF-8) or Excel (.xlsx) file, its first row naming the columns"
    ),
    responses=problems(401, 403, 413, 422),
    **upload_limits(data_io.MAX_FILE_BYTES),
)
async def import_data(request: Request[Actor, Any, Any], kind: Kind) -> ImportResult:
    name, data = await uploaded_file(request, data_io.MAX_FILE_BYTES)
    result = await data_io.import_file(request.user, kind, name, data)
    return ImportResult(created=result.created, updated=result.updated, unchanged=result.unchanged)


ROUTES = [export_data, import_data]
