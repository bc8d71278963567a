"""The dealer ledger: payments, credit notes, terms, overdue invoices and the overdue policy,
statements.

dealer.balance_fen equals the sum of its ledger entries after every operation.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.domain import approvals, credit, ledger, orders, shipments
from portal.domain.errors import CreditExceeded, Forbidden, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import (
    ApprovalRule,
    AuditEntry,
    Dealer,
    IdempotencyKey,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    Reservation,
    StockLevel,
)
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
    # The entry says where it left the dealer: the opening balance and the invoice, less it.
    assert entry.balance_fen == 50_000 + 2000 - 30_050
    await assert_ledger_balanced(w.dealer["id"])
    note = await ledger.record_credit_note(
        w.finance, w.dealer["id"], amount=Decimal("10"), note="价格更正", now=NOW
    )
    assert note.balance_fen == 50_000 + 2000 - 30_050 - 1000
    await assert_ledger_balanced(w.dealer["id"])
    d = await dealer_row(w)
    assert d["balance_fen"] == 50_000 + 2000 - 30_050 - 1000
    actions = [a["action"] for a in await AuditEntry.select(AuditEntry.action)]
    assert "ledger.payment" in actions and "ledger.credit_note" in actions

    # The statement's summary adds up: the balance carried in (the opening entry, written
    # in this period) is a line of its own, or 期初 + 应收 − 收款 − 贷记 would not be 期末.
    st = await ledger.statement(w.finance, w.dealer["id"], now=NOW)
    assert (st.opening_fen, st.brought_fen, st.invoiced_fen, st.paid_fen, st.credited_fen) == (
        0,
        50_000,
        2000,
        30_050,
        1000,
    )
    assert (
        st.closing_fen
        == d["balance_fen"]
        == (st.opening_fen + st.brought_fen + st.invoiced_fen - st.paid_fen - st.credited_fen)
    )
    after = NOW.date() + timedelta(days=1)
    later = await ledger.statement(w.finance, w.dealer["id"], start=after, end=after, now=NOW)
    assert (later.opening_fen, later.brought_fen) == (d["balance_fen"], 0)


async def test_payment_refusals_write_nothing(db):
    w = await fulfil_world()
    for amount, message in (
        ("abc", "Enter an amount such as 1234.50."),
        ("-5", "The amount must be more than zero."),
        ("0", "The amount must be more than zero."),
        ("1.234", "Enter an amount such as 1234.50."),
        ("3,20", "Enter an amount such as 1234.50."),
        ("", "Enter an amount such as 1234.50."),
        ("1000000000000000", "The amount is too large."),
    ):
        with pytest.raises(ValidationFailed) as exc:
            await ledger.record_payment(
                w.finance, w.dealer["id"], amount=amount, method="bank", now=NOW
            )
        assert exc.value.errors[0].field == "amount"
        assert exc.value.errors[0].message == message, amount
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
    # Each refusal says what is wrong with the figure, not only "enter an amount".
    for typed, message in (
        ("x", "Enter an amount such as 1234.50."),
        ("-5", "The amount cannot be negative."),
        ("1000000000000000", "The amount is too large."),
        ("1.234", "Enter an amount such as 1234.50."),
    ):
        with pytest.raises(ValidationFailed) as exc:
            await ledger.set_credit_terms(
                w.finance, w.dealer["id"], credit_limit=typed, payment_terms_days="45"
            )
        assert [e.message for e in exc.value.errors] == [message], typed
    with pytest.raises(Forbidden):
        await ledger.set_credit_terms(
            w.buyer, w.dealer["id"], credit_limit="1", payment_terms_days="1"
        )


async def test_tolerance_and_over_credit_policy_are_set_by_finance_audited_and_validated(db):
    w = await fulfil_world()
    terms = {"credit_limit": "1000", "payment_terms_days": "30"}
    d = await ledger.set_credit_terms(
        w.finance,
        w.dealer["id"],
        **terms,
        tolerance_amount="¥30",
        tolerance_percent="5%",
        over_credit_policy="approval",
        now=NOW,
    )
    assert (d["credit_tolerance_fen"], d["credit_tolerance_bp"]) == (3_000, 500)
    assert d["over_credit_policy"] == "approval"
    assert (
        credit.tolerance_fen(d, credit.NO_TOLERANCE) == 5_000
    )  # the greater: 5 % of ¥1,000.00 over ¥30.00
    assert credit.ceiling_fen(d, credit.NO_TOLERANCE) == 105_000
    row = await AuditEntry.select().where(AuditEntry.action == "dealer.credit_terms").first()
    before, after = json.loads(row["before"]), json.loads(row["after"])
    assert (before["credit_tolerance_bp"], after["credit_tolerance_bp"]) == (0, 500)
    assert (before["over_credit_policy"], after["over_credit_policy"]) == ("block", "approval")

    # Left out: kept. Blank: none.
    d = await ledger.set_credit_terms(w.finance, w.dealer["id"], **terms, now=NOW)
    assert (d["credit_tolerance_fen"], d["credit_tolerance_bp"]) == (3_000, 500)
    assert d["over_credit_policy"] == "approval"
    d = await ledger.set_credit_terms(
        w.finance, w.dealer["id"], **terms, tolerance_amount=" ", tolerance_percent="", now=NOW
    )
    assert (d["credit_tolerance_fen"], d["credit_tolerance_bp"]) == (0, 0)

    audits = await AuditEntry.count().where(AuditEntry.action == "dealer.credit_terms")
    for field, value in (
        ("tolerance_amount", "-1"),
        ("tolerance_amount", "0.001"),
        ("tolerance_amount", "1e30"),
        ("tolerance_percent", "100.01"),
        ("tolerance_percent", "-5"),
        ("tolerance_percent", "1.234"),
        ("tolerance_percent", "NaN"),
        ("over_credit_policy", ""),
        ("over_credit_policy", "APPROVAL"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            await ledger.set_credit_terms(
                w.finance,
                w.dealer["id"],
                **terms,
                **{"over_credit_policy": "block", "tolerance_amount": "10", field: value},
            )
        assert [e.field for e in exc.value.errors] == [field], (field, value)
    assert (await dealer_row(w))["over_credit_policy"] == "approval"
    assert await AuditEntry.count().where(AuditEntry.action == "dealer.credit_terms") == audits


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
    accounts = (await ledger.dealer_accounts(w.finance, now=later)).items
    by_id = {a.dealer_id: a for a in accounts}
    assert by_id[w.dealer["id"]].overdue_fen == 2000 and by_id[other["id"]].overdue_fen == 0
    overdue = await ledger.dealer_accounts(w.finance, overdue_only=True, now=later)
    assert [a.dealer_id for a in overdue.items] == [w.dealer["id"]] and overdue.total == 1
    # Not yet due: no dealer is overdue.
    assert (await ledger.dealer_accounts(w.finance, overdue_only=True, now=NOW)).total == 0
    found = await ledger.dealer_accounts(w.finance, q="乙")
    assert [a.dealer_id for a in found.items] == [other["id"]]
    with pytest.raises(Forbidden):
        await ledger.dealer_accounts(w.buyer)


async def test_dealer_accounts_are_paged_and_searched_by_name_or_code(db):
    w = await fulfil_world()
    tier = w.tier
    made = [await f.dealer(tier, name=f"分页经销商{i:02d}") for i in range(5)]
    everyone = await ledger.dealer_accounts(w.finance, per_page=100)
    assert everyone.total == 6 and everyone.pages == 1 and not everyone.has_more
    codes = [a.code for a in everyone.items]
    assert codes == sorted(codes)
    first = await ledger.dealer_accounts(w.finance, q="分页", per_page=2)
    assert first.total == 5 and first.pages == 3 and first.has_more
    pages = [first.items]
    for n in (2, 3):
        pages.append((await ledger.dealer_accounts(w.finance, q="分页", per_page=2, page=n)).items)
    seen = [a.dealer_id for p in pages for a in p]
    assert seen == [d["id"] for d in sorted(made, key=lambda d: d["code"])]
    assert [len(p) for p in pages] == [2, 2, 1]
    beyond = await ledger.dealer_accounts(w.finance, q="分页", per_page=2, page=9)
    assert beyond.items == [] and beyond.total == 5
    by_code = await ledger.dealer_accounts(w.finance, q=made[3]["code"].lower())
    assert [a.dealer_id for a in by_code.items] == [made[3]["id"]]
    # LIKE wildcards typed into the box are plain text, not patterns.
    assert (await ledger.dealer_accounts(w.finance, q="%")).total == 6
    assert (await ledger.dealer_accounts(w.finance, q="_x_")).total == 0


# --- overdue policy ------------------------------------------------------------------------


async def _overdue_world(policy: str = "block"):
    """A dealer with a ¥20.00 invoice due in 10 days; `later` is a day past that."""
    w = await fulfil_world()
    await ledger.set_credit_terms(
        w.finance,
        w.dealer["id"],
        credit_limit="100000",
        payment_terms_days="10",
        overdue_policy=policy,
        now=NOW,
    )
    await ship_all(w, await approved_order(w, qty=10, key="first"))
    return w, NOW + timedelta(days=11)


async def _footprint(dealer_id: int) -> tuple:
    d = await Dealer.select().where(Dealer.id == dealer_id).first()
    return (
        await Order.count(),
        await OrderLine.count(),
        await OrderEvent.count(),
        await IdempotencyKey.count(),
        await Reservation.count(),
        await AuditEntry.count(),
        sum(r["reserved"] for r in await StockLevel.select(StockLevel.reserved)),
        d["open_orders_fen"],
        d["balance_fen"],
    )


def _lines(w) -> list[LineRequest]:
    return [LineRequest(qty=5, sku_id=w.sku["id"])]


async def test_blocked_dealer_with_overdue_invoices_cannot_order_and_nothing_is_written(db):
    w, later = await _overdue_world("block")
    before = await _footprint(w.dealer["id"])
    with pytest.raises(credit.OverdueBlocked) as exc:
        await orders.submit_order(w.buyer, None, _lines(w), idempotency_key="k2", now=later)
    err = exc.value
    assert isinstance(err, CreditExceeded) and err.type == "overdue-blocked"
    assert err.params == {"overdue": "¥20.00"} and err.extra == {"overdue": "20.00"}
    assert await _footprint(w.dealer["id"]) == before
    # Same key again after paying: the refused attempt left no key behind.
    await ledger.record_payment(w.finance, w.dealer["id"], amount="20", method="bank", now=later)
    result = await orders.submit_order(w.buyer, None, _lines(w), idempotency_key="k2", now=later)
    assert result.created and result.order.status == "approved"


async def test_overdue_blocks_only_under_the_block_policy_and_only_when_overdue(db):
    w, later = await _overdue_world("warn")
    # "warn" flags the invoice but lets the order through.
    assert await ledger.overdue_fen(w.finance, w.dealer["id"], now=later) == 2000
    r = await orders.submit_order(w.buyer, None, _lines(w), idempotency_key="a", now=later)
    assert r.created
    await ledger.set_credit_terms(
        w.finance,
        w.dealer["id"],
        credit_limit="100000",
        payment_terms_days="10",
        overdue_policy="block",
        now=NOW,
    )
    # Not yet due: "block" lets it through.
    r = await orders.submit_order(w.buyer, None, _lines(w), idempotency_key="b", now=NOW)
    assert r.created
    # A part payment leaves ¥5.00 overdue: still blocked, with that figure.
    await ledger.record_payment(w.finance, w.dealer["id"], amount="15", method="cash", now=NOW)
    with pytest.raises(credit.OverdueBlocked) as exc:
        await orders.submit_order(w.buyer, None, _lines(w), idempotency_key="c", now=later)
    assert exc.value.extra == {"overdue": "5.00"}
    # Staff ordering on the dealer's behalf are held too (the rule is the dealer's).
    admin = f.actor(await f.user("admin"))
    with pytest.raises(credit.OverdueBlocked):
        await orders.submit_order(admin, w.dealer["id"], _lines(w), idempotency_key="d", now=later)


async def test_resubmission_of_a_returned_order_is_blocked_while_overdue(db):
    w, later = await _overdue_world("block")
    await ApprovalRule.insert(
        ApprovalRule(kind="total_at_least", approver_role="finance", amount_fen=1, created_at=NOW)
    )
    placed = await orders.submit_order(w.buyer, None, _lines(w), idempotency_key="r", now=NOW)
    assert placed.order.status == "pending_approval"
    [card] = await approvals.inbox(w.finance)
    await approvals.decide(w.finance, card.step_id, "return", "请核对", now=NOW)
    before = await _footprint(w.dealer["id"])
    with pytest.raises(credit.OverdueBlocked):
        await approvals.resubmit(w.buyer, placed.order.id, now=later)
    assert (await orders.get_order(w.buyer, placed.order.id)).status == "returned"
    assert await _footprint(w.dealer["id"]) == before
    # Paid up: the resubmission goes through.
    await ledger.record_payment(w.finance, w.dealer["id"], amount="20", method="bank", now=later)
    assert await approvals.resubmit(w.buyer, placed.order.id, now=later) == "pending_approval"


async def test_overdue_policy_is_set_by_finance_audited_and_validated(db):
    w = await fulfil_world()
    assert (await dealer_row(w))["overdue_policy"] == "warn"
    d = await ledger.set_credit_terms(
        w.finance,
        w.dealer["id"],
        credit_limit="100",
        payment_terms_days="30",
        overdue_policy="block",
        now=NOW,
    )
    assert d["overdue_policy"] == "block"
    row = await AuditEntry.select().where(AuditEntry.action == "dealer.credit_terms").first()
    assert json.loads(row["before"])["overdue_policy"] == "warn"
    assert json.loads(row["after"])["overdue_policy"] == "block"
    # Leaving the policy out keeps it.
    d = await ledger.set_credit_terms(
        w.finance, w.dealer["id"], credit_limit="100", payment_terms_days="30", now=NOW
    )
    assert d["overdue_policy"] == "block"
    for bad in ("", "BLOCK", "stop"):
        with pytest.raises(ValidationFailed) as exc:
            await ledger.set_credit_terms(
                w.finance,
                w.dealer["id"],
                credit_limit="100",
                payment_terms_days="30",
                overdue_policy=bad,
            )
        assert [e.field for e in exc.value.errors] == ["overdue_policy"]
    assert (await dealer_row(w))["overdue_policy"] == "block"
    with pytest.raises(Forbidden):
        await ledger.set_credit_terms(
            w.buyer, w.dealer["id"], credit_limit="1", payment_terms_days="1", overdue_policy="warn"
        )


async def test_statement_knows_when_orders_are_blocked(db):
    w, later = await _overdue_world("block")
    st = await ledger.statement(w.buyer, w.dealer["id"], now=later)
    assert st.overdue_policy == "block" and st.overdue_fen == 2000 and st.orders_blocked
    st = await ledger.statement(w.buyer, w.dealer["id"], now=NOW)
    assert not st.orders_blocked
    state = await ledger.overdue_state(w.buyer, w.dealer["id"], now=later)
    assert (state.overdue_fen, state.policy, state.orders_blocked) == (2000, "block", True)
    assert not (await ledger.overdue_state(w.buyer, w.dealer["id"], now=NOW)).orders_blocked
    stranger = f.actor(await f.user("dealer_buyer", await f.dealer(w.tier)))
    with pytest.raises(NotFound):
        await ledger.overdue_state(stranger, w.dealer["id"], now=later)


async def test_statement_lines_carry_the_running_balance(db):
    w = await fulfil_world(balance_fen=1000)
    await ship_all(w, await approved_order(w, qty=10))  # ¥20.00 invoice
    await ledger.record_payment(
        w.finance, w.dealer["id"], amount="5", method="bank", reference="=1+1", now=NOW
    )
    st = await ledger.statement(w.buyer, w.dealer["id"], start=date(2026, 11, 1), now=NOW)
    lines = st.lines()
    assert [(ln.debit_fen, ln.credit_fen, ln.balance_fen) for ln in lines] == [
        (None, None, 0),
        (1000, None, 1000),  # the lazily written opening entry
        (2000, None, 3000),
        (None, 500, 2500),
        (3000, 500, 2500),
    ]
    assert lines[0].kind_label == "Opening balance" and lines[-1].kind_label == "Closing balance"
    assert lines[3].reference == "=1+1"


async def test_overdue_from_the_newest_debts_matches_replaying_the_whole_history(db, monkeypatch):
    """dealer_overdue_fen reads only the newest debts covering the balance; it must give what
    FIFO over every entry (_settle) gives, across pages, partly paid debts, prepayments and
    dealers with only an opening balance."""
    import random
    from datetime import UTC, datetime

    monkeypatch.setattr(ledger, "OVERDUE_PAGE", 3)  # several pages for most dealers
    rng = random.Random(20261126)
    now = datetime(2026, 11, 26, 4, tzinfo=UTC)
    start = now - timedelta(days=120)
    for case in range(25):
        dealer = await f.dealer()
        entries, total = [], 0
        for n in range(rng.randint(0, 14)):
            at = start + timedelta(days=rng.randint(0, 119), minutes=n)
            if rng.random() < 0.6:
                amount = rng.randint(1, 500) * 100
                due = (at + timedelta(days=rng.choice([0, 15, 30, 60]))).date()
                entries.append(
                    LedgerEntry(
                        dealer=dealer["id"], kind="invoice", amount_fen=amount, due_on=due, at=at
                    )
                )
            else:
                amount = -rng.randint(1, 700) * 100
                entries.append(
                    LedgerEntry(dealer=dealer["id"], kind="payment", amount_fen=amount, at=at)
                )
            total += amount
        if entries:
            await LedgerEntry.insert(*entries)
        opening = rng.randint(0, 3000) if not entries else 0  # never-touched dealers
        await Dealer.update({Dealer.balance_fen: total + opening}).where(Dealer.id == dealer["id"])
        row = await Dealer.select().where(Dealer.id == dealer["id"]).first()
        replayed = await ledger._all_entries(row)
        ledger._settle(replayed, ledger.local_day(now))
        expected = sum(e.open_fen for e in replayed if e.overdue)
        assert await ledger.dealer_overdue_fen(row, now=now) == expected, case


# --- reversing an entry made in error ---------------------------------------------------------


async def test_a_mistyped_payment_is_reversed_and_the_account_reads_right_again(db):
    from portal.domain.errors import Conflict

    w = await fulfil_world()
    await Dealer.update({Dealer.payment_terms_days: 10}).where(Dealer.id == w.dealer["id"])
    o = await approved_order(w, qty=10)  # ¥20
    await ship_all(w, o)
    later = NOW + timedelta(days=11)
    assert await ledger.overdue_fen(w.finance, w.dealer["id"], now=later) == 2000
    # A bank reference typed as the amount: the dealer seems to be owed a fortune.
    wrong = await ledger.record_payment(
        w.finance,
        w.dealer["id"],
        amount="99999999999.99",
        method="bank",
        reference="REF-1",
        now=NOW,
    )
    assert (await dealer_row(w))["balance_fen"] == 2000 - 9_999_999_999_999
    assert await ledger.overdue_fen(w.finance, w.dealer["id"], now=later) == 0
    assert [e.id for e in await ledger.reversible_entries(w.finance, w.dealer["id"])] == [wrong.id]

    # Not finance, another dealer's entry, no reason: refused, nothing written.
    with pytest.raises(Forbidden):
        await ledger.reverse_entry(w.buyer, w.dealer["id"], wrong.id, reason="x")
    other = await f.dealer(await f.tier())
    with pytest.raises(NotFound):
        await ledger.reverse_entry(w.finance, other["id"], wrong.id, reason="x")
    with pytest.raises(ValidationFailed):
        await ledger.reverse_entry(w.finance, w.dealer["id"], wrong.id, reason="  ")
    assert await LedgerEntry.count().where(LedgerEntry.kind == "reversal") == 0

    back = await ledger.reverse_entry(
        w.finance,
        w.dealer["id"],
        wrong.id,
        reason="把银行流水号填成了金额",
        idempotency_key="r1",
        now=NOW,
    )
    assert (back.kind, back.amount_fen, back.ref_id) == ("reversal", 9_999_999_999_999, wrong.id)
    assert (await dealer_row(w))["balance_fen"] == 2000
    await assert_ledger_balanced(w.dealer["id"])
    # The invoice is unpaid again, and overdue after its terms.
    assert await ledger.overdue_fen(w.finance, w.dealer["id"], now=later) == 2000
    st = await ledger.statement(
        w.finance, w.dealer["id"], start=date(2026, 11, 1), end=later.date(), now=later
    )
    assert st.overdue_fen == 2000 and [e.kind for e in st.overdue] == ["invoice"]
    # The summary adds up: paid net of the reversal.
    assert st.paid_fen == 0 and st.closing_fen == st.opening_fen + st.invoiced_fen - st.paid_fen
    assert [e.kind for e in st.entries][-2:] == ["payment", "reversal"]
    # A retry gives the same reversal; once reversed, no more.
    again = await ledger.reverse_entry(
        w.finance,
        w.dealer["id"],
        wrong.id,
        reason="把银行流水号填成了金额",
        idempotency_key="r1",
        now=NOW,
    )
    assert again.id == back.id
    with pytest.raises(Conflict):
        await ledger.reverse_entry(w.finance, w.dealer["id"], wrong.id, reason="再来")
    assert await ledger.reversible_entries(w.finance, w.dealer["id"]) == []
    # An invoice or a reversal is not reversed here.
    invoice = await LedgerEntry.select(LedgerEntry.id).where(LedgerEntry.kind == "invoice").first()
    with pytest.raises(Conflict):
        await ledger.reverse_entry(w.finance, w.dealer["id"], invoice["id"], reason="x")
    with pytest.raises(Conflict):
        await ledger.reverse_entry(w.finance, w.dealer["id"], back.id, reason="x")
    audited = await AuditEntry.select().where(AuditEntry.action == "ledger.reversed")
    assert len(audited) == 1 and json.loads(audited[0]["after"])["reversed_entry"] == wrong.id


async def test_a_credit_note_in_error_is_reversed_and_counted_as_credit(db):
    w = await fulfil_world(balance_fen=10_000)
    note = await ledger.record_credit_note(
        w.finance, w.dealer["id"], amount="30", note="价差补偿", now=NOW
    )
    await ledger.reverse_entry(w.finance, w.dealer["id"], note.id, reason="补偿重复", now=NOW)
    st = await ledger.statement(w.finance, w.dealer["id"], now=NOW)
    assert st.credited_fen == 0 and st.paid_fen == 0 and st.closing_fen == 10_000
    await assert_ledger_balanced(w.dealer["id"])
