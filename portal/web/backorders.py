"""Backorders for staff: open order lines waiting for stock, oldest first (the fill order)."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from portal.domain import orders, stock
from portal.web.common import page

MAX_ROWS = 200


@get("/backorders", include_in_schema=False)
async def backorders_page(request: Request, q: FromQuery[str | None] = None) -> Template:
    query = (q or "").strip()[:60]
    rows = await stock.list_backorders(request.user, q=query, limit=MAX_ROWS)
    return page(
        request,
        "backorders/page.html",
        {
            "rows": rows,
            "q": query,
            "truncated": len(rows) >= MAX_ROWS,
            "status_labels": orders.STATUS_LABELS,
        },
        fragment="backorders/_rows.html",
        # Warehouse staff reach it from their to-ship tab; others from the orders list.
        active_tab="warehouse" if request.user.role == "warehouse" else "orders",
    )


ROUTES = [backorders_page]
