"""Warehouses, stock levels per SKU and warehouse, and what orders reserve from them."""

from piccolo.columns import Boolean, ForeignKey, Integer, LazyTableReference, Varchar
from piccolo.table import Table

from portal.tables.catalog import Sku


class Warehouse(Table, tablename="warehouse"):
    code = Varchar(length=20, unique=True)
    name = Varchar(length=50)
    region = Varchar(length=50, default="")
    priority = Integer(default=0)
    active = Boolean(default=True)


class StockLevel(Table, tablename="stock_level"):
    """available = on_hand - reserved; a guarded update keeps available >= 0."""

    warehouse = ForeignKey(Warehouse)
    sku = ForeignKey(Sku, index=True)
    on_hand = Integer(default=0)
    reserved = Integer(default=0)


class Reservation(Table, tablename="reservation"):
    order_line = ForeignKey(
        LazyTableReference("OrderLine", module_path="portal.tables.orders"), index=True
    )
    warehouse = ForeignKey(Warehouse)
    sku = ForeignKey(Sku)
    qty = Integer()


class WarehouseStaff(Table, tablename="warehouse_staff"):
    """A warehouse the warehouse user works in; a warehouse user with none works in all."""

    user = ForeignKey(LazyTableReference("User", module_path="portal.tables.users"))
    warehouse = ForeignKey(Warehouse)
