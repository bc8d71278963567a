"""Removing a row that other rows refer to (a tier, a category): refused, with what still uses
it and how many, until nothing does.

The portal's foreign keys cascade, so a removal must never be left to the database: the row
is locked first (PostgreSQL; SQLite's IMMEDIATE transaction already serialises writers), so
a row that starts referring to it meanwhile waits, then fails its foreign key check, instead
of being removed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from piccolo.table import Table

from portal.db import current_engine, is_sqlite
from portal.domain import audit
from portal.domain.errors import Conflict, FieldError, NotFound
from portal.domain.scope import Actor


@dataclass(frozen=True)
class Use:
    """One kind of row that may refer to the removed one: its key in `uses`, its table and
    column, and the message (a msgid with %(n)s) that says how many there are."""

    key: str
    table: str
    column: str
    message: str


async def count_uses(table: type[Table], uses: tuple[Use, ...], row_id: int) -> dict[str, int]:
    """How many rows of each kind refer to the row, in one statement."""
    parts = ", ".join(
        f'(SELECT COUNT(*) FROM "{u.table}" WHERE "{u.column}" = {{}}) AS {u.key}' for u in uses
    )
    row = (await table.raw(f"SELECT {parts}", *([row_id] * len(uses))))[0]
    return {u.key: int(row[u.key]) for u in uses}


async def remove_unused(
    actor: Actor,
    table: type[Table],
    row_id: int,
    uses: tuple[Use, ...],
    *,
    missing: str,
    in_use: str,
    audited: tuple[str, ...],
    now: datetime,
) -> None:
    """Inside the caller's write transaction: lock the row, refuse (Conflict, one error per
    kind of use, the counts in extra["uses"]) while anything refers to it, else delete it and
    audit "<table>.deleted" with the `audited` columns as they were. NotFound if it is gone."""
    query = table.select().where(table.id == row_id)
    if not is_sqlite(current_engine()):
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise NotFound(missing)
    counts = await count_uses(table, uses, row_id)
    if any(counts.values()):
        raise Conflict(
            in_use,
            errors=[
                FieldError(u.key, u.message, {"n": counts[u.key]}) for u in uses if counts[u.key]
            ],
            extra={"uses": counts},
        )
    await table.delete().where(table.id == row_id)
    name = table._meta.tablename
    before = {column: row[column] for column in audited}
    await audit.record(actor, f"{name}.deleted", name, row_id, before, {}, now=now)
