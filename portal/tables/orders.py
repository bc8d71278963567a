"""Carts (the draft), orders with price-snapshot lines, their timeline and idempotency keys."""

from piccolo.columns import (
    BigInt,
    Date,
    ForeignKey,
    Integer,
    LazyTableReference,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.catalog import Sku
from portal.tables.dealers import Address, Dealer

_USER = LazyTableReference("User", module_path="portal.tables.users")


class Cart(Table, tablename="cart"):
    """One draft per (dealer, user): a rep ordering for a dealer has their own."""

    dealer = ForeignKey(Dealer, index=True)
    user = ForeignKey(_USER)
    address = ForeignKey(Address, null=True, default=None)
    requested_date = Date(null=True, default=None)
    note = Varchar(length=500, default="")
    updated_at = Timestamptz()


class CartLine(Table, tablename="cart_line"):
    cart = ForeignKey(Cart, index=True)
    sku = ForeignKey(Sku)
    qty = Integer()  # in base units
    added_at = Timestamptz()
    # A staff member's own unit price for the line (a rep's discount); None: the dealer's price.
    unit_price_override_fen = BigInt(null=True, default=None)


class Order(Table, tablename="sales_order"):
    number = Varchar(length=20, unique=True)
    dealer = ForeignKey(Dealer, index=True, on_delete=OnDelete.restrict)
    placed_by = ForeignKey(_USER, on_delete=OnDelete.restrict)
    # The rep who ordered on the dealer's behalf, if any.
    rep = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.restrict)
    # The rep looking after the dealer when the order was placed (sales by rep stay theirs
    # after the dealer is handed to another rep); None for a dealer nobody looked after.
    account_rep = ForeignKey(
        _USER, null=True, default=None, on_delete=OnDelete.restrict, index=True
    )
    status = Varchar(length=20, index=True)
    total_fen = BigInt(default=0)
    list_total_fen = BigInt(default=0)
    # A spend-X-save-Y promotion (满减) the order earned: the saving, spread over the lines
    # (order_line.discount_fen) and already taken off total_fen; its terms as JSON.
    discount_fen = BigInt(default=0)
    discount_params = Text(default="")
    # Ship-to as it was at submission.
    ship_to = Text(default="")
    requested_date = Date(null=True, default=None)
    note = Varchar(length=500, default="")
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()


class OrderLine(Table, tablename="order_line"):
    order = ForeignKey(Order, index=True, on_delete=OnDelete.restrict)
    sku = ForeignKey(Sku, on_delete=OnDelete.restrict)
    # The order's dealer, copied at submission (an order's dealer never changes): indexed
    # with the SKU (order_line_dealer_sku), so that the catalog's "bought before" reads only
    # the dealer's lines of the SKUs on the page, however long the dealer's history.
    dealer = Integer(default=0)
    sku_code = Varchar(length=40)
    sku_name = Varchar(length=160)
    unit = Varchar(length=10)
    qty = Integer()
    qty_shipped = Integer(default=0)
    # Base units waiting for stock (not reserved, not shippable); reserved oldest order first
    # as stock arrives. Reserved for the line = qty - qty_shipped - qty_backordered.
    qty_backordered = Integer(default=0)
    unit_price_fen = BigInt()
    list_price_fen = BigInt()
    # qty × unit price less the line's share of the order's saving (discount_fen).
    line_total_fen = BigInt()
    discount_fen = BigInt(default=0)
    price_rule = Varchar(length=20)
    # The rule's figures (tier, break quantity, pack) as JSON, rendered in the reader's language.
    price_rule_params = Text(default="{}")


class OrderEvent(Table, tablename="order_event"):
    """The timeline: every transition with who, when and why."""

    order = ForeignKey(Order, index=True)
    at = Timestamptz()
    actor = ForeignKey(_USER, null=True, default=None)
    kind = Varchar(length=30)
    from_status = Varchar(length=20, default="")
    to_status = Varchar(length=20, default="")
    note = Text(default="")


class IdempotencyKey(Table, tablename="idempotency_key"):
    """(user, key) is unique; the request hash tells a retry from a different body."""

    user = ForeignKey(_USER)
    key = Varchar(length=100)
    request_hash = Varchar(length=64)
    order = ForeignKey(Order, null=True, default=None)
    created_at = Timestamptz()


class OrderCounter(Table, tablename="order_counter"):
    """Last order sequence number per day, for SO-YYYYMMDD-NNNN."""

    day = Varchar(length=8, unique=True)
    last = Integer(default=0)
