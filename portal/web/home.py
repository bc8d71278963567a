"""The home page: for a dealer, credit, recent orders and quick links; for staff, their tools."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request, get
from litestar.response import Redirect, Response

from portal.domain import credit, ledger, orders, promotions, reports, shipments
from portal.domain.errors import _
from portal.domain.scope import Actor
from portal.web.common import Tab, acting_dealer, home_path, page, tabs_for

RECENT_ORDERS = 5
RECENT_PARCELS = 5  # parcels to confirm shown on a dealer's home; the rest behind a link
# Staff whose home is the dealer picker (they order for a dealer on a visit).


@dataclass(frozen=True)
class CreditCard:
    limit_fen: int
    used_fen: int
    available_fen: int


@dataclass(frozen=True)
class QuickLink:
    href: str
    label: str  # msgid
    icon: str


DEALER_LINKS = [
    QuickLink("/catalog", _("Browse the catalog"), "grid"),
    QuickLink("/cart#quick-order", _("Quick order"), "cart"),
    QuickLink("/catalog?favourites=1", _("Favourites"), "star"),
    QuickLink("/orders", _("My orders"), "list"),
]


PAUSED_LINKS = [link for link in DEALER_LINKS if link.href == "/orders"]


def staff_links(actor: Actor) -> list[Tab]:
    """What a staff member can reach: their tab bar, less home and their own page, and the
    reports where their role has them."""
    links = [t for t in tabs_for(actor) if t.key not in ("home", "me")]
    if actor.role in reports.REPORT_ROLES and all(t.key != "reports" for t in links):
        links.append(Tab("reports", "/reports", _("Reports"), "chart"))
    return links


@get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    actor = request.user
    if home_path(actor) != "/":
        return Redirect(home_path(actor), status_code=303)
    if not actor.is_dealer:
        return page(
            request,
            "home/staff.html",
            {"links": staff_links(actor)},
            active_tab="home",
        )
    dealer = await acting_dealer(request)
    recent = await orders.list_orders(actor, page=1, per_page=RECENT_ORDERS)
    card = CreditCard(
        limit_fen=int(dealer["credit_limit_fen"] or 0),
        used_fen=credit.exposure_fen(dealer),
        available_fen=credit.available_fen(dealer),
    )
    overdue = await ledger.overdue_state(actor, dealer["id"])
    parcels, parcels_count = await shipments.awaiting_receipt(actor, limit=RECENT_PARCELS)
    ctx = {
        "dealer": dealer,
        "credit": card,
        "recent": recent.items,
        "parcels": parcels,
        "parcel_labels": shipments.STATUS_LABELS,
        "parcels_count": parcels_count,
        "more_orders": recent.has_more,
        "status_labels": orders.STATUS_LABELS,
        # A paused dealer (an administrator switched it off) may read, not order: the home
        # says so and offers only what still opens.
        "paused": not dealer.get("active", True),
        "links": DEALER_LINKS if dealer.get("active", True) else PAUSED_LINKS,
        "overdue_fen": overdue.overdue_fen,
        "orders_blocked": overdue.orders_blocked,
        "statement_link": True,
        "promotions": await promotions.running_for(actor, dealer),
    }
    return page(request, "home/page.html", ctx, active_tab="home")


ROUTES = [home]
