"""Warehouses through the page and the API."""

from __future__ import annotations

from portal.tables import Warehouse
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


async def test_an_administrator_adds_and_pauses_a_warehouse(client, db):
    await f.user("admin", username="root")
    await f.user("warehouse", username="clerk")
    await sign_in(client, "root")
    page = await client.get("/admin/warehouses", headers=ZH)
    assert 'id="acting-banner"' not in page.text  # not an ordering page
    token = csrf_from(page.text)
    bad = await client.post(
        "/admin/warehouses", data={"code": "a b", "name": "", "_csrf_token": token}, headers=ZH
    )
    assert bad.status_code == 422 and "请使用 1 到 20 个字母" in bad.text
    done = await client.post(
        "/admin/warehouses",
        data={"code": "WH-CD", "name": "成都仓", "priority": "5", "_csrf_token": token},
        headers=ZH,
    )
    assert done.status_code == 200 and "成都仓" in done.text
    row = await Warehouse.select().where(Warehouse.code == "WH-CD").first()
    root = await bearer(client, "root")
    paused = await client.put(
        f"/api/v1/warehouses/{row['id']}",
        json={"code": "WH-CD", "name": "成都仓", "priority": 5, "active": False},
        headers=root,
    )
    assert paused.status_code == 200 and paused.json()["active"] is False
    clerk = await bearer(client, "clerk")
    # Staff read them (for stock and shipments); only an administrator changes them.
    assert (await client.get("/api/v1/warehouses", headers=clerk)).status_code == 200
    refused = await client.put(f"/api/v1/warehouses/{row['id']}", json={"name": "x"}, headers=clerk)
    assert_problem(refused, 403, "forbidden")


async def test_a_warehouse_change_keeps_its_priority_and_a_webhook_its_events(client, db):
    await f.user("admin", username="root")
    wh = await f.warehouse(code="WH-GZ", name="广州仓", priority=3)
    root = await bearer(client, "root")
    # Pausing once reset the reservation priority (and the region) it did not restate.
    paused = await client.put(
        f"/api/v1/warehouses/{wh['id']}", json={"active": False}, headers=root
    )
    assert paused.status_code == 200, paused.text
    assert (paused.json()["active"], paused.json()["priority"]) == (False, 3)
    made = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://erp.example.com/h", "events": ["order.approved"]},
        headers=root,
    )
    hook = f"/api/v1/webhooks/{made.json()['id']}"
    # Pausing a receiver once subscribed it to every event ([] is all of them).
    off = await client.put(hook, json={"active": False}, headers=root)
    assert off.status_code == 200, off.text
    assert (off.json()["active"], off.json()["events"]) == (False, ["order.approved"])
    assert off.json()["url"] == "https://erp.example.com/h"
    assert_problem(
        await client.put(hook, json={"events": ["order.nope"]}, headers=root), 400, "validation"
    )


async def test_staff_read_warehouses_and_only_administrators_manage_them(client, db):
    """An ERP's warehouse or finance key needs the warehouses' ids; a warehouse user kept to
    some reads those; dealers read none; the admin pages stay the administrator's."""
    from portal.domain import staff

    east = await f.warehouse("E1", "华东仓")
    south = await f.warehouse("S1", "华南仓")
    admin = await f.user("admin", username="root")
    await f.user("finance", username="money")
    kept = await f.user("warehouse", username="east")
    await staff.update_staff(
        f.actor(admin),
        kept["id"],
        staff.StaffInput(display_name="东仓", role="warehouse", warehouse_ids=(east["id"],)),
    )
    await f.user("dealer_buyer", await f.dealer(), username="buyer")
    money = await bearer(client, "money")
    listed = await client.get("/api/v1/warehouses", headers=money)
    assert listed.status_code == 200
    assert {w["code"] for w in listed.json()} == {"E1", "S1"}
    mine = await bearer(client, "east")
    assert [w["code"] for w in (await client.get("/api/v1/warehouses", headers=mine)).json()] == [
        "E1"
    ]
    assert_problem(
        await client.get(f"/api/v1/warehouses/{south['id']}", headers=mine), 404, "not-found"
    )
    changed = await client.put(
        f"/api/v1/warehouses/{east['id']}", json={"name": "改名"}, headers=money
    )
    assert_problem(changed, 403, "forbidden")
    assert (await Warehouse.select(Warehouse.name).where(Warehouse.id == east["id"]).first())[
        "name"
    ] == "华东仓"
    assert_problem(
        await client.get("/api/v1/warehouses", headers=await bearer(client, "buyer")),
        403,
        "forbidden",
    )
    await sign_in(client, "money")
    assert (await client.get("/admin/warehouses")).status_code == 403
