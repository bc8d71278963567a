"""API: products and prices kept by administrators, one SKU at a time (商品与价格); adding a
product, and a SKU to a product."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import UNSET, Meta, Struct, field

from portal.api.schemas import (
    Id,
    In,
    Money,
    PackOut,
    change_of,
    kept,
    money,
    problems,
    upload_operation,
)
from portal.domain import catalog_admin, photos
from portal.domain.catalog_admin import ContractRow, Listed, SkuDetail, TierPriceRow, Visibility
from portal.domain.safety_stock import MAX_SAFETY_STOCK
from portal.domain.scope import Actor
from portal.http_files import uploaded_file
from portal.web.catalog_admin import PICTURE_LIMITS

SkuId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
TierId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
ProductId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
DealerCode = Annotated[str, PathParameter(min_length=1, max_length=20)]
# What a price may be sent as: yuan with two places, never negative.
Price = Annotated[
    str, Meta(pattern=r"^\d{1,13}\.\d{2}$", examples=["12.50"], description="yuan per base unit")
]
Percent = Annotated[
    str,
    Meta(
        pattern=r"^\d{1,3}(\.\d{1,2})?$",
        examples=["85"],
        description="percent of the base price, from 0.01 to 100",
    ),
]
OrderQty = Annotated[int, Meta(ge=1, le=catalog_admin.ORDER_QTY_MAX, description="base units")]
COST_NOTE = (
    "what one base unit costs the supplier, for the gross margins sales managers, finance and "
    "administrators see (never dealers, reps or warehouse staff)"
)


class AdminSkuRowOut(Struct):
    id: int
    code: str
    barcode: str
    name: str
    spec: str
    colour: str
    unit: str
    base_price: Money
    active: bool
    product_id: int
    product_name: str
    product_active: bool
    visibility: Annotated[str, Meta(description="all or restricted")]


class AdminSkuPageOut(Struct):
    items: list[AdminSkuRowOut]
    page: int
    per_page: int
    has_more: bool
    total: int


class BreakOut(Struct):
    min_qty: Annotated[int, Meta(description="from this many base units on")]
    price: Money


class TierPriceOut(Struct):
    tier_id: int
    tier_code: str
    tier_name: str
    price: Annotated[Money | None, Meta(description="a fixed price per base unit")]
    percent: Annotated[str | None, Meta(description="or a percentage of the base price")]
    unit_price: Annotated[
        Money | None, Meta(description="what the tier pays per base unit; null: the base price")
    ]
    breaks: list[BreakOut]


class ContractPriceOut(Struct):
    dealer_id: int
    dealer_code: str
    dealer_name: str
    price: Money


class ListedOut(Struct):
    id: int
    code: str
    name: str


class VisibilityOut(Struct):
    product_id: int
    visibility: Annotated[str, Meta(description="all, or restricted to the tiers and dealers")]
    tiers: list[ListedOut]
    dealers: list[ListedOut]


class AdminProductOut(Struct):
    id: int
    name: str
    brand: str
    description: str
    active: Annotated[bool, Meta(description="false: none of its SKUs is shown to dealers")]
    category_id: int
    category_path: list[str]
    visibility: VisibilityOut
    image: Annotated[
        str, Meta(description="its picture, shared by its SKUs: an address; empty: none")
    ] = ""


class AdminSkuOut(Struct):
    id: int
    code: str
    barcode: str
    name: str
    spec: str
    colour: str
    unit: Annotated[str, Meta(description="the base unit; quantities and prices count in it")]
    base_price: Money
    cost_price: Annotated[Money | None, Meta(description=f"{COST_NOTE}; null: not known")]
    moq: int
    order_multiple: int
    safety_stock: int
    allow_backorder: bool
    active: bool
    weight_g: Annotated[int, Meta(description="grams per base unit")]
    image: Annotated[
        str, Meta(description="the product's picture, shared by its SKUs; empty: none")
    ]
    product: AdminProductOut
    packs: Annotated[list[PackOut], Meta(description="largest first")]
    tier_prices: list[TierPriceOut]
    contract_prices: list[ContractPriceOut]


class PackIn(In):
    name: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=catalog_admin.PACK_NAME_MAX,
            examples=["箱"],
            description="no spaces, = or semicolons; not the base unit; unique for the SKU",
        ),
    ]
    factor: Annotated[
        int,
        Meta(ge=2, le=catalog_admin.PACK_FACTOR_MAX, description="base units in one pack"),
    ]


class AdminSkuIn(In):
    """A SKU's editable fields (its code, unit and product never change). Weight, picture and
    pack units may be left out (or null): they stay as they are; a cost left out stays, a null
    one is not known."""

    name: Annotated[str, Meta(min_length=1, max_length=160)]
    barcode: Annotated[str, Meta(max_length=40)]
    base_price: Price
    moq: OrderQty
    order_multiple: OrderQty
    safety_stock: Annotated[int, Meta(ge=0, le=MAX_SAFETY_STOCK, description="base units")]
    allow_backorder: bool
    active: bool
    weight_g: (
        Annotated[int, Meta(ge=0, le=catalog_admin.MAX_WEIGHT_G, description="grams per base unit")]
        | None
    ) = None
    image: (
        Annotated[
            str,
            Meta(
                max_length=catalog_admin.IMAGE_MAX,
                examples=["/static/products/water.jpg"],
                description="the product's picture (every SKU of the product shows it): an "
                "http(s) address or a path under /static/; empty removes it",
            ),
        ]
        | None
    ) = None
    packs: (
        Annotated[
            list[PackIn],
            Meta(
                max_length=catalog_admin.MAX_PACKS,
                description="every pack unit, replacing the SKU's; [] removes them all. Carts "
                "and placed orders count in base units and do not change",
            ),
        ]
        | None
    ) = None
    cost_price: Annotated[
        Price | None,
        Meta(description=f"{COST_NOTE}, in yuan; null: not known (left out: stays as it is)"),
    ] = None


class AdminSkuFields(Struct):
    """The fields of a SKU that a change keeps when it leaves them out (see update_admin_sku)."""

    name: str
    barcode: str
    base_price: str
    cost_price: str | None
    moq: int
    order_multiple: int
    safety_stock: int
    allow_backorder: bool
    active: bool


ProductName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=catalog_admin.PRODUCT_TEXT["name"],
        examples=["农夫山泉饮用天然水"],
        description="unique within its category",
    ),
]
ProductBrand = Annotated[str, Meta(max_length=catalog_admin.PRODUCT_TEXT["brand"])]
CategoryId = Annotated[int, Meta(ge=1, le=2**31 - 1)]


class ProductIn(In):
    """A product's own fields; they apply to every SKU of the product."""

    name: ProductName
    category_id: CategoryId
    active: Annotated[bool, Meta(description="false hides every SKU of the product from dealers")]
    brand: (
        Annotated[
            str,
            Meta(
                max_length=catalog_admin.PRODUCT_TEXT["brand"],
                description='left out or null: stays as it is ("" removes it)',
            ),
        ]
        | None
    ) = None
    description: (
        Annotated[
            str,
            Meta(
                max_length=catalog_admin.PRODUCT_TEXT["description"],
                description="left out or null: stays as it is",
            ),
        ]
        | None
    ) = None


class ProductNewIn(In):
    """A new product's own fields; its SKUs are added one by one afterwards."""

    name: ProductName
    category_id: CategoryId
    active: Annotated[
        bool, Meta(description="false hides every SKU of the product from dealers")
    ] = True
    brand: ProductBrand = ""
    description: Annotated[str, Meta(max_length=catalog_admin.PRODUCT_TEXT["description"])] = ""
    image: Annotated[
        str,
        Meta(
            max_length=catalog_admin.IMAGE_MAX,
            examples=["/static/products/water.jpg"],
            description="its picture (every SKU of the product shows it): an https address or "
            "a path under /static/; empty for none",
        ),
    ] = ""


class SkuNewIn(In):
    """A new SKU's fields. Its code and unit never change afterwards (stock and orders count
    in the unit); it has no tier prices (every tier pays the base price) and no stock yet."""

    code: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=catalog_admin.CODE_MAX,
            pattern=r"^[\x21-\x2b\x2d-\x3a\x3c-\x7e]+$",
            examples=["BV-0010-550"],
            description="unique; letters, digits and signs (printable ASCII) without spaces, "
            "commas or semicolons",
        ),
    ]
    name: Annotated[str, Meta(min_length=1, max_length=catalog_admin.SKU_TEXT["name"])]
    unit: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=catalog_admin.UNIT_MAX,
            examples=["瓶"],
            description="the base unit; quantities and prices count in it",
        ),
    ]
    base_price: Price
    barcode: Annotated[str, Meta(max_length=catalog_admin.SKU_TEXT["barcode"])] = ""
    spec: Annotated[str, Meta(max_length=catalog_admin.SKU_TEXT["spec"])] = ""
    colour: Annotated[str, Meta(max_length=catalog_admin.SKU_TEXT["colour"])] = ""
    moq: OrderQty = 1
    order_multiple: OrderQty = 1
    safety_stock: Annotated[int, Meta(ge=0, le=MAX_SAFETY_STOCK, description="base units")] = 0
    allow_backorder: bool = False
    active: bool = True
    weight_g: Annotated[
        int, Meta(ge=0, le=catalog_admin.MAX_WEIGHT_G, description="grams per base unit")
    ] = 0
    packs: Annotated[
        list[PackIn], Meta(max_length=catalog_admin.MAX_PACKS, description="its pack units")
    ] = field(default_factory=list)


class BreakIn(In):
    min_qty: Annotated[
        int, Meta(ge=2, le=catalog_admin.MAX_QTY, description="from this many base units on")
    ]
    price: Price


class TierPriceIn(In):
    """What the tier pays: a fixed price, or a percentage of the base price, or neither (the
    base price); and exactly these volume breaks, each from a larger quantity than the last."""

    price: Price | None = None
    percent: Percent | None = None
    breaks: Annotated[list[BreakIn], Meta(max_length=catalog_admin.MAX_BREAKS)] = field(
        default_factory=list
    )


class ContractPriceIn(In):
    price: Price


class VisibilityIn(In):
    visibility: Literal["all", "restricted"]
    tier_ids: Annotated[list[Id], Meta(max_length=catalog_admin.MAX_LISTED)] = field(
        default_factory=list
    )
    dealer_codes: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=20)]],
        Meta(max_length=catalog_admin.MAX_LISTED),
    ] = field(default_factory=list)


def _money(fen: int | None) -> str | None:
    return None if fen is None else money(fen)


def _tier_out(t: TierPriceRow) -> TierPriceOut:
    return TierPriceOut(
        tier_id=t.tier_id,
        tier_code=t.tier_code,
        tier_name=t.tier_name,
        price=_money(t.price_fen),
        percent=None if t.percent_bp is None else t.percent,
        unit_price=_money(t.unit_price_fen),
        breaks=[BreakOut(min_qty=q, price=money(p)) for q, p in t.breaks],
    )


def _contract_out(c: ContractRow) -> ContractPriceOut:
    return ContractPriceOut(
        dealer_id=c.dealer_id,
        dealer_code=c.dealer_code,
        dealer_name=c.dealer_name,
        price=money(c.price_fen),
    )


def _listed(rows: tuple[Listed, ...]) -> list[ListedOut]:
    return [ListedOut(id=r.id, code=r.code, name=r.name) for r in rows]


def _visibility_out(v: Visibility) -> VisibilityOut:
    return VisibilityOut(
        product_id=v.product_id,
        visibility=v.visibility,
        tiers=_listed(v.tiers),
        dealers=_listed(v.dealers),
    )


def _sku_out(d: SkuDetail) -> AdminSkuOut:
    s, p = d.sku, d.product
    return AdminSkuOut(
        id=s["id"],
        code=s["code"],
        barcode=s["barcode"] or "",
        name=s["name"],
        spec=s["spec"] or "",
        colour=s["colour"] or "",
        unit=s["base_unit"],
        base_price=money(s["base_price_fen"]),
        cost_price=_money(s["cost_price_fen"]),
        moq=s["moq"],
        order_multiple=s["order_multiple"],
        safety_stock=s["safety_stock"],
        allow_backorder=s["allow_backorder"],
        active=s["active"],
        weight_g=s["weight_g"],
        image=p["image"],
        product=AdminProductOut(
            id=p["id"],
            name=p["name"],
            brand=p["brand"] or "",
            description=p["description"],
            active=p["active"],
            category_id=p["category_id"],
            category_path=p["category_path"],
            visibility=_visibility_out(d.visibility),
            image=p["image"],
        ),
        packs=[PackOut(name=n, factor=f) for n, f in d.packs],
        tier_prices=[_tier_out(t) for t in d.tier_prices],
        contract_prices=[_contract_out(c) for c in d.contract_prices],
    )


@get(
    "/api/v1/admin/skus",
    tags=["catalog"],
    summary="SKUs for administrators, inactive ones too, by code (search: code, barcode, name)",
    responses=problems(401, 403),
)
async def list_admin_skus(
    request: Request[Actor, Any, Any],
    q: Annotated[
        str,
        QueryParameter(
            max_length=catalog_admin.MAX_QUERY_CHARS,
            description="each word part of the code, barcode, name, product name or brand",
        ),
    ] = "",
    page: Annotated[int, QueryParameter(ge=1, le=catalog_admin.MAX_PAGE)] = 1,
) -> AdminSkuPageOut:
    result = await catalog_admin.search_skus(request.user, q, page=page)
    return AdminSkuPageOut(
        items=[
            AdminSkuRowOut(
                id=r.id,
                code=r.code,
                barcode=r.barcode,
                name=r.name,
                spec=r.spec,
                colour=r.colour,
                unit=r.base_unit,
                base_price=money(r.base_price_fen),
                active=r.active,
                product_id=r.product_id,
                product_name=r.product_name,
                product_active=r.product_active,
                visibility=r.visibility,
            )
            for r in result.items
        ],
        page=result.page,
        per_page=result.per_page,
        has_more=result.has_more,
        total=result.total,
    )


@get(
    "/api/v1/admin/skus/{sku_id:int}",
    tags=["catalog"],
    summary="A SKU with its product, pack units, tier prices, volume breaks and contract prices",
    responses=problems(401, 403, 404),
)
async def get_admin_sku(request: Request[Actor, Any, Any], sku_id: SkuId) -> AdminSkuOut:
    return _sku_out(await catalog_admin.get_sku(request.user, sku_id))


# A change sends what changes, as every other PUT; what GET returns may be sent back changed
# (its id, code, unit, product and prices are ignored: prices have their own endpoints).
AdminSkuChangeIn = change_of(
    AdminSkuIn,
    "AdminSkuChangeIn",
    read_only=("id", "code", "spec", "colour", "unit", "product", "tier_prices", "contract_prices"),
)


@put(
    "/api/v1/admin/skus/{sku_id:int}",
    tags=["catalog"],
    summary="Change a SKU's fields, flags, weight, pack units and its product's picture",
    description="Send what changes: a field left out (or a null weight, picture or packs) stays "
    "as it is. `packs` replaces every pack unit of the SKU; `image` is the product's, so it "
    "changes for the product's other SKUs too. `cost_price` null means the cost is not known "
    "(only sales managers, finance and administrators see costs and margins). Tier and "
    "contract prices have their own endpoints.",
    responses=problems(401, 403, 404, 422),
)
async def update_admin_sku(
    request: Request[Actor, Any, Any], sku_id: SkuId, data: JSONBody[AdminSkuChangeIn]
) -> AdminSkuOut:
    current = _sku_out(await catalog_admin.get_sku(request.user, sku_id))
    full = kept(data, current, AdminSkuFields)
    packs = None if data.packs is UNSET else data.packs
    change = catalog_admin.SkuChange(
        name=full.name,
        barcode=full.barcode,
        base_price=full.base_price,
        moq=full.moq,
        order_multiple=full.order_multiple,
        safety_stock=full.safety_stock,
        allow_backorder=full.allow_backorder,
        active=full.active,
        weight_g=None if data.weight_g is UNSET else data.weight_g,
        image=None if data.image is UNSET else data.image,
        packs=None if packs is None else [(p.name, p.factor) for p in packs],
        # Left out: as it is (kept from the current SKU); null: not known.
        cost_price=full.cost_price or "",
    )
    return _sku_out(await catalog_admin.update_sku(request.user, sku_id, change))


@put(
    "/api/v1/admin/skus/{sku_id:int}/tier-prices/{tier_id:int}",
    tags=["catalog"],
    summary="Set one tier's price and volume breaks for a SKU",
    responses=problems(401, 403, 404, 409, 422),
)
async def set_tier_price(
    request: Request[Actor, Any, Any], sku_id: SkuId, tier_id: TierId, data: JSONBody[TierPriceIn]
) -> TierPriceOut:
    change = catalog_admin.TierPriceChange(
        price=data.price or "",
        percent=data.percent or "",
        breaks=[(b.min_qty, b.price) for b in data.breaks],
    )
    return _tier_out(await catalog_admin.set_tier_price(request.user, sku_id, tier_id, change))


@put(
    "/api/v1/admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}",
    tags=["catalog"],
    summary="Set a dealer's contract price for a SKU (it wins over the tier's)",
    description="A code no dealer has is a validation problem on the field `dealer`.",
    responses=problems(401, 403, 404, 409, 422),
)
async def set_contract_price(
    request: Request[Actor, Any, Any],
    sku_id: SkuId,
    dealer_code: DealerCode,
    data: JSONBody[ContractPriceIn],
) -> ContractPriceOut:
    row = await catalog_admin.set_contract_price(request.user, sku_id, dealer_code, data.price)
    return _contract_out(row)


@delete(
    "/api/v1/admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}",
    tags=["catalog"],
    summary="Remove a dealer's contract price for a SKU (none there: nothing to do)",
    status_code=204,
    responses=problems(401, 403, 404),
)
async def remove_contract_price(
    request: Request[Actor, Any, Any], sku_id: SkuId, dealer_code: DealerCode
) -> None:
    await catalog_admin.remove_contract_price(request.user, sku_id, dealer_code)


@put(
    "/api/v1/admin/products/{product_id:int}/visibility",
    tags=["catalog"],
    summary="Show a product to every dealer, or only to the listed tiers and dealers",
    responses=problems(401, 403, 404, 422),
)
async def set_visibility(
    request: Request[Actor, Any, Any], product_id: ProductId, data: JSONBody[VisibilityIn]
) -> VisibilityOut:
    visibility = await catalog_admin.set_visibility(
        request.user, product_id, data.visibility, data.tier_ids, data.dealer_codes
    )
    return _visibility_out(visibility)


@put(
    "/api/v1/admin/products/{product_id:int}",
    tags=["catalog"],
    summary="Change a product's name, brand, category, description and active flag",
    description="The product's fields are shared by all its SKUs: an inactive product hides "
    "every one of them from dealers.",
    responses=problems(401, 403, 404, 422),
)
async def update_product(
    request: Request[Actor, Any, Any], product_id: ProductId, data: JSONBody[ProductIn]
) -> AdminProductOut:
    if data.brand is None:  # left out: stays as it is
        brand = (await catalog_admin.get_product(request.user, product_id))["brand"] or ""
    else:
        brand = data.brand
    change = catalog_admin.ProductChange(
        name=data.name,
        brand=brand,
        category_id=data.category_id,
        active=data.active,
        description=data.description,
    )
    p = await catalog_admin.update_product(request.user, product_id, change)
    return _product_out(p, await catalog_admin.get_visibility(request.user, product_id))


@put(
    "/api/v1/admin/products/{product_id:int}/picture",
    tags=["catalog"],
    summary="Upload a product's picture (multipart/form-data, the file as `file`)",
    description=(
        "Send the photo as a multipart/form-data part named `file`: a JPEG, PNG or WebP "
        f"picture (checked by its content) of at most {photos.MAX_BYTES // 2**20} MB and "
        f"{photos.MAX_PIXELS // 10**6} megapixels. It is re-encoded without its metadata (EXIF) "
        f"and scaled down to {photos.MAX_SIDE} px, replaces the product's picture, and the "
        "product's `image` becomes its address, `/pictures/products/{id}` (`/thumb` for a "
        "small copy). A refused file is a validation problem on the field `picture`; an "
        "empty `image` (PUT /api/v1/admin/skus/{id}) removes it."
    ),
    **PICTURE_LIMITS,
    operation_class=upload_operation("file", "A JPEG, PNG or WebP picture"),
    responses=problems(400, 401, 403, 404, 413, 422),
)
async def upload_product_picture(
    request: Request[Actor, Any, Any], product_id: ProductId
) -> AdminProductOut:
    name, data = await uploaded_file(request, photos.MAX_BYTES)
    upload = photos.Upload(name, data)
    p = await catalog_admin.upload_product_picture(request.user, product_id, upload)
    return _product_out(p, await catalog_admin.get_visibility(request.user, product_id))


class PictureOut(Struct):
    id: int
    address: Annotated[str, Meta(description="/pictures/products/{id}; /thumb for a small copy")]
    cover: Annotated[bool, Meta(description="the product's `image`, what the catalog shows")]


PictureId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


def _pictures_out(pictures: list[dict[str, Any]]) -> list[PictureOut]:
    return [PictureOut(id=p["id"], address=p["address"], cover=p["cover"]) for p in pictures]


@get(
    "/api/v1/admin/products/{product_id:int}/pictures",
    tags=["catalog"],
    summary="A product's uploaded pictures, the cover first",
    responses=problems(401, 403, 404),
)
async def list_product_pictures(
    request: Request[Actor, Any, Any], product_id: ProductId
) -> list[PictureOut]:
    await catalog_admin.get_product(request.user, product_id)  # admins only; 404 if none
    return _pictures_out(await catalog_admin.product_pictures(product_id))


@post(
    "/api/v1/admin/products/{product_id:int}/pictures",
    tags=["catalog"],
    summary="Add a picture to a product (multipart/form-data, the file as `file`)",
    description=(
        "As PUT .../picture checks and keeps the file, but as one more picture, shown in turn "
        "on the product's page; it becomes the cover only when the product has none. At most "
        f"{catalog_admin.MAX_PICTURES} a product (a validation problem on `picture`). Answers "
        "the product's pictures."
    ),
    status_code=201,
    **PICTURE_LIMITS,
    operation_class=upload_operation("file", "A JPEG, PNG or WebP picture"),
    responses=problems(400, 401, 403, 404, 413, 422),
)
async def add_product_picture(
    request: Request[Actor, Any, Any], product_id: ProductId
) -> list[PictureOut]:
    name, data = await uploaded_file(request, photos.MAX_BYTES)
    pictures = await catalog_admin.add_product_picture(
        request.user, product_id, photos.Upload(name, data)
    )
    return _pictures_out(pictures)


@post(
    "/api/v1/admin/products/{product_id:int}/pictures/{picture_id:int}/cover",
    tags=["catalog"],
    summary="Make one of a product's pictures its cover (the old cover stays a picture)",
    status_code=200,
    responses=problems(401, 403, 404),
)
async def make_cover_picture(
    request: Request[Actor, Any, Any], product_id: ProductId, picture_id: PictureId
) -> list[PictureOut]:
    return _pictures_out(await catalog_admin.make_cover(request.user, product_id, picture_id))


@delete(
    "/api/v1/admin/products/{product_id:int}/pictures/{picture_id:int}",
    tags=["catalog"],
    summary="Remove one of a product's pictures (the cover passes to the next one)",
    status_code=204,
    responses=problems(401, 403, 404),
)
async def remove_product_picture(
    request: Request[Actor, Any, Any], product_id: ProductId, picture_id: PictureId
) -> None:
    await catalog_admin.remove_product_picture(request.user, product_id, picture_id)


def _product_out(p: dict[str, Any], visibility: Visibility) -> AdminProductOut:
    return AdminProductOut(
        id=p["id"],
        name=p["name"],
        brand=p["brand"],
        description=p["description"],
        active=p["active"],
        category_id=p["category_id"],
        category_path=p["category_path"],
        visibility=_visibility_out(visibility),
        image=p["image"],
    )


@post(
    "/api/v1/admin/products",
    tags=["catalog"],
    summary="Add a product (then its SKUs)",
    description="A name another product in the category has is a validation problem on the "
    "field `name`; an unknown category one on `category`. Dealers see nothing of a product "
    "until it has a SKU: add them with `POST /api/v1/admin/products/{id}/skus`.",
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_product(
    request: Request[Actor, Any, Any], data: JSONBody[ProductNewIn]
) -> AdminProductOut:
    new = catalog_admin.ProductNew(
        name=data.name,
        category_id=data.category_id,
        brand=data.brand,
        description=data.description,
        active=data.active,
        image=data.image,
    )
    p = await catalog_admin.create_product(request.user, new)
    return _product_out(p, await catalog_admin.get_visibility(request.user, p["id"]))


@post(
    "/api/v1/admin/products/{product_id:int}/skus",
    tags=["catalog"],
    summary="Add a SKU to a product",
    description="A code another SKU has is a validation problem on the field `code`. The new "
    "SKU has no tier prices (every tier pays the base price) and no stock.",
    status_code=201,
    responses=problems(401, 403, 404, 422),
)
async def create_sku(
    request: Request[Actor, Any, Any], product_id: ProductId, data: JSONBody[SkuNewIn]
) -> AdminSkuOut:
    new = catalog_admin.SkuNew(
        code=data.code,
        name=data.name,
        base_unit=data.unit,
        base_price=data.base_price,
        barcode=data.barcode,
        spec=data.spec,
        colour=data.colour,
        moq=data.moq,
        order_multiple=data.order_multiple,
        safety_stock=data.safety_stock,
        allow_backorder=data.allow_backorder,
        active=data.active,
        weight_g=data.weight_g,
        packs=[(p.name, p.factor) for p in data.packs],
    )
    return _sku_out(await catalog_admin.create_sku(request.user, product_id, new))


ROUTES = [
    list_admin_skus,
    get_admin_sku,
    update_admin_sku,
    set_tier_price,
    set_contract_price,
    remove_contract_price,
    update_product,
    set_visibility,
    create_product,
    create_sku,
    upload_product_picture,
    list_product_pictures,
    add_product_picture,
    make_cover_picture,
    remove_product_picture,
]
