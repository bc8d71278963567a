"""The orders list exports what it shows (its state and search, every page) as CSV or Excel,
each user only their own orders, formula-looking text inert."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from portal.domain import orders
from portal.domain.quantities import LineRequest
from tests import factories as f
from tests.http.conftest import sign_in


async def test_the_orders_list_exports_what_it_shows(client, db):
    tier = await f.tier()
    wh = await f.warehouse()
    a = await f.dealer(tier, name="=cmd|' /C calc'!A0", default_warehouse=wh)
    b = await f.dealer(tier, name="乙经销商", default_warehouse=wh)
    sku = await f.sku(code="W550", base_price_fen=150)
    await f.stock(sku, wh, on_hand=1000)
    buyer_a = f.actor(await f.user("dealer_buyer", a, username="buyer_a"))
    buyer_b = f.actor(await f.user("dealer_buyer", b, username="buyer_b"))
    placed = []
    for n in range(23):  # more than a page of the list
        placed.append(
            await orders.submit_order(
                buyer_a, None, [LineRequest(qty=n + 1, sku_id=sku["id"])], idempotency_key=f"a{n}"
            )
        )
    admin = f.actor(await f.user("admin"))  # approved: the supplier's staff cancel it
    await orders.cancel_order(admin, placed[0].order.id, reason="不要了")
    await orders.submit_order(
        buyer_b, None, [LineRequest(qty=1, sku_id=sku["id"])], idempotency_key="b"
    )

    await sign_in(client, "buyer_a")
    listing = await client.get("/orders")
    assert "/orders/export?format=csv&amp;status=" in listing.text
    r = await client.get("/orders/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["订单号", "下单时间", "经销商", "状态", "行数", "合计", "下单人", "业务员"]
    assert len(rows) == 1 + 23  # every page, dealer A's only
    assert rows[1][0] == placed[-1].order.number  # newest first
    assert all(row[2] == "'=cmd|' /C calc'!A0" for row in rows[1:])  # inert
    assert rows[-1][3] == "已取消" and rows[1][5] == "34.50"
    assert {row[6] for row in rows[1:]} == {buyer_a.name} and buyer_a.name
    assert {row[7] for row in rows[1:]} == {""}  # the dealer has no rep looking after it

    cancelled = await client.get("/orders/export", params={"format": "xlsx", "status": "cancelled"})
    assert cancelled.status_code == 200
    sheet = load_workbook(io.BytesIO(cancelled.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert [v[0] for v in values] == [placed[0].order.number]
    assert float(values[0][5]) == 1.5 and "¥" in sheet.cell(4, 6).number_format
    bad = await client.get("/orders/export", params={"status": "zzz"})
    assert (
        bad.status_code == 422 and "zzz" in bad.text and "text/html" in bad.headers["content-type"]
    )
    bad = await client.get("/orders/export", params={"format": "pdf"})
    assert bad.status_code == 422 and "请选择 CSV 或 Excel。" in bad.text


async def test_the_export_names_the_rep_looking_after_the_dealer_when_it_ordered(client, db):
    tier = await f.tier()
    wh = await f.warehouse()
    dealer = await f.dealer(tier, default_warehouse=wh)
    sku = await f.sku(code="W550", base_price_fen=150)
    await f.stock(sku, wh, on_hand=100)
    rep = await f.user("sales_rep", username="rep", display_name="张伟")
    await f.assign(rep, dealer)
    buyer = f.actor(await f.user("dealer_buyer", dealer, username="buyer"))
    await orders.submit_order(
        buyer, None, [LineRequest(qty=1, sku_id=sku["id"])], idempotency_key="a"
    )
    await sign_in(client, "rep")
    r = await client.get("/orders/export", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row[7] for row in rows[1:]] == ["张伟"]  # placed by the buyer, counted for the rep
