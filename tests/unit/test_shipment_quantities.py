"""What a parcel holds, as the order page says it: per unit, never one sum across units."""

from types import SimpleNamespace

from portal.domain.shipments import ShipmentView


def holds(*lines: tuple[int, str]) -> list[tuple[int, str]]:
    parcel = SimpleNamespace(lines=[SimpleNamespace(qty=q, unit=u) for q, u in lines])
    return ShipmentView.qty_by_unit.fget(parcel)


def test_a_parcel_of_two_units_says_both():
    assert holds((120, "包"), (36, "袋"), (24, "包")) == [(144, "包"), (36, "袋")]


def test_a_parcel_of_one_unit_says_it_once():
    assert holds((5, "箱"), (3, "箱")) == [(8, "箱")]
    assert holds() == []
