"""What every page shares: page-or-fragment rendering, the tab bar, the acting dealer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from portal import i18n
from portal.domain import dealers, notifications
from portal.domain.dealers import DealerCard
from portal.domain.errors import DomainError, NotFound, _
from portal.domain.scope import Actor, dealer_in_scope
from portal.http_files import supplier_now

ACTING_DEALER_COOKIE = "acting_dealer"
CHROME_STATE = "page_chrome"


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
    me = Tab("me", "/me", _("Me"), "user")
    orders_tab = Tab("orders", "/orders", _("Orders"), "list")
    if actor.is_dealer:
        return [
            Tab("home", "/", _("Home"), "home"),
            Tab("catalog", "/catalog", _("Catalog"), "grid"),
            Tab("cart", "/cart", _("Cart"), "cart"),
            orders_tab,
            me,
        ]
    if actor.role == "sales_rep":
        return [
            Tab("dealers", "/dealers", _("Dealers"), "users"),
            Tab("catalog", "/catalog", _("Catalog"), "grid"),
            Tab("cart", "/cart", _("Cart"), "cart"),
            orders_tab,
            me,
        ]
    reports_tab = Tab("reports", "/reports", _("Reports"), "chart")
    if actor.role == "sales_manager":
        return [
            Tab("approvals", "/approvals", _("Approvals"), "check"),
            reports_tab,
            Tab("dealers", "/dealers", _("Dealers"), "users"),
            orders_tab,
            me,
        ]
    if actor.role == "finance":
        return [
            Tab("approvals", "/approvals", _("Approvals"), "check"),
            Tab("finance", "/finance", _("Accounts"), "wallet"),
            reports_tab,
            orders_tab,
            me,
        ]
    if actor.role == "warehouse":
        return [
            Tab("warehouse", "/warehouse", _("To ship"), "truck"),
            Tab("stock", "/stock", _("Stock"), "box"),
            orders_tab,
            me,
        ]
    return [  # admin
        Tab("home", "/", _("Home"), "home"),
        Tab("approvals", "/approvals", _("Approvals"), "check"),
        Tab("dealers", "/dealers", _("Dealers"), "users"),
        orders_tab,
        me,
    ]


HOME_PATHS = {
    "sales_rep": "/dealers",
    "sales_manager": "/approvals",
    "finance": "/approvals",
    "warehouse": "/warehouse",
}


def home_path(actor: Actor) -> str:
    """Where a role lands after signing in (and when opening the app from the home screen)."""
    return HOME_PATHS.get(actor.role, "/")


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
    chrome: PageChrome = request.state.get(CHROME_STATE) or PageChrome()
    cookies: list[Cookie] = []
    if "flash" not in context and not is_htmx(request):
        # What the previous action left ("保存成功"), for a page that does not read it itself:
        # shown once (layout/_flash.html), then cleared.
        left = take_flash(request)
        if left is not None:
            context = {**context, "flash": left, "flash_by_layout": True}
            cookies.append(_FLASH_CLEARED)
    ctx = {
        "request": request,
        "actor": actor,
        "tabs": tabs_for(actor),
        "active_tab": active_tab,
        "cart_count": chrome.cart_count,
        "acting": chrome.acting,
        "show_acting_banner": chrome.show_banner,
        "brand": chrome.brand,
        "unread_count": chrome.unread,
        **context,
    }
    return Template(
        template_name=name,
        context=ctx,
        status_code=status,
        headers={"Vary": "HX-Request"},
        cookies=cookies or None,
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


def acting_dealer_id(request: Request) -> int | None:
    """The dealer id the request orders for, before any scope check (the domain checks it)."""
    actor: Actor | None = request.scope.get("user")
    if actor is None:
        return None
    if actor.is_dealer:
        return actor.dealer_id
    raw = request.cookies.get(ACTING_DEALER_COOKIE, "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


@dataclass(frozen=True)
class PageChrome:
    """What the frame of every page shows: the cart badge and, for staff, whom they order for."""

    cart_count: int = 0
    acting: DealerCard | None = None
    # Staff who order see the banner: the acting dealer, or a prompt to choose one.
    show_banner: bool = False
    # The supplier's name in the top bar (its settings), for people signed in.
    brand: str = ""
    # Unread notifications (decisions on orders, returns...): the bell in the top bar.
    unread: int = 0


async def load_page_chrome(request: Request) -> Any:
    """before_request for the pages: run the app's own hook, then load the badge and banner.

    A router-level before_request replaces the app-level one, so the app's hook (the reader's
    locale) is called first. Fragments (htmx requests) skip the queries: they carry their own
    out-of-band badge where it changes.
    """
    app_hook = request.app.before_request
    if app_hook is not None:
        result = app_hook(request)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            return result
    actor: Actor | None = request.scope.get("user")
    if actor is not None and request.method == "POST" and actor.is_staff:
        stale = await _stale_dealer_page(request)
        if stale is not None:
            return stale
    if actor is None or is_htmx(request):
        return None
    issuer = await supplier_now(request)
    unread = await notifications.unread_count(actor)
    if not actor.can_order:
        request.state[CHROME_STATE] = PageChrome(brand=issuer.name, unread=unread)
        return None
    dealer_id = acting_dealer_id(request)
    card: DealerCard | None = None
    if dealer_id is not None and not actor.is_dealer:
        try:
            card = await dealers.dealer_card(actor, dealer_id)
        except NotFound:
            card = None
    if (
        card is None
        and dealer_id is not None
        and not actor.is_dealer
        and request.url.path.startswith(ORDERING_PATHS)
    ):
        # No card: out of scope, or paused since it was chosen (the cards leave paused dealers
        # out); the catalog and cart would answer a paused one only 403.
        chosen = await acting_dealer(request)
        if chosen is not None and not chosen["active"]:
            message = i18n.gettext(
                "%(name)s is paused: no orders can be placed for it. Choose another dealer.",
                name=chosen["name"],
            )
            return _go(request, "/dealers", message)
    count = 0
    if actor.is_dealer or card is not None:
        count = await dealers.cart_count(actor, card.id if card else dealer_id)
    # The banner names the dealer staff order for; with none chosen it prompts a rep (whose
    # visits are ordering), not a manager or an administrator on every page.
    banner = actor.is_staff and (card is not None or actor.role == "sales_rep")
    request.state[CHROME_STATE] = PageChrome(
        cart_count=count, acting=card, show_banner=banner, brand=issuer.name, unread=unread
    )
    return None


FOR_DEALER_HEADER = "x-for-dealer"
# Where staff act for the dealer they chose: what the check below guards.
ORDERING_PATHS = ("/cart", "/catalog", "/products/")


async def _stale_dealer_page(request: Request) -> Response | None:
    """A page drawn for one dealer that acts after its staff member switched to another (two
    tabs, or the picker used meanwhile): the cart, steppers and submit would otherwise act on
    whoever the cookie names now, and place an order for a dealer the page never showed.
    Pages say whom they were drawn for (the x-for-dealer header htmx sends, or a for_dealer
    field in plain forms); when it is not the acting dealer, nothing is done and the page is
    drawn again for the dealer now chosen, saying so."""
    if not request.url.path.startswith(ORDERING_PATHS):
        return None  # an approval or a shipment is not done for the acting dealer
    shown = request.headers.get(FOR_DEALER_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not shown and content_type.startswith("application/x-www-form-urlencoded"):
        shown = str((await request.form()).get("for_dealer") or "")
    if not shown:
        return None
    card = await acting_dealer(request)
    if card is not None and shown == str(card["id"]):
        return None
    if card is None and shown == str(acting_dealer_id(request) or ""):
        # The same dealer, no longer the staff member's (reassigned meanwhile, or paused):
        # said plainly, rather than every tap failing with "request failed".
        message = i18n.gettext(
            "You no longer order for this dealer (it was given to another rep or paused): "
            "choose a dealer."
        )
        return _go(request, "/dealers", message)
    message = (
        i18n.gettext(
            "You now order for %(name)s: that page was for another dealer, so nothing was "
            "changed. Check this page and try again.",
            name=card["name"],
        )
        if card
        else i18n.gettext(
            "That page was for a dealer you no longer order for, so nothing was changed."
        )
    )
    return _go(request, "/cart" if card else "/dealers", message)


def _go(request: Request, where: str, message: str) -> Response:
    """To `where`, saying `message` there (HX-Redirect for htmx, 303 otherwise)."""
    if is_htmx(request):
        response: Response = Response(content=b"", status_code=200, headers={"HX-Redirect": where})
    else:
        response = Redirect(where, status_code=303)
    return flash(response, "warn", [message])


FLASH_COOKIE = "flash"
MAX_FLASH = 10


def page_number(raw: str | None) -> int:
    """?page=N; anything else (missing, not a number, absurd) is the first page."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) <= 6 and int(text) > 0 else 1


@dataclass(frozen=True)
class Pager:
    """Page N of M of a list, with links to the pages before and after that keep the list's
    other parameters (layout/_pager.html)."""

    page: int
    pages: int
    path: str  # "/backorders"
    query: dict[str, str]  # the list's other parameters, e.g. {"q": "A100"}

    @classmethod
    def of(cls, asked: str | None, total: int, per_page: int, path: str, **query: str) -> Pager:
        """The page asked for (?page=; past the last one, the last one) of `total` rows."""
        pages = max(1, -(-int(total) // per_page))
        kept = {k: v for k, v in query.items() if v}
        return cls(page=min(page_number(asked), pages), pages=pages, path=path, query=kept)

    def offset(self, per_page: int) -> int:
        return (self.page - 1) * per_page

    def url(self, number: int) -> str:
        return f"{self.path}?{urlencode({**self.query, 'page': number})}"

    @property
    def prev_url(self) -> str:
        return self.url(self.page - 1)

    @property
    def next_url(self) -> str:
        return self.url(self.page + 1)


def variant_extra(name: str, spec: str, colour: str) -> str:
    """What to say after a SKU's name to tell it from its siblings: its spec and colour, unless
    the name says them already (柔顺 200ml is not followed by 200ml 柔顺 again)."""
    return " ".join(p for p in (spec, colour) if p and p not in name)


def field_errors(exc: DomainError) -> dict[str, str]:
    """A refused form's messages by field, translated, for the form's template."""
    return {e.field: i18n.field_message(e) for e in exc.errors}


def whole_number(data: dict[str, Any], name: str, digits: int = 6) -> int:
    """A form field's whole number from 0, or -1 for anything else (empty, signed, not ASCII
    digits, over `digits` long), which the domain's range check then refuses in words."""
    text = str(data.get(name) or "").strip()
    return int(text) if len(text) <= digits and text.isascii() and text.isdigit() else -1


def checked(data: dict[str, Any], name: str) -> bool:
    """Whether a form's checkbox was ticked."""
    return str(data.get(name) or "") in ("1", "on", "true")


# Signs the flash cookie (create_app sets it from the secret key): a cookie planted by
# someone else (a sibling subdomain, a script on the network) must not put their text in the
# portal's own alert box.
flash_key = secrets.token_bytes(32)


def _flash_signature(body: str) -> str:
    return hmac.new(flash_key, body.encode(), hashlib.sha256).hexdigest()[:32]


def flash(response: Response, kind: str, messages: list[str]) -> Response:
    """Messages for the next page (after a redirect): already translated, shown once."""
    payload = json.dumps({"kind": kind, "messages": [m[:300] for m in messages[:MAX_FLASH]]})
    body = base64.urlsafe_b64encode(payload.encode()).decode()
    value = f"{body}.{_flash_signature(body)}"
    response.cookies.append(
        Cookie(key=FLASH_COOKIE, value=value, httponly=True, samesite="lax", path="/", max_age=120)
    )
    return response


def take_flash(request: Request) -> dict | None:
    """The flash left by the previous response, if any (the caller clears it with clear_flash)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    body, _dot, signature = raw.rpartition(".")
    if not body or not hmac.compare_digest(signature, _flash_signature(body)):
        return None  # not of our making
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        kind = data["kind"] if data.get("kind") in ("ok", "warn", "error") else "ok"
        messages = [str(m)[:300] for m in data.get("messages", [])][:MAX_FLASH]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return {"kind": kind, "messages": messages}


_FLASH_CLEARED = Cookie(
    key=FLASH_COOKIE, value="", httponly=True, samesite="lax", path="/", max_age=0
)


def done(where: str, message: str, **params: Any) -> Response:
    """After a change, back to `where` with a word of what was done ("已保存")."""
    return flash(Redirect(where, status_code=303), "ok", [i18n.gettext(message, **params)])


def clear_flash(response: Response) -> Response:
    response.cookies.append(_FLASH_CLEARED)
    return response


def in_use_lines(uses: Any, row: dict[str, Any]) -> list[str]:
    """What still refers to a row that cannot be removed (portal.domain.removal), one
    translated line per kind of use, from the row's `uses` counts."""
    return [i18n.gettext(u.message, n=row["uses"][u.key]) for u in uses if row["uses"][u.key]]
