"""Dealers, their tiers and ship-to addresses, and the credit figures checked on submit."""

from piccolo.columns import (
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    LazyTableReference,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Tier(Table, tablename="tier"):
    code = Varchar(length=20, unique=True)
    name = Varchar(length=50)
    rank = Integer(default=0)


class Dealer(Table, tablename="dealer"):
    code = Varchar(length=20, unique=True)
    name = Varchar(length=100, index=True)
    # The name's pinyin sort key and what a search in Latin letters finds it by (its pinyin
    # run together and initials: portal/domain/pinyin.py), written with the name.
    name_key = Text(default="")
    pinyin = Text(default="")
    tier = ForeignKey(Tier)
    region = Varchar(length=50, default="")
    contact_phone = Varchar(length=32, default="")
    # Money in fen (integer minor units).
    credit_limit_fen = BigInt(default=0)
    # What the dealer owes on the ledger (opening balance, invoices less payments).
    balance_fen = BigInt(default=0)
    # Value of open orders not yet invoiced; exposure = balance + this.
    open_orders_fen = BigInt(default=0)
    # Over-limit tolerance: the greater of an amount and a percentage of the limit.
    credit_tolerance_fen = BigInt(default=0)
    credit_tolerance_bp = Integer(default=0)
    # "block" refuses over-credit orders; "approval" sends them to finance (later issue).
    over_credit_policy = Varchar(length=10, default="block")
    payment_terms_days = Integer(default=30)
    # Invoices unpaid past the payment terms: "warn" flags them only; "block" also refuses
    # new orders and resubmissions until they are paid (set by finance).
    overdue_policy = Varchar(length=10, default="warn")
    default_warehouse = ForeignKey(
        LazyTableReference("Warehouse", module_path="portal.tables.stock"),
        null=True,
        default=None,
    )
    active = Boolean(default=True)
    created_at = Timestamptz()
    # Flagged for review: every order waits for approval (the dealer_flagged rule).
    flagged_for_review = Boolean(default=False)


class Address(Table, tablename="dealer_address"):
    dealer = ForeignKey(Dealer, index=True)
    label = Varchar(length=50, default="")
    contact = Varchar(length=50)
    phone = Varchar(length=32)
    line = Varchar(length=255)
    is_default = Boolean(default=False)


class RepAssignment(Table, tablename="rep_assignment"):
    """Which sales rep looks after a dealer (one rep per dealer; a rep has many dealers)."""

    dealer = ForeignKey(Dealer, unique=True)
    rep = ForeignKey(LazyTableReference("User", module_path="portal.tables.users"), index=True)
    assigned_at = Timestamptz()
