"""The whole return over the API: the dealer asks, finance decides, the warehouse receives;
stock comes back and a credit note reaches the ledger. Refusals are problems, nothing written."""

from __future__ import annotations

from portal.domain import returns
from portal.tables import LedgerEntry, ReturnRequest
from tests import factories as f
from tests.db.test_shipments import stock_of
from tests.http.conftest import sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer
from tests.http.test_return_photos import world


async def test_return_decided_and_received_through_the_api(client):
    w, o, line = await world()
    await f.user("finance", username="cfo")
    buyer = {**await bearer(client, "buyer"), **EN}
    cfo = {**await bearer(client, "cfo"), **EN}
    clerk = {**await bearer(client, "clerk"), **EN}
    on_hand_before = (await stock_of(w.sku, w.wh1))[0]

    ask = {"reason": "破损", "lines": [{"order_line_id": line["id"], "qty": 4}]}
    returns_url = f"/api/v1/orders/{o['id']}/returns"
    missing = await client.post(returns_url, json=ask, headers=buyer)
    assert_problem(missing, 400, "validation")
    keyed = {**buyer, "Idempotency-Key": "rma-1"}
    created = await client.post(returns_url, json=ask, headers=keyed)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    # A retry with the same key and body is the same return; another body is a conflict.
    again = await client.post(returns_url, json=ask, headers=keyed)
    assert again.status_code == 200 and again.json()["id"] == rid
    other = {**ask, "reason": "发错货"}
    assert_problem(await client.post(returns_url, json=other, headers=keyed), 409, "conflict")
    assert await ReturnRequest.count() == 1
    url = f"/api/v1/returns/{rid}"
    # Finance finds it among the returns waiting for a decision, and on its page.
    waiting = await client.get("/api/v1/returns?status=requested", headers=cfo)
    assert waiting.status_code == 200 and [r["id"] for r in waiting.json()["items"]] == [rid]
    every = await client.get("/api/v1/returns?status=", headers=cfo)  # empty: all of them
    assert every.status_code == 200 and [r["id"] for r in every.json()["items"]] == [rid]
    bad = await client.get("/api/v1/returns?status=lost", headers=cfo)
    assert_problem(bad, 422, "validation")
    await sign_in(client, "cfo")
    listed = await client.get("/returns")
    assert listed.status_code == 200 and f'href="/returns/{rid}"' in listed.text
    odd = await client.get("/returns?status=lost")
    assert odd.status_code == 200 and "未知的退货状态" in odd.text
    client.cookies.clear()

    # The dealer can't decide, and the warehouse can't receive before a decision.
    assert_problem(
        await client.post(f"{url}/decision", json={"decision": "approve"}, headers=buyer),
        403,
        "forbidden",
    )
    receive = {
        "warehouse_id": w.wh1["id"],
        "lines": [{"order_line_id": line["id"], "qty": 3}],
        "note": "一件无法再售",
    }
    assert_problem(
        await client.post(f"{url}/receive", json=receive, headers=clerk), 409, "conflict"
    )
    # A rejection needs a reason; an unknown decision is a validation problem.
    assert_problem(
        await client.post(f"{url}/decision", json={"decision": "reject"}, headers=cfo),
        422,
        "validation",
    )
    assert_problem(
        await client.post(f"{url}/decision", json={"decision": "maybe"}, headers=cfo),
        400,
        "validation",
    )
    assert (await ReturnRequest.select().first())["status"] == "requested"

    approved = await client.post(
        f"{url}/decision", json={"decision": "approve", "note": "同意"}, headers=cfo
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    too_many = {**receive, "lines": [{"order_line_id": line["id"], "qty": 5}]}
    assert_problem(
        await client.post(f"{url}/receive", json=too_many, headers=clerk), 422, "validation"
    )
    received = await client.post(f"{url}/receive", json=receive, headers=clerk)
    assert received.status_code == 200, received.text
    body = received.json()
    assert body["status"] == "received" and body["lines"][0]["qty_accepted"] == 3
    assert body["credit"] == "6.00"  # 3 × ¥2.00 at the order's price
    assert (await stock_of(w.sku, w.wh1))[0] == on_hand_before + 3
    notes = await LedgerEntry.select().where(LedgerEntry.dealer == w.dealer["id"])
    assert [e["amount_fen"] for e in notes if e["kind"] == "credit_note"] == [-600]
    again = await client.post(f"{url}/receive", json=receive, headers=clerk)
    assert_problem(again, 409, "conflict")
    assert (await stock_of(w.sku, w.wh1))[0] == on_hand_before + 3


async def test_returns_are_listed_a_page_at_a_time(client):
    w, o, line = await world()
    made = [
        await returns.request_return(w.buyer, o["id"], quantities={line["id"]: 1}, reason="破损")
        for _n in range(3)
    ]
    buyer = await bearer(client, "buyer")
    first = (await client.get("/api/v1/returns", params={"per_page": 2}, headers=buyer)).json()
    assert [r["id"] for r in first["items"]] == [made[2].id, made[1].id]
    assert (first["page"], first["per_page"], first["has_more"]) == (1, 2, True)
    second = await client.get("/api/v1/returns", params={"per_page": 2, "page": 2}, headers=buyer)
    assert [r["id"] for r in second.json()["items"]] == [made[0].id]
    assert second.json()["has_more"] is False


async def test_return_and_receipt_problems_name_the_body_s_own_lines(client):
    """A return's and a receipt's refused lines are named by their place in the body
    (lines[0].qty), as every other API body names them, not qty[<order line id>]."""
    w, o, line = await world()
    buyer = {**await bearer(client, "buyer"), **EN, "Idempotency-Key": "rma"}
    url = f"/api/v1/orders/{o['id']}/returns"

    def ask(*lines: tuple[int, int]) -> dict:
        return {
            "reason": "破损",
            "lines": [{"order_line_id": line_id, "qty": qty} for line_id, qty in lines],
        }

    too_many = assert_problem(
        await client.post(url, json=ask((line["id"], 11)), headers=buyer), 422, "validation"
    )
    assert too_many["errors"] == [
        {"field": "lines[0].qty", "message": "A100: 11 entered, at most 10 can be returned."}
    ]
    unknown = assert_problem(
        await client.post(url, json=ask((line["id"], 1), (987654, 1)), headers=buyer),
        422,
        "validation",
    )
    assert unknown["errors"] == [
        {"field": "lines[1].order_line_id", "message": "Unknown order line."}
    ]
    assert await ReturnRequest.count() == 0

    rma = await returns.request_return(w.buyer, o["id"], quantities={line["id"]: 4}, reason="破损")
    await returns.decide_return(w.finance, rma.id, approve=True, note="同意")
    clerk = {**await bearer(client, "clerk"), **EN}
    receive = f"/api/v1/returns/{rma.id}/receive"

    def receipt(*lines: tuple[int, int], warehouse_id: int = w.wh1["id"]) -> dict:
        return {
            "warehouse_id": warehouse_id,
            "lines": [{"order_line_id": line_id, "qty": qty} for line_id, qty in lines],
            "note": "验收",
        }

    over = assert_problem(
        await client.post(receive, json=receipt((line["id"], 5)), headers=clerk),
        422,
        "validation",
    )
    assert over["errors"] == [
        {"field": "lines[0].qty", "message": "At most 4 came back on this line."}
    ]
    # A line of the return the body leaves out is a problem of the lines as a whole.
    left_out = assert_problem(
        await client.post(receive, json=receipt((987654, 1)), headers=clerk), 422, "validation"
    )
    assert left_out["errors"] == [
        {"field": "lines[0].order_line_id", "message": "Unknown order line."},
        {"field": "lines", "message": "Say how much of this line was accepted: 0 if none."},
    ]
    nowhere = assert_problem(
        await client.post(
            receive, json=receipt((line["id"], 4), warehouse_id=987654), headers=clerk
        ),
        422,
        "validation",
    )
    assert [e["field"] for e in nowhere["errors"]] == ["warehouse_id"]
    assert (await ReturnRequest.select().first())["status"] == "approved"
