"""Dealer credit: exposure, available credit, the tolerance over the limit and the checks on
submit.

exposure = ledger balance owed + open orders not yet invoiced; available = limit - exposure.
An order passes when its total fits in available credit plus the tolerance, and, for a
dealer whose overdue policy is "block", when nothing is overdue.

The tolerance is the greatest of four figures: the amount and the percentage of the limit
finance set for the dealer, and the amount and the percentage the supplier allows every
dealer (its settings, portal.domain.supplier.credit_tolerance). Every check takes the
supplier's as an argument, so no caller can leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.domain import ledger
from portal.domain.errors import CreditExceeded, _
from portal.domain.money import format_yuan, from_fen, percent_of, to_fen


class OverdueBlocked(CreditExceeded):
    """The dealer's overdue policy is "block" and invoices are unpaid past their terms.

    A CreditExceeded (a refusal on credit grounds), with its own problem type; `extra`
    carries the overdue amount as an exact decimal string.
    """

    type = "overdue-blocked"
    title = _("Orders are on hold for overdue invoices.")


@dataclass(frozen=True)
class Tolerance:
    """How far over a dealer's credit limit the supplier lets any dealer's orders go: an
    amount, and a share of the dealer's limit in basis points; the greater applies."""

    amount_fen: int = 0
    bp: int = 0


NO_TOLERANCE = Tolerance()


def exposure_fen(dealer: dict) -> int:
    return int(dealer["balance_fen"] or 0) + int(dealer["open_orders_fen"] or 0)


def available_fen(dealer: dict) -> int:
    """Credit left before the limit (may be negative when the dealer is already over it)."""
    return int(dealer["credit_limit_fen"] or 0) - exposure_fen(dealer)


def tolerance_fen(dealer: dict, supplier: Tolerance) -> int:
    """How far over the limit an order may go: the greatest of the dealer's amount, the
    dealer's share of its limit, the supplier's amount and the supplier's share. The
    supplier-wide amount is for dealers given credit: one with no limit (a new dealer, until
    finance sets one) is not lent it by a setting meant for everyone else."""
    limit = int(dealer["credit_limit_fen"] or 0)
    return max(
        int(dealer.get("credit_tolerance_fen") or 0),
        to_fen(percent_of(limit, int(dealer.get("credit_tolerance_bp") or 0))),
        supplier.amount_fen if limit > 0 else 0,
        to_fen(percent_of(limit, supplier.bp)),
        0,
    )


def ceiling_fen(dealer: dict, supplier: Tolerance) -> int:
    """The highest exposure the dealer may reach: limit plus tolerance."""
    return int(dealer["credit_limit_fen"] or 0) + tolerance_fen(dealer, supplier)


def fits(dealer: dict, order_total_fen: int, supplier: Tolerance) -> bool:
    return exposure_fen(dealer) + order_total_fen <= ceiling_fen(dealer, supplier)


def check_credit(dealer: dict, order_total_fen: int, supplier: Tolerance) -> None:
    """CreditExceeded with the figures when the order does not fit in the dealer's credit.

    The message shows available credit (without the tolerance, which is the supplier's
    grace, not the dealer's money) and the order total, formatted as ¥ amounts; `extra`
    carries the same figures as exact decimal strings for the API.
    """
    if fits(dealer, order_total_fen, supplier):
        return
    available = available_fen(dealer)
    grace = tolerance_fen(dealer, supplier)
    params = {"available": format_yuan(available), "total": format_yuan(order_total_fen)}
    message = _("Available credit %(available)s, this order %(total)s.")
    if grace:
        # Otherwise an order smaller than a negative "available" would read as a mistake.
        message = _(
            "Available credit %(available)s (and %(tolerance)s allowed over the limit), "
            "this order %(total)s."
        )
        params["tolerance"] = format_yuan(grace)
    raise CreditExceeded(
        message,
        params,
        extra={
            "available": str(from_fen(available)),
            "order_total": str(from_fen(order_total_fen)),
            "credit_limit": str(from_fen(int(dealer["credit_limit_fen"] or 0))),
            "exposure": str(from_fen(exposure_fen(dealer))),
            "tolerance": str(from_fen(grace)),
        },
    )


async def check_overdue_policy(dealer: dict, *, now: datetime) -> None:
    """OverdueBlocked when the dealer's policy blocks orders and anything is overdue.

    Called inside the use case's transaction with the locked dealer row, wherever an order
    is (re)submitted; a dealer on the default "warn" policy costs no query.
    """
    if (dealer.get("overdue_policy") or "warn") != "block":
        return
    overdue = await ledger.dealer_overdue_fen(dealer, now=now)
    if overdue <= 0:
        return
    raise OverdueBlocked(
        _("%(overdue)s is overdue. New orders are on hold until the overdue invoices are paid."),
        {"overdue": format_yuan(overdue)},
        extra={"overdue": str(from_fen(overdue))},
    )
