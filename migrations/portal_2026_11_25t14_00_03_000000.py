"""Return photos: the pictures a dealer sends with a return, kept in the database (BLOB on
SQLite, bytea on PostgreSQL) so that every app process can serve them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


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


class User(Table, tablename="portal_user", schema=None):
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


ID = "2026-11-25T14:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "return photos"

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


def _foreign_key(references: type[Table], on_delete: OnDelete, index: bool) -> dict:
    return {
        **_COMMON,
        "references": references,
        "on_delete": on_delete,
        "on_update": OnUpdate.cascade,
        "target_column": None,
        "null": True,
        "index": index,
    }


# (column, Piccolo column class, params). Piccolo writes Bytea as BLOB on SQLite and as
# bytea on PostgreSQL, so the same statement suits both engines.
COLUMNS = [
    ("return_request", ForeignKey, _foreign_key(ReturnRequest, OnDelete.cascade, True)),
    ("content_type", Varchar, {**_COMMON, "length": 20, "default": ""}),
    ("data", Bytea, {**_COMMON, "default": b""}),
    ("size", Integer, {**_COMMON, "default": 0}),
    ("width", Integer, {**_COMMON, "default": 0}),
    ("height", Integer, {**_COMMON, "default": 0}),
    ("thumb", Bytea, {**_COMMON, "default": b""}),
    ("thumb_width", Integer, {**_COMMON, "default": 0}),
    ("thumb_height", Integer, {**_COMMON, "default": 0}),
    ("created_by", ForeignKey, _foreign_key(User, OnDelete.set_null, False)),
    ("created_at", Timestamptz, {**_COMMON, "default": TimestamptzNow()}),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    manager.add_table(class_name="ReturnPhoto", tablename="return_photo", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="ReturnPhoto",
            tablename="return_photo",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )

    return manager
