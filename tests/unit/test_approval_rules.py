"""Approval rule evaluation (orders.approvals_needed): a table of cases and a property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.credit import NO_TOLERANCE
from portal.domain.orders import PricedLine, Rule, StepNeeded, approvals_needed, discount_beyond
from portal.domain.scope import Actor

REP = Actor(user_id=7, role="sales_rep", name="rep", discount_authority_bp=500)
BUYER = Actor(user_id=8, role="dealer_buyer", name="buyer", dealer_id=1)


def dealer(limit=1_000_000, balance=0, open_orders=0, flagged=False, policy="approval"):
    return {
        "id": 1,
        "credit_limit_fen": limit,
        "balance_fen": balance,
        "open_orders_fen": open_orders,
        "credit_tolerance_fen": 0,
        "credit_tolerance_bp": 0,
        "over_credit_policy": policy,
        "flagged_for_review": flagged,
    }


BIG = Rule("total_at_least", "sales_manager", 10, amount_fen=500_000, id=1)
OVER = Rule("over_credit", "finance", 20, id=2)
DISC = Rule("discount_beyond_authority", "sales_manager", 5, id=3)
FIRST = Rule("first_orders", "sales_manager", 10, count=2, id=4)
FLAG = Rule("dealer_flagged", "finance", 30, id=5)
ALL = [BIG, OVER, DISC, FIRST, FLAG]
AT_PRICE = [PricedLine(1000, 1000, 10)]
FOUR_OFF = [PricedLine(960, 1000, 10)]  # 4 % below the dealer's price
SIX_OFF = [PricedLine(940, 1000, 10)]  # 6 % below


@pytest.mark.parametrize(
    ("rules", "d", "total", "lines", "actor", "previous", "expected"),
    [
        ([], dealer(), 10_000, AT_PRICE, REP, 10, []),
        (ALL, dealer(), 10_000, AT_PRICE, REP, 10, []),
        (ALL, dealer(), 499_999, AT_PRICE, REP, 10, []),
        (ALL, dealer(), 500_000, AT_PRICE, REP, 10, [("sales_manager", "total_at_least")]),
        (ALL, dealer(), 10_000, FOUR_OFF, REP, 10, []),
        (ALL, dealer(), 10_000, SIX_OFF, REP, 10, [("sales_manager", "discount_beyond_authority")]),
        # A rep with more authority: 6 % is within it.
        (
            ALL,
            dealer(),
            10_000,
            SIX_OFF,
            Actor(1, "sales_rep", "r", discount_authority_bp=800),
            10,
            [],
        ),
        (ALL, dealer(), 10_000, AT_PRICE, BUYER, 0, [("sales_manager", "first_orders")]),
        (ALL, dealer(), 10_000, AT_PRICE, BUYER, 1, [("sales_manager", "first_orders")]),
        (ALL, dealer(), 10_000, AT_PRICE, BUYER, 2, []),
        (ALL, dealer(flagged=True), 10_000, AT_PRICE, BUYER, 5, [("finance", "dealer_flagged")]),
        (ALL, dealer(limit=5_000), 10_000, AT_PRICE, BUYER, 5, [("finance", "over_credit")]),
        # Over credit with no over_credit rule: finance is still asked (the policy says so).
        ([BIG], dealer(limit=5_000), 10_000, AT_PRICE, BUYER, 5, [("finance", "over_credit")]),
        # Several rules: in step order, one step per role; over-credit names the finance step.
        (
            ALL,
            dealer(limit=100_000, flagged=True),
            600_000,
            SIX_OFF,
            REP,
            0,
            [("sales_manager", "discount_beyond_authority"), ("finance", "over_credit")],
        ),
        (
            [FLAG, BIG],
            dealer(flagged=True),
            600_000,
            AT_PRICE,
            REP,
            5,
            [("sales_manager", "total_at_least"), ("finance", "dealer_flagged")],
        ),
        # An inactive kind of rule is never passed in; an unknown kind never matches.
        ([Rule("nonsense", "finance")], dealer(), 10, AT_PRICE, REP, 0, []),
    ],
)
def test_rule_cases(rules, d, total, lines, actor, previous, expected):
    steps = approvals_needed(
        rules, d, total, lines, actor, previous, tolerance=NO_TOLERANCE, placer_role=actor.role
    )
    assert [(s.role, s.rule_kind) for s in steps] == expected


def test_discount_beyond_exactly_at_authority_is_within():
    assert not discount_beyond(PricedLine(950, 1000, 1), 500)
    assert discount_beyond(PricedLine(949, 1000, 1), 500)
    assert not discount_beyond(PricedLine(1100, 1000, 1), 0)  # above the price: no discount
    assert not discount_beyond(PricedLine(0, 0, 1), 0)


rules_st = st.lists(
    st.builds(
        Rule,
        kind=st.sampled_from(
            [
                "total_at_least",
                "over_credit",
                "discount_beyond_authority",
                "first_orders",
                "dealer_flagged",
            ]
        ),
        approver_role=st.sampled_from(["sales_manager", "finance"]),
        step_order=st.integers(-5, 5),
        amount_fen=st.integers(0, 10_000_000),
        count=st.integers(0, 5),
        id=st.integers(1, 1000),
    ),
    max_size=6,
)


@given(
    rules=rules_st,
    limit=st.integers(0, 10_000_000),
    total=st.integers(0, 10_000_000),
    price=st.integers(0, 2000),
    authority=st.integers(0, 10_000),
    previous=st.integers(0, 10),
    flagged=st.booleans(),
)
def test_rule_properties(rules, limit, total, price, authority, previous, flagged):
    actor = Actor(1, "sales_rep", "r", discount_authority_bp=authority)
    d = dealer(limit=limit, flagged=flagged)
    steps = approvals_needed(
        rules,
        d,
        total,
        [PricedLine(price, 1000, 3)],
        actor,
        previous,
        tolerance=NO_TOLERANCE,
        placer_role=actor.role,
    )
    roles = [s.role for s in steps]
    # One step per role, only the two approving roles.
    assert len(roles) == len(set(roles)) and set(roles) <= {"sales_manager", "finance"}
    # Over credit always waits for finance, and the finance step says why.
    over = total > limit
    assert (StepNeeded("finance", "over_credit") in steps) == over
    # No matching rule and within credit: approved on submission.
    if not rules and not over:
        assert steps == []
    # Adding rules never removes a step (monotone).
    fewer = approvals_needed(
        rules[:-1],
        d,
        total,
        [PricedLine(price, 1000, 3)],
        actor,
        previous,
        tolerance=NO_TOLERANCE,
        placer_role=actor.role,
    )
    assert {s.role for s in fewer} <= set(roles)


def test_an_order_a_manager_placed_never_waits_for_a_manager():
    rules = [Rule("total_at_least", "sales_manager", amount_fen=1)]
    manager = Actor(2, "sales_manager", "m")
    mine = approvals_needed(
        rules,
        dealer(),
        10,
        AT_PRICE,
        manager,
        0,
        tolerance=NO_TOLERANCE,
        placer_role="sales_manager",
    )
    assert [(s.role, s.rule_kind) for s in mine] == [("finance", "total_at_least")]
    # The manager adjusting a rep's order still decides it.
    theirs = approvals_needed(
        rules, dealer(), 10, AT_PRICE, manager, 0, tolerance=NO_TOLERANCE, placer_role="sales_rep"
    )
    assert [(s.role, s.rule_kind) for s in theirs] == [("sales_manager", "total_at_least")]
