"""Money: Decimal in code, integer fen in storage; conversion and rounding live only here."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
HUNDRED = Decimal(100)
BP = Decimal(10000)  # basis points in one whole
# A number as people type one: "12", "-3", "12.50", ".5" (no exponent, no underscores).
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# Thousands grouped by commas, as the pages show amounts: "1,234.50", "12,345". A comma
# anywhere else ("3,20": a decimal comma, or a slip of the thumb) is not an amount: dropping
# it would read ¥3.20 as ¥320.
GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def to_fen(amount: Decimal) -> int:
    """Yuan (Decimal) to integer fen, rounding half-up once."""
    if not isinstance(amount, Decimal):
        raise TypeError("money must be Decimal, never float")
    return int((amount * HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_fen(fen: int) -> Decimal:
    """Integer fen to yuan as an exact Decimal with two places."""
    return (Decimal(int(fen)) / HUNDRED).quantize(FEN)


def round_fen(amount: Decimal) -> Decimal:
    """Round a yuan amount half-up to the fen."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def percent_of(fen: int, basis_points: int) -> Decimal:
    """basis_points / 10000 of an amount in fen, as unrounded yuan."""
    return from_fen(fen) * Decimal(basis_points) / BP


def line_total_fen(unit_price_fen: int, qty: int) -> int:
    """A line's total: unit price x quantity, rounded half-up to the fen once."""
    return to_fen(round_fen(from_fen(unit_price_fen) * Decimal(qty)))


MAX_AMOUNT_DIGITS = 15  # yuan digits before the point: ¥999,999,999,999,999.99 at most


def parse_amount(text: str) -> Decimal:
    """A user-typed yuan amount ("1,234.5", "¥12") to Decimal; ValueError if it is not one.

    Digits with an optional sign and decimal point only: Decimal alone would also take
    "1e3", "1_000", "NaN" and "Infinity", which nobody types as an amount of money."""
    cleaned = text.strip().replace("¥", "").replace("￥", "").replace("，", ",").strip()
    if GROUPED_NUMBER.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    if not PLAIN_NUMBER.fullmatch(cleaned):
        raise ValueError(text)
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise ValueError(text)
    if value and value.adjusted() >= MAX_AMOUNT_DIGITS:
        raise ValueError(text)  # beyond any real amount (and beyond exact fen arithmetic)
    return value


def format_yuan(fen: int) -> str:
    """Plain ¥1,234.50 (locale-aware formatting for pages lives in portal.i18n)."""
    value = from_fen(fen)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.2f}"


def amount_fen(text: str | Decimal) -> int | None:
    """An amount as typed ("1,234.50", "¥12") in fen, or None if it is not one or below zero."""
    try:
        fen = to_fen(parse_amount(str(text)))
    except ValueError:
        return None
    return fen if fen >= 0 else None


def percent_bp(text: str, *, zero_ok: bool = False) -> int | None:
    """A percentage as typed ("85", "92.5", "85%") in basis points, from 0.01 % (0 with
    zero_ok) to 100 %, or None if it is not one."""
    cleaned = str(text).strip().rstrip("%").strip()
    if not PLAIN_NUMBER.fullmatch(cleaned):
        return None
    try:
        bp = Decimal(cleaned) * 100
    except (ArithmeticError, ValueError):
        return None
    lowest = 0 if zero_ok else 1
    if not bp.is_finite() or bp != bp.to_integral_value() or not lowest <= bp <= 10_000:
        return None
    return int(bp)


def percent_text(bp: int) -> str:
    """Basis points as the percentage an administrator types: 8500 → "85", 9250 → "92.5"."""
    return format((Decimal(bp) / 100).normalize(), "f")
