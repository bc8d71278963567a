"""Credit: exposure, available credit, tolerance and the refusal with figures."""

import pytest

from portal.domain import credit
from portal.domain.errors import CreditExceeded

NONE = credit.NO_TOLERANCE


def dealer(limit=1_000_000, balance=0, open_orders=0, tol_fen=0, tol_bp=0) -> dict:
    return {
        "id": 1,
        "credit_limit_fen": limit,
        "balance_fen": balance,
        "open_orders_fen": open_orders,
        "credit_tolerance_fen": tol_fen,
        "credit_tolerance_bp": tol_bp,
    }


def test_exposure_and_available():
    d = dealer(limit=2_000_000, balance=300_000, open_orders=470_000)
    assert credit.exposure_fen(d) == 770_000
    assert credit.available_fen(d) == 1_230_000


def test_tolerance_is_the_greater_of_amount_and_share():
    assert credit.tolerance_fen(dealer(limit=1_000_000, tol_fen=5_000, tol_bp=100), NONE) == 10_000
    assert credit.tolerance_fen(dealer(limit=1_000_000, tol_fen=50_000, tol_bp=100), NONE) == 50_000
    assert credit.tolerance_fen(dealer(), NONE) == 0
    # 0.05 % of ¥333.33 is 16.6665 fen: rounded half-up once, to 17 fen.
    assert credit.tolerance_fen(dealer(limit=33_333, tol_bp=5), NONE) == 17


def test_an_order_exactly_at_the_limit_passes():
    credit.check_credit(dealer(limit=1_000_000, balance=400_000), 600_000, NONE)


def test_an_order_one_fen_over_is_refused_with_the_figures():
    d = dealer(limit=2_000_000, balance=500_000, open_orders=270_000)
    with pytest.raises(CreditExceeded) as err:
        credit.check_credit(d, 1_500_000, NONE)
    e = err.value
    assert e.type == "credit-exceeded" and e.status == 422
    assert e.params == {"available": "¥12,300.00", "total": "¥15,000.00"}
    assert e.extra["available"] == "12300.00" and e.extra["order_total"] == "15000.00"
    assert str(e) == "Available credit ¥12,300.00, this order ¥15,000.00."
    with pytest.raises(CreditExceeded):
        credit.check_credit(dealer(limit=1_000_000), 1_000_001, NONE)


def test_tolerance_lets_an_order_go_over_by_that_much_and_no_more():
    d = dealer(limit=1_000_000, tol_bp=500)  # 5 % = ¥500.00
    credit.check_credit(d, 1_050_000, NONE)
    with pytest.raises(CreditExceeded) as err:
        credit.check_credit(d, 1_050_001, NONE)
    assert err.value.extra["tolerance"] == "500.00"


def test_a_dealer_already_over_shows_negative_available():
    d = dealer(limit=100_000, balance=150_000)
    with pytest.raises(CreditExceeded) as err:
        credit.check_credit(d, 1, NONE)
    assert err.value.params["available"] == "-¥500.00"
    assert err.value.extra["available"] == "-500.00"


def test_a_zero_total_never_needs_credit():
    credit.check_credit(dealer(limit=0), 0, NONE)


def test_the_supplier_tolerance_counts_when_it_is_the_greatest():
    d = dealer(limit=1_000_000, tol_fen=5_000, tol_bp=100)  # the dealer's: ¥100.00
    assert credit.tolerance_fen(d, credit.Tolerance(amount_fen=20_000)) == 20_000
    assert credit.tolerance_fen(d, credit.Tolerance(bp=300)) == 30_000  # 3 % of ¥10,000.00
    assert credit.tolerance_fen(d, credit.Tolerance(amount_fen=1_000, bp=50)) == 10_000
    supplier = credit.Tolerance(amount_fen=20_000, bp=100)
    credit.check_credit(d, 1_020_000, supplier)
    with pytest.raises(CreditExceeded) as err:
        credit.check_credit(d, 1_020_001, supplier)
    assert err.value.extra["tolerance"] == "200.00"
    # A dealer given no limit gets no supplier-wide amount (below), but its share still
    # counts for one with a limit: 1 % of ¥100.00 is less than the ¥200.00 amount.
    assert credit.fits(dealer(limit=10_000), 30_000, supplier)
    assert not credit.fits(dealer(limit=10_000), 30_001, supplier)


def test_a_dealer_with_no_limit_is_not_lent_the_supplier_wide_amount():
    """A supplier-wide ¥1,000 tolerance let a new dealer (no limit yet) order ¥604.80 on
    credit nobody gave it; its own tolerance, set by finance, still counts."""
    supplier = credit.Tolerance(amount_fen=100_000)
    assert credit.tolerance_fen(dealer(limit=0), supplier) == 0
    with pytest.raises(CreditExceeded):
        credit.check_credit(dealer(limit=0), 60_480, supplier)
    assert credit.tolerance_fen(dealer(limit=0, tol_fen=5_000), supplier) == 5_000
    assert credit.tolerance_fen(dealer(limit=1), supplier) == 100_000
