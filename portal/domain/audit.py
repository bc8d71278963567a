"""The audit log: who changed money, stock, credit or order state, when, and from what to what."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from portal.db import Write, fetch
from portal.domain.scope import Actor


def _json(value: dict[str, Any]) -> str:
    # Dates, Decimals and the like become their text form; nothing is lost silently.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


async def record(
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Write one entry; call it inside the use case's transaction so it commits with the change."""
    sql, args = entry(actor, action, entity, entity_id, before, after, now=now)
    await fetch(sql, *args)


def entry(
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    now: datetime,
) -> Write:
    """The INSERT that record() runs, for a caller that writes it with others (write_together)."""
    return (
        'INSERT INTO audit_entry (at, actor, action, entity, entity_id, "before", "after") '
        "VALUES ({}, {}, {}, {}, {}, {}, {})",
        [
            now,
            actor.user_id if actor else None,
            action,
            entity,
            str(entity_id),
            _json(before),
            _json(after),
        ],
    )
