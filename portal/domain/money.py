"""Money: Decimal in code, integer fen in storage; conversion and rounding live only here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
HUNDRED = Decimal(100)
BP = Decimal(10000)  # basis points in one whole


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
    """A user-typed yuan amount ("1,234.5", "¥12") to Decimal; ValueError if it is not one."""
    cleaned = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
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
