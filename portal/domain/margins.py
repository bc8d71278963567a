"""Gross margin at the supplier's cost: who sees costs, and an order's margin by line and in all.

DESIGN, Approvals: an approver opens the order "to see lines, margins, the dealer's credit and
history". A SKU's cost (sku.cost_price_fen, per base unit) is read when the order is looked
at, not kept on the order: a placed order keeps its prices, and its margin follows the cost an
administrator last gave. A SKU without a cost is left out of the sums and counted, so the
approver reads "cost unknown for 2 lines" rather than a margin that looks better than it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from portal.domain.money import line_total_fen
from portal.domain.scope import Actor
from portal.tables import Sku

if TYPE_CHECKING:
    from portal.domain.orders import OrderView

# Approvers and administrators. Never a dealer's people, never warehouse staff, and never a
# sales rep: the supplier's cost would tell a rep how far a discount could go.
COST_ROLES = frozenset({"sales_manager", "finance", "admin"})


def sees_costs(actor: Actor) -> bool:
    """Whether the actor may see what SKUs cost the supplier, and margins made from it."""
    return actor.role in COST_ROLES


def _share(part: int, whole: int, per: int, places: Decimal) -> Decimal | None:
    """part ÷ whole × per, rounded half away from zero to `places`; None when there is no
    whole to measure against (a gift: nothing is charged for it)."""
    if not whole:
        return None
    return (Decimal(part) * per / Decimal(whole)).quantize(places, rounding=ROUND_HALF_UP)


def _bp(part: int | None, whole: int) -> int | None:
    share = None if part is None else _share(part, whole, 10000, Decimal(1))
    return None if share is None else int(share)


def _percent(part: int | None, whole: int) -> Decimal | None:
    """To a tenth of a percent (23.4), rounded once from the amounts (not from _bp)."""
    return None if part is None else _share(part, whole, 100, Decimal("0.1"))


@dataclass(frozen=True)
class CostedLine:
    """What a margin is made of: an order line's quantity and total, and the unit cost of its
    SKU now (None: not known)."""

    line_id: int
    qty: int  # base units
    line_total_fen: int  # what the dealer pays for it, after its share of the order's saving
    unit_cost_fen: int | None


@dataclass(frozen=True)
class LineMargin:
    line_total_fen: int
    cost_fen: int | None  # unit cost × quantity; None: the SKU's cost is not known

    @property
    def known(self) -> bool:
        return self.cost_fen is not None

    @property
    def margin_fen(self) -> int | None:
        """The line's total less its cost: negative for a gift (nothing charged, all cost)."""
        return None if self.cost_fen is None else self.line_total_fen - self.cost_fen

    @property
    def margin_bp(self) -> int | None:
        """The margin in basis points of the line's total; None for a gift or no cost."""
        return _bp(self.margin_fen, self.line_total_fen)

    @property
    def margin_percent(self) -> Decimal | None:
        return _percent(self.margin_fen, self.line_total_fen)


@dataclass(frozen=True)
class OrderMargin:
    """An order's gross margin over the lines whose SKU has a cost; the others are counted."""

    lines: dict[int, LineMargin] = field(default_factory=dict)  # by order line id

    @property
    def _known(self) -> list[LineMargin]:
        return [ln for ln in self.lines.values() if ln.known]

    @property
    def known(self) -> bool:
        """Whether any line has a cost (otherwise there is no margin to show)."""
        return bool(self._known)

    @property
    def cost_unknown_lines(self) -> int:
        return sum(1 for ln in self.lines.values() if not ln.known)

    @property
    def line_total_fen(self) -> int:
        """What the dealer pays for the lines that have a cost."""
        return sum(ln.line_total_fen for ln in self._known)

    @property
    def cost_fen(self) -> int | None:
        known = self._known
        return sum(ln.cost_fen or 0 for ln in known) if known else None

    @property
    def margin_fen(self) -> int | None:
        cost = self.cost_fen
        return None if cost is None else self.line_total_fen - cost

    @property
    def margin_bp(self) -> int | None:
        """In basis points of what the costed lines bring in; None if they bring in nothing."""
        return _bp(self.margin_fen, self.line_total_fen)

    @property
    def margin_percent(self) -> Decimal | None:
        return _percent(self.margin_fen, self.line_total_fen)


def measure(lines: Iterable[CostedLine]) -> OrderMargin:
    """The margin of these lines at their unit costs (exact fen: a cost is a whole fen per
    base unit, so cost × quantity needs no rounding). A line with nothing left to ship or
    bill (quantity 0: the rest was not shipped) costs nothing, known or not."""
    measured = {}
    for ln in lines:
        if ln.qty == 0:
            cost: int | None = 0
        elif ln.unit_cost_fen is None:
            cost = None
        else:
            cost = line_total_fen(ln.unit_cost_fen, ln.qty)
        measured[ln.line_id] = LineMargin(line_total_fen=ln.line_total_fen, cost_fen=cost)
    return OrderMargin(lines=measured)


async def unit_costs(sku_ids: Sequence[int]) -> dict[int, int | None]:
    """The current unit cost of each of these SKUs (None: not known), in one query."""
    wanted = sorted(set(sku_ids))
    if not wanted:
        return {}
    rows = await Sku.select(Sku.id, Sku.cost_price_fen).where(Sku.id.is_in(wanted))
    return {r["id"]: r["cost_price_fen"] for r in rows}


async def order_margin(actor: Actor, view: OrderView) -> OrderMargin | None:
    """The order's gross margin at today's costs for an actor who sees costs; None for anyone
    else (the pages and the API then show nothing of it). `view` is already in scope."""
    if not sees_costs(actor):
        return None
    costs = await unit_costs([ln.sku_id for ln in view.lines])
    return measure(
        CostedLine(ln.id, ln.qty, ln.line_total_fen, costs.get(ln.sku_id)) for ln in view.lines
    )
