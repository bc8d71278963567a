"""The acting user and what they may see, expressed as filters inside queries.

Every domain function takes the Actor first. Something outside the actor's scope is
reported exactly like something that does not exist (NotFound -> 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw

from portal.db import fetch, row_by_id
from portal.domain.errors import Forbidden, NotFound, _
from portal.tables import Dealer, RepAssignment, User, Warehouse, WarehouseStaff

DEALER_ROLES = frozenset({"dealer_admin", "dealer_buyer"})
STAFF_ROLES = frozenset({"sales_rep", "sales_manager", "finance", "warehouse", "admin"})
# Roles that see every dealer.
ALL_DEALER_ROLES = frozenset({"finance", "warehouse", "admin"})
# Warehouse staff see the orders they ship from every dealer, but no dealer's account: its
# credit, ledger, statements, users and addresses (DESIGN gives them "orders to ship").
ACCOUNT_BLIND_ROLES = frozenset({"warehouse"})
# Roles that may put an order together and submit it.
ORDERING_ROLES = frozenset({"dealer_admin", "dealer_buyer", "sales_rep", "sales_manager", "admin"})


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    name: str
    dealer_id: int | None = None
    locale: str = "zh_Hans"
    discount_authority_bp: int = 0
    # Signed in by an integration key (portal.domain.api_keys), not a password session.
    via_key: bool = False

    @property
    def is_dealer(self) -> bool:
        return self.role in DEALER_ROLES

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def can_order(self) -> bool:
        return self.role in ORDERING_ROLES


def actor_from_user(user: dict, *, via_key: bool = False) -> Actor:
    """Build an Actor from a portal_user row (as a dict)."""
    return Actor(
        user_id=user["id"],
        role=user["role"],
        name=user["display_name"],
        dealer_id=user.get("dealer"),
        locale=user.get("locale") or "zh_Hans",
        discount_authority_bp=user.get("discount_authority_bp") or 0,
        via_key=via_key,
    )


async def visible_dealer_ids(actor: Actor) -> list[int] | None:
    """The dealers the actor may see; None means every dealer."""
    if actor.is_dealer:
        return [actor.dealer_id] if actor.dealer_id else []
    if actor.role in ALL_DEALER_ROLES:
        return None
    if actor.role == "sales_rep":
        rows = await RepAssignment.select(RepAssignment.dealer).where(
            RepAssignment.rep == actor.user_id
        )
        return [r["dealer"] for r in rows]
    if actor.role == "sales_manager":
        reps = await User.select(User.id).where(User.manager == actor.user_id)
        rep_ids = [r["id"] for r in reps]
        if not rep_ids:
            return []
        rows = await RepAssignment.select(RepAssignment.dealer).where(
            RepAssignment.rep.is_in(rep_ids)
        )
        return [r["dealer"] for r in rows]
    return []


def visible_dealers_sql(actor: Actor, column: str) -> tuple[str, list[Any]] | None:
    """visible_dealer_ids as a condition inside a statement ({} placeholders, with its
    arguments): `column` holds a dealer the actor may see. None means every dealer. The same
    rule in one statement, where reading the ids first would be a round trip of its own (two
    for a manager): the bell on every page counts through it."""
    if actor.is_dealer:
        return f"{column} = {{}}", [actor.dealer_id or -1]
    if actor.role in ALL_DEALER_ROLES:
        return None
    if actor.role == "sales_rep":
        return (
            f'{column} IN (SELECT ra.dealer FROM "rep_assignment" ra WHERE ra.rep = {{}})',
            [actor.user_id],
        )
    if actor.role == "sales_manager":
        return (
            f'{column} IN (SELECT ra.dealer FROM "rep_assignment" ra '
            'JOIN "portal_user" r ON r.id = ra.rep WHERE r.manager = {})',
            [actor.user_id],
        )
    return "1 = 0", []


async def dealer_managers(dealer_ids: Sequence[int]) -> dict[int, int]:
    """The active sales manager who has each dealer in scope (the manager of its rep), by
    dealer id. A dealer missing from the result has none (no rep, a rep without a manager,
    or an inactive one): a manager's approval step for its orders goes to finance instead,
    so that every step has someone who can see the order and decide it."""
    ids = sorted({int(i) for i in dealer_ids})
    if not ids:
        return {}
    rows = await fetch(
        "SELECT ra.dealer AS dealer, m.id AS manager FROM rep_assignment ra "
        "JOIN portal_user r ON r.id = ra.rep JOIN portal_user m ON m.id = r.manager "
        "WHERE m.role = 'sales_manager' AND m.active = {} AND ra.dealer IN ("
        + ", ".join("{}" for _i in ids)
        + ")",
        True,
        *ids,
    )
    return {int(r["dealer"]): int(r["manager"]) for r in rows}


async def decides_step(actor: Actor, step_role: str, dealer_id: int) -> bool:
    """Whether the actor's role decides an approval step of `step_role` on an order of the
    dealer: its own role's steps, and finance a manager's step no manager can decide."""
    if actor.role == step_role:
        return True
    return (
        actor.role == "finance"
        and step_role == "sales_manager"
        and dealer_id not in await dealer_managers([dealer_id])
    )


def in_scope(column, ids: list[int] | None):
    """A where-clause restricting a dealer-id column to the visible ids (None: no limit)."""
    if ids is None:
        return column.is_not_null()
    if not ids:
        return column == -1
    return column.is_in(ids)


async def dealer_in_scope(actor: Actor, dealer_id: int) -> dict:
    """The dealer row if the actor may see it; NotFound otherwise (same as nonexistent).

    Warehouse staff see no dealer's account (ACCOUNT_BLIND_ROLES), only its orders."""
    if actor.role in ACCOUNT_BLIND_ROLES:
        raise NotFound(_("Dealer not found."))
    ids = await visible_dealer_ids(actor)
    row = None if ids is not None and dealer_id not in ids else await row_by_id(Dealer, dealer_id)
    if row is None:
        raise NotFound(_("Dealer not found."))
    return row


async def ordering_dealer(actor: Actor, dealer_id: int | None) -> dict:
    """The dealer an order is placed for: a dealer user's own, or one a rep may order for."""
    if not actor.can_order:
        raise Forbidden(_("Your role cannot place orders."))
    if actor.is_dealer and dealer_id is None:
        dealer_id = actor.dealer_id  # naming another dealer is out of scope: 404 below
    if dealer_id is None:
        raise NotFound(_("Choose a dealer first."))
    dealer = await dealer_in_scope(actor, dealer_id)
    if not dealer["active"]:
        raise Forbidden(_("This dealer account is inactive."))
    return dealer


async def row_in_scope(
    actor: Actor, table: Any, row_id: int, columns: Sequence[Any], missing: str
) -> dict:
    """One row of a dealer-owned table (its `dealer` column) if the actor may see that dealer.

    Out of scope raises NotFound with `missing`, exactly as if the row did not exist.
    """
    ids = await visible_dealer_ids(actor)
    row = (
        await table.select(*columns)
        .where(table.id == row_id)
        .where(in_scope(table.dealer, ids))
        .first()
    )
    if row is None:
        raise NotFound(missing)
    return row


# --- warehouse staff's warehouses -------------------------------------------------------------


async def staff_warehouses(actor: Actor) -> list[int] | None:
    """The warehouses a warehouse user works in; None for every warehouse (a warehouse user
    given none, and every other role)."""
    if actor.role != "warehouse":
        return None
    rows = await WarehouseStaff.select(WarehouseStaff.warehouse).where(
        WarehouseStaff.user == actor.user_id
    )
    return sorted(r["warehouse"] for r in rows) or None


async def working_warehouses(actor: Actor) -> list[dict]:
    """The active warehouses (id, code, name) the actor may ship from, pick in and receive
    into, in reservation preference order (priority, then id): a warehouse user's own when
    they were given some, else all."""
    rows = await (
        Warehouse.select(Warehouse.id, Warehouse.code, Warehouse.name)
        .where(Warehouse.active.eq(True))
        .order_by(Warehouse.priority)
        .order_by(Warehouse.id)
    )
    mine = await staff_warehouses(actor)
    return rows if mine is None else [w for w in rows if w["id"] in mine]


async def stock_warehouses(actor: Actor) -> list[dict]:
    """Every warehouse (id, code, name, active) whose stock the actor reads, paused ones too
    (they keep their stock): the stock list's warehouse filter."""
    rows = await (
        Warehouse.select(Warehouse.id, Warehouse.code, Warehouse.name, Warehouse.active)
        .order_by(Warehouse.active, ascending=False)
        .order_by(Warehouse.priority)
        .order_by(Warehouse.id)
    )
    mine = await staff_warehouses(actor)
    return rows if mine is None else [w for w in rows if w["id"] in mine]


async def require_staff_warehouse(actor: Actor, warehouse_id: int) -> None:
    """NotFound for a warehouse outside the warehouse user's own (as one that does not exist)."""
    ids = await staff_warehouses(actor)
    if ids is not None and str(warehouse_id).strip() not in {str(i) for i in ids}:
        raise NotFound(_("Warehouse not found."))


def orders_in_warehouses(ids: list[int] | None) -> WhereRaw:
    """A where-clause on sales_order: orders with something reserved in, shipped from, or
    whose dealer defaults to one of the warehouses (ids are integers of ours); None: no
    limit, as in_scope."""
    if ids is None:
        return WhereRaw("1 = 1")
    listed = ", ".join(str(int(i)) for i in ids)
    return WhereRaw(
        '(sales_order.id IN (SELECT ol."order" FROM order_line ol JOIN reservation r '
        f"ON r.order_line = ol.id WHERE r.warehouse IN ({listed})) "
        'OR sales_order.id IN (SELECT sh."order" FROM shipment sh '
        f"WHERE sh.warehouse IN ({listed})) "
        "OR sales_order.dealer IN (SELECT d.id FROM dealer d "
        f"WHERE d.default_warehouse IN ({listed})))"
    )
