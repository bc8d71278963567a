"""Finance pages (ledger, payments, credit notes, terms) and the dealer's own statement."""

from __future__ import annotations

from portal.tables import Dealer, LedgerEntry
from tests import factories as f
from tests.db.test_shipments import fulfil_world
from tests.http.conftest import csrf_from, sign_in


async def test_finance_records_payment_credit_note_and_terms(db, client):
    w = await fulfil_world(balance_fen=100_000)
    await f.user("finance", username="cfo")
    await sign_in(client, "cfo")
    listing = await client.get("/finance")
    assert listing.status_code == 200 and w.dealer["name"] in listing.text
    url = f"/finance/dealers/{w.dealer['id']}"
    page = await client.get(url)
    assert page.status_code == 200 and "payment-form" in page.text
    token = csrf_from(page.text)
    r = await client.post(
        f"{url}/payments",
        data={"_csrf_token": token, "amount": "250.00", "method": "bank", "reference": "BK9"},
    )
    assert r.status_code == 200 and "BK9" in r.text
    r = await client.post(
        f"{url}/credit-notes", data={"_csrf_token": token, "amount": "50", "note": "退货补差"}
    )
    assert r.status_code == 200
    r = await client.post(
        f"{url}/terms",
        data={"_csrf_token": token, "credit_limit": "80000", "payment_terms_days": "60"},
    )
    assert r.status_code == 200
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert d["balance_fen"] == 100_000 - 25_000 - 5_000
    assert (d["credit_limit_fen"], d["payment_terms_days"]) == (8_000_000, 60)
    entries = await LedgerEntry.select().where(LedgerEntry.dealer == w.dealer["id"])
    assert sum(e["amount_fen"] for e in entries) == d["balance_fen"]

    # Bad input: shown on the form, nothing written.
    for data in (
        {"amount": "abc", "method": "bank"},
        {"amount": "-1", "method": "bank"},
        {"amount": "10", "method": "barter"},
    ):
        r = await client.post(f"{url}/payments", data={"_csrf_token": token, **data})
        assert r.status_code == 422 and "field-error" in r.text
    r = await client.post(
        f"{url}/terms", data={"_csrf_token": token, "credit_limit": "x", "payment_terms_days": "9"}
    )
    assert r.status_code == 422
    assert await LedgerEntry.count().where(LedgerEntry.dealer == w.dealer["id"]) == len(entries)


async def test_only_finance_sees_finance_pages(db, client):
    w = await fulfil_world()
    await f.user("dealer_buyer", w.dealer, username="buyer")
    await f.user("warehouse", username="clerk")
    await sign_in(client, "buyer")
    assert (await client.get(f"/finance/dealers/{w.dealer['id']}")).status_code == 403
    assert (await client.get("/finance")).status_code == 403
    client.cookies.clear()
    await sign_in(client, "clerk")
    page = await client.get(f"/finance/dealers/{w.dealer['id']}")
    assert page.status_code == 403


async def test_dealer_statement_page(db, client):
    w = await fulfil_world(balance_fen=12_345)
    await f.user("dealer_buyer", w.dealer, username="buyer")
    other = await f.dealer(w.tier, balance_fen=999_999)
    await f.user("dealer_buyer", other, username="stranger")
    await sign_in(client, "buyer")
    page = await client.get("/account/statement")
    assert page.status_code == 200 and "123.45" in page.text and "9,999.99" not in page.text
    bad = await client.get("/account/statement?start=2026-12-02&end=2026-12-01")
    assert bad.status_code == 422
    client.cookies.clear()
    await f.user("sales_rep", username="rep")
    await sign_in(client, "rep")
    assert (await client.get("/account/statement")).status_code == 404
