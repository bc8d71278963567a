"""A dealer's own people and places: its users and ship-to addresses, kept by the dealer's
admin (dealer_admin, own dealer only) or by an administrator (any dealer); and every user's
own password.

Scope: a dealer the actor cannot see answers NotFound, like one that does not exist; a dealer
the actor sees but may not manage (a rep's, finance's) answers Forbidden. A user or address
of another dealer answers NotFound. Every change is audited; a password change, a reset, a
role change and a deactivation end the user's sessions on their next request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from portal.auth.passwords import hash_password
from portal.db import row_by_id, write_transaction
from portal.domain import accounts, api_keys, audit, pinyin
from portal.domain.codes import same_text
from portal.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.idempotency import (
    KeyTaken,
    check_key,
    claim_fulfilment_key,
    first_result,
    is_unique_violation,
)
from portal.domain.scope import Actor, dealer_in_scope
from portal.tables import Address, Cart, FulfilmentKey, User

DEALER_USER_ROLES = ("dealer_buyer", "dealer_admin")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,30}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 100
ADDRESS_LIMITS = {"label": 50, "contact": 50, "phone": 32, "line": 255}
MISSING_USER = _("User not found.")
MISSING_ADDRESS = _("Address not found.")
_TAKEN = _("This username is taken.")


@dataclass(frozen=True)
class UserInput:
    display_name: str
    role: str
    phone: str = ""
    email: str = ""
    active: bool = True


@dataclass(frozen=True)
class AddressInput:
    label: str
    contact: str
    phone: str
    line: str
    is_default: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


async def managed_dealer(actor: Actor, dealer_id: int) -> dict:
    """The dealer if the actor may keep its users and addresses."""
    dealer = await dealer_in_scope(actor, dealer_id)  # NotFound outside the actor's scope
    if actor.role != "admin" and not (
        actor.role == "dealer_admin" and actor.dealer_id == dealer["id"]
    ):
        raise Forbidden(_("Only the dealer's administrator can change its users and addresses."))
    return dealer


async def _owned(table: Any, columns: tuple, row_id: int, dealer_id: int, missing: str) -> dict:
    """A row of the dealer's (a user, an address); NotFound with `missing` for any other."""
    row = await table.select(*columns).where(table.id == row_id, table.dealer == dealer_id).first()
    if row is None:
        raise NotFound(missing)
    return row


# The passwords tried first by anyone guessing (the most common in Chinese and English-speaking
# leaks that are 8 characters or longer); a portal holding credit and prices refuses them.
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwerty123",
        "qwertyuiop",
        "qwer1234",
        "1qaz2wsx",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "zaq12wsx",
        "asdf1234",
        "asdfghjkl",
        "zxcvbnm123",
        "abc12345",
        "abcd1234",
        "abc123456",
        "a1234567",
        "a12345678",
        "a123456789",
        "aa123456",
        "aa12345678",
        "iloveyou",
        "iloveyou1",
        "woaini1314",
        "woaini520",
        "5201314520",
        "1314520520",
        "admin123",
        "admin1234",
        "admin888",
        "administrator",
        "root1234",
        "welcome1",
        "welcome123",
        "letmein1",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "superman",
        "trustno1",
        "changeme",
        "11223344",
        "12121212",
        "11112222",
        "123123123",
        "123321123",
        "147258369",
        "159357456",
        "123qweasd",
        "qweasdzxc",
        "q1w2e3r4",
        "1234qwer",
        "123456abc",
        "123456aa",
        "123456qq",
        "qq123456",
        "112233445566",
        "987654321",
        "9876543210",
        "0123456789",
        "1234567890",
    }
)
_SEQUENCES = (
    "0123456789012345",
    "9876543210987654",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
)


def _too_easy(password: str) -> bool:
    """A password anyone guessing tries early: a common one, one character repeated, or a
    run of a keyboard or counting sequence (12345678, abcdefgh)."""
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        return True
    return any(lowered in run for run in _SEQUENCES)


def check_new_password(
    password: str, *, username: str = "", phone: str | None = None
) -> list[FieldError]:
    if len(password) < MIN_PASSWORD:
        return [
            FieldError(
                "new_password",
                _("Use at least %(n)s characters for the password."),
                {"n": MIN_PASSWORD},
            )
        ]
    if len(password) > MAX_PASSWORD:
        return [FieldError("new_password", _("The password is too long."))]
    if username and password.lower() == username.lower():
        return [FieldError("new_password", _("The password must not be the username."))]
    digits = re.sub(r"\D", "", phone or "")
    if _too_easy(password) or (len(digits) >= MIN_PASSWORD and digits == password):
        return [
            FieldError("new_password", _("This password is too easy to guess: choose another one."))
        ]
    return []


async def change_password(actor: Actor, current: str, new: str) -> dict:
    """The actor's own password: the current one must be right. Every session so far ends;
    returns the user row with its new token version, so the caller can sign this one in
    again."""
    if actor.via_key:
        # An integration key stands for its user in the API; the password is the person's.
        raise Forbidden(_("Sign in with your password to change it."))
    user = await row_by_id(User, actor.user_id)
    if user is None:
        raise NotFound(MISSING_USER)
    ok = await accounts.check_own_password(user, current or "", now=_now())
    errors = [] if ok else [FieldError("current_password", _("The current password is wrong."))]
    errors += check_new_password(new or "", username=user["username"], phone=user["phone"])
    if errors:
        raise ValidationFailed(errors=errors)
    await store_password(actor, actor.user_id, new, "user.password_changed")
    return await row_by_id(User, actor.user_id)


async def store_password(actor: Actor, user_id: int, password: str, action: str) -> None:
    """Hash and keep a checked password; the user's sessions so far end. Audited (the entry
    says who and when, never the password)."""
    password_hash = await asyncio.to_thread(hash_password, password)
    now = _now()
    async with write_transaction():
        await User.update(
            {User.password_hash: password_hash, User.token_version: User.token_version + 1}
        ).where(User.id == user_id)
        await audit.record(actor, action, "user", user_id, {}, {}, now=now)


# --- users ------------------------------------------------------------------------------------

USER_COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.role,
    User.phone,
    User.email,
    User.active,
    User.created_at,
)


def _user_out(row: dict) -> dict:
    return {
        k: row[k]
        for k in (
            "id",
            "username",
            "display_name",
            "role",
            "phone",
            "email",
            "active",
            "created_at",
        )
    }


async def list_users(actor: Actor, dealer_id: int) -> list[dict]:
    dealer = await managed_dealer(actor, dealer_id)
    rows = (
        await User.select(*USER_COLUMNS)
        .where(User.dealer == dealer["id"])
        .order_by(User.active, ascending=False)
        .order_by(pinyin.order_by_name())
        .order_by(User.id)
    )
    return [_user_out(r) for r in rows]


async def get_user(actor: Actor, dealer_id: int, user_id: int) -> dict:
    dealer = await managed_dealer(actor, dealer_id)
    return _user_out(await _owned(User, USER_COLUMNS, user_id, dealer["id"], MISSING_USER))


def person_errors(display_name: str, phone: str, email: str) -> list[FieldError]:
    """What is wrong with a user's name, phone number and email (any role)."""
    errors = []
    if not display_name.strip() or len(display_name) > MAX_NAME:
        errors.append(FieldError("display_name", _("Enter a name of at most 100 characters.")))
    if phone and not PHONE.match(phone):
        errors.append(FieldError("phone", _("Enter a phone number of digits.")))
    if email and (len(email) > 255 or not EMAIL.match(email)):
        errors.append(FieldError("email", _("Enter an email address such as name@example.com.")))
    return errors


def _check_user(data: UserInput) -> list[FieldError]:
    errors = person_errors(data.display_name, data.phone, data.email)
    if data.role not in DEALER_USER_ROLES:
        after_name = 1 if errors and errors[0].field == "display_name" else 0
        errors.insert(after_name, FieldError("role", _("Choose buyer or dealer administrator.")))
    return errors


async def taken_fields(
    errors: list[FieldError], username: str | None, phone: str, user_id: int | None
) -> None:
    """Add an error for a username (in any letter case: Admin is admin) or phone number
    another user already has."""
    if username is not None and await User.exists().where(same_text(User.username, username)):
        errors.append(FieldError("username", _TAKEN))
    if phone:
        query = User.exists().where(User.phone == phone)
        if user_id is not None:
            query = query.where(User.id != user_id)
        if await query:
            errors.append(FieldError("phone", _("This phone number belongs to another user.")))


async def create_user(
    actor: Actor, dealer_id: int, username: str, password: str, data: UserInput
) -> dict:
    """A new user of the dealer, signing in with `username` and `password` (tell them, and
    ask them to change it)."""
    dealer = await managed_dealer(actor, dealer_id)
    username = (username or "").strip()
    errors = []
    if not USERNAME.match(username):
        errors.append(
            FieldError("username", _("Use 3 to 64 letters, digits, dots, dashes or underscores."))
        )
    errors += _check_user(data)
    errors += [
        FieldError("password", e.message, e.params)
        for e in check_new_password(password or "", username=username, phone=data.phone)
    ]
    await taken_fields(errors, username if USERNAME.match(username) else None, data.phone, None)
    if errors:
        raise ValidationFailed(errors=errors)
    values = {
        "display_name": data.display_name.strip(),
        "role": data.role,
        "phone": data.phone or None,
        "email": data.email,
        "active": data.active,
        "dealer": dealer["id"],
    }
    user_id = await insert_user(actor, username, password, values)
    return await get_user(actor, dealer_id, user_id)


async def insert_user(
    actor: Actor,
    username: str,
    password: str,
    values: dict[str, Any],
    *,
    then: Callable[[int], Awaitable[None]] | None = None,
) -> int:
    """Add a checked user (any role) with a first password; audited. A username or phone
    number taken by a request that committed in the meantime is the field error, not a
    server error. `then` writes what belongs with the new user in the same transaction.
    Returns the new user's id."""
    password_hash = await asyncio.to_thread(hash_password, password)
    now = _now()
    try:
        async with write_transaction():
            user = User(
                username=username,
                password_hash=password_hash,
                created_at=now,
                **pinyin.with_keys(User, values),
            )
            await User.insert(user)
            await audit.record(
                actor,
                "user.created",
                "user",
                user.id,
                {},
                {"username": username, **values},
                now=now,
            )
            if then is not None:
                await then(user.id)
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        taken: list[FieldError] = []
        await taken_fields(taken, username, values.get("phone") or "", None)
        raise ValidationFailed(errors=taken or [FieldError("username", _TAKEN)]) from None
    return user.id


async def update_user(actor: Actor, dealer_id: int, user_id: int, data: UserInput) -> dict:
    """Name, role, phone, email, active. A role change or deactivation ends the user's
    sessions. The dealer keeps at least one active administrator."""
    dealer = await managed_dealer(actor, dealer_id)
    errors = _check_user(data)
    await taken_fields(errors, None, data.phone, user_id)
    if errors:
        raise ValidationFailed(errors=errors)
    values = {
        "display_name": data.display_name.strip(),
        "role": data.role,
        "phone": data.phone or None,
        "email": data.email,
        "active": data.active,
    }
    now = _now()
    async with write_transaction():
        before = await _owned(User, USER_COLUMNS, user_id, dealer["id"], MISSING_USER)
        stays_admin = data.active and data.role == "dealer_admin"
        if before["role"] == "dealer_admin" and before["active"] and not stays_admin:
            others = await User.count().where(
                User.dealer == dealer["id"],
                User.role == "dealer_admin",
                User.active.eq(True),
                User.id != user_id,
            )
            if not others:
                raise ValidationFailed(
                    errors=[
                        FieldError(
                            "role",
                            _("The dealer needs at least one active dealer administrator."),
                        )
                    ]
                )
        ends_sessions = before["role"] != data.role or (before["active"] and not data.active)
        await write_user_update(actor, user_id, before, values, ends_sessions, now)
    return await get_user(actor, dealer_id, user_id)


async def write_user_update(
    actor: Actor,
    user_id: int,
    before: dict,
    values: dict[str, Any],
    ends_sessions: bool,
    now: datetime,
) -> None:
    """Store a checked change of a user, inside the caller's transaction; audited. With
    `ends_sessions` (a role or scope change, a deactivation) their tokens stop working."""
    keyed = pinyin.with_keys(User, values)
    changes: dict[Any, Any] = {getattr(User, k): v for k, v in keyed.items()}
    if ends_sessions:
        changes[User.token_version] = User.token_version + 1
    await User.update(changes).where(User.id == user_id)
    if any(before.get(k) != v for k, v in values.items()):  # a save changing nothing: no entry
        await audit.record(
            actor, "user.updated", "user", user_id, {k: before[k] for k in values}, values, now=now
        )
    deactivated = before.get("active") and values.get("active") is False
    # A key is issued for a role's work (an ERP's warehouse key): it never carries a new role.
    new_role = "role" in values and "role" in before and values["role"] != before["role"]
    if deactivated or new_role:
        await api_keys.revoke_keys_of(actor, user_id, now)


async def reset_password(actor: Actor, dealer_id: int, user_id: int, password: str) -> None:
    """Set a user's password (they forgot theirs): their sessions end."""
    dealer = await managed_dealer(actor, dealer_id)
    user = await _owned(User, USER_COLUMNS, user_id, dealer["id"], MISSING_USER)
    errors = check_new_password(password or "", username=user["username"], phone=user["phone"])
    if errors:
        raise ValidationFailed(errors=errors)
    await store_password(actor, user_id, password, "user.password_reset")


# --- addresses --------------------------------------------------------------------------------

ADDRESS_COLUMNS = (
    Address.id,
    Address.label,
    Address.contact,
    Address.phone,
    Address.line,
    Address.is_default,
)


async def list_addresses(actor: Actor, dealer_id: int) -> list[dict]:
    """The dealer's ship-to addresses, the default first. Anyone who sees the dealer may read
    them (they are offered at checkout); only its administrators change them."""
    dealer = await dealer_in_scope(actor, dealer_id)
    return (
        await Address.select(*ADDRESS_COLUMNS)
        .where(Address.dealer == dealer["id"])
        .order_by(Address.is_default, ascending=False)
        .order_by(Address.id)
    )


async def get_address(actor: Actor, dealer_id: int, address_id: int) -> dict:
    dealer = await dealer_in_scope(actor, dealer_id)
    return await _owned(Address, ADDRESS_COLUMNS, address_id, dealer["id"], MISSING_ADDRESS)


def _check_address(data: AddressInput) -> list[FieldError]:
    errors = []
    for name, limit in ADDRESS_LIMITS.items():
        value = getattr(data, name)
        if len(value) > limit:
            errors.append(FieldError(name, _("At most %(max)s characters here."), {"max": limit}))
        elif name in ("contact", "phone", "line") and not value.strip():
            errors.append(FieldError(name, _("This field is required.")))
    if data.phone.strip() and not PHONE.match(data.phone.strip()) and len(data.phone) <= 32:
        errors.append(FieldError("phone", _("Enter a phone number of digits.")))
    return errors


async def add_address_once(
    actor: Actor, dealer_id: int, data: AddressInput, idempotency_key: str | None
) -> tuple[dict, bool]:
    """Add an address as save_address does, and whether this was a replay: with an
    idempotency key (an integration's retry after a timeout), the same key and body again
    return the address the first request added instead of a second one; the same key with
    another body is a Conflict. Without a key, every request adds one."""
    if idempotency_key is None:
        return await save_address(actor, dealer_id, None, data), False
    key = check_key(idempotency_key)
    body = [dealer_id, data.label, data.contact, data.phone, data.line, data.is_default]
    body_hash = hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()
    replay = await _replay_address(actor, dealer_id, key, body_hash)
    if replay is not None:
        return replay, True
    try:
        return await save_address(actor, dealer_id, None, data, key=(key, body_hash)), False
    except KeyTaken:  # a twin request with this key committed first
        replay = await _replay_address(actor, dealer_id, key, body_hash)
        if replay is None:
            raise Conflict(_("Please try again.")) from None
        return replay, True


async def _replay_address(actor: Actor, dealer_id: int, key: str, body_hash: str) -> dict | None:
    address_id = await first_result(actor, key, body_hash, "address")
    return None if address_id is None else await get_address(actor, dealer_id, address_id)


async def save_address(
    actor: Actor,
    dealer_id: int,
    address_id: int | None,
    data: AddressInput,
    *,
    key: tuple[str, str] | None = None,
) -> dict:
    """Add (address_id None) or change an address. The default is unique per dealer; the
    dealer's first address is its default. `key` (an idempotency key and the body's hash,
    from add_address_once) is claimed in the same transaction and remembers the address."""
    dealer = await managed_dealer(actor, dealer_id)
    errors = _check_address(data)
    if errors:
        raise ValidationFailed(errors=errors)
    values = {
        "label": data.label.strip(),
        "contact": data.contact.strip(),
        "phone": data.phone.strip(),
        "line": data.line.strip(),
        "is_default": data.is_default,
    }
    now = _now()
    async with write_transaction():
        key_row = await claim_fulfilment_key(actor, *key, now) if key else None
        before: dict = {}
        if address_id is not None:
            found = await _owned(
                Address, ADDRESS_COLUMNS, address_id, dealer["id"], MISSING_ADDRESS
            )
            before = {k: found[k] for k in values}
        elif not await Address.exists().where(Address.dealer == dealer["id"]):
            values["is_default"] = True
        if values["is_default"]:
            await Address.update({Address.is_default: False}).where(Address.dealer == dealer["id"])
        if address_id is None:
            row = Address(dealer=dealer["id"], **values)
            await Address.insert(row)
            address_id = row.id
            if key_row is not None:
                await FulfilmentKey.update({FulfilmentKey.address: address_id}).where(
                    FulfilmentKey.id == key_row.id
                )
        else:
            if before.get("is_default") and not values["is_default"]:
                values["is_default"] = True  # another one becomes the default by choosing it
            await Address.update({getattr(Address, k): v for k, v in values.items()}).where(
                Address.id == address_id
            )
        await audit.record(
            actor,
            "address.saved",
            "dealer_address",
            address_id,
            before,
            {**values, "dealer": dealer["id"]},
            now=now,
        )
    return await get_address(actor, dealer_id, address_id)


async def delete_address(actor: Actor, dealer_id: int, address_id: int) -> None:
    """Remove an address. Placed orders keep their ship-to text; carts that chose it go back
    to the default. If it was the default, the oldest remaining address becomes the default."""
    dealer = await managed_dealer(actor, dealer_id)
    now = _now()
    async with write_transaction():
        found = await _owned(Address, ADDRESS_COLUMNS, address_id, dealer["id"], MISSING_ADDRESS)
        await Cart.update({Cart.address: None}).where(Cart.address == address_id)
        await Address.delete().where(Address.id == address_id)
        if found["is_default"]:
            oldest = (
                await Address.select(Address.id)
                .where(Address.dealer == dealer["id"])
                .order_by(Address.id)
                .first()
            )
            if oldest:
                await Address.update({Address.is_default: True}).where(Address.id == oldest["id"])
        await audit.record(
            actor,
            "address.deleted",
            "dealer_address",
            address_id,
            {k: found[k] for k in ("label", "contact", "phone", "line", "is_default")},
            {},
            now=now,
        )
