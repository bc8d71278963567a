"""Finance takes back a payment entered in error from the dealer's account page: both
entries stay on the statement, the balance is right again, a second send changes nothing."""

from __future__ import annotations

import re

from portal.domain import ledger
from portal.tables import Dealer, LedgerEntry
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in

ZH = {"Accept-Language": "zh-CN"}


async def test_finance_reverses_a_mistyped_payment_on_the_account_page(client, db):
    dealer = await f.dealer(await f.tier(), balance_fen=20_000)
    fin = f.actor(await f.user("finance", username="fin"))
    wrong = await ledger.record_payment(
        fin, dealer["id"], amount="62220212345.67", method="bank", reference="6222021234567"
    )
    await sign_in(client, "fin")
    page = await client.get(f"/finance/dealers/{dealer['id']}", headers=ZH)
    assert 'id="reversal-form"' in page.text and "data-confirm=" in page.text
    assert f'<option value="{wrong.id}"' in page.text
    key = re.search(
        r'id="reversal-form".*?name="idempotency_key" value="([0-9a-f]{32})"', page.text, re.S
    ).group(1)
    form = {"_csrf_token": csrf_from(page.text), "idempotency_key": key, "entry_id": str(wrong.id)}
    blank = await client.post(
        f"/finance/dealers/{dealer['id']}/reversals", data={**form, "reason": ""}, headers=ZH
    )
    assert blank.status_code == 422 and 'id="rev-reason-err"' in blank.text
    assert await LedgerEntry.count().where(LedgerEntry.kind == "reversal") == 0
    sent = {**form, "reason": "把卡号填成了金额"}
    done = await client.post(f"/finance/dealers/{dealer['id']}/reversals", data=sent, headers=ZH)
    assert done.status_code == 200 and "冲正" in done.text
    again = await client.post(f"/finance/dealers/{dealer['id']}/reversals", data=sent, headers=ZH)
    assert again.status_code == 200
    assert await LedgerEntry.count().where(LedgerEntry.kind == "reversal") == 1
    balance = await Dealer.select(Dealer.balance_fen).where(Dealer.id == dealer["id"]).first()
    assert balance["balance_fen"] == 20_000
    # Nothing left to reverse: the card is gone.
    assert 'id="reversal-form"' not in again.text
    # The audit log says what was reversed, not its id.
    log = await client.get("/admin/audit", params={"action": "ledger.reversed"}, headers=ZH)
    assert log.status_code == 200 and "冲正" in log.text
    assert "收款 ¥62,220,212,345.67" in log.text
    # A dealer's user cannot.
    await f.user("dealer_buyer", dealer, username="buyer")
    await sign_in(client, "buyer")
    refused = await client.post(
        f"/finance/dealers/{dealer['id']}/reversals",
        data={**sent, "_csrf_token": csrf_from((await client.get("/me")).text)},
    )
    assert refused.status_code == 403


async def test_the_api_reverses_once_and_replays_a_retry(client, db):
    from tests.http.test_api_auth import EN, assert_problem, bearer

    dealer = await f.dealer(await f.tier(), balance_fen=5_000)
    await f.user("finance", username="fin")
    await f.user("dealer_buyer", dealer, username="buyer")
    fin = {**await bearer(client, "fin"), **EN}
    paid = await client.post(
        "/api/v1/payments",
        json={"dealer_id": dealer["id"], "amount": "500.00", "method": "cash"},
        headers={**fin, "Idempotency-Key": "p1"},
    )
    entry = paid.json()["id"]
    url = f"/api/v1/dealers/{dealer['id']}/ledger/{entry}/reverse"
    first = await client.post(
        url, json={"reason": "重复录入"}, headers={**fin, "Idempotency-Key": "r1"}
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["kind"], body["amount"], body["ref_id"]) == ("reversal", "500.00", entry)
    retry = await client.post(
        url, json={"reason": "重复录入"}, headers={**fin, "Idempotency-Key": "r1"}
    )
    assert retry.status_code == 200 and retry.json()["id"] == body["id"]
    assert_problem(
        await client.post(url, json={"reason": "再来"}, headers={**fin, "Idempotency-Key": "r2"}),
        409,
        "conflict",
    )
    buyer = {**await bearer(client, "buyer"), **EN}
    assert_problem(
        await client.post(url, json={"reason": "x"}, headers={**buyer, "Idempotency-Key": "r3"}),
        403,
        "forbidden",
    )
    ledger_now = await client.get(f"/api/v1/dealers/{dealer['id']}/ledger", headers=fin)
    assert ledger_now.json()["closing_balance"] == "50.00"
