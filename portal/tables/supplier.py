"""The supplier's own settings: one row (id 1), absent until an administrator first saves
them; until then the environment's defaults apply (portal/domain/supplier.py)."""

from piccolo.columns import Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class SupplierSettings(Table, tablename="supplier_settings"):
    name = Varchar(length=100, default="")  # printed on delivery notes and statements
    address = Varchar(length=200, default="")
    phone = Varchar(length=40, default="")
    show_stock_numbers = Boolean(default=False)  # dealers see how much is available
    auto_receive_days = Integer(default=7)  # 0: shipments are never received automatically
    updated_at = Timestamptz()
