"""Price resolution rules, labels and money properties (pure: no database)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import i18n
from portal.domain import money
from portal.domain.pricing import (
    RULE_BASE,
    RULE_CONTRACT,
    RULE_TIER,
    RULE_VOLUME,
    NextBreak,
    PriceInputs,
    bracket,
    next_break_label,
    resolve,
    rule_label,
)
from portal.domain.promotions import PercentOff

BASE = PriceInputs(
    sku_id=1,
    base_price_fen=200,
    base_unit="瓶",
    pack_name="箱",
    pack_factor=24,
    tier_name="一级经销商",
    tier_price_fen=None,
    tier_percent_bp=None,
    breaks=(),
    contract_price_fen=None,
)
TIER = replace(BASE, tier_price_fen=180)
BREAKS = replace(TIER, breaks=((240, 170), (1200, 160)))


@pytest.fixture(autouse=True)
def english():
    i18n.set_locale("en")
    yield
    i18n.set_locale(i18n.DEFAULT_LOCALE)


CASES = [
    # (inputs, qty, unit price, rule, params subset)
    (BASE, 1, 200, RULE_BASE, {}),
    (TIER, 1, 180, RULE_TIER, {"tier": "一级经销商"}),
    (replace(BASE, tier_percent_bp=8500), 1, 170, RULE_TIER, {"percent_bp": 8500}),
    # 199 x 85 % = 169.15 fen -> 169 (rounded once, half-up)
    (replace(BASE, base_price_fen=199, tier_percent_bp=8500), 1, 169, RULE_TIER, {}),
    # half-fen cases round up, never to even
    (replace(BASE, base_price_fen=1, tier_percent_bp=5000), 1, 1, RULE_TIER, {}),
    (replace(BASE, base_price_fen=3, tier_percent_bp=5000), 1, 2, RULE_TIER, {}),
    (replace(BASE, base_price_fen=5, tier_percent_bp=5000), 1, 3, RULE_TIER, {}),
    (replace(BASE, base_price_fen=10, tier_percent_bp=500), 1, 1, RULE_TIER, {}),
    (replace(BASE, base_price_fen=10, tier_percent_bp=449), 1, 0, RULE_TIER, {}),
    # a fixed tier price wins over a percentage on the same entry
    (replace(TIER, tier_percent_bp=5000), 1, 180, RULE_TIER, {}),
    # break boundaries: min-1 / min / min+1
    (BREAKS, 239, 180, RULE_TIER, {}),
    (BREAKS, 240, 170, RULE_VOLUME, {"min_qty": 240, "pack": "箱", "packs": 10}),
    (BREAKS, 241, 170, RULE_VOLUME, {"min_qty": 240, "packs": 10}),
    (BREAKS, 1199, 170, RULE_VOLUME, {"min_qty": 240}),
    (BREAKS, 1200, 160, RULE_VOLUME, {"min_qty": 1200, "packs": 50}),
    (BREAKS, 99999, 160, RULE_VOLUME, {"min_qty": 1200}),
    # breaks apply even when the tier lists no price of its own
    (replace(BASE, breaks=((100, 150),)), 100, 150, RULE_VOLUME, {"min_qty": 100, "unit": "瓶"}),
    (replace(BASE, breaks=((100, 150),)), 99, 200, RULE_BASE, {}),
    # a break as written, even above the tier price (DESIGN: break before tier price)
    (replace(TIER, breaks=((10, 190),)), 10, 190, RULE_VOLUME, {}),
    # contract wins over everything
    (replace(BREAKS, contract_price_fen=150), 1, 150, RULE_CONTRACT, {}),
    (replace(BREAKS, contract_price_fen=175), 5000, 175, RULE_CONTRACT, {}),
    (replace(BASE, contract_price_fen=0), 1, 0, RULE_CONTRACT, {}),
    # no pack unit: break quantity said in base units
    (replace(BREAKS, pack_name=None, pack_factor=None), 240, 170, RULE_VOLUME, {"unit": "瓶"}),
    # a break that is not whole packs: base units
    (replace(TIER, breaks=((100, 170),)), 100, 170, RULE_VOLUME, {"unit": "瓶"}),
]


@pytest.mark.parametrize(("inputs", "qty", "price", "rule", "params"), CASES)
def test_resolve_table(inputs, qty, price, rule, params):
    q = resolve(inputs, qty)
    assert (q.unit_price_fen, q.rule) == (price, rule)
    assert type(q.unit_price_fen) is int
    assert q.list_price_fen == inputs.base_price_fen
    for key, value in params.items():
        assert q.rule_params[key] == value
    if rule == RULE_VOLUME and "unit" in params:
        assert "packs" not in q.rule_params


def test_next_break_is_the_next_one_above_the_quantity():
    assert resolve(BREAKS, 100).next_break == NextBreak(140, 240, 170, "瓶", "箱", 24)
    assert resolve(BREAKS, 239).next_break.more_qty == 1
    nb = resolve(BREAKS, 240).next_break
    assert (nb.min_qty, nb.more_qty, nb.unit_price_fen) == (1200, 960, 160)
    assert resolve(BREAKS, 1200).next_break is None
    assert resolve(TIER, 1).next_break is None


def test_no_next_break_on_a_contract_price():
    assert resolve(replace(BREAKS, contract_price_fen=150), 1).next_break is None


def test_unsorted_breaks_are_sorted():
    inputs = replace(TIER, breaks=((1200, 160), (240, 170)))
    assert resolve(inputs, 300).unit_price_fen == 170
    assert resolve(inputs, 300).next_break.min_qty == 1200


def test_negative_quantity_is_refused():
    with pytest.raises(ValueError):
        resolve(BASE, -1)


def test_line_total_uses_money():
    q = resolve(replace(BASE, base_price_fen=199, tier_percent_bp=8500), 3)
    assert q.line_total_fen(3) == 507


def test_rule_labels_in_english():
    assert rule_label(RULE_CONTRACT, {}) == "Contract price"
    assert rule_label(RULE_BASE, {}) == "List price"
    assert rule_label(RULE_TIER, {"tier": "一级经销商"}) == "一级经销商 price"
    assert resolve(BREAKS, 240).label == "一级经销商 price, from 10 箱"
    assert rule_label(RULE_VOLUME, {"tier": "终端", "min_qty": 100, "unit": "瓶"}) == (
        "终端 price, from 100 瓶"
    )


def test_rule_label_translates_when_the_catalog_has_it():
    i18n.set_locale("zh_Hans")
    # Whatever the catalog holds, the parameters are filled in and no msgid leaks a %.
    label = resolve(BREAKS, 240).label
    assert "10" in label and "箱" in label and "一级经销商" in label and "%" not in label


def test_next_break_label_in_packs_or_units():
    price = i18n.money(170)
    nb = resolve(BREAKS, 144).next_break  # 96 more = 4 箱
    assert next_break_label(nb) == f"4 more 箱 → {price}/瓶"
    nb = resolve(BREAKS, 100).next_break  # 140 more: not whole packs
    assert next_break_label(nb) == f"140 more 瓶 → {price}/瓶"
    bare = NextBreak(more_qty=48, min_qty=240, unit_price_fen=170)
    assert next_break_label(bare, "瓶", "箱", 24) == f"2 more 箱 → {price}/瓶"
    assert "1.70" in price


# --- properties ---------------------------------------------------------------------------

fen = st.integers(min_value=0, max_value=10_000_000)
qty = st.integers(min_value=0, max_value=100_000)


@st.composite
def price_inputs(draw):
    breaks = draw(st.dictionaries(st.integers(1, 5000), fen, max_size=4))
    factor = draw(st.one_of(st.none(), st.integers(1, 48)))
    return PriceInputs(
        sku_id=draw(st.integers(1, 10**6)),
        base_price_fen=draw(fen),
        base_unit="瓶",
        pack_name="箱" if factor else None,
        pack_factor=factor,
        tier_name="二级经销商",
        tier_price_fen=draw(st.one_of(st.none(), fen)),
        tier_percent_bp=draw(st.one_of(st.none(), st.integers(0, 20000))),
        breaks=tuple(sorted(breaks.items())),
        contract_price_fen=draw(st.one_of(st.none(), fen)),
    )


@given(price_inputs(), qty)
def test_any_quote_is_whole_fen_and_never_negative(inputs, n):
    q = resolve(inputs, n)
    assert type(q.unit_price_fen) is int and q.unit_price_fen >= 0
    assert type(q.list_price_fen) is int
    assert type(q.line_total_fen(n)) is int and q.line_total_fen(n) >= 0
    assert q.rule in (RULE_CONTRACT, RULE_VOLUME, RULE_TIER, RULE_BASE)
    if q.next_break is not None:
        assert q.next_break.more_qty > 0 and type(q.next_break.unit_price_fen) is int


@given(price_inputs(), qty, fen)
def test_contract_always_wins(inputs, n, contract):
    q = resolve(replace(inputs, contract_price_fen=contract), n)
    assert (q.unit_price_fen, q.rule, q.next_break) == (contract, RULE_CONTRACT, None)


@given(price_inputs(), qty)
def test_resolution_order(inputs, n):
    q = resolve(inputs, n)
    reached = [p for m, p in inputs.breaks if n >= m]
    if inputs.contract_price_fen is not None:
        assert q.unit_price_fen == inputs.contract_price_fen
    elif reached:
        assert q.unit_price_fen == reached[-1]
    elif inputs.tier_price_fen is not None:
        assert q.unit_price_fen == inputs.tier_price_fen
    elif inputs.tier_percent_bp is not None:
        exact = Decimal(inputs.base_price_fen) * inputs.tier_percent_bp / 10000
        assert abs(Decimal(q.unit_price_fen) - exact) <= Decimal("0.5")
    else:
        assert q.unit_price_fen == inputs.base_price_fen


@given(st.lists(st.tuples(price_inputs(), st.integers(1, 100_000)), min_size=1, max_size=20))
def test_order_total_is_the_sum_of_rounded_lines(lines):
    quotes = [(resolve(inputs, n), n) for inputs, n in lines]
    line_totals = [q.line_total_fen(n) for q, n in quotes]
    assert all(type(t) is int for t in line_totals)
    # Each line rounds once, half-up, from exact Decimal arithmetic ...
    for (q, n), total in zip(quotes, line_totals, strict=True):
        exact = money.from_fen(q.unit_price_fen) * Decimal(n)
        assert total == money.to_fen(money.round_fen(exact))
    # ... and the order total is the plain integer sum of those lines.
    order_total = sum(line_totals)
    assert type(order_total) is int
    assert money.from_fen(order_total) == sum((money.from_fen(t) for t in line_totals), Decimal(0))


@given(fen, st.integers(0, 20000))
def test_percentage_price_rounds_half_up_once(base, bp):
    q = resolve(replace(BASE, base_price_fen=base, tier_percent_bp=bp), 1)
    exact = Decimal(base) * Decimal(bp) / Decimal(10000)
    floor = int(exact)
    assert q.unit_price_fen == (floor + 1 if exact - floor >= Decimal("0.5") else floor)


def test_a_promotion_on_a_percentage_price_rounds_once():
    # ¥0.35 × 85 % × 85 % = ¥0.252875 → ¥0.25, rounded once. Rounding the tier price first
    # (¥0.2975 → ¥0.30) and then the promotion (¥0.255 → ¥0.26) would round twice.
    promo = PercentOff(promo_id=1, name="春季", off_bp=1500)
    inputs = replace(BASE, base_price_fen=35, tier_percent_bp=8500, promo=promo)
    q = resolve(inputs, 1)
    assert q.rule == "promotion"
    assert q.unit_price_fen == 25
    assert q.rule_params["before_fen"] == 30  # the tier price as the dealer sees it
    # A fixed price is already in fen: the promotion rounds it once.
    fixed = resolve(replace(TIER, tier_price_fen=30, promo=promo), 1)
    assert fixed.unit_price_fen == 26


def test_quantities_in_the_same_bracket_share_it_whatever_the_promotion():
    def of(inputs: PriceInputs, qty: int) -> tuple:
        q = resolve(inputs, qty)
        return bracket(q.rule, q.rule_params)

    sale = replace(BREAKS, promo=PercentOff(promo_id=7, name="九折", off_bp=1000))
    assert of(BREAKS, 240) == of(BREAKS, 1199) == of(sale, 241) == (RULE_VOLUME, 240)
    assert of(BREAKS, 1200) == (RULE_VOLUME, 1200) != of(BREAKS, 1199)
    assert of(BREAKS, 1) == of(sale, 239) == (RULE_TIER, None)
    assert of(replace(BREAKS, contract_price_fen=150), 1200) == (RULE_CONTRACT, None)
