"""API stock for warehouse staff: levels by SKU and warehouse, and adjustments with a reason."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import JSONBody, QueryParameter
from msgspec import Meta, Struct

from portal.api.schemas import Id, problems
from portal.domain import stock
from portal.domain.scope import Actor


class StockOut(Struct):
    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    unit: str
    warehouse_id: int
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int
    safety_stock: int
    under_safety: bool


class AdjustIn(Struct):
    warehouse_id: Id
    sku_id: Id
    reason: Annotated[str, Meta(description="receipt, count or damage")]
    qty: Annotated[
        int, Meta(ge=0, le=10**7, description="received / counted / damaged, base units")
    ]
    note: Annotated[str, Meta(max_length=200)] = ""


def stock_out(row: stock.StockRow) -> StockOut:
    return StockOut(
        sku_id=row.sku_id,
        sku_code=row.sku_code,
        sku_name=row.sku_name,
        barcode=row.barcode,
        unit=row.unit,
        warehouse_id=row.warehouse_id,
        warehouse_code=row.warehouse_code,
        on_hand=row.on_hand,
        reserved=row.reserved,
        available=row.available,
        safety_stock=row.safety_stock,
        under_safety=row.under_safety,
    )


@get(
    "/api/v1/stock",
    tags=["stock"],
    summary="Stock by SKU and warehouse (warehouse staff)",
    responses=problems(400, 401, 403),
)
async def list_stock(
    request: Request[Actor, Any, Any],
    q: Annotated[str, QueryParameter(max_length=60, description="code, name or barcode")] = "",
    warehouse_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    under_safety: Annotated[bool, QueryParameter()] = False,
) -> list[StockOut]:
    rows = await stock.list_stock(
        request.user, q=q, warehouse_id=warehouse_id, under_safety=under_safety
    )
    return [stock_out(r) for r in rows]


@post(
    "/api/v1/stock/adjust",
    tags=["stock"],
    summary="Adjust on-hand stock with a reason (audited; never below reserved)",
    status_code=200,
    responses=problems(400, 401, 403, 404, 422),
)
async def adjust(request: Request[Actor, Any, Any], data: JSONBody[AdjustIn]) -> StockOut:
    row = await stock.adjust_stock(
        request.user,
        warehouse_id=data.warehouse_id,
        sku_id=data.sku_id,
        reason=data.reason,
        qty=str(data.qty),
        note=data.note,
    )
    return stock_out(row)


ROUTES = [list_stock, adjust]
