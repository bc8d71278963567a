"""Promotions (促销): dated percentage off, spend X save Y (满减), buy N get M free (买赠);
and an order's saving from 满减, on the order and spread over its lines.

Existing orders get a zero saving: their totals and line totals stay as they were.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-25T14:00:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "promotions; order savings"


class Tier(Table, tablename="tier", schema=None):
    pass


class Sku(Table, tablename="sku", schema=None):
    pass


class Category(Table, tablename="category", schema=None):
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


def _foreign_key(references: type[Table]) -> dict:
    return {
        **_COMMON,
        "references": references,
        "on_delete": OnDelete.cascade,
        "on_update": OnUpdate.cascade,
        "target_column": None,
        "null": True,
        "default": None,
    }


PROMOTION = [
    ("name", Varchar, {**_COMMON, "length": 60, "default": ""}),
    ("kind", Varchar, {**_COMMON, "length": 12, "default": ""}),
    ("active", Boolean, {**_COMMON, "default": True}),
    ("starts_on", Date, {**_COMMON, "default": None}),
    ("ends_on", Date, {**_COMMON, "default": None}),
    ("tier", ForeignKey, _foreign_key(Tier)),
    ("sku", ForeignKey, _foreign_key(Sku)),
    ("category", ForeignKey, _foreign_key(Category)),
    ("percent_bp", Integer, {**_COMMON, "default": 0}),
    ("threshold_fen", BigInt, {**_COMMON, "default": 0}),
    ("save_fen", BigInt, {**_COMMON, "default": 0}),
    ("buy_qty", Integer, {**_COMMON, "default": 0}),
    ("gift_sku", ForeignKey, _foreign_key(Sku)),
    ("gift_qty", Integer, {**_COMMON, "default": 0}),
    ("created_at", Timestamptz, {**_COMMON, "default": TimestamptzNow()}),
    ("updated_at", Timestamptz, {**_COMMON, "default": TimestamptzNow()}),
]

# ADD COLUMN ... DEFAULT 0 NOT NULL: placed orders keep their totals (no saving).
ADDED = [
    ("Order", "sales_order", "discount_fen", BigInt, {**_COMMON, "default": 0}),
    ("Order", "sales_order", "discount_params", Text, {**_COMMON, "default": ""}),
    ("OrderLine", "order_line", "discount_fen", BigInt, {**_COMMON, "default": 0}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_table(class_name="Promotion", tablename="promotion", schema=None, columns=None)
    for name, column_class, params in PROMOTION:
        manager.add_column(
            table_class_name="Promotion",
            tablename="promotion",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    for class_name, tablename, name, column_class, params in ADDED:
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
