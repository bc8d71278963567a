"""Staff through the pages and the API."""

from __future__ import annotations

import pytest

from portal.tables import User
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def people(db):
    await f.user("admin", username="root")
    manager = await f.user("sales_manager", username="boss")
    await f.user("finance", username="money")
    return {"manager": manager}


async def test_an_administrator_adds_a_rep_who_then_signs_in(client, people, settings):
    await sign_in(client, "root")
    me = await client.get("/me", headers=ZH)
    assert 'href="/admin/users"' in me.text
    page = await client.get("/admin/users", headers=ZH)
    token = csrf_from(page.text)
    bad = await client.post(
        "/admin/users",
        data={
            "username": "x",
            "display_name": "新人",
            "role": "sales_rep",
            "password": "1",
            "discount_authority": "abc",
            "_csrf_token": token,
        },
        headers=ZH,
    )
    assert bad.status_code == 422 and "请使用 3 到 64 个字母" in bad.text
    assert await User.count().where(User.username == "x") == 0
    done = await client.post(
        "/admin/users",
        data={
            "username": "new.rep",
            "display_name": "新业务",
            "role": "sales_rep",
            "manager_id": str(people["manager"]["id"]),
            "discount_authority": "2.5",
            "password": "first-pass-1",
            "_csrf_token": token,
        },
        headers=ZH,
    )
    assert done.status_code == 200 and "新业务" in done.text
    row = await User.select().where(User.username == "new.rep").first()
    assert row["manager"] == people["manager"]["id"] and row["discount_authority_bp"] == 250
    edit = await client.get(f"/admin/users/{row['id']}", headers=ZH)
    assert 'value="2.5"' in edit.text
    reset = await client.post(
        f"/admin/users/{row['id']}/password",
        data={"new_password": "second-pass-2", "_csrf_token": token},
        headers=ZH,
    )
    assert reset.status_code == 200
    headers = await bearer(client, "new.rep", "second-pass-2")
    assert (await client.get("/api/v1/orders", headers=headers)).status_code == 200


async def test_the_api_for_staff(client, people):
    root = await bearer(client, "root")
    made = await client.post(
        "/api/v1/staff",
        json={
            "username": "wh.one",
            "password": "first-pass-1",
            "display_name": "仓管",
            "role": "warehouse",
        },
        headers=root,
    )
    assert made.status_code == 201 and made.json()["role"] == "warehouse"
    changed = await client.put(
        f"/api/v1/staff/{made.json()['id']}",
        json={"display_name": "仓管", "role": "warehouse", "active": False},
        headers=root,
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    money = await bearer(client, "money")
    assert_problem(await client.get("/api/v1/staff", headers=money), 403, "forbidden")
    assert_problem(await client.get("/api/v1/staff/987654", headers=root), 404, "not-found")


async def test_an_administrator_gives_a_warehouse_user_their_warehouses(client, people):
    east = await f.warehouse("E1", "华东仓", priority=1)
    south = await f.warehouse("S1", "华南仓", priority=2)
    clerk = await f.user("warehouse", username="clerk")
    await sign_in(client, "root")
    page = await client.get(f"/admin/users/{clerk['id']}", headers=ZH)
    assert page.status_code == 200 and 'name="warehouse_ids"' in page.text
    assert "华东仓" in page.text and "华南仓" in page.text
    form = {
        "display_name": clerk["display_name"],
        "role": "warehouse",
        "active": "1",
        "warehouse_ids": [str(south["id"])],
        "_csrf_token": csrf_from(page.text),
    }
    saved = await client.post(f"/admin/users/{clerk['id']}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    again = await client.get(f"/admin/users/{clerk['id']}", headers=ZH)
    assert f'name="warehouse_ids" value="{south["id"]}" checked' in again.text
    assert f'name="warehouse_ids" value="{east["id"]}" checked' not in again.text
    bad = await client.post(
        f"/admin/users/{clerk['id']}", data={**form, "warehouse_ids": ["abc"]}, headers=ZH
    )
    assert bad.status_code == 422 and "请从列表中选择仓库" in bad.text

    root = await bearer(client, "root")
    read = await client.get(f"/api/v1/staff/{clerk['id']}", headers=root)
    assert read.json()["warehouse_ids"] == [south["id"]]
    both = await client.put(
        f"/api/v1/staff/{clerk['id']}",
        json={
            "display_name": "仓管",
            "role": "warehouse",
            "warehouse_ids": [east["id"], south["id"]],
        },
        headers=root,
    )
    assert both.status_code == 200 and both.json()["warehouse_ids"] == [east["id"], south["id"]]
    unknown = await client.put(
        f"/api/v1/staff/{clerk['id']}",
        json={"display_name": "仓管", "role": "warehouse", "warehouse_ids": [987654]},
        headers={**root, **ZH},
    )
    assert_problem(unknown, 422, "validation")
    assert (await client.get(f"/api/v1/staff/{clerk['id']}", headers=root)).json()[
        "warehouse_ids"
    ] == [east["id"], south["id"]]


async def test_a_staff_change_sends_only_what_changes(client, people):
    rep = await f.user("sales_rep", username="rep1", manager=people["manager"])
    root = await bearer(client, "root")
    url = f"/api/v1/staff/{rep['id']}"
    # A new phone number once took the rep's manager away (a field left out was cleared).
    changed = await client.put(url, json={"phone": "13900000001"}, headers=root)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["phone"] == "13900000001" and body["manager_id"] == people["manager"]["id"]
    assert body["role"] == "sales_rep" and body["active"] is True
    freed = await client.put(url, json={"manager_id": None}, headers=root)
    assert freed.json()["manager_id"] is None and freed.json()["phone"] == "13900000001"
