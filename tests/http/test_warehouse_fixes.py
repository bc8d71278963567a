"""Warehouse fixes over HTTP: a cancelled shipment prints nothing and reads as cancelled; the
packing page says what waits for stock; carrier and tracking corrected on the page and by
PATCH; blank fields on shipping keep what packing recorded; the stock page pages and filters
by warehouse; a warehouse user reads their own warehouses' stock only (pages and API)."""

from __future__ import annotations

import re

from portal.domain import shipments, staff
from portal.tables import AuditEntry, Order, OrderEvent, Shipment, Sku
from tests import factories as f
from tests.db.test_shipments import approved_order, fulfil_world
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

EN = {"Accept-Language": "en"}
ALL_DONE = "该订单已全部装箱或发货。"


async def world(*, on_hand1: int = 20, on_hand2: int = 100, qty: int = 10):
    w = await fulfil_world(on_hand1=on_hand1, on_hand2=on_hand2)
    await f.user("warehouse", username="clerk")
    await f.user("dealer_buyer", w.dealer, username="buyer")
    return w


async def pack(w, o, qty: int, **fields) -> shipments.ShipmentView:
    created = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={o["lines"][0]["id"]: qty}, **fields
    )
    return created.shipment


async def row(shipment_id: int) -> dict:
    return await Shipment.select().where(Shipment.id == shipment_id).first()


def stock_rows(html: str) -> list[str]:
    """The stock-level ids of the rows listed on a stock page."""
    return re.findall(r'class="card stock-row[^"]*" id="stock-(\d+)"', html)


# --- 1. a cancelled shipment ---------------------------------------------------------------


async def test_a_cancelled_shipment_prints_nothing_and_reads_as_cancelled(db, client):
    w = await world()
    o = await approved_order(w, qty=10)
    kept = await pack(w, o, 2)
    gone = await pack(w, o, 3, carrier="顺丰", tracking_no="SF1")
    await shipments.cancel_shipment(w.clerk, gone.id)

    await sign_in(client, "clerk")
    page = await client.get(f"/shipments/{gone.id}")
    assert page.status_code == 200
    assert "delivery-note.pdf" not in page.text and "status-cancelled" in page.text
    assert "print-only signature" not in page.text
    refused = await client.get(f"/shipments/{gone.id}/delivery-note.pdf")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("text/html")
    assert gone.number in refused.text
    # A packed shipment still has its button and its PDF.
    page = await client.get(f"/shipments/{kept.id}")
    assert f'href="/shipments/{kept.id}/delivery-note.pdf"' in page.text
    pdf = await client.get(f"/shipments/{kept.id}/delivery-note.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"

    clerk = await bearer(client, "clerk")
    body = assert_problem(
        await client.get(f"/api/v1/shipments/{gone.id}/delivery-note", headers={**clerk, **EN}),
        409,
        "conflict",
    )
    assert gone.number in body["detail"] and "cancelled" in body["detail"]
    ok = await client.get(f"/api/v1/shipments/{kept.id}/delivery-note", headers=clerk)
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/pdf"

    # The dealer: the cancelled parcel reads as cancelled, without carrier or tracking.
    client.cookies.clear()
    await sign_in(client, "buyer")
    listing = await client.get(f"/orders/{o['id']}/shipments", headers={"HX-Request": "true"})
    item = re.search(rf"<li[^>]*>\s*<a href=\"/shipments/{gone.id}\">.*?</li>", listing.text, re.S)
    assert item, listing.text
    assert "status-cancelled" in item.group(0) and "已取消" in item.group(0)
    assert "SF1" not in item.group(0) and "顺丰" not in item.group(0)
    assert (await client.get(f"/shipments/{gone.id}/delivery-note.pdf")).status_code == 409


# --- 2. backordered units on the packing page ------------------------------------------------


async def test_the_packing_page_says_what_waits_for_stock(db, client):
    w = await world(on_hand1=4, on_hand2=0)
    await Sku.update({Sku.allow_backorder: True}).where(Sku.id == w.sku["id"])
    o = await approved_order(w, qty=10)
    number = (await Order.select(Order.number).where(Order.id == o["id"]).first())["number"]
    await sign_in(client, "clerk")
    url = f"/warehouse/orders/{o['id']}?warehouse={w.wh1['id']}"
    page = await client.get(url)
    assert page.status_code == 200
    assert 'id="ship-form"' in page.text and 'id="backordered-note"' in page.text
    assert ALL_DONE not in page.text
    # The line shows what can ship now (4) and what waits for stock (6), not "left 4".
    line = re.search(r'<li class="pick-line.*?</li>', page.text, re.S).group(0)
    assert re.search(r"\b4\b", line) and re.search(r"\b6\b", line)
    assert "剩 4" not in line
    # Everything that can ship now is packed: the rest waits for stock, with the way there.
    await pack(w, o, 4)
    page = await client.get(url)
    assert 'id="ship-form"' not in page.text and ALL_DONE not in page.text
    note = re.search(r'id="backordered-note">(.*?)</p>', page.text, re.S).group(1)
    assert "6" in note
    link = re.search(r'href="(/backorders\?q=[^"]+)"', note)
    assert link, note
    assert link.group(1) == f"/backorders?q={number}"
    backorders = await client.get(link.group(1).replace("&amp;", "&"))
    assert backorders.status_code == 200 and number in backorders.text


async def test_the_old_sentence_stays_when_everything_is_packed_or_shipped(db, client):
    w = await world()
    o = await approved_order(w, qty=3)
    await pack(w, o, 3)
    await sign_in(client, "clerk")
    page = await client.get(f"/warehouse/orders/{o['id']}")
    assert ALL_DONE in page.text and 'id="backordered-note"' not in page.text


# --- 3. carrier and tracking number ----------------------------------------------------------


async def test_shipping_with_cleared_fields_keeps_them_and_staff_correct_them(db, client):
    w = await world()
    o = await approved_order(w, qty=10)
    sh = await pack(w, o, 4, carrier="顺丰", tracking_no="SF1")
    await sign_in(client, "clerk")
    page = await client.get(f"/shipments/{sh.id}")
    r = await client.post(
        f"/shipments/{sh.id}/ship",
        data={"_csrf_token": csrf_from(page.text), "carrier": "", "tracking_no": ""},
    )
    assert r.status_code == 200
    shipped = await row(sh.id)
    assert (shipped["status"], shipped["carrier"], shipped["tracking_no"]) == (
        "shipped",
        "顺丰",
        "SF1",
    )
    assert f'action="/shipments/{sh.id}/tracking"' in r.text

    # Refused: too long. Said on the page, nothing written.
    r = await client.post(
        f"/shipments/{sh.id}/tracking",
        data={"_csrf_token": csrf_from(r.text), "carrier": "中通", "tracking_no": "9" * 51},
    )
    assert r.status_code == 422 and "alert-error" in r.text
    assert (await row(sh.id))["tracking_no"] == "SF1"
    assert await AuditEntry.count().where(AuditEntry.action == "shipment.tracking_corrected") == 0

    r = await client.post(
        f"/shipments/{sh.id}/tracking",
        data={"_csrf_token": csrf_from(r.text), "carrier": "中通", "tracking_no": "ZT2"},
    )
    assert r.status_code == 200
    fixed = await row(sh.id)
    assert (fixed["carrier"], fixed["tracking_no"]) == ("中通", "ZT2")
    assert await AuditEntry.count().where(AuditEntry.action == "shipment.tracking_corrected") == 1

    # The dealer sees the new number, and on the timeline what it was; they cannot change it.
    client.cookies.clear()
    await sign_in(client, "buyer")
    listing = await client.get(f"/orders/{o['id']}/shipments", headers={"HX-Request": "true"})
    assert "中通 ZT2" in listing.text and "SF1" not in listing.text
    order_page = await client.get(f"/orders/{o['id']}")
    assert "顺丰 SF1 → 中通 ZT2" in order_page.text
    page = await client.get(f"/shipments/{sh.id}")
    assert "/tracking" not in page.text
    r = await client.post(
        f"/shipments/{sh.id}/tracking",
        data={"_csrf_token": csrf_from(order_page.text), "tracking_no": "X"},
    )
    assert r.status_code == 403
    assert (await row(sh.id))["tracking_no"] == "ZT2"


async def test_correcting_carrier_and_tracking_through_the_api(db, client):
    w = await world()
    o = await approved_order(w, qty=10)
    sh = await pack(w, o, 4, carrier="顺丰", tracking_no="SF1")
    clerk = await bearer(client, "clerk")
    buyer = await bearer(client, "buyer")
    url = f"/api/v1/shipments/{sh.id}"

    # Packed: it takes its numbers when shipped. Nothing written.
    assert_problem(
        await client.patch(url, json={"tracking_no": "X"}, headers=clerk), 409, "conflict"
    )
    # Shipping with empty fields keeps what packing recorded.
    r = await client.post(f"{url}/ship", json={"carrier": "", "tracking_no": ""}, headers=clerk)
    assert r.status_code == 200 and (r.json()["carrier"], r.json()["tracking_no"]) == (
        "顺丰",
        "SF1",
    )

    r = await client.patch(url, json={"tracking_no": "SF2"}, headers=clerk)
    assert r.status_code == 200, r.text
    assert (r.json()["carrier"], r.json()["tracking_no"]) == ("顺丰", "SF2")
    assert (await client.get(url, headers=buyer)).json()["tracking_no"] == "SF2"
    events = await OrderEvent.select().where(OrderEvent.kind == "shipment_tracking_changed")
    assert [e["note"] for e in events] == [f"{sh.number}\n顺丰 SF1 → 顺丰 SF2"]

    for body, headers, status, kind in (
        ({"tracking_no": "9" * 51}, clerk, 400, "validation"),
        ({"tracking_no": 42}, clerk, 400, "validation"),
        ({"tracking_no": "X"}, buyer, 403, "forbidden"),
    ):
        r = await client.patch(url, json=body, headers={**headers, **EN})
        assert_problem(r, status, kind)
    assert (await row(sh.id))["tracking_no"] == "SF2"
    assert_problem(
        await client.patch("/api/v1/shipments/987654", json={"tracking_no": "X"}, headers=clerk),
        404,
        "not-found",
    )
    assert await AuditEntry.count().where(AuditEntry.action == "shipment.tracking_corrected") == 1


# --- 4. the stock page: pages and a warehouse filter -------------------------------------------


async def test_the_stock_page_pages_and_filters_by_warehouse(db, client):
    w = await world(on_hand1=5, on_hand2=5)
    for n in range(60):
        await f.stock(await f.sku(code=f"M{n:03d}", pack=None), w.wh1, n + 1)
    await sign_in(client, "clerk")  # given no warehouses: all of them
    first = await client.get("/stock")
    assert first.status_code == 200
    assert len(stock_rows(first.text)) == 50
    assert "仅显示前" not in first.text
    assert 'rel="next" href="/stock?page=2"' in first.text
    assert 'id="stock-warehouse"' in first.text
    for wh in (w.wh1, w.wh2):
        assert f'<option value="{wh["id"]}"' in first.text
    second = await client.get("/stock?page=2")
    assert len(stock_rows(second.text)) == 14 and 'rel="prev"' in second.text
    assert not set(stock_rows(first.text)) & set(stock_rows(second.text))
    # Past the last page: the last page.
    assert stock_rows((await client.get("/stock?page=99")).text) == stock_rows(second.text)

    only_w2 = await client.get(f"/stock?warehouse={w.wh2['id']}")
    assert len(stock_rows(only_w2.text)) == 2
    assert f'<option value="{w.wh2["id"]}" selected' in only_w2.text
    assert f'name="warehouse_id" value="{w.wh1["id"]}"' not in only_w2.text
    # The filter and the search travel with the pages.
    paged = await client.get(f"/stock?q=M0&warehouse={w.wh1['id']}")
    assert len(stock_rows(paged.text)) == 50
    assert f"/stock?q=M0&amp;warehouse={w.wh1['id']}&amp;page=2" in paged.text
    fragment = await client.get(
        f"/stock?q=M0&warehouse={w.wh1['id']}&page=2", headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<div id="stock-rows">')
    assert len(stock_rows(fragment.text)) == 10 and 'rel="prev"' in fragment.text
    # Any other ?warehouse= lists them all; a warehouse that does not exist is not found.
    assert len(stock_rows((await client.get("/stock?warehouse=")).text)) == 50
    assert (await client.get("/stock?warehouse=987654")).status_code == 404


# --- 5. a warehouse user's own warehouses --------------------------------------------------


async def test_a_warehouse_user_reads_their_own_warehouses_stock_only(db, client):
    w = await world(on_hand1=5, on_hand2=50)
    admin = f.actor(await f.user("admin"))
    east = await f.user("warehouse", username="east")
    await staff.update_staff(
        admin,
        east["id"],
        staff.StaffInput(display_name="东仓", role="warehouse", warehouse_ids=(w.wh1["id"],)),
    )
    await Sku.update({Sku.safety_stock: 20}).where(Sku.id == w.sku["id"])
    await sign_in(client, "east")
    page = await client.get("/stock")
    assert page.status_code == 200
    assert len(stock_rows(page.text)) == 2
    assert f'name="warehouse_id" value="{w.wh2["id"]}"' not in page.text
    assert "华南仓" not in page.text
    assert (await client.get(f"/stock?warehouse={w.wh2['id']}")).status_code == 404

    token = await bearer(client, "east")
    listed = await client.get("/api/v1/stock", headers=token)
    assert listed.status_code == 200
    assert {i["warehouse_id"] for i in listed.json()["items"]} == {w.wh1["id"]}
    assert_problem(
        await client.get(f"/api/v1/stock?warehouse_id={w.wh2['id']}", headers=token),
        404,
        "not-found",
    )
    alerts = (await client.get("/api/v1/stock/alerts", headers=token)).json()
    assert [(a["sku_code"], a["available"]) for a in alerts] == [("A100", 5)]
    assert [x["warehouse_id"] for x in alerts[0]["warehouses"]] == [w.wh1["id"]]
    # Given none: every warehouse, as before (A100: 55 available, not under 20).
    everyone = await bearer(client, "clerk")
    listed = (await client.get("/api/v1/stock", headers=everyone)).json()["items"]
    assert {i["warehouse_id"] for i in listed} == {w.wh1["id"], w.wh2["id"]}
    assert (await client.get("/api/v1/stock/alerts", headers=everyone)).json() == []


async def test_a_warehouse_user_exports_their_warehouses_stock_only(db, client):
    w = await world(on_hand1=5, on_hand2=50)
    admin = f.actor(await f.user("admin"))
    east = await f.user("warehouse", username="east")
    await staff.update_staff(
        admin,
        east["id"],
        staff.StaffInput(display_name="东仓", role="warehouse", warehouse_ids=(w.wh1["id"],)),
    )
    token = await bearer(client, "east")
    exported = await client.get("/api/v1/data/stock", params={"format": "csv"}, headers=token)
    assert exported.status_code == 200
    assert "W1" in exported.text and "W2" not in exported.text
    everyone = await bearer(client, "clerk")
    exported = await client.get("/api/v1/data/stock", params={"format": "csv"}, headers=everyone)
    assert "W1" in exported.text and "W2" in exported.text


# --- 6. receiving a product the warehouse never held -----------------------------------------


async def test_a_product_new_to_a_warehouse_is_received_from_the_stock_page(db, client):
    w = await world()
    new = await f.sku(code="N900", name="新品气泡水", pack=None, barcode="6901234567892")
    await sign_in(client, "clerk")
    searched = await client.get("/stock?q=n900")
    assert stock_rows(searched.text) == []
    # Nothing listed for the search: the form to receive it is open, the code filled in.
    assert '<details class="card receive-new" id="receive-new" open>' in searched.text
    assert re.search(r'id="new-sku"[^>]*value="n900"', searched.text)
    token = csrf_from(searched.text)
    form = {
        "reason": "receipt",
        "stock_level_id": "receive",
        "idempotency_key": "rcv-1",
        "warehouse_id": str(w.wh2["id"]),
        "qty": "36",
        "note": "首批到货",
        "_csrf_token": token,
    }
    unknown = await client.post("/stock/adjust", data={**form, "sku_code": "NOPE"})
    assert unknown.status_code == 422
    assert re.search(r'id="err-new-sku">[^<]*没有', unknown.text), unknown.text[-2000:]
    assert '<details class="card receive-new" id="receive-new" open>' in unknown.text
    assert 'value="NOPE"' in unknown.text and 'value="36"' in unknown.text
    assert await AuditEntry.count().where(AuditEntry.action == "stock.receipt") == 0

    by_barcode = await client.post("/stock/adjust", data={**form, "sku_code": "6901234567892"})
    assert by_barcode.status_code == 200 and "N900" in by_barcode.text
    rows = stock_rows(by_barcode.text)
    assert len(rows) == 1
    from portal.tables import StockLevel

    level = await StockLevel.select().where(StockLevel.sku == new["id"]).first()
    assert (level["warehouse"], level["on_hand"], level["reserved"]) == (w.wh2["id"], 36, 0)
    # The same form sent again: received once.
    await client.post("/stock/adjust", data={**form, "sku_code": "6901234567892"})
    level = await StockLevel.select().where(StockLevel.sku == new["id"]).first()
    assert level["on_hand"] == 36


async def test_the_shipment_form_sent_twice_packs_ships_and_invoices_once(db, client):
    w = await world()
    o = await approved_order(w, qty=10)
    await sign_in(client, "clerk")
    page = await client.get(f"/warehouse/orders/{o['id']}?warehouse={w.wh1['id']}")
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page.text).group(1)
    line = o["lines"][0]["id"]
    form = {
        "_csrf_token": csrf_from(page.text),
        "idempotency_key": key,
        "warehouse": str(w.wh1["id"]),
        f"qty_{line}": "4",
        "carrier": "顺丰",
        "tracking_no": "SF555",
        "ship_now": "1",
    }
    first = await client.post(f"/warehouse/orders/{o['id']}", data=form, follow_redirects=False)
    second = await client.post(f"/warehouse/orders/{o['id']}", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await Shipment.count() == 1
    assert (await Shipment.select(Shipment.status).first())["status"] == "shipped"
    from portal.tables import Dealer, LedgerEntry

    assert await LedgerEntry.count().where(LedgerEntry.kind == "invoice") == 1
    balance = await Dealer.select(Dealer.balance_fen).where(Dealer.id == w.dealer["id"]).first()
    assert balance["balance_fen"] == 4 * (o["total_fen"] // 10)
    # The same form with other quantities (Back, changed, sent): refused, nothing more made.
    other = await client.post(
        f"/warehouse/orders/{o['id']}", data={**form, f"qty_{line}": "5"}, follow_redirects=False
    )
    assert other.status_code == 409 and 'name="idempotency_key" value="' in other.text
    assert key not in other.text
    assert await Shipment.count() == 1
