"""Reassigning a dealer from its card on the phone and through the API."""

from __future__ import annotations

import pytest

from portal.tables import RepAssignment
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def team(db):
    boss = await f.user("sales_manager", username="boss")
    a = await f.user("sales_rep", manager=boss, username="rep_a")
    b = await f.user("sales_rep", manager=boss, username="rep_b")
    dealer = await f.dealer(name="东方商行")
    await f.assign(a, dealer)
    await f.user("admin", username="root")
    return {"a": a, "b": b, "dealer": dealer}


async def rep_of(dealer: dict) -> int | None:
    row = (
        await RepAssignment.select(RepAssignment.rep)
        .where(RepAssignment.dealer == dealer["id"])
        .first()
    )
    return row["rep"] if row else None


async def test_a_manager_reassigns_from_the_dealer_card(client, team):
    await sign_in(client, "boss")
    url = f"/dealers/{team['dealer']['id']}"
    card = await client.get(url, headers=ZH)
    assert 'action="' + url + '/rep"' in card.text
    assert f'<option value="{team["a"]["id"]}" selected>' in card.text
    token = csrf_from(card.text)
    bad = await client.post(url + "/rep", data={"rep_id": "abc", "_csrf_token": token}, headers=ZH)
    assert bad.status_code == 422 and "请选择您的业务员。" in bad.text
    done = await client.post(
        url + "/rep", data={"rep_id": str(team["b"]["id"]), "_csrf_token": token}, headers=ZH
    )
    assert done.status_code == 200 and str(done.url).endswith(url)
    assert "现由 " + team["b"]["display_name"] + " 负责此客户。" in done.text
    assert await rep_of(team["dealer"]) == team["b"]["id"]
    # The old rep no longer sees the dealer.
    await sign_in(client, "rep_a")
    assert (await client.get(url)).status_code == 404


async def test_the_api_reads_and_moves_the_rep(client, team):
    dealer_id = team["dealer"]["id"]
    boss = await bearer(client, "boss")
    got = await client.get(f"/api/v1/dealers/{dealer_id}/rep", headers=boss)
    assert got.status_code == 200
    assert got.json()["rep"]["id"] == team["a"]["id"]
    assert {r["id"] for r in got.json()["assignable"]} == {team["a"]["id"], team["b"]["id"]}
    moved = await client.put(
        f"/api/v1/dealers/{dealer_id}/rep", json={"rep_id": team["b"]["id"]}, headers=boss
    )
    assert moved.status_code == 200 and moved.json()["rep"]["id"] == team["b"]["id"]
    refused = await client.put(
        f"/api/v1/dealers/{dealer_id}/rep", json={"rep_id": None}, headers={**boss, **ZH}
    )
    assert_problem(refused, 422, "validation")
    rep = await bearer(client, "rep_b")
    assert_problem(
        await client.put(
            f"/api/v1/dealers/{dealer_id}/rep", json={"rep_id": team["a"]["id"]}, headers=rep
        ),
        403,
        "forbidden",
    )
    root = await bearer(client, "root")
    cleared = await client.put(
        f"/api/v1/dealers/{dealer_id}/rep", json={"rep_id": None}, headers=root
    )
    assert cleared.status_code == 200 and cleared.json()["rep"] is None
    assert await rep_of(team["dealer"]) is None


async def test_a_dealer_whose_rep_was_deactivated_says_so_and_preselects_nobody(client, team):
    from portal.tables import User

    await User.update({User.active: False}).where(User.id == team["a"]["id"])
    await sign_in(client, "boss")
    card = await client.get(f"/dealers/{team['dealer']['id']}", headers=ZH)
    assert card.status_code == 200
    rep_row = card.text.split("<dt>业务员</dt>")[1].split("</dd>")[0]
    assert team["a"]["display_name"] in rep_row and "停用" in rep_row
    # The select does not quietly offer another rep as if chosen.
    assert '<option value="" selected disabled>请选择业务员</option>' in card.text
    assert f'<option value="{team["b"]["id"]}" selected>' not in card.text
