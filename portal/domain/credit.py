"""Dealer credit: exposure, available credit, the supplier's tolerance and the checks on submit.

exposure = ledger balance owed + open orders not yet invoiced; available = limit - exposure.
An order passes when its total fits in available credit plus the tolerance, and, for a
dealer whose overdue policy is "block", when nothing is overdue.
"""

from __future__ import annotations

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


def exposure_fen(dealer: dict) -> int:
    return int(dealer["balance_fen"] or 0) + int(dealer["open_orders_fen"] or 0)


def available_fen(dealer: dict) -> int:
    """Credit left before the limit (may be negative when the dealer is already over it)."""
    return int(dealer["credit_limit_fen"] or 0) - exposure_fen(dealer)


def tolerance_fen(dealer: dict) -> int:
    """How far over the limit an order may go: the greater of an amount and a share of it."""
    amount = int(dealer.get("credit_tolerance_fen") or 0)
    share = to_fen(
        percent_of(
            int(dealer["credit_limit_fen"] or 0), int(dealer.get("credit_tolerance_bp") or 0)
        )
    )
    return max(amount, share, 0)


def ceiling_fen(dealer: dict) -> int:
    """The highest exposure the dealer may reach: limit plus tolerance."""
    return int(dealer["credit_limit_fen"] or 0) + tolerance_fen(dealer)


def fits(dealer: dict, order_total_fen: int) -> bool:
    return exposure_fen(dealer) + order_total_fen <= ceiling_fen(dealer)


def check_credit(dealer: dict, order_total_fen: int) -> None:
    """CreditExceeded with the figures when the order does not fit in the dealer's credit.

    The message shows available credit (without the tolerance, which is the supplier's
    grace, not the dealer's money) and the order total, formatted as ¥ amounts; `extra`
    carries the same figures as exact decimal strings for the API.
    """
    if fits(dealer, order_total_fen):
        return
    available = available_fen(dealer)
    raise CreditExceeded(
        _("Available credit %(available)s, this order %(total)s."),
        {"available": format_yuan(available), "total": format_yuan(order_total_fen)},
        extra={
            "available": str(from_fen(available)),
            "order_total": str(from_fen(order_total_fen)),
            "credit_limit": str(from_fen(int(dealer["credit_limit_fen"] or 0))),
            "exposure": str(from_fen(exposure_fen(dealer))),
            "tolerance": str(from_fen(tolerance_fen(dealer))),
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
