"""Finance pages (accounts, ledger, payments, credit notes, terms and the overdue policy) and
the dealer's own statement; a blocked dealer's refused orders."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

from portal.domain import cart as cart_domain
from portal.domain import ledger, orders, shipments
from portal.domain.quantities import LineRequest
from portal.tables import (
    AuditEntry,
    CartLine,
    Dealer,
    IdempotencyKey,
    LedgerEntry,
    Order,
    OrderLine,
    Reservation,
)
from tests import factories as f
from tests.db.test_shipments import fulfil_world
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer
from tests.http.test_pages_cart_orders import key_from


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
        {"amount": "10", "method": "bank", "value_date": "31/12/2026"},
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
    # Named as the link under 我的 names it.
    assert "<h1>对账单</h1>" in page.text
    bad = await client.get("/account/statement?start=2026-12-02&end=2026-12-01")
    assert bad.status_code == 422
    # The page stays, with the dates as typed and why they are refused beside its form.
    assert "<h1>对账单</h1>" in bad.text and 'value="2026-12-02"' in bad.text
    assert 'role="alert"' in bad.text and "123.45" in bad.text
    typo = await client.get("/account/statement?start=2026-02-30")
    assert typo.status_code == 422 and 'value="2026-02-30"' in typo.text
    assert "2026-11-25" in typo.text  # the example of a date
    client.cookies.clear()
    await f.user("sales_rep", username="rep")
    await sign_in(client, "rep")
    assert (await client.get("/account/statement")).status_code == 404


async def overdue_world(policy: str = "block"):
    """A dealer whose ¥20.00 invoice (shipped 40 days ago, 30 days' terms) is overdue today."""
    w = await fulfil_world()
    past = datetime.now(UTC) - timedelta(days=40)
    await ledger.set_credit_terms(
        w.finance,
        w.dealer["id"],
        credit_limit="100000",
        payment_terms_days="30",
        overdue_policy=policy,
        now=past,
    )
    placed = await orders.submit_order(
        w.buyer, None, [LineRequest(qty=10, sku_id=w.sku["id"])], idempotency_key="old", now=past
    )
    [line] = await OrderLine.select().where(OrderLine.order == placed.order.id)
    created = await shipments.create_shipment(
        w.clerk,
        placed.order.id,
        warehouse_id=w.wh1["id"],
        quantities={line["id"]: line["qty"]},
        now=past,
    )
    await shipments.ship(w.clerk, created.shipment.id, now=past)
    buyer = await f.user("dealer_buyer", w.dealer, username="buyer")
    await f.user("finance", username="cfo")
    return w, buyer


async def test_finance_sets_the_overdue_policy_and_sees_the_overdue_state(db, client):
    w, _buyer = await overdue_world("warn")
    await sign_in(client, "cfo")
    url = f"/finance/dealers/{w.dealer['id']}"
    page = await client.get(url)
    assert "仅提示逾期账款" in page.text and "¥20.00" in page.text
    assert 'name="overdue_policy"' in page.text
    token = csrf_from(page.text)
    terms = {"_csrf_token": token, "credit_limit": "100000", "payment_terms_days": "30"}
    r = await client.post(f"{url}/terms", data={**terms, "overdue_policy": "block"})
    assert r.status_code == 200
    assert "有逾期账款时暂停新订单" in r.text and "暂停接收新订单" in r.text
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert d["overdue_policy"] == "block"
    audit = (
        await AuditEntry.select()
        .where(AuditEntry.action == "dealer.credit_terms")
        .order_by(AuditEntry.id, ascending=False)
        .first()
    )
    assert json.loads(audit["after"])["overdue_policy"] == "block"
    assert audit["actor"] is not None
    # A made-up policy is refused on the form and changes nothing.
    r = await client.post(f"{url}/terms", data={**terms, "overdue_policy": "maybe"})
    assert r.status_code == 422 and "field-error" in r.text
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert d["overdue_policy"] == "block"
    listing = await client.get("/finance?overdue=1")
    assert w.dealer["name"] in listing.text and "暂停下单" in listing.text


async def test_blocked_dealer_is_refused_on_the_cart_and_the_api_writing_nothing(db, client):
    w, buyer = await overdue_world("block")
    await cart_domain.set_qty(f.actor(buyer), w.dealer["id"], w.sku["id"], 5)
    before = (await Order.count(), await IdempotencyKey.count(), await Reservation.count())
    await sign_in(client, "buyer")
    statement = await client.get("/account/statement")
    assert "暂停接收新订单" in statement.text and "¥20.00" in statement.text
    home = await client.get("/")
    assert "暂停接收新订单" in home.text and 'href="/account/statement"' in home.text
    page = await client.get("/cart")
    # The cart says so before the dealer taps submit (the same words as the refusal).
    assert "暂停接收新订单" in page.text and "¥20.00" in page.text
    r = await client.post(
        "/cart/submit",
        data={"idempotency_key": key_from(page.text), "_csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 422
    error = re.search(r'id="submit-error">(.*?)</div>', r.text, re.S).group(1)
    assert "¥20.00" in error and "暂停接收新订单" in error
    assert (await Order.count(), await IdempotencyKey.count(), await Reservation.count()) == before
    lines = await CartLine.select().where(CartLine.cart.dealer == w.dealer["id"])
    assert [(ln["sku"], ln["qty"]) for ln in lines] == [(w.sku["id"], 5)]

    headers = await bearer(client, "buyer")
    r = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "A100", "qty": 5}]},
        headers={**headers, **EN, "Idempotency-Key": "api-1"},
    )
    body = assert_problem(r, 422, "overdue-blocked")
    assert body["overdue"] == "20.00" and "¥20.00" in body["detail"]
    assert "overdue" in body["detail"]
    account = (await client.get(f"/api/v1/dealers/{w.dealer['id']}/ledger", headers=headers)).json()
    assert account["overdue_policy"] == "block" and account["orders_blocked"] is True
    assert account["overdue"] == "20.00"
    assert (await Order.count(), await IdempotencyKey.count(), await Reservation.count()) == before

    # Paid up, the same cart goes through.
    await ledger.record_payment(
        f.actor(await f.user("finance")), w.dealer["id"], amount="20", method="bank"
    )
    page = await client.get("/cart")
    assert "暂停接收新订单" not in page.text
    r = await client.post(
        "/cart/submit",
        data={"idempotency_key": key_from(page.text), "_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and await Order.count() == before[0] + 1


async def test_the_visit_card_and_the_order_page_show_what_is_overdue_and_the_hold(db, client):
    w, _buyer = await overdue_world("block")
    rep = await f.user("sales_rep", username="rep")
    await f.assign(rep, w.dealer)
    await sign_in(client, "rep")
    card = await client.get(f"/dealers/{w.dealer['id']}")
    assert card.status_code == 200
    assert 'id="visit-overdue">¥20.00<' in card.text
    assert 'id="visit-on-hold"' in card.text and "暂停接收新订单" in card.text
    # An approver reads it beside the dealer's order too.
    [order] = await Order.select(Order.id).where(Order.dealer == w.dealer["id"])
    await sign_in(client, "cfo")
    page = await client.get(f"/orders/{order['id']}")
    assert 'id="account-overdue">¥20.00<' in page.text
    await sign_in(client, "rep")
    # Paid up: nothing overdue, no hold.
    await ledger.record_payment(
        f.actor(await f.user("finance")), w.dealer["id"], amount="20", method="bank"
    )
    card = await client.get(f"/dealers/{w.dealer['id']}")
    assert "visit-overdue" not in card.text and "visit-on-hold" not in card.text


async def test_accounts_list_is_paged_and_searchable(db, client):
    tier = await f.tier()
    made = [await f.dealer(tier, name=f"翻页商行{i:02d}") for i in range(23)]
    await f.user("finance", username="cfo")
    await sign_in(client, "cfo")
    first = await client.get("/finance")
    assert first.status_code == 200
    assert first.text.count('href="/finance/dealers/') == 20
    assert "第 1 页，共 2 页" in first.text and 'rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    second = await client.get("/finance?page=2")
    shown = set(re.findall(r'href="/finance/dealers/(\d+)"', first.text + second.text))
    assert shown == {str(d["id"]) for d in made}
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    # Search by code (case-insensitive) or by a piece of the Chinese name; the page param
    # of a search keeps the query.
    code = made[7]["code"]
    found = await client.get(f"/finance?q={code.lower()}")
    assert re.findall(r'href="/finance/dealers/(\d+)"', found.text) == [str(made[7]["id"])]
    found = await client.get("/finance?q=商行1")
    assert found.text.count('href="/finance/dealers/') == 10
    # htmx gets the list alone; nonsense page numbers are the first page.
    frag = await client.get("/finance?q=翻页", headers={"HX-Request": "true"})
    assert frag.text.lstrip().startswith('<div id="accounts-list">') and "<html" not in frag.text
    assert "q=%E7%BF%BB%E9%A1%B5&amp;page=2" in frag.text
    for junk in ("abc", "-1", "0", "99999999999"):
        r = await client.get(f"/finance?page={junk}")
        assert r.status_code == 200 and "第 1 页" in r.text


async def test_finance_sets_the_tolerance_and_over_credit_policy_on_the_dealers_page(db, client):
    w = await fulfil_world()
    await f.user("finance", username="cfo")
    await sign_in(client, "cfo")
    url = f"/finance/dealers/{w.dealer['id']}"
    page = await client.get(url)
    assert 'name="tolerance_amount" ' in page.text and 'name="over_credit_policy"' in page.text
    assert re.search(r'<option value="block" selected>拒绝超出信用额度的订单', page.text)
    terms = {
        "_csrf_token": csrf_from(page.text),
        "credit_limit": "1000",
        "payment_terms_days": "30",
    }
    r = await client.post(
        f"{url}/terms",
        data={
            **terms,
            "tolerance_amount": "50",
            "tolerance_percent": "2.5",
            "over_credit_policy": "approval",
        },
    )
    assert r.status_code == 200 and "信用设置已保存。" in r.text
    # ¥50.00 beats 2.5 % of ¥1,000.00; the form shows what was saved.
    assert re.search(r'id="tolerance">¥50\.00<', r.text)
    assert 'id="over-credit-policy">超出信用额度的订单交财务审批<' in r.text
    assert re.search(r'name="tolerance_amount" [^>]*value="50.00"', r.text)
    assert 'name="tolerance_percent" inputmode="decimal" maxlength="8" value="2.5"' in r.text
    saved = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert (saved["credit_tolerance_fen"], saved["credit_tolerance_bp"]) == (5_000, 250)
    assert saved["over_credit_policy"] == "approval"

    # A bad percentage: the form again with the message and what was typed; nothing saved.
    r = await client.post(
        f"{url}/terms",
        data={
            **terms,
            "tolerance_amount": "80",
            "tolerance_percent": "120",
            "over_credit_policy": "block",
        },
    )
    assert r.status_code == 422
    assert "请输入 0 到 100 之间的百分比" in r.text and 'value="120"' in r.text
    assert await Dealer.select().where(Dealer.id == w.dealer["id"]).first() == saved


async def test_finance_exports_the_accounts_list_as_filtered(db, client):
    w = await fulfil_world(balance_fen=100_000)
    other = await f.dealer(w.tier, name="乙经销商")
    await f.user("finance", username="cfo")
    await f.user("dealer_buyer", other, username="ob")
    await sign_in(client, "cfo")
    page = await client.get("/finance")
    assert "/finance/export?format=csv&amp;q=" in page.text
    r = await client.get("/finance/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编码", "名称", "信用额度"]
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {w.dealer["code"], other["code"]}
    assert by_code[w.dealer["code"]][3] == "1000.00"  # balance owed
    only = await client.get("/finance/export", params={"format": "csv", "q": "乙"})
    assert len(list(csv.reader(io.StringIO(only.content.decode("utf-8-sig"))))) == 2
    client.cookies.clear()
    await sign_in(client, "ob")
    assert (await client.get("/finance/export")).status_code == 403
