"""The audit log: who changed money, stock, prices, credit, users or order state, and how."""

from piccolo.columns import JSON, ForeignKey, LazyTableReference, OnDelete, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_entry"):
    at = Timestamptz(index=True)
    actor = ForeignKey(
        LazyTableReference("User", module_path="portal.tables.users"),
        null=True,
        default=None,
        on_delete=OnDelete.set_null,
    )
    action = Varchar(length=50)
    entity = Varchar(length=30)
    entity_id = Varchar(length=40, index=True)
    before = JSON(default="{}")
    after = JSON(default="{}")
