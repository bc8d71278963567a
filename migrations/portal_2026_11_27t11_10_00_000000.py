"""Drop six indexes that only repeated a unique constraint's: the order, shipment and return
numbers, the SKU and dealer codes and the username were each declared unique and indexed,
and the unique constraint is itself an index on the same column. Every lookup by these
columns still has an index; every insert (an order's, above all) now writes one fewer.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-11-27T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop indexes that repeat a unique constraint's"

# (table class, table, column)
REPEATED = [
    ("User", "portal_user", "username"),
    ("Dealer", "dealer", "code"),
    ("Sku", "sku", "code"),
    ("Order", "sales_order", "number"),
    ("Shipment", "shipment", "number"),
    ("ReturnRequest", "return_request", "number"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    for class_name, tablename, column in REPEATED:
        manager.alter_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name=column,
            db_column_name=column,
            params={"index": False},
            old_params={"index": True},
            column_class=Varchar,
            old_column_class=Varchar,
            schema=None,
        )
    return manager
