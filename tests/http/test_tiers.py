"""Tiers (价格等级) through the pages and the API."""

from __future__ import annotations

from portal.tables import AuditEntry, Tier
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


async def test_an_administrator_adds_edits_and_removes_a_tier_on_the_pages(client, db):
    await f.user("admin", username="root")
    await sign_in(client, "root")
    me = await client.get("/me", headers=ZH)
    assert 'href="/admin/tiers"' in me.text and "价格等级" in me.text
    page = await client.get("/admin/tiers", headers=ZH)
    assert page.status_code == 200
    assert 'id="acting-banner"' not in page.text  # not an ordering page
    assert "还没有等级" in page.text
    token = csrf_from(page.text)

    bad = await client.post(
        "/admin/tiers",
        data={"code": "a b", "name": "", "rank": "abc", "_csrf_token": token},
        headers=ZH,
    )
    assert bad.status_code == 422
    assert "请使用 1 到 20 个字母" in bad.text
    assert 'aria-invalid="true" aria-describedby="err-rank"' in bad.text
    assert 'value="a b"' in bad.text  # what was typed comes back
    assert await Tier.count() == 0

    done = await client.post(
        "/admin/tiers",
        data={"code": "VIP", "name": "一级经销商", "rank": "-2", "_csrf_token": token},
        headers=ZH,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/tiers"
    row = await Tier.select().where(Tier.code == "VIP").first()
    assert (row["name"], row["rank"]) == ("一级经销商", -2)
    taken = await client.post(
        "/admin/tiers",
        data={"code": "VIP", "name": "重复", "_csrf_token": token},
        headers=ZH,
    )
    assert taken.status_code == 422 and "已有其他等级使用此编码" in taken.text
    await f.dealer(row)
    listed = await client.get("/admin/tiers", headers=ZH)
    assert "一级经销商" in listed.text and f'href="/admin/tiers/{row["id"]}"' in listed.text
    assert "排序 -2" in listed.text

    # In use: no delete button, and what uses it; a stale delete is refused and says why.
    edit = await client.get(f"/admin/tiers/{row['id']}", headers=ZH)
    assert edit.status_code == 200
    assert f'action="/admin/tiers/{row["id"]}/delete"' not in edit.text
    assert "该等级下的客户：1 个" in edit.text
    refused = await client.post(
        f"/admin/tiers/{row['id']}/delete", data={"_csrf_token": token}, headers=ZH
    )
    assert refused.status_code == 409
    assert "该等级仍在使用中，无法删除" in refused.text and "该等级下的客户：1 个" in refused.text
    assert await Tier.exists().where(Tier.id == row["id"])

    bad_edit = await client.post(
        f"/admin/tiers/{row['id']}",
        data={"code": "VIP", "name": "x", "rank": "5000", "_csrf_token": token},
        headers=ZH,
    )
    assert bad_edit.status_code == 422 and "请输入 -1000 到 1000" in bad_edit.text
    saved = await client.post(
        f"/admin/tiers/{row['id']}",
        data={"code": "T1", "name": "一级", "rank": "1", "_csrf_token": token},
        headers=ZH,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert (await Tier.select(Tier.code, Tier.name, Tier.rank).first()) == {
        "code": "T1",
        "name": "一级",
        "rank": 1,
    }

    unused = await f.tier(code="SPARE", name="备用")
    edit = await client.get(f"/admin/tiers/{unused['id']}", headers=ZH)
    assert f'action="/admin/tiers/{unused["id"]}/delete"' in edit.text
    removed = await client.post(
        f"/admin/tiers/{unused['id']}/delete",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/tiers"
    assert not await Tier.exists().where(Tier.id == unused["id"])
    assert await AuditEntry.count().where(AuditEntry.action == "tier.deleted") == 1
    assert (await client.get(f"/admin/tiers/{unused['id']}")).status_code == 404


async def test_others_may_not_see_the_tier_pages(client, db):
    tier = await f.tier()
    await f.user("finance", username="fin")
    await sign_in(client, "fin")
    assert (await client.get("/admin/tiers")).status_code == 403
    assert (await client.get(f"/admin/tiers/{tier['id']}")).status_code == 403
    me = await client.get("/me")
    assert 'href="/admin/tiers"' not in me.text


async def test_tiers_through_the_api(client, db):
    await f.user("admin", username="root")
    await f.user("sales_manager", username="mgr")
    root = await bearer(client, "root")
    created = await client.post(
        "/api/v1/admin/tiers", json={"code": "T2", "name": "二级经销商", "rank": 2}, headers=root
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in ("code", "name", "rank", "dealers")} == {
        "code": "T2",
        "name": "二级经销商",
        "rank": 2,
        "dealers": 0,
    }
    tier_id = body["id"]
    first = await client.post(
        "/api/v1/admin/tiers", json={"code": "T1", "name": "一级经销商", "rank": 1}, headers=root
    )
    assert first.status_code == 201
    taken = await client.post(
        "/api/v1/admin/tiers",
        json={"code": "T1", "name": "重复"},
        headers={**root, "Accept-Language": "en"},
    )
    problem = assert_problem(taken, 422, "validation")
    assert problem["errors"] == [{"field": "code", "message": "Another tier has this code."}]
    assert_problem(
        await client.post(
            "/api/v1/admin/tiers", json={"code": "T3", "name": "x", "rank": 1001}, headers=root
        ),
        400,
        "validation",
    )

    await f.dealer(await Tier.select().where(Tier.id == tier_id).first())
    listed = await client.get("/api/v1/admin/tiers", headers=root)
    assert [(t["code"], t["dealers"]) for t in listed.json()] == [("T1", 0), ("T2", 1)]
    one = await client.get(f"/api/v1/admin/tiers/{tier_id}", headers=root)
    assert one.status_code == 200 and one.json()["dealers"] == 1
    assert_problem(await client.get("/api/v1/admin/tiers/987654", headers=root), 404, "not-found")

    renamed = await client.put(
        f"/api/v1/admin/tiers/{tier_id}",
        json={"code": "T2", "name": "二级", "rank": 5},
        headers=root,
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "二级"
    assert renamed.json()["rank"] == 5

    in_use = await client.delete(
        f"/api/v1/admin/tiers/{tier_id}", headers={**root, "Accept-Language": "zh-CN"}
    )
    problem = assert_problem(in_use, 409, "conflict")
    assert problem["detail"] == "该等级仍在使用中，无法删除。"
    assert problem["uses"]["dealers"] == 1
    assert [e["field"] for e in problem["errors"]] == ["dealers"]
    assert await Tier.count() == 2

    removed = await client.delete(f"/api/v1/admin/tiers/{first.json()['id']}", headers=root)
    assert removed.status_code == 204
    assert [t["code"] for t in (await client.get("/api/v1/admin/tiers", headers=root)).json()] == [
        "T2"
    ]
    assert_problem(
        await client.delete(f"/api/v1/admin/tiers/{first.json()['id']}", headers=root),
        404,
        "not-found",
    )

    mgr = await bearer(client, "mgr")
    assert_problem(await client.get("/api/v1/admin/tiers", headers=mgr), 403, "forbidden")
    assert_problem(
        await client.post("/api/v1/admin/tiers", json={"code": "X", "name": "x"}, headers=mgr),
        403,
        "forbidden",
    )
    assert_problem(
        await client.delete(f"/api/v1/admin/tiers/{tier_id}", headers=mgr), 403, "forbidden"
    )
    assert await Tier.count() == 1


async def test_a_rank_or_priority_of_zero_shows_as_zero_in_the_form(client, db):
    """0 is a value, not a blank field (the edit forms used to show it empty)."""
    await f.user("admin", username="root")
    await sign_in(client, "root")
    tier = await f.tier(code="Z0", rank=0)
    edit = await client.get(f"/admin/tiers/{tier['id']}", headers=ZH)
    assert 'name="rank" type="text" value="0"' in edit.text
    wh = await f.warehouse(priority=0)
    edit = await client.get(f"/admin/warehouses/{wh['id']}", headers=ZH)
    assert 'name="priority" type="text" value="0"' in edit.text


async def test_a_tier_or_rule_change_keeps_what_it_leaves_out(client, db):
    await f.user("admin", username="root")
    tier = await f.tier(code="T9", name="九级", rank=9)
    rule = await f.approval_rule("total_at_least", "finance", amount_fen=500_000, step_order=20)
    root = await bearer(client, "root")
    renamed = await client.put(
        f"/api/v1/admin/tiers/{tier['id']}", json={"name": "九级经销商"}, headers=root
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["code"], renamed.json()["rank"]) == ("T9", 9)
    # Pausing a rule once moved it to step 10 and made it "every order" (amount 0).
    paused = await client.put(
        f"/api/v1/approval-rules/{rule['id']}", json={"active": False}, headers=root
    )
    assert paused.status_code == 200, paused.text
    body = paused.json()
    assert (body["active"], body["step_order"], body["amount"]) == (False, 20, "5000.00")
    assert (body["kind"], body["approver_role"]) == ("total_at_least", "finance")
