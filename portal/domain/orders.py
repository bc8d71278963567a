"""Orders: submission (credit, stock, idempotency, numbering), cancellation, the state machine.

Submission follows one shape (as pretix and Saleor do it): validate and price everything
first, outside any lock; then one short transaction that takes the locks in a fixed order
(the idempotency key, the dealer row, the SKUs' stock rows by id), re-checks credit and
stock against the locked rows, and writes the order, its lines, reservations, timeline
and audit entries. Any refusal raises, and the transaction rolls back: nothing is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from portal.db import current_engine, fetch, is_sqlite, write_together, write_transaction
from portal.domain import (
    audit,
    catalog,
    credit,
    ledger,
    money,
    notifications,
    pricing,
    promotions,
    stock,
    supplier,
)
from portal.domain.codes import folded
from portal.domain.errors import (
    Conflict,
    CreditExceeded,
    DomainError,
    FieldError,
    Forbidden,
    InsufficientStock,
    NotFound,
    PricesChanged,
    ValidationFailed,
    _,
)
from portal.domain.idempotency import KeyTaken as _KeyTaken
from portal.domain.idempotency import check_key
from portal.domain.idempotency import is_unique_violation as _is_unique_violation
from portal.domain.money import line_total_fen
from portal.domain.quantities import MAX_LINE_QTY, LineRequest, check_line, to_base_units
from portal.domain.scope import (
    Actor,
    in_scope,
    ordering_dealer,
    orders_in_warehouses,
    row_in_scope,
    staff_warehouses,
    visible_dealer_ids,
)
from portal.domain.text import visible
from portal.tables import (
    ApprovalStep,
    Cart,
    CartLine,
    Order,
    OrderEvent,
    OrderLine,
    Shipment,
)

# --- the state machine -------------------------------------------------------------------

STATUSES = (
    "pending_approval",
    "returned",
    "approved",
    "partially_shipped",
    "shipped",
    "completed",
    "rejected",
    "cancelled",
)
# Orders that hold stock and count towards the dealer's exposure until invoiced or ended.
# A returned order (sent back to the dealer by an approver) keeps its reservations and
# exposure while the dealer decides: resubmit (re-checked) or cancel.
OPEN_STATUSES = ("pending_approval", "returned", "approved", "partially_shipped")
# Staff in CANCELLING_STAFF may cancel an order until anything ships; a dealer only before
# approval (DESIGN: "Before approval a dealer may cancel"): once approved, its rep or the
# supplier's staff cancel it for them.
CANCELLABLE_STATUSES = ("pending_approval", "returned", "approved")
DEALER_CANCELLABLE_STATUSES = ("pending_approval", "returned")
# Orders the warehouse never sees: not approved (yet, or ever), so never to ship.
NOT_TO_SHIP = ("pending_approval", "returned", "rejected")
# Staff may adjust quantities and prices while the order waits (re-checked on the spot).
ADJUSTABLE_STATUSES = ("pending_approval", "returned")
FINAL_STATUSES = ("completed", "rejected", "cancelled")
INITIAL_STATUS = "pending_approval"
TRANSITIONS: dict[str, set[str]] = {
    "pending_approval": {"approved", "rejected", "cancelled", "returned"},
    # Sent back to the dealer: resubmitted (credit, stock and approval re-checked) or cancelled.
    "returned": {"pending_approval", "approved", "cancelled"},
    # Back to pending_approval when staff adjust an approved order and it needs approval again.
    "approved": {"partially_shipped", "shipped", "cancelled", "pending_approval"},
    "partially_shipped": {"partially_shipped", "shipped"},
    "shipped": {"completed"},
    "completed": set(),
    "rejected": set(),
    "cancelled": set(),
}
# Parcels on their way to the dealer: shipped or delivered, not yet received (签收).
PARCEL_STATUSES_TO_RECEIVE = ("shipped", "delivered")
# A filter of order lists beside the states: orders with such a parcel (待签收). A partly
# shipped order may have one, a shipped order may have none left (all received).
TO_RECEIVE = "to_receive"
ORDER_FILTERS = (*STATUSES, TO_RECEIVE)
STATUS_LABELS = {
    "pending_approval": _("Awaiting approval"),
    "returned": _("Returned to dealer"),
    "approved": _("Approved"),
    "partially_shipped": _("Partially shipped"),
    "shipped": _("Shipped"),
    "completed": _("Completed"),
    "rejected": _("Rejected"),
    "cancelled": _("Cancelled"),
}
EVENT_LABELS = {
    "submitted": _("Submitted"),
    "auto_approved": _("Approved automatically"),
    "approved": _("Approved"),
    "step_approved": _("Approval step passed"),
    "rejected": _("Rejected"),
    "returned": _("Returned to dealer"),
    "resubmitted": _("Resubmitted"),
    "adjusted": _("Adjusted"),
    "cancelled": _("Cancelled"),
    # Short of stock on a SKU that allows it: the rest waits (欠货) until stock arrives.
    "backordered": _("Backordered"),
    "backorder_reserved": _("Backorder reserved"),
    # A stock count or a loss found fewer units than the order held: that part waits.
    "stock_short": _("Short in stock: backordered"),
    "stock_moved": _("Reserved at another warehouse (less was found at the first)"),
    "remainder_closed": _("Rest will not ship"),
}
# Staff roles that may cancel an order for a dealer in their scope.
CANCELLING_STAFF = frozenset({"sales_rep", "sales_manager", "finance", "admin"})
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_NOTE = 500

# Test hooks (STYLE rule 12): tests put an async callable under a point name to run a
# competing action at that exact moment. Empty in production.
_test_hooks: dict[str, Callable[[], Awaitable[None]]] = {}


async def _hook(point: str) -> None:
    fn = _test_hooks.get(point)
    if fn is not None:
        await fn()


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, set())


async def transition(
    order_id: int,
    from_status: str,
    to_status: str,
    *,
    actor: Actor | None,
    kind: str,
    note: str = "",
    now: datetime,
) -> None:
    """Move an order along the state machine and record it on the timeline.

    Inside the caller's transaction. The update is guarded by the expected current status,
    so a transition raced by another one is a Conflict, not a silent overwrite.
    """
    if not can_transition(from_status, to_status):
        raise Conflict(
            _("An order that is %(status)s cannot become %(to)s."),
            {"status": from_status, "to": to_status},
        )
    done = await fetch(
        "UPDATE sales_order SET status = {}, updated_at = {} WHERE id = {} AND status = {} "
        "RETURNING id",
        to_status,
        now,
        order_id,
        from_status,
    )
    if not done:
        raise Conflict(_("The order was changed by someone else. Please reload."))
    await _record(order_id, kind, from_status, to_status, actor=actor, now=now, note=note)


async def note_on_order(
    order_id: int, kind: str, *, actor: Actor | None, now: datetime, note: str
) -> str:
    """A timeline entry on the order for a step that leaves its state as it is (a shipment
    packed, delivered or received, a return asked for or decided); returns that state."""
    status = (await Order.select(Order.status).where(Order.id == order_id).first())["status"]
    await _record(order_id, kind, status, status, actor=actor, now=now, note=note)
    return status


async def _record(
    order_id: int,
    kind: str,
    from_status: str,
    to_status: str,
    *,
    actor: Actor | None,
    now: datetime,
    note: str,
) -> None:
    """The timeline entry: who, when, what and why (transition and note_on_order)."""
    await OrderEvent.insert(
        OrderEvent(
            order=order_id,
            at=now,
            actor=actor.user_id if actor else None,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            note=note,
        )
    )


# --- approval rules (evaluated here; decisions live in domain/approvals.py) ----------------

RULE_KINDS = (
    "total_at_least",
    "over_credit",
    "discount_beyond_authority",
    "first_orders",
    "dealer_flagged",
)
APPROVER_ROLES = ("sales_manager", "finance")
RULE_MANUAL = "manual"  # a line priced by staff (a rep's discount), not by the price list
RULE_GIFT = "gift"  # a zero-priced line a buy-N-get-M promotion gave (买赠)
# Prices the price list did not give: kept as they are when staff change a quantity.
STAFF_PRICED_RULES = (RULE_MANUAL, RULE_GIFT)


@dataclass(frozen=True)
class Rule:
    """An active approval rule as evaluated (a row of approval_rule)."""

    kind: str
    approver_role: str
    step_order: int = 10
    amount_fen: int = 0
    count: int = 0
    id: int = 0


@dataclass(frozen=True)
class PricedLine:
    """What the rules need of a line: its price and the dealer's own price for it."""

    unit_price_fen: int
    ref_price_fen: int  # the price the dealer's price list gives (tier, break or contract)
    qty: int
    # Who set a staff price, when not the one acting now (an order sent again, changed
    # elsewhere): their authority and role judge the discount. None: the acting user's.
    set_by: Setter | None = None


@dataclass(frozen=True)
class Setter:
    """The staff user who set a line's price: the discount they may give, and their role."""

    authority_bp: int
    role: str


@dataclass(frozen=True)
class StepNeeded:
    role: str
    rule_kind: str


def lowest_within_authority(ref_price_fen: int, authority_bp: int) -> int:
    """The lowest unit price `authority_bp` allows below the dealer's price: the price at
    exactly that percentage off, rounded half-up to the fen as any price is (3 % off ¥1.87 is
    ¥1.8139 → ¥1.81, which a rep entering "3 %" gets, and is within a 3 % authority)."""
    return money.to_fen(money.percent_of(ref_price_fen, 10000 - max(0, authority_bp)))


def discount_beyond(line: PricedLine, authority_bp: int) -> bool:
    """True when the line is further below the dealer's price than `authority_bp` allows."""
    if line.ref_price_fen <= 0 or line.unit_price_fen >= line.ref_price_fen:
        return False
    return line.unit_price_fen < lowest_within_authority(line.ref_price_fen, authority_bp)


def _discount_givers(lines: list[PricedLine], actor: Actor) -> set[str]:
    """The roles of those who gave a discount beyond their authority on these lines."""
    return {
        (ln.set_by or Setter(actor.discount_authority_bp, actor.role)).role
        for ln in lines
        if discount_beyond(
            ln, actor.discount_authority_bp if ln.set_by is None else ln.set_by.authority_bp
        )
    }


def approvals_needed(
    rules: list[Rule],
    dealer: dict,
    total_fen: int,
    lines: list[PricedLine],
    actor: Actor,
    previous_orders: int,
    *,
    tolerance: credit.Tolerance,
    placer_role: str,
) -> list[StepNeeded]:
    """The approval steps an order must pass, in order; [] means approved on submission.

    Pure: `dealer` is the dealer row as it stands before this order counts (exposure without
    it); `tolerance` the supplier's over every dealer's limit. Matching rules are taken in
    (step_order, id) order; one step per approving role (the first rule naming it places it).
    An order over credit under the "approval" policy always waits for finance: if no active
    over_credit rule says so, a finance step is added last. Four eyes: an order a sales
    manager placed (`placer_role`) never waits for the sales manager; that step goes to
    finance. (A manager adjusting someone else's order still decides it, except a discount
    beyond authority, which never goes to the role that gave it: the price's setter's, else
    `actor`'s; a discount is judged by its setter's authority the same way.)
    """
    over = not credit.fits(dealer, total_fen, tolerance)
    matched: list[Rule] = []
    for rule in sorted(rules, key=lambda r: (r.step_order, r.id)):
        if rule.kind == "total_at_least":
            hit = total_fen >= rule.amount_fen
        elif rule.kind == "over_credit":
            hit = over
        elif rule.kind == "discount_beyond_authority":
            hit = bool(_discount_givers(lines, actor))
        elif rule.kind == "first_orders":
            hit = previous_orders < rule.count
        elif rule.kind == "dealer_flagged":
            hit = bool(dealer.get("flagged_for_review"))
        else:
            hit = False
        if hit:
            matched.append(rule)
    steps: list[StepNeeded] = []
    for rule in matched:
        # Only finance may approve past the credit limit, whatever the rule row says.
        role = "finance" if rule.kind == "over_credit" else rule.approver_role
        if role == "sales_manager" and placer_role == "sales_manager":
            role = "finance"
        if rule.kind == "discount_beyond_authority" and role in _discount_givers(lines, actor):
            # A discount is never approved by the role that gave it (a manager who cut a
            # price while adjusting): finance decides it.
            role = "finance"
        existing = next((i for i, st in enumerate(steps) if st.role == role), None)
        if existing is None:
            steps.append(StepNeeded(role, rule.kind))
        elif rule.kind == "over_credit":
            # The finance step that approves over-credit is the recorded override: say so.
            steps[existing] = StepNeeded(role, "over_credit")
    if over and not any(st.rule_kind == "over_credit" for st in steps):
        finance = next((i for i, st in enumerate(steps) if st.role == "finance"), None)
        if finance is None:
            steps.append(StepNeeded("finance", "over_credit"))
        else:
            steps[finance] = StepNeeded("finance", "over_credit")
    return steps


LABEL_MANUAL = _("Price set by %(by)s")


def price_label(rule: str, params: dict[str, Any]) -> str:
    """The rule behind a line's price; a staff-set price names who set it."""
    if rule == RULE_MANUAL:
        from portal import i18n

        return i18n.gettext(LABEL_MANUAL, by=params.get("by", ""))
    if rule == RULE_GIFT:
        return promotions.gift_label(params)
    return pricing.rule_label(rule, params)


async def active_rules() -> list[Rule]:
    rows = await fetch(
        'SELECT id, kind, approver_role, step_order, amount_fen, "count" FROM approval_rule '
        "WHERE active = {}",
        True,
    )
    return [_rule_of(r) for r in rows]


async def previous_order_count(dealer_id: int, order_id: int) -> int:
    """The dealer's orders before this one that were not rejected or cancelled."""
    return await Order.count().where(
        (Order.dealer == dealer_id)
        & (Order.id < order_id)
        & Order.status.not_in(["rejected", "cancelled"])
    )


async def open_steps(order_id: int, steps: list[StepNeeded], now: datetime) -> None:
    """Write the steps an order must pass, numbered after any earlier round's steps."""
    if not steps:
        return
    rows = await ApprovalStep.select(ApprovalStep.step_no).where(ApprovalStep.order == order_id)
    start = max((r["step_no"] for r in rows), default=0) + 1
    await ApprovalStep.insert(
        *[
            ApprovalStep(
                order=order_id,
                step_no=start + i,
                role=st.role,
                rule_kind=st.rule_kind,
                status="pending",
                created_at=now,
            )
            for i, st in enumerate(steps)
        ]
    )


async def supersede_steps(order_id: int) -> None:
    """Pending steps no longer apply (the order was returned, rejected, cancelled, adjusted)."""
    await ApprovalStep.update({ApprovalStep.status: "superseded"}).where(
        (ApprovalStep.order == order_id) & (ApprovalStep.status == "pending")
    )


async def _placer_role(order_id: int) -> str:
    """The role of the user who placed the order ("" if unknown)."""
    row = (
        await Order.select(Order.placed_by.role.as_alias("placer_role"))
        .where(Order.id == order_id)
        .first()
    )
    return (row or {}).get("placer_role") or ""


async def route_for_approval(
    actor: Actor,
    order_id: int,
    dealer: dict,
    total_fen: int,
    lines: list[PricedLine],
    from_status: str,
    *,
    now: datetime,
) -> tuple[str, list[StepNeeded]]:
    """Work out the steps and open them, or approve straight away; inside the transaction.

    `dealer` is the locked dealer row without this order's total in its exposure.
    """
    # Submission, resubmission and adjustment all pass here: the overdue policy holds them.
    await credit.check_overdue_policy(dealer, now=now)
    steps = approvals_needed(
        await active_rules(),
        dealer,
        total_fen,
        lines,
        actor,
        await previous_order_count(dealer["id"], order_id),
        tolerance=await supplier.credit_tolerance(),
        placer_role=await _placer_role(order_id),
    )
    if steps:
        await open_steps(order_id, steps, now)
        if from_status != "pending_approval":
            await transition(
                order_id, from_status, "pending_approval", actor=actor, kind="resubmitted", now=now
            )
        return "pending_approval", steps
    # No rule applies: approved by the rules, not by whoever sent the order (a dealer's buyer
    # resubmitting a returned order approves nothing), whatever state it came from.
    await transition(order_id, from_status, "approved", actor=None, kind="auto_approved", now=now)
    return "approved", steps


def can_cancel(order: dict, actor: Actor) -> bool:
    """A dealer user (own dealer) before approval, or staff in scope until anything ships.

    `order` is a sales_order row (dict with "status" and "dealer"); scope is already applied
    by the query that loaded it.
    """
    status = order.get("status")
    if actor.is_dealer:
        own = actor.dealer_id == order.get("dealer")
        return own and status in DEALER_CANCELLABLE_STATUSES
    return actor.role in CANCELLING_STAFF and status in CANCELLABLE_STATUSES


# --- views -----------------------------------------------------------------------------


@dataclass
class OrderLineView:
    id: int
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: int
    unit_price_fen: int
    list_price_fen: int
    line_total_fen: int
    price_rule: str
    price_rule_params: dict[str, Any]
    qty_shipped: int = 0
    qty_backordered: int = 0  # waiting for stock; reserved (oldest order first) as it arrives
    discount_fen: int = 0  # the line's share of the order's saving (满减), off line_total_fen

    @property
    def is_gift(self) -> bool:
        return self.price_rule == RULE_GIFT

    @property
    def gross_fen(self) -> int:
        """quantity × unit price, before the line's share of the order's saving."""
        return self.line_total_fen + self.discount_fen

    @property
    def qty_reserved(self) -> int:
        """What is held in stock for the line (what may ship): not shipped, not backordered."""
        return max(0, self.qty - self.qty_shipped - self.qty_backordered)

    @property
    def price_rule_label(self) -> str:
        """The rule that gave the price, in the reader's language (at render time)."""
        return price_label(self.price_rule, self.price_rule_params)

    @property
    def ref_price_fen(self) -> int:
        """The dealer's own price for the line (differs from the unit price when set by staff)."""
        return int(self.price_rule_params.get("ref_price_fen", self.unit_price_fen))

    @property
    def below_ref_bp(self) -> int:
        """How far the unit price is under the dealer's own price, in basis points (0: at it)."""
        ref = self.ref_price_fen
        if not ref or self.unit_price_fen >= ref:
            return 0
        return int((ref - self.unit_price_fen) * 10000 / ref)


@dataclass
class EventView:
    at: datetime
    actor_name: str
    kind: str
    from_status: str
    to_status: str
    note: str


@dataclass
class OrderView:
    id: int
    number: str
    status: str
    dealer_id: int
    dealer_name: str
    placed_by_name: str
    rep_name: str
    total_fen: int
    list_total_fen: int
    ship_to: str
    requested_date: date | None
    note: str
    created_at: datetime
    lines: list[OrderLineView] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    can_cancel: bool = False
    dealer_code: str = ""
    discount_fen: int = 0  # the saving a spend-X-save-Y promotion gave (满减)
    discount_params: str = ""
    placed_by_id: int | None = None  # the user who placed it
    rep_id: int | None = None  # the staff member who keyed it in for the dealer, if any
    dealer_active: bool = True  # a paused dealer's order is read, not ordered again

    @property
    def saving(self) -> promotions.Saving | None:
        return promotions.Saving.from_params(self.discount_params) if self.discount_fen else None

    @property
    def goods_fen(self) -> int:
        """The lines at their prices, before the order's saving."""
        return self.total_fen + self.discount_fen

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def ref_total_fen(self) -> int:
        """The lines at the dealer's own prices (what the approvals inbox measures against)."""
        return sum(line_total_fen(ln.ref_price_fen, ln.qty) for ln in self.lines)

    @property
    def margin_fen(self) -> int:
        """The order against the dealer's own prices: negative = below them (a discount)."""
        return self.total_fen - self.ref_total_fen

    @property
    def margin_bp(self) -> int:
        ref = self.ref_total_fen
        return int(self.margin_fen * 10000 / ref) if ref else 0

    @property
    def backordered_lines(self) -> list[OrderLineView]:
        return [ln for ln in self.lines if ln.qty_backordered > 0]


@dataclass
class SubmitResult:
    order: OrderView
    created: bool  # False when an idempotent replay returned the first order


@dataclass
class OrderSummary:
    id: int
    number: str
    status: str
    dealer_id: int
    dealer_name: str
    total_fen: int
    line_count: int
    created_at: datetime
    dealer_code: str = ""
    placed_by_name: str = ""  # export only (people=True)
    rep_name: str = ""  # the dealer's rep when the order was placed


@dataclass
class OrdersPage:
    items: list[OrderSummary]
    page: int
    has_more: bool
    total: int
    per_page: int = 20


_ORDER_COLUMNS = (
    Order.id,
    Order.number,
    Order.status,
    Order.dealer,
    Order.dealer.name.as_alias("dealer_name"),
    Order.dealer.code.as_alias("dealer_code"),
    Order.dealer.active.as_alias("dealer_active"),
    Order.placed_by.display_name.as_alias("placed_by_name"),
    Order.rep.display_name.as_alias("rep_name"),
    Order.placed_by,
    Order.rep,
    Order.total_fen,
    Order.list_total_fen,
    Order.discount_fen,
    Order.discount_params,
    Order.ship_to,
    Order.requested_date,
    Order.note,
    Order.created_at,
)


def _params(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def order_in_scope(actor: Actor, order_id: int) -> dict:
    """The order if the actor may see it; NotFound otherwise (the same as nonexistent).

    Warehouse staff see orders once they are to ship (NOT_TO_SHIP never are)."""
    row = await row_in_scope(actor, Order, order_id, _ORDER_COLUMNS, _("Order not found."))
    if actor.role == "warehouse":
        if row["status"] in NOT_TO_SHIP:
            raise NotFound(_("Order not found."))
        mine = await staff_warehouses(actor)
        if mine is not None and not await Order.exists().where(
            (Order.id == order_id) & orders_in_warehouses(mine)
        ):
            raise NotFound(_("Order not found."))
    return row


async def _view(actor: Actor, row: dict) -> OrderView:
    lines = await OrderLine.select().where(OrderLine.order == row["id"]).order_by(OrderLine.id)
    events = (
        await OrderEvent.select(
            OrderEvent.at,
            OrderEvent.actor.display_name.as_alias("actor_name"),
            OrderEvent.kind,
            OrderEvent.from_status,
            OrderEvent.to_status,
            OrderEvent.note,
        )
        .where(OrderEvent.order == row["id"])
        .order_by(OrderEvent.at)
        .order_by(OrderEvent.id)
    )
    return OrderView(
        id=row["id"],
        number=row["number"],
        status=row["status"],
        dealer_id=row["dealer"],
        dealer_name=row["dealer_name"] or "",
        dealer_code=row["dealer_code"] or "",
        placed_by_name=row["placed_by_name"] or "",
        rep_name=row["rep_name"] or "",
        placed_by_id=row.get("placed_by"),
        rep_id=row.get("rep"),
        dealer_active=bool(row.get("dealer_active", True)),
        total_fen=row["total_fen"],
        list_total_fen=row["list_total_fen"],
        discount_fen=int(row.get("discount_fen") or 0),
        discount_params=row.get("discount_params") or "",
        ship_to=row["ship_to"] or "",
        requested_date=row["requested_date"],
        note=row["note"] or "",
        created_at=row["created_at"],
        lines=[
            OrderLineView(
                id=ln["id"],
                sku_id=ln["sku"],
                sku_code=ln["sku_code"],
                sku_name=ln["sku_name"],
                unit=ln["unit"],
                qty=ln["qty"],
                unit_price_fen=ln["unit_price_fen"],
                list_price_fen=ln["list_price_fen"],
                line_total_fen=ln["line_total_fen"],
                price_rule=ln["price_rule"],
                price_rule_params=_params(ln["price_rule_params"]),
                qty_shipped=ln["qty_shipped"],
                qty_backordered=ln["qty_backordered"],
                discount_fen=int(ln["discount_fen"] or 0),
            )
            for ln in lines
        ],
        events=[
            EventView(
                at=e["at"],
                actor_name=e["actor_name"] or "",
                kind=e["kind"],
                from_status=e["from_status"] or "",
                to_status=e["to_status"] or "",
                note=e["note"] or "",
            )
            for e in events
        ],
        can_cancel=can_cancel(row, actor)
        and not any(ln["qty_shipped"] for ln in lines)
        and not await Shipment.exists().where(
            (Shipment.order == row["id"]) & (Shipment.status == "packed")
        ),
    )


async def get_order(actor: Actor, order_id: int) -> OrderView:
    """One order with lines and timeline; NotFound outside the actor's scope."""
    return await _view(actor, await order_in_scope(actor, order_id))


def _like_text(q: str) -> str:
    # LIKE wildcards typed by a user are taken literally by dropping them.
    return q.replace("%", "").replace("_", "").replace("\\", "").strip()


async def list_orders(
    actor: Actor,
    *,
    status: str | None = None,
    dealer_id: int | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 20,
    start: date | None = None,
    end: date | None = None,
) -> OrdersPage:
    """Orders the actor may see, newest first; filter by status (or TO_RECEIVE: those with a
    parcel to confirm), dealer, number/dealer name and the days (Asia/Shanghai, both
    inclusive) they were placed on."""
    page = max(1, int(page))
    per_page = min(max(1, int(per_page)), 100)
    if start is not None and end is not None and start > end:
        message = _("The start date must not be after the end date.")
        raise ValidationFailed(message, errors=[FieldError("end", message)])
    items, total = await _select_orders(
        actor,
        status,
        dealer_id,
        q,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
        start=start,
        end=end,
    )
    return OrdersPage(
        items=items[:per_page],
        page=page,
        has_more=len(items) > per_page,
        total=total,
        per_page=per_page,
    )


EXPORT_MAX_ORDERS = 10_000


async def export_orders(
    actor: Actor, *, status: str | None = None, q: str | None = None, dealer_id: int | None = None
) -> list[OrderSummary]:
    """What list_orders finds, every page of it up to EXPORT_MAX_ORDERS, newest first."""
    items, _total = await _select_orders(
        actor, status, dealer_id, q, limit=EXPORT_MAX_ORDERS, offset=0, count=False, people=True
    )
    return items


async def _select_orders(
    actor: Actor,
    status: str | None,
    dealer_id: int | None,
    q: str | None,
    *,
    limit: int,
    offset: int,
    count: bool = True,
    start: date | None = None,
    end: date | None = None,
    people: bool = False,
) -> tuple[list[OrderSummary], int]:
    """A slice of the orders the actor may see, newest first, and (with count) how many
    there are in all (else 0); with `people`, who placed each and its rep."""
    ids = await visible_dealer_ids(actor)
    where = [in_scope(Order.dealer, ids)]
    if actor.role == "warehouse":
        where.append(Order.status.not_in(list(NOT_TO_SHIP)))
        where.append(orders_in_warehouses(await staff_warehouses(actor)))
    if status:
        if status not in ORDER_FILTERS:
            raise ValidationFailed(
                _("Unknown order status %(status)s."),
                {"status": status},
                errors=[
                    FieldError("status", _("Unknown order status %(status)s."), {"status": status})
                ],
            )
        if status == TO_RECEIVE:
            to_receive = Shipment.status.is_in(list(PARCEL_STATUSES_TO_RECEIVE))
            where.append(Order.id.is_in(Shipment.select(Shipment.order).where(to_receive)))
        else:
            where.append(Order.status == status)
    if dealer_id is not None:
        if ids is not None and dealer_id not in ids:
            raise NotFound(_("Dealer not found."))  # as GET /dealers/{id} answers it
        where.append(Order.dealer == dealer_id)
    if start is not None:
        where.append(Order.created_at >= datetime.combine(start, time(), SHANGHAI).astimezone(UTC))
    if end is not None:
        after = datetime.combine(end + timedelta(days=1), time(), SHANGHAI)
        where.append(Order.created_at < after.astimezone(UTC))
    text = _like_text(q or "")
    if text:
        pattern = f"%{text}%"
        like = "like" if is_sqlite(current_engine()) else "ilike"
        where.append(
            getattr(Order.number, like)(pattern)
            | getattr(Order.dealer.name, like)(pattern)
            | getattr(Order.dealer.code, like)(pattern)  # the list shows it: D01
        )
    elif (q or "").strip():
        # Only wildcard characters (%, _): a search for nothing finds nothing, not everything.
        where.append(Order.id < 0)
    count_query = Order.count()
    query = Order.select(
        Order.id,
        Order.number,
        Order.status,
        Order.dealer,
        Order.dealer.name.as_alias("dealer_name"),
        Order.dealer.code.as_alias("dealer_code"),
        Order.total_fen,
        Order.created_at,
        *(
            (
                Order.placed_by.display_name.as_alias("placed_by_name"),
                # The rep who looked after the dealer when it was placed (as the sales-by-rep
                # report counts it), whoever keyed it in.
                Order.account_rep.display_name.as_alias("rep_name"),
            )
            if people
            else ()
        ),
    )
    for clause in where:
        count_query = count_query.where(clause)
        query = query.where(clause)
    total = await count_query if count else 0
    rows = (
        await query.order_by(Order.created_at, ascending=False)
        .order_by(Order.id, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    counts: dict[int, int] = {}
    for chunk in (rows[n : n + 500] for n in range(0, len(rows), 500)):
        for r in await fetch(
            'SELECT "order" AS order_id, COUNT(*) AS n FROM order_line WHERE "order" IN ('
            + ", ".join("{}" for _r in chunk)
            + ') GROUP BY "order"',
            *[r["id"] for r in chunk],
        ):
            counts[int(r["order_id"])] = int(r["n"])
    items = [
        OrderSummary(
            id=r["id"],
            number=r["number"],
            status=r["status"],
            dealer_id=r["dealer"],
            dealer_name=r["dealer_name"] or "",
            total_fen=r["total_fen"],
            line_count=counts.get(r["id"], 0),
            created_at=r["created_at"],
            dealer_code=r["dealer_code"] or "",
            placed_by_name=r.get("placed_by_name") or "",
            rep_name=r.get("rep_name") or "",
        )
        for r in rows
    ]
    return items, total


# --- submission ------------------------------------------------------------------------


@dataclass
class PreparedLine:
    index: int  # position of the first request for this SKU (for field names)
    sku_id: int
    code: str
    name: str
    unit: str
    qty: int  # base units
    unit_price_fen: int
    list_price_fen: int
    line_total_fen: int
    rule: str
    rule_params: dict[str, Any]
    ref_price_fen: int = 0  # the dealer's own price (differs for a staff-set price)
    allow_backorder: bool = False  # as the catalog said when the order was priced
    discount_fen: int = 0  # the line's share of the order's saving (already off the total)

    @property
    def key(self) -> tuple[int, str, str]:
        """Tells lines apart within an order: a SKU may come once bought and once as a gift
        (of each promotion that gives it)."""
        return (
            self.sku_id,
            self.rule,
            _rule_params_text(self.rule_params) if self.rule == RULE_GIFT else "",
        )


@dataclass
class Prepared:
    dealer: dict
    lines: list[PreparedLine]
    total_fen: int
    list_total_fen: int
    ship_to: str
    address_id: int | None
    requested_date: date | None
    note: str
    discount_fen: int = 0
    saving: promotions.Saving | None = None


def request_hash(
    dealer_id: int,
    lines: list[LineRequest],
    address_id: int | None,
    requested_date: date | None,
    note: str,
) -> str:
    """What a retry must repeat to count as the same request (the idempotency body)."""
    body = {
        "dealer": dealer_id,
        "lines": sorted(
            [
                [ln.sku_id, (ln.sku_code or "").strip(), ln.qty, ln.unit or ""]
                + ([] if ln.unit_price_fen is None else [ln.unit_price_fen])
                for ln in lines
            ],
            key=lambda x: json.dumps(x, ensure_ascii=False),
        ),
        "address": address_id,
        "date": requested_date.isoformat() if requested_date else None,
        "note": (note or "").strip(),
    }
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


NO_ADDRESS = _(
    "The dealer has no ship-to address: the dealer's administrator adds one under Me › "
    "Addresses, then the order can be placed."
)


def _ship_to_text(address: dict) -> str:
    parts = [address.get("label"), address.get("contact"), address.get("phone"), address["line"]]
    return " ".join(p for p in parts if p)


_ADDRESS_SQL = "SELECT id, label, contact, phone, line FROM dealer_address WHERE dealer = {} "


def _address_query(dealer_id: int, address_id: int | None) -> tuple[str, list[int]]:
    """The address an order ships to: the chosen one (if the dealer's) or the dealer's
    default (else its first); (sql, args)."""
    if address_id is not None:
        return _ADDRESS_SQL + "AND id = {}", [dealer_id, address_id]
    return _ADDRESS_SQL + "ORDER BY is_default DESC, id LIMIT 1", [dealer_id]


async def _resolve_address(
    dealer: dict, address_id: int | None, rows: list[dict] | None = None
) -> tuple[int | None, str]:
    """(address id, ship-to text); `rows`: the result of _address_query if already read."""
    if rows is None:
        sql, args = _address_query(dealer["id"], address_id)
        rows = await fetch(sql, *args)
    if not rows:
        if address_id is not None:
            raise ValidationFailed(
                errors=[FieldError("address_id", _("Choose one of the dealer's addresses."))]
            )
        # An order with nowhere to ship to would reach the warehouse as "—".
        raise ValidationFailed(errors=[FieldError("address_id", NO_ADDRESS)])
    return rows[0]["id"], _ship_to_text(rows[0])


def _rule_params_text(params: dict[str, Any]) -> str:
    """Rule params as compact JSON for order_line.price_rule_params."""
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def above_dealer_price(sku_code: str, dealer_price_fen: int, field: str) -> FieldError:
    """A price staff ordering for a dealer set above the dealer's own: they may discount (within
    their authority), not charge a dealer more than its price list does."""
    return FieldError(
        field,
        _("%(sku)s: a price above the dealer's price (%(price)s) cannot be set."),
        {"sku": sku_code, "price": money.format_yuan(dealer_price_fen)},
    )


REQUESTED_DATE_AHEAD = timedelta(days=366)


def check_details(requested_date: date | None, note: str, now: datetime) -> list[FieldError]:
    errors = []
    if requested_date is not None and requested_date < _today(now):
        errors.append(FieldError("requested_date", _("The requested date cannot be in the past.")))
    elif requested_date is not None and requested_date > _today(now) + REQUESTED_DATE_AHEAD:
        # 9999-12-31 is a slip of the thumb on the year, not a delivery date.
        latest = _today(now) + REQUESTED_DATE_AHEAD
        errors.append(
            FieldError(
                "requested_date",
                _("The requested date can be at most a year ahead (until %(latest)s)."),
                {"latest": latest.isoformat()},
            )
        )
    if len(note or "") > MAX_NOTE:
        errors.append(
            FieldError(
                "note", _("The note is too long (at most %(max)s characters)."), {"max": MAX_NOTE}
            )
        )
    return errors


async def prepare(
    actor: Actor,
    dealer: dict,
    lines: list[LineRequest],
    *,
    address_id: int | None,
    requested_date: date | None,
    note: str,
    now: datetime,
    addresses: list[dict] | None = None,
) -> Prepared:
    """Validate every line and price the order, before any lock. ValidationFailed lists all
    problems at once, each naming the SKU and the rule. `addresses`: the rows of
    _address_query, if the caller already read them.

    A line's unit_price_fen is a staff-set price (a rep's discount, from the cart or the API):
    the line keeps it with rule "manual", who set it and the dealer's own price for reference.
    Dealers never set prices.
    """
    overrides: dict[int, int] = {}  # sku id -> the staff-set price, once lines are merged
    if any(ln.unit_price_fen is not None for ln in lines) and not actor.is_staff:
        raise Forbidden(_("Only staff may set a price."))
    errors: list[FieldError] = check_details(requested_date, note, now)
    if not lines:
        raise ValidationFailed(
            _("The order has no lines."),
            errors=errors + [FieldError("lines", _("The order has no lines."))],
        )
    codes = [ln.sku_code.strip() for ln in lines if ln.sku_id is None and ln.sku_code]
    ids = {ln.sku_id for ln in lines if ln.sku_id is not None}
    with promotions.priced_on(promotions.today(now)):  # the promotions in force at `now`
        by_code = await catalog.find_skus(actor, dealer, codes, history=False) if codes else {}
        items = await catalog.items_by_ids(actor, dealer, sorted(ids), history=False) if ids else {}
    for item in by_code.values():
        items.setdefault(item.sku_id, item)

    merged: dict[int, tuple[int, int]] = {}  # sku_id -> (first index, qty)
    for i, ln in enumerate(lines):
        fname = f"lines[{i}]"
        label = (ln.sku_code or "").strip() or (f"#{ln.sku_id}" if ln.sku_id else "?")
        if ln.sku_id is not None:
            item = items.get(ln.sku_id)
        elif ln.sku_code:
            item = by_code.get(ln.sku_code.strip())
        else:
            errors.append(FieldError(fname, _("Line %(line)s names no SKU."), {"line": i + 1}))
            continue
        if item is None:
            errors.append(FieldError(fname, _("%(sku)s is not available."), {"sku": label}))
            continue
        if (
            ln.sku_id is not None
            and (ln.sku_code or "").strip()
            and folded(ln.sku_code.strip()) not in (folded(item.code), item.barcode or "")
        ):
            # Both given and naming different SKUs (a stale id beside the code): which was meant?
            errors.append(
                FieldError(
                    fname,
                    _("sku_id %(id)s is %(code)s, not %(sku)s: send one of them."),
                    {"id": ln.sku_id, "code": item.code, "sku": ln.sku_code.strip()[:40]},
                )
            )
            continue
        qty = ln.qty
        if not isinstance(qty, bool) and isinstance(qty, int) and qty > MAX_LINE_QTY:
            errors.append(
                FieldError(
                    fname,
                    _("%(sku)s: at most %(max)s per line."),
                    {"sku": item.code, "max": f"{MAX_LINE_QTY:,}"},
                )
            )
            continue
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            errors.append(
                FieldError(
                    fname,
                    _("%(sku)s: the quantity must be a positive whole number."),
                    {"sku": item.code},
                )
            )
            continue
        try:
            qty_base = to_base_units(qty, ln.unit, base_unit=item.unit, packs=dict(item.packs))
        except ValidationFailed:
            errors.append(
                FieldError(
                    fname,
                    _("%(sku)s: unknown unit %(unit)s."),
                    {"sku": item.code, "unit": ln.unit},
                )
            )
            continue
        first, before = merged.get(item.sku_id, (i, 0))
        merged[item.sku_id] = (first, before + qty_base)
        if ln.unit_price_fen is not None:
            if overrides.setdefault(item.sku_id, ln.unit_price_fen) != ln.unit_price_fen:
                errors.append(
                    FieldError(fname, _("%(sku)s: two prices for one SKU."), {"sku": item.code})
                )

    prepared: list[PreparedLine] = []
    for sku_id, (index, qty) in merged.items():
        item = items[sku_id]
        problems = check_line(
            item.code,
            qty,
            moq=item.moq,
            order_multiple=item.order_multiple,
            field=f"lines[{index}]",
        )
        if problems:
            errors.extend(problems)
            continue
        quote = item.quote_for(qty)
        price, rule, params = quote.unit_price_fen, quote.rule, dict(quote.rule_params)
        override = overrides.get(sku_id)
        if override is not None and override != quote.unit_price_fen:
            if isinstance(override, bool) or not isinstance(override, int) or override < 0:
                errors.append(
                    FieldError(
                        f"lines[{index}]",
                        _("%(sku)s: the price must be zero or more."),
                        {"sku": item.code},
                    )
                )
                continue
            if override > quote.unit_price_fen:
                errors.append(
                    above_dealer_price(item.code, quote.unit_price_fen, f"lines[{index}]")
                )
                continue
            price, rule = override, RULE_MANUAL
            params = {
                "by": actor.name,
                "by_id": actor.user_id,
                "ref_price_fen": quote.unit_price_fen,
                "ref_rule": quote.rule,
            }
        prepared.append(
            PreparedLine(
                index=index,
                sku_id=sku_id,
                code=item.code,
                name=item.name,
                unit=item.unit,
                qty=qty,
                unit_price_fen=price,
                list_price_fen=quote.list_price_fen,
                line_total_fen=line_total_fen(price, qty),
                rule=rule,
                rule_params=params,
                ref_price_fen=quote.unit_price_fen,
                allow_backorder=bool(item.allow_backorder),
            )
        )
    if errors:
        raise ValidationFailed(errors=errors)
    resolved_address, ship_to = await _resolve_address(dealer, address_id, addresses)
    prepared.sort(key=lambda p: p.index)
    known = promotions.known_in_force(i.price_inputs for i in items.values())
    saving = await apply_promotions(dealer, prepared, now, in_force=known)
    return Prepared(
        dealer=dealer,
        lines=prepared,
        total_fen=sum(p.line_total_fen for p in prepared),
        list_total_fen=sum(line_total_fen(p.list_price_fen, p.qty) for p in prepared),
        ship_to=ship_to,
        address_id=resolved_address,
        requested_date=requested_date,
        note=(note or "").strip(),
        discount_fen=saving.save_fen if saving else 0,
        saving=saving,
    )


async def apply_promotions(
    dealer: dict,
    lines: list[PreparedLine],
    now: datetime,
    *,
    in_force: tuple[promotions.Promo, ...] | None = None,
) -> promotions.Saving | None:
    """Add the gift lines the order earns (买赠) and spread the saving it earns (满减) over
    its priced lines, in place; returns the saving. Promotions in force at `now` count;
    `in_force`: those in force then, if the catalog read them along with the prices."""
    day = promotions.today(now)
    won = await promotions.earned_for(dealer, lines, day, in_force=in_force)
    next_index = len(lines) and max(p.index for p in lines) + 1
    for n, gift in enumerate(g for g in won.gifts if g.qty > 0):
        lines.append(
            PreparedLine(
                index=next_index + n,
                sku_id=gift.sku_id,
                code=gift.code,
                name=gift.sku_name,
                unit=gift.unit,
                qty=gift.qty,
                unit_price_fen=0,
                list_price_fen=gift.list_price_fen,
                line_total_fen=0,
                rule=RULE_GIFT,
                rule_params=gift.rule_params(),
                ref_price_fen=0,
                allow_backorder=gift.allow_backorder,
            )
        )
    if won.saving is None:
        return None
    priced = [p for p in lines if p.line_total_fen > 0]
    for p, share in zip(
        priced,
        promotions.spread(won.saving.save_fen, [p.line_total_fen for p in priced]),
        strict=True,
    ):
        p.discount_fen = share
        p.line_total_fen -= share
    return won.saving


async def _replay(actor: Actor, key: str, body_hash: str | None) -> SubmitResult | None:
    """The first result for a used key; Conflict when the body differs. None if unused."""
    rows = await fetch(
        'SELECT request_hash, "order" FROM idempotency_key WHERE "user" = {} AND "key" = {}',
        actor.user_id,
        key,
    )
    if not rows:
        return None
    return await _replay_of(actor, key, body_hash, rows[0])


async def _used_key_and_address(
    actor: Actor, key: str, dealer_id: int, address_id: int | None, order: dict
) -> tuple[dict | None, list[dict], list[Rule], list[dict]]:
    """Read in one statement before a submission: the key's row if this user already used it
    (request_hash, order), the rows of _address_query, the active approval rules and the
    users the new order's notifications may go to (notifications.recipients_sql for
    `order`: dealer, placed_by, rep). Reading the rules before the dealer's lock rather than
    under it changes nothing: either read is of some moment of the submission."""
    address_sql, address_args = _address_query(dealer_id, address_id)
    people_sql, people_args = notifications.recipients_sql(order)
    rows = await fetch(
        "SELECT 'key' AS src, \"order\" AS id, request_hash AS t1, NULL AS t2, NULL AS t3, "
        'NULL AS t4, 0 AS n1, 0 AS n2, 0 AS n3 FROM idempotency_key WHERE "user" = {} '
        'AND "key" = {} '
        "UNION ALL SELECT 'address', id, label, contact, phone, line, 0, 0, 0 FROM ("
        + address_sql
        + ") AS address "
        "UNION ALL SELECT 'rule', id, kind, approver_role, NULL, NULL, step_order, amount_fen, "
        '"count" FROM approval_rule WHERE active = {} '
        "UNION ALL SELECT 'user', id, email, locale, NULL, NULL, 0, 0, 0 FROM ("
        + people_sql
        + ") AS people",
        actor.user_id,
        key,
        *address_args,
        True,
        *people_args,
    )
    used = next(
        ({"order": r["id"], "request_hash": r["t1"]} for r in rows if r["src"] == "key"),
        None,
    )
    addresses = [
        {"id": r["id"], "label": r["t1"], "contact": r["t2"], "phone": r["t3"], "line": r["t4"]}
        for r in rows
        if r["src"] == "address"
    ]
    rules = [
        Rule(
            kind=r["t1"],
            approver_role=r["t2"],
            step_order=int(r["n1"]),
            amount_fen=int(r["n2"] or 0),
            count=int(r["n3"] or 0),
            id=int(r["id"]),
        )
        for r in rows
        if r["src"] == "rule"
    ]
    users = [
        {"id": int(r["id"]), "email": r["t1"], "locale": r["t2"]}
        for r in rows
        if r["src"] == "user"
    ]
    return used, addresses, rules, users


async def _replay_of(actor: Actor, key: str, body_hash: str | None, row: dict) -> SubmitResult:
    """The first result of a used key (its row: request_hash, order); Conflict when the body
    differs."""
    if (body_hash is not None and row["request_hash"] != body_hash) or row["order"] is None:
        raise Conflict(
            _("This idempotency key was already used for a different order."),
            extra={"idempotency_key": key},
        )
    return SubmitResult(order=await get_order(actor, row["order"]), created=False)


async def _next_number(now: datetime) -> str:
    """SO-YYYYMMDD-NNNN: an atomic per-day counter (the day in Asia/Shanghai).

    Taken in a short transaction of its own before the submission's: every order of the day
    goes through this one row, so holding its lock until the submission commits would queue
    all submissions behind each other. A refused or rolled-back submission leaves a gap in
    the day's numbers; numbers stay unique and increasing.
    """
    day = _today(now).strftime("%Y%m%d")
    sql = (
        'INSERT INTO order_counter (day, "last") VALUES ({}, 1) '
        'ON CONFLICT (day) DO UPDATE SET "last" = order_counter."last" + 1 RETURNING "last"'
    )
    if is_sqlite(current_engine()):
        # SQLite: take the write lock up front (IMMEDIATE), so concurrent writers queue.
        async with write_transaction():
            rows = await fetch(sql, day)
    else:
        # PostgreSQL: one statement outside a transaction is atomic on its own (autocommit).
        rows = await fetch(sql, day)
    return f"SO-{day}-{int(rows[0]['last']):04d}"


# Until the supplier's settings say otherwise, a dealer is not told stock figures.
NO_STOCK_NUMBERS = supplier.Defaults(show_stock_numbers=False)


@dataclass(frozen=True)
class ShortLine:
    """A line short of stock as a refusal names it."""

    field: str  # the input it answers ("lines[2]")
    sku_code: str
    unit: str
    shortfall: stock.Shortfall


def stock_refusal(short: list[ShortLine], *, figures: bool) -> InsufficientStock:
    """The refusal of an order (a submission, an adjustment) short of stock, line by line.
    `figures`: whether it says how much is available (staff always; a dealer only where the
    supplier shows stock numbers: otherwise a large order would tell any dealer the stock)."""
    errors, lines = [], []
    for ln in short:
        s = ln.shortfall
        available = max(0, s.available) if figures else None
        params = {"sku": ln.sku_code, "requested": s.requested, "unit": ln.unit}
        if figures:
            message = _("%(sku)s: %(requested)s %(unit)s requested, %(available)s available.")
            params["available"] = available
        else:
            message = _("%(sku)s: %(requested)s %(unit)s requested, not enough in stock.")
        errors.append(FieldError(ln.field, message, params))
        lines.append({"sku": ln.sku_code, "requested": s.requested, "available": available})
    refusal = InsufficientStock(
        _("Not enough stock for %(skus)s."),
        {"skus": ", ".join(f["sku"] for f in lines)},
        errors=errors,
        extra={"lines": lines},
    )
    refusal.shortfalls = [ln.shortfall for ln in short]
    return refusal


def _stock_refusal(
    p: Prepared, shortfalls: list[stock.Shortfall], figures: bool = True
) -> InsufficientStock:
    """stock_refusal for a submission's prepared lines."""
    by_sku: dict[int, PreparedLine] = {}
    for line in p.lines:
        by_sku.setdefault(line.sku_id, line)  # the bought line before a gift of the same SKU
    short = [
        ShortLine(
            f"lines[{by_sku[s.sku_id].index}]", by_sku[s.sku_id].code, by_sku[s.sku_id].unit, s
        )
        for s in shortfalls
    ]
    return stock_refusal(short, figures=figures)


async def _charge_dealer(dealer_id: int, total_fen: int) -> dict:
    """Add an order's total to the dealer's open orders: one statement that also locks the
    row (the first lock a submission takes). Returns the row as it was before the order
    counted (NotFound if there is none); the caller checks credit against it and raises,
    rolling the update back, when the order does not fit."""
    rows = await fetch(
        "UPDATE dealer SET open_orders_fen = open_orders_fen + {} WHERE id = {} RETURNING *",
        total_fen,
        dealer_id,
    )
    if not rows:
        raise NotFound(_("Dealer not found."))
    dealer = dict(rows[0])
    for name in ("active", "flagged_for_review"):
        value = dealer.get(name)
        dealer[name] = value is True or value == 1 or value in ("1", b"1", "t", "true")
    dealer["open_orders_fen"] = int(dealer["open_orders_fen"] or 0) - total_fen
    return dealer


async def _insert_key(
    actor: Actor, key: str, body_hash: str, order_id: int | None, now: datetime
) -> None:
    """Record the idempotency key (with its order); KeyTaken if a twin request holds it.

    A twin still in flight makes this wait on the unique index until it ends: committed,
    the key is taken; rolled back, the insert goes through.
    """
    try:
        await fetch(
            _key_insert("{}"),
            actor.user_id,
            key,
            body_hash,
            order_id,
            now,
        )
    except Exception as exc:
        if _is_unique_violation(exc):
            raise _KeyTaken() from exc
        raise


async def _count_previous_orders(dealer_id: int) -> int:
    """The dealer's orders that were not rejected or cancelled (under the dealer lock, before
    the new order is written: the same as previous_order_count for it)."""
    rows = await fetch(
        "SELECT COUNT(*) AS n FROM sales_order WHERE dealer = {} AND status NOT IN ({}, {})",
        dealer_id,
        "rejected",
        "cancelled",
    )
    return int(rows[0]["n"])


def _rule_of(row: dict) -> Rule:
    return Rule(
        kind=row["kind"],
        approver_role=row["approver_role"],
        step_order=row["step_order"],
        amount_fen=int(row["amount_fen"] or 0),
        count=int(row["count"] or 0),
        id=row["id"],
    )


async def _route_new_order(
    actor: Actor,
    dealer: dict,
    p: Prepared,
    rules: list[Rule],
    *,
    tolerance: credit.Tolerance,
    now: datetime,
) -> list[StepNeeded]:
    """The approval steps a new order needs (what route_for_approval decides for it), worked
    out before the order is written, so it is written once with its final status."""
    await credit.check_overdue_policy(dealer, now=now)
    previous = (
        await _count_previous_orders(dealer["id"])
        if any(rule.kind == "first_orders" for rule in rules)
        else 0
    )
    return approvals_needed(
        rules,
        dealer,
        p.total_fen,
        [PricedLine(ln.unit_price_fen, ln.ref_price_fen, ln.qty) for ln in p.lines],
        actor,
        previous,
        tolerance=tolerance,
        placer_role=actor.role,
    )


def _as_stored(moment: datetime) -> datetime:
    """A timestamp as the database gives it back (UTC)."""
    return moment.astimezone(UTC)


async def _place(
    actor: Actor,
    p: Prepared,
    *,
    key: str,
    body_hash: str,
    number: str,
    now: datetime,
    rules: list[Rule],
    tolerance: credit.Tolerance,
    recipients: list[dict],
    cart_line_ids: list[int] | None = None,
    cart_id: int | None = None,
) -> OrderView:
    """The one write transaction of a submission; returns the new order as get_order would.

    Lock order: the dealer row first, then the idempotency key (a twin request waits on its
    unique index), the stock rows last (just before commit), so the rows every submission
    of a SKU shares are held for as few statements as possible. The approval route is
    decided before the order is written, so the order is inserted with its final status.
    """
    rep_id = actor.user_id if actor.is_staff else None
    # What notifications need of the order (its id once written).
    order_row: dict[str, Any] = {
        "id": None,
        "number": number,
        "dealer": p.dealer["id"],
        "placed_by": actor.user_id,
        "rep": rep_id,
        "status": None,
    }
    async with write_transaction():
        try:
            dealer = await _charge_dealer(p.dealer["id"], p.total_fen)
            await _hook("after_dealer_lock")
            if not dealer["active"]:
                raise NotFound(_("Dealer not found."))
            over_credit = not credit.fits(dealer, p.total_fen, tolerance)
            if over_credit and dealer.get("over_credit_policy") != "approval":
                credit.check_credit(dealer, p.total_fen, tolerance)
            # Over credit under the "approval" policy: allowed past the limit only to wait for
            # finance (approvals_needed always adds the over_credit step).
            steps = await _route_new_order(actor, dealer, p, rules, tolerance=tolerance, now=now)
        except DomainError:
            # A twin request (same key) that committed first gets its order back, not this
            # refusal: claim the key before refusing (the refusal rolls it back).
            await _insert_key(actor, key, body_hash, None, now)
            raise
        status = "pending_approval" if steps else "approved"
        order_row["status"] = status
        order_args = [
            number,
            dealer["id"],
            actor.user_id,
            rep_id,
            status,
            p.total_fen,
            p.list_total_fen,
            p.discount_fen,
            p.saving.params() if p.saving else "",
            p.ship_to,
            p.requested_date,
            p.note,
            now,
            now,
            dealer["id"],  # its account rep: who looks after the dealer now
        ]
        order_id, line_rows = await _write_order(
            actor, dealer["id"], p, order_args, key=key, body_hash=body_hash, now=now
        )
        line_ids = {
            (
                int(r["sku"]),
                r["price_rule"],
                r["price_rule_params"] if r["price_rule"] == RULE_GIFT else "",
            ): int(r["id"])
            for r in line_rows
        }
        if steps:
            await ApprovalStep.insert(
                *[
                    ApprovalStep(
                        order=order_id,
                        step_no=i + 1,
                        role=st.role,
                        rule_kind=st.rule_kind,
                        status="pending",
                        created_at=now,
                    )
                    for i, st in enumerate(steps)
                ]
            )
        order_row["id"] = order_id
        await notifications.tell_placed(
            order_row,
            "submitted" if steps else "approved",
            approver_role=steps[0].role if steps else None,
            actor=actor,
            now=now,
            users=recipients,
        )
        if cart_id is not None:
            await _empty_cart(cart_id, cart_line_ids or [], now)

        # Stock last: lock the SKUs' rows (in id order), reserve, and commit soon after.
        bought = [line for line in p.lines if line.rule != RULE_GIFT]
        wanted = [(line.key, line.sku_id, line.qty) for line in bought]
        gifts = len(bought) < len(p.lines)
        # From here to the commit, every other order of these SKUs waits for their rows: the
        # stock update, the reservations, the timeline and the audit entry go in one
        # statement (write_together). With gifts, the bought lines' stock is raised first,
        # for the gifts' allocation to see it.
        allocations, shortfalls = await stock.allocate(
            dealer,
            wanted,
            backorderable_skus={line.sku_id for line in bought if line.allow_backorder},
            apply=gifts,
        )
        if shortfalls:
            raise _stock_refusal(p, shortfalls)
        bought_allocations = list(allocations)
        reserve = None if gifts else stock.reserve_write(allocations)
        writes = stock.reservation_writes(allocations, line_ids)
        if gifts:
            allocations += await _reserve_gifts(dealer, p, order_id, line_ids)
        backordered = stock.backordered_by_key(allocations)  # line key -> qty

        # The timeline: submitted, (approved automatically), (backordered), in one statement.
        events: list[tuple[int | None, str, str, str, str]] = [
            (actor.user_id, "submitted", "", INITIAL_STATUS, "")
        ]
        if not steps:
            events.append((None, "auto_approved", INITIAL_STATUS, "approved", ""))
        if backordered:
            events.append(
                (actor.user_id, "backordered", status, status, _backorder_note(p, backordered))
            )
        event_args: list[Any] = []
        for who, kind, from_status, to_status, note in events:
            event_args += [order_id, now, who, kind, from_status, to_status, note]
        writes.append(
            (
                'INSERT INTO order_event ("order", at, actor, kind, from_status, to_status, '
                "note) VALUES " + ", ".join("({}, {}, {}, {}, {}, {}, {})" for _ in events),
                event_args,
            )
        )
        submitted = audit.entry(
            actor,
            "order.submitted",
            "order",
            order_id,
            {"dealer_open_orders_fen": dealer["open_orders_fen"]},
            {
                "number": number,
                "status": status,
                "approval_steps": [[st.role, st.rule_kind] for st in steps],
                "over_credit": over_credit,
                "dealer_id": dealer["id"],
                "total_fen": p.total_fen,
                "dealer_open_orders_fen": dealer["open_orders_fen"] + p.total_fen,
                "lines": [
                    {
                        "sku": line.code,
                        "qty": line.qty,
                        "unit_price_fen": line.unit_price_fen,
                        "rule": line.rule,
                        "ref_price_fen": line.ref_price_fen,
                        "discount_fen": line.discount_fen,
                    }
                    for line in p.lines
                ],
                "reserved": [
                    {"sku_id": a.sku_id, "warehouse_id": a.warehouse_id, "qty": a.qty}
                    for a in stock.reserved_allocations(allocations)
                ],
                "backordered": [
                    {"sku_id": key[0], "qty": qty} for key, qty in sorted(backordered.items())
                ],
                "discount_fen": p.discount_fen,
            },
            now=now,
        )
        raised = await write_together([*writes, submitted, *([reserve] if reserve else [])])
        if reserve is not None:
            shortfalls = await stock.guard_shortfalls(wanted, bought_allocations, raised)
            if shortfalls:
                raise _stock_refusal(p, shortfalls)
    if now.tzinfo is None:
        return await get_order(actor, order_id)
    # What get_order would read back, built from what was just written (no re-read).
    at = _as_stored(now)
    names = {actor.user_id: actor.name or ""}
    return OrderView(
        id=order_id,
        number=number,
        status=status,
        dealer_id=dealer["id"],
        dealer_name=dealer.get("name") or "",
        dealer_code=dealer.get("code") or "",
        placed_by_name=actor.name or "",
        rep_name=(actor.name or "") if rep_id is not None else "",
        placed_by_id=actor.user_id,
        rep_id=rep_id,
        total_fen=p.total_fen,
        list_total_fen=p.list_total_fen,
        discount_fen=p.discount_fen,
        discount_params=p.saving.params() if p.saving else "",
        ship_to=p.ship_to or "",
        requested_date=p.requested_date,
        note=p.note or "",
        created_at=at,
        lines=sorted(
            (
                OrderLineView(
                    id=line_ids[line.key],
                    sku_id=line.sku_id,
                    sku_code=line.code,
                    sku_name=line.name,
                    unit=line.unit,
                    qty=line.qty,
                    unit_price_fen=line.unit_price_fen,
                    list_price_fen=line.list_price_fen,
                    line_total_fen=line.line_total_fen,
                    price_rule=line.rule,
                    price_rule_params=_params(_rule_params_text(line.rule_params)),
                    qty_shipped=0,
                    qty_backordered=backordered.get(line.key, 0),
                    discount_fen=line.discount_fen,
                )
                for line in p.lines
            ),
            key=lambda ln: ln.id,
        ),
        events=[
            EventView(
                at=at,
                actor_name=names.get(who, "") if who is not None else "",
                kind=kind,
                from_status=from_status,
                to_status=to_status,
                note=note,
            )
            for who, kind, from_status, to_status, note in events
        ],
        can_cancel=can_cancel({"status": status, "dealer": dealer["id"]}, actor),
    )


_ORDER_INSERT = (
    "INSERT INTO sales_order (number, dealer, placed_by, rep, status, total_fen, "
    "list_total_fen, discount_fen, discount_params, ship_to, requested_date, note, created_at, "
    "updated_at, account_rep) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, "
    "(SELECT ra.rep FROM rep_assignment ra WHERE ra.dealer = {}))"
)
_LINES_INSERT = (
    'INSERT INTO order_line ("order", dealer, sku, sku_code, sku_name, unit, qty, qty_shipped, '
    "qty_backordered, unit_price_fen, list_price_fen, line_total_fen, discount_fen, price_rule, "
    "price_rule_params) VALUES "
)
# The unique index a twin request's key meets (migration 2026-11-25T10:34:50).
_KEY_INDEX = "idempotency_user_key"


def _key_insert(order: str) -> str:
    """The idempotency key's INSERT, its order given as SQL: {} or the WITH's new id."""
    return (
        'INSERT INTO idempotency_key ("user", "key", request_hash, "order", created_at) '
        f"VALUES ({{}}, {{}}, {{}}, {order}, {{}})"
    )


async def _write_order(
    actor: Actor,
    dealer_id: int,
    p: Prepared,
    order_args: list[Any],
    *,
    key: str,
    body_hash: str,
    now: datetime,
) -> tuple[int, list[dict]]:
    """Insert the order, its idempotency key and its lines; (order id, the lines' rows: id,
    order, sku, price_rule, price_rule_params). _KeyTaken if a twin request holds the key.

    On PostgreSQL one statement (the order and the key data-modifying WITHs, the key and the
    lines taking the new order's id from the first); on SQLite three. Either way the key is
    written after the order, so a twin in flight makes this wait on the key's unique index."""
    per_line: list[list[Any]] = []
    for line in p.lines:
        per_line.append(
            [
                dealer_id,
                line.sku_id,
                line.code,
                line.name,
                line.unit,
                line.qty,
                0,
                0,
                line.unit_price_fen,
                line.list_price_fen,
                line.line_total_fen,
                line.discount_fen,
                line.rule,
                _rule_params_text(line.rule_params),
            ]
        )

    def lines_insert(order: str) -> str:
        each = "(" + order + ", {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
        returning = ' RETURNING id, "order", sku, price_rule, price_rule_params'
        return _LINES_INSERT + ", ".join(each for _ in p.lines) + returning

    if is_sqlite(current_engine()):
        order_id = int((await fetch(_ORDER_INSERT + " RETURNING id", *order_args))[0]["id"])
        await _insert_key(actor, key, body_hash, order_id, now)
        args = [value for values in per_line for value in (order_id, *values)]
        return order_id, await fetch(lines_insert("{}"), *args)
    new_id = "(SELECT id FROM new_order)"
    sql = (
        f"WITH new_order AS ({_ORDER_INSERT} RETURNING id), new_key AS ({_key_insert(new_id)}) "
        + lines_insert(new_id)
    )
    try:
        args = [value for values in per_line for value in values]
        rows = await fetch(sql, *order_args, actor.user_id, key, body_hash, now, *args)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == _KEY_INDEX:
            raise _KeyTaken() from exc
        raise
    return int(rows[0]["order"]), rows


async def _reserve_gifts(
    dealer: dict, p: Prepared, order_id: int, line_ids: dict
) -> list[stock.Allocation]:
    """Reserve the gift lines after the bought ones, while stock lasts (赠完即止): a gift whose
    stock went meanwhile shrinks to what is left, or goes, and never refuses the order."""
    gifts = [line for line in p.lines if line.rule == RULE_GIFT]
    waits = {line.sku_id for line in gifts if line.allow_backorder}
    wanted = [(line.key, line.sku_id, line.qty) for line in gifts]
    allocations, shortfalls = await stock.allocate(dealer, wanted, backorderable_skus=waits)
    if shortfalls:
        left = {s.sku_id: max(0, s.available) for s in shortfalls}
        for line in gifts:
            if line.sku_id in left:
                line.qty = min(line.qty, left[line.sku_id])
                left[line.sku_id] -= line.qty
        for line in [g for g in gifts if g.qty == 0]:
            await OrderLine.delete().where(OrderLine.id == line_ids.pop(line.key))
            p.lines.remove(line)
        gifts = [g for g in gifts if g.qty > 0]
        for line in gifts:
            await OrderLine.update({OrderLine.qty: line.qty}).where(
                OrderLine.id == line_ids[line.key]
            )
        p.list_total_fen = sum(line_total_fen(x.list_price_fen, x.qty) for x in p.lines)
        await Order.update({Order.list_total_fen: p.list_total_fen}).where(Order.id == order_id)
        allocations, shortfalls = await stock.allocate(
            dealer, [(g.key, g.sku_id, g.qty) for g in gifts], backorderable_skus=waits
        )
        if shortfalls:  # cannot happen under the stock locks; refuse rather than oversell
            raise _stock_refusal(p, shortfalls)
    await stock.write_reservations(allocations, line_ids)
    return allocations


def _backorder_note(p: Prepared, backordered: dict[Any, int]) -> str:
    """The timeline note of what waits for stock, e.g. A100: 6 瓶; B200: 2 箱."""
    return "; ".join(
        f"{line.code}: {backordered[line.key]} {line.unit}"
        for line in p.lines
        if backordered.get(line.key)
    )


async def _empty_cart(cart_id: int, line_ids: list[int], now: datetime) -> None:
    """Clear what was ordered from the cart, and its details, in the submission's transaction."""
    if line_ids:
        await CartLine.delete().where(CartLine.id.is_in(line_ids))
    await Cart.update(
        {Cart.address: None, Cart.requested_date: None, Cart.note: "", Cart.updated_at: now}
    ).where(Cart.id == cart_id)


async def _submit(
    actor: Actor,
    dealer: dict,
    lines: list[LineRequest],
    *,
    key: str,
    address_id: int | None,
    requested_date: date | None,
    note: str,
    now: datetime,
    cart_id: int | None = None,
    cart_line_ids: list[int] | None = None,
    stock_defaults: supplier.Defaults,
    expected_total_fen: int | None = None,
) -> SubmitResult:
    body_hash = request_hash(dealer["id"], lines, address_id, requested_date, note)
    rep_id = actor.user_id if actor.is_staff else None
    used, addresses, rules, recipients = await _used_key_and_address(
        actor,
        key,
        dealer["id"],
        address_id,
        {"dealer": dealer["id"], "placed_by": actor.user_id, "rep": rep_id},
    )
    if used is not None:
        return await _replay_of(actor, key, body_hash, used)
    prepared = await prepare(
        actor,
        dealer,
        lines,
        address_id=address_id,
        requested_date=requested_date,
        note=note,
        now=now,
        addresses=addresses,
    )
    if expected_total_fen is not None and prepared.total_fen != expected_total_fen:
        # The dealer confirms what they pay: a price, a promotion or a gift that changed since
        # the total was shown (midnight ended an offer, an administrator changed a price) is
        # said, not placed silently at another amount.
        raise PricesChanged(
            _(
                "The total changed since it was shown (a price, an offer or the cart itself): "
                "the order now comes to %(total)s instead of %(shown)s. Check it and submit "
                "again."
            ),
            {
                "total": money.format_yuan(prepared.total_fen),
                "shown": money.format_yuan(expected_total_fen),
            },
            extra={"order_total": str(money.from_fen(prepared.total_fen))},
        )
    tolerance = await supplier.credit_tolerance()
    await _hook("before_transaction")
    number = await _next_number(now)
    try:
        view = await _place(
            actor,
            prepared,
            key=key,
            body_hash=body_hash,
            number=number,
            now=now,
            rules=rules,
            tolerance=tolerance,
            recipients=recipients,
            cart_id=cart_id,
            cart_line_ids=cart_line_ids,
        )
    except _KeyTaken:
        replay = await _replay(actor, key, body_hash)
        if replay is None:  # the twin rolled back after all: it never happened
            raise Conflict(_("Please try again.")) from None
        return replay
    except InsufficientStock as refusal:
        shortfalls = getattr(refusal, "shortfalls", None)
        if shortfalls is None or await catalog.shows_stock_figures(actor, stock_defaults):
            raise
        raise _stock_refusal(prepared, shortfalls, figures=False) from None
    except CreditExceeded as refusal:
        await _tell_short_stock_too(actor, prepared, refusal, stock_defaults)
        raise
    return SubmitResult(order=view, created=True)


async def _tell_short_stock_too(
    actor: Actor, p: Prepared, refusal: CreditExceeded, stock_defaults: supplier.Defaults
) -> None:
    """An order refused for credit that is also short of stock says so in the same refusal:
    each short line as a field error (with the figure where the reader may see it) and in
    `short_lines`, so that the dealer fixes both at once. Stock is checked after credit,
    under the dealer's lock; here it is read after the refusal rolled back, as advice (the
    next try checks again)."""
    bought = [line for line in p.lines if line.rule != RULE_GIFT]  # a gift never refuses
    wanted = [(line.key, line.sku_id, line.qty) for line in bought]
    waits = {line.sku_id for line in bought if line.allow_backorder}
    _allocations, shortfalls = await stock.allocate(
        p.dealer, wanted, backorderable_skus=waits, apply=False
    )
    if not shortfalls:
        return
    figures = await catalog.shows_stock_figures(actor, stock_defaults)
    short = _stock_refusal(p, shortfalls, figures=figures)
    refusal.errors = [*refusal.errors, *short.errors]
    refusal.extra["short_lines"] = short.extra["lines"]


async def submit_order(
    actor: Actor,
    dealer_id: int | None,
    lines: list[LineRequest],
    *,
    idempotency_key: str,
    address_id: int | None = None,
    requested_date: date | None = None,
    note: str = "",
    now: datetime | None = None,
    stock_defaults: supplier.Defaults = NO_STOCK_NUMBERS,
    expected_total_fen: int | None = None,
) -> SubmitResult:
    """Place an order for a dealer: checked, priced, credit-checked, stock reserved, approved.
    With `expected_total_fen`, an order that now comes to another total is PricesChanged.

    Raises ValidationFailed (per-line errors), CreditExceeded (with the figures),
    InsufficientStock (the short lines), Conflict (a used key with another body),
    NotFound/Forbidden (scope). The same key and body again returns the first order.
    `stock_defaults`: the supplier's defaults until its settings are saved (whether a dealer's
    stock refusal may say how much is left).
    """
    now = now or datetime.now(UTC)
    key = check_key(idempotency_key)
    dealer = await ordering_dealer(actor, dealer_id)
    return await _submit(
        actor,
        dealer,
        list(lines),
        key=key,
        address_id=address_id,
        requested_date=requested_date,
        note=note,
        now=now,
        stock_defaults=stock_defaults,
        expected_total_fen=expected_total_fen,
    )


async def submit_cart(
    actor: Actor,
    dealer_id: int | None,
    *,
    idempotency_key: str,
    now: datetime | None = None,
    stock_defaults: supplier.Defaults = NO_STOCK_NUMBERS,
    expected_total_fen: int | None = None,
) -> SubmitResult:
    """Submit the actor's cart for the dealer; the cart is emptied in the same transaction.
    `expected_total_fen`: the total the page showed; another total now is PricesChanged."""
    now = now or datetime.now(UTC)
    key = check_key(idempotency_key)
    dealer = await ordering_dealer(actor, dealer_id)
    cart = (
        await Cart.select()
        .where(Cart.dealer == dealer["id"])
        .where(Cart.user == actor.user_id)
        .first()
    )
    rows = []
    if cart is not None:
        rows = (
            await CartLine.select(
                CartLine.id, CartLine.sku, CartLine.qty, CartLine.unit_price_override_fen
            )
            .where(CartLine.cart == cart["id"])
            .order_by(CartLine.id)
        )
    if not rows:
        # A retry after the cart was submitted (and so emptied) gets the first order back;
        # the details it brought again (the page saves them first) were that order's, and
        # must not wait in the empty cart for the next one.
        replay = await _replay(actor, key, None)
        if replay is not None:
            if cart is not None and (cart["note"] or cart["requested_date"] or cart["address"]):
                async with write_transaction():
                    await _empty_cart(cart["id"], [], now)
            return replay
        raise ValidationFailed(
            _("Your cart is empty."), errors=[FieldError("lines", _("Your cart is empty."))]
        )
    # Staff-set prices go with their lines; one left in a dealer user's cart (say their role
    # changed) is ignored, as the cart page ignores it.
    lines = [
        LineRequest(
            qty=r["qty"],
            sku_id=r["sku"],
            unit_price_fen=r["unit_price_override_fen"] if actor.is_staff else None,
        )
        for r in rows
    ]
    return await _submit(
        actor,
        dealer,
        lines,
        key=key,
        address_id=cart["address"],
        requested_date=cart["requested_date"],
        note=cart["note"] or "",
        now=now,
        cart_id=cart["id"],
        cart_line_ids=[r["id"] for r in rows],
        stock_defaults=stock_defaults,
        expected_total_fen=expected_total_fen,
    )


# --- cancellation ----------------------------------------------------------------------


async def cancel_order(
    actor: Actor, order_id: int, reason: str = "", *, now: datetime | None = None
) -> OrderView:
    """Cancel an order not yet shipped: release its stock and the dealer's exposure."""
    now = now or datetime.now(UTC)
    reason = visible(reason)
    if len(reason) > MAX_NOTE:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "reason",
                    _("The reason is too long (at most %(max)s characters)."),
                    {"max": MAX_NOTE},
                )
            ]
        )
    row = await order_in_scope(actor, order_id)
    if not actor.is_dealer and actor.role not in CANCELLING_STAFF:
        raise Forbidden(_("Your role cannot cancel orders."))
    if not can_cancel(row, actor):
        if actor.is_dealer and row["status"] == "approved":
            raise Conflict(
                _("The order is approved: to cancel it, ask your sales rep or the supplier.")
            )
        raise Conflict(_("This order can no longer be cancelled."))
    async with write_transaction():
        dealer = await ledger.lock_dealer(row["dealer"])
        current = (
            await Order.select(Order.status, Order.total_fen).where(Order.id == order_id).first()
        )
        shipped = await OrderLine.count().where(
            (OrderLine.order == order_id) & (OrderLine.qty_shipped > 0)
        )
        # A parcel being packed would be left for an ended order: the warehouse decides first.
        packing = await Shipment.count().where(
            (Shipment.order == order_id) & (Shipment.status == "packed")
        )
        still = can_cancel({"status": current["status"], "dealer": row["dealer"]}, actor)
        if not still or shipped or packing:
            raise Conflict(_("This order can no longer be cancelled."))
        freed = await stock.release_order(order_id)  # and clears its backorders
        # What the order held goes to the oldest open backorders of the same SKUs.
        await stock.fill_backorders(freed, actor=actor, now=now)
        await supersede_steps(order_id)
        total = int(current["total_fen"])
        await fetch(
            "UPDATE dealer SET open_orders_fen = open_orders_fen - {} WHERE id = {}",
            total,
            dealer["id"],
        )
        await transition(
            order_id,
            current["status"],
            "cancelled",
            actor=actor,
            kind="cancelled",
            note=reason,
            now=now,
        )
        await audit.record(
            actor,
            "order.cancelled",
            "order",
            order_id,
            {"status": current["status"], "dealer_open_orders_fen": dealer["open_orders_fen"]},
            {
                "status": "cancelled",
                "reason": reason,
                "dealer_open_orders_fen": dealer["open_orders_fen"] - total,
            },
            now=now,
        )
        # The dealer's people, whoever placed it and the dealer's rep hear of it (a manager
        # cancelling an approved order, a dealer its rep's order), as of every decision.
        await notifications.tell(order_id, "cancelled", actor=actor, now=now, note=reason)
    return await get_order(actor, order_id)


# --- ending what is left of a partially shipped order ----------------------------------


async def close_remainder(
    actor: Actor, order_id: int, reason: str, *, now: datetime | None = None
) -> OrderView:
    """Staff end a partially shipped order's rest (不再发货): what it still holds in stock
    and its backorders are released, the unshipped value leaves the dealer's exposure, and
    each line keeps what shipped (its quantity and total become the shipped ones; the
    timeline and the audit keep what was ordered). The order is then shipped. A packed
    shipment must be shipped or unpacked first. The reason is required."""
    now = now or datetime.now(UTC)
    row = await order_in_scope(actor, order_id)
    if actor.role not in CANCELLING_STAFF:
        raise Forbidden(_("Your role cannot end orders."))
    reason = visible(reason)
    if not reason or len(reason) > MAX_NOTE:
        message = (
            _("Say why the rest will not ship.")
            if not reason
            else _("The note is too long (at most %(max)s characters).")
        )
        raise ValidationFailed(errors=[FieldError("reason", message, {"max": MAX_NOTE})])
    async with write_transaction():
        dealer = await ledger.lock_dealer(row["dealer"])
        current = await Order.select(Order.status).where(Order.id == order_id).first()
        if current["status"] != "partially_shipped":
            raise Conflict(_("Only a partially shipped order can end without the rest."))
        packing = await Shipment.count().where(
            (Shipment.order == order_id) & (Shipment.status == "packed")
        )
        if packing:
            raise Conflict(_("A packed shipment waits: ship it or unpack it first."))
        freed = await stock.release_order(order_id)  # reservations and backorders
        await stock.fill_backorders(freed, actor=actor, now=now)
        lines = await OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.id)
        rest_fen, changes, totals = 0, [], {"total": 0, "list": 0, "discount": 0}
        for ln in lines:
            shipped = int(ln["qty_shipped"])
            value = promotions.units_value(
                ln["unit_price_fen"], ln["line_total_fen"], ln["qty"], 0, shipped
            )
            totals["total"] += value
            totals["list"] += line_total_fen(ln["list_price_fen"], shipped)
            discount = max(0, line_total_fen(ln["unit_price_fen"], shipped) - value)
            totals["discount"] += discount
            if shipped == ln["qty"]:
                continue
            rest_fen += int(ln["line_total_fen"]) - value
            changes.append(f"{ln['sku_code']}: {ln['qty']} → {shipped} {ln['unit']}")
            await OrderLine.update(
                {
                    OrderLine.qty: shipped,
                    OrderLine.qty_backordered: 0,
                    OrderLine.line_total_fen: value,
                    OrderLine.discount_fen: discount,
                }
            ).where(OrderLine.id == ln["id"])
        await Order.update(
            {
                Order.total_fen: totals["total"],
                Order.list_total_fen: totals["list"],
                Order.discount_fen: totals["discount"],
                Order.updated_at: now,
            }
        ).where(Order.id == order_id)
        await fetch(
            "UPDATE dealer SET open_orders_fen = open_orders_fen - {} WHERE id = {}",
            rest_fen,
            dealer["id"],
        )
        note = reason + "\n" + "; ".join(changes)
        await transition(
            order_id,
            "partially_shipped",
            "shipped",
            actor=actor,
            kind="remainder_closed",
            note=note,
            now=now,
        )
        await audit.record(
            actor,
            "order.remainder_closed",
            "order",
            order_id,
            {
                "status": "partially_shipped",
                "lines": {str(ln["id"]): ln["qty"] for ln in lines},
                "total_fen": sum(int(ln["line_total_fen"]) for ln in lines),
                "dealer_open_orders_fen": dealer["open_orders_fen"],
            },
            {
                "status": "shipped",
                "lines": {str(ln["id"]): ln["qty_shipped"] for ln in lines},
                "total_fen": totals["total"],
                "reason": reason,
                "dealer_open_orders_fen": dealer["open_orders_fen"] - rest_fen,
            },
            now=now,
        )
        await notifications.tell(order_id, "remainder_closed", actor=actor, now=now, note=reason)
    return await get_order(actor, order_id)
