"""API approvals: what waits for me, decide an order's current step, and rule CRUD for admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from litestar import Request, get, post, put
from litestar.params import JSONBody, PathParameter
from msgspec import UNSET, Meta, Struct, UnsetType

from portal.api.fields import body_paths
from portal.api.orders import CostOut, MarginBpOut, MarginOut, order_out
from portal.api.schemas import Id, In, OrderOut, change_of, kept, money, price_fen, problems
from portal.domain import approvals, dealers, orders
from portal.domain.money import parse_amount, to_fen
from portal.domain.scope import Actor

ID = PathParameter(ge=1, le=2**31 - 1)
Reason = Annotated[str, Meta(max_length=500)]


class ApprovalOut(Struct):
    step_id: int
    step_no: Annotated[
        int, Meta(description="this step's place in the current round of approval, from 1")
    ]
    step_count: Annotated[
        int,
        Meta(
            description="how many steps the current round has (an adjustment, a return "
            "or a resubmission starts a new round)"
        ),
    ]
    rule_kind: str
    order_id: int
    number: str
    dealer_id: int
    dealer_name: str
    total: str
    margin: str  # against the dealer's own prices; negative = below them
    credit_after: str
    created_at: datetime
    # For sales managers and finance only (who see costs); left out for anyone else.
    cost: CostOut = UNSET
    gross_margin: MarginOut = UNSET
    gross_margin_bp: MarginBpOut = UNSET
    cost_unknown_lines: Annotated[
        int | UnsetType,
        Meta(description="lines whose SKU has no cost, left out of cost and gross_margin"),
    ] = UNSET


class DecisionIn(In):
    reason: Reason = ""


class DecisionOut(Struct):
    outcome: Annotated[
        str,
        Meta(
            description="approved (the last step: the order is approved), step_approved (the "
            "next step, e.g. finance after the manager, now waits), rejected or returned"
        ),
    ]
    order: OrderOut


class RuleIn(In):
    kind: Annotated[
        Literal[
            "total_at_least",
            "over_credit",
            "discount_beyond_authority",
            "first_orders",
            "dealer_flagged",
        ],
        Meta(
            description="when an order needs this step: total_at_least (its total at or over "
            "amount), over_credit (past the dealer's credit and tolerance, for a dealer whose "
            "over_credit_policy is approval), discount_beyond_authority (a staff price further "
            "below the dealer's than the placer's discount authority), first_orders (one of a "
            "dealer's first count orders), dealer_flagged (a dealer flagged for review)"
        ),
    ]
    approver_role: Literal["sales_manager", "finance"]
    step_order: Annotated[
        int,
        Meta(
            ge=-1000,
            le=1000,
            description="when several rules apply, their steps are decided in this order, "
            "lowest first (the demo: manager 10, finance 20)",
        ),
    ] = 10
    amount: Annotated[
        str,
        Meta(
            max_length=20,
            pattern=r"^\d{1,12}(\.\d{1,2})?$",
            description="total_at_least: the order total in yuan at or over which it applies",
        ),
    ] = "0"
    count: Annotated[
        int,
        Meta(
            ge=0,
            le=1000,
            description="first_orders: a dealer's first this many orders need approval",
        ),
    ] = 0
    active: bool = True


RuleChangeIn = change_of(RuleIn, "RuleChangeIn")


class RuleOut(Struct):
    id: int
    kind: str
    approver_role: str
    step_order: int
    amount: str
    count: int
    active: bool


def _rule_out(row: dict) -> RuleOut:
    return RuleOut(
        id=row["id"],
        kind=row["kind"],
        approver_role=row["approver_role"],
        step_order=row["step_order"],
        amount=money(int(row["amount_fen"] or 0)),
        count=int(row["count"] or 0),
        active=bool(row["active"]),
    )


def _gross_fields(card: approvals.InboxCard) -> dict[str, Any]:
    """The card's gross margin where the caller sees costs; nothing otherwise."""
    g = card.gross_margin
    if g is None:
        return {}
    return {
        "cost": None if g.cost_fen is None else money(g.cost_fen),
        "gross_margin": None if g.margin_fen is None else money(g.margin_fen),
        "gross_margin_bp": g.margin_bp,
        "cost_unknown_lines": g.cost_unknown_lines,
    }


@get(
    "/api/v1/approvals",
    tags=["approvals"],
    summary="Approval steps waiting for me (my role, dealers in my scope), newest first",
    responses=problems(401),
)
async def list_approvals(request: Request[Actor, Any, Any]) -> list[ApprovalOut]:
    return [
        ApprovalOut(
            step_id=c.step_id,
            step_no=c.step_no,
            step_count=c.step_count,
            rule_kind=c.rule_kind,
            order_id=c.order_id,
            number=c.number,
            dealer_id=c.dealer_id,
            dealer_name=c.dealer_name,
            total=money(c.total_fen),
            margin=money(c.margin_fen),
            credit_after=money(c.credit_after_fen),
            created_at=c.created_at,
            **_gross_fields(c),
        )
        for c in await approvals.inbox(request.user)
    ]


async def _decide(actor: Actor, order_id: int, action: str, reason: str) -> DecisionOut:
    step_id = await approvals.current_step_id(actor, order_id)
    decision = await approvals.decide(actor, step_id, action, reason)
    return DecisionOut(
        outcome=decision.outcome, order=order_out(await orders.get_order(actor, order_id))
    )


@post(
    "/api/v1/orders/{order_id:int}/approve",
    tags=["approvals"],
    summary="Approve the order's current approval step",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def approve(
    request: Request[Actor, Any, Any],
    order_id: Annotated[int, ID],
    data: JSONBody[DecisionIn | None] = None,
) -> DecisionOut:
    return await _decide(request.user, order_id, "approve", data.reason if data else "")


@post(
    "/api/v1/orders/{order_id:int}/reject",
    tags=["approvals"],
    summary="Reject the order (a reason is required); its stock and credit are released",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def reject(
    request: Request[Actor, Any, Any], order_id: Annotated[int, ID], data: JSONBody[DecisionIn]
) -> DecisionOut:
    return await _decide(request.user, order_id, "reject", data.reason)


@post(
    "/api/v1/orders/{order_id:int}/return-to-dealer",
    tags=["approvals"],
    summary="Send the order back to the dealer with a comment (required)",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def return_to_dealer(
    request: Request[Actor, Any, Any], order_id: Annotated[int, ID], data: JSONBody[DecisionIn]
) -> DecisionOut:
    return await _decide(request.user, order_id, "return", data.reason)


@post(
    "/api/v1/orders/{order_id:int}/resubmit",
    tags=["approvals"],
    summary="Send an order returned to the dealer for approval again",
    description=(
        "By the dealer's users or staff who may order for it. Credit, the overdue policy and "
        "the approval rules are checked again (its stock is still reserved): the order is "
        "approved, or waits for approval, or the refusal says why."
    ),
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def resubmit(request: Request[Actor, Any, Any], order_id: Annotated[int, ID]) -> OrderOut:
    await approvals.resubmit(request.user, order_id)
    return order_out(await orders.get_order(request.user, order_id))


class AdjustLineIn(In):
    order_line_id: Id
    qty: Annotated[
        int, Meta(description="the new quantity in base units; 0 takes the line off the order")
    ]
    unit_price: Annotated[
        Annotated[str, Meta(max_length=20)] | None,
        Meta(examples=["1.80"], description="the new unit price; null or absent: unchanged"),
    ] = None


class AdjustIn(In):
    reason: Annotated[str, Meta(max_length=500, description="required; shown on the timeline")]
    lines: Annotated[
        list[AdjustLineIn],
        Meta(min_length=1, max_length=500, description="lines left out keep their values"),
    ]


@post(
    "/api/v1/orders/{order_id:int}/adjust",
    tags=["approvals"],
    summary="Change quantities or unit prices of an order waiting for approval (staff), or "
    "the quantities of one sent back to the dealer (its own users)",
    description=(
        "Staff change an order waiting for approval or sent back to the dealer; a dealer's "
        "users change the quantities (never prices) of their order sent back to them "
        "(退回修改), which sends it for approval again at once, as POST …/resubmit would. "
        "Re-runs every check the order passed: quantity rules, stock (reserved again for the "
        "new quantities), credit with the new total, and the approval rules (earlier pending "
        "steps no longer apply; an order that now meets no rule is approved). A gift line "
        "follows the line it comes with. The timeline shows each line before and after."
    ),
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def adjust(
    request: Request[Actor, Any, Any], order_id: Annotated[int, ID], data: JSONBody[AdjustIn]
) -> OrderOut:
    changes = [
        approvals.LineChange(
            line.order_line_id,
            line.qty,
            None
            if line.unit_price is None
            else price_fen(line.unit_price, f"lines[{n}].unit_price"),
        )
        for n, line in enumerate(data.lines)
    ]
    with body_paths(line_ids=[line.order_line_id for line in data.lines]):
        await approvals.adjust(
            request.user,
            order_id,
            changes,
            data.reason,
            stock_defaults=request.app.state.supplier_defaults,
        )
    return order_out(await orders.get_order(request.user, order_id))


def _rule_input(data: RuleIn) -> approvals.RuleInput:
    return approvals.RuleInput(
        kind=data.kind,
        approver_role=data.approver_role,
        step_order=data.step_order,
        amount_fen=to_fen(parse_amount(data.amount)),
        count=data.count,
        active=data.active,
    )


@get(
    "/api/v1/approval-rules",
    tags=["approvals"],
    summary="Approval rules (admin)",
    responses=problems(401, 403),
)
async def list_rules(request: Request[Actor, Any, Any]) -> list[RuleOut]:
    return [_rule_out(r) for r in await approvals.list_rules(request.user)]


@post(
    "/api/v1/approval-rules",
    tags=["approvals"],
    summary="Add an approval rule (admin)",
    status_code=201,
    responses=problems(400, 401, 403, 422),
)
async def add_rule(request: Request[Actor, Any, Any], data: JSONBody[RuleIn]) -> RuleOut:
    return _rule_out(await approvals.save_rule(request.user, None, _rule_input(data)))


@get(
    "/api/v1/approval-rules/{rule_id:int}",
    tags=["approvals"],
    summary="One approval rule (admin)",
    responses=problems(401, 403, 404),
)
async def get_rule(request: Request[Actor, Any, Any], rule_id: Annotated[int, ID]) -> RuleOut:
    return _rule_out(await approvals.get_rule(request.user, rule_id))


@put(
    "/api/v1/approval-rules/{rule_id:int}",
    tags=["approvals"],
    summary="Change an approval rule, or deactivate it with active=false (admin)",
    description="The fields sent change; a field left out keeps its value.",
    responses=problems(400, 401, 403, 404, 422),
)
async def save_rule(
    request: Request[Actor, Any, Any], rule_id: Annotated[int, ID], data: JSONBody[RuleChangeIn]
) -> RuleOut:
    full = kept(data, _rule_out(await approvals.get_rule(request.user, rule_id)), RuleIn)
    return _rule_out(await approvals.save_rule(request.user, rule_id, _rule_input(full)))


class ReviewFlagIn(In):
    flagged: bool
    reason: Annotated[str, Meta(max_length=200)] = ""


class ReviewFlagOut(Struct):
    dealer_id: int
    flagged_for_review: bool


@post(
    "/api/v1/dealers/{dealer_id:int}/review-flag",
    tags=["approvals"],
    summary="Flag a dealer for review (its orders then meet the dealer-flagged rule) or clear it",
    status_code=200,
    responses=problems(400, 401, 403, 404, 422),
)
async def review_flag(
    request: Request[Actor, Any, Any],
    dealer_id: Annotated[int, ID],
    data: JSONBody[ReviewFlagIn],
) -> ReviewFlagOut:
    flagged = await dealers.set_review_flag(
        request.user, dealer_id, data.flagged, data.reason, now=datetime.now(UTC)
    )
    return ReviewFlagOut(dealer_id=dealer_id, flagged_for_review=flagged)


ROUTES = [
    review_flag,
    list_approvals,
    approve,
    reject,
    return_to_dealer,
    resubmit,
    adjust,
    list_rules,
    add_rule,
    get_rule,
    save_rule,
]
