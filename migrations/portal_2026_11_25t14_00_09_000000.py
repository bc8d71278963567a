"""Webhooks: the trigger on order_event that writes the deliveries owed to endpoints.

Every order, shipment and return event the portal records is a row of order_event, written
in the transaction of the change. A trigger on that table writes one webhook_delivery per
subscribed active endpoint in the same transaction: a change that rolls back leaves no
delivery, and a committed change cannot lose one, whichever code path wrote the event.
The event type is derived from the event's kind (the CASE below); the sender
(portal/webhooks.py) builds the body from the event and its order when it sends.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook deliveries written by a trigger on order_event"


class RawTable(Table):
    pass


# The event type of an order_event row (NEW): order.*, shipment.* or return.*.
EVENT_TYPE = (
    "CASE WHEN NEW.kind = 'auto_approved' THEN 'order.approved' "
    "WHEN NEW.kind IN ('shipment_auto_received', 'shipment_discrepancy') "
    "THEN 'shipment.received' "
    "WHEN substr(NEW.kind, 1, 9) = 'shipment_' THEN 'shipment.' || substr(NEW.kind, 10) "
    "WHEN substr(NEW.kind, 1, 7) = 'return_' THEN 'return.' || substr(NEW.kind, 8) "
    "ELSE 'order.' || NEW.kind END"
)


def _fan_out(event_type: str, active: str, contains: str) -> str:
    return (
        "INSERT INTO webhook_delivery (endpoint, order_event, event_type, status, attempts, "
        "next_attempt_at, last_error, created_at) "
        f"SELECT e.id, NEW.id, {event_type}, 'pending', 0, NEW.at, '', NEW.at "
        f"FROM webhook_endpoint e WHERE {active} AND (e.events = '*' OR {contains})"
    )


POSTGRES = [
    f"""CREATE FUNCTION order_event_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE t text := {EVENT_TYPE};
    BEGIN
      {_fan_out("t", "e.active", "strpos(e.events, ',' || t || ',') > 0")};
      RETURN NULL;
    END $$""",
    "CREATE TRIGGER order_event_webhooks AFTER INSERT ON order_event "
    "FOR EACH ROW EXECUTE FUNCTION order_event_webhooks()",
    "CREATE INDEX webhook_delivery_due ON webhook_delivery (status, next_attempt_at)",
]
SQLITE = [
    "CREATE TRIGGER order_event_webhooks AFTER INSERT ON order_event BEGIN "
    + _fan_out(EVENT_TYPE, "e.active = 1", f"instr(e.events, ',' || {EVENT_TYPE} || ',') > 0")
    + "; END",
    "CREATE INDEX webhook_delivery_due ON webhook_delivery (status, next_attempt_at)",
]


def _is_postgres() -> bool:
    return RawTable._meta.db.engine_type != "sqlite"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in POSTGRES if _is_postgres() else SQLITE:
            await RawTable.raw(statement)

    async def run_backwards():
        if _is_postgres():
            await RawTable.raw("DROP TRIGGER IF EXISTS order_event_webhooks ON order_event")
            await RawTable.raw("DROP FUNCTION IF EXISTS order_event_webhooks()")
        else:
            await RawTable.raw("DROP TRIGGER IF EXISTS order_event_webhooks")
        await RawTable.raw("DROP INDEX IF EXISTS webhook_delivery_due")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
