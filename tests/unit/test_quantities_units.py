"""A quantity box's text with a unit ("5箱"), units matched as typed on a phone, the refusal that
names a SKU's units, and the "+1 箱" step kept to the MOQ and the order multiple."""

import pytest

from portal.domain.errors import ValidationFailed
from portal.domain.quantities import (
    MAX_LINE_QTY,
    QtyTooLarge,
    offers_pack_step,
    pack_step,
    parse_qty,
    parse_qty_unit,
    to_base_units,
)

PACKS = {"箱": 24, "件": 6}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("48", (48, None)),
        (" 48 ", (48, None)),
        ("5箱", (5, "箱")),
        ("5 箱", (5, "箱")),
        ("5\u3000箱", (5, "箱")),  # a full-width space
        ("５箱", (5, "箱")),  # full-width digits
        ("2件", (2, "件")),
        ("48瓶", (48, "瓶")),
        ("3 box", (3, "box")),
        ("0", (0, None)),
    ],
)
def test_a_quantity_may_carry_its_unit(text, expected):
    assert parse_qty_unit(text) == expected


@pytest.mark.parametrize(
    "text", ["", "箱", "5箱4瓶", "5 箱 4", "-5箱", "1.5箱", "5,箱", "+5", "5箱!", "五箱"]
)
def test_anything_else_is_not_a_quantity(text):
    with pytest.raises(ValueError):
        parse_qty_unit(text)


def test_too_large_is_told_apart_from_not_a_number():
    with pytest.raises(QtyTooLarge):
        parse_qty_unit(f"{MAX_LINE_QTY + 1}箱")
    with pytest.raises(QtyTooLarge):
        parse_qty(str(MAX_LINE_QTY + 1))
    with pytest.raises(ValueError) as err:
        parse_qty_unit("abc")
    assert not isinstance(err.value, QtyTooLarge)


def test_units_match_as_typed_on_a_phone():
    assert to_base_units(2, "Box", base_unit="pc", packs={"box": 12}) == 24
    assert to_base_units(2, "ＢＯＸ", base_unit="pc", packs={"box": 12}) == 24
    assert to_base_units(5, "PC", base_unit="pc", packs={"box": 12}) == 5
    assert to_base_units(2, "件", base_unit="瓶", packs=PACKS) == 12


def test_an_unknown_unit_names_the_units_the_sku_has():
    with pytest.raises(ValidationFailed) as err:
        to_base_units(2, "吨", base_unit="瓶", packs=PACKS)
    assert err.value.params == {"unit": "吨"}
    (field,) = err.value.errors
    assert field.field == "unit"
    assert field.params == {"unit": "吨", "units": "瓶, 件 (= 6 瓶), 箱 (= 24 瓶)"}
    assert "%(units)s" in field.message
    with pytest.raises(ValidationFailed) as err:
        to_base_units(2, "箱", base_unit="袋", packs={})
    assert err.value.errors[0].params["units"] == "袋"


@pytest.mark.parametrize(
    "qty,pack,first,multiple,expected",
    [
        (0, 24, 1, 1, 24),  # one case
        (24, 24, 1, 1, 48),
        (30, 24, 1, 1, 54),  # a case more, not "to the next whole case"
        (0, 24, 6, 6, 24),  # a case is a multiple of 6
        (0, 24, 50, 1, 50),  # below the MOQ: the first allowed quantity, as + does
        (0, 24, 30, 10, 30),
        (30, 24, 30, 10, 60),  # 54 rounds up to the multiple of 10
    ],
)
def test_one_more_pack_keeps_the_moq_and_the_multiple(qty, pack, first, multiple, expected):
    assert pack_step(qty, pack, first=first, order_multiple=multiple) == expected


def test_one_more_pack_is_offered_only_where_plus_does_not_already_step_it():
    assert offers_pack_step(24, 1)
    assert offers_pack_step(24, 6)
    assert not offers_pack_step(6, 6)
    assert not offers_pack_step(None, 1)
    # A case of 12 sold in 5s: no whole case a step could add (typing "1箱" is refused too).
    assert not offers_pack_step(12, 5)
    assert not offers_pack_step(24, 10)
    assert not offers_pack_step(1, 1)
