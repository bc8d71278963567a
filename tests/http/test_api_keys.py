"""Integration keys through the pages and the API, and what a key may reach."""

from __future__ import annotations

import re

from portal.tables import ApiKey, AuditEntry, Order
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


async def test_a_dealers_administrator_issues_a_key_the_shop_then_uses(client, db):
    dealer, other = await f.dealer(), await f.dealer()
    await f.user("dealer_admin", dealer, username="boss")
    await f.user("dealer_buyer", dealer, username="shop")
    await f.user("dealer_buyer", other, username="stranger")
    await sign_in(client, "boss")
    me = await client.get("/me", headers=ZH)
    assert 'href="/me/api-keys"' in me.text and "集成密钥" in me.text
    page = await client.get("/me/api-keys", headers=ZH)
    assert page.status_code == 200 and "还没有集成密钥" in page.text
    assert '<option value="shop"' in page.text and "stranger" not in page.text
    token = csrf_from(page.text)

    bad = await client.post(
        "/me/api-keys",
        data={"username": "stranger", "name": "", "days": "abc", "_csrf_token": token},
        headers=ZH,
    )
    assert bad.status_code == 422 and "请选择您管理的在职用户" in bad.text
    assert await ApiKey.count() == 0

    form_key = re.search(r'name="form_key" value="([0-9a-f]{32})"', page.text).group(1)
    sent = {
        "username": "shop",
        "name": "网店同步",
        "days": "90",
        "form_key": form_key,
        "_csrf_token": token,
    }
    made = await client.post("/me/api-keys", data=sent, headers=ZH)
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    key = re.search(r'id="api-key"[^>]*value="(dpk_[^"]+)"', made.text).group(1)
    # The page showing the key refreshed (the form sent again): no second key.
    again = await client.post("/me/api-keys", data=sent, headers=ZH)
    assert again.status_code == 409 and 'id="key-notice"' in again.text
    assert "只显示一次" in again.text and key not in again.text
    assert await ApiKey.count() == 1
    assert re.search(r'name="form_key" value="([0-9a-f]{32})"', again.text).group(1) != form_key
    listed = await client.get("/me/api-keys", headers=ZH)
    assert "网店同步" in listed.text and key[:12] in listed.text and key not in listed.text

    # The shop's system uses the key on the API, as the shop's buyer; never on the pages.
    shop = {"Authorization": f"Bearer {key}", **EN}
    orders = await client.get("/api/v1/orders", headers=shop)
    assert orders.status_code == 200, orders.text
    mine = await client.get(f"/api/v1/dealers/{dealer['id']}", headers=shop)
    assert mine.status_code == 200 and mine.json()["id"] == dealer["id"]
    assert_problem(
        await client.get(f"/api/v1/dealers/{other['id']}", headers=shop), 404, "not-found"
    )
    client.cookies.clear()
    page_with_key = await client.get("/catalog", headers=shop, follow_redirects=False)
    assert page_with_key.status_code in (302, 303) and "/login" in page_with_key.headers["location"]
    # A key cannot manage keys, not even its own, nor change its user's password.
    assert_problem(await client.get("/api/v1/api-keys", headers=shop), 403, "forbidden")
    changed = await client.post(
        "/api/v1/me/password",
        json={"current_password": f.PASSWORD, "new_password": "a-new-pass-9871"},
        headers=shop,
    )
    assert_problem(changed, 403, "forbidden")

    # Revoked on the page: refused on the very next request.
    await sign_in(client, "boss")
    listed = await client.get("/me/api-keys", headers=ZH)
    key_id = (await ApiKey.select(ApiKey.id).first())["id"]
    revoked = await client.post(
        f"/me/api-keys/{key_id}/revoke",
        data={"_csrf_token": csrf_from(listed.text)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert_problem(await client.get("/api/v1/orders", headers=shop), 401, "unauthorized")
    assert "已吊销" in (await client.get("/me/api-keys", headers=ZH)).text


async def test_an_erp_key_acts_as_the_warehouse_account_it_was_issued_for(client, db):
    dealer = await f.dealer()
    await f.user("admin", username="root")
    await f.user("warehouse", username="erp")
    await f.user("dealer_admin", dealer, username="boss")
    root = {**await bearer(client, "root"), **EN}
    made = await client.post(
        "/api/v1/api-keys", json={"username": "erp", "name": "金蝶 ERP", "days": 0}, headers=root
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["key"].startswith("dpk_") and body["role"] == "warehouse"
    assert body["expires_at"] is None and body["state"] == "active"
    erp = {"Authorization": f"Bearer {body['key']}", **EN}
    assert (await client.get("/api/v1/stock", headers=erp)).status_code == 200
    assert_problem(await client.get("/api/v1/audit", headers=erp), 403, "forbidden")
    listing = (await client.get("/api/v1/api-keys", headers=root)).json()
    assert [k["name"] for k in listing] == ["金蝶 ERP"] and "key" not in listing[0]
    assert listing[0]["dealer_name"] == ""

    refused = await client.post(
        "/api/v1/api-keys", json={"username": "nobody", "name": " ", "days": 1}, headers=root
    )
    assert_problem(refused, 422, "validation")
    assert {e["field"] for e in refused.json()["errors"]} == {"username", "name"}
    assert (
        await client.post(
            "/api/v1/api-keys", json={"username": "erp", "name": "x", "days": 731}, headers=root
        )
    ).status_code == 400
    boss = await bearer(client, "boss")
    revoke = await client.post(f"/api/v1/api-keys/{body['id']}/revoke", headers=boss)
    assert_problem(revoke, 404, "not-found")  # not the dealer administrator's to revoke
    done = await client.post(f"/api/v1/api-keys/{body['id']}/revoke", headers=root)
    assert done.status_code == 200 and done.json()["state"] == "revoked"
    assert_problem(await client.get("/api/v1/stock", headers=erp), 401, "unauthorized")
    assert await ApiKey.count() == 1 and await Order.count() == 0


async def test_unknown_or_malformed_keys_are_refused(client, db):
    await f.user("admin", username="root")
    for value in ("dpk_nope", "dpk_" + "x" * 500, "dpk_\u00e9"):
        header = f"Bearer {value}".encode()  # bytes: the last is not ASCII
        response = await client.get("/api/v1/orders", headers={"Authorization": header})
        assert_problem(response, 401, "unauthorized")


async def test_deactivating_a_user_revokes_their_keys_for_good(client, db):
    await f.user("admin", username="root")
    erp_user = await f.user("warehouse", username="erp")
    root = await bearer(client, "root")
    made = await client.post(
        "/api/v1/api-keys", json={"username": "erp", "name": "ERP", "days": 0}, headers=root
    )
    erp = {"Authorization": f"Bearer {made.json()['key']}"}
    assert (await client.get("/api/v1/stock", headers=erp)).status_code == 200
    staff_url = f"/api/v1/staff/{erp_user['id']}"
    current = (await client.get(staff_url, headers=root)).json()
    body = {k: v for k, v in current.items() if k not in ("id", "username", "created_at")}
    off = await client.put(staff_url, json={**body, "active": False}, headers=root)
    assert off.status_code == 200, off.text
    assert_problem(await client.get("/api/v1/stock", headers=erp), 401, "unauthorized")
    # Back at work, the person signs in again; the old integration key stays dead.
    on = await client.put(staff_url, json={**body, "active": True}, headers=root)
    assert on.status_code == 200, on.text
    assert_problem(await client.get("/api/v1/stock", headers=erp), 401, "unauthorized")
    [key] = (await client.get("/api/v1/api-keys", headers=root)).json()
    assert key["state"] == "revoked"
    revoked = await AuditEntry.select().where(AuditEntry.action == "api_key.revoked")
    assert len(revoked) == 1


async def test_a_role_change_revokes_the_keys_issued_for_the_old_role(client, db):
    await f.user("admin", username="root")
    erp_user = await f.user("warehouse", username="erp")
    root = await bearer(client, "root")
    made = await client.post(
        "/api/v1/api-keys", json={"username": "erp", "name": "ERP", "days": 0}, headers=root
    )
    erp = {"Authorization": f"Bearer {made.json()['key']}"}
    assert_problem(await client.get("/api/v1/dealers", headers=erp), 403, "forbidden")
    staff_url = f"/api/v1/staff/{erp_user['id']}"
    current = (await client.get(staff_url, headers=root)).json()
    body = {k: v for k, v in current.items() if k not in ("id", "username", "created_at")}
    # Made finance: the warehouse key does not become a finance key.
    raised = await client.put(staff_url, json={**body, "role": "finance"}, headers=root)
    assert raised.status_code == 200, raised.text
    assert_problem(await client.get("/api/v1/dealers", headers=erp), 401, "unauthorized")
    [key] = (await client.get("/api/v1/api-keys", headers=root)).json()
    assert key["state"] == "revoked"
    # A change that keeps the role (the name) leaves a new key alone.
    again = await client.post(
        "/api/v1/api-keys", json={"username": "erp", "name": "ERP2", "days": 0}, headers=root
    )
    fresh = {"Authorization": f"Bearer {again.json()['key']}"}
    current = (await client.get(staff_url, headers=root)).json()
    body = {k: v for k, v in current.items() if k not in ("id", "username", "created_at")}
    renamed = await client.put(staff_url, json={**body, "display_name": "ERP 账号"}, headers=root)
    assert renamed.status_code == 200, renamed.text
    assert (await client.get("/api/v1/dealers", headers=fresh)).status_code == 200
