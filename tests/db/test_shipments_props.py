"""Shipment arithmetic under random splits (hypothesis), on SQLite and PostgreSQL.

Whatever shipments are packed, shipped or cancelled, in any order and from any
warehouse: never more shipped than ordered, reserved and on hand never negative,
reservations match the stock rows, and the ledger equals the dealer's balance.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domain import ledger, shipments
from portal.domain.errors import Conflict, DomainError
from portal.tables import Dealer, OrderLine, Reservation, StockLevel
from tests.conftest import empty_all_tables
from tests.db.test_shipments import NOW, approved_order, fulfil_world

op = st.tuples(
    st.sampled_from(["pack", "ship", "cancel"]),
    st.integers(0, 1),  # warehouse
    st.integers(-2, 14),  # quantity (bad ones included)
    st.integers(0, 5),  # which shipment
)


async def check_invariants(dealer_id: int, unit_price_fen: int) -> None:
    for row in await StockLevel.select():
        assert row["on_hand"] >= 0 and row["reserved"] >= 0
        assert row["on_hand"] >= row["reserved"]
        held = sum(
            r["qty"]
            for r in await Reservation.select().where(
                (Reservation.sku == row["sku"]) & (Reservation.warehouse == row["warehouse"])
            )
        )
        assert held == row["reserved"]
    shipped = 0
    for line in await OrderLine.select():
        assert 0 <= line["qty_shipped"] <= line["qty"]
        shipped += line["qty_shipped"]
        reserved = sum(
            r["qty"] for r in await Reservation.select().where(Reservation.order_line == line["id"])
        )
        assert reserved <= line["qty"] - line["qty_shipped"]
    dealer = await Dealer.select().where(Dealer.id == dealer_id).first()
    assert dealer["balance_fen"] == await ledger.ledger_sum_fen(dealer_id)
    assert dealer["balance_fen"] == shipped * unit_price_fen
    assert dealer["balance_fen"] + dealer["open_orders_fen"] == 12 * unit_price_fen


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    on_hand=st.tuples(st.integers(0, 12), st.integers(0, 12)),
    ops=st.lists(op, min_size=1, max_size=8),
)
async def test_random_splits_keep_the_books(db, on_hand, ops):
    await empty_all_tables(db)
    if sum(on_hand) < 12:
        on_hand = (on_hand[0], 12 - on_hand[0])
    w = await fulfil_world(on_hand1=on_hand[0], on_hand2=on_hand[1])
    o = await approved_order(w, qty=12)
    line = o["lines"][0]
    made: list[int] = []
    now = NOW
    for kind, wh_index, qty, which in ops:
        now += timedelta(minutes=1)
        wh = (w.wh1, w.wh2)[wh_index]
        try:
            if kind == "pack":
                sh = await shipments.create_shipment(
                    w.clerk, o["id"], warehouse_id=wh["id"], quantities={line["id"]: qty}, now=now
                )
                made.append(sh.shipment.id)
            elif made and kind == "ship":
                await shipments.ship(w.clerk, made[which % len(made)], now=now)
            elif made:
                await shipments.cancel_shipment(w.clerk, made[which % len(made)], now=now)
        except (Conflict, DomainError):
            pass  # refusals are fine; the books must still add up
        await check_invariants(w.dealer["id"], 200)
