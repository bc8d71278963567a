"""Webhook delivery: a small loop that POSTs what the order_event trigger wrote to
webhook_delivery, signed, and retries with back-off until the receiver answers 2xx.

Like the mail outbox (portal/mail.py): due rows are claimed one at a time with a guarded
update, so several app processes may run the loop and none sends a row another took; each
is sent outside any transaction. A receiver that is down or answers anything but 2xx gets
the delivery again later (30 s, 1 min, 2 min, ... up to an hour apart); after MAX_ATTEMPTS
the delivery is given up ("failed") and an administrator can send it again from its page.
A delivery is at least once: a receiver that answered too slowly may see it twice, with
the same X-Portal-Delivery id and the same event id in the body.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from portal import background
from portal.background import Loop
from portal.domain import webhooks
from portal.domain.scope import Actor
from portal.mail import backoff
from portal.tables import WebhookDelivery

log = logging.getLogger("portal.webhooks")

MAX_ATTEMPTS = 15  # about 9 hours of retries with the back-off
LEASE = timedelta(minutes=2)  # a claimed row is retried after this if its sender died
TIMEOUT = 10.0
TEST_TIMEOUT = 5.0  # an administrator waits on the page for a test's answer
USER_AGENT = "dealer-portal-webhooks/1"


async def _claim(row: dict, now: datetime) -> bool:
    """Take the row for this sender; False if another sender took it first."""
    done = await WebhookDelivery.raw(
        "UPDATE webhook_delivery SET next_attempt_at = {} "
        "WHERE id = {} AND status = 'pending' AND next_attempt_at = {} RETURNING id",
        now + LEASE,
        row["id"],
        row["next_attempt_at"],
    )
    return bool(done)


async def _due(now: datetime, batch: int) -> list[dict]:
    return await WebhookDelivery.raw(
        "SELECT d.id, d.order_event, d.event_type, d.attempts, d.next_attempt_at, "
        "e.url, e.secret FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint "
        "WHERE d.status = 'pending' AND d.next_attempt_at <= {} AND e.active = {} "
        "ORDER BY d.next_attempt_at, d.id LIMIT {}",
        now,
        True,
        batch,
    )


async def _refused_destination(url: str) -> str:
    """Why an attempt must not go to `url` ("" if it may): a receiver whose name resolves to
    an internal address, unless the installation allows those (webhooks.MSG_PRIVATE)."""
    if webhooks.private_addresses_allowed:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if webhooks.internal_host(host):
        return f"refused: {host} is an internal address"
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80)
        )
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"[:500]
    internal = sorted({info[4][0] for info in found if webhooks.internal_address(info[4][0])})
    return f"refused: {host} resolves to internal address {internal[0]}" if internal else ""


async def _post(client: httpx.AsyncClient, row: dict, payload: bytes) -> tuple[int | None, str]:
    """(the receiver's status, the error) of one attempt; (2xx, "") is success."""
    refused = await _refused_destination(row["url"])
    if refused:
        return None, refused
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Portal-Event": row["event_type"],
        "X-Portal-Delivery": str(row["id"]),
        "X-Portal-Timestamp": str(stamp),
        "X-Portal-Signature": webhooks.signature(row["secret"], stamp, payload),
    }
    try:
        answer = await client.post(row["url"], content=payload, headers=headers)
    except httpx.HTTPError as exc:
        return None, (str(exc) or type(exc).__name__)[:500]
    if 200 <= answer.status_code < 300:
        return answer.status_code, ""
    return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}"


async def send_due(
    *, now: datetime | None = None, batch: int = 50, client: httpx.AsyncClient | None = None
) -> int:
    """Send the deliveries that are due; returns how many were delivered."""
    now = now or datetime.now(UTC)
    rows = [r for r in await _due(now, batch) if await _claim(r, now)]
    if not rows:
        return 0
    events = await webhooks.events_by_id(sorted({r["order_event"] for r in rows}))
    own_client = client is None
    client = client or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
    delivered = 0
    try:
        for row in rows:
            payload = webhooks.body(events[row["order_event"]], row["event_type"])
            status, error = await _post(client, row, payload)
            attempts = int(row["attempts"]) + 1
            if not error:
                await WebhookDelivery.update(
                    {
                        WebhookDelivery.status: "delivered",
                        WebhookDelivery.attempts: attempts,
                        WebhookDelivery.last_status: status,
                        WebhookDelivery.last_error: "",
                        WebhookDelivery.delivered_at: datetime.now(UTC),
                    }
                ).where(WebhookDelivery.id == row["id"])
                delivered += 1
                continue
            given_up = attempts >= MAX_ATTEMPTS
            await WebhookDelivery.update(
                {
                    WebhookDelivery.status: "failed" if given_up else "pending",
                    WebhookDelivery.attempts: attempts,
                    WebhookDelivery.last_status: status,
                    WebhookDelivery.last_error: error,
                    WebhookDelivery.next_attempt_at: now + backoff(attempts),
                }
            ).where(WebhookDelivery.id == row["id"])
            log.warning(
                "webhook delivery %s to %s failed (attempt %s%s): %s",
                row["id"],
                row["url"],
                attempts,
                ", given up" if given_up else "",
                error,
            )
    finally:
        if own_client:
            await client.aclose()
    return delivered


@dataclass(frozen=True)
class TestSent:
    """What the receiver made of a test: its HTTP status (None if it never answered) and,
    unless it answered 2xx, what went wrong."""

    status: int | None
    error: str

    @property
    def delivered(self) -> bool:
        return not self.error


async def send_test(
    actor: Actor, endpoint_id: int, *, client: httpx.AsyncClient | None = None
) -> TestSent:
    """POST a signed "ping" to the endpoint now, active or not, and say how it went. Nothing
    is written: the receiver's answer is shown, not kept, and a failed test is not retried.
    Its X-Portal-Delivery is "test-" and a random part."""
    endpoint = await webhooks.endpoint_to_test(actor, endpoint_id)
    payload = webhooks.ping_body(endpoint, datetime.now(UTC))
    row = {
        "id": f"test-{secrets.token_hex(8)}",
        "event_type": webhooks.PING,
        "url": endpoint["url"],
        "secret": endpoint["secret"],
    }
    own_client = client is None
    client = client or httpx.AsyncClient(timeout=TEST_TIMEOUT, follow_redirects=False)
    try:
        status, error = await _post(client, row, payload)
    finally:
        if own_client:
            await client.aclose()
    return TestSent(status, error)


def start(interval: float) -> Loop | None:
    """Send due deliveries every `interval` seconds (from the app's on_startup); 0: never."""
    if interval <= 0:
        return None
    return background.start(send_due, interval, log)
