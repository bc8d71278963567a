"""Signing in: password check, login rate limits kept in the database, session versions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from portal.auth.passwords import verify_password
from portal.db import row_by_id, write_transaction
from portal.domain.codes import folded, same_text
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
        # A username is one in any letter case (Zhang.San is zhang.san). It may be digits and
        # equal another user's phone: the username comes first.
        found = await User.select().where(same_text(User.username, login) | (User.phone == login))
        user = min(
            found,
            key=lambda u: (folded(u["username"]) != folded(login), u["username"] != login, u["id"]),
            default=None,
        )
    account_key, address_key = _keys(login, user, address)
    counted = await _count_attempt(
        ((account_key, max_failures), (address_key, max_failures * 4)), now=now, window=window
    )

    # argon2 is slow on purpose: verify in a worker thread so the event loop keeps serving.
    ok = await asyncio.to_thread(
        verify_password, user["password_hash"] if user else None, password or ""
    )
    if not ok or user is None or not user["active"]:
        await _forget_old_failures(now=now, window=window)
        raise Unauthorized(_("Wrong username, phone number or password."))
    # Signed in: this attempt was no failure, and the account's earlier ones are forgiven.
    await LoginFailure.delete().where(
        LoginFailure.id.is_in(counted) | (LoginFailure.key == account_key)
    )
    return user


async def _count_attempt(
    limits: tuple[tuple[str, int], ...], *, now: datetime, window: timedelta
) -> list[int]:
    """Count an attempt against each key before its password is checked; RateLimited when a
    key already had its limit of failures within the window.

    The attempt is written first and the count read after, so attempts made at the same
    moment (in several worker processes, or while argon2 runs in threads) each see the ones
    written before them (a smaller id): no more than the limit get their password checked.
    The rows stay as failures unless the password was right; a refused attempt takes its
    rows back, so hammering a locked account does not keep it locked longer. Returns the
    rows' ids."""
    async with write_transaction():
        rows = await LoginFailure.insert(*(LoginFailure(key=key, at=now) for key, _ in limits))
    counted = [r["id"] for r in rows]
    since = now - window
    for (key, limit), mine in zip(limits, counted, strict=True):
        earlier = (
            await LoginFailure.select(LoginFailure.id, LoginFailure.at)
            .where((LoginFailure.key == key) & (LoginFailure.at > since) & (LoginFailure.id < mine))
            .order_by(LoginFailure.at)
            .order_by(LoginFailure.id)
        )
        if len(earlier) >= limit:
            await LoginFailure.delete().where(LoginFailure.id.is_in(counted))
            oldest = earlier[-limit]["at"]
            retry_after = max(1, int((oldest + window - now).total_seconds()) + 1)
            raise RateLimited(
                _("Too many attempts. Try again in %(minutes)s min."),
                {"minutes": -(-retry_after // 60)},
                extra={"retry_after": retry_after},
            )
    return counted


async def _forget_old_failures(*, now: datetime, window: timedelta) -> None:
    # Failures older than the window count for nothing: drop them so the table stays small.
    async with write_transaction():
        await LoginFailure.delete().where(LoginFailure.at < now - window)


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
    counted = await _count_attempt(((account_key, max_failures),), now=now, window=window)
    ok = await asyncio.to_thread(verify_password, user["password_hash"], password or "")
    if ok:
        await LoginFailure.delete().where(LoginFailure.id.is_in(counted))
    else:
        await _forget_old_failures(now=now, window=window)
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
