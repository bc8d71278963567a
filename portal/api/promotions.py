"""API: promotions. Administrators keep them; a dealer (or staff naming one) reads what is on
offer today."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import UNSET, Meta, Struct, UnsetType

from portal.api.catalog import dealer_for
from portal.api.fields import body_paths
from portal.api.schemas import In, Money, change_of, kept, money, price_fen, problems
from portal.domain import promotions
from portal.domain.errors import FieldError, ValidationFailed, _
from portal.domain.scope import Actor

PromoId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
# 0 is taken (and ignored) for a field of another kind, so that a promotion as GET returns
# it can be PUT back changed; the kind's own fields must be positive (the domain says so).
Qty = Annotated[int, Meta(ge=0, le=promotions.MAX_QTY)]
Fen = Annotated[int, Meta(ge=0, le=promotions.MAX_AMOUNT_FEN)]
Yuan = Annotated[str, Meta(max_length=20, examples=["1000.00"])]
# The amounts of a spend_save promotion: in yuan as every other amount the API takes, and
# in fen as it first took them (still accepted).
AMOUNTS = ("threshold", "save")


class PromotionIn(In):
    name: Annotated[str, Meta(min_length=1, max_length=promotions.MAX_NAME)]
    kind: Annotated[str, Meta(description="percent_off, spend_save (满减) or buy_get (买赠)")]
    starts_on: date
    ends_on: Annotated[
        date,
        Meta(
            description="the last day, inclusive (Asia/Shanghai); at most "
            f"{promotions.MAX_DAYS} days "
            "(three years) after starts_on"
        ),
    ]
    active: bool = True
    tier_id: Annotated[
        Annotated[int, Meta(ge=1, le=2**31 - 1)] | None, Meta(description="null: every tier")
    ] = None
    sku_code: Annotated[
        str,
        Meta(
            max_length=40,
            description="percent_off: the one SKU it applies to; buy_get: the SKU to buy",
        ),
    ] = ""
    category_id: Annotated[
        Annotated[int, Meta(ge=1, le=2**31 - 1)] | None,
        Meta(description="percent_off: a category and its sub-categories"),
    ] = None
    percent_off_bp: Annotated[
        Annotated[int, Meta(ge=0, le=9999)] | None,
        Meta(description="percent_off: basis points, 1000 = 10% off"),
    ] = None
    threshold: Annotated[
        Yuan | None, Meta(description='spend_save: the order reaches, in yuan ("1000.00")')
    ] = None
    save: Annotated[Yuan | None, Meta(description="spend_save: and saves, in yuan")] = None
    threshold_fen: Annotated[
        Fen | None,
        Meta(
            description="threshold in fen, as first taken (still accepted; with threshold, "
            "the same amount)"
        ),
    ] = None
    save_fen: Annotated[
        Fen | None,
        Meta(description="save in fen, as first taken (still accepted; with save, the same)"),
    ] = None
    buy_qty: Annotated[Qty | None, Meta(description="buy_get: every N base units")] = None
    gift_sku_code: Annotated[str, Meta(max_length=40, description="buy_get: the gift")] = ""
    gift_qty: Annotated[Qty | None, Meta(description="buy_get: M base units free")] = None


# What GET returns may be sent back changed: its id, state, SKU ids and terms are read-only
# and ignored.
PromotionChangeIn = change_of(
    PromotionIn,
    "PromotionChangeIn",
    read_only=("id", "state", "sku_id", "gift_sku_id", "terms"),
)


def _as_body(p: promotions.Promo) -> PromotionIn:
    """A promotion as the body that would make it (0 for "not this kind's" is None)."""
    return PromotionIn(
        name=p.name,
        kind=p.kind,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        active=p.active,
        tier_id=p.tier_id,
        sku_code=p.sku_code or "",
        category_id=p.category_id,
        percent_off_bp=p.percent_bp or None,
        threshold_fen=p.threshold_fen or None,
        save_fen=p.save_fen or None,
        buy_qty=p.buy_qty or None,
        gift_sku_code=p.gift_code or "",
        gift_qty=p.gift_qty or None,
    )


class PromotionOut(Struct):
    id: int
    name: str
    kind: str
    active: bool
    state: Annotated[str, Meta(description="paused, scheduled, running or ended")]
    starts_on: date
    ends_on: date
    tier_id: int | None
    sku_id: int | None
    sku_code: str
    category_id: int | None
    percent_off_bp: int
    threshold: Money
    save: Money
    threshold_fen: Annotated[int, Meta(description="threshold in fen (as first taken)")]
    save_fen: Annotated[int, Meta(description="save in fen (as first taken)")]
    buy_qty: int
    gift_sku_id: int | None
    gift_sku_code: str
    gift_qty: int
    terms: Annotated[str, Meta(description="what it gives, in the caller's language")]


def _out(p: promotions.Promo) -> PromotionOut:
    return PromotionOut(
        id=p.id,
        name=p.name,
        kind=p.kind,
        active=p.active,
        state=p.state(promotions.today()),
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        tier_id=p.tier_id,
        sku_id=p.sku_id,
        sku_code=p.sku_code,
        category_id=p.category_id,
        percent_off_bp=p.percent_bp,
        threshold=money(p.threshold_fen),
        save=money(p.save_fen),
        threshold_fen=p.threshold_fen,
        save_fen=p.save_fen,
        buy_qty=p.buy_qty,
        gift_sku_id=p.gift_sku_id,
        gift_sku_code=p.gift_code,
        gift_qty=p.gift_qty,
        terms=p.terms,
    )


def _amounts_fen(body: PromotionIn | Any) -> dict[str, int | None | UnsetType]:
    """threshold_fen and save_fen as the body sends them: in yuan (threshold, save, parsed
    as every amount the API takes) or in fen; UNSET for one a change sends neither way. Both
    ways naming different amounts is refused, naming both fields."""
    amounts: dict[str, int | None | UnsetType] = {}
    errors: list[FieldError] = []
    for name in AMOUNTS:
        yuan, fen = getattr(body, name), getattr(body, f"{name}_fen")
        amounts[f"{name}_fen"] = fen
        if yuan is UNSET or yuan is None:
            if yuan is None and fen is UNSET:
                amounts[f"{name}_fen"] = None  # null: not this kind's amount
            continue
        try:
            parsed = price_fen(yuan, name)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if parsed > promotions.MAX_AMOUNT_FEN:
            errors.append(FieldError(name, _("The amount is too large.")))
        elif fen not in (UNSET, None) and fen != parsed:
            message = _("%(yuan)s and %(fen)s are different amounts: send one of them.")
            params = {"yuan": name, "fen": f"{name}_fen"}
            errors += [
                FieldError(name, message, params),
                FieldError(f"{name}_fen", message, params),
            ]
        else:
            amounts[f"{name}_fen"] = parsed
    if errors:
        raise ValidationFailed(errors=errors)
    return amounts


def _field_names(body: PromotionIn | Any) -> dict[str, str]:
    """The body's names of the fields the domain names as the promotion form does."""
    names = {
        "percent": "percent_off_bp",
        "tier": "tier_id",
        "category": "category_id",
        "sku": "sku_code",
        "gift_sku": "gift_sku_code",
    }
    for name in AMOUNTS:
        # An amount sent in fen only is named so.
        if getattr(body, name) in (UNSET, None) and getattr(body, f"{name}_fen") not in (
            UNSET,
            None,
        ):
            names[name] = f"{name}_fen"
    return names


def _data(body: PromotionIn) -> promotions.PromoData:
    return promotions.PromoData(
        name=body.name,
        kind=body.kind,
        active=body.active,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        tier_id=body.tier_id,
        sku_code=body.sku_code,
        category_id=body.category_id,
        percent_bp=body.percent_off_bp,
        threshold_fen=body.threshold_fen,
        save_fen=body.save_fen,
        buy_qty=body.buy_qty,
        gift_sku_code=body.gift_sku_code,
        gift_qty=body.gift_qty,
    )


@get(
    "/api/v1/promotions",
    tags=["catalog"],
    summary="Every promotion (administrators)",
    responses=problems(401, 403),
)
async def list_promotions(request: Request[Actor, Any, Any]) -> list[PromotionOut]:
    return [_out(p) for p in await promotions.list_promotions(request.user)]


@get(
    "/api/v1/promotions/current",
    tags=["catalog"],
    summary="The promotions on offer today for a dealer (staff name it with dealer_id)",
    responses=problems(401, 404, 422),
)
async def current_promotions(
    request: Request[Actor, Any, Any],
    dealer_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
) -> list[PromotionOut]:
    dealer = await dealer_for(request.user, dealer_id)
    return [_out(p) for p in await promotions.running_for(request.user, dealer)]


@post(
    "/api/v1/promotions",
    tags=["catalog"],
    summary="Add a promotion (administrators)",
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_promotion(
    request: Request[Actor, Any, Any], data: JSONBody[PromotionIn]
) -> PromotionOut:
    body = msgspec.structs.replace(data, **_amounts_fen(data))
    with body_paths(renames=_field_names(data)):
        return _out(await promotions.create(request.user, _data(body)))


@get(
    "/api/v1/promotions/{promo_id:int}",
    tags=["catalog"],
    summary="A promotion (administrators)",
    responses=problems(401, 403, 404),
)
async def get_promotion(request: Request[Actor, Any, Any], promo_id: PromoId) -> PromotionOut:
    return _out(await promotions.get_promotion(request.user, promo_id))


@put(
    "/api/v1/promotions/{promo_id:int}",
    tags=["catalog"],
    summary="Change a promotion (placed orders keep what they earned)",
    description="The fields sent change; a field left out keeps its value (a paused promotion "
    "stays paused unless `active` is sent).",
    responses=problems(401, 403, 404, 422),
)
async def update_promotion(
    request: Request[Actor, Any, Any], promo_id: PromoId, data: JSONBody[PromotionChangeIn]
) -> PromotionOut:
    amounts = _amounts_fen(data)
    current = _as_body(await promotions.get_promotion(request.user, promo_id))
    full = kept(data, current, PromotionIn)
    # An amount sent in yuan replaces the current one in fen too (kept() keeps what is left
    # out, and the fen fields were left out).
    full = msgspec.structs.replace(
        full, **{name: fen for name, fen in amounts.items() if fen is not UNSET}
    )
    with body_paths(renames=_field_names(data)):
        return _out(await promotions.update(request.user, promo_id, _data(full)))


ROUTES = [list_promotions, current_promotions, create_promotion, get_promotion, update_promotion]
