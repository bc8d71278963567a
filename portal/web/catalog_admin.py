"""Products and prices for administrators (商品与价格): find a SKU, then change its fields, its
pack units, each tier's price and volume breaks, dealers' contract prices and who sees its
product, and upload its picture; add a product with its first SKU, or another SKU to a
product."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import catalog_admin, categories, photos
from portal.domain.catalog_admin import SkuDetail
from portal.domain.errors import DomainError, FieldError, ValidationFailed, _
from portal.domain.money import from_fen
from portal.web.common import checked, clear_flash, flash, page, take_flash

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
SKU_FIELDS = (
    "name",
    "barcode",
    "base_price",
    "cost_price",
    "moq",
    "order_multiple",
    "safety_stock",
    "weight_g",
    "image",
)
# What a form field may hold before the domain looks at it (beyond every limit it checks).
TEXT_LIMIT = 400
# Dealer codes are typed separated by spaces, commas or new lines (Chinese commas too).
CODE_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _text(data: dict[str, Any], name: str, limit: int = TEXT_LIMIT) -> str:
    return str(data.get(name) or "")[:limit]


def _list(data: dict[str, Any], name: str) -> list[str]:
    raw = data.get(name) or []
    return [str(v) for v in ([raw] if isinstance(raw, str) else raw)]


def _errors(exc: DomainError) -> dict[str, str]:
    """A refused form's messages by field, translated; several for one field (volume breaks)
    are shown one per line."""
    found: dict[str, str] = {}
    for err in exc.errors:
        message = i18n.field_message(err)
        found[err.field] = f"{found[err.field]}\n{message}" if err.field in found else message
    return found


def _page_number(raw: str | None) -> int:
    # A bad page number is not worth an error: show the first page.
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= catalog_admin.MAX_PAGE else 1


@get("/admin/skus", include_in_schema=False)
async def sku_list(
    request: Request,
    q: FromQuery[str | None] = None,
    page_no: Annotated[str | None, QueryParameter(name="page")] = None,
) -> Template:
    query = (q or "").strip()[: catalog_admin.MAX_QUERY_CHARS]
    result = await catalog_admin.search_skus(request.user, query, page=_page_number(page_no))
    context = {"result": result, "q": query, "show_acting_banner": False}
    # Search-as-you-type swaps the list; "load more" appends rows.
    fragment = "catalog_admin/_rows.html" if result.page > 1 else "catalog_admin/_list.html"
    return page(request, "catalog_admin/list.html", context, fragment=fragment, active_tab="me")


def _breaks_text(breaks: tuple[tuple[int, int], ...]) -> str:
    return "\n".join(f"{qty} {from_fen(fen)}" for qty, fen in breaks)


async def _detail_page(
    request: Request,
    sku_id: int,
    *,
    status: int = 200,
    form: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Template:
    """The SKU's page; after a refused form, that form shows what was typed and why."""
    d: SkuDetail = await catalog_admin.get_sku(request.user, sku_id)
    sku = d.sku
    sku_values = {
        "name": sku["name"],
        "barcode": sku["barcode"],
        "base_price": catalog_admin.money_text(sku["base_price_fen"]),
        "cost_price": catalog_admin.money_text(sku["cost_price_fen"]),
        "moq": sku["moq"],
        "order_multiple": sku["order_multiple"],
        "safety_stock": sku["safety_stock"],
        "weight_g": sku["weight_g"],
        "image": d.product["image"],
        "allow_backorder": sku["allow_backorder"],
        "active": sku["active"],
    }
    packs_value = catalog_admin.packs_text(d.packs)
    tier_values = {
        t.tier_id: {
            "price": catalog_admin.money_text(t.price_fen),
            "percent": t.percent,
            "breaks": _breaks_text(t.breaks),
        }
        for t in d.tier_prices
    }
    product_values = {
        "name": d.product["name"],
        "brand": d.product["brand"],
        "category": str(d.product["category_id"]),
        "description": d.product["description"],
        "active": d.product["active"],
    }
    vis = d.visibility
    vis_values = {
        "visibility": vis.visibility,
        "tier_ids": {str(t.id) for t in vis.tiers},
        "dealer_codes": " ".join(x.code for x in vis.dealers),
    }
    contract_values = {"dealer": "", "price": ""}
    typed = typed or {}
    if form == "sku":
        sku_values = typed
    elif form == "product":
        product_values = typed
    elif form == "packs":
        packs_value = typed["packs"]
    elif form.startswith("tier-"):
        tier_values[int(form[5:])] = typed
    elif form == "contract":
        contract_values = typed
    elif form == "visibility":
        vis_values = typed
    image = d.product["image"]
    picture_id = catalog_admin.own_picture_id(image)
    saved = request.query_params.get("saved", "")
    context = {
        "d": d,
        "flash": take_flash(request),
        "form": form,
        "errors": errors or {},
        "saved": saved[:20],
        "sku_values": sku_values,
        "product_values": product_values,
        "category_choices": await categories.list_categories(request.user),
        "packs_value": packs_value,
        "max_packs": catalog_admin.MAX_PACKS,
        "tier_values": tier_values,
        "contract_values": contract_values,
        "vis_values": vis_values,
        # The current picture, small: an upload's thumbnail, or the address as it is.
        "picture_thumb": f"{image}/thumb" if picture_id is not None else image,
        "picture_mb": photos.MAX_BYTES // (1024 * 1024),
        "pictures": await catalog_admin.product_pictures(d.product["id"]),
        "max_pictures": catalog_admin.MAX_PICTURES,
        # Not an ordering page: no "order for which dealer?" banner.
        "show_acting_banner": False,
    }
    return page(request, "catalog_admin/detail.html", context, active_tab="me", status=status)


def _saved(sku_id: int, form: str) -> Redirect:
    """Back to the SKU's page, at the form that was saved (which says so)."""
    return Redirect(f"/admin/skus/{sku_id}?saved={form}#{form}", status_code=303)


@get("/admin/skus/{sku_id:int}", include_in_schema=False)
async def sku_detail(request: Request, sku_id: FromPath[int]) -> Response:
    response = await _detail_page(request, sku_id)
    return clear_flash(response) if response.context.get("flash") else response


@post("/admin/skus/{sku_id:int}", include_in_schema=False)
async def sku_save(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    change = catalog_admin.SkuChange(
        name=_text(data, "name"),
        barcode=_text(data, "barcode"),
        base_price=_text(data, "base_price", 40),
        moq=_text(data, "moq", 20),
        order_multiple=_text(data, "order_multiple", 20),
        safety_stock=_text(data, "safety_stock", 20),
        allow_backorder=checked(data, "allow_backorder"),
        active=checked(data, "active"),
        # A form without these fields (an older page) leaves them as they are.
        weight_g=_text(data, "weight_g", 20) if "weight_g" in data else None,
        image=_text(data, "image") if "image" in data else None,
        cost_price=_text(data, "cost_price", 40) if "cost_price" in data else None,
    )
    try:
        await catalog_admin.update_sku(request.user, sku_id, change)
    except ValidationFailed as exc:
        typed = {k: _text(data, k) for k in SKU_FIELDS}
        typed |= {"allow_backorder": change.allow_backorder, "active": change.active}
        return await _detail_page(
            request, sku_id, status=422, form="sku", errors=_errors(exc), typed=typed
        )
    return _saved(sku_id, "sku")


@post("/admin/skus/{sku_id:int}/product", include_in_schema=False)
async def product_save(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    d = await catalog_admin.get_sku(request.user, sku_id)
    change = catalog_admin.ProductChange(
        name=_text(data, "name"),
        brand=_text(data, "brand"),
        category_id=_text(data, "category", 20),
        active=checked(data, "active"),
        # Longer than the domain allows stays longer, so it is refused, not cut.
        description=(
            _text(data, "description", catalog_admin.PRODUCT_TEXT["description"] + 1)
            if "description" in data
            else None
        ),
    )
    try:
        await catalog_admin.update_product(request.user, d.product["id"], change)
    except ValidationFailed as exc:
        typed = {
            "name": change.name,
            "brand": change.brand,
            "category": change.category_id,
            "description": change.description or "",
            "active": change.active,
        }
        return await _detail_page(
            request, sku_id, status=422, form="product", errors=_errors(exc), typed=typed
        )
    return _saved(sku_id, "product")


@post("/admin/skus/{sku_id:int}/packs", include_in_schema=False)
async def packs_save(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    # Longer than the domain allows stays longer, so it is refused, not cut.
    packs = _text(data, "packs", catalog_admin.MAX_PACKS_TEXT + 1)
    try:
        await catalog_admin.set_packs(request.user, sku_id, packs)
    except ValidationFailed as exc:
        return await _detail_page(
            request, sku_id, status=422, form="packs", errors=_errors(exc), typed={"packs": packs}
        )
    return _saved(sku_id, "packs")


@post("/admin/skus/{sku_id:int}/tier-prices/{tier_id:int}", include_in_schema=False)
async def tier_price_save(
    request: Request, sku_id: FromPath[int], tier_id: FromPath[int], data: Form
) -> Response:
    change = catalog_admin.TierPriceChange(
        price=_text(data, "price", 40),
        percent=_text(data, "percent", 40),
        # Longer than the domain allows stays longer, so it is refused, not cut.
        breaks=_text(data, "breaks", catalog_admin.MAX_BREAKS_TEXT + 1),
    )
    try:
        await catalog_admin.set_tier_price(request.user, sku_id, tier_id, change)
    except ValidationFailed as exc:
        typed = {"price": change.price, "percent": change.percent, "breaks": change.breaks}
        return await _detail_page(
            request, sku_id, status=422, form=f"tier-{tier_id}", errors=_errors(exc), typed=typed
        )
    return _saved(sku_id, f"tier-{tier_id}")


@post("/admin/skus/{sku_id:int}/contract-prices", include_in_schema=False)
async def contract_price_save(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    dealer, price = _text(data, "dealer", 100), _text(data, "price", 40)
    try:
        await catalog_admin.set_contract_price(request.user, sku_id, dealer, price)
    except ValidationFailed as exc:
        return await _detail_page(
            request,
            sku_id,
            status=422,
            form="contract",
            errors=_errors(exc),
            typed={"dealer": dealer, "price": price},
        )
    return _saved(sku_id, "contracts")


@post("/admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}/remove", include_in_schema=False)
async def contract_price_remove(
    request: Request, sku_id: FromPath[int], dealer_code: FromPath[str]
) -> Response:
    await catalog_admin.remove_contract_price(request.user, sku_id, dealer_code[:100])
    return _saved(sku_id, "contracts")


@post("/admin/skus/{sku_id:int}/visibility", include_in_schema=False)
async def visibility_save(request: Request, sku_id: FromPath[int], data: Form) -> Response:
    d = await catalog_admin.get_sku(request.user, sku_id)
    visibility = _text(data, "visibility", 20)
    tier_ids = [t[:20] for t in _list(data, "tier_ids")]
    codes_text = str(data.get("dealer_codes") or "")
    try:
        await catalog_admin.set_visibility(
            request.user,
            d.product["id"],
            visibility,
            tier_ids,
            [c for c in CODE_SEPARATORS.split(codes_text) if c],
        )
    except ValidationFailed as exc:
        typed = {
            "visibility": visibility,
            "tier_ids": set(tier_ids),
            "dealer_codes": codes_text[: TEXT_LIMIT * 10],
        }
        return await _detail_page(
            request, sku_id, status=422, form="visibility", errors=_errors(exc), typed=typed
        )
    return _saved(sku_id, "visibility")


# --- adding a product (with its first SKU) or a SKU ---------------------------------------------

# The new SKU's fields as the form names them (the product's are product_*, see PRODUCT_FIELDS).
NEW_SKU_FIELDS = (
    "code",
    "name",
    "spec",
    "colour",
    "barcode",
    "base_unit",
    "base_price",
    "moq",
    "order_multiple",
    "safety_stock",
    "weight_g",
    "packs",
)
PRODUCT_FIELDS = (
    "product_name",
    "product_brand",
    "product_category",
    "product_description",
    "product_image",
)
# What an empty form shows: one base unit at a time, no safety stock, orderable at once.
NEW_SKU_DEFAULTS = {
    "moq": "1",
    "order_multiple": "1",
    "safety_stock": "0",
    "weight_g": "0",
    "active": True,
    "allow_backorder": False,
}
NEW_PRODUCT_DEFAULTS = {"product_active": True}


def _new_sku_input(data: dict[str, Any]) -> catalog_admin.SkuNew:
    return catalog_admin.SkuNew(
        # Longer than the domain allows stays longer, so it is refused, not cut.
        code=_text(data, "code", catalog_admin.CODE_MAX + 1),
        name=_text(data, "name"),
        base_unit=_text(data, "base_unit", catalog_admin.UNIT_MAX + 1),
        base_price=_text(data, "base_price", 40),
        barcode=_text(data, "barcode"),
        spec=_text(data, "spec"),
        colour=_text(data, "colour"),
        moq=_text(data, "moq", 20),
        order_multiple=_text(data, "order_multiple", 20),
        safety_stock=_text(data, "safety_stock", 20),
        weight_g=_text(data, "weight_g", 20),
        packs=_text(data, "packs", catalog_admin.MAX_PACKS_TEXT + 1),
        allow_backorder=checked(data, "allow_backorder"),
        active=checked(data, "active"),
    )


def _new_product_input(data: dict[str, Any]) -> catalog_admin.ProductNew:
    return catalog_admin.ProductNew(
        name=_text(data, "product_name"),
        brand=_text(data, "product_brand"),
        category_id=_text(data, "product_category", 20),
        description=_text(
            data, "product_description", catalog_admin.PRODUCT_TEXT["description"] + 1
        ),
        image=_text(data, "product_image"),
        active=checked(data, "product_active"),
    )


def _typed(data: dict[str, Any], fields: tuple[str, ...], flags: tuple[str, ...]) -> dict:
    """What was typed, to show again in a refused form."""
    limit = catalog_admin.PRODUCT_TEXT["description"] + 1
    return {k: _text(data, k, limit) for k in fields} | {k: checked(data, k) for k in flags}


async def _new_product_page(
    request: Request,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    catalog_admin.require_admin(request.user)
    context = {
        "values": values or {**NEW_PRODUCT_DEFAULTS, **NEW_SKU_DEFAULTS},
        "errors": errors or {},
        "category_choices": await categories.list_categories(request.user),
        "max_packs": catalog_admin.MAX_PACKS,
        "show_acting_banner": False,
    }
    return page(request, "catalog_admin/new_product.html", context, active_tab="me", status=status)


async def _new_sku_page(
    request: Request,
    product_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    context = {
        "product": await catalog_admin.get_product(request.user, product_id),
        "values": values or dict(NEW_SKU_DEFAULTS),
        "errors": errors or {},
        "max_packs": catalog_admin.MAX_PACKS,
        "show_acting_banner": False,
    }
    return page(request, "catalog_admin/new_sku.html", context, active_tab="me", status=status)


def _added(d: SkuDetail, message: str) -> Response:
    """To the new SKU's page, which says what was added (once)."""
    return flash(Redirect(f"/admin/skus/{d.sku['id']}", status_code=303), "ok", [message])


@get("/admin/products/new", include_in_schema=False)
async def product_new(request: Request) -> Template:
    return await _new_product_page(request)


@post("/admin/products", include_in_schema=False)
async def product_create(request: Request, data: Form) -> Response:
    try:
        d = await catalog_admin.create_product_with_sku(
            request.user, _new_product_input(data), _new_sku_input(data)
        )
    except ValidationFailed as exc:
        flags = ("product_active", "active", "allow_backorder")
        values = _typed(data, PRODUCT_FIELDS + NEW_SKU_FIELDS, flags)
        return await _new_product_page(request, values=values, errors=_errors(exc), status=422)
    return _added(
        d,
        i18n.gettext(
            "Product %(product)s added, with its SKU %(code)s.",
            product=d.product["name"],
            code=d.sku["code"],
        ),
    )


@get("/admin/products/{product_id:int}/skus/new", include_in_schema=False)
async def sku_new(request: Request, product_id: FromPath[int]) -> Template:
    return await _new_sku_page(request, product_id)


@post("/admin/products/{product_id:int}/skus", include_in_schema=False)
async def sku_create(request: Request, product_id: FromPath[int], data: Form) -> Response:
    try:
        d = await catalog_admin.create_sku(request.user, product_id, _new_sku_input(data))
    except ValidationFailed as exc:
        values = _typed(data, NEW_SKU_FIELDS, ("active", "allow_backorder"))
        return await _new_sku_page(
            request, product_id, values=values, errors=_errors(exc), status=422
        )
    return _added(
        d,
        i18n.gettext(
            "SKU %(code)s added to %(product)s.", code=d.sku["code"], product=d.product["name"]
        ),
    )


# --- the product's picture, uploaded -------------------------------------------------------


def picture_too_large(request: Request, exc: Exception) -> Response:
    """A body over the upload limit is refused before any handler runs: say why in words."""
    from portal.app import render_domain_error

    message = _("The picture is larger than %(max)s MB.")
    params = {"max": photos.MAX_BYTES // (1024 * 1024)}
    refused = ValidationFailed(message, params, errors=[FieldError("picture", message, params)])
    refused.status = 413
    return render_domain_error(request, refused)


# The picture's route takes one photo's worth of body (and the form around it), and explains a
# body over it; a file just over photos.MAX_BYTES still arrives, for the domain to refuse.
PICTURE_LIMITS: dict[str, Any] = {
    "request_max_body_size": photos.MAX_BYTES + 256 * 1024,
    "exception_handlers": {413: picture_too_large},
}


async def _picture_form(request: Request, field: str) -> tuple[dict[str, str], photos.Upload]:
    """A multipart form's text fields and the file sent as `field` (an empty Upload if none:
    a file input left empty arrives as an empty text field)."""
    form = await request.form()
    values: dict[str, str] = {}
    upload = photos.Upload("", b"")
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == field and not upload.data:
                upload = photos.Upload(value.filename or "", await value.read())
            await value.close()
        elif key not in values:
            values[key] = str(value)[:TEXT_LIMIT]
    return values, upload


@post("/admin/products/{product_id:int}/picture", include_in_schema=False, **PICTURE_LIMITS)
async def picture_upload(request: Request, product_id: FromPath[int]) -> Response:
    """The SKU page's picture form: back to that SKU's page (the form names it), or the
    product's first SKU."""
    data, upload = await _picture_form(request, "picture")
    sku_id = await catalog_admin.sku_of_product(request.user, product_id, data.get("sku", ""))
    try:
        await catalog_admin.upload_product_picture(request.user, product_id, upload)
    except ValidationFailed as exc:
        if sku_id is None:
            messages = list(_errors(exc).values())
            return flash(Redirect("/admin/skus", status_code=303), "error", messages)
        return await _detail_page(request, sku_id, status=422, form="picture", errors=_errors(exc))
    message = i18n.gettext("Picture uploaded.")
    where = f"/admin/skus/{sku_id}#picture" if sku_id is not None else "/admin/skus"
    return flash(Redirect(where, status_code=303), "ok", [message])


async def _back_to_pictures(
    request: Request, product_id: int, wanted: str, use: Any, what: str
) -> Response:
    """Run a change of the product's pictures and go back to the SKU page's pictures (the form
    names the SKU), saying `what` was done, or what was wrong."""
    sku_id = await catalog_admin.sku_of_product(request.user, product_id, wanted)
    try:
        await use()
    except ValidationFailed as exc:
        if sku_id is None:
            return flash(
                Redirect("/admin/skus", status_code=303), "error", list(_errors(exc).values())
            )
        return await _detail_page(
            request, sku_id, status=422, form="more-pictures", errors=_errors(exc)
        )
    where = f"/admin/skus/{sku_id}#more-pictures" if sku_id is not None else "/admin/skus"
    return flash(Redirect(where, status_code=303), "ok", [i18n.gettext(what)])


@post("/admin/products/{product_id:int}/pictures", include_in_schema=False, **PICTURE_LIMITS)
async def picture_add(request: Request, product_id: FromPath[int]) -> Response:
    """One more picture of the product (the cover too if it has none)."""
    data, upload = await _picture_form(request, "picture")

    async def use() -> None:
        await catalog_admin.add_product_picture(request.user, product_id, upload)

    return await _back_to_pictures(
        request, product_id, data.get("sku", ""), use, _("Picture added.")
    )


@post("/admin/products/{product_id:int}/pictures/{picture_id:int}/cover", include_in_schema=False)
async def picture_cover(
    request: Request, product_id: FromPath[int], picture_id: FromPath[int], data: Form
) -> Response:
    async def use() -> None:
        await catalog_admin.make_cover(request.user, product_id, picture_id)

    return await _back_to_pictures(
        request, product_id, str(data.get("sku", "")), use, _("Cover picture changed.")
    )


@post("/admin/products/{product_id:int}/pictures/{picture_id:int}/remove", include_in_schema=False)
async def picture_remove(
    request: Request, product_id: FromPath[int], picture_id: FromPath[int], data: Form
) -> Response:
    async def use() -> None:
        await catalog_admin.remove_product_picture(request.user, product_id, picture_id)

    return await _back_to_pictures(
        request, product_id, str(data.get("sku", "")), use, _("Picture removed.")
    )


ROUTES = [
    sku_list,
    sku_detail,
    sku_save,
    product_save,
    packs_save,
    tier_price_save,
    contract_price_save,
    contract_price_remove,
    visibility_save,
    product_new,
    product_create,
    sku_new,
    sku_create,
    picture_upload,
    picture_add,
    picture_cover,
    picture_remove,
]
