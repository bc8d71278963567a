"""Warehouses kept by an administrator, on both engines."""

from __future__ import annotations

import pytest

from portal.domain import orders, warehouses
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import AuditEntry, Warehouse
from tests import factories as f
from tests.db.test_orders import NOW


async def test_add_edit_and_an_inactive_warehouse_is_skipped(db):
    admin = f.actor(await f.user("admin"))
    home = await warehouses.save_warehouse(
        admin, None, warehouses.WarehouseInput(code="SH", name="上海仓", priority=1), now=NOW
    )
    far = await warehouses.save_warehouse(
        admin, None, warehouses.WarehouseInput(code="GZ", name="广州仓", priority=2), now=NOW
    )
    assert [w["code"] for w in await warehouses.list_warehouses(admin)] == ["SH", "GZ"]
    tier = await f.tier()
    dealer = await f.dealer(tier)
    sku = await f.sku(code="A100")
    await f.stock(sku, await Warehouse.select().where(Warehouse.id == home["id"]).first(), 5)
    await f.stock(sku, await Warehouse.select().where(Warehouse.id == far["id"]).first(), 5)
    await warehouses.save_warehouse(
        admin,
        home["id"],
        warehouses.WarehouseInput(code="SH", name="上海仓", priority=1, active=False),
        now=NOW,
    )
    buyer = f.actor(await f.user("dealer_buyer", dealer))
    result = await orders.submit_order(
        buyer, dealer["id"], [LineRequest(qty=3, sku_code="A100")], idempotency_key="w1", now=NOW
    )
    # The inactive warehouse is skipped: all 3 come from Guangzhou.
    line = result.order.lines[0]
    assert line.qty_reserved == 3
    levels = {r["warehouse"]: r["reserved"] for r in await f.StockLevel.select()}
    assert levels == {home["id"]: 0, far["id"]: 3}
    assert await AuditEntry.count().where(AuditEntry.action == "warehouse.saved") == 3


async def test_bad_and_forbidden(db):
    admin = f.actor(await f.user("admin"))
    await warehouses.save_warehouse(
        admin, None, warehouses.WarehouseInput(code="SH", name="上海仓"), now=NOW
    )
    for data, field in (
        (warehouses.WarehouseInput(code="SH", name="重复"), "code"),
        (warehouses.WarehouseInput(code="a b", name="x"), "code"),
        (warehouses.WarehouseInput(code="OK", name=""), "name"),
        (warehouses.WarehouseInput(code="OK", name="x", priority=5000), "priority"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await warehouses.save_warehouse(admin, None, data, now=NOW)
        assert [e.field for e in refused.value.errors] == [field]
    assert await Warehouse.count() == 1
    with pytest.raises(Forbidden):
        await warehouses.list_warehouses(f.actor(await f.user("dealer_buyer", await f.dealer())))
    with pytest.raises(NotFound):
        await warehouses.get_warehouse(admin, 987654)
