"""A dealer's overdue policy: "warn" (flag overdue invoices only) or "block" (refuse new
orders while anything is overdue)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-25T14:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "dealer overdue policy"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    # ADD COLUMN ... DEFAULT 'warn' NOT NULL: every existing dealer keeps today's behaviour
    # (overdue invoices are flagged, orders are not blocked), on SQLite and PostgreSQL alike.
    manager.add_column(
        table_class_name="Dealer",
        tablename="dealer",
        column_name="overdue_policy",
        db_column_name="overdue_policy",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 10,
            "default": "warn",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
