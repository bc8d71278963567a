"""Request and response bodies of the JSON API (msgspec Structs, documented in OpenAPI).

Money is always a decimal string with two places ("1234.50"), never a number, so no client
ever rounds through a float. Dates are ISO 8601.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import HeaderParameter
from msgspec import UNSET, Meta, Struct, UnsetType

from portal.domain.errors import FieldError, ValidationFailed, _
from portal.domain.money import amount_fen, from_fen


class In(Struct, forbid_unknown_fields=True):
    """A request body: a field it does not name is refused (a validation problem), never
    silently ignored, so a misspelt or unsupported field cannot pass for one that was applied."""


def change_of(body: type[Struct], name: str, read_only: tuple[str, ...] = ()) -> type[Struct]:
    """The PUT body of a resource whose full body is `body`: the same fields and checks, each
    one optional, so a change sends what changes and a field left out keeps its value (see
    kept). Pausing a webhook is {"active": false}, not a restatement that resets its events.

    read_only: fields of the resource as GET returns it that a change may carry and that are
    ignored (its id, a computed state), so what GET returns can be sent back changed."""
    fields: list[tuple[str, Any, Any]] = [
        (field, Annotated[Any, Meta(description="read-only: ignored")], UNSET)
        for field in read_only
    ]
    for info in msgspec.structs.fields(body):
        kind = info.type
        inner = get_args(kind)[0] if get_origin(kind) is Annotated else None
        if inner is not None and get_origin(inner) in (Union, UnionType):
            # Annotated[X | None, Meta] | Unset would nest its oneOf in the OpenAPI document.
            kind = Annotated[(inner | UnsetType, *get_args(kind)[1:])]
        else:
            kind = kind | UnsetType
        fields.append((info.name, kind, UNSET))
    return msgspec.defstruct(name, fields, bases=(In,), module=body.__module__)


def kept(change: Struct, current: Struct, body: type[Struct]) -> Any:
    """The full body a change makes of the current state (an output with the same field
    names): each field as sent, or as it is when it was left out."""
    return body(
        **{
            name: getattr(current if getattr(change, name) is UNSET else change, name)
            for name in body.__struct_fields__
        }
    )


Money = Annotated[str, Meta(pattern=r"^-?\d+\.\d{2}$", examples=["1234.50"])]
Id = Annotated[int, Meta(ge=1, le=2**31 - 1)]


def money(fen: int) -> str:
    """Fen as the API's decimal string with two places ("1234.50")."""
    return str(from_fen(fen))


def price_fen(text: str, field: str) -> int:
    """A price typed as a decimal string, in fen; a validation problem naming `field` when it
    is not an amount of zero or more."""
    fen = amount_fen(text)
    if fen is None:
        raise ValidationFailed(errors=[FieldError(field, _("Enter an amount such as 1234.50."))])
    return fen


def file_operation(description: str, *media_types: str) -> type[Operation]:
    """An OpenAPI operation class whose 200 response is a file in one of media_types (a
    handler returning bytes would otherwise be documented as JSON)."""

    @dataclass
    class FileOperation(Operation):
        def __post_init__(self) -> None:
            binary = Schema(type="string", format="binary")  # type: ignore[arg-type]
            self.responses = dict(self.responses or {})
            self.responses["200"] = OpenAPIResponse(
                description=description,
                content={kind: OpenAPIMediaType(schema=binary) for kind in media_types},
            )

    return FileOperation


def upload_operation(part: str, description: str, *, many: bool = False) -> type[Operation]:
    """An OpenAPI operation class whose request body is a multipart/form-data form with the
    file (or files, `many`) as the part `part`: a handler that reads the form itself (to
    refuse a missing or wrong file in words) declares no body for Litestar to document."""

    @dataclass
    class UploadOperation(Operation):
        def __post_init__(self) -> None:
            binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            form = Schema(
                type=OpenAPIType.OBJECT,
                properties={part: Schema(type=OpenAPIType.ARRAY, items=binary) if many else binary},
                required=[part],
            )
            self.request_body = RequestBody(
                content={"multipart/form-data": OpenAPIMediaType(schema=form)},
                description=description,
                required=True,
            )

    return UploadOperation


# --- problems (RFC 9457; written by portal.app, described here for OpenAPI) ---------------


class FieldProblem(Struct):
    field: Annotated[
        str,
        Meta(
            examples=["lines[0].qty"],
            description="the input refused, as a path in the body sent (lines[0].qty, "
            "lines[0].unit_price, lines[0] for a whole line, warehouse_id), a query or path "
            'parameter\'s name, or "body" for the body as a whole',
        ),
    ]
    message: Annotated[str, Meta(description="what is wrong, in the caller's language")]


class ShortLine(Struct):
    sku: str
    requested: Annotated[int, Meta(description="base units")]
    available: Annotated[
        int | None,
        Meta(
            description="base units left; null for a dealer's own users unless the supplier "
            "shows them stock numbers (staff always see it)"
        ),
    ]


# Idempotency-Key header values: 1 to 100 visible ASCII characters.
IDEMPOTENCY_KEY = r"^[\x21-\x7E]{1,100}$"
# The required Idempotency-Key header of a POST that creates something.
IdempotencyKeyHeader = Annotated[
    str,
    HeaderParameter(name="Idempotency-Key", pattern=IDEMPOTENCY_KEY, min_length=1, max_length=100),
]
# The optional Idempotency-Key header of a change that is safe to retry with one.
OptionalIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY,
        min_length=1,
        max_length=100,
        required=False,
    ),
]


def qty_by_line(lines: list) -> dict[int, object]:
    """Quantities per order_line_id of a body's lines (a line named twice counts twice)."""
    quantities: dict[int, object] = {}
    for line in lines:
        quantities[line.order_line_id] = quantities.get(line.order_line_id, 0) + line.qty
    return quantities


class Problem(Struct, kw_only=True):
    """A refusal. `type` is stable: /problems/validation, not-found, conflict, unauthorized,
    forbidden, rate-limited, credit-exceeded, overdue-blocked, insufficient-stock,
    prices-changed, …; each type's address is a page saying what it means and what its
    members are (/problems lists them). Texts are in the caller's language (Accept-Language,
    else the user's)."""

    type: Annotated[
        str,
        Meta(examples=["/problems/validation"], description="documented at this address"),
    ]
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] | UnsetType = UNSET
    available: Annotated[Money | UnsetType, Meta(description="credit-exceeded")] = UNSET
    order_total: Annotated[
        Money | UnsetType, Meta(description="credit-exceeded, prices-changed")
    ] = UNSET
    credit_limit: Annotated[Money | UnsetType, Meta(description="credit-exceeded")] = UNSET
    exposure: Annotated[Money | UnsetType, Meta(description="credit-exceeded")] = UNSET
    tolerance: Annotated[Money | UnsetType, Meta(description="credit-exceeded")] = UNSET
    overdue: Annotated[Money | UnsetType, Meta(description="overdue-blocked")] = UNSET
    lines: Annotated[
        list[ShortLine] | UnsetType,
        Meta(
            description="insufficient-stock: the short lines (of an order, or of a shipment "
            "short in the warehouse chosen)"
        ),
    ] = UNSET
    short_lines: Annotated[
        list[ShortLine] | UnsetType,
        Meta(description="credit-exceeded: lines also short of stock, to fix both at once"),
    ] = UNSET
    retry_after: Annotated[int | UnsetType, Meta(description="rate-limited: seconds")] = UNSET
    idempotency_key: Annotated[
        str | UnsetType, Meta(description="conflict: the key used for another body")
    ] = UNSET
    order_status: Annotated[
        str | UnsetType, Meta(description="conflict: the order's status, which does not allow it")
    ] = UNSET
    shipment_status: Annotated[
        str | None | UnsetType,
        Meta(description="conflict: the shipment's status, which does not allow it"),
    ] = UNSET
    step_id: Annotated[
        int | UnsetType, Meta(description="conflict: the approval step already decided")
    ] = UNSET
    uses: Annotated[
        dict[str, int] | UnsetType,
        Meta(description="conflict: what still refers to a tier that cannot be removed"),
    ] = UNSET


_PROBLEM_TEXT = {
    400: "Malformed input (types, lengths, JSON): a validation problem",
    401: "No valid bearer token, or wrong credentials",
    403: "The caller's role may not do this",
    404: "Not found, or outside the caller's scope (the same answer)",
    409: (
        "Conflicts with the current state (or a reused Idempotency-Key); prices-changed "
        "when an order's total is not the expected_total sent"
    ),
    413: "The body is over the size limit",
    422: (
        "Refused: validation (per-field errors); where an order is placed or its value or "
        "quantities change, also credit-exceeded, overdue-blocked or insufficient-stock"
    ),
    415: "The body is not JSON: send Content-Type: application/json (or none)",
    429: "Too many attempts; see Retry-After",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem documents an endpoint may answer with.

    400 is always among them: any request may be refused as malformed (a NUL character in
    the query, a path id out of range), and without this entry Litestar documents its own
    plain-JSON 400 instead of the problem document the app actually sends.
    """
    statuses = tuple(sorted({400, *statuses}))
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_PROBLEM_TEXT[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in statuses
    }


# --- auth -------------------------------------------------------------------------------


class TokenRequest(In):
    username: Annotated[str, Meta(min_length=1, max_length=100, description="username or phone")]
    password: Annotated[str, Meta(min_length=1, max_length=200)]


class TokenUser(Struct):
    id: int
    role: str
    dealer_id: int | None
    name: str


class TokenResponse(Struct):
    access_token: str
    token_type: str
    expires_in: Annotated[int, Meta(description="seconds")]
    user: TokenUser


# --- catalog ----------------------------------------------------------------------------


class PackOut(Struct):
    name: str
    factor: Annotated[int, Meta(description="base units in one pack")]


class PackPriceOut(PackOut):
    unit_price: Annotated[Money, Meta(description="one pack at the dealer's unit price shown")]


class NextBreakOut(Struct):
    more_qty: Annotated[int, Meta(description="base units still to add to reach the break")]
    min_qty: int
    unit_price: Money
    label: Annotated[
        str,
        Meta(description="the hint in the caller's language, as the pages say it (再买 4 箱 → ¥X)"),
    ] = ""


class BreakOut(Struct):
    min_qty: Annotated[int, Meta(description="base units from which the price applies")]
    unit_price: Annotated[Money, Meta(description="per base unit, promotions applied")]
    rule_label: str


class PriceOut(Struct):
    unit_price: Annotated[
        Money,
        Meta(
            description="per base unit, in fen: a percentage price (of the base price, or a "
            "promotion's percentage off) is rounded half-up to the fen once, here; an order "
            "line is then qty × this, exactly"
        ),
    ]
    list_price: Annotated[Money, Meta(description="the SKU's base (list) price per base unit")]
    rule: Annotated[
        str,
        Meta(
            description="which rule gave the price: contract, volume_break, tier, base or "
            "promotion (percentage off)"
        ),
    ]
    rule_label: Annotated[
        str, Meta(description="the rule in the caller's language, e.g. 一级经销商价，满 50 箱")
    ]
    next_break: NextBreakOut | None
    breaks: Annotated[
        list[BreakOut],
        Meta(description="every volume break above first_qty: the dealer's price ladder"),
    ] = []
    base_rule: Annotated[
        str,
        Meta(
            description="the rule under a promotion's percentage off (contract, volume_break, "
            "tier or base); the same as rule when no promotion applies"
        ),
    ] = ""


class BoughtBeforeOut(Struct):
    qty: Annotated[int, Meta(description="base units on the dealer's latest order line")]
    unit_price: Money
    at: datetime | None
    order_number: str


class SkuOut(Struct):
    sku_id: int
    product_id: int
    code: str
    barcode: str
    name: str
    spec: str
    colour: str
    unit: str
    pack: Annotated[PackPriceOut | None, Meta(description="the largest pack unit")]
    moq: int
    order_multiple: int
    first_qty: Annotated[int, Meta(description="smallest quantity meeting MOQ and multiple")]
    image: str
    price: PriceOut
    availability: Annotated[str, Meta(description="in_stock, low or out")]
    available_qty: Annotated[
        int | None, Meta(description="base units; only for staff or when the supplier shows it")
    ]
    allow_backorder: bool
    favourite: bool
    bought_before: BoughtBeforeOut | None
    packs: Annotated[
        list[PackPriceOut], Meta(description="every pack unit, largest first; order in any")
    ] = []
    weight_g: Annotated[int, Meta(description="grams per base unit; 0: not known")] = 0
    offers: Annotated[
        list[str],
        Meta(description="buy-N-get-M gifts (买赠) buying this SKU earns today, as labels"),
    ] = []


class SkuPageOut(Struct):
    items: list[SkuOut]
    page: int
    per_page: int
    has_more: bool
    total: int


class CategoryOut(Struct):
    id: int
    name: str
    children: list[CategoryOut]


# --- orders -----------------------------------------------------------------------------


class OrderLineIn(In):
    qty: Annotated[
        int,
        Meta(ge=-(10**15), le=10**15, description="whole number of `unit` (default: base unit)"),
    ]
    sku_id: Id | None = None
    sku_code: Annotated[str, Meta(min_length=1, max_length=40)] | None = None
    unit: Annotated[str, Meta(min_length=1, max_length=10)] | None = None
    unit_price: Annotated[
        Annotated[str, Meta(max_length=20)] | None,
        Meta(
            examples=["1.70"],
            description="staff only: the price per base unit instead of the dealer's (a rep's "
            "discount; beyond their authority the order waits for approval where a rule says "
            "so); the line's price_rule is then manual",
        ),
    ] = None


class OrderIn(In):
    lines: Annotated[list[OrderLineIn], Meta(min_length=1, max_length=500)]
    # Staff only: dealer users always order for their own dealer.
    dealer_id: Id | None = None
    address_id: Id | None = None
    requested_date: date | None = None
    note: Annotated[str, Meta(max_length=500)] = ""
    expected_total: Annotated[
        Annotated[str, Meta(max_length=20, examples=["1234.50"])] | None,
        Meta(
            description="the total the caller showed its user, in yuan (1234.5 and 1234 "
            "too): if the order now comes to another (a price or an offer changed), it is "
            "not placed: 409 prices-changed"
        ),
    ] = None


class CancelIn(In):
    reason: Annotated[str, Meta(max_length=500)] = ""


class CloseRestIn(In):
    """Why what has not shipped will not ship (required)."""

    reason: Annotated[str, Meta(max_length=500)] = ""


class OrderLineOut(Struct):
    id: Annotated[
        int,
        Meta(description="the line's id: order_line_id in shipments, returns and adjustments"),
    ]
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: Annotated[int, Meta(description="base units")]
    qty_shipped: int
    qty_backordered: Annotated[
        int,
        Meta(description="base units waiting for stock (not reserved, not shippable yet)"),
    ]
    unit_price: Annotated[
        Money,
        Meta(
            description="per base unit as it was at submission (later price changes never "
            "alter it); already a whole fen, a percentage price rounded half-up once"
        ),
    ]
    list_price: Annotated[Money, Meta(description="the base (list) price at submission")]
    line_total: Annotated[
        Money,
        Meta(
            description="qty × unit price (exact), less the line's share of the order's "
            "saving (满减, spread over the lines exact to the fen)"
        ),
    ]
    price_rule: Annotated[
        str,
        Meta(
            description="contract, volume_break, tier, base, promotion (percentage off), "
            "manual (set by staff) or gift (买赠, zero-priced)"
        ),
    ]
    price_rule_label: str
    discount: Annotated[
        Money, Meta(description="the line's share of the order's saving (满减)")
    ] = "0.00"
    is_gift: bool = False
    base_rule: Annotated[
        str,
        Meta(
            description="promotion lines: the rule under the percentage off (contract, "
            "volume_break, tier or base); manual lines: the rule that gave the dealer's own "
            "price then (promotion included); other lines: price_rule"
        ),
    ] = ""
    ref_unit_price: Annotated[
        Money | None,
        Meta(
            description="manual lines: the dealer's own price per base unit at submission, "
            "which the staff-set price replaced (null for other lines)"
        ),
    ] = None


class OrderEventOut(Struct):
    at: datetime
    actor_name: Annotated[
        str,
        Meta(
            description='who: the user\'s name, or "the system" (系统) for what happened '
            "by itself (an order meeting no approval rule, an automatic receipt)"
        ),
    ]
    kind: Annotated[
        str,
        Meta(
            description="what: submitted, auto_approved, step_approved, approved, rejected, "
            "returned, resubmitted, adjusted, cancelled, backordered, shipment_packed, "
            "shipment_shipped, shipment_received, completed, return_requested…"
        ),
    ]
    from_status: str
    to_status: str
    note: Annotated[str, Meta(description="why: the reason or comment given, if any")]
    kind_label: Annotated[
        str, Meta(description="what happened, in the caller's language, as the timeline shows it")
    ] = ""


class OrderOut(Struct):
    id: int
    number: str
    status: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    placed_by_name: str
    rep_name: Annotated[
        str,
        Meta(
            description="the staff member who keyed it in for the dealer (a rep, or a "
            "manager or administrator), if any; the dealer's own rep is on the dealer"
        ),
    ]
    total: Annotated[Money, Meta(description="what the dealer pays: goods less the saving")]
    list_total: Money
    ship_to: str
    requested_date: date | None
    note: str
    created_at: datetime
    can_cancel: bool
    lines: list[OrderLineOut]
    events: list[OrderEventOut]
    goods_total: Annotated[Money, Meta(description="the lines at their prices")] = "0.00"
    discount: Annotated[Money, Meta(description="the saving a 满减 promotion gave")] = "0.00"
    discount_label: str = ""
    placed_by_id: Annotated[int | None, Meta(description="the user who placed it")] = None
    rep_id: Annotated[int | None, Meta(description="the staff member of rep_name")] = None


class BackorderOut(Struct):
    """An open order line waiting for stock; listed oldest order first (the fill order)."""

    order_id: int
    order_number: str
    order_status: str
    submitted_at: datetime
    dealer_id: int
    dealer_name: str
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: Annotated[int, Meta(description="ordered, base units")]
    qty_backordered: Annotated[int, Meta(description="waiting for stock, base units")]


class OrderSummaryOut(Struct):
    id: int
    number: str
    status: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    total: Money
    line_count: int
    created_at: datetime


class OrdersPageOut(Struct):
    items: list[OrderSummaryOut]
    page: int
    per_page: int
    has_more: bool
    total: int
