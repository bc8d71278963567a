"""Returns (RMA): request, decide, receive; stock and credit restored; scope and bad input."""

from __future__ import annotations

import pytest

from portal.domain import returns, shipments
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.tables import LedgerEntry, Notification, OrderEvent
from tests import factories as f
from tests.db.test_shipments import (
    NOW,
    approved_order,
    assert_ledger_balanced,
    dealer_row,
    fulfil_world,
    stock_of,
)


async def shipped_order(w, qty=10):
    o = await approved_order(w, qty=qty)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: qty}, now=NOW
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=NOW)
    return o, line


async def test_return_restores_stock_and_credit(db):
    w = await fulfil_world()
    manager = f.actor(await f.user("sales_manager"))
    admin = f.actor(await f.user("admin"))
    o, line = await shipped_order(w)
    assert await stock_of(w.sku, w.wh1) == (90, 0)
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: "4"}, reason="破损", now=NOW
    )
    assert rma.status == "requested" and rma.lines[0].qty == 4
    # Not more than what is left to return.
    with pytest.raises(ValidationFailed):
        await returns.request_return(
            w.buyer, o["id"], quantities={line["id"]: 7}, reason="再退", now=NOW
        )
    with pytest.raises(Forbidden):
        await returns.decide_return(w.clerk, rma.id, approve=True)
    # The manager has no team here: out of scope reads as not found.
    with pytest.raises(NotFound):
        await returns.decide_return(manager, rma.id, approve=True)
    approved = await returns.decide_return(admin, rma.id, approve=True, now=NOW)
    assert approved.status == "approved"
    with pytest.raises(Conflict):
        await returns.decide_return(admin, rma.id, approve=False, note="晚了", now=NOW)
    with pytest.raises(ValidationFailed):
        await returns.receive_return(
            w.clerk, rma.id, warehouse_id=w.wh2["id"], accepted={line["id"]: 5}, now=NOW
        )
    received = await returns.receive_return(
        w.clerk, rma.id, warehouse_id=w.wh2["id"], accepted={line["id"]: 3}, note="1 瓶无法再售"
    )
    assert received.status == "received" and received.credit_fen == 600
    assert await stock_of(w.sku, w.wh2) == (103, 0)
    d = await dealer_row(w)
    assert d["balance_fen"] == 2000 - 600
    await assert_ledger_balanced(w.dealer["id"])
    credit = await LedgerEntry.select().where(LedgerEntry.kind == "credit_note").first()
    assert credit["ref_type"] == "return" and credit["ref_id"] == rma.id
    kinds = [e["kind"] for e in await OrderEvent.select().where(OrderEvent.order == o["id"])]
    assert {"return_requested", "return_approved", "return_received"} <= set(kinds)
    # 3 accepted, 1 not: 7 may still be asked back.
    assert (await returns.returnable(o["id"]))[line["id"]] == 7
    # The dealer's news says what was credited and what the inspection found.
    news = await Notification.select(Notification.note).where(
        (Notification.user == w.buyer.user_id) & (Notification.kind == "return_received")
    )
    assert [n["note"] for n in news] == [f"{rma.number}\n¥6.00\n1 瓶无法再售"]


async def test_a_refused_return_tells_the_dealer_why(db):
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    o, line = await shipped_order(w)
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 2}, reason="口味不对", now=NOW
    )
    await returns.decide_return(admin, rma.id, approve=False, note="已超过退货期限", now=NOW)
    news = await Notification.select(Notification.note).where(
        (Notification.user == w.buyer.user_id) & (Notification.kind == "return_rejected")
    )
    assert [n["note"] for n in news] == [f"{rma.number}\n已超过退货期限"]
    # The news opens the return it is about, not its order.
    from portal.domain import notifications

    listed = await notifications.list_for(w.buyer)
    assert {n.link for n in listed if n.kind.startswith("return_")} == {f"/returns/{rma.id}"}


async def test_return_rules(db):
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    o = await approved_order(w, qty=10, key="unshipped")
    with pytest.raises(Conflict):
        await returns.request_return(
            w.buyer, o["id"], quantities={o["lines"][0]["id"]: 1}, reason="x"
        )
    o2, line = await shipped_order(w)
    for quantities, reason in (({line["id"]: "x"}, "r"), ({line["id"]: -1}, "r"), ({}, "r")):
        with pytest.raises(ValidationFailed):
            await returns.request_return(w.buyer, o2["id"], quantities=quantities, reason=reason)
    with pytest.raises(ValidationFailed):
        await returns.request_return(w.buyer, o2["id"], quantities={line["id"]: 1}, reason="")
    with pytest.raises(Forbidden):
        await returns.request_return(w.clerk, o2["id"], quantities={line["id"]: 1}, reason="r")
    stranger = f.actor(await f.user("dealer_buyer", await f.dealer(w.tier)))
    with pytest.raises(NotFound):
        await returns.request_return(stranger, o2["id"], quantities={line["id"]: 1}, reason="r")
    rma = await returns.request_return(w.buyer, o2["id"], quantities={line["id"]: 2}, reason="r")
    with pytest.raises(NotFound):
        await returns.get_return(stranger, rma.id)
    with pytest.raises(ValidationFailed):
        await returns.decide_return(admin, rma.id, approve=False, note="")
    rejected = await returns.decide_return(admin, rma.id, approve=False, note="超过退货期")
    assert rejected.status == "rejected"
    with pytest.raises(Conflict):
        await returns.receive_return(
            w.clerk, rma.id, warehouse_id=w.wh1["id"], accepted={line["id"]: 2}
        )
    # A rejected request frees the quantity again.
    assert (await returns.returnable(o2["id"]))[line["id"]] == 10


async def kinds_for(user_id: int) -> list[str]:
    rows = await Notification.select(Notification.kind).where(Notification.user == user_id)
    return sorted(r["kind"] for r in rows)


async def test_a_return_s_news_reaches_who_acts_on_it_and_the_dealer(db):
    w = await fulfil_world()
    boss = await f.user("sales_manager")
    rep = await f.user("sales_rep", manager=boss)
    await f.assign(rep, w.dealer)
    clerk_2 = f.actor(await f.user("dealer_buyer", w.dealer))  # the dealer's other buyer
    o, line = await shipped_order(w)
    await Notification.delete(force=True)
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 2}, reason="破损", now=NOW
    )
    # Those who decide (the dealer's manager, finance) are told; the requester is not.
    assert await kinds_for(boss["id"]) == ["return_requested"]
    assert await kinds_for(w.finance.user_id) == ["return_requested"]
    assert await kinds_for(w.buyer.user_id) == []
    assert await kinds_for(w.clerk.user_id) == []
    # Staff find it without opening the order; the dealer sees its own, another dealer none.
    assert [r.id for r in await returns.list_returns(w.finance, "requested")] == [rma.id]
    assert [r.id for r in await returns.list_returns(w.buyer)] == [rma.id]
    other = f.actor(await f.user("dealer_buyer", await f.dealer(await f.tier())))
    assert await returns.list_returns(other) == []
    with pytest.raises(ValidationFailed):
        await returns.list_returns(w.finance, "nonsense")

    await returns.decide_return(w.finance, rma.id, approve=True, now=NOW)
    assert "return_approved" in await kinds_for(w.buyer.user_id)
    assert "return_approved" in await kinds_for(clerk_2.user_id)
    assert "return_approved" in await kinds_for(rep["id"])
    assert await kinds_for(w.clerk.user_id) == ["return_to_receive"]
    assert [r.id for r in await returns.list_returns(w.clerk, "approved")] == [rma.id]
    await returns.receive_return(
        w.clerk, rma.id, warehouse_id=w.wh1["id"], accepted={line["id"]: 2}, now=NOW
    )
    assert "return_received" in await kinds_for(w.buyer.user_id)


async def test_the_receiving_form_suggests_the_warehouse_that_shipped_the_goods(db):
    """Goods shipped from W2 (not the first warehouse in preference order) go back there
    unless the clerk picks another."""
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    sh = await shipments.create_shipment(
        w.clerk, o["id"], warehouse_id=w.wh2["id"], quantities={line["id"]: 10}, now=NOW
    )
    await shipments.ship(w.clerk, sh.shipment.id, now=NOW)
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 2}, reason="破损", now=NOW
    )
    rma = await returns.decide_return(admin, rma.id, approve=True, now=NOW)
    plain = await returns.receiving_warehouses(w.clerk)
    assert [x["id"] for x in plain] == [w.wh1["id"], w.wh2["id"]]
    suggested = await returns.receiving_warehouses(w.clerk, rma)
    assert [x["id"] for x in suggested] == [w.wh2["id"], w.wh1["id"]]


async def test_a_return_refused_whole_at_inspection_is_received_and_no_line_is_skipped(db):
    """Everything refused at inspection is a normal outcome (it was a 500); a line the
    warehouse leaves out is asked about, not taken as refused."""
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    o, line = await shipped_order(w)
    rma = await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: 4}, reason="破损", now=NOW
    )
    await returns.decide_return(admin, rma.id, approve=True, now=NOW)
    with pytest.raises(ValidationFailed) as refused:
        await returns.receive_return(w.clerk, rma.id, warehouse_id=w.wh2["id"], accepted={})
    assert f"qty[{line['id']}]" in {e.field for e in refused.value.errors}
    with pytest.raises(ValidationFailed) as unexplained:  # nothing accepted: say why
        await returns.receive_return(
            w.clerk, rma.id, warehouse_id=w.wh2["id"], accepted={line["id"]: 0}
        )
    assert [e.field for e in unexplained.value.errors] == ["note"]
    assert (await returns.get_return(admin, rma.id)).status == "approved"
    before = await stock_of(w.sku, w.wh2)
    received = await returns.receive_return(
        w.clerk, rma.id, warehouse_id=w.wh2["id"], accepted={line["id"]: 0}, note="全部破损"
    )
    assert received.status == "received" and received.credit_fen == 0
    assert await stock_of(w.sku, w.wh2) == before
    assert await LedgerEntry.count().where(LedgerEntry.kind == "credit_note") == 0
