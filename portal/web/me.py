"""Who I am: name, role, dealer, language and signing out."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from portal.domain import dealers
from portal.domain.errors import NotFound, _
from portal.http_files import supplier_now
from portal.web.common import acting_dealer_id, page

ROLE_LABELS = {
    "dealer_admin": _("Dealer administrator"),
    "dealer_buyer": _("Dealer buyer"),
    "sales_rep": _("Sales representative"),
    "sales_manager": _("Sales manager"),
    "finance": _("Finance"),
    "warehouse": _("Warehouse"),
    "admin": _("Administrator"),
}


@get("/me", include_in_schema=False)
async def me_page(request: Request) -> Template:
    actor = request.user
    card = None
    dealer_id = acting_dealer_id(request)
    if dealer_id is not None:
        try:
            card = await dealers.dealer_card(actor, dealer_id)
        except NotFound:
            card = None
    # A dealer's people see whom they buy from, with a number to call.
    issuer = await supplier_now(request) if actor.is_dealer else None
    context = {
        "role_label": ROLE_LABELS.get(actor.role, actor.role),
        "dealer": card,
        "dealer_is_own": actor.is_dealer,
        "issuer": issuer if issuer and issuer.name else None,
    }
    return page(request, "me/page.html", context, active_tab="me")


ROUTES = [me_page]
