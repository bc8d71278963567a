"""API fulfilment and money: stock, shipments (idempotent), ship, receipt, payments, ledger."""

from __future__ import annotations

import html
import io

import httpx
from pypdf import PdfReader

from portal import i18n
from portal.tables import Dealer, LedgerEntry, Shipment
from tests import factories as f
from tests.db.test_shipments import approved_order, fulfil_world, stock_of
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer


async def setup():
    w = await fulfil_world(on_hand1=6, on_hand2=100)
    await f.user("warehouse", username="clerk")
    await f.user("dealer_buyer", w.dealer, username="buyer")
    await f.user("finance", username="cfo")
    other = await f.dealer(w.tier)
    await f.user("dealer_buyer", other, username="stranger")
    o = await approved_order(w, qty=10)
    return w, o


async def test_create_ship_list_receipt(db, client):
    w, o = await setup()
    line = o["lines"][0]
    clerk = {**await bearer(client, "clerk"), **EN}
    body = {
        "warehouse_id": w.wh1["id"],
        "lines": [{"order_line_id": line["id"], "qty": 6}],
        "carrier": "顺丰",
        "tracking_no": "SF1",
    }
    url = f"/api/v1/orders/{o['id']}/shipments"
    r = await client.post(url, json=body, headers={**clerk, "Idempotency-Key": "s-1"})
    assert r.status_code == 201, r.text
    sh = r.json()
    assert sh["status"] == "packed" and sh["lines"][0]["qty"] == 6
    again = await client.post(url, json=body, headers={**clerk, "Idempotency-Key": "s-1"})
    assert again.status_code == 200 and again.json()["id"] == sh["id"]
    other = await client.post(
        url,
        json={**body, "lines": [{"order_line_id": line["id"], "qty": 1}]},
        headers={**clerk, "Idempotency-Key": "s-1"},
    )
    assert_problem(other, 409, "conflict")
    assert await Shipment.count() == 1
    # Printed to pack with, its note says when it was packed; it has not left yet.
    note = await client.get(f"/api/v1/shipments/{sh['id']}/delivery-note", headers=clerk)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(note.content)).pages)
    assert "Packed:" in text and "Shipped:" not in text

    r = await client.post(f"/api/v1/shipments/{sh['id']}/ship", headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "shipped" and r.json()["value"] == "12.00"
    assert await stock_of(w.sku, w.wh1) == (0, 0)
    again = await client.post(f"/api/v1/shipments/{sh['id']}/ship", headers=clerk)
    assert_problem(again, 409, "conflict")

    buyer = {**await bearer(client, "buyer"), **EN}
    listing = await client.get(url, headers=buyer)
    assert listing.status_code == 200 and [s["number"] for s in listing.json()] == [sh["number"]]
    # The carrier's system (a warehouse token) marks it delivered; not the dealer; only once.
    deliver = f"/api/v1/shipments/{sh['id']}/deliver"
    assert_problem(await client.post(deliver, headers=buyer), 403, "forbidden")
    r = await client.post(deliver, headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "delivered" and r.json()["delivered_at"]
    assert_problem(await client.post(deliver, headers=clerk), 409, "conflict")
    assert_problem(
        await client.post("/api/v1/shipments/987654/deliver", headers=clerk), 404, "not-found"
    )
    r = await client.post(
        f"/api/v1/shipments/{sh['id']}/receipt", json={"discrepancy": False}, headers=buyer
    )
    assert r.status_code == 200 and r.json()["status"] == "received"

    stranger = await bearer(client, "stranger")
    assert_problem(await client.get(url, headers=stranger), 404, "not-found")
    assert_problem(
        await client.get(f"/api/v1/shipments/{sh['id']}", headers=stranger), 404, "not-found"
    )
    # A dealer cannot create shipments.
    r = await client.post(url, json=body, headers={**buyer, "Idempotency-Key": "b-1"})
    assert_problem(r, 403, "forbidden")

    # The delivery note, for the dealer as for the warehouse; nobody else's.
    note = await client.get(f"/api/v1/shipments/{sh['id']}/delivery-note", headers=buyer)
    assert note.status_code == 200 and note.headers["content-type"] == "application/pdf"
    assert note.headers["content-disposition"] == f'inline; filename="{sh["number"]}.pdf"'
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(note.content)).pages)
    assert sh["number"] in text and w.sku["code"] in text and "SF1" in text
    assert "Shipped:" in text and "Packed:" not in text
    assert_problem(
        await client.get(f"/api/v1/shipments/{sh['id']}/delivery-note", headers=stranger),
        404,
        "not-found",
    )


async def test_bad_shipment_input(db, client):
    w, o = await setup()
    line = o["lines"][0]
    clerk = {**await bearer(client, "clerk"), **EN}
    url = f"/api/v1/orders/{o['id']}/shipments"

    def body(qty):
        return {"warehouse_id": w.wh1["id"], "lines": [{"order_line_id": line["id"], "qty": qty}]}

    r = await client.post(url, json=body(11), headers={**clerk, "Idempotency-Key": "a"})
    problem = assert_problem(r, 422, "validation")
    assert "only 10 left" in problem["errors"][0]["message"]
    r = await client.post(url, json=body(-1), headers={**clerk, "Idempotency-Key": "b"})
    assert_problem(r, 422, "validation")
    r = await client.post(url, json=body("x"), headers={**clerk, "Idempotency-Key": "c"})
    assert r.status_code in (400, 422)
    r = await client.post(url, json=body(1))  # no key
    assert r.status_code in (400, 401)
    assert await Shipment.count() == 0


async def test_stock_api(db, client):
    w, o = await setup()
    clerk = {**await bearer(client, "clerk"), **EN}
    before_w2 = (await stock_of(w.sku, w.wh2))[1]
    r = await client.get("/api/v1/stock?q=A100", headers=clerk)
    assert r.status_code == 200 and {s["sku_code"] for s in r.json()["items"]} == {"A100"}
    r = await client.post(
        "/api/v1/stock/adjust",
        json={"warehouse_id": w.wh1["id"], "sku_id": w.sku["id"], "reason": "receipt", "qty": 4},
        headers=clerk,
    )
    assert r.status_code == 200 and r.json()["on_hand"] == 10
    # A count below what the order holds here stands: the order's reservation gives way.
    before = await stock_of(w.sku, w.wh1)
    r = await client.post(
        "/api/v1/stock/adjust",
        json={"warehouse_id": w.wh1["id"], "sku_id": w.sku["id"], "reason": "count", "qty": 1},
        headers=clerk,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["on_hand"], body["reserved"]) == (1, 1)
    [gave] = body["gave_way"]
    assert gave["order_id"] == o["id"] and gave["qty"] == before[1] - 1
    assert gave["waiting"] + (await stock_of(w.sku, w.wh2))[1] - before_w2 == gave["qty"]
    buyer = await bearer(client, "buyer")
    assert_problem(await client.get("/api/v1/stock", headers=buyer), 403, "forbidden")


async def test_payments_and_ledger(db, client):
    w, o = await setup()
    cfo = {**await bearer(client, "cfo"), **EN}
    body = {"dealer_id": w.dealer["id"], "amount": "8.50", "method": "bank", "reference": "X1"}
    r = await client.post("/api/v1/payments", json=body, headers={**cfo, "Idempotency-Key": "p1"})
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == "-8.50"
    # Where the payment left the dealer (it read 0.00 whatever the balance).
    assert r.json()["balance"] == "-8.50"
    again = await client.post(
        "/api/v1/payments", json=body, headers={**cfo, "Idempotency-Key": "p1"}
    )
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    assert again.json()["balance"] == "-8.50"
    assert await LedgerEntry.count() == 1
    bad = await client.post(
        "/api/v1/payments",
        json={**body, "amount": "abc"},
        headers={**cfo, "Idempotency-Key": "p2"},
    )
    assert_problem(bad, 422, "validation")
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert d["balance_fen"] == -850

    buyer = await bearer(client, "buyer")
    r = await client.get(f"/api/v1/dealers/{w.dealer['id']}/ledger", headers=buyer)
    assert r.status_code == 200
    assert r.json()["closing_balance"] == "-8.50"
    assert (r.json()["paid"], r.json()["brought_forward"]) == ("8.50", "0.00")
    r = await client.post("/api/v1/payments", json=body, headers={**buyer, "Idempotency-Key": "p3"})
    assert_problem(r, 403, "forbidden")
    stranger = await bearer(client, "stranger")
    assert_problem(
        await client.get(f"/api/v1/dealers/{w.dealer['id']}/ledger", headers=stranger),
        404,
        "not-found",
    )


async def test_credit_notes_through_the_api(db, client):
    w, o = await setup()
    cfo = {**await bearer(client, "cfo"), **EN}
    body = {"dealer_id": w.dealer["id"], "amount": "12.00", "note": "价格更正"}
    keyed = {**cfo, "Idempotency-Key": "cn-1"}
    r = await client.post("/api/v1/credit-notes", json=body, headers=keyed)
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["amount"]) == ("credit_note", "-12.00")
    assert r.json()["balance"] == "-12.00"
    again = await client.post("/api/v1/credit-notes", json=body, headers=keyed)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    other = await client.post(
        "/api/v1/credit-notes", json={**body, "amount": "13.00"}, headers=keyed
    )
    assert_problem(other, 409, "conflict")
    no_reason = await client.post(
        "/api/v1/credit-notes",
        json={**body, "note": " "},
        headers={**cfo, "Idempotency-Key": "cn-2"},
    )
    assert_problem(no_reason, 422, "validation")
    assert_problem(
        await client.post("/api/v1/credit-notes", json=body, headers=cfo), 400, "validation"
    )
    buyer = {**await bearer(client, "buyer"), **EN, "Idempotency-Key": "cn-3"}
    assert_problem(
        await client.post("/api/v1/credit-notes", json=body, headers=buyer), 403, "forbidden"
    )
    assert await LedgerEntry.count().where(LedgerEntry.kind == "credit_note") == 1
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert d["balance_fen"] == -1200


async def test_shipments_are_listed_by_status_within_scope(db, client):
    w, o = await setup()
    line = o["lines"][0]
    clerk = await bearer(client, "clerk")
    url = f"/api/v1/orders/{o['id']}/shipments"
    made = []
    for n, qty in enumerate((2, 3)):
        body = {"warehouse_id": w.wh1["id"], "lines": [{"order_line_id": line["id"], "qty": qty}]}
        r = await client.post(url, json=body, headers={**clerk, "Idempotency-Key": f"l-{n}"})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    shipped = await client.post(f"/api/v1/shipments/{made[0]}/ship", headers=clerk)
    assert shipped.status_code == 200, shipped.text

    async def ids(headers, **params) -> list[int]:
        got = await client.get("/api/v1/shipments", params=params, headers=headers)
        assert got.status_code == 200, got.text
        return [s["id"] for s in got.json()["items"]]

    assert await ids(clerk) == [made[1], made[0]]
    assert await ids(clerk, status="packed") == [made[1]]
    assert await ids(clerk, status="shipped") == [made[0]]
    assert await ids(clerk, warehouse_id=w.wh2["id"]) == []
    page = (await client.get("/api/v1/shipments", params={"per_page": 1}, headers=clerk)).json()
    assert [s["id"] for s in page["items"]] == [made[1]] and page["has_more"] is True
    assert await ids(await bearer(client, "buyer")) == [made[1], made[0]]
    assert await ids(await bearer(client, "stranger")) == []
    bad = await client.get("/api/v1/shipments", params={"status": "lost"}, headers={**clerk, **EN})
    assert assert_problem(bad, 422, "validation")["errors"][0]["field"] == "status"


async def test_shipment_problems_name_the_body_s_own_lines(db, client):
    """Each refused line is named by its place in the body (lines[1].qty), not by its order
    line id; a line id the order does not have names order_line_id; the warehouse is
    warehouse_id, as sent."""
    w = await fulfil_world(on_hand1=6, on_hand2=100)
    await f.user("warehouse", username="clerk")
    o = await approved_order(w, qty=10, qty2=5)
    a, b = o["lines"]
    clerk = {**await bearer(client, "clerk"), **EN}
    url = f"/api/v1/orders/{o['id']}/shipments"

    async def pack(
        key: str, *lines: tuple[int, int], warehouse_id: int = w.wh1["id"]
    ) -> httpx.Response:
        body = {
            "warehouse_id": warehouse_id,
            "lines": [{"order_line_id": line_id, "qty": qty} for line_id, qty in lines],
        }
        return await client.post(url, json=body, headers={**clerk, "Idempotency-Key": key})

    over = assert_problem(await pack("a", (b["id"], 1), (a["id"], 11)), 422, "validation")
    assert over["errors"] == [
        {"field": "lines[1].qty", "message": "A100: 11 瓶 entered, only 10 left to ship."}
    ]
    unknown = assert_problem(await pack("b", (a["id"], 1), (987654, 1)), 422, "validation")
    assert unknown["errors"] == [
        {"field": "lines[1].order_line_id", "message": "Unknown order line."}
    ]
    nowhere = assert_problem(await pack("c", (a["id"], 1), warehouse_id=987654), 422, "validation")
    assert [e["field"] for e in nowhere["errors"]] == ["warehouse_id"]
    # Short in the warehouse and over what remains at once: the input is wrong, validation.
    both = assert_problem(await pack("d", (a["id"], 8), (b["id"], 6)), 422, "validation")
    assert [e["field"] for e in both["errors"]] == ["lines[0].qty", "lines[1].qty"]
    assert await Shipment.count() == 0


async def test_a_shipment_short_of_stock_is_insufficient_stock_as_an_order_is(db, client):
    """More than the chosen warehouse can give: the problem type an order short of stock gets,
    with the short lines, so an ERP can branch on it; the packing page says it as before."""
    w = await fulfil_world(on_hand1=6, on_hand2=100)
    await f.user("warehouse", username="clerk")
    o = await approved_order(w, qty=10, qty2=5)
    a, b = o["lines"]
    clerk = {**await bearer(client, "clerk"), **EN}
    body = {
        "warehouse_id": w.wh1["id"],
        "lines": [{"order_line_id": b["id"], "qty": 5}, {"order_line_id": a["id"], "qty": 8}],
    }
    r = await client.post(
        f"/api/v1/orders/{o['id']}/shipments", json=body, headers={**clerk, "Idempotency-Key": "s"}
    )
    short = assert_problem(r, 422, "insufficient-stock")
    assert short["lines"] == [{"sku": "A100", "requested": 8, "available": 6}]
    assert short["errors"] == [
        {"field": "lines[1].qty", "message": "A100: 8 瓶 entered, this warehouse has 6."}
    ]
    assert "A100" in short["detail"]
    assert await Shipment.count() == 0

    await sign_in(client, "clerk")
    page = await client.get(f"/warehouse/orders/{o['id']}?warehouse={w.wh1['id']}")
    form = {"_csrf_token": csrf_from(page.text), "warehouse": str(w.wh1["id"])}
    r = await client.post(f"/warehouse/orders/{o['id']}", data={**form, f"qty_{a['id']}": "8"})
    assert r.status_code == 422
    said = i18n.translations("zh_Hans").gettext(
        "%(sku)s: %(qty)s %(unit)s entered, this warehouse has %(have)s."
    ) % {"sku": "A100", "qty": 8, "unit": "瓶", "have": 6}
    assert said in html.unescape(r.text) and "field-error" in r.text
    assert await Shipment.count() == 0
