"""The supplier's own settings: one row (id 1), absent until an administrator first saves
them; until then the environment's defaults apply (portal/domain/supplier.py)."""

from piccolo.columns import BigInt, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class SupplierSettings(Table, tablename="supplier_settings"):
    name = Varchar(length=100, default="")  # printed on delivery notes and statements
    address = Varchar(length=200, default="")
    phone = Varchar(length=40, default="")
    show_stock_numbers = Boolean(default=False)  # dealers see how much is available
    auto_receive_days = Integer(default=7)  # 0: shipments are never received automatically
    # How far over its credit limit any dealer's orders may go: the greater of an amount and
    # a share of the dealer's limit (basis points), and of the dealer's own tolerance.
    credit_tolerance_fen = BigInt(default=0)
    credit_tolerance_bp = Integer(default=0)
    updated_at = Timestamptz()
