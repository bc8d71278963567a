"""Promotions: administrators set them up (/admin/promotions); dealers, and staff ordering for
one, see what is on offer today (/promotions)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Response, Template

from portal.domain import catalog, money, promotions
from portal.domain.errors import FieldError, ValidationFailed, _
from portal.tables import Tier
from portal.web.common import acting_dealer, checked, done, field_errors, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
FIELDS = (
    "name",
    "kind",
    "starts_on",
    "ends_on",
    "tier",
    "percent",
    "sku",
    "buy_sku",
    "category",
    "threshold",
    "save",
    "buy_qty",
    "gift_sku",
    "gift_qty",
)


def _text(data: dict[str, Any], name: str, limit: int = 100) -> str:
    return str(data.get(name) or "").strip()[:limit]


def _parse(data: dict[str, Any]) -> tuple[promotions.PromoData, list[FieldError]]:
    """The form as PromoData; what cannot even be read is a field error (nothing is saved)."""
    errors: list[FieldError] = []

    def day(name: str) -> date | None:
        text = _text(data, name, 20)
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            errors.append(FieldError(name, _("Enter a date such as 2026-12-01.")))
            return None

    # Every field is checked, also those the chosen kind does not use: nothing typed is
    # silently dropped.
    def whole(name: str) -> int | None:
        text = _text(data, name, 40)
        if not text:
            return None
        if not text.isdigit() or not 0 < int(text) <= promotions.MAX_QTY:
            errors.append(FieldError(name, _("Enter a whole number.")))
            return None
        return int(text)

    def ident(name: str, message: str) -> int | None:
        text = _text(data, name, 40)
        if not text:
            return None
        if not text.isdigit() or len(text) > 10:
            errors.append(FieldError(name, message))
            return None
        return int(text)

    def amount(name: str) -> int | None:
        text = _text(data, name, 40)
        if not text:
            return None
        try:
            fen = money.to_fen(money.parse_amount(text))
        except ValueError:
            fen = -1
        if not 0 < fen <= promotions.MAX_AMOUNT_FEN:
            errors.append(FieldError(name, _("Enter an amount such as 1,000.00.")))
            return None
        return fen

    def code(name: str) -> str:
        text = str(data.get(name) or "").strip()
        if len(text) > 40:
            errors.append(FieldError(name, _("No SKU has the code %(code)s."), {"code": text[:40]}))
        return text[:40]

    # The buy-get fieldset has its own box for the SKU to buy.
    sku_text, buy_text = code("sku"), code("buy_sku")
    buying = _text(data, "kind", 20) == promotions.BUY_GET
    sku_code = (buy_text or sku_text) if buying else sku_text
    percent_bp = None
    percent_text = _text(data, "percent", 12).rstrip("%").strip()
    if percent_text:
        try:
            value = Decimal(percent_text) * 100
            if not value.is_finite() or value != value.to_integral_value():
                raise InvalidOperation
            if not 0 < value < 10000:
                raise InvalidOperation
            percent_bp = int(value)
        except InvalidOperation:
            errors.append(FieldError("percent", _("Enter a percentage such as 10 or 12.5.")))
    return (
        promotions.PromoData(
            name=str(data.get("name") or "")[: promotions.MAX_NAME + 40],
            kind=_text(data, "kind", 20),
            active=checked(data, "active"),
            starts_on=day("starts_on"),
            ends_on=day("ends_on"),
            tier_id=ident("tier", _("Choose a tier.")),
            sku_code=sku_code,
            category_id=ident("category", _("Choose a category.")),
            percent_bp=percent_bp,
            threshold_fen=amount("threshold"),
            save_fen=amount("save"),
            buy_qty=whole("buy_qty"),
            gift_sku_code=code("gift_sku"),
            gift_qty=whole("gift_qty"),
        ),
        errors,
    )


def _values(p: promotions.Promo) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "active": p.active,
        "starts_on": p.starts_on.isoformat(),
        "ends_on": p.ends_on.isoformat(),
        "tier": p.tier_id or "",
        "percent": promotions.percent_text(p.percent_bp).rstrip("%") if p.percent_bp else "",
        "sku": p.sku_code if p.kind != promotions.BUY_GET else "",
        "buy_sku": p.sku_code if p.kind == promotions.BUY_GET else "",
        "category": p.category_id or "",
        "threshold": str(money.from_fen(p.threshold_fen)) if p.threshold_fen else "",
        "save": str(money.from_fen(p.save_fen)) if p.save_fen else "",
        "buy_qty": p.buy_qty or "",
        "gift_sku": p.gift_code,
        "gift_qty": p.gift_qty or "",
    }


def _flat(tree: list[dict], depth: int = 0) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in tree:
        out.append((node["id"], "\u3000" * depth + node["name"]))
        out.extend(_flat(node.get("children") or [], depth + 1))
    return out


async def _page(request: Request, template: str, status: int = 200, **extra: Any) -> Template:
    today = promotions.today()
    context = {
        "errors": {},
        "values": {
            "kind": promotions.PERCENT_OFF,
            "active": True,
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
        "kinds": [(k, promotions.KIND_LABELS[k]) for k in promotions.KINDS],
        "tiers": await Tier.select(Tier.id, Tier.name).order_by(Tier.id),
        "categories": _flat(await catalog.category_tree()),
        "today": today,
        "state_labels": promotions.STATE_LABELS,
        "show_acting_banner": False,
        **extra,
    }
    if template == "promotions/admin.html":
        context["promotions"] = await promotions.list_promotions(request.user)
    return page(request, template, context, active_tab="me", status=status)


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _text(data, k, 100) for k in FIELDS} | {"active": checked(data, "active")}


def _on_form(errors: list[FieldError], data: dict[str, Any]) -> list[FieldError]:
    """The domain's "sku" is the buy-get fieldset's own box when that is what was used."""
    if _text(data, "kind", 20) != promotions.BUY_GET or not _text(data, "buy_sku"):
        return errors
    return [FieldError("buy_sku", e.message, e.params) if e.field == "sku" else e for e in errors]


async def _save(request: Request, promo_id: int | None, data: dict[str, Any]) -> None:
    parsed, errors = _parse(data)
    if errors:
        # With what the domain finds in the rest, so the form shows every problem at once.
        unread = {e.field for e in errors}
        found = _on_form(await promotions.problems(parsed), data)
        raise ValidationFailed(errors=errors + [e for e in found if e.field not in unread])
    try:
        if promo_id is None:
            await promotions.create(request.user, parsed)
        else:
            await promotions.update(request.user, promo_id, parsed)
    except ValidationFailed as exc:
        raise ValidationFailed(errors=_on_form(list(exc.errors), data)) from exc


@get("/admin/promotions", include_in_schema=False)
async def promotion_list(request: Request) -> Template:
    await promotions.list_promotions(request.user)  # administrators only, before any query
    return await _page(request, "promotions/admin.html")


@post("/admin/promotions", include_in_schema=False)
async def promotion_add(request: Request, data: Form) -> Response:
    try:
        await _save(request, None, {**data, "active": "1"})
    except ValidationFailed as exc:
        return await _page(
            request,
            "promotions/admin.html",
            422,
            values=_form_values({**data, "active": "1"}),
            errors=field_errors(exc),
        )
    return done("/admin/promotions", _("Promotion added."))


@get("/admin/promotions/{promo_id:int}", include_in_schema=False)
async def promotion_edit(request: Request, promo_id: FromPath[int]) -> Template:
    promo = await promotions.get_promotion(request.user, promo_id)
    return await _page(request, "promotions/edit.html", promo=promo, values=_values(promo))


@post("/admin/promotions/{promo_id:int}", include_in_schema=False)
async def promotion_save(request: Request, promo_id: FromPath[int], data: Form) -> Response:
    promo = await promotions.get_promotion(request.user, promo_id)
    try:
        await _save(request, promo_id, data)
    except ValidationFailed as exc:
        return await _page(
            request,
            "promotions/edit.html",
            422,
            promo=promo,
            values=_form_values(data),
            errors=field_errors(exc),
        )
    return done("/admin/promotions", _("Promotion saved."))


@post("/admin/promotions/{promo_id:int}/active", include_in_schema=False)
async def promotion_active(request: Request, promo_id: FromPath[int], data: Form) -> Response:
    """Pause or resume from the list, one tap (placed orders keep what they earned)."""
    await promotions.get_promotion(request.user, promo_id)
    wanted = str(data.get("active") or "")
    if wanted not in ("0", "1"):
        raise ValidationFailed(errors=[FieldError("active", _("Choose pause or resume."))])
    await promotions.set_active(request.user, promo_id, wanted == "1")
    return done(
        "/admin/promotions", _("Promotion resumed.") if wanted == "1" else _("Promotion paused.")
    )


@get("/promotions", include_in_schema=False)
async def promotions_on_offer(request: Request) -> Template:
    dealer = await acting_dealer(request)
    running = await promotions.running_for(request.user, dealer) if dealer else []
    return page(
        request,
        "promotions/list.html",
        {"promotions": running, "dealer": dealer},
        active_tab="catalog",
    )


ROUTES = [
    promotion_list,
    promotion_add,
    promotion_edit,
    promotion_save,
    promotion_active,
    promotions_on_offer,
]
