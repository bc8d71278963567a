"""The dealer ledger: payments, credit notes, terms, overdue invoices, statements.

dealer.balance_fen equals the sum of its ledger entries after every operation.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.domain import credit, ledger, shipments
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import AuditEntry, Dealer, LedgerEntry
from tests import factories as f
from tests.db.test_shipments import (
    NOW,
    approved_order,
    assert_ledger_balanced,
    dealer_row,
    fulfil_world,
)


async def ship_all(w, order) -> int:
    line = order["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk,
            order["id"],
            warehouse_id=w.wh1["id"],
            quantities={line["id"]: line["qty"]},
            now=NOW,
        )
    ).shipment
    return (await shipments.ship(w.clerk, sh.id, now=NOW)).id


async def test_opening_balance_then_invoice_payment_credit_note(db):
    w = await fulfil_world(balance_fen=50_000)
    # Not yet touched: the statement shows the balance as an opening line.
    st = await ledger.statement(w.finance, w.dealer["id"], now=NOW)
    assert st.closing_fen == 50_000
    assert [e.kind for e in st.entries] == ["opening"]

    o = await approved_order(w, qty=10)
    await ship_all(w, o)
    await assert_ledger_balanced(w.dealer["id"])
    kinds = [
        (e["kind"], e["amount_fen"])
        for e in await LedgerEntry.select()
        .where(LedgerEntry.dealer == w.dealer["id"])
        .order_by(LedgerEntry.id)
    ]
    assert kinds == [("opening", 50_000), ("invoice", 2000)]

    entry = await ledger.record_payment(
        w.finance, w.dealer["id"], amount="300.50", method="bank", reference="BK-1", now=NOW
    )
    assert entry.amount_fen == -30_050 and entry.kind == "payment"
    await assert_ledger_balanced(w.dealer["id"])
    await ledger.record_credit_note(
        w.finance, w.dealer["id"], amount=Decimal("10"), note="价格更正", now=NOW
    )
    await assert_ledger_balanced(w.dealer["id"])
    d = await dealer_row(w)
    assert d["balance_fen"] == 50_000 + 2000 - 30_050 - 1000
    actions = [a["action"] for a in await AuditEntry.select(AuditEntry.action)]
    assert "ledger.payment" in actions and "ledger.credit_note" in actions


async def test_payment_refusals_write_nothing(db):
    w = await fulfil_world()
    for amount in ("abc", "-5", "0", "1.234", ""):
        with pytest.raises(ValidationFailed) as exc:
            await ledger.record_payment(
                w.finance, w.dealer["id"], amount=amount, method="bank", now=NOW
            )
        assert exc.value.errors[0].field == "amount"
    with pytest.raises(ValidationFailed):
        await ledger.record_payment(w.finance, w.dealer["id"], amount="5", method="gold")
    with pytest.raises(Forbidden):
        await ledger.record_payment(w.clerk, w.dealer["id"], amount="5", method="bank")
    with pytest.raises(Forbidden):
        await ledger.record_payment(w.buyer, w.dealer["id"], amount="5", method="bank")
    with pytest.raises(ValidationFailed):
        await ledger.record_credit_note(w.finance, w.dealer["id"], amount="5", note=" ")
    assert await LedgerEntry.count() == 0
    assert (await dealer_row(w))["balance_fen"] == 0


async def test_credit_terms_are_audited_and_feed_the_credit_check(db):
    w = await fulfil_world()
    d = await ledger.set_credit_terms(
        w.finance, w.dealer["id"], credit_limit="5000", payment_terms_days="45", now=NOW
    )
    assert d["credit_limit_fen"] == 500_000 and d["payment_terms_days"] == 45
    assert credit.available_fen(d) == 500_000
    audit = await AuditEntry.select().where(AuditEntry.action == "dealer.credit_terms").first()
    assert audit is not None
    with pytest.raises(ValidationFailed) as exc:
        await ledger.set_credit_terms(
            w.finance, w.dealer["id"], credit_limit="x", payment_terms_days="-1"
        )
    assert {e.field for e in exc.value.errors} == {"credit_limit", "payment_terms_days"}
    with pytest.raises(Forbidden):
        await ledger.set_credit_terms(
            w.buyer, w.dealer["id"], credit_limit="1", payment_terms_days="1"
        )


async def test_overdue_invoices_fifo(db):
    w = await fulfil_world()
    await Dealer.update({Dealer.payment_terms_days: 10}).where(Dealer.id == w.dealer["id"])
    o1 = await approved_order(w, qty=10, key="a")  # ¥20
    await ship_all(w, o1)
    o2 = await approved_order(w, qty=5, key="b")  # ¥10
    await ship_all(w, o2)
    later = NOW + timedelta(days=11)
    assert await ledger.overdue_fen(w.finance, w.dealer["id"], now=NOW) == 0
    assert await ledger.overdue_fen(w.finance, w.dealer["id"], now=later) == 3000
    await ledger.record_payment(w.finance, w.dealer["id"], amount="25", method="cash", now=NOW)
    # The payment settles the oldest invoice first: ¥5 of the second is still open.
    assert await ledger.overdue_fen(w.finance, w.dealer["id"], now=later) == 500
    st = await ledger.statement(w.buyer, w.dealer["id"], now=later)
    assert st.overdue_fen == 500 and [e.kind for e in st.overdue] == ["invoice"]


async def test_statement_for_a_period(db):
    w = await fulfil_world(balance_fen=1000)
    o = await approved_order(w, qty=10)
    await ship_all(w, o)  # 2026-11-25
    await ledger.record_payment(
        w.finance, w.dealer["id"], amount="5", method="bank", now=NOW + timedelta(days=10)
    )
    st = await ledger.statement(
        w.buyer,
        w.dealer["id"],
        start=date(2026, 12, 1),
        end=date(2026, 12, 31),
        now=NOW + timedelta(days=20),
    )
    assert st.opening_fen == 1000 + 2000
    assert [e.kind for e in st.entries] == ["payment"]
    assert st.paid_fen == 500 and st.closing_fen == 2500
    with pytest.raises(ValidationFailed):
        await ledger.statement(
            w.buyer, w.dealer["id"], start=date(2026, 12, 2), end=date(2026, 12, 1)
        )


async def test_statement_scope(db):
    w = await fulfil_world()
    other = await f.dealer(w.tier)
    stranger = f.actor(await f.user("dealer_buyer", other))
    with pytest.raises(NotFound):
        await ledger.statement(stranger, w.dealer["id"], now=NOW)
    rep = f.actor(await f.user("sales_rep"))
    with pytest.raises(NotFound):
        await ledger.statement(rep, w.dealer["id"], now=NOW)


async def test_dealer_accounts_for_finance(db):
    w = await fulfil_world()
    await Dealer.update({Dealer.payment_terms_days: 5}).where(Dealer.id == w.dealer["id"])
    other = await f.dealer(w.tier, name="乙经销商")
    o = await approved_order(w, qty=10)
    await ship_all(w, o)
    later = NOW + timedelta(days=6)
    accounts = await ledger.dealer_accounts(w.finance, now=later)
    by_id = {a.dealer_id: a for a in accounts}
    assert by_id[w.dealer["id"]].overdue_fen == 2000 and by_id[other["id"]].overdue_fen == 0
    overdue = await ledger.dealer_accounts(w.finance, overdue_only=True, now=later)
    assert [a.dealer_id for a in overdue] == [w.dealer["id"]]
    assert [a.dealer_id for a in await ledger.dealer_accounts(w.finance, q="乙")] == [other["id"]]
    with pytest.raises(Forbidden):
        await ledger.dealer_accounts(w.buyer)
