"""Webhooks: endpoints an administrator configures, and the deliveries owed to them (the
trigger that writes deliveries is the next migration, 2026-11-25T14:00:09).

Every order, shipment and return event the portal records is a row of order_event, written
in the transaction of the change. A trigger on that table writes one webhook_delivery per
subscribed active endpoint in the same transaction: a change that rolls back leaves no
delivery, and a committed change cannot lose one, whichever code path wrote the event.
The event type is derived from the event's kind (the CASE below); the sender
(portal/webhooks.py) builds the body from the event and its order when it sends.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-25T14:00:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook endpoints and deliveries"


class WebhookEndpoint(Table, tablename="webhook_endpoint", schema=None):
    pass


class OrderEvent(Table, tablename="order_event", schema=None):
    pass


_COMMON = {
    "null": False,
    "index": False,
    "primary_key": False,
    "unique": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


def _foreign_key(references: type[Table], index: bool) -> dict:
    return {
        **_COMMON,
        "references": references,
        "on_delete": OnDelete.cascade,
        "on_update": OnUpdate.cascade,
        "target_column": None,
        "null": True,
        "index": index,
    }


TABLES = {
    ("WebhookEndpoint", "webhook_endpoint"): [
        ("url", Varchar, {**_COMMON, "length": 500, "default": ""}),
        ("description", Varchar, {**_COMMON, "length": 100, "default": ""}),
        ("events", Text, {**_COMMON, "default": "*"}),
        ("secret", Varchar, {**_COMMON, "length": 100, "default": ""}),
        ("active", Boolean, {**_COMMON, "default": True}),
        ("created_at", Timestamptz, {**_COMMON, "default": TimestamptzNow()}),
        ("updated_at", Timestamptz, {**_COMMON, "default": TimestamptzNow()}),
    ],
    ("WebhookDelivery", "webhook_delivery"): [
        ("endpoint", ForeignKey, _foreign_key(WebhookEndpoint, True)),
        ("order_event", ForeignKey, _foreign_key(OrderEvent, False)),
        ("event_type", Varchar, {**_COMMON, "length": 40, "default": ""}),
        ("status", Varchar, {**_COMMON, "length": 10, "default": "pending"}),
        ("attempts", Integer, {**_COMMON, "default": 0}),
        ("next_attempt_at", Timestamptz, {**_COMMON, "default": TimestamptzNow()}),
        ("last_status", Integer, {**_COMMON, "default": None, "null": True}),
        ("last_error", Text, {**_COMMON, "default": ""}),
        ("created_at", Timestamptz, {**_COMMON, "default": TimestamptzNow()}),
        ("delivered_at", Timestamptz, {**_COMMON, "default": None, "null": True}),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
