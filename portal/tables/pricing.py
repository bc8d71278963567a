"""Tier price lists with volume breaks, dealer contract prices and dated promotions."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LazyTableReference,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.catalog import Category, Sku


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


class Promotion(Table, tablename="promotion"):
    """A dated promotion (portal/domain/promotions.py), for every tier or for one.

    kind "percent_off": `percent_bp` off the dealer's price of one SKU, of a category and
    its sub-categories, or of everything (neither set). kind "spend_save" (满减): an order
    whose goods come to `threshold_fen` saves `save_fen`. kind "buy_get" (买赠): every
    `buy_qty` base units of `sku` bring `gift_qty` of `gift_sku` free.
    """

    name = Varchar(length=60)
    kind = Varchar(length=12)
    active = Boolean(default=True)
    starts_on = Date()
    ends_on = Date()  # inclusive, Asia/Shanghai dates
    tier = ForeignKey(
        LazyTableReference("Tier", module_path="portal.tables.dealers"), null=True, default=None
    )
    sku = ForeignKey(Sku, null=True, default=None)
    category = ForeignKey(Category, null=True, default=None)
    percent_bp = Integer(default=0)
    threshold_fen = BigInt(default=0)
    save_fen = BigInt(default=0)
    buy_qty = Integer(default=0)
    gift_sku = ForeignKey(Sku, null=True, default=None)
    gift_qty = Integer(default=0)
    created_at = Timestamptz()
    updated_at = Timestamptz()
