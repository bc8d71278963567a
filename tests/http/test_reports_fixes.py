"""Reports after QA, through the pages and the API: a dealer handed to another rep leaves its
sales with the first; each waiting figure links to the list it counts; a deactivated dealer
that owes money stays in the exposure table, whose usage is a number; a category's quantity
only where its units add up; whole sheet names; one date alone makes a period."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from portal.domain import orders
from portal.domain.quantities import LineRequest
from portal.tables import Dealer, Order, Product, RepAssignment, User
from tests import factories as f
from tests.http.conftest import sign_in
from tests.http.test_api_auth import bearer

ZH = {"Accept-Language": "zh-CN"}


async def submit(dealer: dict, lines: list[tuple[str, int]], key: str) -> dict:
    buyer = await User.select().where(User.dealer == dealer["id"]).first()
    result = await orders.submit_order(
        f.actor(buyer),
        dealer["id"],
        [LineRequest(qty=q, sku_code=c) for c, q in lines],
        idempotency_key=key,
        now=datetime.now(UTC),  # this month in Shanghai, as the pages show by default
    )
    return await Order.select().where(Order.id == result.order.id).first()


@pytest.fixture
async def shop(db):
    wh = await f.warehouse()
    tier = await f.tier()
    boss = await f.user("sales_manager", username="boss", display_name="王经理")
    zhang = await f.user("sales_rep", manager=boss, username="zhang", display_name="张伟")
    li = await f.user("sales_rep", manager=boss, username="li", display_name="李娜")
    mine = await f.dealer(tier, name="东方商行", default_warehouse=wh)
    hers = await f.dealer(tier, name="南方商行", default_warehouse=wh)
    await f.assign(zhang, mine)
    await f.assign(li, hers)
    care = await f.category("日化")
    for code, unit, price in (("TP", "支", 500), ("SG", "瓶", 1500)):
        product = await f._insert(Product, name=f"日化{code}", category=care["id"])
        sku = await f.sku(
            code=code, name=f"日化{code}", base_unit=unit, base_price_fen=price, product=product
        )
        await f.stock(sku, wh, 1000)
    for dealer in (mine, hers):
        await f.user("dealer_buyer", dealer)
    await f.user("finance", username="fin")
    await f.user("admin", username="root")
    return {"mine": mine, "hers": hers, "zhang": zhang, "li": li, "boss": boss}


async def sales_by_rep(client, username: str) -> dict[str, tuple[int, str]]:
    got = await client.get(
        "/api/v1/reports/sales", params={"by": "rep"}, headers=await bearer(client, username)
    )
    assert got.status_code == 200, got.text
    return {r["label"]: (r["orders"], r["amount"]) for r in got.json()["rows"]}


async def test_a_reassigned_dealers_sales_stay_with_the_rep_who_made_them(client, shop):
    await submit(shop["mine"], [("TP", 10)], "z1")  # ¥50.00, 张伟's
    await submit(shop["hers"], [("SG", 2)], "l1")  # ¥30.00, 李娜's
    boss = await bearer(client, "boss")
    moved = await client.put(
        f"/api/v1/dealers/{shop['mine']['id']}/rep", json={"rep_id": shop["li"]["id"]}, headers=boss
    )
    assert moved.status_code == 200, moved.text
    assert (
        await RepAssignment.select(RepAssignment.rep)
        .where(RepAssignment.dealer == shop["mine"]["id"])
        .first()
    )["rep"] == shop["li"]["id"]
    await submit(shop["mine"], [("TP", 1)], "l2")  # ¥5.00, now 李娜's

    assert await sales_by_rep(client, "li") == {"李娜": (2, "35.00")}
    assert await sales_by_rep(client, "zhang") == {"张伟": (1, "50.00")}
    assert await sales_by_rep(client, "boss") == {"张伟": (1, "50.00"), "李娜": (2, "35.00")}
    li = await bearer(client, "li")
    overview = (await client.get("/api/v1/reports/overview", headers=li)).json()
    assert (overview["orders"], overview["sales"]) == (2, "35.00")
    await sign_in(client, "li")
    page = await client.get("/reports", headers=ZH)
    assert page.status_code == 200
    assert "张伟" not in page.text and "¥50.00" not in page.text


async def test_each_waiting_figure_links_to_the_list_it_counts(client, shop):
    await submit(shop["mine"], [("TP", 10)], "a1")  # approved
    part = await submit(shop["mine"], [("SG", 4)], "s1")
    await Order.update({Order.status: "partially_shipped"}).where(Order.id == part["id"])
    waiting = await submit(shop["hers"], [("SG", 1)], "p1")
    await Order.update({Order.status: "pending_approval"}).where(Order.id == waiting["id"])
    for username in ("zhang", "li", "boss", "fin", "root"):
        client.cookies.clear()
        await sign_in(client, username)
        page = await client.get("/reports", headers=ZH)
        section = page.text[page.text.index('id="r-waiting"') : page.text.index('id="r-series"')]
        assert 'href="/approvals"' not in section
        for status in ("pending_approval", "approved", "partially_shipped"):
            item = re.search(
                rf'<li[^>]*><a href="/orders\?status={status}">[^<]*</a><span>(\d+) 个订单',
                section,
            )
            assert item, (username, status, section)
            listed = await client.get("/orders", params={"status": status}, headers=ZH)
            numbers = set(re.findall(r"SO-\d{8}-\d{4}", listed.text))
            assert int(item.group(1)) == len(numbers), (username, status)
    # What the partly shipped order has still to ship: 4 × ¥15.00 (nothing went out yet).
    assert "¥60.00" in section


async def test_a_deactivated_dealer_that_owes_money_stays_in_the_exposure_table(client, shop):
    await submit(shop["mine"], [("TP", 20)], "m1")  # ¥100.00 open
    # ¥100.00 of a ¥89.21 limit: 112.1% used.
    await Dealer.update({Dealer.credit_limit_fen: 8921}).where(Dealer.id == shop["mine"]["id"])
    await Dealer.update({Dealer.balance_fen: 1_880_000, Dealer.active: False}).where(
        Dealer.id == shop["hers"]["id"]
    )
    await User.update({User.locale: "en"}).where(User.username == "fin")
    await sign_in(client, "fin")
    page = await client.get("/reports")
    credit = page.text[page.text.index('id="r-credit"') :]
    assert "南方商行" in credit and "inactive" in credit
    assert "1 dealer over its limit" in credit and "1 dealers" not in credit
    got = await client.get("/reports/export/exposure", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Dealer",
        "Code",
        "Credit limit",
        "Exposure",
        "Available credit",
        "Credit used (%)",
        "State",
    ]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["东方商行"][3:] == ["100.00", "-10.79", "112.1", "Over its limit"]
    assert by_name["南方商行"][3] == "18800.00" and by_name["南方商行"][6] == "Inactive"
    book = await client.get("/reports/export/exposure", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet.title == "Credit exposure"
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=4)}
    used = cells["东方商行"][5]
    assert isinstance(used.value, int | float) and used.value == pytest.approx(1.121)
    assert used.number_format == "0.0%"
    fin = await bearer(client, "fin")
    overview = (await client.get("/api/v1/reports/overview", headers=fin)).json()
    assert overview["exposure"] == "18900.00"
    listed = {e["name"]: e["active"] for e in overview["top_exposures"]}
    assert listed == {"东方商行": True, "南方商行": False}

    # No limit at all and owing: over it by all it owes, first in the table (not "100% used").
    await Dealer.update({Dealer.credit_limit_fen: 0}).where(Dealer.id == shop["hers"]["id"])
    page = await client.get("/reports")
    credit = page.text[page.text.index('id="r-credit"') :]
    assert "no credit limit: over by ¥18,800.00" in credit
    assert credit.index("南方商行") < credit.index("东方商行")
    assert "2 dealers over their limit" in credit
    got = await client.get("/reports/export/exposure", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[1][0] == "南方商行"
    assert rows[1][5:] == ["", "Over its limit · No credit limit · Inactive"]


async def test_a_categorys_quantity_only_where_its_units_add_up(client, shop):
    await submit(shop["mine"], [("TP", 10), ("SG", 2)], "c1")  # 10 支 and 2 瓶
    await sign_in(client, "root")
    got = await client.get("/reports/export/category", params={"format": "csv"}, headers=ZH)
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["名称", "订单", "数量", "单位", "销售额"]
    assert rows[1] == ["日化", "1", "", "", "80.00"]  # not "12"
    api = await client.get(
        "/api/v1/reports/sales", params={"by": "category"}, headers=await bearer(client, "root")
    )
    assert [(r["label"], r["qty"], r["unit"]) for r in api.json()["rows"]] == [("日化", None, "")]
    products = await client.get("/reports/export/product", params={"format": "csv"}, headers=ZH)
    lines = list(csv.reader(io.StringIO(products.content.decode("utf-8-sig"))))
    assert {(r[1], r[3], r[4]) for r in lines[1:]} == {("TP", "10", "支"), ("SG", "2", "瓶")}


async def test_excel_sheet_names_are_whole(client, shop):
    await submit(shop["mine"], [("TP", 10)], "x1")
    await User.update({User.locale: "en"}).where(User.username == "root")
    await sign_in(client, "root")
    for by, name in (("product", "Sales by product"), ("dealer", "Sales by dealer")):
        book = await client.get(
            f"/reports/export/{by}", params={"format": "xlsx", "preset": "this_year"}
        )
        sheet = load_workbook(io.BytesIO(book.content)).active
        assert sheet.title == name
        assert re.fullmatch(rf"{name} \d{{4}}-01-01 – \d{{4}}-\d\d-\d\d", sheet["A1"].value)
    book = await client.get("/reports/export/safety", params={"format": "xlsx"})
    assert load_workbook(io.BytesIO(book.content)).active.title == "Under safety stock"


async def test_an_end_date_alone_starts_on_the_first_of_its_month(client, shop):
    await sign_in(client, "fin")
    page = await client.get("/reports", params={"end": "2026-10-05"}, headers=ZH)
    assert page.status_code == 200 and "结束日期早于开始日期" not in page.text
    assert 'id="r-start" name="start" type="date" value="2026-10-01"' in page.text
    assert 'id="r-end" name="end" type="date" value="2026-10-05"' in page.text
    fin = await bearer(client, "fin")
    body = (
        await client.get("/api/v1/reports/overview", params={"end": "2026-10-05"}, headers=fin)
    ).json()
    assert (body["start"], body["end"]) == ("2026-10-01", "2026-10-05")
    bad = await client.get("/reports", params={"end": "2026-10-32"}, headers=ZH)
    assert bad.status_code == 422 and "请输入日期，例如 2026-11-25。" in bad.text
