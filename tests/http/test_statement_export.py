"""The dealer statement (对账单) as PDF and Excel: from the dealer's page, finance's page and
the API; figures read back from the files, formula injection, bad periods, scope."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader

from portal.domain import ledger
from portal.export import FORMULA_TRIGGERS, XLSX_MEDIA_TYPE
from portal.tables import Dealer
from tests import factories as f
from tests.db.test_ledger import ship_all
from tests.db.test_shipments import NOW, approved_order, fulfil_world
from tests.http.conftest import sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer

EVIL_REF = "=cmd|' /C calc'!A0"
NOVEMBER = "start=2026-11-01&end=2026-11-30"
# From the 26th: the opening balance is ¥30.00 (¥10.00 opening + ¥20.00 invoice on the 25th).
LATE_NOVEMBER = "start=2026-11-26&end=2026-11-30"


async def account():
    """A dealer with ¥10.00 owed, a ¥20.00 invoice (25 Nov), a ¥5.00 payment (26 Nov) whose
    reference is a formula, and a ¥1.00 credit note (27 Nov) whose reason starts with "+"."""
    w = await fulfil_world(balance_fen=1000)
    await Dealer.update({Dealer.name: "@恒通贸易"}).where(Dealer.id == w.dealer["id"])
    await ship_all(w, await approved_order(w, qty=10))
    await ledger.record_payment(
        w.finance,
        w.dealer["id"],
        amount="5",
        method="bank",
        reference=EVIL_REF,
        note="-2+3",
        now=NOW + timedelta(days=1),
    )
    await ledger.record_credit_note(
        w.finance, w.dealer["id"], amount="1", note="+1+2 价格更正", now=NOW + timedelta(days=2)
    )
    await f.user("dealer_buyer", w.dealer, username="buyer")
    other = await f.dealer(w.tier, balance_fen=777_777)
    await f.user("dealer_buyer", other, username="stranger")
    await f.user("finance", username="cfo")
    await f.user("dealer_buyer", w.dealer, username="buyer_en")
    from portal.tables import User

    await User.update({User.locale: "en"}).where(User.username == "buyer_en")
    return w, other


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def sheet_rows(content: bytes) -> tuple[list[list], object]:
    wb = load_workbook(io.BytesIO(content))
    ws = wb.active
    return [[c.value for c in row] for row in ws.iter_rows()], ws


def yuan(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def assert_inert(ws) -> None:
    """No formula anywhere, and no text a spreadsheet would take for one."""
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_TRIGGERS), (cell.coordinate, cell.value)


async def test_dealer_downloads_the_statement_as_pdf(db, client):
    w, _other = await account()
    await sign_in(client, "buyer")
    page = await client.get(f"/account/statement?{NOVEMBER}")
    assert page.status_code == 200
    assert "/account/statement.pdf?start=2026-11-01&amp;end=2026-11-30" in page.text
    assert "/account/statement.xlsx?start=2026-11-01&amp;end=2026-11-30" in page.text

    r = await client.get(f"/account/statement.pdf?{NOVEMBER}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline;")
    assert "no-store" in r.headers["cache-control"]
    text = pdf_text(r.content)
    # Headers in the user's language (simplified Chinese by default), every figure.
    for words in ("对账单", "期初余额", "期末余额", "借方", "贷方", "余额", w.dealer["code"]):
        assert words in text, words
    for figure in ("¥10.00", "¥20.00", "¥5.00", "¥1.00", "¥30.00", "¥25.00", "¥24.00"):
        assert figure in text, figure
    assert "7,777.77" not in text  # another dealer's balance


async def test_dealer_downloads_the_statement_as_excel_with_exact_numbers(db, client):
    w, _other = await account()
    await sign_in(client, "buyer")
    r = await client.get(f"/account/statement.xlsx?{LATE_NOVEMBER}")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX_MEDIA_TYPE
    assert r.headers["content-disposition"].startswith("attachment;")
    assert 'filename="statement-' in r.headers["content-disposition"]
    rows, ws = sheet_rows(r.content)
    assert rows[4] == ["日期", "类型", "参考号", "备注", "借方", "贷方", "余额"]
    table = rows[5:]
    opening, payment, credit_note, closing = table[:4]
    assert opening[1] == "期初余额" and yuan(opening[6]) == Decimal("30.00")
    assert (payment[1], credit_note[1]) == ("收款", "贷记单")
    assert payment[2] == "'" + EVIL_REF and payment[3] == "'-2+3"
    assert payment[4] is None and yuan(payment[5]) == Decimal("5.00")
    assert yuan(payment[6]) == Decimal("25.00")
    assert credit_note[3] == "'+1+2 价格更正" and yuan(credit_note[5]) == Decimal("1.00")
    assert yuan(credit_note[6]) == Decimal("24.00")
    assert closing[1] == "期末余额" and yuan(closing[6]) == Decimal("24.00")
    assert (yuan(closing[4]), yuan(closing[5])) == (Decimal("0.00"), Decimal("6.00"))
    # The running balance adds up line by line, to the fen.
    balance = yuan(opening[6])
    for line in (payment, credit_note):
        balance += yuan(line[4] or 0) - yuan(line[5] or 0)
        assert yuan(line[6]) == balance
    # Amounts are numbers with a ¥ format, dates are dates.
    amount_cell = ws.cell(row=7, column=6)
    assert amount_cell.data_type == "n" and "¥" in amount_cell.number_format
    assert ws.cell(row=7, column=1).is_date
    # The payment reference, the note and the dealer's name never run as formulas.
    assert ws.cell(row=7, column=3).data_type == "s"
    assert rows[0][0].endswith("@恒通贸易") and rows[1][1].startswith("'@恒通贸易")
    assert_inert(ws)


async def test_headers_follow_the_users_language(db, client):
    await account()
    await sign_in(client, "buyer_en")
    r = await client.get(f"/account/statement.xlsx?{LATE_NOVEMBER}")
    rows, _ws = sheet_rows(r.content)
    assert rows[4] == ["Date", "Type", "Reference", "Note", "Debits", "Credits", "Balance"]
    assert rows[5][1] == "Opening balance"
    text = pdf_text((await client.get(f"/account/statement.pdf?{NOVEMBER}")).content)
    assert "Statement" in text and "Closing balance" in text and "¥24.00" in text


async def test_bad_periods_are_refused_clearly(db, client):
    await account()
    await sign_in(client, "buyer")
    for query in (
        "start=2026-12-02&end=2026-12-01",
        "start=garbage",
        "end=2026-13-45",
        "start=20261101",
        "start=2026-11-01T00:00",
    ):
        for path in ("/account/statement", "/account/statement.pdf", "/account/statement.xlsx"):
            r = await client.get(f"{path}?{query}")
            assert r.status_code == 422, (path, query, r.status_code)
            assert "text/html" in r.headers["content-type"]
    r = await client.get("/account/statement.pdf?start=garbage")
    assert "请输入日期" in r.text
    r = await client.get("/account/statement.xlsx?start=2026-12-02&end=2026-12-01")
    assert "起始日期不能晚于截止日期" in r.text


async def test_finance_downloads_any_dealers_statement(db, client):
    w, other = await account()
    await sign_in(client, "cfo")
    page = await client.get(f"/finance/dealers/{w.dealer['id']}?{NOVEMBER}")
    assert f"/finance/dealers/{w.dealer['id']}/statement.xlsx?start=2026-11-01" in page.text
    r = await client.get(f"/finance/dealers/{w.dealer['id']}/statement.xlsx?{LATE_NOVEMBER}")
    assert r.status_code == 200
    rows, ws = sheet_rows(r.content)
    assert yuan(rows[5][6]) == Decimal("30.00")
    assert_inert(ws)
    r = await client.get(f"/finance/dealers/{other['id']}/statement.pdf")
    assert r.status_code == 200 and "¥7,777.77" in pdf_text(r.content)
    assert (await client.get("/finance/dealers/987654/statement.pdf")).status_code == 404
    bad = await client.get(f"/finance/dealers/{w.dealer['id']}/statement.pdf?start=x")
    assert bad.status_code == 422


async def test_only_finance_uses_finance_downloads_and_staff_have_no_own_statement(db, client):
    w, _other = await account()
    await sign_in(client, "buyer")
    for fmt in ("pdf", "xlsx"):
        r = await client.get(f"/finance/dealers/{w.dealer['id']}/statement.{fmt}")
        assert r.status_code == 403
    client.cookies.clear()
    await sign_in(client, "cfo")
    assert (await client.get("/account/statement.pdf")).status_code == 404


async def test_api_statement_file(db, client):
    w, other = await account()
    headers = await bearer(client, "buyer")
    url = f"/api/v1/dealers/{w.dealer['id']}/statement"
    r = await client.get(f"{url}?{NOVEMBER}", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "¥24.00" in pdf_text(r.content)
    r = await client.get(f"{url}?{LATE_NOVEMBER}&format=xlsx", headers={**headers, **EN})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX_MEDIA_TYPE
    rows, ws = sheet_rows(r.content)
    assert rows[4][0] == "Date" and yuan(rows[5][6]) == Decimal("30.00")
    assert rows[6][2] == "'" + EVIL_REF
    assert_inert(ws)
    # Without `format`, Accept picks the workbook.
    r = await client.get(f"{url}?{LATE_NOVEMBER}", headers={**headers, "Accept": XLSX_MEDIA_TYPE})
    assert r.headers["content-type"] == XLSX_MEDIA_TYPE
    # Scope: another dealer's statement is not found, like one that does not exist.
    for missing in (other["id"], 987_654):
        r = await client.get(f"/api/v1/dealers/{missing}/statement", headers=headers)
        assert_problem(r, 404, "not-found")
    # Bad periods and formats.
    assert_problem(
        await client.get(f"{url}?start=2026-12-02&end=2026-12-01", headers=headers),
        422,
        "validation",
    )
    for query in ("start=garbage", "end=2026-02-30", "format=docx"):
        r = await client.get(f"{url}?{query}", headers=headers)
        assert r.status_code == 400, (query, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_openapi_documents_the_statement_download(db, client):
    schema = (await client.get("/schema/openapi.json")).json()
    op = schema["paths"]["/api/v1/dealers/{dealer_id}/statement"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"application/pdf", XLSX_MEDIA_TYPE}
    names = {p["name"] for p in op["parameters"]}
    assert {"start", "end", "format", "dealer_id"} <= names
    assert {"404", "422"} <= set(op["responses"])
