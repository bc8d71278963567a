"""Webhooks: the receivers an administrator configured, and the deliveries owed to them.

Deliveries are written by a database trigger on order_event (migration
2026-11-25T14:00:08), in the transaction of the change itself: one row per event and
subscribed active endpoint. A change that rolls back leaves no delivery; a committed one
cannot lose its delivery. portal/webhooks.py sends them, retrying with back-off.
"""

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.orders import OrderEvent


class WebhookEndpoint(Table, tablename="webhook_endpoint"):
    url = Varchar(length=500)
    description = Varchar(length=100, default="")
    # "*" for every event type, else the subscribed types between commas: ",order.approved,".
    events = Text(default="*")
    secret = Varchar(length=100)  # the HMAC-SHA256 signing key; shown to the admin once
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class WebhookDelivery(Table, tablename="webhook_delivery"):
    endpoint = ForeignKey(WebhookEndpoint, index=True, on_delete=OnDelete.cascade)
    order_event = ForeignKey(OrderEvent, on_delete=OnDelete.cascade)
    event_type = Varchar(length=40)
    status = Varchar(length=10, default="pending")  # pending | delivered | failed
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()  # indexed with status (migration 2026-11-25T14:00:09)
    last_status = Integer(null=True, default=None)  # the receiver's HTTP status, if it answered
    last_error = Text(default="")
    created_at = Timestamptz()
    delivered_at = Timestamptz(null=True, default=None)
