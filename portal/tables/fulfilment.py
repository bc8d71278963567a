"""Fulfilment and money: shipments (发货) with their lines, the dealer ledger (应收账), returns
(退货) with their lines and photos."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Bytea,
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
from portal.tables.dealers import Dealer
from portal.tables.orders import Order, OrderLine
from portal.tables.stock import Warehouse

_USER = LazyTableReference("User", module_path="portal.tables.users")


class Shipment(Table, tablename="shipment"):
    """One parcel of an order from one warehouse: packed -> shipped -> delivered (送达, marked by
    the warehouse or a carrier's system; may be skipped) -> received (签收).

    `dealer` repeats the order's dealer so scope applies to shipments without a join.
    `value_fen` is the invoice posted when it ships (the lines at the order's prices).
    """

    number = Varchar(length=30, unique=True)
    order = ForeignKey(Order, index=True, on_delete=OnDelete.restrict)
    dealer = ForeignKey(Dealer, index=True, on_delete=OnDelete.restrict)
    warehouse = ForeignKey(Warehouse, on_delete=OnDelete.restrict)
    status = Varchar(length=20, index=True)
    carrier = Varchar(length=50, default="")
    tracking_no = Varchar(length=50, default="")
    value_fen = BigInt(default=0)
    created_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    shipped_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    shipped_at = Timestamptz(null=True, default=None)
    delivered_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    delivered_at = Timestamptz(null=True, default=None)
    received_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    received_at = Timestamptz(null=True, default=None)
    # A receipt with a discrepancy (short, damaged) keeps the dealer's note.
    discrepancy = Boolean(default=False)
    receipt_note = Text(default="")
    auto_received = Boolean(default=False)


class ShipmentLine(Table, tablename="shipment_line"):
    shipment = ForeignKey(Shipment, index=True, on_delete=OnDelete.cascade)
    order_line = ForeignKey(OrderLine, index=True, on_delete=OnDelete.restrict)
    sku = ForeignKey(Sku, on_delete=OnDelete.restrict)
    qty = Integer()


class LedgerEntry(Table, tablename="ledger_entry"):
    """The dealer's account: + owed (invoice, opening), − paid (payment, credit note, prepayment).

    dealer.balance_fen always equals the sum of the dealer's entries.
    """

    dealer = ForeignKey(Dealer, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)
    amount_fen = BigInt()
    # What the entry comes from: "shipment", "payment", "return", "" and its id.
    ref_type = Varchar(length=20, default="")
    ref_id = Integer(null=True, default=None)
    # Invoices: when payment falls due (the dealer's terms at the time of invoicing).
    due_on = Date(null=True, default=None)
    # Payments: how and the bank/cheque reference; the value date.
    method = Varchar(length=20, default="")
    reference = Varchar(length=60, default="")
    value_date = Date(null=True, default=None)
    at = Timestamptz(index=True)
    actor = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    note = Varchar(length=500, default="")


class FulfilmentKey(Table, tablename="fulfilment_key"):
    """Idempotency keys of shipments, payments, returns, stock adjustments and ship-to addresses
    ("<user>:<key>")."""

    user = ForeignKey(_USER)
    key = Varchar(length=120, unique=True)
    request_hash = Varchar(length=64)
    shipment = ForeignKey(Shipment, null=True, default=None, on_delete=OnDelete.cascade)
    ledger_entry = ForeignKey(LedgerEntry, null=True, default=None, on_delete=OnDelete.cascade)
    return_request = ForeignKey(
        LazyTableReference("ReturnRequest", module_path="portal.tables.fulfilment"),
        null=True,
        default=None,
        on_delete=OnDelete.cascade,
    )
    # A ship-to address added through the API (migration 2026-11-27T15:30:00).
    address = ForeignKey(
        LazyTableReference("Address", module_path="portal.tables.dealers"),
        null=True,
        default=None,
        on_delete=OnDelete.cascade,
    )
    created_at = Timestamptz()


class ReturnRequest(Table, tablename="return_request"):
    """A dealer's request to return shipped goods (退货, RMA): requested -> approved/rejected
    -> received (accepted quantities back to stock, a credit note to the ledger)."""

    number = Varchar(length=30, unique=True)
    order = ForeignKey(Order, index=True, on_delete=OnDelete.restrict)
    dealer = ForeignKey(Dealer, index=True, on_delete=OnDelete.restrict)
    status = Varchar(length=20, index=True)
    reason = Text(default="")
    created_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    decided_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")
    warehouse = ForeignKey(Warehouse, null=True, default=None, on_delete=OnDelete.restrict)
    received_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    received_at = Timestamptz(null=True, default=None)
    inspection_note = Text(default="")
    credit_fen = BigInt(default=0)


class ReturnLine(Table, tablename="return_line"):
    return_request = ForeignKey(ReturnRequest, index=True, on_delete=OnDelete.cascade)
    order_line = ForeignKey(OrderLine, index=True, on_delete=OnDelete.restrict)
    sku = ForeignKey(Sku, on_delete=OnDelete.restrict)
    qty = Integer()
    qty_accepted = Integer(default=0)


class ReturnPhoto(Table, tablename="return_photo"):
    """A photo the dealer sends with a return, as re-encoded by the portal (no metadata kept).

    Kept in the database, not on a disk, so every app process can serve it. `data` is the
    photo (scaled down to a sensible size), `thumb` a small copy for lists; both have the
    same content type. `size` is len(data) in bytes.
    """

    return_request = ForeignKey(ReturnRequest, index=True, on_delete=OnDelete.cascade)
    content_type = Varchar(length=20)
    data = Bytea()
    size = Integer()
    width = Integer()
    height = Integer()
    thumb = Bytea()
    thumb_width = Integer()
    thumb_height = Integer()
    created_by = ForeignKey(_USER, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
