"""Reports through the pages and the API: a manager reads the dashboard on the phone, exports
a table as CSV and Excel, and the API gives the same figures; bad dates are refused with a
clear message; dealers and warehouse staff have no reports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from portal.domain import orders
from portal.domain.quantities import LineRequest
from portal.tables import Order, Sku
from tests import factories as f
from tests.http.conftest import sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def shop(db):
    wh = await f.warehouse()
    tier = await f.tier()
    manager = await f.user("sales_manager", username="boss")
    rep = await f.user("sales_rep", manager=manager, username="rep")
    mine = await f.dealer(tier, name="东方商行", region="华东", default_warehouse=wh)
    other = await f.dealer(tier, name="=HYPERLINK(1)", region="华南", default_warehouse=wh)
    await f.assign(rep, mine)
    sku = await f.sku(code="W1", name="矿泉水", base_price_fen=250, pack=None)
    await f.stock(sku, wh, 1000)
    totals = {}
    # Placed now, not when the module was imported: the pages show this month in Shanghai,
    # and collection may be minutes before the test, across 16:00 UTC on a month's last day.
    now = datetime.now(UTC)
    for dealer, qty in ((mine, 40), (other, 4)):
        buyer = await f.user("dealer_buyer", dealer)
        result = await orders.submit_order(
            f.actor(buyer),
            dealer["id"],
            [LineRequest(qty=qty, sku_code="W1")],
            idempotency_key=f"r{dealer['id']}",
            now=now,
        )
        totals[dealer["id"]] = (await Order.select().where(Order.id == result.order.id).first())[
            "total_fen"
        ]
    await f.user("dealer_buyer", mine, username="buyer")
    await f.user("warehouse", username="clerk")
    await f.user("admin", username="root")
    return {"mine": mine, "other": other, "totals": totals}


async def test_a_manager_reads_the_dashboard_of_their_team(client, shop):
    assert (await sign_in(client, "boss")).status_code == 303
    page = await client.get("/reports", headers=ZH)
    assert page.status_code == 200
    text = page.text
    assert "报表" in text and "按客户销售" in text and "信用占用" in text
    assert "东方商行" in text and "HYPERLINK" not in text  # another team's dealer
    assert "¥100.00" in text  # 40 × ¥2.50
    assert 'href="/reports/export/dealer?format=csv' in text
    tabs = await client.get("/approvals", headers=ZH)
    assert 'href="/reports"' in tabs.text  # one tap from the tab bar


async def test_exports_as_csv_and_excel(client, shop):
    await sign_in(client, "root")
    got = await client.get("/reports/export/dealer", params={"format": "csv"}, headers=ZH)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["名称", "编码", "订单", "销售额"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["东方商行"][3] == "100.00"
    assert "'=HYPERLINK(1)" in by_name  # a formula-looking name stays text
    book = await client.get("/reports/export/region", params={"format": "xlsx"}, headers=ZH)
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content)).active
    table = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert ["华东", 1] == table[0][:2] and str(table[0][2]) == "100"
    for by, first in (("day", "日期"), ("month", "月份")):
        got = await client.get(f"/reports/export/{by}", params={"format": "csv"}, headers=ZH)
        assert got.content.decode("utf-8-sig").splitlines()[0] == f"{first},订单,销售额"
    assert (await client.get("/reports/export/dealer", params={"format": "pdf"})).status_code == 404
    assert (await client.get("/reports/export/nothing")).status_code == 404


async def test_the_api_gives_the_same_figures(client, shop):
    headers = await bearer(client, "boss")
    sales = await client.get("/api/v1/reports/sales", params={"by": "dealer"}, headers=headers)
    assert sales.status_code == 200, sales.text
    body = sales.json()
    assert [(r["label"], r["amount"], r["orders"]) for r in body["rows"]] == [
        ("东方商行", "100.00", 1)
    ]
    assert body["total"] == "100.00"
    admin = await bearer(client, "root")
    overview = await client.get(
        "/api/v1/reports/overview", params={"preset": "last_30"}, headers=admin
    )
    assert overview.status_code == 200
    o = overview.json()
    assert o["orders"] == 2 and o["sales"] == "110.00" and o["to_ship_orders"] == 2
    assert (o["returns"], o["returned"], o["net_sales"]) == (0, "0.00", "110.00")
    assert {e["name"] for e in o["top_exposures"]} == {"东方商行", "=HYPERLINK(1)"}


async def test_bad_dates_are_refused_clearly(client, shop):
    await sign_in(client, "boss")
    page = await client.get("/reports", params={"start": "2026-02-30"}, headers=ZH)
    assert page.status_code == 422 and "请输入日期，例如 2026-11-25。" in page.text
    backwards = await client.get(
        "/reports", params={"start": "2026-11-10", "end": "2026-11-01"}, headers=ZH
    )
    assert backwards.status_code == 422 and "结束日期早于开始日期" in backwards.text
    headers = {**(await bearer(client, "boss")), **ZH}
    problem = assert_problem(
        await client.get("/api/v1/reports/sales", params={"start": "tomorrow"}, headers=headers),
        422,
        "validation",
    )
    assert problem["errors"][0]["field"] == "start"
    assert (
        await client.get("/api/v1/reports/sales", params={"by": "colour"}, headers=headers)
    ).status_code == 400


async def test_dealers_and_the_warehouse_have_no_reports(client, shop):
    for username in ("buyer", "clerk"):
        headers = await bearer(client, username)
        assert_problem(await client.get("/api/v1/reports/sales", headers=headers), 403, "forbidden")
    await sign_in(client, "buyer")
    assert (await client.get("/reports")).status_code == 403
    assert (await client.get("/reports/export/dealer")).status_code == 403


async def test_stock_under_safety_level_on_the_dashboard_and_the_api(client, shop):
    # W1 has 1,000 on hand and 44 reserved: 956 available; a safety stock of 2,000 is short.
    await Sku.update({Sku.safety_stock: 2000}).where(Sku.code == "W1")
    other = await f.sku(code="W2", name="苏打水", base_price_fen=300, pack=None)
    await Sku.update({Sku.safety_stock: 5}).where(Sku.id == other["id"])  # nothing in stock
    await sign_in(client, "boss")
    page = await client.get("/reports", headers=ZH)
    section = page.text[page.text.index('id="safety"') :]
    assert "2 个商品低于安全库存" in section
    assert section.index("苏打水") < section.index("矿泉水")  # empty shelves first
    assert 'href="/stock/alerts"' in section
    alerts = await client.get("/stock/alerts", headers=ZH)  # the manager reads, cannot change
    assert alerts.status_code == 200 and "苏打水" in alerts.text
    assert 'name="safety_stock"' not in alerts.text and 'href="/reports"' in alerts.text
    form = await client.get(f"/stock/{other['id']}/safety-stock", headers=ZH)
    assert form.status_code == 403
    boss = await bearer(client, "boss")
    o = (await client.get("/api/v1/reports/overview", headers=boss)).json()
    assert o["under_safety_stock"] == 2
    assert [
        (r["sku_code"], r["available"], r["safety_stock"]) for r in o["furthest_under_safety"]
    ] == [
        ("W2", 0, 5),
        ("W1", 956, 2000),
    ]


async def test_the_stock_under_safety_table_exports(client, shop):
    await Sku.update({Sku.safety_stock: 2000}).where(Sku.code == "W1")
    other = await f.sku(code="=W2", name="苏打水", base_price_fen=300, pack=None)
    await Sku.update({Sku.safety_stock: 5}).where(Sku.id == other["id"])
    await sign_in(client, "boss")
    page = await client.get("/reports", headers=ZH)
    section = page.text[page.text.index('id="safety"') :]
    assert 'href="/reports/export/safety?format=csv"' in section
    got = await client.get("/reports/export/safety", params={"format": "csv"}, headers=ZH)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["编码", "名称", "条码", "单位", "安全库存", "可用", "缺口"]
    assert [r[0] for r in rows[1:]] == ["'=W2", "W1"]  # emptiest first; a formula disarmed
    assert rows[2][4:] == ["2000", "956", "1044"]
    book = await client.get("/reports/export/safety", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert [row[1].value for row in sheet.iter_rows(min_row=3) if row[1].value] == [
        "名称",
        "苏打水",
        "矿泉水",
    ]
    await sign_in(client, "buyer")
    assert (await client.get("/reports/export/safety")).status_code == 403


async def test_the_credit_exposure_table_exports(client, shop):
    await sign_in(client, "boss")
    page = await client.get("/reports", headers=ZH)
    assert 'href="/reports/export/exposure?format=csv"' in page.text
    got = await client.get("/reports/export/exposure", params={"format": "csv"}, headers=ZH)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    # The usage and state headers: tests/http/test_reports_fixes.py (in English).
    assert rows[0][:5] == ["经销商", "编码", "信用额度", "占用额度", "可用额度"]
    assert len(rows[0]) == 7
    assert [r[0] for r in rows[1:]] == ["东方商行"]  # the manager's team only
    assert rows[1][3] == "100.00"
    await sign_in(client, "root")
    book = await client.get("/reports/export/exposure", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content)).active
    names = {row[0].value for row in sheet.iter_rows(min_row=4) if row[0].value}
    assert names == {"东方商行", "'=HYPERLINK(1)"} or names == {"东方商行", "=HYPERLINK(1)"}


async def test_counts_of_orders_read_as_english(client, shop):
    """One order is "1 order" in English, not "1 orders"."""
    from portal.tables import User

    await User.update({User.locale: "en"}).where(User.username == "boss")
    assert (await sign_in(client, "boss")).status_code == 303
    page = await client.get("/reports")
    assert page.status_code == 200 and "Sales by dealer" in page.text
    assert "1 order<" in page.text or "· 1 order" in page.text
    assert "1 orders" not in page.text
