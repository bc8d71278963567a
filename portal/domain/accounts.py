"""Signing in: password check, login rate limits kept in the database, session versions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from portal.auth.passwords import verify_password
from portal.db import row_by_id, write_transaction
from portal.domain.errors import RateLimited, Unauthorized, _
from portal.domain.scope import Actor, actor_from_user
from portal.tables import LoginFailure, User


def _keys(login: str, user: dict | None, address: str) -> tuple[str, str]:
    # One account, one counter, whether it is named by username or by phone number.
    account = f"user:{user['id']}" if user else f"login:{login.strip().lower()}"
    return f"account:{account}", f"address:{address}"


async def authenticate(
    login: str,
    password: str,
    address: str,
    *,
    now: datetime,
    max_failures: int = 5,
    window: timedelta = timedelta(minutes=15),
) -> dict:
    """The user row for a username or phone number and password.

    Failures are counted per account and per address in the database, so the limit holds
    across worker processes; past the limit even a right password is refused until the
    window has passed.
    """
    login = (login or "").strip()
    user = None
    if login:
        user = await User.select().where((User.username == login) | (User.phone == login)).first()
    account_key, address_key = _keys(login, user, address)
    await _refuse_past_limits(
        ((account_key, max_failures), (address_key, max_failures * 4)), now=now, window=window
    )

    # argon2 is slow on purpose: verify in a worker thread so the event loop keeps serving.
    ok = await asyncio.to_thread(
        verify_password, user["password_hash"] if user else None, password or ""
    )
    if not ok or user is None or not user["active"]:
        await _record_failure((account_key, address_key), now=now, window=window)
        raise Unauthorized(_("Wrong username, phone number or password."))
    await LoginFailure.delete().where(LoginFailure.key == account_key)
    return user


async def _refuse_past_limits(
    limits: tuple[tuple[str, int], ...], *, now: datetime, window: timedelta
) -> None:
    """RateLimited when any key has had its limit of failures within the window."""
    since = now - window
    for key, limit in limits:
        recent = (
            await LoginFailure.select(LoginFailure.at)
            .where((LoginFailure.key == key) & (LoginFailure.at > since))
            .order_by(LoginFailure.at)
        )
        if len(recent) >= limit:
            oldest = recent[-limit]["at"]
            retry_after = max(1, int((oldest + window - now).total_seconds()) + 1)
            raise RateLimited(
                _("Too many attempts. Try again in %(minutes)s min."),
                {"minutes": -(-retry_after // 60)},
                extra={"retry_after": retry_after},
            )


async def _record_failure(keys: tuple[str, ...], *, now: datetime, window: timedelta) -> None:
    async with write_transaction():
        # Failures older than the window count for nothing: drop them so the table stays small.
        await LoginFailure.delete().where(LoginFailure.at < now - window)
        await LoginFailure.insert(*(LoginFailure(key=key, at=now) for key in keys))


async def check_own_password(
    user: dict,
    password: str,
    *,
    now: datetime,
    max_failures: int = 5,
    window: timedelta = timedelta(minutes=15),
) -> bool:
    """Whether `password` is the signed-in user's own (before they change it). Wrong guesses
    count against the account's sign-in limit, so a session left open on a phone cannot be
    used to try passwords without end; past the limit it is RateLimited like signing in."""
    account_key, _address_key = _keys(user["username"], user, "")
    await _refuse_past_limits(((account_key, max_failures),), now=now, window=window)
    ok = await asyncio.to_thread(verify_password, user["password_hash"], password or "")
    if not ok:
        await _record_failure((account_key,), now=now, window=window)
    return ok


async def session_actor(user_id: int, token_version: int) -> Actor | None:
    """The Actor for a session token, or None if the user is gone, inactive or revoked."""
    user = await row_by_id(User, user_id)
    if user is None or not user["active"] or user["token_version"] != token_version:
        return None
    return actor_from_user(user)


async def revoke_sessions(user_id: int) -> None:
    """Every token issued so far stops working on its next request."""
    async with write_transaction():
        await User.update({User.token_version: User.token_version + 1}).where(User.id == user_id)


async def set_locale(actor: Actor, locale: str) -> None:
    await User.update({User.locale: locale}).where(User.id == actor.user_id)
