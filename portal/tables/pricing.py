"""Tier price lists with volume breaks, and dealer contract prices."""

from piccolo.columns import BigInt, ForeignKey, Integer, LazyTableReference
from piccolo.table import Table

from portal.tables.catalog import Sku


class TierPrice(Table, tablename="tier_price"):
    """Either a fixed price or a percentage of the base price (basis points, 8500 = 85 %)."""

    tier = ForeignKey(LazyTableReference("Tier", module_path="portal.tables.dealers"))
    sku = ForeignKey(Sku, index=True)
    price_fen = BigInt(null=True, default=None)
    percent_bp = Integer(null=True, default=None)


class VolumeBreak(Table, tablename="volume_break"):
    """From `min_qty` base units on, the tier pays `price_fen` per base unit."""

    tier = ForeignKey(LazyTableReference("Tier", module_path="portal.tables.dealers"))
    sku = ForeignKey(Sku, index=True)
    min_qty = Integer()
    price_fen = BigInt()


class ContractPrice(Table, tablename="contract_price"):
    dealer = ForeignKey(LazyTableReference("Dealer", module_path="portal.tables.dealers"))
    sku = ForeignKey(Sku, index=True)
    price_fen = BigInt()
