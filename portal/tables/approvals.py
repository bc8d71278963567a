"""Approval rules set by an admin, the approval steps of each order, notifications, mail outbox."""

from piccolo.columns import (
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    LazyTableReference,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.orders import Order

_USER = LazyTableReference("User", module_path="portal.tables.users")


class ApprovalRule(Table, tablename="approval_rule"):
    """When an order needs approval, and by which role; applied in step_order."""

    # total_at_least | over_credit | discount_beyond_authority | first_orders | dealer_flagged
    kind = Varchar(length=30)
    # total_at_least: the amount in fen; first_orders: the number of first orders.
    amount_fen = BigInt(default=0)
    count = Integer(default=0)
    approver_role = Varchar(length=20)  # sales_manager | finance
    step_order = Integer(default=10)
    active = Boolean(default=True)
    created_at = Timestamptz()


class ApprovalStep(Table, tablename="approval_step"):
    """One step an order must pass; decided once (guarded update on status = 'pending')."""

    order = ForeignKey(Order, index=True, on_delete=OnDelete.restrict)
    step_no = Integer()
    role = Varchar(length=20, index=True)
    rule_kind = Varchar(length=30)
    # pending | approved | rejected | returned | superseded (no longer needed: the order was
    # returned, rejected, cancelled or adjusted and its steps were worked out again)
    status = Varchar(length=12, default="pending", index=True)
    decided_by = ForeignKey(_USER, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    reason = Text(default="")
    created_at = Timestamptz()


class Notification(Table, tablename="notification"):
    """Something a user is told about in the portal (an order submitted, approved, ...)."""

    user = ForeignKey(_USER, index=True)
    order = ForeignKey(Order, null=True, default=None)
    kind = Varchar(length=30)
    note = Text(default="")
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class MailOutbox(Table, tablename="mail_outbox"):
    """Mail written in the same transaction as the change; a sender loop delivers it."""

    to = Varchar(length=255)
    subject = Varchar(length=255)
    body = Text(default="")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz()
    # The page the mail is about (/orders/12), put after the body with the portal's public
    # address (PORTAL_PUBLIC_URL) when sent; "" for none.
    link = Varchar(length=255, default="")
