"""Idempotency keys for return requests: fulfilment_key.return_request (nullable)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-25T14:00:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "return request idempotency keys"


class ReturnRequest(Table, tablename="return_request", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_column(
        table_class_name="FulfilmentKey",
        tablename="fulfilment_key",
        column_name="return_request",
        db_column_name="return_request",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": ReturnRequest,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
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
