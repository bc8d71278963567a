"""Quantity rules: whole numbers, units (箱 -> 瓶), MOQ, order multiple, quick-order parsing."""

import pytest

from portal.domain.errors import ValidationFailed
from portal.domain.quantities import (
    MAX_LINE_QTY,
    MAX_QUICK_ORDER_LINES,
    LineRequest,
    check_line,
    in_packs,
    parse_qty,
    parse_quick_order,
    to_base_units,
)


@pytest.mark.parametrize("text,expected", [("12", 12), (" 7 ", 7), ("0", 0), ("１２", 12)])
def test_parse_qty_accepts_whole_numbers(text, expected):
    assert parse_qty(text) == expected


@pytest.mark.parametrize(
    "text", ["1.5", "-3", "abc", "", "1e9", "+3", "1,000", "12箱", " ", str(MAX_LINE_QTY + 1)]
)
def test_parse_qty_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_qty(text)


def test_packs_convert_to_base_units():
    packs = {"箱": 24}
    assert to_base_units(2, "箱", base_unit="瓶", packs=packs) == 48
    assert to_base_units(5, "瓶", base_unit="瓶", packs=packs) == 5
    assert to_base_units(5, None, base_unit="瓶", packs=packs) == 5


def test_an_unknown_unit_is_refused_by_name():
    with pytest.raises(ValidationFailed) as err:
        to_base_units(2, "托", base_unit="瓶", packs={"箱": 24})
    assert err.value.params == {"unit": "托"}
    assert err.value.errors[0].field == "unit"


def test_a_valid_line_has_no_errors():
    assert check_line("A100", 12, moq=6, order_multiple=6) == []
    assert check_line("A100", 1, moq=1, order_multiple=1) == []


def test_below_moq_names_the_sku_and_the_minimum():
    errors = check_line("A100", 4, moq=6, order_multiple=1)
    assert len(errors) == 1
    assert "%(moq)s" in errors[0].message and "%(sku)s" in errors[0].message
    assert errors[0].params["sku"] == "A100" and errors[0].params["moq"] == 6
    assert (errors[0].message % errors[0].params).startswith("A100")


def test_off_multiple_names_the_sku_and_the_multiple():
    errors = check_line("B200", 13, moq=1, order_multiple=6)
    assert [e.params["multiple"] for e in errors] == [6]
    assert "%(multiple)s" in errors[0].message


def test_both_rules_broken_gives_two_errors():
    errors = check_line("C300", 5, moq=12, order_multiple=6)
    messages = {e.message for e in errors}
    assert len(errors) == 2 and any("%(moq)s" in m for m in messages)


@pytest.mark.parametrize("qty", [0, -1])
def test_non_positive_quantities_are_refused(qty):
    errors = check_line("A100", qty, moq=1, order_multiple=1)
    assert len(errors) == 1 and errors[0].params["sku"] == "A100"


def test_upper_bound():
    assert check_line("A100", MAX_LINE_QTY, moq=1, order_multiple=1) == []
    errors = check_line("A100", MAX_LINE_QTY + 1, moq=1, order_multiple=1)
    assert errors and errors[0].params["max"] == MAX_LINE_QTY


def test_field_name_can_be_chosen():
    assert check_line("A", 1, moq=2, order_multiple=1, field="lines[3]")[0].field == "lines[3]"


def test_line_request_defaults():
    line = LineRequest(qty=3, sku_code="A100")
    assert line.sku_id is None and line.unit is None


def test_quick_order_separators_and_units():
    text = "A100 12\nB200\t2 箱\nC300,6\n\nD400　3\nE500 2箱\nF600;4"
    lines, errors = parse_quick_order(text)
    assert errors == []
    assert lines == [
        (1, "A100", 12, None),
        (2, "B200", 2, "箱"),
        (3, "C300", 6, None),
        (5, "D400", 3, None),
        (6, "E500", 2, "箱"),
        (7, "F600", 4, None),
    ]


def test_quick_order_full_width_digits_and_comma():
    lines, errors = parse_quick_order("A100，１２")
    assert errors == [] and lines == [(1, "A100", 12, None)]


def test_quick_order_reports_each_bad_line_and_keeps_the_good_ones():
    text = "A100 12\nB200\nC300 1.5\nD400 -3\nE500 0\nF600 abc\nG700 6"
    lines, errors = parse_quick_order(text)
    assert [ln[1] for ln in lines] == ["A100", "G700"]
    assert [e.field for e in errors] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    for e in errors:
        assert "%(line)s" in e.message
        e.message % e.params  # every message renders with its params


def test_quick_order_refuses_an_enormous_paste():
    text = "\n".join(f"A{i} 1" for i in range(MAX_QUICK_ORDER_LINES + 1))
    lines, errors = parse_quick_order(text)
    assert lines == [] and errors[0].field == "text"


def test_quick_order_empty_text():
    assert parse_quick_order("") == ([], [])
    assert parse_quick_order("  \n \n") == ([], [])


@pytest.mark.parametrize(
    "qty,pack,expected",
    [
        (28, ("箱", 24), "1 箱 + 4 罐"),
        (48, ("箱", 24), "2 箱"),
        (23, ("箱", 24), ""),  # not a full pack: the base quantity says it all
        (48, (None, None), ""),
        (48, ("件", 1), ""),
    ],
)
def test_in_packs(qty, pack, expected):
    assert in_packs(qty, "罐", *pack) == expected
