"""Mail delivery from the outbox: a small loop that sends what use cases wrote to mail_outbox.

Use cases never talk to the mail server: they write MailOutbox rows in their own
transaction (portal/domain/notifications.py), so a mail server that is down neither blocks
a request nor loses a committed notice, and nothing is sent for a rolled-back change.
This loop claims due rows one at a time with a guarded update (several app processes may
run it), sends each outside any transaction, and records success, or the error and the
next attempt (backing off) on failure.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from portal import background
from portal.background import Loop
from portal.tables import MailOutbox

log = logging.getLogger("portal.mail")

MAX_ATTEMPTS = 10
# A claimed row is retried after this long if its sender died mid-way.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 25
    sender: str = "portal@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0
    interval: float = 15.0  # seconds between rounds of the loop
    # Where people open the portal (https://dhd.example.com): a mail about an order ends with
    # a link to it. "" (not configured): no link, since a path alone opens nothing in a mail.
    public_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MailSettings | None:
        """None unless PORTAL_SMTP_HOST is set (then mail is sent)."""
        host = (env.get("PORTAL_SMTP_HOST") or "").strip()
        if not host:
            return None
        return cls(
            host=host,
            port=_port(env.get("PORTAL_SMTP_PORT") or "25"),
            sender=env.get("PORTAL_SMTP_FROM") or "portal@localhost",
            username=env.get("PORTAL_SMTP_USER") or "",
            password=env.get("PORTAL_SMTP_PASSWORD") or "",
            starttls=(env.get("PORTAL_SMTP_STARTTLS") or "") in ("1", "true", "yes"),
            public_url=public_url(env.get("PORTAL_PUBLIC_URL") or ""),
        )


def _port(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"PORTAL_SMTP_PORT must be a number, not {raw!r}") from None


def public_url(raw: str) -> str:
    """PORTAL_PUBLIC_URL checked: an http(s) address without a trailing slash, or ""."""
    url = raw.strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"PORTAL_PUBLIC_URL must be the portal's address, like https://dhd.example.com: {raw!r}"
        )
    return url


def body_with_link(settings: MailSettings, body: str, link: str) -> str:
    """The mail's text, ending with the address of the page it is about where both are known."""
    if not (settings.public_url and link):
        return body
    return f"{body}\n\n{settings.public_url}{link}"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... up to an hour between attempts."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _send_blocking(settings: MailSettings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


async def _claim(row: dict, now: datetime) -> bool:
    """Take the row for this sender; False if another sender took it first."""
    done = await MailOutbox.raw(
        "UPDATE mail_outbox SET next_attempt_at = {} "
        "WHERE id = {} AND sent_at IS NULL AND next_attempt_at = {} RETURNING id",
        now + LEASE,
        row["id"],
        row["next_attempt_at"],
    )
    return bool(done)


async def send_due(settings: MailSettings, *, now: datetime | None = None, batch: int = 20) -> int:
    """Send the mail that is due; returns how many were sent. Failures are kept for later."""
    now = now or datetime.now(UTC)
    rows = (
        await MailOutbox.select()
        .where(MailOutbox.sent_at.is_null())
        .where(MailOutbox.next_attempt_at <= now)
        .where(MailOutbox.attempts < MAX_ATTEMPTS)
        .order_by(MailOutbox.id)
        .limit(batch)
    )
    sent = 0
    for row in rows:
        if not await _claim(row, now):
            continue
        try:
            await asyncio.to_thread(
                _send_blocking,
                settings,
                row["to"],
                row["subject"],
                body_with_link(settings, row["body"], row["link"]),
            )
        except (OSError, smtplib.SMTPException) as exc:
            attempts = int(row["attempts"]) + 1
            await MailOutbox.update(
                {
                    MailOutbox.attempts: attempts,
                    MailOutbox.next_attempt_at: now + backoff(attempts),
                    MailOutbox.last_error: str(exc)[:500],
                }
            ).where(MailOutbox.id == row["id"])
            log.warning(
                "mail %s to %s failed (attempt %s): %s", row["id"], row["to"], attempts, exc
            )
            continue
        await MailOutbox.update(
            {MailOutbox.sent_at: datetime.now(UTC), MailOutbox.attempts: int(row["attempts"]) + 1}
        ).where(MailOutbox.id == row["id"])
        sent += 1
    return sent


def start(settings: MailSettings) -> Loop:
    """Send due mail every `settings.interval` seconds (from the app's on_startup)."""
    return background.start(lambda: send_due(settings), settings.interval, log)
