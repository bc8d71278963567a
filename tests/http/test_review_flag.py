"""The review flag through the API and the dealer card page."""

from __future__ import annotations

from portal.tables import AuditEntry, Dealer
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer


async def _world():
    dealer = await f.dealer()
    manager = await f.user("sales_manager", username="mgr1")
    rep = await f.user("sales_rep", manager=manager, username="rep9")
    await f.assign(rep, dealer)
    await f.user("dealer_buyer", dealer, username="buyer9")
    return dealer


async def _flag(dealer_id: int) -> bool:
    row = await Dealer.select(Dealer.flagged_for_review).where(Dealer.id == dealer_id).first()
    return bool(row["flagged_for_review"])


async def test_manager_flags_and_clears_through_the_api(client):
    dealer = await _world()
    headers = await bearer(client, "mgr1")
    url = f"/api/v1/dealers/{dealer['id']}/review-flag"
    response = await client.post(url, json={"flagged": True, "reason": "逾期"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"dealer_id": dealer["id"], "flagged_for_review": True}
    assert await _flag(dealer["id"])
    response = await client.post(url, json={"flagged": False}, headers=headers)
    assert response.json()["flagged_for_review"] is False


async def test_the_api_refuses_dealers_unknown_ids_and_missing_reasons(client):
    dealer = await _world()
    url = f"/api/v1/dealers/{dealer['id']}/review-flag"
    buyer = await bearer(client, "buyer9")
    assert_problem(
        await client.post(url, json={"flagged": True, "reason": "x"}, headers=buyer),
        403,
        "forbidden",
    )
    manager = await bearer(client, "mgr1")
    assert_problem(
        await client.post(
            "/api/v1/dealers/999999/review-flag",
            json={"flagged": True, "reason": "x"},
            headers=manager,
        ),
        404,
        "not-found",
    )
    assert_problem(
        await client.post(url, json={"flagged": True}, headers=manager), 422, "validation"
    )
    assert_problem(
        await client.post(url, json={"flagged": "maybe"}, headers=manager), 400, "validation"
    )
    assert not await _flag(dealer["id"])
    assert await AuditEntry.count().where(AuditEntry.action == "dealer.review_flag") == 0


async def test_the_dealer_card_offers_the_flag_to_the_manager(client):
    dealer = await _world()
    await sign_in(client, "mgr1")
    card = await client.get(f"/dealers/{dealer['id']}")
    assert card.status_code == 200
    assert f'action="/dealers/{dealer["id"]}/review-flag"' in card.text
    refused = await client.post(
        f"/dealers/{dealer['id']}/review-flag",
        data={"flagged": "1", "reason": "", "_csrf_token": csrf_from(card.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert not await _flag(dealer["id"])
    done = await client.post(
        f"/dealers/{dealer['id']}/review-flag",
        data={"flagged": "1", "reason": "对账有差异", "_csrf_token": csrf_from(card.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert await _flag(dealer["id"])
