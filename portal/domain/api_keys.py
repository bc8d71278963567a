"""Integration keys: long-lived bearer keys for other systems.

An ERP's key acts as the user it was issued for (say a warehouse or admin account kept for
the ERP); a dealer's own system acts as one of that dealer's users. A key carries its user's
role and scope, checked on every request like a session: revoking the key, its expiry or
deactivating its user stops it on the next request. Keys are for the API only, never for
the pages.

Administrators issue, list and revoke keys for anyone; a dealer's administrator for its own
dealer's users. Nobody can see a key again after it is issued: only its SHA-256 is stored
(the key carries 240 random bits, so a fast hash is enough), with its first characters to
recognise it by. A request authenticated by a key cannot issue or revoke keys, so a leaked
key cannot make itself a successor. Issuing and revoking are audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.db import fetch, write_transaction
from portal.domain import audit, idempotency
from portal.domain.codes import same_text
from portal.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.scope import Actor, actor_from_user
from portal.tables import ApiKey, User

PREFIX = "dpk_"
SHOWN_CHARS = 12  # "dpk_" and 8 more, kept to recognise a key in lists
MAX_DAYS = 730
MAX_ACTIVE_PER_USER = 10
# last_used_at is written at most this often per key, not on every request.
USE_RECORDED_EVERY = timedelta(minutes=5)
MISSING = _("Integration key not found.")


@dataclass(frozen=True)
class KeyInput:
    username: str  # whose key: it acts as this user
    name: str  # what it is for
    days: int = 365  # 0: it does not expire


@dataclass(frozen=True)
class KeyView:
    id: int
    name: str
    prefix: str
    user_id: int
    username: str
    user_name: str
    role: str
    dealer_id: int | None
    dealer_name: str  # "" for staff
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: str  # active | expired | revoked

    @property
    def active(self) -> bool:
        return self.state == "active"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


def _require_manager(actor: Actor) -> None:
    if actor.via_key:
        raise Forbidden(_("Sign in with a password to manage integration keys."))
    if actor.role == "dealer_admin" and actor.dealer_id:
        return
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator or a dealer's administrator manages keys."))


def _in_scope(actor: Actor, holder: dict) -> bool:
    return actor.role == "admin" or holder["dealer"] == actor.dealer_id


def _state(row: dict, now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return "active"


_VIEW_COLUMNS = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.prefix,
    ApiKey.user,
    ApiKey.created_at,
    ApiKey.expires_at,
    ApiKey.last_used_at,
    ApiKey.revoked_at,
    ApiKey.user.username,
    ApiKey.user.display_name,
    ApiKey.user.role,
    ApiKey.user.dealer,
    ApiKey.user.dealer.name,
)


def _view(row: dict, now: datetime) -> KeyView:
    return KeyView(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        user_id=row["user"],
        username=row["user.username"],
        user_name=row["user.display_name"],
        role=row["user.role"],
        dealer_id=row["user.dealer"],
        dealer_name=row["user.dealer.name"] or "",
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        state=_state(row, now),
    )


def _managed(actor: Actor) -> Any:
    """The keys in the actor's care, as a query of their views: every key for an
    administrator, its own dealer's users' keys for a dealer's administrator."""
    _require_manager(actor)
    query = ApiKey.select(*_VIEW_COLUMNS)
    if actor.role != "admin":
        query = query.where(ApiKey.user.dealer == actor.dealer_id)
    return query


async def list_keys(actor: Actor, *, now: datetime | None = None) -> list[KeyView]:
    """The keys the actor manages (_managed), newest first."""
    query = _managed(actor).order_by(ApiKey.id, ascending=False)
    now = now or datetime.now(UTC)
    return [_view(r, now) for r in await query]


async def get_key(actor: Actor, key_id: int, *, now: datetime | None = None) -> KeyView:
    row = await _managed(actor).where(ApiKey.id == key_id).first()
    if row is None:
        raise NotFound(MISSING)
    return _view(row, now or datetime.now(UTC))


async def key_holders(actor: Actor) -> list[dict]:
    """The active users a dealer's administrator may issue keys for (its dealer's); for an
    administrator, who types a username, none are listed."""
    _require_manager(actor)
    if actor.role == "admin":
        return []
    return (
        await User.select(User.id, User.username, User.display_name, User.role)
        .where((User.dealer == actor.dealer_id) & (User.active == True))  # noqa: E712
        .order_by(User.username)
    )


_ALREADY = _(
    "This form already issued its key, which was shown once. If you did not copy it, revoke "
    "it below and issue another."
)


class AlreadyIssued(Conflict):
    """The form that issues a key was sent again (a page refreshed, Back and send): the key
    it issued was shown once and is not issued twice."""


async def create_key(
    actor: Actor, data: KeyInput, *, now: datetime | None = None, form_key: str | None = None
) -> tuple[KeyView, str]:
    """Issue a key for a user in the actor's care; returns it with the key, which is shown
    this once. Field errors: username (no such active user in scope, or too many keys), name,
    days. `form_key`: the issuing form's one-time key; the same form sent again is
    AlreadyIssued (a refreshed page made a second key)."""
    _require_manager(actor)
    now = now or datetime.now(UTC)
    if form_key is not None and await idempotency.used_fulfilment_key(actor, form_key):
        raise AlreadyIssued(_ALREADY)
    errors: list[FieldError] = []
    name = data.name.strip()
    if not name or len(name) > 60:
        errors.append(
            FieldError("name", _("Enter a name of at most %(max)s characters."), {"max": 60})
        )
    if not 0 <= data.days <= MAX_DAYS:
        errors.append(
            FieldError("days", _("Enter a whole number from 0 to %(max)s."), {"max": MAX_DAYS})
        )
    username = data.username.strip()
    holder = (
        await User.select().where(same_text(User.username, username)).first()
        if username and len(username) <= 64
        else None
    )
    if holder is None or not holder["active"] or not _in_scope(actor, holder):
        errors.append(FieldError("username", _("Choose an active user you manage.")))
    elif (
        await ApiKey.count().where(
            (ApiKey.user == holder["id"])
            & ApiKey.revoked_at.is_null()
            & (ApiKey.expires_at.is_null() | (ApiKey.expires_at > now))
        )
        >= MAX_ACTIVE_PER_USER
    ):
        errors.append(
            FieldError(
                "username",
                _("This user has %(max)s active keys already: revoke one first."),
                {"max": MAX_ACTIVE_PER_USER},
            )
        )
    if errors:
        raise ValidationFailed(errors=errors)
    assert holder is not None
    key = PREFIX + secrets.token_urlsafe(30)
    row = ApiKey(
        user=holder["id"],
        name=name,
        prefix=key[:SHOWN_CHARS],
        key_hash=hash_key(key),
        created_by=actor.user_id,
        created_at=now,
        expires_at=now + timedelta(days=data.days) if data.days else None,
    )
    async with write_transaction():
        try:
            await idempotency.claim_fulfilment_key(actor, form_key, "api_key", now)
        except idempotency.KeyTaken:
            raise AlreadyIssued(_ALREADY) from None
        await ApiKey.insert(row)
        after = {
            "user": holder["username"],
            "name": name,
            "prefix": row.prefix,
            "expires_at": row.expires_at,
        }
        await audit.record(actor, "api_key.created", "api_key", row.id, {}, after, now=now)
    return await get_key(actor, row.id, now=now), key


async def revoke_key(actor: Actor, key_id: int, *, now: datetime | None = None) -> KeyView:
    """Revoke a key in the actor's care: refused from its next request on. Revoking a key
    that is already revoked changes nothing."""
    now = now or datetime.now(UTC)
    view = await get_key(actor, key_id, now=now)
    if view.revoked_at is not None:
        return view
    async with write_transaction():
        await ApiKey.update({ApiKey.revoked_at: now}).where(
            (ApiKey.id == key_id) & ApiKey.revoked_at.is_null()
        )
        await audit.record(
            actor,
            "api_key.revoked",
            "api_key",
            key_id,
            {"revoked_at": None},
            {"revoked_at": now, "user": view.username, "name": view.name},
            now=now,
        )
    return await get_key(actor, key_id, now=now)


async def revoke_keys_of(actor: Actor, user_id: int, now: datetime) -> None:
    """Revoke every key of a user being deactivated, inside the caller's transaction; audited.
    Deactivation alone refuses them, but re-activating the account must not bring back the
    integrations it had: they are issued again, deliberately."""
    revoked = (
        await ApiKey.update({ApiKey.revoked_at: now})
        .where((ApiKey.user == user_id) & ApiKey.revoked_at.is_null())
        .returning(ApiKey.id, ApiKey.name)
    )
    for row in revoked:
        await audit.record(
            actor,
            "api_key.revoked",
            "api_key",
            row["id"],
            {"revoked_at": None},
            {"revoked_at": now, "user_id": user_id, "name": row["name"], "why": "deactivated"},
            now=now,
        )


async def actor_for_key(key: str, *, now: datetime | None = None) -> Actor | None:
    """The Actor a bearer key acts as, or None when the key is unknown, revoked or expired, or
    its user is inactive."""
    if not looks_like_key(key) or len(key) > 100:
        return None
    now = now or datetime.now(UTC)
    # The key and its user in one round trip: every request of an integration reads them.
    rows = await fetch(
        "SELECT k.id AS key_id, k.expires_at, k.revoked_at, k.last_used_at, u.* "
        'FROM api_key k JOIN portal_user u ON u.id = k."user" WHERE k.key_hash = {}',
        hash_key(key),
    )
    if not rows:
        return None
    user = rows[0]
    if _state(user, now) != "active" or not user["active"]:
        return None
    if user["last_used_at"] is None or now - user["last_used_at"] >= USE_RECORDED_EVERY:
        await ApiKey.update({ApiKey.last_used_at: now}).where(ApiKey.id == user["key_id"])
    return actor_from_user(user, via_key=True)
