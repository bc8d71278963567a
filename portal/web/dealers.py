"""The dealer picker for reps and managers, and choosing whom to order for."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from portal.domain import dealers
from portal.web.common import (
    ACTING_DEALER_COOKIE,
    acting_dealer_id,
    clear_flash,
    is_htmx,
    page,
    take_flash,
)

PER_PAGE = 30
MAX_PAGE = 1000
MAX_QUERY = 50  # as the catalog's own search box


def _page_number(raw: str | None) -> int:
    # A bad page number is not worth an error: show the first page.
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


@get("/dealers", include_in_schema=False)
async def dealer_picker(
    request: Request,
    q: FromQuery[str | None] = None,
    page_no: Annotated[str | None, QueryParameter(name="page")] = None,
) -> Template | Redirect:
    if request.user.is_dealer:
        # A dealer's own users always order for their dealer: nothing to pick.
        return Redirect("/", status_code=303)
    number = _page_number(page_no)
    query = (q or "").strip()[:50]
    found = await dealers.list_page(request.user, q=query, page=number, per_page=PER_PAGE)
    context = {
        "cards": found.items,
        "q": query,
        "page_no": number,
        "has_more": found.has_more,
        "current_id": acting_dealer_id(request),
    }
    if context["current_id"] is None:
        # The banner would only say "choose a dealer" on the page where one is chosen.
        context["show_acting_banner"] = False
    # Why the rep was sent here (the dealer they ordered for is no longer theirs).
    context["flash"] = take_flash(request)
    # Search-as-you-type swaps the list; "load more" appends rows.
    fragment = "dealers/_rows.html" if number > 1 else "dealers/_list.html"
    response = page(request, "dealers/page.html", context, fragment=fragment, active_tab="dealers")
    return clear_flash(response) if context["flash"] else response


@post("/dealers/{dealer_id:int}/act", include_in_schema=False)
async def act_for_dealer(request: Request, dealer_id: FromPath[int]) -> Redirect:
    """Order for this dealer: the catalog, or with `q` (a product the visit card lists) the
    catalog's search for it, so that the rep taps its stepper."""
    card = await dealers.dealer_card(request.user, dealer_id)  # NotFound (404) outside scope
    form = await request.form()
    query = " ".join(str(form.get("q") or "").split())[:MAX_QUERY]
    target = f"/catalog?{urlencode({'q': query})}" if query else "/catalog"
    response = Redirect(target, status_code=303)
    if is_htmx(request):
        response.headers["HX-Redirect"] = target
    response.cookies.append(
        Cookie(
            key=ACTING_DEALER_COOKIE,
            value=str(card.id),
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/",
            max_age=12 * 3600,
        )
    )
    return response


ROUTES = [dealer_picker, act_for_dealer]
