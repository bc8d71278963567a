"""API backorders: open order lines waiting for stock, oldest first (staff in scope)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter

from portal.api.schemas import BackorderOut, problems
from portal.domain import stock
from portal.domain.scope import Actor


def backorder_out(row: stock.BackorderRow) -> BackorderOut:
    return BackorderOut(
        order_id=row.order_id,
        order_number=row.order_number,
        order_status=row.order_status,
        submitted_at=row.submitted_at,
        dealer_id=row.dealer_id,
        dealer_name=row.dealer_name,
        sku_id=row.sku_id,
        sku_code=row.sku_code,
        sku_name=row.sku_name,
        unit=row.unit,
        qty=row.qty,
        qty_backordered=row.qty_backordered,
    )


@get(
    "/api/v1/backorders",
    tags=["stock"],
    summary="Open backordered order lines, oldest order first",
    description=(
        "Lines of open orders whose quantity (or part of it) waits for stock. Arriving "
        "stock is reserved for them in this order. Warehouse staff, admins and sales "
        "managers (their team's dealers). `limit` lines a page; the next page follows while "
        "a page is full."
    ),
    responses=problems(400, 401, 403),
)
async def list_backorders(
    request: Request[Actor, Any, Any],
    q: Annotated[
        str, QueryParameter(max_length=60, description="SKU, order number or dealer name")
    ] = "",
    sku_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
) -> list[BackorderOut]:
    rows = await stock.list_backorders(
        request.user, q=q, sku_id=sku_id, limit=limit, offset=(page - 1) * limit
    )
    return [backorder_out(r) for r in rows]


ROUTES = [list_backorders]
