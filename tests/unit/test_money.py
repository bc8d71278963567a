"""Typed amounts: what parse_amount accepts, and that absurd ones never reach fen arithmetic."""

from decimal import Decimal

import pytest

from portal.domain.money import parse_amount, percent_bp, to_fen


@pytest.mark.parametrize(
    "text, fen",
    [
        ("1,234.5", 123450),
        ("12,345", 1234500),
        ("1,234,567.89", 123456789),
        ("¥ 1，234.50", 123450),
        ("¥12", 1200),
        ("￥0.05", 5),
        ("999999999999999.99", 99999999999999999),
    ],
)
def test_amounts_people_type(text, fen):
    assert to_fen(parse_amount(text)) == fen


@pytest.mark.parametrize(
    "text",
    ["9" * 16, "9" * 30, "1e30", "1E+15", "12.345", "abc", "NaN", "Infinity", "", "1e3", "1_000"],
)
def test_nonsense_and_absurd_amounts_are_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize("text", ["3,20", "1,2", "1,00", "12,34.5", ",123", "1,234,56", "1,,234"])
def test_a_comma_that_groups_no_thousands_is_refused_not_dropped(text):
    """ "3,20" is a decimal comma or a slip: read as 320 it would raise a price a hundredfold."""
    with pytest.raises(ValueError):
        parse_amount(text)


def test_zero_and_negative_parse_for_the_caller_to_judge():
    assert parse_amount("0") == Decimal(0) and parse_amount("-5") == Decimal(-5)


@pytest.mark.parametrize("text", ["1e1", "5_0", "NaN", "Infinity", "", "五"])
def test_percentages_are_plain_numbers(text):
    assert percent_bp(text) is None
    assert percent_bp("2.5%") == 250 and percent_bp(" 100 ") == 10_000
