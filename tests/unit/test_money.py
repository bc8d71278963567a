"""Typed amounts: what parse_amount accepts, and that absurd ones never reach fen arithmetic."""

from decimal import Decimal

import pytest

from portal.domain.money import parse_amount, to_fen


@pytest.mark.parametrize(
    "text, fen",
    [("1,234.5", 123450), ("¥12", 1200), ("￥0.05", 5), ("999999999999999.99", 99999999999999999)],
)
def test_amounts_people_type(text, fen):
    assert to_fen(parse_amount(text)) == fen


@pytest.mark.parametrize(
    "text", ["9" * 16, "9" * 30, "1e30", "1E+15", "12.345", "abc", "NaN", "Infinity", ""]
)
def test_nonsense_and_absurd_amounts_are_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_zero_and_negative_parse_for_the_caller_to_judge():
    assert parse_amount("0") == Decimal(0) and parse_amount("-5") == Decimal(-5)
