"""The dealer's own account: ledger and statement (对账单) for a period."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from portal.domain import ledger
from portal.domain.errors import NotFound, _
from portal.web.common import page
from portal.web.finance import parse_day


@get("/account/statement", include_in_schema=False)
async def statement_page(
    request: Request,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Template:
    actor = request.user
    if not actor.is_dealer or actor.dealer_id is None:
        raise NotFound(_("Page not found."))
    st = await ledger.statement(actor, actor.dealer_id, start=parse_day(start), end=parse_day(end))
    return page(request, "statement/page.html", {"st": st}, active_tab="me")


ROUTES = [statement_page]
