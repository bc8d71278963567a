"""Catalog pages: search with chips and filters, steppers that fill the cart, product pages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import MultiDict
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response

from portal import i18n
from portal.domain import cart, catalog, catalog_admin, pricing, stock
from portal.domain.catalog import CatalogItem
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.pricing import PriceQuote
from portal.domain.quantities import (
    MAX_LINE_QTY,
    QtyTooLarge,
    normalise,
    offers_pack_step,
    pack_step,
    parse_qty,
    parse_qty_unit,
    to_base_units,
)
from portal.domain.scope import ACCOUNT_BLIND_ROLES
from portal.web.common import CHROME_STATE, PageChrome, acting_dealer, is_htmx, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

PER_PAGE = 20
MAX_PAGE = 10_000
MAX_Q = catalog.MAX_QUERY_CHARS
TRUE_VALUES = ("1", "on", "true", "yes")
FALSE_VALUES = ("", "0", "off", "false", "no")
# Sort keys as the page offers them (msgids); the domain owns the list of valid keys.
SORT_LABELS = {
    "relevance": _("Best match"),
    "name": _("Name"),
    "price_asc": _("Price: low to high"),
    "price_desc": _("Price: high to low"),
    "code": _("Code"),
}
AVAILABILITY_LABELS = {
    "in_stock": _("In stock"),
    "low": _("Low stock"),
    "out": _("Out of stock"),
}


# --- what a row shows -------------------------------------------------------------------------


@dataclass
class Row:
    """One SKU as a catalog row: the item, what is in the cart, and the price at that quantity."""

    item: CatalogItem
    qty: int
    quote: PriceQuote
    rule_label: str
    next_label: str
    availability_label: str
    line_total_fen: int
    in_packs: str  # "= 2 箱" when the quantity is whole packs
    qty_label: str  # the quantity field's accessible name
    error: str = ""
    offers: tuple[str, ...] = ()  # 买赠 this SKU earns ("买 24 瓶赠 1 瓶")
    pack_price_fen: int | None = None  # one (largest) pack at this quantity's price
    # "+1 箱" for a SKU with a pack larger than the + step; its hidden words say the pack's size
    pack_step_label: str = ""
    pack_step_size: str = ""


async def shows_stock_figures(request: Request) -> bool:
    defaults = request.app.state.supplier_defaults
    return await catalog.shows_stock_figures(request.user, defaults)


def availability_text(item: CatalogItem, show_qty: bool) -> str:
    """In stock / low / out, and with show_qty how many base units are available; a SKU
    short of stock that accepts backorders says so (an order for it is still taken)."""
    label = i18n.gettext(AVAILABILITY_LABELS.get(item.availability, ""))
    if item.allow_backorder and item.availability != "in_stock":
        label = f"{label} · {i18n.gettext('backorders accepted')}"
    if not show_qty:
        return label
    return i18n.gettext(
        "%(label)s · %(n)s %(unit)s",
        label=label,
        n=i18n.number(max(item.available_qty, 0)),
        unit=item.unit,
    )


def make_row(
    item: CatalogItem,
    qty: int,
    error: str = "",
    show_qty: bool = False,
    offers: dict[int, list[str]] | None = None,
) -> Row:
    quote = item.quote_for(qty) if qty > 0 and item.price_inputs is not None else item.quote
    nb = quote.next_break
    if nb is not None and qty <= 0:
        # Nothing in the cart yet: the whole break is still to buy ("再买 10 箱", not the
        # 239 罐 of a quote priced for one unit).
        nb = replace(nb, more_qty=nb.min_qty)
    packs = ""
    if qty > 0 and item.pack_factor and item.pack_name and qty % item.pack_factor == 0:
        packs = i18n.gettext("= %(n)s %(pack)s", n=qty // item.pack_factor, pack=item.pack_name)
    step_label = step_size = ""
    if item.pack_name and offers_pack_step(item.pack_factor, item.order_multiple):
        step_label = i18n.gettext("+1 %(pack)s", pack=item.pack_name)
        step_size = i18n.gettext("= %(n)s %(pack)s", n=item.pack_factor, pack=item.unit)
    return Row(
        item=item,
        qty=qty,
        quote=quote,
        rule_label=pricing.rule_label(quote.rule, quote.rule_params),
        next_label=pricing.next_break_label(nb) if nb else "",
        availability_label=availability_text(item, show_qty),
        line_total_fen=quote.line_total_fen(qty) if qty > 0 else 0,
        in_packs=packs,
        # Here rather than in the row's template: Jinja's gettext with arguments costs several
        # times Python's, once per row of every catalog page.
        qty_label=i18n.gettext("Quantity of %(name)s in %(unit)s", name=item.name, unit=item.unit),
        error=error,
        offers=tuple((offers or {}).get(item.sku_id, ())),
        # At the row's own quantity: past a volume break a 箱 costs 24 at the break's price.
        pack_price_fen=item.pack_price_fen(quote=quote),
        pack_step_label=step_label,
        pack_step_size=step_size,
    )


def stepped(qty: int, direction: str, item: CatalogItem) -> int:
    """What the − and + buttons propose: steps of the order multiple, from the first quantity;
    "+1 箱" (direction "pack") one of the SKU's largest pack.

    Only a proposal for the stepper; cart.set_qty decides whether the quantity is allowed.
    """
    step = max(item.order_multiple, 1)
    start = item.first_qty
    if direction == "pack" and item.pack_factor:
        return pack_step(qty, item.pack_factor, first=start, order_multiple=step)
    if direction == "up":
        return start if qty < start else qty + step
    if direction == "down":
        lower = qty - step
        return lower if lower >= start else 0
    return qty


def cart_quantities(view: Any) -> dict[int, int]:
    if view is None:
        return {}
    return {int(line.sku_id): int(line.qty) for line in view.lines}


# --- parsing input ----------------------------------------------------------------------------


@dataclass
class Query:
    q: str = ""
    category: int | None = None  # the top-level chip
    sub: int | None = None  # the second-level chip
    in_stock: bool = False
    favourites: bool = False
    sort: str = "relevance"
    page: int = 1
    errors: list[FieldError] = field(default_factory=list)

    def params(self, **changes: Any) -> dict[str, Any]:
        values = {
            "q": self.q,
            "category": self.category,
            "sub": self.sub,
            "in_stock": "1" if self.in_stock else "",
            "favourites": "1" if self.favourites else "",
            "sort": "" if self.sort == "relevance" else self.sort,
            "page": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def url(self, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"/catalog?{query}" if query else "/catalog"


PAGE_MESSAGE = _("The page number must be a whole number from 1 to %(max)s.")
CATEGORY_MESSAGE = _("Choose a category from the list.")
FLAG_MESSAGES = {
    "in_stock": _("The in-stock filter must be on or off."),
    "favourites": _("The favourites filter must be on or off."),
}


def _positive_int(
    raw: str, name: str, errors: list[FieldError], maximum: int, message: str
) -> int | None:
    text = i18n_normalise(raw)
    if text == "":
        return None
    if text.isdigit() and 1 <= int(text) <= maximum:
        return int(text)
    errors.append(FieldError(name, message, {"max": maximum}))
    return None


def i18n_normalise(raw: str) -> str:
    # Full-width digits typed on a Chinese keyboard are digits all the same.
    return normalise(raw).strip()


def _flag(raw: str, name: str, errors: list[FieldError]) -> bool:
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    errors.append(FieldError(name, FLAG_MESSAGES[name]))
    return False


def parse_query(params: MultiDict) -> Query:
    """The catalog's query string; each bad value becomes a field error, never a guess."""
    query = Query()
    errors = query.errors
    q = str(params.get("q") or "")
    if len(q) > MAX_Q:
        errors.append(FieldError("q", _("Search for at most %(max)s characters."), {"max": MAX_Q}))
        q = q[:MAX_Q]
    query.q = q.strip()
    query.category = _positive_int(
        str(params.get("category") or ""), "category", errors, 2**31, CATEGORY_MESSAGE
    )
    query.sub = _positive_int(str(params.get("sub") or ""), "sub", errors, 2**31, CATEGORY_MESSAGE)
    query.in_stock = _flag(str(params.get("in_stock") or ""), "in_stock", errors)
    query.favourites = _flag(str(params.get("favourites") or ""), "favourites", errors)
    sort = str(params.get("sort") or "relevance")
    if sort not in catalog.SORTS:
        errors.append(FieldError("sort", _("Unknown sort order %(sort)s."), {"sort": sort[:30]}))
        sort = "relevance"
    query.sort = sort
    raw_page = str(params.get("page") or "")
    query.page = _positive_int(raw_page, "page", errors, MAX_PAGE, PAGE_MESSAGE) or 1
    return query


def _find(tree: list[dict], category_id: int) -> tuple[dict | None, dict | None]:
    """(top-level node, second-level node) on the way to a category; (None, None) if unknown."""

    def contains(node: dict) -> bool:
        return node["id"] == category_id or any(contains(c) for c in node["children"])

    for top in tree:
        if top["id"] == category_id:
            return top, None
        for child in top["children"]:
            if contains(child):
                return top, child
    return None, None


def resolve_category(query: Query, tree: list[dict]) -> tuple[int | None, list[dict]]:
    """The category to search, and the second-level chips to offer under the chosen top chip.

    A sub chip only counts while it sits under the chosen top chip: picking another top chip
    drops the sub chip the browser still sends. A deeper category id in a link is searched
    as it is, with its top and second-level ancestors shown as chosen.
    """
    if query.category is None:
        query.sub = None
        return None, []
    requested = query.category
    top, sub = _find(tree, requested)
    if top is None:
        query.errors.append(FieldError("category", CATEGORY_MESSAGE))
        query.category = query.sub = None
        return None, []
    search_id = requested
    if query.sub is not None:
        chosen = next((c for c in top["children"] if c["id"] == query.sub), None)
        if chosen is not None:
            sub, search_id = chosen, chosen["id"]
    query.category = top["id"]
    query.sub = sub["id"] if sub else None
    return search_id, top["children"]


def messages(errors: list[FieldError]) -> list[str]:
    return [i18n.field_message(e) for e in errors]


def _bad_qty_message(sku_code: str, error: ValueError) -> str:
    """What is wrong with a typed quantity the parser refused: too large, or not a count."""
    if isinstance(error, QtyTooLarge):
        return i18n.gettext(
            "%(sku)s: at most %(max)s per line.", sku=sku_code, max=f"{MAX_LINE_QTY:,}"
        )
    return i18n.gettext("%(sku)s: the quantity must be a positive whole number.", sku=sku_code)


def _safe_back(value: str | None, fallback: str = "/catalog") -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return fallback


def _no_dealer(request: Request) -> Response:
    """Staff with no dealer picked: plain requests go to the picker, htmx ones are told to.
    Warehouse staff have no picker (they see no dealer's account, prices included)."""
    if request.user.role in ACCOUNT_BLIND_ROLES:
        raise Forbidden(_("Your role cannot see a dealer's catalog or prices."))
    if is_htmx(request):
        return Response(b"", status_code=204, headers={"HX-Redirect": "/dealers"})
    return Redirect("/dealers", status_code=303)


def cart_oob(view: Any) -> dict[str, Any]:
    """The badge count and the sticky summary, from the cart as the domain just returned it."""
    return {"cart_count": view.count, "cart_summary": view}


# --- the catalog list -------------------------------------------------------------------------


@dataclass(frozen=True)
class EmptyCart:
    """What the catalog shows of a cart known to be empty: no quantities, a hidden summary."""

    count: int = 0
    total_fen: int = 0
    lines: tuple = ()


async def _cart_for_page(request: Request, dealer: dict) -> Any:
    """The cart as the catalog page shows it (quantities on the rows, the sticky summary).

    The page frame has just counted the cart's lines for the badge (load_page_chrome); when
    that count is zero for this very dealer the cart is empty and pricing it would show
    nothing, so it is not loaded again. An inactive dealer still goes through cart.get_cart,
    which refuses it as before.
    """
    actor = request.user
    chrome = request.state.get(CHROME_STATE)
    if (
        isinstance(chrome, PageChrome)
        and chrome.cart_count == 0
        and dealer.get("active")
        and (chrome.acting.id == dealer["id"] if chrome.acting else actor.is_dealer)
        and (not actor.is_dealer or actor.dealer_id == dealer["id"])
    ):
        return EmptyCart()
    return await cart.get_cart(actor, dealer["id"])


@get("/catalog", include_in_schema=False)
async def catalog_page(request: Request) -> Response:
    dealer = await acting_dealer(request)
    if dealer is None:
        return _no_dealer(request)
    actor = request.user
    query = parse_query(request.query_params)
    categories = await catalog.category_rows()
    tree = catalog.tree_of(categories)
    category_id, subcats = resolve_category(query, tree)
    ctx: dict[str, Any] = {
        "query": query,
        "tree": tree,
        "subcats": subcats,
        "sort_labels": SORT_LABELS,
        "rows": [],
        "result": None,
        "oob": is_htmx(request),
        "dealer": dealer,
        "back": query.url(),
        "can_order": actor.can_order,
    }
    if query.errors:
        ctx["errors"] = messages(query.errors)
        return page(
            request,
            "catalog/page.html",
            ctx,
            fragment="catalog/_results.html",
            active_tab="catalog",
            status=400,
        )
    result = await catalog.search(
        actor,
        dealer,
        q=query.q or None,
        category_id=category_id,
        in_stock=query.in_stock,
        favourites=query.favourites,
        sort=query.sort,
        page=query.page,
        per_page=PER_PAGE,
        categories=categories,
    )
    # Staff who may look but not order (finance, warehouse) get no cart and no steppers.
    view = await _cart_for_page(request, dealer) if actor.can_order else None
    in_cart = cart_quantities(view)
    show_qty = await shows_stock_figures(request)
    offers = await catalog.gift_offers(dealer, result.items)
    ctx.update(
        result=result,
        rows=[
            make_row(item, in_cart.get(item.sku_id, 0), show_qty=show_qty, offers=offers)
            for item in result.items
        ],
        next_url=query.url(page=query.page + 1) if result.has_more else "",
        prev_url=query.url(page=query.page - 1) if query.page > 1 else "",
        **(cart_oob(view) if view else {}),
    )
    fragment = "catalog/_results.html"
    if is_htmx(request) and request.htmx.target == "load-more":
        # "Load more" swaps itself for the next rows and its own successor.
        fragment = "catalog/_rows.html"
    return page(request, "catalog/page.html", ctx, fragment=fragment, active_tab="catalog")


def _sku_item(items: dict[int, CatalogItem], sku_id: int) -> CatalogItem:
    item = items.get(sku_id)
    if item is None:
        raise NotFound(_("Product not found."))
    return item


@post("/catalog/qty/{sku_id:int}", include_in_schema=False)
async def set_qty(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    """The stepper: set (or step) a SKU's quantity in the cart; htmx gets the row back."""
    dealer = await acting_dealer(request)
    if dealer is None:
        return _no_dealer(request)
    actor = request.user
    back = _safe_back(str(data.get("next") or ""))
    item = _sku_item(await catalog.items_by_ids(actor, dealer, [sku_id]), sku_id)
    raw = str(data.get("qty") or "0")
    direction = str(data.get("step") or "set")
    error = ""
    typed = None
    try:
        # "5箱" and "48 瓶" as well as 48: the box shows base units, but a dealer who buys by
        # the case types cases.
        count, unit = parse_qty_unit(raw)
        base = to_base_units(count, unit, base_unit=item.unit, packs=dict(item.packs))
        if base > MAX_LINE_QTY:  # 100000箱: a count of cases past what a line holds
            raise QtyTooLarge(raw)
        typed = base
    except ValueError as exc:
        error = _bad_qty_message(item.code, exc)
    except ValidationFailed as exc:
        error = "; ".join(messages(exc.errors)) or i18n.error_message(exc)
    status = 422 if error else 200
    if typed is not None:
        target = stepped(typed, direction, item)
        try:
            view = await cart.set_qty(actor, dealer["id"], sku_id, target)
        except ValidationFailed as exc:
            error = "; ".join(messages(exc.errors)) or i18n.error_message(exc)
            status = 422
    if error:
        view = await cart.get_cart(actor, dealer["id"])
    qty = cart_quantities(view).get(sku_id, 0)
    if status == 200 and not is_htmx(request):
        return Redirect(f"{back}#sku-{sku_id}", status_code=303)
    ctx = {
        "row": make_row(
            item,
            qty,
            error,
            show_qty=await shows_stock_figures(request),
            offers=await catalog.gift_offers(dealer, [item]),
        ),
        "can_order": True,
        "oob": True,
        "back": back,
        **cart_oob(view),
    }
    return page(
        request,
        "catalog/qty.html",
        ctx,
        fragment="catalog/_row_oob.html",
        active_tab="catalog",
        status=status,
    )


@post("/catalog/favourite/{sku_id:int}", include_in_schema=False)
async def toggle_favourite(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    dealer = await acting_dealer(request)
    if dealer is None:
        return _no_dealer(request)
    favourite = await catalog.toggle_favourite(request.user, dealer, sku_id)
    if not is_htmx(request):
        back = _safe_back(str(data.get("next") or ""))
        return Redirect(f"{back}#sku-{sku_id}", status_code=303)
    ctx = {"sku_id": sku_id, "favourite": favourite, "back": ""}
    return page(request, "catalog/_fav.html", ctx)


# --- the product page -------------------------------------------------------------------------


@dataclass
class GridCell:
    item: CatalogItem
    in_cart: int
    value: str  # what the input shows, in the chosen unit
    unit_name: str
    error: str = ""


@dataclass
class SkuBreaks:
    item: CatalogItem
    rule_label: str
    unit_price_fen: int
    breaks: list[tuple[int, str, int]]  # (min_qty, "10 箱", unit_price_fen)
    packs: list[tuple[str, int]]


def _unit_name(item: CatalogItem, unit: str) -> str:
    return item.pack_name if unit == "pack" and item.pack_name else item.unit


def _in_unit(qty: int, item: CatalogItem, unit: str) -> str:
    """A base quantity as the grid shows it in the chosen unit ("" when not whole packs)."""
    if qty <= 0:
        return ""
    if unit == "pack" and item.pack_factor:
        return str(qty // item.pack_factor) if qty % item.pack_factor == 0 else ""
    return str(qty)


def _qty_label(qty: int, item: CatalogItem) -> str:
    if item.pack_factor and item.pack_name and qty % item.pack_factor == 0:
        return f"{qty // item.pack_factor} {item.pack_name}"
    return f"{qty} {item.unit}"


def _break_rows(item: CatalogItem, breaks: list[tuple[int, int]]) -> list[tuple[int, str, int]]:
    """The volume-break table: the price at the first quantity, then each break above it."""
    if not breaks:
        return []
    rows = [(item.first_qty, _qty_label(item.first_qty, item), item.quote.unit_price_fen)]
    # What the dealer pays from each break: a percentage-off promotion applies to it too.
    rows += [(m, _qty_label(m, item), q.unit_price_fen) for m, q in item.break_quotes()]
    return rows


def product_context(
    detail: catalog.ProductDetail,
    in_cart: dict[int, int],
    unit: str,
    entered: dict[int, str] | None = None,
    errors: dict[int, str] | None = None,
) -> dict[str, Any]:
    cells: dict[tuple[str, str], GridCell] = {}
    for key, item in detail.grid.items():
        qty = in_cart.get(item.sku_id, 0)
        value = (entered or {}).get(item.sku_id)
        cells[key] = GridCell(
            item=item,
            in_cart=qty,
            value=value if value is not None else _in_unit(qty, item, unit),
            unit_name=_unit_name(item, unit),
            error=(errors or {}).get(item.sku_id, ""),
        )
    breaks = []
    for item in detail.skus:
        breaks.append(
            SkuBreaks(
                item=item,
                rule_label=pricing.rule_label(item.quote.rule, item.quote.rule_params),
                unit_price_fen=item.quote.unit_price_fen,
                breaks=_break_rows(item, detail.breaks.get(item.sku_id, [])),
                packs=detail.packs.get(item.sku_id, []),
            )
        )
    has_packs = any(item.pack_name for item in detail.skus)
    # The switch names the unit when every variant shares it (按瓶 / 按箱); variants sold in
    # different units (瓶 and 盒) read "by the piece" / "by the pack" instead of the first's.
    base_units = {i.unit for i in detail.skus}
    pack_names = {i.pack_name for i in detail.skus if i.pack_name}
    unit_choices = [
        (
            "base",
            i18n.gettext(_("By %(unit)s"), unit=next(iter(base_units)))
            if len(base_units) == 1
            else i18n.gettext(_("By the piece")),
        ),
        (
            "pack",
            i18n.gettext(_("By %(unit)s"), unit=next(iter(pack_names)))
            if len(pack_names) == 1
            else i18n.gettext(_("By the pack")),
        ),
    ]
    return {
        "detail": detail,
        "product": detail.product,
        "cells": cells,
        "sku_breaks": breaks,
        "unit": unit if has_packs else "base",
        "has_packs": has_packs,
        "unit_choices": unit_choices,
        "single": len(detail.skus) == 1,
        # A spec x colour table only when both vary; otherwise a plain list of variants.
        "show_table": len(detail.specs) > 1 and len(detail.colours) > 1,
        "availability_labels": AVAILABILITY_LABELS,
    }


def _unit_param(raw: str | None) -> str:
    if raw in (None, "", "base"):
        return "base"
    if raw == "pack":
        return "pack"
    raise ValidationFailed(
        _("Unknown unit %(unit)s."),
        {"unit": str(raw)[:20]},
        errors=[FieldError("unit", _("Unknown unit %(unit)s."), {"unit": str(raw)[:20]})],
    )


@get("/products/{product_id:int}", include_in_schema=False)
async def product_page(
    request: Request,
    product_id: FromPath[int],
    unit: FromQuery[str | None] = None,
    added: FromQuery[str | None] = None,
) -> Response:
    dealer = await acting_dealer(request)
    if dealer is None:
        return _no_dealer(request)
    actor = request.user
    chosen = _unit_param(unit)
    detail = await catalog.product_detail(actor, dealer, product_id)
    view = await cart.get_cart(actor, dealer["id"]) if actor.can_order else None
    ctx = product_context(detail, cart_quantities(view), chosen)
    ctx.update(
        pictures=await _pictures(detail),
        offers=await catalog.gift_offers(dealer, detail.skus),
        added=added == "1",
        oob=False,
        can_order=actor.can_order,
        show_qty=await shows_stock_figures(request),
        # Staff see each warehouse's figures (a rep during a visit, say).
        by_warehouse=(
            await stock.by_warehouse([i.sku_id for i in detail.skus]) if actor.is_staff else {}
        ),
        **(cart_oob(view) if view else {}),
    )
    return page(
        request, "product/page.html", ctx, fragment="product/_grid.html", active_tab="catalog"
    )


@post("/products/{product_id:int}/grid", include_in_schema=False)
async def product_grid(request: Request, product_id: FromPath[int]) -> Response:
    """The variant grid: every quantity typed at once, into the cart in one go."""
    dealer = await acting_dealer(request)
    if dealer is None:
        return _no_dealer(request)
    actor = request.user
    form = await request.form()
    chosen = _unit_param(str(form.get("unit") or "base"))
    detail = await catalog.product_detail(actor, dealer, product_id)
    by_id = {item.sku_id: item for item in detail.skus}
    entered: dict[int, str] = {}
    wanted: dict[int, int] = {}
    errors: dict[int, str] = {}
    for item in detail.skus:
        raw = str(form.get(f"qty_{item.sku_id}") or "").strip()
        entered[item.sku_id] = raw
        if raw == "":
            continue
        try:
            qty = parse_qty(raw)
        except ValueError as exc:
            errors[item.sku_id] = _bad_qty_message(item.code, exc)
            continue
        unit_name = item.pack_name if chosen == "pack" else None
        wanted[item.sku_id] = to_base_units(
            qty, unit_name, base_unit=item.unit, packs=dict(item.packs)
        )
    status = 200
    summary = ""
    view = None
    if not errors and not wanted:
        summary = i18n.gettext("Enter a quantity for at least one variant.")
        status = 422
    elif not errors:
        try:
            view = await cart.set_many(actor, dealer["id"], wanted)
        except ValidationFailed as exc:
            status = 422
            summary = i18n.error_message(exc)
            for err in exc.errors:
                sku_id = _field_sku(err.field, by_id)
                if sku_id is not None:
                    errors[sku_id] = i18n.field_message(err)
                else:
                    summary = f"{summary} {i18n.field_message(err)}"
    else:
        status = 422
        summary = i18n.gettext("Some quantities are not valid; nothing was added.")
    if status == 200 and not is_htmx(request):
        return Redirect(f"/products/{product_id}?added=1&unit={chosen}", status_code=303)
    if view is None:
        view = await cart.get_cart(actor, dealer["id"])
    in_cart = cart_quantities(view)
    ctx = product_context(detail, in_cart, chosen, entered if status != 200 else None, errors)
    ctx.update(
        pictures=await _pictures(detail),
        offers=await catalog.gift_offers(dealer, detail.skus),
        added=status == 200,
        summary=summary,
        oob=True,
        can_order=True,
        show_qty=await shows_stock_figures(request),
        **cart_oob(view),
    )
    return page(
        request,
        "product/page.html",
        ctx,
        fragment="product/_grid.html",
        active_tab="catalog",
        status=status,
    )


async def _pictures(detail: catalog.ProductDetail) -> list[str]:
    """What the product page shows in turn: the cover, then the product's other pictures."""
    image = detail.product.get("image") or ""
    pictures = await catalog_admin.product_pictures(detail.product["id"], image)
    return catalog_admin.picture_addresses(image, pictures)


def _field_sku(name: str, by_id: dict[int, CatalogItem]) -> int | None:
    """Which SKU a FieldError from the cart names (by id or by code in its field)."""
    for part in str(name).replace(":", " ").replace(".", " ").replace("_", " ").split():
        if part.isdigit() and int(part) in by_id:
            return int(part)
    for sku_id, item in by_id.items():
        if item.code and item.code in str(name):
            return sku_id
    return None


ROUTES = [catalog_page, set_qty, toggle_favourite, product_page, product_grid]
