"""Backorders for staff: open order lines waiting for stock, oldest first (the fill order)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from portal.domain import orders, stock
from portal.web.common import Pager, page

PER_PAGE = 50


@get("/backorders", include_in_schema=False)
async def backorders_page(
    request: Request,
    q: FromQuery[str | None] = None,
    page_no: Annotated[str | None, QueryParameter(name="page")] = None,
) -> Template:
    query = (q or "").strip()[:60]
    total = await stock.count_backorders(request.user, q=query)
    pager = Pager.of(page_no, total, PER_PAGE, "/backorders", q=query)
    rows = await stock.list_backorders(
        request.user, q=query, limit=PER_PAGE, offset=pager.offset(PER_PAGE)
    )
    return page(
        request,
        "backorders/page.html",
        {
            "rows": rows,
            "total": total,
            "pager": pager,
            "q": query,
            "status_labels": orders.STATUS_LABELS,
        },
        fragment="backorders/_rows.html",
        # Warehouse staff reach it from their to-ship tab; others from the orders list.
        active_tab="warehouse" if request.user.role == "warehouse" else "orders",
    )


ROUTES = [backorders_page]
