"""Finance pages and API: a payment or credit note sent twice from the same form is booked
once; a value date far off is refused on the page and in the API; the credit settings change
one field at a time through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portal.domain import ledger
from portal.tables import AuditEntry, Dealer, FulfilmentKey, LedgerEntry
from tests import factories as f
from tests.db.test_shipments import fulfil_world
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer


def form_key(html: str, form_id: str) -> str:
    """The hidden idempotency key of the form with this id."""
    form = re.search(rf'<form [^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id}"
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.group(0))
    assert key, f"form {form_id} has no idempotency key"
    return key.group(1)


def flash_of(html: str) -> str:
    found = re.search(r'<div class="alert alert-ok" role="status">(.*?)</div>', html, re.S)
    assert found, "no flash on the page"
    return found.group(1)


async def money_state(dealer_id: int) -> tuple:
    d = await Dealer.select().where(Dealer.id == dealer_id).first()
    entries = await LedgerEntry.select(LedgerEntry.kind, LedgerEntry.amount_fen).where(
        LedgerEntry.dealer == dealer_id
    )
    return d["balance_fen"], sorted((e["kind"], e["amount_fen"]) for e in entries)


async def finance_page(client, w) -> tuple[str, str]:
    await f.user("finance", username="cfo")
    await sign_in(client, "cfo")
    url = f"/finance/dealers/{w.dealer['id']}"
    page = await client.get(url)
    assert page.status_code == 200
    return url, page.text


# --- one entry per form ---------------------------------------------------------------------


async def test_a_payment_form_sent_twice_books_one_payment(db, client):
    w = await fulfil_world(balance_fen=100_000)
    url, html = await finance_page(client, w)
    key = form_key(html, "payment-form")
    assert key != form_key(html, "credit-form")
    form = {
        "_csrf_token": csrf_from(html),
        "idempotency_key": key,
        "amount": "250.00",
        "method": "bank",
        "reference": "BK9",
    }
    first = await client.post(f"{url}/payments", data=form)
    again = await client.post(f"{url}/payments", data=form)  # a double tap, a resend
    assert first.status_code == again.status_code == 200
    # The second answer is the first one's: the same message, no error.
    assert flash_of(again.text) == flash_of(first.text)
    assert "¥250.00" in flash_of(again.text)
    assert "field-error" not in again.text and "alert-error" not in again.text
    assert await money_state(w.dealer["id"]) == (
        100_000 - 25_000,
        [("opening", 100_000), ("payment", -25_000)],
    )
    assert await AuditEntry.count().where(AuditEntry.action == "ledger.payment") == 1
    # The page drawn again has a new key: the next payment is a new one.
    assert form_key(again.text, "payment-form") != key
    r = await client.post(
        f"{url}/payments", data={**form, "idempotency_key": form_key(again.text, "payment-form")}
    )
    assert r.status_code == 200
    assert (await money_state(w.dealer["id"]))[0] == 100_000 - 50_000


async def test_a_credit_note_form_sent_twice_books_one_credit_note(db, client):
    w = await fulfil_world(balance_fen=100_000)
    url, html = await finance_page(client, w)
    form = {
        "_csrf_token": csrf_from(html),
        "idempotency_key": form_key(html, "credit-form"),
        "amount": "50",
        "note": "退货补差",
    }
    first = await client.post(f"{url}/credit-notes", data=form)
    again = await client.post(f"{url}/credit-notes", data=form)
    assert first.status_code == again.status_code == 200
    assert flash_of(again.text) == flash_of(first.text)
    assert await money_state(w.dealer["id"]) == (
        100_000 - 5_000,
        [("credit_note", -5_000), ("opening", 100_000)],
    )


async def test_a_form_changed_and_sent_again_under_its_key_is_refused(db, client):
    w = await fulfil_world(balance_fen=100_000)
    url, html = await finance_page(client, w)
    token = csrf_from(html)
    pay = {"_csrf_token": token, "idempotency_key": form_key(html, "payment-form")}
    r = await client.post(f"{url}/payments", data={**pay, "amount": "10", "method": "cash"})
    assert r.status_code == 200
    before = await money_state(w.dealer["id"])
    r = await client.post(f"{url}/payments", data={**pay, "amount": "11", "method": "cash"})
    assert r.status_code == 409
    assert 'id="payment-error"' in r.text and 'id="payment-form"' in r.text
    credit = {"_csrf_token": token, "idempotency_key": form_key(html, "credit-form")}
    r = await client.post(f"{url}/credit-notes", data={**credit, "amount": "5", "note": "补差"})
    assert r.status_code == 200
    r = await client.post(f"{url}/credit-notes", data={**credit, "amount": "5", "note": "另一笔"})
    assert r.status_code == 409 and 'id="credit-error"' in r.text
    assert (await money_state(w.dealer["id"]))[0] == before[0] - 500
    assert await LedgerEntry.count().where(LedgerEntry.kind == "credit_note") == 1


async def test_a_malformed_form_key_is_refused_and_books_nothing(db, client):
    w = await fulfil_world(balance_fen=100_000)
    url, html = await finance_page(client, w)
    before = await money_state(w.dealer["id"])
    token = csrf_from(html)
    for key in ("", "short", "x" * 101, "bad key!"):
        r = await client.post(
            f"{url}/payments",
            data={"_csrf_token": token, "idempotency_key": key, "amount": "10", "method": "bank"},
        )
        assert r.status_code == 400 and 'id="payment-error"' in r.text
        assert "表单已过期，请刷新页面后重试。" in r.text  # in the reader's language
        r = await client.post(
            f"{url}/credit-notes",
            data={"_csrf_token": token, "idempotency_key": key, "amount": "10", "note": "补差"},
        )
        assert r.status_code == 400 and 'id="credit-error"' in r.text
    assert await money_state(w.dealer["id"]) == before
    assert await FulfilmentKey.count() == 0


# --- the value date ---------------------------------------------------------------------------


async def test_a_value_date_far_off_is_refused_on_the_page(db, client):
    w = await fulfil_world(balance_fen=100_000)
    url, html = await finance_page(client, w)
    before = await money_state(w.dealer["id"])
    earliest, latest = ledger.value_date_window(datetime.now(UTC))
    for day in ("2099-01-01", "1900-01-01", "0001-01-01"):
        r = await client.post(
            f"{url}/payments",
            data={
                "_csrf_token": csrf_from(html),
                "idempotency_key": form_key(html, "payment-form"),
                "amount": "10",
                "method": "bank",
                "value_date": day,
            },
        )
        assert r.status_code == 422, day
        error = re.search(r'id="pay-date-err" role="alert">(.*?)</p>', r.text)
        assert error, r.text[:500]
        assert earliest.isoformat() in error.group(1) and latest.isoformat() in error.group(1)
        assert f'value="{day}"' in r.text  # what was typed stays in the field
    assert await money_state(w.dealer["id"]) == before


async def test_a_value_date_far_off_is_refused_by_the_api(db, client):
    w = await fulfil_world(balance_fen=100_000)
    await f.user("finance", username="cfo")
    headers = {**await bearer(client, "cfo"), **EN}
    before = await money_state(w.dealer["id"])
    earliest, latest = ledger.value_date_window(datetime.now(UTC))
    for n, day in enumerate(("2099-01-01", "1900-01-01", "0001-01-01")):
        r = await client.post(
            "/api/v1/payments",
            json={"dealer_id": w.dealer["id"], "amount": "10", "method": "bank", "value_date": day},
            headers={**headers, "Idempotency-Key": f"far-{n}"},
        )
        body = assert_problem(r, 422, "validation")
        [error] = body["errors"]
        assert error["field"] == "value_date"
        assert error["message"] == (
            f"Enter a value date from {earliest.isoformat()} to {latest.isoformat()}."
        )
    assert await money_state(w.dealer["id"]) == before
    r = await client.post(
        "/api/v1/payments",
        json={
            "dealer_id": w.dealer["id"],
            "amount": "10",
            "method": "bank",
            "value_date": latest.isoformat(),
        },
        headers={**headers, "Idempotency-Key": "near"},
    )
    assert r.status_code == 201 and r.json()["value_date"] == latest.isoformat()


# --- credit settings through the API, one field at a time ------------------------------------


async def test_the_credit_limit_changes_alone_through_the_api(db, client):
    w = await fulfil_world()
    await f.user("finance", username="cfo")
    headers = {**await bearer(client, "cfo"), **EN}
    url = f"/api/v1/dealers/{w.dealer['id']}/credit"
    r = await client.put(
        url, json={"credit_limit": "5000", "payment_terms_days": 45}, headers=headers
    )
    assert r.status_code == 200, r.text
    r = await client.put(url, json={"credit_limit": "8000"}, headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["credit_limit"], r.json()["payment_terms_days"]) == ("8000.00", 45)
    r = await client.put(
        url, json={"payment_terms_days": 60, "credit_limit": None}, headers=headers
    )
    assert r.status_code == 200, r.text
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert (d["credit_limit_fen"], d["payment_terms_days"]) == (800_000, 60)


async def test_a_credit_body_with_nothing_to_change_is_refused(db, client):
    w = await fulfil_world()
    await f.user("finance", username="cfo")
    headers = {**await bearer(client, "cfo"), **EN}
    url = f"/api/v1/dealers/{w.dealer['id']}/credit"
    before = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    for body in ({}, {"credit_limit": None, "payment_terms_days": None, "overdue_policy": None}):
        r = await client.put(url, json=body, headers=headers)
        problem = assert_problem(r, 422, "validation")
        assert problem["detail"] == "Nothing to change: send at least one credit setting."
    # A bad value in the one field sent is still named.
    r = await client.put(url, json={"payment_terms_days": 366}, headers=headers)
    [error] = assert_problem(r, 422, "validation")["errors"]
    assert error["field"] == "payment_terms_days"
    assert await Dealer.select().where(Dealer.id == w.dealer["id"]).first() == before
    assert await AuditEntry.count().where(AuditEntry.action == "dealer.credit_terms") == 0
