"""API catalog: SKUs and products (variants, volume breaks) at a dealer's own prices, a price for a
quantity, and the category tree."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, delete, get, put
from litestar.params import PathParameter, QueryParameter
from msgspec import Meta, Struct

from portal.api.schemas import (
    BoughtBeforeOut,
    BreakOut,
    CategoryOut,
    NextBreakOut,
    PackPriceOut,
    PriceOut,
    SkuOut,
    SkuPageOut,
    money,
    problems,
)
from portal.domain import catalog, catalog_admin, pricing, scope
from portal.domain.errors import FieldError, NotFound, ValidationFailed, _
from portal.domain.scope import Actor

# What the page accepts (catalog.SORTS); anything else is a 400, as on the catalog page.
Sort = Literal["relevance", "name", "price_asc", "price_desc", "code"]


class SkuListOut(SkuPageOut):
    """A page of SKUs; `total` is exact when total_exact, else a lower bound ("1000+")."""

    total_exact: bool = True


async def dealer_for(actor: Actor, dealer_id: int | None) -> dict:
    """The dealer whose prices the caller sees: a dealer user's own, or ?dealer_id for staff.

    Out of scope (an unassigned dealer for a rep) is NotFound, like a dealer that does not
    exist; a dealer user may name their own dealer or none, another is NotFound too (as the
    orders API answers), not their own prices under another's id.
    """
    if actor.is_dealer:
        if dealer_id is not None and dealer_id != actor.dealer_id:
            raise NotFound(_("Dealer not found."))
        return await scope.dealer_in_scope(actor, actor.dealer_id or -1)
    require_dealer_id(actor, dealer_id)
    return await scope.dealer_in_scope(actor, dealer_id)


def require_dealer_id(actor: Actor, dealer_id: int | None) -> None:
    """Staff name the dealer they act for on every call (the API keeps no acting dealer)."""
    if dealer_id is None and not actor.is_dealer:
        raise ValidationFailed(errors=[FieldError("dealer_id", _("Choose a dealer first."))])


def sku_out(
    item: catalog.CatalogItem, *, show_qty: bool, offers: dict[int, list[str]] | None = None
) -> SkuOut:
    quote = item.quote
    nb = quote.next_break
    bought = item.bought_before
    return SkuOut(
        sku_id=item.sku_id,
        product_id=item.product_id,
        code=item.code,
        barcode=item.barcode or "",
        name=item.name,
        spec=item.spec or "",
        colour=item.colour or "",
        unit=item.unit,
        pack=PackPriceOut(
            name=item.pack_name,
            factor=item.pack_factor,
            unit_price=money(item.pack_price_fen() or 0),
        )
        if item.pack_name and item.pack_factor
        else None,
        moq=item.moq,
        order_multiple=item.order_multiple,
        first_qty=item.first_qty,
        image=item.image or "",
        price=PriceOut(
            unit_price=money(quote.unit_price_fen),
            list_price=money(quote.list_price_fen),
            rule=quote.rule,
            base_rule=pricing.base_rule(quote.rule, quote.rule_params),
            rule_label=pricing.rule_label(quote.rule, quote.rule_params),
            next_break=NextBreakOut(
                more_qty=nb.more_qty,
                min_qty=nb.min_qty,
                unit_price=money(nb.unit_price_fen),
                label=pricing.next_break_label(nb),
            )
            if nb
            else None,
            breaks=[
                BreakOut(
                    min_qty=m,
                    unit_price=money(q.unit_price_fen),
                    rule_label=pricing.rule_label(q.rule, q.rule_params),
                )
                for m, q in item.break_quotes()
            ],
        ),
        availability=item.availability,
        available_qty=item.available_qty if show_qty else None,
        allow_backorder=item.allow_backorder,
        favourite=item.favourite,
        bought_before=BoughtBeforeOut(
            qty=bought.qty,
            unit_price=money(bought.unit_price_fen),
            at=bought.at,
            order_number=bought.order_number,
        )
        if bought
        else None,
        packs=[
            PackPriceOut(name=n, factor=f, unit_price=money(item.pack_price_fen(f) or 0))
            for n, f in item.packs
        ],
        weight_g=item.weight_g,
        offers=list((offers or {}).get(item.sku_id, ())),
    )


@get(
    "/api/v1/catalog/skus",
    tags=["catalog"],
    summary="Search SKUs at a dealer's prices",
    description=(
        "Dealer users always see their own dealer's prices (another dealer_id: 404); staff pass "
        "dealer_id, and a dealer outside their scope answers 404. Prices are decimal strings. "
        "total counts the matches exactly up to 1000 (or to the end of the page asked for); "
        "past that total_exact is false and total is a lower bound."
    ),
    responses=problems(400, 401, 404, 422),
)
async def list_skus(
    request: Request[Actor, Any, Any],
    q: Annotated[
        str,
        QueryParameter(
            max_length=100,
            description="name (also its pinyin or initials in Latin letters), code or barcode",
        ),
    ] = "",
    category_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    in_stock: Annotated[bool, QueryParameter()] = False,
    favourites: Annotated[bool, QueryParameter()] = False,
    sort: Annotated[
        Sort,
        QueryParameter(
            description=(
                "the order of the SKUs: relevance (a search's best first; without q, by product "
                "name in pinyin order), name (pinyin order), price_asc, price_desc or code"
            )
        ),
    ] = "relevance",
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=catalog.MAX_PER_PAGE)] = 20,
    dealer_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
) -> SkuListOut:
    actor = request.user
    dealer = await dealer_for(actor, dealer_id)
    result = await catalog.search(
        actor,
        dealer,
        q=q.strip(),
        category_id=category_id,
        in_stock=in_stock,
        favourites=favourites,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    show_qty = await catalog.shows_stock_figures(actor, request.app.state.supplier_defaults)
    offers = await catalog.gift_offers(dealer, result.items)
    return SkuListOut(
        items=[sku_out(item, show_qty=show_qty, offers=offers) for item in result.items],
        page=result.page,
        per_page=result.per_page,
        has_more=result.has_more,
        total=result.total,
        total_exact=result.total_exact,
    )


@get(
    "/api/v1/catalog/skus/{sku_id:int}",
    tags=["catalog"],
    summary="One SKU at a dealer's price for a quantity",
    description=(
        "The price `qty` base units would cost (default: the SKU's first sensible quantity), "
        "with the rule that gave it (contract, the tier's volume break for that quantity, the "
        "tier, the list price, a promotion) and the next volume break above it. A SKU that is "
        "inactive or not shown to the dealer answers 404."
    ),
    responses=problems(400, 401, 404, 422),
)
async def get_sku(
    request: Request[Actor, Any, Any],
    sku_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
    qty: Annotated[
        int | None, QueryParameter(ge=1, le=10**7, description="base units to price")
    ] = None,
    dealer_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
) -> SkuOut:
    actor = request.user
    dealer = await dealer_for(actor, dealer_id)
    found = await catalog.items_by_ids(
        actor, dealer, [sku_id], quantities={sku_id: qty} if qty else None
    )
    if sku_id not in found:
        raise NotFound(_("Product not found."))
    show_qty = await catalog.shows_stock_figures(actor, request.app.state.supplier_defaults)
    offers = await catalog.gift_offers(dealer, [found[sku_id]])
    return sku_out(found[sku_id], show_qty=show_qty, offers=offers)


class ProductOut(Struct):
    id: int
    name: str
    brand: str
    description: str
    image: Annotated[str, Meta(description="the cover picture, what the catalog shows")]
    images: Annotated[list[str], Meta(description="every picture, the cover first")]
    category_id: int | None
    category_name: str
    specs: Annotated[list[str], Meta(description="the variant grid's rows")]
    colours: Annotated[list[str], Meta(description="the variant grid's columns")]
    skus: Annotated[
        list[SkuOut],
        Meta(
            description="each variant priced for the dealer, as every SKU: its volume breaks "
            "(price.breaks, none on a contract price) and pack units with their prices"
        ),
    ]


@get(
    "/api/v1/catalog/products/{product_id:int}",
    tags=["catalog"],
    summary="A product with its variants at a dealer's prices, volume breaks and packs",
    description="What the product page shows: each SKU (spec × colour) priced for the dealer "
    "with its volume breaks. A product not shown to the dealer answers 404.",
    responses=problems(400, 401, 404, 422),
)
async def get_product(
    request: Request[Actor, Any, Any],
    product_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
    dealer_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
) -> ProductOut:
    actor = request.user
    dealer = await dealer_for(actor, dealer_id)
    detail = await catalog.product_detail(actor, dealer, product_id)
    show_qty = await catalog.shows_stock_figures(actor, request.app.state.supplier_defaults)
    product = detail.product
    offers = await catalog.gift_offers(dealer, detail.skus)
    skus = [sku_out(item, show_qty=show_qty, offers=offers) for item in detail.skus]
    return ProductOut(
        id=product["id"],
        name=product["name"],
        brand=product["brand"] or "",
        description=product["description"] or "",
        image=product["image"] or "",
        images=catalog_admin.picture_addresses(
            product["image"] or "",
            await catalog_admin.product_pictures(product_id, product["image"] or ""),
        ),
        category_id=product["category"],
        category_name=product["category_name"] or "",
        specs=detail.specs,
        colours=detail.colours,
        skus=skus,
    )


def _category_out(node: Any) -> CategoryOut:
    get_ = node.get if isinstance(node, dict) else lambda k, d=None: getattr(node, k, d)
    return CategoryOut(
        id=get_("id"),
        name=get_("name"),
        children=[_category_out(child) for child in (get_("children") or [])],
    )


@get(
    "/api/v1/catalog/categories",
    tags=["catalog"],
    summary="The category tree",
    responses=problems(401),
)
async def list_categories(request: Request[Actor, Any, Any]) -> list[CategoryOut]:
    return [_category_out(node) for node in await catalog.category_tree()]


class FavouriteOut(Struct):
    dealer_id: int
    sku_id: int
    favourite: bool


SkuId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
DealerQuery = Annotated[
    int | None, QueryParameter(ge=1, le=2**31 - 1, description="staff: the dealer acted for")
]


async def _favourite(
    request: Request, sku_id: int, dealer_id: int | None, wanted: bool
) -> FavouriteOut:
    dealer = await dealer_for(request.user, dealer_id)
    now = await catalog.toggle_favourite(request.user, dealer, sku_id, wanted)
    return FavouriteOut(dealer_id=dealer["id"], sku_id=sku_id, favourite=now)


@put(
    "/api/v1/favourites/{sku_id:int}",
    tags=["catalog"],
    summary="Star a SKU for the dealer (its favourites: GET /catalog/skus?favourites=true)",
    description="Idempotent. Users who may order: a dealer's own, reps for their dealers.",
    status_code=200,
    responses=problems(400, 401, 403, 404, 422),
)
async def add_favourite(
    request: Request[Actor, Any, Any], sku_id: SkuId, dealer_id: DealerQuery = None
) -> FavouriteOut:
    return await _favourite(request, sku_id, dealer_id, True)


@delete(
    "/api/v1/favourites/{sku_id:int}",
    tags=["catalog"],
    summary="Unstar a SKU for the dealer",
    description="Idempotent: a SKU that is not a favourite stays so.",
    status_code=200,
    responses=problems(400, 401, 403, 404, 422),
)
async def remove_favourite(
    request: Request[Actor, Any, Any], sku_id: SkuId, dealer_id: DealerQuery = None
) -> FavouriteOut:
    return await _favourite(request, sku_id, dealer_id, False)


ROUTES = [list_skus, get_sku, get_product, list_categories, add_favourite, remove_favourite]
