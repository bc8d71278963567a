"""Mail about an order carries a link to it: the outbox keeps the page's path
(mail_outbox.link, "" for mail about nothing in particular), and the sender puts the portal's
public address (PORTAL_PUBLIC_URL) before it when it sends. Mail already queued has none.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T14:00:24:000000"
VERSION = "1.38.0"
DESCRIPTION = "mail_outbox.link"


class RawTable(Table):
    pass


# Raw statements, the same on both engines (as 2026-11-25T14:00:22).
FORWARDS = ["ALTER TABLE mail_outbox ADD COLUMN link VARCHAR(255) NOT NULL DEFAULT ''"]
BACKWARDS = ["ALTER TABLE mail_outbox DROP COLUMN link"]


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
