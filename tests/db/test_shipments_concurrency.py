"""Two warehouse clerks shipping the same remaining quantity at once (real parallel
connections on PostgreSQL): exactly one succeeds, stock and ledger count it once."""

from __future__ import annotations

import asyncio

import pytest

from portal.domain import ledger, shipments, stock
from portal.domain.errors import Conflict, ValidationFailed
from portal.tables import Dealer, OrderLine, Shipment, StockLevel
from tests import factories as f
from tests.db.test_shipments import NOW, approved_order, fulfil_world

pytestmark = pytest.mark.postgres_only


async def outcome(coro):
    try:
        return await coro
    except Exception as exc:  # collected and asserted on below
        return exc


async def test_two_clerks_ship_the_same_remaining_quantity(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    a = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    # A second clerk packed the same 10 from W2 (after the first packing was undone and
    # redone on a stale screen): both shipments now claim the whole line.
    await Shipment.update({Shipment.status: "cancelled"}).where(Shipment.id == a.id)
    b = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh2["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    await Shipment.update({Shipment.status: "packed"}).where(Shipment.id == a.id)
    clerk2 = f.actor(await f.user("warehouse"))

    results = await asyncio.gather(
        outcome(shipments.ship(w.clerk, a.id, now=NOW)),
        outcome(shipments.ship(clerk2, b.id, now=NOW)),
    )
    wins = [r for r in results if isinstance(r, shipments.ShipmentView)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert (await OrderLine.select().where(OrderLine.id == line["id"]).first())["qty_shipped"] == 10
    levels = await StockLevel.select().where(StockLevel.sku == w.sku["id"])
    assert sum(r["on_hand"] for r in levels) == 190
    assert all(r["reserved"] == 0 for r in levels)
    d = await Dealer.select().where(Dealer.id == w.dealer["id"]).first()
    assert d["balance_fen"] == 2000 == await ledger.ledger_sum_fen(w.dealer["id"])
    assert d["open_orders_fen"] == 0


async def test_many_clerks_ship_one_shipment(db):
    w = await fulfil_world()
    o = await approved_order(w, qty=10)
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 10}, now=NOW
        )
    ).shipment
    clerks = [f.actor(await f.user("warehouse")) for _ in range(8)]
    results = await asyncio.gather(*[outcome(shipments.ship(c, sh.id, now=NOW)) for c in clerks])
    assert sum(isinstance(r, shipments.ShipmentView) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 7
    row = (
        await StockLevel.select()
        .where((StockLevel.sku == w.sku["id"]) & (StockLevel.warehouse == w.wh1["id"]))
        .first()
    )
    assert (row["on_hand"], row["reserved"]) == (90, 0)


async def test_a_double_tapped_return_request_makes_one_return(db):
    from portal.domain import returns
    from portal.tables import ReturnRequest
    from tests.db.test_shipments_returns import shipped_order

    w = await fulfil_world()
    o, line = await shipped_order(w)
    results = await asyncio.gather(
        *[
            outcome(
                returns.request_return_once(
                    w.buyer,
                    o["id"],
                    quantities={line["id"]: 2},
                    reason="破损",
                    idempotency_key="tap",
                    now=NOW,
                )
            )
            for _ in range(6)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({view.id for view, _created in results}) == 1
    assert sum(created for _view, created in results) == 1
    assert await ReturnRequest.count() == 1


async def test_a_double_tapped_stock_receipt_counts_once(db):
    w = await fulfil_world()
    before = (
        await StockLevel.select()
        .where(StockLevel.warehouse == w.wh1["id"])
        .where(StockLevel.sku == w.sku["id"])
        .first()
    )["on_hand"]
    results = await asyncio.gather(
        *[
            outcome(
                stock.adjust_stock(
                    w.clerk,
                    warehouse_id=w.wh1["id"],
                    sku_id=w.sku["id"],
                    reason="receipt",
                    qty=7,
                    now=NOW,
                    idempotency_key="grn-9",
                )
            )
            for _ in range(6)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    after = (
        await StockLevel.select()
        .where(StockLevel.warehouse == w.wh1["id"])
        .where(StockLevel.sku == w.sku["id"])
        .first()
    )["on_hand"]
    assert after == before + 7


async def test_transfers_and_a_submission_racing_for_the_last_free_units(db):
    """Two clerks move the same 8 free units out of W1 while a dealer orders 6 there: what
    moves and what is reserved never adds up to more than W1 held, and nothing goes below
    reserved."""
    w = await fulfil_world(on_hand1=8, on_hand2=0)
    clerk2 = f.actor(await f.user("warehouse"))
    move = dict(sku_id=w.sku["id"], from_warehouse_id=w.wh1["id"], to_warehouse_id=w.wh2["id"])
    results = await asyncio.gather(
        outcome(stock.transfer_stock(w.clerk, **move, qty=5, now=NOW)),
        outcome(stock.transfer_stock(clerk2, **move, qty=5, now=NOW)),
        outcome(approved_order(w, qty=6)),
    )
    levels = {
        r["warehouse"]: r for r in await StockLevel.select().where(StockLevel.sku == w.sku["id"])
    }
    w1, w2 = levels[w.wh1["id"]], levels[w.wh2["id"]]
    assert w1["on_hand"] + w2["on_hand"] == 8  # moved, never made or lost
    assert w1["on_hand"] >= w1["reserved"] and w2["on_hand"] >= w2["reserved"]
    moved = sum(1 for r in results[:2] if isinstance(r, tuple))
    assert w2["on_hand"] == 5 * moved
    assert moved <= 1  # 5 + 5 > 8: a refused clerk is told how much is free
    assert all(isinstance(r, tuple | ValidationFailed) for r in results[:2]), results
