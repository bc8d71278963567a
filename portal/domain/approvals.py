"""Approval decisions: the approver's inbox, approve / reject / return, resubmit and adjust.

The rules (when an order needs approval, by whom) are evaluated in orders.approvals_needed;
this module decides steps. A step is decided once: the write is a guarded update
(`WHERE status = 'pending'`) whose row count tells the one approver who won from the one
who came second (Conflict). Only the order's current step (its lowest pending step) may be
decided, by a user whose role matches the step and who has the order's dealer in scope.

"Return to dealer" is an order state of its own (returned): the order keeps its stock
reservations and its share of the dealer's exposure; the dealer (or staff) resubmits it,
which re-checks credit and the approval rules, or cancels it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from portal.db import write_transaction
from portal.domain import (
    audit,
    catalog,
    credit,
    ledger,
    margins,
    notifications,
    orders,
    pricing,
    promotions,
    stock,
    supplier,
)
from portal.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InsufficientStock,
    NotFound,
    ValidationFailed,
    _,
)
from portal.domain.money import format_yuan, line_total_fen
from portal.domain.quantities import MAX_LINE_QTY, check_line
from portal.domain.scope import (
    Actor,
    dealer_managers,
    decides_step,
    in_scope,
    visible_dealer_ids,
)
from portal.domain.text import visible
from portal.tables import ApprovalRule, ApprovalStep, Dealer, Order, OrderEvent, OrderLine, User

APPROVER_ROLES = orders.APPROVER_ROLES
STEP_STATUSES = ("pending", "approved", "rejected", "returned", "superseded")
RULE_LABELS = {
    "total_at_least": _("Order total at or over an amount"),
    "over_credit": _("Over the dealer's credit"),
    # Whoever gave it: a rep, or a manager adjusting past their own authority.
    "discount_beyond_authority": _("Discount beyond the authority of whoever gave it"),
    "first_orders": _("A new dealer's first orders"),
    "dealer_flagged": _("Dealer flagged for review"),
}
ROLE_LABELS = {"sales_manager": _("Sales manager"), "finance": _("Finance")}
STEP_STATUS_LABELS = {
    "pending": _("Waiting"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "returned": _("Returned to dealer"),
    "superseded": _("No longer needed"),
}
# Bulk approval is for small orders: at most this total each (¥5,000.00).
BULK_MAX_TOTAL_FEN = 500_000
MAX_REASON = 500
ADJUSTING_STAFF = frozenset({"sales_rep", "sales_manager", "finance", "admin"})
RESUBMITTING_STAFF = ADJUSTING_STAFF


def _now() -> datetime:
    return datetime.now(UTC)


# --- where an order stands -------------------------------------------------------------


@dataclass
class StepView:
    id: int
    step_no: int
    role: str
    rule_kind: str
    status: str
    decided_by_name: str
    decided_at: datetime | None
    reason: str

    @property
    def role_label(self) -> str:
        from portal import i18n

        return i18n.gettext(ROLE_LABELS.get(self.role, self.role))

    @property
    def rule_label(self) -> str:
        from portal import i18n

        return i18n.gettext(RULE_LABELS.get(self.rule_kind, self.rule_kind))

    @property
    def status_label(self) -> str:
        from portal import i18n

        return i18n.gettext(STEP_STATUS_LABELS.get(self.status, self.status))


@dataclass
class Standing:
    """Where an order stands in its approval: its steps, the current one, who may act."""

    steps: list[StepView]
    current: StepView | None
    can_decide: bool  # the viewing actor may decide the current step
    can_resubmit: bool
    can_adjust: bool = False  # staff may change quantities and prices while it waits


async def standing(actor: Actor, order_id: int) -> Standing:
    """The approval steps of an order in the actor's scope (NotFound outside it)."""
    row = await orders.order_in_scope(actor, order_id)
    steps = await _steps(order_id)
    current = _current(steps) if row["status"] == "pending_approval" else None
    if (
        current is not None
        and current.role == "sales_manager"
        and row["dealer"] not in await dealer_managers([row["dealer"]])
    ):
        current = replace(current, role="finance")  # who decides it (scope.decides_step)
    return Standing(
        steps=[s for s in steps if s.status != "superseded"],
        current=current,
        # The current step's role already says who decides it (finance for a managerless
        # dealer, as scope.decides_step): no second look at the dealer's manager.
        can_decide=current is not None and current.role == actor.role,
        can_resubmit=row["status"] == "returned" and _may_resubmit(actor, row),
        can_adjust=may_adjust(actor, row),
    )


async def _steps(order_id: int) -> list[StepView]:
    rows = (
        await ApprovalStep.select(
            ApprovalStep.id,
            ApprovalStep.step_no,
            ApprovalStep.role,
            ApprovalStep.rule_kind,
            ApprovalStep.status,
            ApprovalStep.decided_by.display_name.as_alias("decided_by_name"),
            ApprovalStep.decided_at,
            ApprovalStep.reason,
        )
        .where(ApprovalStep.order == order_id)
        .order_by(ApprovalStep.step_no)
    )
    return [
        StepView(
            id=r["id"],
            step_no=r["step_no"],
            role=r["role"],
            rule_kind=r["rule_kind"],
            status=r["status"],
            decided_by_name=r["decided_by_name"] or "",
            decided_at=r["decided_at"],
            reason=r["reason"] or "",
        )
        for r in rows
    ]


def _current(steps: list[StepView]) -> StepView | None:
    return next((s for s in steps if s.status == "pending"), None)


def may_adjust(actor: Actor, order: dict) -> bool:
    """Staff while the order waits (or was sent back); a dealer's own people once it was sent
    back to them (退回修改), quantities only: then it goes for approval again."""
    if actor.is_dealer:
        return actor.dealer_id == order.get("dealer") and order.get("status") == "returned"
    return actor.role in ADJUSTING_STAFF and order.get("status") in orders.ADJUSTABLE_STATUSES


def _may_resubmit(actor: Actor, order: dict) -> bool:
    if actor.is_dealer:
        return actor.dealer_id == order.get("dealer")
    return actor.role in RESUBMITTING_STAFF


# --- the inbox ---------------------------------------------------------------------------


@dataclass
class InboxCard:
    step_id: int
    step_no: int
    step_count: int
    rule_kind: str
    order_id: int
    number: str
    dealer_id: int
    dealer_name: str
    total_fen: int
    # The order's value against the dealer's own prices: negative = below (a discount).
    margin_fen: int
    ref_total_fen: int
    credit_after_fen: int  # the dealer's available credit with this order counted
    created_at: datetime
    rep_name: str = ""
    # At the SKUs' current costs, for an approver who sees costs (margins.sees_costs); None
    # for anyone else.
    gross_margin: margins.OrderMargin | None = None

    @property
    def rule_label(self) -> str:
        from portal import i18n

        return i18n.gettext(RULE_LABELS.get(self.rule_kind, self.rule_kind))

    @property
    def margin_bp(self) -> int:
        if not self.ref_total_fen:
            return 0
        return int(self.margin_fen * 10000 / self.ref_total_fen)

    @property
    def small(self) -> bool:
        return self.total_fen <= BULK_MAX_TOTAL_FEN


async def _inbox_steps(actor: Actor) -> list[dict]:
    """The current steps waiting for the actor's role on orders in scope, newest first."""
    if actor.role not in APPROVER_ROLES:
        return []
    ids = await visible_dealer_ids(actor)
    # Finance also decides a manager's step where no manager has the dealer (decides_step).
    roles = ["finance", "sales_manager"] if actor.role == "finance" else [actor.role]
    rows = (
        await ApprovalStep.select(
            ApprovalStep.id,
            ApprovalStep.step_no,
            ApprovalStep.rule_kind,
            ApprovalStep.order,
            ApprovalStep.role,
            ApprovalStep.order.dealer.as_alias("dealer"),
        )
        .where(ApprovalStep.status == "pending")
        .where(ApprovalStep.role.is_in(roles))
        .where(ApprovalStep.order.status == "pending_approval")
        .where(in_scope(ApprovalStep.order.dealer, ids))
    )
    others = [r for r in rows if r["role"] != actor.role]
    if others:
        managed = await dealer_managers([r["dealer"] for r in others])
        rows = [r for r in rows if r["role"] == actor.role or r["dealer"] not in managed]
    if not rows:
        return []
    order_ids = sorted({r["order"] for r in rows})
    # Only the current (lowest pending) step of each order is actionable.
    all_steps = await ApprovalStep.select(
        ApprovalStep.order, ApprovalStep.step_no, ApprovalStep.status
    ).where(ApprovalStep.order.is_in(order_ids))
    first_pending: dict[int, int] = {}
    for s in all_steps:
        if s["status"] == "pending":
            first_pending[s["order"]] = min(
                first_pending.get(s["order"], s["step_no"]), s["step_no"]
            )
    return [r for r in rows if first_pending.get(r["order"]) == r["step_no"]]


async def inbox_count(actor: Actor) -> int:
    """How many decisions wait for the actor (the tab bar badge)."""
    return len(await _inbox_steps(actor))


async def inbox(actor: Actor) -> list[InboxCard]:
    """What waits for the actor to decide, newest first, with the sums that matter."""
    rows = await _inbox_steps(actor)
    if not rows:
        return []
    order_ids = sorted({r["order"] for r in rows})
    order_rows = {
        r["id"]: r
        for r in await Order.select(
            Order.id,
            Order.number,
            Order.dealer,
            Order.dealer.name.as_alias("dealer_name"),
            Order.rep.display_name.as_alias("rep_name"),
            Order.total_fen,
            Order.created_at,
        ).where(Order.id.is_in(order_ids))
    }
    dealer_ids = sorted({o["dealer"] for o in order_rows.values()})
    dealers = {d["id"]: d for d in await Dealer.select().where(Dealer.id.is_in(dealer_ids))}
    ref_totals: dict[int, int] = {}
    costed: dict[int, list[margins.CostedLine]] | None = None
    line_columns = [
        OrderLine.order,
        OrderLine.qty,
        OrderLine.unit_price_fen,
        OrderLine.price_rule_params,
    ]
    if margins.sees_costs(actor):
        # The SKUs' costs come with the lines: no query more for the margin.
        costed = {}
        line_columns += [
            OrderLine.id,
            OrderLine.line_total_fen,
            OrderLine.sku.cost_price_fen.as_alias("unit_cost_fen"),
        ]
    for ln in await OrderLine.select(*line_columns).where(OrderLine.order.is_in(order_ids)):
        ref = int(
            orders._params(ln["price_rule_params"]).get("ref_price_fen", ln["unit_price_fen"])
        )
        ref_totals[ln["order"]] = ref_totals.get(ln["order"], 0) + line_total_fen(ref, ln["qty"])
        if costed is not None:
            costed.setdefault(ln["order"], []).append(
                margins.CostedLine(ln["id"], ln["qty"], ln["line_total_fen"], ln["unit_cost_fen"])
            )
    # "Step 2 of 3" counts the steps of the current round only: an adjustment, a return or a
    # resubmission opens a new round (open_steps writes a round's steps at one moment), and
    # the steps of earlier rounds keep their numbers.
    rounds: dict[tuple[int, Any], list[int]] = {}
    created: dict[int, Any] = {}
    for st in await ApprovalStep.select(
        ApprovalStep.id, ApprovalStep.order, ApprovalStep.step_no, ApprovalStep.created_at
    ).where(ApprovalStep.order.is_in(order_ids)):
        rounds.setdefault((st["order"], st["created_at"]), []).append(st["step_no"])
        created[st["id"]] = st["created_at"]
    cards = []
    for r in rows:
        o = order_rows[r["order"]]
        ref_total = ref_totals.get(o["id"], o["total_fen"])
        this_round = sorted(rounds.get((o["id"], created.get(r["id"])), [r["step_no"]]))
        cards.append(
            InboxCard(
                step_id=r["id"],
                step_no=this_round.index(r["step_no"]) + 1,
                step_count=len(this_round),
                rule_kind=r["rule_kind"],
                order_id=o["id"],
                number=o["number"],
                dealer_id=o["dealer"],
                dealer_name=o["dealer_name"] or "",
                total_fen=o["total_fen"],
                margin_fen=o["total_fen"] - ref_total,
                ref_total_fen=ref_total,
                credit_after_fen=credit.available_fen(dealers[o["dealer"]]),
                created_at=o["created_at"],
                rep_name=o["rep_name"] or "",
                gross_margin=None if costed is None else margins.measure(costed.get(o["id"], [])),
            )
        )
    cards.sort(key=lambda c: (c.created_at, c.order_id), reverse=True)
    return cards


# --- decisions ---------------------------------------------------------------------------


def _check_reason(reason: str, *, required: bool) -> str:
    reason = visible(reason)
    if required and not reason:
        raise ValidationFailed(
            _("Please give a reason."), errors=[FieldError("reason", _("Please give a reason."))]
        )
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "reason",
                    _("The note is too long (at most %(max)s characters)."),
                    {"max": MAX_REASON},
                )
            ]
        )
    return reason


async def _step_in_scope(actor: Actor, step_id: int) -> tuple[dict, dict]:
    """The step and its order if the actor may see the order; NotFound otherwise."""
    step = await ApprovalStep.select().where(ApprovalStep.id == step_id).first()
    if step is None:
        raise NotFound(_("Approval step not found."))
    order = await orders.order_in_scope(actor, step["order"])
    return step, order


async def current_step_id(actor: Actor, order_id: int) -> int:
    """The id of the order's current step (for the API's /orders/{id}/approve)."""
    await orders.order_in_scope(actor, order_id)
    row = (
        await ApprovalStep.select(ApprovalStep.id)
        .where((ApprovalStep.order == order_id) & (ApprovalStep.status == "pending"))
        .order_by(ApprovalStep.step_no)
        .first()
    )
    if row is None:
        raise Conflict(_("This order is not waiting for approval."))
    return row["id"]


@dataclass
class Decision:
    order_id: int
    step_id: int
    outcome: str  # approved | step_approved | rejected | returned
    order_status: str
    errors: list[FieldError] = field(default_factory=list)


async def _hook(point: str) -> None:
    await orders._hook(point)


async def decide(
    actor: Actor,
    step_id: int,
    action: str,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> Decision:
    """Approve, reject (reason required) or return to the dealer (comment required) a step.

    Raises NotFound (not in scope), Forbidden (not this step's role), Conflict (already
    decided, not the current step, the order has moved on), ValidationFailed (no reason).
    """
    now = now or _now()
    if action not in ("approve", "reject", "return"):
        raise ValidationFailed(errors=[FieldError("action", _("Unknown decision."))])
    reason = _check_reason(reason, required=action in ("reject", "return"))
    step, order = await _step_in_scope(actor, step_id)
    if not await decides_step(actor, step["role"], order["dealer"]):
        raise Forbidden(_("This step is for another role."))
    await _hook("before_decide")
    async with write_transaction():
        dealer = await ledger.lock_dealer(order["dealer"])
        current = (
            await Order.select(Order.status, Order.total_fen).where(Order.id == order["id"]).first()
        )
        first = (
            await ApprovalStep.select(ApprovalStep.id)
            .where((ApprovalStep.order == order["id"]) & (ApprovalStep.status == "pending"))
            .order_by(ApprovalStep.step_no)
            .first()
        )
        status_to = {"approve": "approved", "reject": "rejected", "return": "returned"}[action]
        done = await ApprovalStep.raw(
            "UPDATE approval_step SET status = {}, decided_by = {}, decided_at = {}, reason = {} "
            "WHERE id = {} AND status = 'pending' RETURNING id",
            status_to,
            actor.user_id,
            now,
            reason,
            step_id,
        )
        if not done:
            raise Conflict(_("This step was already decided."), extra={"step_id": step_id})
        if current["status"] != "pending_approval" or first is None or first["id"] != step_id:
            raise Conflict(_("This order is not waiting for this step."))
        total = int(current["total_fen"])
        before = {"status": "pending_approval", "step": step["step_no"]}
        if action == "approve":
            remaining = await ApprovalStep.count().where(
                (ApprovalStep.order == order["id"]) & (ApprovalStep.status == "pending")
            )
            if remaining:
                await OrderEvent.insert(
                    OrderEvent(
                        order=order["id"],
                        at=now,
                        actor=actor.user_id,
                        kind="step_approved",
                        from_status="pending_approval",
                        to_status="pending_approval",
                        note=reason,
                    )
                )
                outcome, order_status = "step_approved", "pending_approval"
            else:
                await orders.transition(
                    order["id"],
                    "pending_approval",
                    "approved",
                    actor=actor,
                    kind="approved",
                    note=reason,
                    now=now,
                )
                outcome, order_status = "approved", "approved"
        elif action == "reject":
            # What the order gave back goes to older backorders first, in this transaction.
            freed = await stock.release_order(order["id"])
            await stock.fill_backorders(freed, actor=actor, now=now)
            await orders.supersede_steps(order["id"])
            await Dealer.raw(
                "UPDATE dealer SET open_orders_fen = open_orders_fen - {} WHERE id = {}",
                total,
                dealer["id"],
            )
            await orders.transition(
                order["id"],
                "pending_approval",
                "rejected",
                actor=actor,
                kind="rejected",
                note=reason,
                now=now,
            )
            outcome, order_status = "rejected", "rejected"
        else:
            await orders.supersede_steps(order["id"])
            await orders.transition(
                order["id"],
                "pending_approval",
                "returned",
                actor=actor,
                kind="returned",
                note=reason,
                now=now,
            )
            outcome, order_status = "returned", "returned"
        after = {
            "status": order_status,
            "step": step["step_no"],
            "decision": status_to,
            "reason": reason,
            "role": step["role"],
            "rule_kind": step["rule_kind"],
        }
        if step["rule_kind"] == "over_credit" and action == "approve":
            # The one path past the credit limit: finance's explicit, recorded override.
            after.update(
                over_credit_override=True,
                credit_limit_fen=int(dealer["credit_limit_fen"] or 0),
                exposure_fen=credit.exposure_fen(dealer),
                available_fen=credit.available_fen(dealer),
                order_total_fen=total,
            )
        if action == "reject":
            before["dealer_open_orders_fen"] = dealer["open_orders_fen"]
            after["dealer_open_orders_fen"] = dealer["open_orders_fen"] - total
        await audit.record(actor, f"order.{outcome}", "order", order["id"], before, after, now=now)
        await notifications.tell(order["id"], outcome, actor=actor, now=now, note=reason)
    return Decision(order["id"], step_id, outcome, order_status)


async def bulk_approve(
    actor: Actor, step_ids: list[int], *, now: datetime | None = None
) -> list[Decision]:
    """Approve several small orders' steps; each is its own decision (one may fail alone).

    Orders over BULK_MAX_TOTAL_FEN are refused here (open them to decide one by one).
    """
    now = now or _now()
    results: list[Decision] = []
    for step_id in sorted(set(step_ids)):
        try:
            step, order = await _step_in_scope(actor, step_id)
            if order["total_fen"] > BULK_MAX_TOTAL_FEN:
                raise Conflict(_("Open larger orders to approve them one by one."))
            results.append(await decide(actor, step_id, "approve", now=now))
        except (Conflict, NotFound, Forbidden) as exc:
            results.append(
                Decision(
                    order_id=0,
                    step_id=step_id,
                    outcome="failed",
                    order_status="",
                    errors=[FieldError(str(step_id), exc.message, exc.params)],
                )
            )
    return results


# --- resubmission and staff adjustment ---------------------------------------------------


async def _reroute(
    actor: Actor,
    order_id: int,
    dealer: dict,
    total_fen: int,
    from_status: str,
    now: datetime,
    *,
    raises_exposure: bool = True,
) -> tuple[str, list[orders.StepNeeded]]:
    """Re-check credit and the rules for an order whose total is already in `dealer`'s
    exposure; open new steps (or approve).

    An order that does not fit is refused under the "block" policy only when this action
    raises the dealer's exposure (a resubmission, an adjustment upwards): an adjustment that
    lowers the total of a dealer already over its limit (finance lowered it since) is let
    through, to the approval steps the rules give."""
    if from_status == "returned":
        await _may_order_again(dealer, order_id)
    without = dict(dealer, open_orders_fen=int(dealer["open_orders_fen"] or 0) - total_fen)
    tolerance = await supplier.credit_tolerance()
    if (
        raises_exposure
        and not credit.fits(without, total_fen, tolerance)
        and dealer.get("over_credit_policy") != "approval"
    ):
        credit.check_credit(without, total_fen, tolerance)
    lines = await OrderLine.select(
        OrderLine.qty, OrderLine.unit_price_fen, OrderLine.price_rule, OrderLine.price_rule_params
    ).where(OrderLine.order == order_id)
    params = [orders._params(ln["price_rule_params"]) for ln in lines]
    setters = await _price_setters(
        {
            p.get("by_id")
            for ln, p in zip(lines, params, strict=True)
            if ln["price_rule"] == orders.RULE_MANUAL
        }
    )
    priced = [
        orders.PricedLine(
            int(ln["unit_price_fen"]),
            int(p.get("ref_price_fen", ln["unit_price_fen"])),
            int(ln["qty"]),
            setters.get(p.get("by_id")) if ln["price_rule"] == orders.RULE_MANUAL else None,
        )
        for ln, p in zip(lines, params, strict=True)
    ]
    return await orders.route_for_approval(
        actor, order_id, without, total_fen, priced, from_status, now=now
    )


async def _may_order_again(dealer: dict, order_id: int) -> None:
    """A returned order sent again is ordered again: not for a dealer paused meanwhile, and
    not with a product the dealer may no longer order (inactive, or no longer shown to it)."""
    if not dealer["active"]:
        raise Forbidden(_("This dealer account is inactive."))
    lines = await OrderLine.select(OrderLine.sku, OrderLine.sku_code).where(
        (OrderLine.order == order_id)
        & (OrderLine.price_rule != orders.RULE_GIFT)
        & (OrderLine.qty > 0)
    )
    seen = await catalog.visible_sku_ids(dealer, [ln["sku"] for ln in lines])
    gone = sorted({ln["sku_code"] for ln in lines if ln["sku"] not in seen})
    if gone:
        message = _("%(codes)s can no longer be ordered: take them off the order, or cancel it.")
        params = {"codes": ", ".join(gone)}
        raise ValidationFailed(message, params, errors=[FieldError("lines", message, params)])


async def _price_setters(user_ids: set) -> dict[int, orders.Setter]:
    """The staff who set prices on an order, by id: a discount they gave is judged by their
    authority, not that of whoever sends the order again (a dealer has none)."""
    ids = sorted(i for i in user_ids if isinstance(i, int) and not isinstance(i, bool))
    if not ids:
        return {}
    rows = await User.select(User.id, User.role, User.discount_authority_bp).where(
        User.id.is_in(ids)
    )
    return {r["id"]: orders.Setter(int(r["discount_authority_bp"] or 0), r["role"]) for r in rows}


async def resubmit(actor: Actor, order_id: int, *, now: datetime | None = None) -> str:
    """Send a returned order for approval again: credit and the rules are re-checked
    (its stock is still reserved). Returns the new status."""
    now = now or _now()
    row = await orders.order_in_scope(actor, order_id)
    if not _may_resubmit(actor, row):
        raise Forbidden(_("You cannot resubmit this order."))
    async with write_transaction():
        dealer = await ledger.lock_dealer(row["dealer"])
        current = (
            await Order.select(Order.status, Order.total_fen).where(Order.id == order_id).first()
        )
        if current["status"] != "returned":
            raise Conflict(_("Only an order returned to the dealer can be resubmitted."))
        status, steps = await _reroute(
            actor, order_id, dealer, int(current["total_fen"]), "returned", now
        )
        await audit.record(
            actor,
            "order.resubmitted",
            "order",
            order_id,
            {"status": "returned"},
            {"status": status, "approval_steps": [[s.role, s.rule_kind] for s in steps]},
            now=now,
        )
        await notifications.tell(
            order_id, "resubmitted" if steps else "approved", actor=actor, now=now
        )
    return status


async def adjustable_order(actor: Actor, order_id: int) -> orders.OrderView:
    """The order for the adjust form (may_adjust; else Forbidden/Conflict)."""
    _check_adjuster(actor)
    view = await orders.get_order(actor, order_id)
    _check_adjustable(actor, {"status": view.status, "dealer": view.dealer_id})
    return view


def _check_adjuster(actor: Actor) -> None:
    if not actor.is_dealer and actor.role not in ADJUSTING_STAFF:
        raise Forbidden(_("Your role cannot adjust orders."))


def _check_adjustable(actor: Actor, order: dict) -> None:
    if may_adjust(actor, order):
        return
    if actor.is_dealer:
        raise Forbidden(_("You can change an order once it is sent back to you."))
    raise Conflict(_("Only an order waiting for approval can be adjusted."))


@dataclass(frozen=True)
class LineChange:
    line_id: int
    qty: int  # base units
    unit_price_fen: int | None = None  # None: keep the line's price


async def adjust(
    actor: Actor,
    order_id: int,
    changes: list[LineChange],
    reason: str,
    *,
    now: datetime | None = None,
    stock_defaults: supplier.Defaults = orders.NO_STOCK_NUMBERS,
) -> str:
    """Staff change quantities or unit prices of a waiting order, with a reason (a dealer's
    people, quantities only, once it is sent back to them: may_adjust).

    Re-runs everything the order passed: quantity rules, stock (the reservations are given
    back and taken again for the new quantities, under the stock locks), credit (with the
    new total) and the approval rules (earlier pending steps no longer apply). The timeline
    shows each line before and after. Returns the order's new status.
    """
    now = now or _now()
    reason = _check_reason(reason, required=True)
    _check_adjuster(actor)
    row = await orders.order_in_scope(actor, order_id)
    _check_adjustable(actor, row)
    lines = {
        ln["id"]: ln
        for ln in await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.id)
    }
    dealer_row = await _dealer(row)
    # The promotions as on the day the order was placed: one that ended since still prices
    # it, one that began since does not.
    with promotions.priced_on(promotions.today(row["created_at"])):
        items = await catalog.items_by_ids(actor, dealer_row, [ln["sku"] for ln in lines.values()])
    sku_rules = {r.sku_id: r for r in items.values()}
    # Lines whose new quantity the price list prices again (a volume break reached or lost).
    repriced: dict[int, pricing.PriceQuote] = {}
    errors: list[FieldError] = []
    wanted: dict[int, tuple[int, int]] = {
        lid: (ln["qty"], ln["unit_price_fen"]) for lid, ln in lines.items()
    }
    gift_ids = {lid for lid, ln in lines.items() if ln["price_rule"] == orders.RULE_GIFT}
    removed: set[int] = set()  # lines given quantity 0: taken off the order
    seen: set[int] = set()
    for ch in changes:
        ln = lines.get(ch.line_id)
        fname = f"lines[{ch.line_id}]"
        if ln is None:
            errors.append(FieldError(fname, _("Line not found.")))
            continue
        if ch.line_id in seen:
            # Two changes to one line: which one was meant? (The last one won silently.)
            errors.append(FieldError(fname, _("%(sku)s is given twice."), {"sku": ln["sku_code"]}))
            continue
        seen.add(ch.line_id)
        if ch.line_id in gift_ids:
            if (ch.qty, ch.unit_price_fen) not in ((ln["qty"], None), (ln["qty"], 0)):
                errors.append(
                    FieldError(fname, _("A gift's quantity follows the line it comes with."))
                )
            continue
        if not isinstance(ch.qty, bool) and isinstance(ch.qty, int) and ch.qty > MAX_LINE_QTY:
            errors.append(
                FieldError(
                    fname,
                    _("%(sku)s: at most %(max)s per line."),
                    {"sku": ln["sku_code"], "max": f"{MAX_LINE_QTY:,}"},
                )
            )
            continue
        if isinstance(ch.qty, bool) or not isinstance(ch.qty, int) or ch.qty < 0:
            errors.append(
                FieldError(
                    fname,
                    _("%(sku)s: the quantity must be a whole number, 0 to take the line off."),
                    {"sku": ln["sku_code"]},
                )
            )
            continue
        if ch.qty == 0:
            # The line comes off the order (its gifts follow it); its price stays as it was.
            removed.add(ch.line_id)
            wanted[ch.line_id] = (0, ln["unit_price_fen"])
            continue
        item = sku_rules.get(ln["sku"])
        if item is not None:
            errors.extend(
                check_line(
                    ln["sku_code"],
                    ch.qty,
                    moq=item.moq,
                    order_multiple=item.order_multiple,
                    field=fname,
                )
            )
        price = ln["unit_price_fen"] if ch.unit_price_fen is None else ch.unit_price_fen
        if actor.is_dealer and price != ln["unit_price_fen"]:
            errors.append(
                FieldError(
                    fname, _("%(sku)s: only the quantity can be changed."), {"sku": ln["sku_code"]}
                )
            )
            continue
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            errors.append(
                FieldError(
                    fname, _("%(sku)s: the price must be zero or more."), {"sku": ln["sku_code"]}
                )
            )
            continue
        staff_priced = price != ln["unit_price_fen"] or ln["price_rule"] in (
            orders.STAFF_PRICED_RULES
        )
        if item is not None and (ch.qty, price) != (ln["qty"], ln["unit_price_fen"]):
            # The dealer's price for the new quantity (from the item's price inputs, no
            # query): the price list prices a line whose price it gave (a volume break
            # reached or lost changes the price and what it says); a price staff set may
            # discount it, never exceed it. A SKU no longer sold to the dealer keeps its price.
            quote = item.quote_for(ch.qty)
            if not staff_priced:
                placed = pricing.bracket(ln["price_rule"], orders._params(ln["price_rule_params"]))
                # In the same bracket the line keeps the price it was placed at. Another
                # bracket is priced by the price list only while that list still prices the
                # placed quantity as it was placed: prices changed since (a contract added or
                # removed, a tier price raised) never reach a placed order.
                then = item.quote_for(ln["qty"])
                same_terms = (then.unit_price_fen, then.rule) == (
                    ln["unit_price_fen"],
                    ln["price_rule"],
                )
                if same_terms and pricing.bracket(quote.rule, quote.rule_params) != placed:
                    repriced[ch.line_id] = quote
                    price = quote.unit_price_fen
            elif price > quote.unit_price_fen:
                errors.append(
                    orders.above_dealer_price(ln["sku_code"], quote.unit_price_fen, fname)
                )
                continue
        wanted[ch.line_id] = (ch.qty, price)
    if not errors and removed and all(lid in removed or lid in gift_ids for lid in lines):
        errors.append(
            FieldError(
                "lines",
                _("An order keeps at least one line: to drop all of it, reject or cancel it."),
            )
        )
    if errors:
        raise ValidationFailed(errors=errors)
    changed = {
        lid: v
        for lid, v in wanted.items()
        if v != (lines[lid]["qty"], lines[lid]["unit_price_fen"])
    }
    # What the order earned at submission follows the new quantities: gifts (a gift earned
    # no more goes) and the saving (gone below its threshold), on the terms it recorded.
    gone = await _follow_gifts(lines, gift_ids, wanted) | removed
    totals, saving = _line_totals(row, lines, wanted, gone)
    changed.update(
        {
            lid: wanted[lid]
            for lid in gift_ids
            if lid not in gone and wanted[lid] != (lines[lid]["qty"], 0)
        }
    )
    if not changed:
        raise ValidationFailed(errors=[FieldError("lines", _("Nothing was changed."))])
    async with write_transaction():
        dealer = await ledger.lock_dealer(row["dealer"])
        current = (
            await Order.select(Order.status, Order.total_fen).where(Order.id == order_id).first()
        )
        if not may_adjust(actor, {"status": current["status"], "dealer": row["dealer"]}):
            raise Conflict(_("Only an order waiting for approval can be adjusted."))
        old_total = int(current["total_fen"])
        # Stock: give back and take again, under the stock row locks (fixed order inside).
        await stock.release_order(order_id)
        if gone:
            await OrderLine.delete().where(OrderLine.id.is_in(sorted(gone)))
        allocations, shortfalls = await stock.allocate(
            dealer,
            [(lid, lines[lid]["sku"], wanted[lid][0]) for lid in sorted(wanted) if lid not in gone],
        )
        if shortfalls:
            figures = await catalog.shows_stock_figures(actor, stock_defaults)
            raise _adjust_short(lines, shortfalls, figures=figures)
        await stock.write_reservations(allocations)
        # A lowered quantity frees stock: older backorders take it before anyone else.
        await stock.fill_backorders(
            sorted({ln["sku"] for ln in lines.values()}), actor=actor, now=now
        )
        before_lines, after_lines = [], []
        new_total = 0
        for lid in sorted(wanted):
            ln = lines[lid]
            qty, price = wanted[lid]
            if lid in gone:
                before_lines.append(
                    {
                        "sku": ln["sku_code"],
                        "qty": ln["qty"],
                        "unit_price_fen": ln["unit_price_fen"],
                    }
                )
                after_lines.append({"sku": ln["sku_code"], "qty": 0, "unit_price_fen": price})
                continue
            total, share = totals[lid]
            new_total += total
            if share != int(ln["discount_fen"] or 0) and lid not in changed:
                await OrderLine.update(
                    {OrderLine.line_total_fen: total, OrderLine.discount_fen: share}
                ).where(OrderLine.id == lid)
            if lid not in changed:
                continue
            params = orders._params(ln["price_rule_params"])
            rule = ln["price_rule"]
            if lid in repriced:
                rule, params = repriced[lid].rule, dict(repriced[lid].rule_params)
            elif price != ln["unit_price_fen"]:
                ref = int(params.get("ref_price_fen", ln["unit_price_fen"]))
                rule = orders.RULE_MANUAL
                params = {
                    "by": actor.name,
                    "by_id": actor.user_id,
                    "ref_price_fen": ref,
                    "ref_rule": params.get("ref_rule", ln["price_rule"]),
                }
            await OrderLine.update(
                {
                    OrderLine.qty: qty,
                    OrderLine.unit_price_fen: price,
                    OrderLine.line_total_fen: total,
                    OrderLine.discount_fen: share,
                    OrderLine.price_rule: rule,
                    OrderLine.price_rule_params: orders._rule_params_text(params),
                }
            ).where(OrderLine.id == lid)
            before_lines.append(
                {"sku": ln["sku_code"], "qty": ln["qty"], "unit_price_fen": ln["unit_price_fen"]}
            )
            after_lines.append({"sku": ln["sku_code"], "qty": qty, "unit_price_fen": price})
        list_total = sum(
            line_total_fen(lines[lid]["list_price_fen"], wanted[lid][0])
            for lid in wanted
            if lid not in gone
        )
        delta = new_total - old_total
        await Dealer.raw(
            "UPDATE dealer SET open_orders_fen = open_orders_fen + {} WHERE id = {}",
            delta,
            dealer["id"],
        )
        dealer = dict(dealer, open_orders_fen=int(dealer["open_orders_fen"] or 0) + delta)
        await Order.update(
            {
                Order.total_fen: new_total,
                Order.list_total_fen: list_total,
                Order.discount_fen: sum(share for _t, share in totals.values()),
                Order.discount_params: saving.params() if saving else "",
                Order.updated_at: now,
            }
        ).where(Order.id == order_id)
        await orders.supersede_steps(order_id)
        note = (
            reason
            + "\n"
            + "; ".join(
                f"{b['sku']}: {b['qty']} × {format_yuan(b['unit_price_fen'])}"
                f" → {a['qty']} × {format_yuan(a['unit_price_fen'])}"
                for b, a in zip(before_lines, after_lines, strict=True)
            )
        )
        await OrderEvent.insert(
            OrderEvent(
                order=order_id,
                at=now,
                actor=actor.user_id,
                kind="adjusted",
                from_status=current["status"],
                to_status=current["status"],
                note=note,
            )
        )
        # Credit and the rules, as at submission, with the new total. An order sent back
        # goes for approval again: a resubmission, whose credit is checked whatever the delta.
        from_status = current["status"]
        status, steps = await _reroute(
            actor,
            order_id,
            dealer,
            new_total,
            from_status,
            now,
            raises_exposure=delta > 0 or from_status == "returned",
        )
        await audit.record(
            actor,
            "order.adjusted",
            "order",
            order_id,
            {"total_fen": old_total, "lines": before_lines, "status": from_status},
            {
                "total_fen": new_total,
                "lines": after_lines,
                "status": status,
                "reason": reason,
                "approval_steps": [[s.role, s.rule_kind] for s in steps],
            },
            now=now,
        )
        await notifications.tell(order_id, "adjusted", actor=actor, now=now, note=reason)
        if status == "approved":
            # The change left no rule to meet: the order is approved, and they hear so (as
            # from an approver), not only that it was adjusted.
            await notifications.tell(order_id, "approved", actor=actor, now=now)
    return status


async def _follow_gifts(
    lines: dict[int, dict], gift_ids: set[int], wanted: dict[int, tuple[int, int]]
) -> set[int]:
    """Set each gift line's quantity from its bought line's new quantity (in `wanted`), on
    the terms the line recorded; returns the gift lines that earn nothing any more.

    A gift shrinks with its line; it grows only while stock lasts (赠完即止), unless the gift
    SKU allows backorders: never by more than is free beyond what the order takes more of.
    """
    if not gift_ids:
        return set()
    bought = {lines[lid]["sku"]: wanted[lid][0] for lid in lines if lid not in gift_ids}
    more = defaultdict(int)  # sku -> how much more the bought lines now take
    for lid in lines:
        if lid not in gift_ids:
            more[lines[lid]["sku"]] += max(0, wanted[lid][0] - lines[lid]["qty"])
    gift_skus = sorted({lines[lid]["sku"] for lid in gift_ids})
    free = await stock.availability_by_sku(gift_skus)
    waits = await stock.backorderable(gift_skus)
    gone: set[int] = set()
    for lid in sorted(gift_ids):
        params = orders._params(lines[lid]["price_rule_params"])
        qty = promotions.gift_quantity(
            bought.get(params.get("for_sku"), 0),
            int(params.get("buy", 0)),
            int(params.get("get", 0)),
        )
        sku, before = lines[lid]["sku"], lines[lid]["qty"]
        if qty > before and sku not in waits:
            extra = max(0, free.get(sku, 0) - more[sku])
            qty = min(qty, before + extra)
            free[sku] = free.get(sku, 0) - (qty - before)
        if qty <= 0:
            gone.add(lid)
        wanted[lid] = (qty, 0)
    return gone


def _line_totals(
    order_row: dict,
    lines: dict[int, dict],
    wanted: dict[int, tuple[int, int]],
    gone: set[int],
) -> tuple[dict[int, tuple[int, int]], promotions.Saving | None]:
    """Each remaining line's (total, share of the saving) at the wanted quantities and prices,
    and the saving that gives: of the 满减 terms the order recorded (every one in force when it
    was placed), the one that saves most on the new goods."""
    gross = {
        lid: line_total_fen(price, qty) for lid, (qty, price) in wanted.items() if lid not in gone
    }
    saving = promotions.Saving.from_params(order_row.get("discount_params"))
    if saving is not None:
        saving = saving.for_goods(sum(gross.values()))
    earned = saving.earned(sum(gross.values())) if saving else 0
    priced = [lid for lid in sorted(gross) if gross[lid] > 0]
    shares = dict(
        zip(priced, promotions.spread(earned, [gross[lid] for lid in priced]), strict=True)
    )
    totals = {lid: (g - shares.get(lid, 0), shares.get(lid, 0)) for lid, g in gross.items()}
    return totals, saving


def _adjust_short(
    lines: dict[int, dict], shortfalls: list[stock.Shortfall], *, figures: bool
) -> InsufficientStock:
    """An adjustment the stock cannot cover, as a submission's refusal reads."""
    by_sku = {ln["sku"]: ln for ln in sorted(lines.values(), key=lambda ln: ln["id"])}
    return orders.stock_refusal(
        [
            orders.ShortLine(
                f"lines[{by_sku[s.sku_id]['id']}]",
                by_sku[s.sku_id]["sku_code"],
                by_sku[s.sku_id]["unit"],
                s,
            )
            for s in shortfalls
        ],
        figures=figures,
    )


async def _dealer(order_row: dict) -> dict:
    row = await Dealer.select().where(Dealer.id == order_row["dealer"]).first()
    if row is None:
        raise NotFound(_("Dealer not found."))
    return row


# --- rules (admin) ---------------------------------------------------------------------


@dataclass
class RuleInput:
    kind: str
    approver_role: str
    step_order: int = 10
    amount_fen: int = 0
    count: int = 0
    active: bool = True


def _check_rule(data: RuleInput) -> None:
    errors = []
    if data.kind not in orders.RULE_KINDS:
        errors.append(FieldError("kind", _("Choose a kind of rule.")))
    if data.approver_role not in APPROVER_ROLES:
        errors.append(FieldError("approver_role", _("Choose who approves.")))
    elif data.kind == "over_credit" and data.approver_role != "finance":
        errors.append(FieldError("approver_role", _("Only finance approves over-credit orders.")))
    if data.kind == "total_at_least" and data.amount_fen <= 0:
        errors.append(FieldError("amount", _("Enter an amount over zero.")))
    if data.kind == "first_orders" and not 0 < data.count <= 1000:
        errors.append(FieldError("count", _("Enter a number of orders from 1 to 1000.")))
    if not -1000 <= data.step_order <= 1000:
        errors.append(FieldError("step_order", _("Enter a step order from -1000 to 1000.")))
    if errors:
        raise ValidationFailed(errors=errors)


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may change approval rules."))


async def list_rules(actor: Actor) -> list[dict]:
    _require_admin(actor)
    return await ApprovalRule.select().order_by(ApprovalRule.step_order).order_by(ApprovalRule.id)


async def get_rule(actor: Actor, rule_id: int) -> dict:
    _require_admin(actor)
    row = await ApprovalRule.select().where(ApprovalRule.id == rule_id).first()
    if row is None:
        raise NotFound(_("Rule not found."))
    return row


async def save_rule(
    actor: Actor, rule_id: int | None, data: RuleInput, *, now: datetime | None = None
) -> dict:
    """Add (rule_id None) or change a rule; recorded in the audit log."""
    _require_admin(actor)
    _check_rule(data)
    now = now or _now()
    values = {
        "kind": data.kind,
        "approver_role": data.approver_role,
        "step_order": data.step_order,
        "amount_fen": data.amount_fen if data.kind == "total_at_least" else 0,
        "count": data.count if data.kind == "first_orders" else 0,
        "active": data.active,
    }
    async with write_transaction():
        if rule_id is None:
            rule = ApprovalRule(created_at=now, **values)
            await ApprovalRule.insert(rule)
            rule_id, before = rule.id, {}
        else:
            before = await ApprovalRule.select().where(ApprovalRule.id == rule_id).first()
            if before is None:
                raise NotFound(_("Rule not found."))
            await ApprovalRule.update(
                {getattr(ApprovalRule, k): v for k, v in values.items()}
            ).where(ApprovalRule.id == rule_id)
            before = {k: before[k] for k in values}
        await audit.record(
            actor, "approval_rule.saved", "approval_rule", rule_id, before, values, now=now
        )
    return await get_rule(actor, rule_id)


async def order_number(actor: Actor, order_id: int) -> str:
    """The order's number (for messages), in scope."""
    return (await orders.order_in_scope(actor, order_id))["number"]
