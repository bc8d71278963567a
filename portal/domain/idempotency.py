"""Idempotency keys: telling a retry (or a double tap) from a new request, on both engines."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import asyncpg

from portal.domain.errors import Conflict, FieldError, ValidationFailed, _
from portal.domain.scope import Actor
from portal.tables import FulfilmentKey

MAX_KEY = 100  # characters


def check_key(raw: str | None) -> str:
    """The key as sent, trimmed; ValidationFailed unless it has 1 to MAX_KEY characters."""
    key = (raw or "").strip()
    if not key or len(key) > MAX_KEY:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "idempotency_key",
                    _("An idempotency key of 1 to %(max)s characters is required."),
                    {"max": MAX_KEY},
                )
            ]
        )
    return key


async def used_fulfilment_key(actor: Actor, key: str) -> dict | None:
    """The row of a key this user already used (shipments, payments, returns, stock)."""
    return await FulfilmentKey.select().where(FulfilmentKey.key == f"{actor.user_id}:{key}").first()


async def first_result(
    actor: Actor,
    key: str,
    body_hash: str,
    column: str,
    refusal: str = _("This idempotency key was already used for a different request."),
) -> int | None:
    """What a used key made the first time (the id in `column`: shipment, ledger_entry,
    return_request, address); None if this user never used the key. The same key with
    another body, or one whose first request made nothing, is a Conflict saying `refusal`."""
    row = await used_fulfilment_key(actor, key)
    if row is None:
        return None
    if row["request_hash"] != body_hash or row[column] is None:
        raise Conflict(refusal, extra={"idempotency_key": key})
    return int(row[column])


class KeyTaken(Exception):
    """The idempotency key was inserted by a twin request that committed first."""


def is_unique_violation(exc: BaseException | None) -> bool:
    """A unique-index violation, however the driver or Piccolo wrapped it."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, asyncpg.UniqueViolationError):
            return True
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc).upper():
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


async def claim_fulfilment_key(
    actor: Actor, key: str | None, body_hash: str, now: datetime
) -> FulfilmentKey | None:
    """Insert the key first thing in the caller's transaction, so a concurrent twin waits on
    the unique index and then finds the first result; KeyTaken if the key is already used."""
    if key is None:
        return None
    row = FulfilmentKey(
        user=actor.user_id, key=f"{actor.user_id}:{key}", request_hash=body_hash, created_at=now
    )
    try:
        await FulfilmentKey.insert(row)
    except Exception as exc:
        if is_unique_violation(exc):
            raise KeyTaken() from exc
        raise
    return row
