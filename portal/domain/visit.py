"""The dealer card a rep opens on a customer visit: credit, open and last orders, top SKUs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from portal.domain import credit, dealers, ledger, stock, supplier
from portal.domain.orders import OPEN_STATUSES
from portal.domain.scope import Actor, dealer_in_scope
from portal.tables import Address, Order, OrderLine, RepAssignment, Tier

LAST_ORDERS = 5
TOP_SKUS = 10


@dataclass
class TopSku:
    sku_id: int
    code: str
    name: str
    unit: str
    qty: int
    last_bought_at: datetime | None
    # What is free to sell now, over the active warehouses (staff see the figure): the rep
    # knows at the door whether the dealer's usual products can be had.
    available: int = 0


@dataclass
class VisitCard:
    id: int
    code: str
    name: str
    region: str
    tier_name: str
    phone: str
    credit_limit_fen: int
    exposure_fen: int
    available_fen: int
    over_credit_policy: str
    rep_name: str
    rep_id: int | None = None
    rep_active: bool = True  # a deactivated rep visits nobody: the dealer needs another
    flagged_for_review: bool = False
    can_flag: bool = False
    active: bool = True
    tolerance_fen: int = 0  # how far an order may go past the limit (credit.tolerance_fen)
    overdue_fen: int = 0  # owed past the payment terms
    overdue_policy: str = "warn"  # "block": no new orders while anything is overdue
    open_orders: list[dict] = field(default_factory=list)
    last_orders: list[dict] = field(default_factory=list)
    top_skus: list[TopSku] = field(default_factory=list)
    addresses: list[dict] = field(default_factory=list)

    @property
    def orders_blocked(self) -> bool:
        return self.overdue_policy == "block" and self.overdue_fen > 0


def _as_datetime(value) -> datetime | None:
    if isinstance(value, str):  # SQLite hands an aggregate of timestamps back as text
        return datetime.fromisoformat(value)
    return value


@dataclass
class DealerAccount:
    """What an approver reads beside an order: the dealer's credit and recent orders."""

    id: int
    credit_limit_fen: int
    exposure_fen: int
    available_fen: int
    open_orders: list[dict] = field(default_factory=list)
    last_orders: list[dict] = field(default_factory=list)
    overdue_fen: int = 0  # owed past the payment terms


async def _orders_of(dealer_id: int) -> tuple[list[dict], list[dict]]:
    """The dealer's open orders (at most 20) and its last LAST_ORDERS orders, newest first."""
    columns = (Order.id, Order.number, Order.status, Order.total_fen, Order.created_at)
    open_orders = (
        await Order.select(*columns)
        .where((Order.dealer == dealer_id) & Order.status.is_in(list(OPEN_STATUSES)))
        .order_by(Order.created_at, ascending=False)
        .order_by(Order.id, ascending=False)
        .limit(20)
    )
    last_orders = (
        await Order.select(*columns)
        .where(Order.dealer == dealer_id)
        .order_by(Order.created_at, ascending=False)
        .order_by(Order.id, ascending=False)
        .limit(LAST_ORDERS)
    )
    return open_orders, last_orders


async def dealer_account(actor: Actor, dealer_id: int) -> DealerAccount:
    """The dealer's credit and recent orders (the order page's part of the visit card);
    NotFound outside scope."""
    dealer = await dealer_in_scope(actor, dealer_id)
    open_orders, last_orders = await _orders_of(dealer_id)
    return DealerAccount(
        id=dealer["id"],
        credit_limit_fen=int(dealer["credit_limit_fen"] or 0),
        exposure_fen=credit.exposure_fen(dealer),
        available_fen=credit.available_fen(dealer),
        open_orders=open_orders,
        last_orders=last_orders,
        overdue_fen=await ledger.dealer_overdue_fen(dealer, now=datetime.now(UTC)),
    )


async def visit_card(actor: Actor, dealer_id: int) -> VisitCard:
    """Everything a rep wants on one screen at the dealer's door; NotFound outside scope."""
    dealer = await dealer_in_scope(actor, dealer_id)
    tier = await Tier.select(Tier.name).where(Tier.id == dealer["tier"]).first()
    rep = (
        await RepAssignment.select(
            RepAssignment.rep,
            RepAssignment.rep.display_name.as_alias("name"),
            RepAssignment.rep.active.as_alias("rep_active"),
        )
        .where(RepAssignment.dealer == dealer_id)
        .first()
    )
    open_orders, last_orders = await _orders_of(dealer_id)
    top = await OrderLine.raw(
        "SELECT l.sku AS sku_id, MAX(l.sku_code) AS code, MAX(l.sku_name) AS name, "
        "MAX(l.unit) AS unit, SUM(l.qty) AS qty, MAX(o.created_at) AS last_at "
        'FROM order_line l JOIN sales_order o ON o.id = l."order" '
        "WHERE o.dealer = {} AND o.status NOT IN ('rejected', 'cancelled') "
        "AND l.price_rule <> 'gift' "  # what the dealer bought, not what came free
        "GROUP BY l.sku ORDER BY SUM(l.qty) DESC, l.sku LIMIT {}",
        dealer_id,
        TOP_SKUS,
    )
    free = await stock.availability_by_sku([int(r["sku_id"]) for r in top])
    addresses = (
        await Address.select()
        .where(Address.dealer == dealer_id)
        .order_by(Address.is_default, ascending=False)
        .order_by(Address.id)
    )
    return VisitCard(
        id=dealer["id"],
        code=dealer["code"],
        name=dealer["name"],
        region=dealer["region"] or "",
        tier_name=tier["name"] if tier else "",
        phone=dealer["contact_phone"] or "",
        credit_limit_fen=int(dealer["credit_limit_fen"] or 0),
        exposure_fen=credit.exposure_fen(dealer),
        available_fen=credit.available_fen(dealer),
        over_credit_policy=dealer["over_credit_policy"] or "block",
        tolerance_fen=credit.tolerance_fen(dealer, await supplier.credit_tolerance()),
        overdue_fen=await ledger.dealer_overdue_fen(dealer, now=datetime.now(UTC)),
        overdue_policy=dealer.get("overdue_policy") or "warn",
        rep_name=rep["name"] if rep else "",
        rep_id=rep["rep"] if rep else None,
        rep_active=bool(rep["rep_active"]) if rep and rep["rep"] else True,
        flagged_for_review=bool(dealer.get("flagged_for_review")),
        can_flag=actor.role in dealers.FLAGGING_ROLES,
        active=bool(dealer["active"]),
        open_orders=open_orders,
        last_orders=last_orders,
        top_skus=[
            TopSku(
                sku_id=int(r["sku_id"]),
                code=r["code"],
                name=r["name"],
                unit=r["unit"],
                qty=int(r["qty"]),
                last_bought_at=_as_datetime(r["last_at"]),
                available=free.get(int(r["sku_id"]), 0),
            )
            for r in top
        ],
        addresses=addresses,
    )
