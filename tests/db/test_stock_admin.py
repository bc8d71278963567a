"""Staff stock: the list (search, safety stock) and adjustments (audited, never below reserved)."""

from __future__ import annotations

import pytest

from portal.domain import stock
from portal.domain.errors import Forbidden, ValidationFailed
from portal.tables import AuditEntry, Sku, StockLevel
from tests import factories as f
from tests.db.test_shipments import NOW, approved_order, fulfil_world, stock_of


async def test_list_search_and_safety(db):
    w = await fulfil_world(on_hand1=5, on_hand2=3)
    await Sku.update({Sku.safety_stock: 20}).where(Sku.id == w.sku["id"])
    rows = await stock.list_stock(w.clerk)
    assert len(rows) == 4
    assert {r.sku_code for r in await stock.list_stock(w.clerk, q="a10")} == {"A100"}
    barcode = w.sku2["barcode"]
    assert {r.sku_code for r in await stock.list_stock(w.clerk, q=barcode)} == {"B200"}
    under = await stock.list_stock(w.clerk, under_safety=True)
    assert {r.sku_code for r in under} == {"A100"} and len(under) == 2
    only_w2 = await stock.list_stock(w.clerk, warehouse_id=w.wh2["id"])
    assert {r.warehouse_code for r in only_w2} == {"W2"}
    with pytest.raises(Forbidden):
        await stock.list_stock(w.buyer)
    with pytest.raises(Forbidden):
        await stock.list_stock(f.actor(await f.user("sales_rep")))


async def test_adjust_receipt_count_damage(db):
    w = await fulfil_world(on_hand1=10)
    await approved_order(w, qty=6)  # 6 reserved at W1
    row = await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty="5", now=NOW
    )
    assert (row.on_hand, row.reserved, row.available) == (15, 6, 9)
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="damage", qty=2, now=NOW
    )
    await stock.adjust_stock(
        w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="count", qty=7, now=NOW
    )
    assert await stock_of(w.sku, w.wh1) == (7, 6)
    for reason, qty in (("count", 5), ("damage", 2)):
        with pytest.raises(ValidationFailed) as exc:
            await stock.adjust_stock(
                w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason=reason, qty=qty
            )
        assert "6 reserved" in exc.value.errors[0].message % exc.value.errors[0].params
    for reason, qty in (("receipt", "x"), ("receipt", "-3"), ("receipt", "0"), ("theft", 1)):
        with pytest.raises(ValidationFailed):
            await stock.adjust_stock(
                w.clerk, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason=reason, qty=qty
            )
    with pytest.raises(Forbidden):
        await stock.adjust_stock(
            w.buyer, warehouse_id=w.wh1["id"], sku_id=w.sku["id"], reason="receipt", qty=1
        )
    assert await stock_of(w.sku, w.wh1) == (7, 6)
    actions = [a["action"] for a in await AuditEntry.select().order_by(AuditEntry.id)]
    assert actions[-3:] == ["stock.receipt", "stock.damage", "stock.count"]


async def test_receipt_creates_a_stock_row(db):
    w = await fulfil_world()
    wh3 = await f.warehouse("W3", "华北仓")
    await stock.adjust_stock(
        w.clerk, warehouse_id=wh3["id"], sku_id=w.sku["id"], reason="receipt", qty=4, now=NOW
    )
    assert await StockLevel.count().where(StockLevel.warehouse == wh3["id"]) == 1
