"""Return (RMA) pages: the dealer asks, an admin approves, the warehouse receives."""

from __future__ import annotations

import re

from portal.domain import shipments
from portal.tables import Dealer, ReturnRequest
from tests import factories as f
from tests.db.test_shipments import NOW, approved_order, fulfil_world, stock_of
from tests.http.conftest import csrf_from, sign_in


async def test_return_flow_pages(db, client):
    w = await fulfil_world()
    await f.user("dealer_buyer", w.dealer, username="buyer")
    await f.user("admin", username="boss")
    await f.user("warehouse", username="clerk")
    stranger_dealer = await f.dealer(w.tier)
    await f.user("dealer_buyer", stranger_dealer, username="stranger")
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)

    await sign_in(client, "buyer")
    fragment = await client.get(f"/orders/{o['id']}/shipments", headers={"HX-Request": "true"})
    assert f"/orders/{o['id']}/returns/new" in fragment.text
    form = await client.get(f"/orders/{o['id']}/returns/new")
    assert form.status_code == 200
    token = csrf_from(form.text)
    bad = await client.post(
        f"/orders/{o['id']}/returns",
        data={"_csrf_token": token, f"qty_{line['id']}": "11", "reason": "破损"},
    )
    assert bad.status_code == 422 and "field-error" in bad.text
    assert await ReturnRequest.count() == 0
    r = await client.post(
        f"/orders/{o['id']}/returns",
        data={"_csrf_token": token, f"qty_{line['id']}": "2", "reason": "破损"},
    )
    assert r.status_code == 200
    rma = await ReturnRequest.select().first()
    assert rma["status"] == "requested"

    client.cookies.clear()
    await sign_in(client, "stranger")
    assert (await client.get(f"/returns/{rma['id']}")).status_code == 404

    client.cookies.clear()
    await sign_in(client, "boss")
    # The approvals inbox says a return waits for a decision, a tap from its list.
    inbox = await client.get("/approvals")
    assert 'href="/returns?status=requested"' in inbox.text
    assert 'class="count-badge" aria-label="1 张退货单">1<' in inbox.text
    page = await client.get(f"/returns/{rma['id']}")
    assert "decision-form" in page.text
    r = await client.post(
        f"/returns/{rma['id']}/decision",
        data={"_csrf_token": csrf_from(page.text), "decision": "approve"},
    )
    assert r.status_code == 200
    assert "已通过，等待仓库收货" in r.text  # says what was decided, not "已保存"

    client.cookies.clear()
    await sign_in(client, "clerk")
    queue = await client.get("/warehouse")
    assert 'aria-label="1 张退货单">1<' in queue.text  # one approved return to receive
    page = await client.get(f"/returns/{rma['id']}")
    assert "receive-form" in page.text and "decision-form" not in page.text
    # A refused form keeps the warehouse the clerk chose.
    refused = await client.post(
        f"/returns/{rma['id']}/receive",
        data={
            "_csrf_token": csrf_from(page.text),
            "warehouse": str(w.wh2["id"]),
            f"qty_{line['id']}": "99",
        },
    )
    assert refused.status_code == 422
    assert f'<option value="{w.wh2["id"]}" selected>' in refused.text
    # Nothing accepted and no note: the form says why it came back, beside the note.
    nothing = await client.post(
        f"/returns/{rma['id']}/receive",
        data={
            "_csrf_token": csrf_from(page.text),
            "warehouse": str(w.wh1["id"]),
            f"qty_{line['id']}": "0",
            "note": "",
        },
    )
    assert nothing.status_code == 422
    assert re.search(r'id="rcv-note-err">[^<]+<', nothing.text), nothing.text[-3000:]
    r = await client.post(
        f"/returns/{rma['id']}/receive",
        data={
            "_csrf_token": csrf_from(page.text),
            "warehouse": str(w.wh1["id"]),
            f"qty_{line['id']}": "2",
        },
    )
    assert r.status_code == 200
    assert "已收货，已向经销商贷记 ¥4.00" in r.text
    # The return's history: asked, decided and received, each with who did it.
    for label in ("申请时间", "审批时间", "退货入库"):
        assert f"<dt>{label}</dt>" in r.text, label
    assert "张退货单" not in (await client.get("/warehouse")).text  # nothing left to receive
    assert await stock_of(w.sku, w.wh1) == (92, 0)
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert d["balance_fen"] == 2000 - 400


async def test_a_return_form_sent_twice_asks_once_and_an_order_with_nothing_left_offers_none(
    db, client
):
    import re

    w = await fulfil_world()
    await f.user("dealer_buyer", w.dealer, username="buyer")
    await f.user("warehouse", username="clerk")
    waiting = await approved_order(w, qty=4, key="waiting")  # nothing shipped
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)
    await sign_in(client, "buyer")
    empty = await client.get(f"/orders/{waiting['id']}/returns/new")
    assert 'id="nothing-to-return"' in empty.text and 'id="return-form"' not in empty.text
    form = await client.get(f"/orders/{o['id']}/returns/new")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1)
    sent = {
        "_csrf_token": csrf_from(form.text),
        "idempotency_key": key,
        f"qty_{line['id']}": "10",
        "reason": "整批退回",
    }
    first = await client.post(f"/orders/{o['id']}/returns", data=sent, follow_redirects=False)
    again = await client.post(f"/orders/{o['id']}/returns", data=sent, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert await ReturnRequest.count() == 1
    # Everything asked back: the order page offers no return, the form says why.
    fragment = await client.get(f"/orders/{o['id']}/shipments", headers={"HX-Request": "true"})
    assert f"/orders/{o['id']}/returns/new" not in fragment.text
    assert 'id="nothing-to-return"' in (await client.get(f"/orders/{o['id']}/returns/new")).text


async def test_the_returns_work_list_pages_oldest_waiting_first(db, client, monkeypatch):
    from portal.domain import returns
    from portal.web import shipments as pages

    monkeypatch.setattr(pages, "RETURNS_PER_PAGE", 2)
    from tests.db.test_shipments_returns import shipped_order

    w = await fulfil_world()
    await f.user("admin", username="boss")
    o, line = await shipped_order(w)
    made = [
        await returns.request_return(w.buyer, o["id"], quantities={line["id"]: 1}, reason="破损")
        for _n in range(3)
    ]
    await sign_in(client, "boss")
    first = await client.get("/returns")  # an administrator starts at what waits to be decided
    numbers = re.findall(r'<strong class="ident">([^<]+)</strong>', first.text)
    assert numbers == [made[0].number, made[1].number]  # the oldest first
    nxt = re.search(r'rel="next" href="([^"]+)"', first.text).group(1)
    assert "status=requested" in nxt
    second = await client.get(nxt.replace("&amp;", "&"))
    assert re.findall(r'<strong class="ident">([^<]+)</strong>', second.text) == [made[2].number]
    # Every state: newest first, kept across pages.
    every = await client.get("/returns?status=all")
    assert re.findall(r'<strong class="ident">([^<]+)</strong>', every.text)[0] == made[2].number
    assert "status=all" in re.search(r'rel="next" href="([^"]+)"', every.text).group(1)
