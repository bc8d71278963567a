"""Warehouse and shipment pages: queue, packing, shipping, receipt, PDF, stock, safety stock,
the alert list and pick lists; scope and roles."""

from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
import zxingcpp
from pypdf import PdfReader

from portal.domain import orders, shipments
from portal.domain.quantities import LineRequest
from portal.tables import AuditEntry, Order, OrderLine, Shipment, Sku, StockLevel
from tests import factories as f
from tests.db.test_shipments import NOW, approved_order, fulfil_world, stock_of
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer


def any_token(html: str) -> str:
    """The CSRF token of a page, from a form or from the htmx headers on <body>."""
    match = re.search(r'"x-csrftoken": "([^"]+)"', html)
    return match.group(1) if match else csrf_from(html)


async def setup(client):
    w = await fulfil_world(on_hand1=6, on_hand2=100)
    await f.user("warehouse", username="clerk")
    await f.user("dealer_buyer", w.dealer, username="buyer")
    other = await f.dealer(w.tier)
    await f.user("dealer_buyer", other, username="stranger")
    o = await approved_order(w, qty=10)
    return w, o


async def adjust_form(client, w, *, reason: str, qty: str) -> dict[str, str]:
    """What the stock page's adjust form sends for A100 at W1 (its CSRF token read off it)."""
    page = await client.get("/stock?q=A100")
    row = (
        await StockLevel.select()
        .where((StockLevel.sku == w.sku["id"]) & (StockLevel.warehouse == w.wh1["id"]))
        .first()
    )
    return {
        "_csrf_token": csrf_from(page.text),
        "warehouse_id": str(w.wh1["id"]),
        "sku_id": str(w.sku["id"]),
        "stock_level_id": str(row["id"]),
        "reason": reason,
        "qty": qty,
        "q": "A100",
    }


async def form_token(client, url: str) -> str:
    page = await client.get(url)
    assert page.status_code == 200, page.text[:500]
    return csrf_from(page.text)


def codes_in(document: bytes) -> list[dict[str, str]]:
    """What a scanner reads off each page printed at 300 dpi: {format: text} of every code."""
    pages = []
    for page in pdfium.PdfDocument(document):
        image = page.render(scale=300 / 72).to_pil()
        pages.append({code.format.name: code.text for code in zxingcpp.read_barcodes(image)})
    return pages


async def test_warehouse_splits_and_dealer_confirms(db, client):
    w, o = await setup(client)
    line = o["lines"][0]
    await sign_in(client, "clerk")
    queue = await client.get("/warehouse")
    assert queue.status_code == 200 and f"/warehouse/orders/{o['id']}" in queue.text

    page = await client.get(f"/warehouse/orders/{o['id']}?warehouse={w.wh1['id']}")
    assert page.status_code == 200
    assert f'name="qty_{line["id"]}"' in page.text and 'value="6"' in page.text
    token = csrf_from(page.text)
    r = await client.post(
        f"/warehouse/orders/{o['id']}",
        data={
            "_csrf_token": token,
            "warehouse": str(w.wh1["id"]),
            f"qty_{line['id']}": "6",
            "carrier": "顺丰",
            "tracking_no": "SF1",
            "ship_now": "1",
        },
    )
    assert r.status_code == 200 and "SF1" in r.text
    first = await Shipment.select().order_by(Shipment.id).first()
    assert first["status"] == "shipped"
    assert await stock_of(w.sku, w.wh1) == (0, 0)

    # Second shipment from W2: packed, then shipped from its page.
    token = await form_token(client, f"/warehouse/orders/{o['id']}?warehouse={w.wh2['id']}")
    r = await client.post(
        f"/warehouse/orders/{o['id']}",
        data={"_csrf_token": token, "warehouse": str(w.wh2["id"]), f"qty_{line['id']}": "4"},
    )
    assert r.status_code == 200
    second = await Shipment.select().order_by(Shipment.id, ascending=False).first()
    assert second["status"] == "packed"
    token = csrf_from(r.text)
    r = await client.post(
        f"/shipments/{second['id']}/ship",
        data={"_csrf_token": token, "carrier": "中通", "tracking_no": "ZT2"},
    )
    assert r.status_code == 200
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "shipped"
    # The carrier reports the second parcel delivered: the warehouse marks it so.
    assert f'action="/shipments/{second["id"]}/deliver"' in r.text
    r = await client.post(
        f"/shipments/{second['id']}/deliver", data={"_csrf_token": csrf_from(r.text)}
    )
    assert r.status_code == 200 and "已送达" in r.text
    assert f'action="/shipments/{second["id"]}/deliver"' not in r.text

    pdf = await client.get(f"/shipments/{first['id']}/delivery-note.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert first["number"] in text and "A100" in text
    # On each page a phone's camera opens the shipment from the QR code, and a scanner reads
    # the shipment's number from the barcode.
    page_url = f"http://testserver.local/shipments/{first['id']}"
    codes = {"QRCode": page_url, "Code128": first["number"]}
    assert codes_in(pdf.content) == [codes, codes]

    # The dealer sees both shipments, confirms one.
    await client.post("/logout", data={"_csrf_token": token})
    client.cookies.clear()
    await sign_in(client, "buyer")
    listing = await client.get(f"/orders/{o['id']}/shipments", headers={"HX-Request": "true"})
    assert first["number"] in listing.text and second["number"] in listing.text
    # Each shipment waiting for the dealer's receipt has a button to it.
    assert f'href="/shipments/{first["id"]}#receipt-form"' in listing.text
    page = await client.get(f"/shipments/{first['id']}")
    assert page.status_code == 200 and "/receipt" in page.text
    r = await client.post(
        f"/shipments/{first['id']}/receipt",
        data={"_csrf_token": csrf_from(page.text), "confirm": "1"},
    )
    assert r.status_code == 200
    assert (await Shipment.select().where(Shipment.id == first["id"]).first())[
        "status"
    ] == "received"
    assert (await Order.select().where(Order.id == o["id"]).first())["status"] == "shipped"
    # Discrepancy needs a note: refused inline, nothing written.
    page = await client.get(f"/shipments/{second['id']}")
    r = await client.post(
        f"/shipments/{second['id']}/receipt",
        data={"_csrf_token": csrf_from(page.text), "discrepancy": "1", "note": ""},
    )
    assert r.status_code == 422
    assert (await Shipment.select().where(Shipment.id == second["id"]).first())[
        "status"
    ] == "delivered"


async def test_bad_quantities_show_errors_and_write_nothing(db, client):
    w, o = await setup(client)
    line = o["lines"][0]
    await sign_in(client, "clerk")
    for qty in ("abc", "-3", "11", "0"):
        token = await form_token(client, f"/warehouse/orders/{o['id']}")
        r = await client.post(
            f"/warehouse/orders/{o['id']}",
            data={"_csrf_token": token, "warehouse": str(w.wh1["id"]), f"qty_{line['id']}": qty},
        )
        assert r.status_code == 422, qty
        assert "field-error" in r.text
    assert await Shipment.count() == 0


async def test_a_huge_quantity_is_told_what_is_left(db, client):
    """10^15 in a shipment's quantity is more than remains (with the figure), not "not a whole
    number"; nothing is written."""
    w, o = await setup(client)
    line = o["lines"][0]
    await sign_in(client, "clerk")
    token = await form_token(client, f"/warehouse/orders/{o['id']}")
    r = await client.post(
        f"/warehouse/orders/{o['id']}",
        data={
            "_csrf_token": token,
            "warehouse": str(w.wh1["id"]),
            f"qty_{line['id']}": "1" + "0" * 15,
        },
    )
    assert r.status_code == 422
    assert "1000000000000000" in r.text, r.text[-3000:]
    assert "Enter a whole number" not in r.text and "请输入整数" not in r.text
    assert await Shipment.count() == 0


async def test_dealers_cannot_see_or_make_other_shipments(db, client):
    w, o = await setup(client)
    line = o["lines"][0]
    from portal.domain import shipments

    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 6}
        )
    ).shipment
    await sign_in(client, "stranger")
    assert (await client.get(f"/shipments/{sh.id}")).status_code == 404
    assert (await client.get(f"/shipments/{sh.id}/delivery-note.pdf")).status_code == 404
    assert (await client.get(f"/orders/{o['id']}/shipments")).status_code == 404
    client.cookies.clear()
    await sign_in(client, "buyer")
    assert (await client.get("/warehouse")).status_code == 403
    assert (await client.get("/stock")).status_code == 403
    page = await client.get(f"/shipments/{sh.id}")
    assert page.status_code == 200 and "/ship" not in page.text.replace("/shipments", "")
    r = await client.post(
        f"/warehouse/orders/{o['id']}",
        data={
            "_csrf_token": any_token(page.text),
            "warehouse": str(w.wh1["id"]),
            f"qty_{line['id']}": "1",
        },
    )
    assert r.status_code == 403
    r = await client.post(f"/shipments/{sh.id}/ship", data={"_csrf_token": any_token(page.text)})
    assert r.status_code == 403
    assert (await Shipment.select().where(Shipment.id == sh.id).first())["status"] == "packed"


async def test_stock_page_and_adjust(db, client):
    w, o = await setup(client)
    await sign_in(client, "clerk")
    page = await client.get("/stock?q=A100")
    assert page.status_code == 200 and "A100" in page.text and "B200" not in page.text
    data = await adjust_form(client, w, reason="receipt", qty="20")
    row = {"id": int(data["stock_level_id"])}
    r = await client.post("/stock/adjust", data=data)
    assert r.status_code == 200
    assert await stock_of(w.sku, w.wh1) == (26, 6)
    r = await client.post("/stock/adjust", data={**data, "qty": "lots"})
    assert r.status_code == 422
    assert await stock_of(w.sku, w.wh1) == (26, 6)
    assert await AuditEntry.count().where(AuditEntry.action == "stock.receipt") == 1
    # The form carries a key per row: sent twice (a double tap, a resend), it counts once.
    page = await client.get("/stock?q=A100")
    key = re.search(rf'name="idempotency_key" value="([0-9a-f]+-{row["id"]})"', page.text).group(1)
    keyed = {**data, "_csrf_token": csrf_from(page.text), "idempotency_key": key, "qty": "4"}
    for _ in range(2):
        r = await client.post("/stock/adjust", data=keyed)
        assert r.status_code == 200
    assert await stock_of(w.sku, w.wh1) == (30, 6)
    # The same key with other figures is refused with a message, and changes nothing.
    r = await client.post("/stock/adjust", data={**keyed, "qty": "9"})
    assert r.status_code == 200 and "幂等键" in r.text
    assert await stock_of(w.sku, w.wh1) == (30, 6)


async def test_moving_stock_to_another_warehouse_from_the_stock_page(db, client):
    w, o = await setup(client)  # W1: 6 on hand, all 6 reserved; W2: 100 on hand, 4 reserved
    await sign_in(client, "clerk")
    page = await client.get("/stock?q=A100")
    row = (
        await StockLevel.select()
        .where((StockLevel.sku == w.sku["id"]) & (StockLevel.warehouse == w.wh2["id"]))
        .first()
    )
    # Only a row with free stock offers the move, to the other warehouse.
    assert page.text.count('action="/stock/transfer"') == 1
    assert f'<option value="{w.wh1["id"]}">华东仓</option>' in page.text
    data = {
        "_csrf_token": csrf_from(page.text),
        "warehouse_id": str(w.wh2["id"]),
        "to_warehouse_id": str(w.wh1["id"]),
        "sku_id": str(w.sku["id"]),
        "stock_level_id": str(row["id"]),
        "qty": "97",
        "q": "A100",
    }
    r = await client.post("/stock/transfer", data=data)
    assert r.status_code == 422 and "最多可调拨 96" in r.text
    assert await stock_of(w.sku, w.wh2) == (100, 4)
    r = await client.post("/stock/transfer", data={**data, "qty": "30", "note": "补上海"})
    assert r.status_code == 200 and "A100 已调拨" in r.text
    assert await stock_of(w.sku, w.wh2) == (70, 4)
    assert await stock_of(w.sku, w.wh1) == (36, 6)


async def test_moving_stock_through_the_api(db, client):
    w, o = await setup(client)
    headers = {**await bearer(client, "clerk"), "Idempotency-Key": "move-1"}
    body = {
        "sku_id": w.sku["id"],
        "from_warehouse_id": w.wh2["id"],
        "to_warehouse_id": w.wh1["id"],
        "qty": 10,
        "note": "补上海",
    }
    for _ in range(2):
        r = await client.post("/api/v1/stock/transfer", json=body, headers=headers)
        assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["from_stock"]["on_hand"], moved["to_stock"]["on_hand"]) == (90, 16)
    assert await stock_of(w.sku, w.wh1) == (16, 6)
    r = await client.post(
        "/api/v1/stock/transfer",
        json={**body, "qty": 500},
        headers={**headers, "Idempotency-Key": "move-2"},
    )
    problem = assert_problem(r, 422, "validation")
    assert problem["errors"][0]["field"] == "qty"
    buyer = await bearer(client, "buyer")
    r = await client.post("/api/v1/stock/transfer", json=body, headers=buyer)
    assert r.status_code == 403
    assert await stock_of(w.sku, w.wh2) == (90, 4)


# --- safety stock, the alert list and pick lists ------------------------------------------


async def safety_of(sku: dict) -> int:
    return (await Sku.select(Sku.safety_stock).where(Sku.id == sku["id"]).first())["safety_stock"]


async def test_safety_stock_form_without_and_with_htmx(db, client):
    w, o = await setup(client)  # A100: 6 at W1 (all reserved) + 96 free at W2
    await sign_in(client, "clerk")
    page = await client.get("/stock?q=A100")
    url = f"/stock/{w.sku['id']}/safety-stock"
    assert page.status_code == 200 and f'action="{url}"' in page.text
    assert page.text.count(f'id="safety-{w.sku["id"]}"') == 1  # once per SKU, not per row
    token = csrf_from(page.text)

    # Plain form: saved, back where it came from, with a message.
    r = await client.post(
        url, data={"_csrf_token": token, "safety_stock": "150", "next": "/stock/alerts"}
    )
    assert r.status_code == 200 and str(r.url).endswith("/stock/alerts")
    assert "A100" in r.text and "150" in r.text
    assert await safety_of(w.sku) == 150

    # htmx: the form alone comes back, saved.
    r = await client.post(
        url, data={"_csrf_token": token, "safety_stock": "20"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200 and r.text.lstrip().startswith("<form")
    assert "safety-saved" in r.text and "<html" not in r.text
    assert await safety_of(w.sku) == 20

    # Bad input: refused with the reason, as the page or as the fragment; nothing written.
    audits = await AuditEntry.count()
    for value in ("-1", "abc", "", "1.5", "99999999999", "10000001"):
        r = await client.post(url, data={"_csrf_token": token, "safety_stock": value})
        assert r.status_code == 422, value
        assert "field-error" in r.text and "<html" in r.text
        r = await client.post(
            url,
            data={"_csrf_token": token, "safety_stock": value},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 422 and "field-error" in r.text and "<html" not in r.text
    assert await safety_of(w.sku) == 20
    assert await AuditEntry.count() == audits
    entries = await AuditEntry.select().where(AuditEntry.action == "sku.safety_stock")
    assert len(entries) == 2

    # Another site as the return address is ignored.
    r = await client.post(
        url,
        data={"_csrf_token": token, "safety_stock": "21", "next": "//evil.example/stock"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/stock?q=A100"
    assert (await client.get("/stock/987654/safety-stock")).status_code == 404
    r = await client.post(
        "/stock/987654/safety-stock", data={"_csrf_token": token, "safety_stock": "1"}
    )
    assert r.status_code == 404


async def test_safety_stock_refused_for_dealers(db, client):
    w, o = await setup(client)
    await sign_in(client, "buyer")
    page = await client.get("/orders")
    token = any_token(page.text)
    url = f"/stock/{w.sku['id']}/safety-stock"
    assert (await client.get(url)).status_code == 403
    r = await client.post(url, data={"_csrf_token": token, "safety_stock": "5"})
    assert r.status_code == 403
    assert (await client.get("/stock/alerts")).status_code == 403
    assert (await client.get("/warehouse/pick-list")).status_code == 403
    assert (await client.get("/warehouse/pick-list?format=pdf")).status_code == 403
    assert await safety_of(w.sku) == 0
    assert await AuditEntry.count().where(AuditEntry.action == "sku.safety_stock") == 0


async def test_alert_list_one_tap_from_the_queue(db, client):
    w, o = await setup(client)  # A100: 96 available over W1 and W2; B200: 106
    await Sku.update({Sku.safety_stock: 100}).where(Sku.id == w.sku["id"])
    await Sku.update({Sku.safety_stock: 50}).where(Sku.id == w.sku2["id"])
    await sign_in(client, "clerk")
    queue = await client.get("/warehouse")
    assert queue.status_code == 200
    badge = re.search(
        r'href="/stock/alerts">[^<]*<span class="count-badge"[^>]*>(\d+)<', queue.text
    )
    assert badge and badge.group(1) == "1"
    alerts = await client.get("/stock/alerts")
    assert alerts.status_code == 200
    assert f'id="alert-{w.sku["id"]}"' in alerts.text and "A100" in alerts.text
    assert "B200" not in alerts.text
    assert f'action="/stock/{w.sku["id"]}/safety-stock"' in alerts.text
    # The stock page links to it too, with the same count.
    assert 'href="/stock/alerts"' in (await client.get("/stock")).text
    await Sku.update({Sku.safety_stock: 0}).where(Sku.id == w.sku["id"])
    queue = await client.get("/warehouse")
    assert 'href="/stock/alerts"' in queue.text and "count-badge" not in queue.text
    assert 'href="/backorders"' in queue.text
    assert f'id="alert-{w.sku["id"]}"' not in (await client.get("/stock/alerts")).text


async def test_pick_list_page(db, client):
    w, o = await setup(client)  # order o: A100 × 10, 6 reserved at W1 and 4 at W2
    await sign_in(client, "clerk")
    queue = await client.get("/warehouse")
    assert 'action="/warehouse/pick-list"' in queue.text
    assert f'name="order" value="{o["id"]}" form="pick-form"' in queue.text
    page = await client.get(f"/warehouse/pick-list?warehouse={w.wh1['id']}")
    assert page.status_code == 200
    item = re.search(r'<li class="card picklist-item">(.*?)</li>', page.text, re.S)
    assert item and "A100" in item.group(1) and "<strong>6</strong>" in item.group(1)
    page = await client.get(f"/warehouse/pick-list?warehouse={w.wh2['id']}&order={o['id']}")
    assert page.status_code == 200 and "<strong>4</strong>" in page.text
    assert f'name="order" value="{o["id"]}"' in page.text  # the choice is kept
    assert 'src="/static/js/picklist.js"' in page.text
    pdf_link = (
        f'href="/warehouse/pick-list?warehouse={w.wh2["id"]}&amp;order={o["id"]}&amp;format=pdf"'
    )
    assert pdf_link in page.text
    pdf = await client.get(f"/warehouse/pick-list?warehouse={w.wh1['id']}&format=pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    number = (await Order.select(Order.number).where(Order.id == o["id"]).first())["number"]
    assert "A100" in text and "6 瓶" in text and number in text
    # Another order only: nothing to pick; junk ids are ignored; an unknown warehouse is 404.
    page = await client.get(f"/warehouse/pick-list?warehouse={w.wh2['id']}&order=987654&order=x")
    assert page.status_code == 200 and "picklist-item" not in page.text
    assert (await client.get("/warehouse/pick-list?warehouse=987654")).status_code == 404
    css = await client.get("/static/css/fulfilment.css")
    assert ".picklist-item { break-inside: avoid" in css.text


async def test_packing_list_counts_packs_and_long_names_keep_to_their_column(db, client):
    w = await fulfil_world()
    long_name = "润川 特级高山云雾冷泡绿茶饮料 无糖零卡路里清爽口味 家庭分享装 超大容量 1.5L 整箱"
    boxed = await f.sku(
        code="L300", name=long_name, base_price_fen=300, pack=("箱", 4), weight_g=1550
    )
    await f.stock(boxed, w.wh1, 100)
    await f.user("warehouse", username="clerk")
    result = await orders.submit_order(
        w.buyer, None, [LineRequest(qty=10, sku_id=boxed["id"])], idempotency_key="p1", now=NOW
    )
    line = (await OrderLine.select().where(OrderLine.order == result.order.id))[0]
    # The packer reads what is left in packs too.
    await sign_in(client, "clerk")
    plan = await client.get(f"/warehouse/orders/{result.order.id}?warehouse={w.wh1['id']}")
    assert "待装 2 箱 + 2 瓶" in plan.text
    sh = await shipments.create_shipment(
        w.clerk, result.order.id, warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
    )
    pdf = await client.get(f"/shipments/{sh.shipment.id}/delivery-note.pdf")
    assert pdf.status_code == 200
    delivery, packing = (p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    # The packing list says how the 10 瓶 pack: two full 箱 and two loose 瓶.
    assert "10 瓶 (2 箱 + 2 瓶)" in packing
    # The name is cut to its column (an ellipsis) rather than printed over the quantity.
    assert long_name not in delivery and "…" in delivery
    assert "10 瓶" in delivery
    # The carrier's figure: 10 × 1,550 g.
    assert "重量: 15.5 kg" in delivery and "重量: 15.5 kg" in packing
    page = await client.get(f"/shipments/{sh.shipment.id}")
    assert "15.5 kg" in page.text and "2 箱 + 2 瓶" in page.text


async def test_no_weight_when_a_line_has_none(db, client):
    """A total that leaves a SKU without a weight out would mislead the carrier: none then."""
    w = await fulfil_world()
    await Sku.update({Sku.weight_g: 500}).where(Sku.id == w.sku["id"])
    o = await approved_order(w, qty=4, qty2=2)
    a, b = o["lines"]
    sh = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={a["id"]: 4}, now=NOW
    )
    assert sh.shipment.weight_g == 2000
    both = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={b["id"]: 2}, now=NOW
    )
    assert both.shipment.weight_g is None
    await f.user("warehouse", username="clerk")
    await sign_in(client, "clerk")
    assert "2 kg" in (await client.get(f"/shipments/{sh.shipment.id}")).text
    assert "重量" not in (await client.get(f"/shipments/{both.shipment.id}")).text


async def test_a_dealers_home_lists_the_parcels_to_confirm(db, client):
    w, o = await setup(client)
    line = o["lines"][0]
    from portal.domain import shipments

    async def parcel(warehouse: dict, qty: int, ship: bool) -> dict:
        made = await shipments.create_shipment(
            w.clerk,
            o["id"],
            warehouse_id=warehouse["id"],
            quantities={line["id"]: qty},
            carrier="顺丰",
            tracking_no=f"SF{qty}",
        )
        if ship:
            await shipments.ship(w.clerk, made.shipment.id)
        return await Shipment.select().where(Shipment.id == made.shipment.id).first()

    on_its_way = await parcel(w.wh1, 6, ship=True)
    packed = await parcel(w.wh2, 4, ship=False)
    await sign_in(client, "buyer")
    home = (await client.get("/")).text
    assert "待签收（1）" in home and "顺丰 SF6" in home
    assert f'href="/shipments/{on_its_way["id"]}#receipt-form"' in home
    assert packed["number"] not in home  # still in the warehouse
    client.cookies.clear()
    await sign_in(client, "stranger")
    assert "待签收" not in (await client.get("/")).text

    client.cookies.clear()
    await sign_in(client, "buyer")
    await shipments.confirm_receipt(w.buyer, on_its_way["id"])
    assert "待签收" not in (await client.get("/")).text


async def test_orders_with_a_parcel_to_confirm_have_a_filter_of_their_own(db, client, monkeypatch):
    """待签收: the orders list (page, export and API) filters the orders with a parcel shipped
    or delivered and not yet received; a dealer's home links there when its card is full."""
    from portal.web import home

    w, o = await setup(client)
    line = o["lines"][0]
    other = await approved_order(w, qty=2, key="k2")  # nothing shipped
    number = (await Order.select(Order.number).where(Order.id == o["id"]).first())["number"]
    number2 = (await Order.select(Order.number).where(Order.id == other["id"]).first())["number"]

    async def parcel(warehouse: dict, qty: int, ship: bool) -> int:
        made = await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=warehouse["id"], quantities={line["id"]: qty}
        )
        if ship:
            await shipments.ship(w.clerk, made.shipment.id)
        return made.shipment.id

    packed = await parcel(w.wh2, 4, ship=False)
    await sign_in(client, "buyer")
    listed = await client.get("/orders?status=to_receive")
    assert listed.status_code == 200 and number not in listed.text  # only packed so far

    first = await parcel(w.wh1, 3, ship=True)
    second = await parcel(w.wh1, 3, ship=True)
    listed = (await client.get("/orders?status=to_receive")).text
    assert number in listed and number2 not in listed
    assert re.search(
        r'class="chip chip-on" aria-current="true"\s+href="/orders\?status=to_receive"', listed
    )
    assert ">待签收</a>" in listed
    exported = await client.get("/orders/export?format=csv&status=to_receive")
    assert number in exported.text and number2 not in exported.text
    token = await bearer(client, "buyer")
    api = await client.get("/api/v1/orders", params={"status": "to_receive"}, headers=token)
    assert [i["number"] for i in api.json()["items"]] == [number]

    # The home card shows RECENT_PARCELS and links to the rest; the recent orders below it
    # link to all orders.
    monkeypatch.setattr(home, "RECENT_PARCELS", 1)
    monkeypatch.setattr(home, "RECENT_ORDERS", 1)
    page = (await client.get("/")).text
    assert page.count('href="/orders?status=to_receive"') == 1
    assert 'href="/orders">全部订单</a>' in page

    client.cookies.clear()
    await sign_in(client, "stranger")
    assert number not in (await client.get("/orders?status=to_receive")).text

    client.cookies.clear()
    await sign_in(client, "buyer")
    await shipments.confirm_receipt(w.buyer, first)
    assert number in (await client.get("/orders?status=to_receive")).text  # one still on its way
    await shipments.confirm_receipt(w.buyer, second)
    listed = (await client.get("/orders?status=to_receive")).text
    assert number not in listed and "0 个订单" in listed  # the packed parcel never counted
    assert (await Shipment.select(Shipment.status).where(Shipment.id == packed).first())[
        "status"
    ] == "packed"


async def test_a_count_below_what_orders_hold_says_whose_goods_wait(db, client):
    w, o = await setup(client)  # W1: 6 on hand, all 6 reserved; W2: 100 on hand, 4 reserved
    number = (await Order.select(Order.number).where(Order.id == o["id"]).first())["number"]
    await sign_in(client, "clerk")
    data = await adjust_form(client, w, reason="count", qty="4")
    # Four on the shelf: two of the order's units give way, and W2's free stock holds them.
    r = await client.post("/stock/adjust", data=data)
    assert r.status_code == 200
    assert f"2 瓶（订单 {number}）已改由其他仓库预留。" in r.text
    assert await stock_of(w.sku, w.wh1) == (4, 4) and await stock_of(w.sku, w.wh2) == (100, 6)
    # W2 has nothing free now: two more lost wait for stock.
    await StockLevel.update({StockLevel.on_hand: 6}).where(
        (StockLevel.sku == w.sku["id"]) & (StockLevel.warehouse == w.wh2["id"])
    )
    r = await client.post("/stock/adjust", data={**data, "reason": "damage", "qty": "2"})
    assert r.status_code == 200
    assert f"2 瓶（订单 {number}）等待到货。" in r.text
    assert await stock_of(w.sku, w.wh1) == (2, 2)
    line = await OrderLine.select().where(OrderLine.id == o["lines"][0]["id"]).first()
    assert line["qty_backordered"] == 2
