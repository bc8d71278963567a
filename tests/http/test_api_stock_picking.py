"""API: safety stock per SKU (PUT, audited, bounded), the SKUs under it, a warehouse's pick list."""

from __future__ import annotations

import json

from portal.domain import shipments
from portal.tables import AuditEntry, Sku
from tests import factories as f
from tests.db.test_picking import two_orders_two_warehouses
from tests.db.test_shipments import NOW
from tests.http.test_api_auth import EN, assert_problem, bearer


async def users(w) -> None:
    await f.user("warehouse", username="clerk")
    await f.user("admin", username="boss")
    await f.user("dealer_buyer", w.dealer, username="buyer")
    await f.user("sales_rep", username="rep")


async def safety_of(sku_id: int) -> int:
    return (await Sku.select(Sku.safety_stock).where(Sku.id == sku_id).first())["safety_stock"]


async def test_put_safety_stock(db, client):
    w, o1, o2 = await two_orders_two_warehouses()
    await users(w)
    clerk = {**await bearer(client, "clerk"), **EN}
    url = f"/api/v1/stock/{w.sku['id']}/safety-stock"
    r = await client.put(url, json={"safety_stock": 100}, headers=clerk)
    assert r.status_code == 200, r.text
    body = r.json()
    # A100: W1 6 on hand, 6 reserved; W2 100 on hand, 4 + 5 reserved.
    assert {k: body[k] for k in ("sku_id", "sku_code", "unit", "safety_stock")} == {
        "sku_id": w.sku["id"],
        "sku_code": "A100",
        "unit": "瓶",
        "safety_stock": 100,
    }
    assert (body["available"], body["under_safety"], body["shortfall"]) == (91, True, 9)
    assert [
        (x["warehouse_code"], x["on_hand"], x["reserved"], x["available"])
        for x in body["warehouses"]
    ] == [("W1", 6, 6, 0), ("W2", 100, 9, 91)]
    entry = await AuditEntry.select().where(AuditEntry.action == "sku.safety_stock").first()
    assert json.loads(entry["before"]) == {"safety_stock": 0}
    assert json.loads(entry["after"])["safety_stock"] == 100

    alerts = await client.get("/api/v1/stock/alerts", headers=clerk)
    assert alerts.status_code == 200
    assert [a["sku_code"] for a in alerts.json()] == ["A100"]
    assert alerts.json()[0]["shortfall"] == 9

    boss = {**await bearer(client, "boss"), **EN}
    r = await client.put(url, json={"safety_stock": 0}, headers=boss)
    assert r.status_code == 200 and r.json()["under_safety"] is False
    assert (await client.get("/api/v1/stock/alerts", headers=boss)).json() == []
    assert await AuditEntry.count().where(AuditEntry.action == "sku.safety_stock") == 2


async def test_put_safety_stock_refusals_write_nothing(db, client):
    w, o1, o2 = await two_orders_two_warehouses()
    await users(w)
    await Sku.update({Sku.safety_stock: 7}).where(Sku.id == w.sku["id"])
    clerk = {**await bearer(client, "clerk"), **EN}
    url = f"/api/v1/stock/{w.sku['id']}/safety-stock"
    for bad in (
        {"safety_stock": -1},
        {"safety_stock": "abc"},
        {"safety_stock": 1.5},
        {"safety_stock": 10_000_001},
        {"safety_stock": 10**30},
        {"safety_stock": None},
        {"safety_stock": True},
        {},
        [],
    ):
        r = await client.put(url, json=bad, headers=clerk)
        assert 400 <= r.status_code < 500, (bad, r.status_code)
        assert_problem(r, r.status_code, "validation")
    r = await client.put(
        url, content=b"{not json", headers={**clerk, "Content-Type": "application/json"}
    )
    assert 400 <= r.status_code < 500
    r = await client.put(
        "/api/v1/stock/987654/safety-stock", json={"safety_stock": 1}, headers=clerk
    )
    assert_problem(r, 404, "not-found")
    for who in ("buyer", "rep"):
        headers = {**await bearer(client, who), **EN}
        assert_problem(
            await client.put(url, json={"safety_stock": 1}, headers=headers), 403, "forbidden"
        )
        alerts = await client.get("/api/v1/stock/alerts", headers=headers)
        # Staff read the alerts (a rep too); a dealer's people do not.
        if who == "buyer":
            assert_problem(alerts, 403, "forbidden")
        else:
            assert alerts.status_code == 200
    assert (await client.put(url, json={"safety_stock": 1})).status_code == 401
    assert await safety_of(w.sku["id"]) == 7
    assert await AuditEntry.count().where(AuditEntry.action == "sku.safety_stock") == 0


async def test_pick_list_api(db, client):
    w, o1, o2 = await two_orders_two_warehouses()
    await users(w)
    clerk = {**await bearer(client, "clerk"), **EN}
    r = await client.get(f"/api/v1/warehouses/{w.wh2['id']}/pick-list", headers=clerk)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["warehouse_id"], body["warehouse_code"], body["total_qty"]) == (
        w.wh2["id"],
        "W2",
        39,
    )
    assert [(o["order_id"], o["qty"]) for o in body["orders"]] == [(o1["id"], 4), (o2, 35)]
    a100, b200 = body["lines"]
    assert (a100["sku_code"], a100["qty"], a100["barcode"]) == ("A100", 9, w.sku["barcode"])
    assert a100["pack"] == {"name": "箱", "factor": 4, "full_packs": 2, "loose": 1}
    assert [(x["order_id"], x["qty"]) for x in a100["orders"]] == [(o1["id"], 4), (o2, 5)]
    assert (b200["sku_code"], b200["qty"], b200["pack"]) == ("B200", 30, None)

    # Only order 2; then a partial shipment of it reduces the pick.
    url = f"/api/v1/warehouses/{w.wh2['id']}/pick-list?order_id={o2}"
    assert [ln["qty"] for ln in (await client.get(url, headers=clerk)).json()["lines"]] == [5, 30]
    plan = await shipments.shipment_plan(w.clerk, o2, w.wh2["id"])
    line_b = next(ln for ln in plan.lines if ln.sku_code == "B200")
    sh = await shipments.create_shipment(
        w.clerk, o2, warehouse_id=w.wh2["id"], quantities={line_b.order_line_id: 12}, now=NOW
    )
    await shipments.ship(w.clerk, sh.shipment.id, now=NOW)
    assert [ln["qty"] for ln in (await client.get(url, headers=clerk)).json()["lines"]] == [5, 18]
    both = f"/api/v1/warehouses/{w.wh2['id']}/pick-list?order_id={o1['id']}&order_id={o2}"
    assert (await client.get(both, headers=clerk)).json()["total_qty"] == 4 + 5 + 18

    assert_problem(
        await client.get("/api/v1/warehouses/987654/pick-list", headers=clerk), 404, "not-found"
    )
    bad = await client.get(
        f"/api/v1/warehouses/{w.wh2['id']}/pick-list?order_id=abc", headers=clerk
    )
    assert_problem(bad, 400, "validation")
    for who in ("buyer", "rep"):
        headers = {**await bearer(client, who), **EN}
        r = await client.get(f"/api/v1/warehouses/{w.wh2['id']}/pick-list", headers=headers)
        assert_problem(r, 403, "forbidden")
    assert (await client.get(f"/api/v1/warehouses/{w.wh2['id']}/pick-list")).status_code == 401


async def test_stock_is_listed_a_page_at_a_time_to_its_end(db, client):
    # 3 SKUs in 2 warehouses: 6 rows; before, the list stopped at 200 rows without saying so.
    w1, w2 = await f.warehouse(code="WA"), await f.warehouse(code="WB")
    skus = [await f.sku(code=f"P{n}") for n in range(3)]
    for sku in skus:
        await f.stock(sku, w1, 10)
        await f.stock(sku, w2, 20)
    await f.user("warehouse", username="clerk")
    clerk = await bearer(client, "clerk")
    seen, page = [], 1
    while True:
        got = await client.get("/api/v1/stock", params={"page": page, "per_page": 4}, headers=clerk)
        assert got.status_code == 200, got.text
        body = got.json()
        assert (body["page"], body["per_page"]) == (page, 4)
        seen += [(r["sku_code"], r["warehouse_code"]) for r in body["items"]]
        if not body["has_more"]:
            break
        page += 1
    assert page == 2
    assert seen == [(f"P{n}", wh) for n in range(3) for wh in ("WA", "WB")]
    one = await client.get("/api/v1/stock", params={"sku_id": skus[1]["id"]}, headers=clerk)
    assert [(r["sku_code"], r["on_hand"]) for r in one.json()["items"]] == [("P1", 10), ("P1", 20)]
    assert_problem(
        await client.get("/api/v1/stock", params={"per_page": 201}, headers=clerk),
        400,
        "validation",
    )
