"""What every page shares: page-or-fragment rendering, the tab bar, the acting dealer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Template

from portal.domain.errors import NotFound, _
from portal.domain.scope import Actor, dealer_in_scope

ACTING_DEALER_COOKIE = "acting_dealer"


@dataclass(frozen=True)
class Tab:
    key: str
    href: str
    label: str  # msgid, translated in the template
    icon: str


def tabs_for(actor: Actor | None) -> list[Tab]:
    """The bottom tab bar for a role (decided here, never in a template)."""
    if actor is None:
        return []
    if actor.is_dealer:
        return [
            Tab("home", "/", _("Home"), "home"),
            Tab("catalog", "/catalog", _("Catalog"), "grid"),
            Tab("cart", "/cart", _("Cart"), "cart"),
            Tab("orders", "/orders", _("Orders"), "list"),
            Tab("me", "/me", _("Me"), "user"),
        ]
    if actor.role in ("sales_rep", "sales_manager"):
        return [
            Tab("dealers", "/dealers", _("Dealers"), "users"),
            Tab("catalog", "/catalog", _("Catalog"), "grid"),
            Tab("cart", "/cart", _("Cart"), "cart"),
            Tab("orders", "/orders", _("Orders"), "list"),
            Tab("me", "/me", _("Me"), "user"),
        ]
    if actor.role == "admin":
        return [
            Tab("home", "/", _("Home"), "home"),
            Tab("dealers", "/dealers", _("Dealers"), "users"),
            Tab("catalog", "/catalog", _("Catalog"), "grid"),
            Tab("orders", "/orders", _("Orders"), "list"),
            Tab("me", "/me", _("Me"), "user"),
        ]
    return [
        Tab("home", "/", _("Home"), "home"),
        Tab("orders", "/orders", _("Orders"), "list"),
        Tab("me", "/me", _("Me"), "user"),
    ]


def home_path(actor: Actor) -> str:
    return "/dealers" if actor.role in ("sales_rep", "sales_manager") else "/"


def is_htmx(request: Request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    active_tab: str = "",
    status: int = 200,
) -> Template:
    """A full page, or just its fragment for an htmx request (history restores get the page)."""
    actor = request.scope.get("user")
    name = fragment if fragment and is_htmx(request) else template
    ctx = {
        "request": request,
        "actor": actor,
        "tabs": tabs_for(actor),
        "active_tab": active_tab,
        **context,
    }
    return Template(
        template_name=name, context=ctx, status_code=status, headers={"Vary": "HX-Request"}
    )


async def acting_dealer(request: Request) -> dict | None:
    """The dealer the current user orders for: their own, or the one a rep picked."""
    actor: Actor = request.user
    if actor.is_dealer:
        return await dealer_in_scope(actor, actor.dealer_id or -1)
    raw = request.cookies.get(ACTING_DEALER_COOKIE, "")
    if not raw.isdigit():
        return None
    try:
        return await dealer_in_scope(actor, int(raw))
    except NotFound:
        return None
