"""API orders: cart-less submission with an idempotency key, listing, detail and cancel."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from msgspec import UNSET, Meta, UnsetType

from portal.api.catalog import require_dealer_id
from portal.api.fields import body_paths
from portal.api.schemas import (
    IDEMPOTENCY_KEY,
    CancelIn,
    CloseRestIn,
    Money,
    OrderEventOut,
    OrderIn,
    OrderLineOut,
    OrderOut,
    OrdersPageOut,
    OrderSummaryOut,
    money,
    price_fen,
    problems,
)
from portal.domain import margins, orders, pricing, returns, shipments
from portal.domain.quantities import LineRequest
from portal.domain.scope import Actor
from portal.i18n import gettext

# What each timeline event is, as the order page's timeline names it.
EVENT_LABELS = {**orders.EVENT_LABELS, **shipments.EVENT_LABELS, **returns.EVENT_LABELS}

# Visible ASCII, 1 to 100 characters (a UUID, a client's own request id, ...).
ORDER_ID = PathParameter(ge=1, le=2**31 - 1)


def order_out(view: orders.OrderView) -> OrderOut:
    return OrderOut(
        id=view.id,
        number=view.number,
        status=view.status,
        dealer_id=view.dealer_id,
        dealer_code=view.dealer_code,
        dealer_name=view.dealer_name,
        placed_by_name=view.placed_by_name,
        rep_name=view.rep_name,
        placed_by_id=view.placed_by_id,
        rep_id=view.rep_id,
        total=money(view.total_fen),
        list_total=money(view.list_total_fen),
        goods_total=money(view.goods_fen),
        discount=money(view.discount_fen),
        discount_label=view.saving.label if view.saving else "",
        ship_to=view.ship_to or "",
        requested_date=view.requested_date,
        note=view.note or "",
        created_at=view.created_at,
        can_cancel=bool(view.can_cancel),
        lines=[
            OrderLineOut(
                id=line.id,
                sku_id=line.sku_id,
                sku_code=line.sku_code,
                sku_name=line.sku_name,
                unit=line.unit,
                qty=line.qty,
                qty_shipped=line.qty_shipped,
                qty_backordered=line.qty_backordered,
                unit_price=money(line.unit_price_fen),
                list_price=money(line.list_price_fen),
                line_total=money(line.line_total_fen),
                price_rule=line.price_rule,
                price_rule_label=line.price_rule_label,
                discount=money(line.discount_fen),
                is_gift=line.is_gift,
                base_rule=pricing.base_rule(line.price_rule, line.price_rule_params),
                ref_unit_price=money(int(line.price_rule_params["ref_price_fen"]))
                if line.price_rule == "manual" and "ref_price_fen" in line.price_rule_params
                else None,
            )
            for line in view.lines
        ],
        events=[
            OrderEventOut(
                at=event.at,
                actor_name=event.actor_name or gettext("the system"),
                kind=event.kind,
                kind_label=gettext(EVENT_LABELS[event.kind])
                if event.kind in EVENT_LABELS
                else event.kind,
                from_status=event.from_status or "",
                to_status=event.to_status or "",
                note=event.note or "",
            )
            for event in view.events
        ],
    )


# Only for the roles that see costs (sales managers, finance, administrators): the fields are
# left out of everyone else's answers, never sent empty.
CostOut = Annotated[
    Money | None | UnsetType,
    Meta(description="at the SKUs' costs now (not kept on the order); null: cost not known"),
]
MarginOut = Annotated[
    Money | None | UnsetType,
    Meta(description="gross margin: line total less cost × qty; null: cost not known"),
]
MarginBpOut = Annotated[
    int | None | UnsetType,
    Meta(
        description="the gross margin in basis points of the line total; null: no cost, or "
        "nothing charged (a gift)"
    ),
]


class OrderLineDetailOut(OrderLineOut):
    cost: CostOut = UNSET
    gross_margin: MarginOut = UNSET
    gross_margin_bp: MarginBpOut = UNSET


class OrderDetailOut(OrderOut):
    """An order; for sales managers, finance and administrators also its gross margin at the
    SKUs' current costs, over the lines whose SKU has a cost."""

    lines: list[OrderLineDetailOut]
    cost: CostOut = UNSET
    gross_margin: MarginOut = UNSET
    gross_margin_bp: MarginBpOut = UNSET
    cost_unknown_lines: Annotated[
        int | UnsetType,
        Meta(description="lines whose SKU has no cost, left out of cost and gross_margin"),
    ] = UNSET


def _money_or_none(fen: int | None) -> str | None:
    return None if fen is None else money(fen)


def order_detail_out(view: orders.OrderView, gross: margins.OrderMargin | None) -> OrderDetailOut:
    """order_out, with the gross margin where the caller sees costs (gross is not None)."""
    base = order_out(view)
    fields = {name: getattr(base, name) for name in OrderOut.__struct_fields__}
    lines = []
    for line in base.lines:
        values = {name: getattr(line, name) for name in OrderLineOut.__struct_fields__}
        lm = gross.lines.get(line.id) if gross is not None else None
        if lm is not None:
            values |= {
                "cost": _money_or_none(lm.cost_fen),
                "gross_margin": _money_or_none(lm.margin_fen),
                "gross_margin_bp": lm.margin_bp,
            }
        lines.append(OrderLineDetailOut(**values))
    fields["lines"] = lines
    if gross is not None:
        fields |= {
            "cost": _money_or_none(gross.cost_fen),
            "gross_margin": _money_or_none(gross.margin_fen),
            "gross_margin_bp": gross.margin_bp,
            "cost_unknown_lines": gross.cost_unknown_lines,
        }
    return OrderDetailOut(**fields)


def summary_out(item: orders.OrderSummary) -> OrderSummaryOut:
    return OrderSummaryOut(
        id=item.id,
        number=item.number,
        status=item.status,
        dealer_id=item.dealer_id,
        dealer_code=item.dealer_code,
        dealer_name=item.dealer_name,
        total=money(item.total_fen),
        line_count=item.line_count,
        created_at=item.created_at,
    )


@post(
    "/api/v1/orders",
    tags=["orders"],
    summary="Submit an order",
    description=(
        "Prices, credit and stock are checked and the quantities reserved in one step. "
        "Send a fresh Idempotency-Key per order: a retry with the same key and body returns "
        "the first order with 200; the same key with a different body is a 409 conflict. "
        "Refusals are problem documents: credit-exceeded (with the figures), "
        "insufficient-stock (the short lines), validation (per-line errors). A SKU that "
        "allows backorders is never short: what is missing is accepted as the line's "
        "qty_backordered and reserved, oldest order first, as stock arrives."
    ),
    status_code=201,
    responses={
        200: ResponseSpec(data_container=OrderOut, description="Replay of an earlier submission"),
        **problems(400, 401, 403, 404, 409, 422),
    },
)
async def submit_order(
    request: Request[Actor, Any, Any],
    data: JSONBody[OrderIn],
    idempotency_key: Annotated[
        str,
        HeaderParameter(
            name="Idempotency-Key",
            pattern=IDEMPOTENCY_KEY,
            min_length=1,
            max_length=100,
            description="1-100 visible ASCII characters, unique per order you mean to place",
        ),
    ],
) -> Response[OrderOut]:
    require_dealer_id(request.user, data.dealer_id)
    lines = [
        LineRequest(
            qty=line.qty,
            sku_id=line.sku_id,
            sku_code=line.sku_code,
            unit=line.unit,
            unit_price_fen=(
                None
                if line.unit_price is None
                else price_fen(line.unit_price, f"lines[{n}].unit_price")
            ),
        )
        for n, line in enumerate(data.lines)
    ]
    expected_total_fen = (
        None if data.expected_total is None else price_fen(data.expected_total, "expected_total")
    )
    with body_paths():  # the domain names lines by their place in the body already
        result = await orders.submit_order(
            request.user,
            data.dealer_id,
            lines,
            idempotency_key=idempotency_key,
            address_id=data.address_id,
            requested_date=data.requested_date,
            note=data.note,
            stock_defaults=request.app.state.supplier_defaults,
            expected_total_fen=expected_total_fen,
        )
    return Response(order_out(result.order), status_code=201 if result.created else 200)


@get(
    "/api/v1/orders",
    tags=["orders"],
    summary="Orders the caller may see",
    description="dealer_id narrows them to one dealer; a dealer the caller may not see "
    "answers 404, as one that does not exist.",
    responses=problems(400, 401, 404, 422),
)
async def list_orders(
    request: Request[Actor, Any, Any],
    status: Annotated[
        str | None,
        QueryParameter(
            max_length=20,
            description="one of "
            + ", ".join(orders.STATUSES)
            + f"; or {orders.TO_RECEIVE}: orders with a parcel shipped or delivered and not yet "
            "received",
        ),
    ] = None,
    dealer_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    q: Annotated[str, QueryParameter(max_length=100)] = "",
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    start: Annotated[
        date | None, QueryParameter(description="placed on or after this day (Asia/Shanghai)")
    ] = None,
    end: Annotated[
        date | None, QueryParameter(description="placed on or before this day (Asia/Shanghai)")
    ] = None,
) -> OrdersPageOut:
    result = await orders.list_orders(
        request.user,
        status=status or None,
        dealer_id=dealer_id,
        q=q.strip(),
        page=page,
        per_page=per_page,
        start=start,
        end=end,
    )
    return OrdersPageOut(
        items=[summary_out(item) for item in result.items],
        page=result.page,
        per_page=result.per_page,
        has_more=result.has_more,
        total=result.total,
    )


@get(
    "/api/v1/orders/{order_id:int}",
    tags=["orders"],
    summary="One order with lines and timeline",
    description=(
        "Sales managers, finance and administrators also get the gross margin at the SKUs' "
        "costs as they are now (costs are not kept on the order): per line cost, "
        "gross_margin and gross_margin_bp, and for the order their sums over the lines whose "
        "SKU has a cost, with cost_unknown_lines for the others. Other callers never get "
        "these fields."
    ),
    responses=problems(400, 401, 404),
)
async def get_order(
    request: Request[Actor, Any, Any], order_id: Annotated[int, ORDER_ID]
) -> OrderDetailOut:
    view = await orders.get_order(request.user, order_id)
    return order_detail_out(view, await margins.order_margin(request.user, view))


@post(
    "/api/v1/orders/{order_id:int}/cancel",
    tags=["orders"],
    summary="Cancel an order not yet shipped",
    description=(
        "A dealer's users cancel their order before it is approved (waiting for approval or "
        "sent back to them); once approved, the rep, the sales manager, finance or an "
        "administrator cancel it until anything has shipped (can_cancel on the order says "
        "whether the caller may). Its reserved stock and its value in the dealer's exposure "
        "are released; the reason is shown on the timeline. Too late is a 409 conflict; "
        "warehouse staff get 403 (404 for an order they do not see)."
    ),
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def cancel_order(
    request: Request[Actor, Any, Any],
    order_id: Annotated[int, ORDER_ID],
    data: JSONBody[CancelIn | None] = None,
) -> OrderOut:
    reason = data.reason if data else ""
    return order_out(await orders.cancel_order(request.user, order_id, reason=reason))


@post(
    "/api/v1/orders/{order_id:int}/close-remainder",
    tags=["orders"],
    summary="End a partially shipped order without its rest (staff; a reason is required)",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def close_remainder(
    request: Request[Actor, Any, Any],
    order_id: Annotated[int, ORDER_ID],
    data: JSONBody[CloseRestIn | None] = None,
) -> OrderOut:
    reason = data.reason if data else ""
    return order_out(await orders.close_remainder(request.user, order_id, reason))


ROUTES = [submit_order, list_orders, get_order, cancel_order, close_remainder]
