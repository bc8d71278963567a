"""A shipment can be marked delivered (送达) by the warehouse or the carrier's system before
the dealer confirms receipt (签收): packed -> shipped -> delivered -> received. The status
is the same column; the time and who marked it are new (shipment.delivered_at,
delivered_by). Nothing existing changes: no shipment is delivered yet.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "shipment.delivered_at, delivered_by"


class RawTable(Table):
    pass


# Raw statements, the same on both engines (as 2026-11-25T14:00:22).
FORWARDS = [
    "ALTER TABLE shipment ADD COLUMN delivered_at TIMESTAMPTZ NULL",
    "ALTER TABLE shipment ADD COLUMN delivered_by INTEGER NULL "
    "REFERENCES portal_user (id) ON DELETE SET NULL ON UPDATE CASCADE",
]
BACKWARDS = [
    # A delivered shipment is one still waiting for the dealer's receipt, as before.
    "UPDATE shipment SET status = 'shipped' WHERE status = 'delivered'",
    "ALTER TABLE shipment DROP COLUMN delivered_by",
    "ALTER TABLE shipment DROP COLUMN delivered_at",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        for statement in FORWARDS:
            await RawTable.raw(statement)

    async def run_backwards():
        for statement in BACKWARDS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
