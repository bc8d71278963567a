"""A dealer's users and addresses, and one's own password, through the pages and the API."""

from __future__ import annotations

import httpx
import pytest

from portal.tables import Address, User
from tests import factories as f
from tests.http.conftest import csrf_from, shared_app, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def shop(db):
    a = await f.dealer(name="甲商行")
    b = await f.dealer(name="乙商行")
    return {
        "a": a,
        "b": b,
        "boss": await f.user("dealer_admin", a, username="boss"),
        "buyer": await f.user("dealer_buyer", a, username="buyer"),
        "b_boss": await f.user("dealer_admin", b, username="bboss"),
    }


@pytest.fixture
async def other(db, settings):
    """A second phone on the same app (another session), not following redirects."""
    transport = httpx.ASGITransport(app=shared_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


async def post_form(client: httpx.AsyncClient, url: str, data: dict, **kw) -> httpx.Response:
    csrf = csrf_from((await client.get("/me")).text)
    return await client.post(
        url, data={**data, "_csrf_token": csrf}, headers={"x-csrftoken": csrf, **ZH}, **kw
    )


async def test_dealer_admin_adds_a_buyer_on_the_phone_who_then_signs_in(client, shop, other):
    assert (await sign_in(client, "boss")).status_code == 303
    me = await client.get("/me", headers=ZH)
    dealer_id = shop["a"]["id"]
    assert f'href="/dealers/{dealer_id}/users"' in me.text
    assert f'href="/dealers/{dealer_id}/addresses"' in me.text
    bad = await post_form(
        client,
        f"/dealers/{dealer_id}/users",
        {"username": "a", "display_name": "", "role": "dealer_buyer", "password": "123"},
    )
    assert bad.status_code == 422
    assert "密码至少需要 8 个字符" in bad.text and "请使用 3 到 64 个字母" in bad.text
    done = await post_form(
        client,
        f"/dealers/{dealer_id}/users",
        {
            "username": "li.si",
            "display_name": "李四",
            "role": "dealer_buyer",
            "phone": "13900000002",
            "password": "first-pass-2",
        },
    )
    assert done.status_code == 200 and str(done.url).endswith(f"/dealers/{dealer_id}/users")
    assert "李四" in done.text
    new = await User.select(User.id, User.dealer).where(User.username == "li.si").first()
    assert new["dealer"] == dealer_id
    # The new user signs in on their own phone with the first password.
    assert (await sign_in(other, "13900000002", "first-pass-2")).status_code == 303


async def test_deactivating_a_user_signs_them_out_on_their_next_request(client, shop, other):
    buyer = other
    assert (await sign_in(buyer, "buyer")).status_code == 303
    assert (await buyer.get("/catalog")).status_code == 200
    await sign_in(client, "boss")
    url = f"/dealers/{shop['a']['id']}/users/{shop['buyer']['id']}"
    page = await client.get(url, headers=ZH)
    assert page.status_code == 200 and 'name="active"' in page.text
    saved = await post_form(
        client,
        url,
        {"display_name": "采购", "role": "dealer_buyer"},  # active unticked
    )
    assert saved.status_code == 200
    gone = await buyer.get("/catalog")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")


async def test_the_last_dealer_admin_cannot_demote_themself(client, shop):
    await sign_in(client, "boss")
    url = f"/dealers/{shop['a']['id']}/users/{shop['boss']['id']}"
    refused = await post_form(
        client, url, {"display_name": "老板", "role": "dealer_buyer", "active": "1"}
    )
    assert refused.status_code == 422 and "经销商至少需要一位启用中的管理员" in refused.text
    row = await User.select(User.role).where(User.id == shop["boss"]["id"]).first()
    assert row["role"] == "dealer_admin"


async def test_addresses_are_kept_on_their_page(client, shop):
    await sign_in(client, "boss")
    dealer_id = shop["a"]["id"]
    added = await post_form(
        client,
        f"/dealers/{dealer_id}/addresses",
        {
            "label": "门店",
            "contact": "李四",
            "phone": "13800000002",
            "line": "杭州市西湖区 2 号",
            "is_default": "1",
        },
    )
    assert added.status_code == 200 and "杭州市西湖区 2 号" in added.text
    assert "已添加地址。" in added.text  # said once, after the redirect
    again = await client.get(f"/dealers/{dealer_id}/addresses")
    assert "已添加地址。" not in again.text
    rows = await Address.select().where(Address.dealer == dealer_id).order_by(Address.id)
    edit = await client.get(f"/dealers/{dealer_id}/addresses/{rows[1]['id']}")
    assert 'data-confirm="确定删除此地址？"' in edit.text
    assert [r["is_default"] for r in rows] == [False, True]
    refused = await post_form(
        client,
        f"/dealers/{dealer_id}/addresses/{rows[1]['id']}",
        {"contact": "", "phone": "x", "line": ""},
    )
    assert refused.status_code == 422 and "此项必填" in refused.text
    removed = await post_form(client, f"/dealers/{dealer_id}/addresses/{rows[1]['id']}/delete", {})
    assert removed.status_code == 200 and "已删除地址。" in removed.text
    left = await Address.select().where(Address.dealer == dealer_id)
    assert [(r["id"], r["is_default"]) for r in left] == [(rows[0]["id"], True)]


async def test_a_buyer_may_not_manage_and_another_dealer_is_not_found(client, shop):
    await sign_in(client, "buyer")
    own = await client.get(f"/dealers/{shop['a']['id']}/users", follow_redirects=False)
    assert own.status_code == 403
    other = await client.get(f"/dealers/{shop['b']['id']}/addresses", follow_redirects=False)
    assert other.status_code == 404
    me = await client.get("/me")
    assert "/users" not in me.text and 'href="/me/password"' in me.text


async def test_password_change_keeps_this_phone_and_signs_out_the_others(client, shop, other):
    laptop = other
    assert (await sign_in(laptop, "buyer")).status_code == 303
    await sign_in(client, "buyer")
    wrong = await post_form(
        client,
        "/me/password",
        {
            "current_password": "nope",
            "new_password": "new-pass-77",
            "repeat_password": "new-pass-77",
        },
    )
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    differ = await post_form(
        client,
        "/me/password",
        {
            "current_password": f.PASSWORD,
            "new_password": "new-pass-77",
            "repeat_password": "new-pass-78",
        },
    )
    assert differ.status_code == 422 and "两次输入的新密码不一致" in differ.text
    changed = await post_form(
        client,
        "/me/password",
        {
            "current_password": f.PASSWORD,
            "new_password": "new-pass-77",
            "repeat_password": "new-pass-77",
        },
    )
    assert changed.status_code == 200 and "密码已修改" in changed.text
    assert [r.status_code for r in changed.history] == [303]  # a reload re-sends nothing
    again = await client.get("/me/password")
    assert "密码已修改" not in again.text  # the message shows once
    assert (await client.get("/catalog", follow_redirects=False)).status_code == 200
    assert (await laptop.get("/catalog")).status_code == 303
    assert (await sign_in(laptop, "buyer", "new-pass-77")).status_code == 303


async def test_api_users_and_addresses(client, shop):
    boss = await bearer(client, "boss")
    base = f"/api/v1/dealers/{shop['a']['id']}"
    listed = await client.get(f"{base}/users", headers=boss)
    assert {u["username"] for u in listed.json()} == {"boss", "buyer"}
    made = await client.post(
        f"{base}/users",
        headers=boss,
        json={
            "username": "wang.wu",
            "password": "first-pass-3",
            "display_name": "王五",
            "role": "dealer_admin",
            "email": "w@example.com",
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["role"], body["email"], body["active"]) == ("dealer_admin", "w@example.com", True)
    assert "password" not in body and "password_hash" not in body
    taken = await client.post(
        f"{base}/users",
        headers=boss,
        json={
            "username": "wang.wu",
            "password": "first-pass-3",
            "display_name": "王五",
            "role": "dealer_buyer",
        },
    )
    problem = assert_problem(taken, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["username"]
    # A role change ends the user's tokens.
    buyer = await bearer(client, "buyer")
    changed = await client.put(
        f"{base}/users/{shop['buyer']['id']}",
        headers=boss,
        json={"display_name": "采购主管", "role": "dealer_admin"},
    )
    assert changed.status_code == 200 and changed.json()["role"] == "dealer_admin"
    assert_problem(await client.get("/api/v1/orders", headers=buyer), 401, "unauthorized")
    reset = await client.post(
        f"{base}/users/{shop['buyer']['id']}/password",
        headers=boss,
        json={"new_password": "reset-pass-9"},
    )
    assert reset.status_code == 204
    await bearer(client, "buyer", "reset-pass-9")

    first = (await client.get(f"{base}/addresses", headers=boss)).json()
    added = await client.post(
        f"{base}/addresses",
        headers=boss,
        json={"contact": "赵六", "phone": "13800000006", "line": "南京市 6 号", "is_default": True},
    )
    assert added.status_code == 201 and added.json()["is_default"] is True
    now = (await client.get(f"{base}/addresses", headers=boss)).json()
    assert [a["id"] for a in now] == [added.json()["id"], first[0]["id"]]  # the default first
    edited = await client.put(
        f"{base}/addresses/{first[0]['id']}",
        headers=boss,
        json={"contact": "王经理", "phone": "13800000000", "line": "上海市 1 号", "label": "总仓"},
    )
    assert edited.status_code == 200 and edited.json()["line"] == "上海市 1 号"
    deleted = await client.delete(f"{base}/addresses/{added.json()['id']}", headers=boss)
    assert deleted.status_code == 204
    assert (await client.get(f"{base}/addresses", headers=boss)).json()[0]["is_default"] is True


async def test_api_scope_and_own_password(client, shop):
    boss = await bearer(client, "boss")
    other = f"/api/v1/dealers/{shop['b']['id']}"
    assert_problem(await client.get(f"{other}/users", headers=boss), 404, "not-found")
    assert_problem(await client.delete(f"{other}/addresses/987654", headers=boss), 404, "not-found")
    buyer = await bearer(client, "buyer")
    assert_problem(
        await client.get(f"/api/v1/dealers/{shop['a']['id']}/users", headers=buyer),
        403,
        "forbidden",
    )
    wrong = await client.post(
        "/api/v1/me/password",
        headers=buyer,
        json={"current_password": "nope", "new_password": "x"},
    )
    problem = assert_problem(wrong, 422, "validation")
    assert {e["field"] for e in problem["errors"]} == {"current_password", "new_password"}
    done = await client.post(
        "/api/v1/me/password",
        headers=buyer,
        json={"current_password": f.PASSWORD, "new_password": "api-pass-55"},
    )
    assert done.status_code == 204
    assert_problem(await client.get("/api/v1/orders", headers=buyer), 401, "unauthorized")
    await bearer(client, "buyer", "api-pass-55")


async def test_a_password_easy_to_guess_is_refused_and_changes_nothing(client, shop):
    await sign_in(client, "buyer")
    for easy in ("12345678", "password", "11111111", "qwertyuiop", "Abcd1234"):
        refused = await post_form(
            client,
            "/me/password",
            {"current_password": f.PASSWORD, "new_password": easy, "repeat_password": easy},
        )
        assert refused.status_code == 422, easy
        assert "这个密码太容易被猜到" in refused.text, easy
    assert (await client.get("/catalog", follow_redirects=False)).status_code == 200


async def test_guessing_the_current_password_is_limited_like_signing_in(client, shop, other):
    """A session left open on a phone cannot be used to try passwords without end."""
    await sign_in(client, "buyer")
    for attempt in range(5):
        wrong = await post_form(
            client,
            "/me/password",
            {
                "current_password": f"guess-{attempt}",
                "new_password": "new-pass-77",
                "repeat_password": "new-pass-77",
            },
        )
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    blocked = await post_form(
        client,
        "/me/password",
        {
            "current_password": f.PASSWORD,
            "new_password": "new-pass-77",
            "repeat_password": "new-pass-77",
        },
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "尝试次数过多" in blocked.text
    # Nothing changed, and signing in elsewhere is held back too.
    assert (await sign_in(other, "buyer")).status_code == 429


async def test_a_dealer_user_change_keeps_what_it_leaves_out(client, shop):
    boss = await bearer(client, "boss")
    url = f"/api/v1/dealers/{shop['a']['id']}/users/{shop['buyer']['id']}"
    first = await client.put(url, headers=boss, json={"phone": "13900000002", "email": "b@x.cn"})
    assert first.status_code == 200, first.text
    # Deactivating once cleared the phone and email it did not restate.
    off = await client.put(url, headers=boss, json={"active": False})
    assert off.status_code == 200, off.text
    body = off.json()
    assert (body["active"], body["phone"], body["email"]) == (False, "13900000002", "b@x.cn")
    assert body["role"] == "dealer_buyer"
    assert_problem(await client.put(url, headers=boss, json={"role": "boss"}), 400, "validation")


async def test_an_address_change_keeps_what_it_leaves_out(client, shop):
    boss = await bearer(client, "boss")
    base = f"/api/v1/dealers/{shop['a']['id']}/addresses"
    made = await client.post(
        base,
        headers=boss,
        json={"label": "总仓", "contact": "赵六", "phone": "13800000009", "line": "某路 10 号"},
    )
    assert made.status_code == 201, made.text
    # A new phone number once had to restate the whole address, and cleared the label.
    changed = await client.put(
        f"{base}/{made.json()['id']}", headers=boss, json={"phone": "13800000010"}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["phone"], body["label"], body["line"]) == ("13800000010", "总仓", "某路 10 号")


async def test_an_address_added_again_with_the_same_key_is_added_once(client, shop):
    """An integration retrying after a timeout: the same Idempotency-Key and body return the
    address the first request added (200); another body with that key is 409; without a
    key every request adds one, as before."""
    boss = await bearer(client, "boss")
    url = f"/api/v1/dealers/{shop['a']['id']}/addresses"
    body = {
        "label": "仓库",
        "contact": "王五",
        "phone": "13900000002",
        "line": "上海市浦东新区 1 号",
    }
    before = await Address.count().where(Address.dealer == shop["a"]["id"])
    first = await client.post(url, json=body, headers={**boss, "Idempotency-Key": "addr-1"})
    assert first.status_code == 201, first.text
    again = await client.post(url, json=body, headers={**boss, "Idempotency-Key": "addr-1"})
    assert again.status_code == 200 and again.json() == first.json()
    assert await Address.count().where(Address.dealer == shop["a"]["id"]) == before + 1
    other = {**body, "line": "上海市浦东新区 2 号"}
    clash = await client.post(url, json=other, headers={**boss, "Idempotency-Key": "addr-1"})
    assert_problem(clash, 409, "conflict")
    for _ in range(2):
        assert (await client.post(url, json=other, headers=boss)).status_code == 201
    assert await Address.count().where(Address.dealer == shop["a"]["id"]) == before + 3
    # A key is the user's own: another dealer's administrator may use the same one.
    b_boss = await bearer(client, "bboss")
    b_url = f"/api/v1/dealers/{shop['b']['id']}/addresses"
    mine = await client.post(b_url, json=body, headers={**b_boss, "Idempotency-Key": "addr-1"})
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    bad = await client.post(url, json=body, headers={**boss, "Idempotency-Key": "x" * 101})
    assert bad.status_code == 400
