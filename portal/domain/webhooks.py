"""Webhooks for order, shipment and return events: the endpoints an administrator keeps, the
deliveries owed to them, and the body and signature a delivery carries.

Deliveries are never written here: a trigger on order_event writes them in the transaction
of the change (migration 2026-11-25T14:00:09), so a rolled-back change sends nothing and a
committed one cannot lose its delivery. portal/webhooks.py sends them with retries.

A delivery is a POST of JSON with these headers:
- X-Portal-Event: the event type, e.g. order.approved;
- X-Portal-Delivery: the delivery's id (a retry repeats it; the body's "id" is the event's);
- X-Portal-Timestamp: Unix seconds when this attempt was signed;
- X-Portal-Signature: "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>" with the
  endpoint's secret. A receiver recomputes it and rejects stale timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from portal.db import write_transaction
from portal.domain import audit
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.scope import Actor
from portal.tables import (
    OrderEvent,
    ReturnRequest,
    Shipment,
    WebhookDelivery,
    WebhookEndpoint,
)

# The event types a receiver may subscribe to, with what each means (for the admin page).
EVENT_TYPES: dict[str, str] = {
    "order.submitted": _("Order submitted"),
    "order.approved": _("Order approved (by the last step, or on submission)"),
    "order.step_approved": _("Order passed one approval step"),
    "order.rejected": _("Order rejected"),
    "order.returned": _("Order sent back to the dealer for changes"),
    "order.resubmitted": _("Order resubmitted"),
    "order.adjusted": _("Order adjusted by staff"),
    "order.cancelled": _("Order cancelled"),
    "order.backordered": _("Order accepted with backorders"),
    "order.backorder_reserved": _("Backordered goods reserved"),
    "order.stock_short": _("Part of an order backordered after a stock count or loss"),
    "order.stock_moved": _(
        "Part of an order's reservation taken over by another warehouse after a stock count"
    ),
    "order.completed": _("Order completed"),
    "order.remainder_closed": _("Rest of a partly shipped order closed (will not ship)"),
    "shipment.packed": _("Shipment packed"),
    "shipment.shipped": _("Shipment shipped"),
    "shipment.cancelled": _("Shipment cancelled"),
    "shipment.delivered": _("Shipment delivered"),
    "shipment.tracking_changed": _("Carrier or tracking number corrected"),
    "shipment.received": _("Shipment received by the dealer"),
    "return.requested": _("Return requested"),
    "return.approved": _("Return approved"),
    "return.rejected": _("Return rejected"),
    "return.received": _("Returned goods received"),
}
ALL_EVENTS = "*"
# A test an administrator sends from the endpoint's page: signed like any delivery, about
# nothing that happened, and never written to webhook_delivery.
PING = "ping"
STATUSES = ("pending", "delivered", "failed")
STATUS_LABELS = {
    "pending": _("Waiting to be sent"),
    "delivered": _("Delivered"),
    "failed": _("Given up"),
}
URL_MAX = 500
EXAMPLE_URL = "https://erp.example.com/hooks/portal"
DESCRIPTION_MAX = 100
DELIVERIES_SHOWN = 50
ADMIN_ONLY = _("Only an administrator may manage webhooks.")
MISSING = _("Webhook not found.")


def _now() -> datetime:
    return datetime.now(UTC)


def event_types(actor: Actor) -> dict[str, str]:
    """What a receiver may subscribe to, with what each means (msgids); administrators."""
    _require_admin(actor)
    return dict(EVENT_TYPES)


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(ADMIN_ONLY)


@dataclass(frozen=True)
class EndpointInput:
    url: str
    description: str = ""
    events: tuple[str, ...] = ()  # empty: every event type
    active: bool = True


def events_text(events: tuple[str, ...]) -> str:
    """How the subscription is stored: "*" or ",a,b," (the trigger looks for ",type,")."""
    return "," + ",".join(sorted(set(events))) + "," if events else ALL_EVENTS


def events_of(text: str) -> list[str]:
    """The subscribed types of a stored subscription; [] means every type."""
    return [] if text == ALL_EVENTS else [e for e in text.split(",") if e]


# Receivers on the portal's own machine or a private network are refused unless the
# installation allows them (Settings.webhook_private_addresses, applied by create_app): an
# administrator's key could otherwise make the portal call internal services and read their
# answers in a test (SSRF). The sender checks what a name resolves to before each attempt.
private_addresses_allowed = False
MSG_PRIVATE = _(
    "This address is on the portal's own machine or a private network: receivers there are "
    "refused unless the installation allows them (PORTAL_WEBHOOK_PRIVATE=1)."
)


def internal_address(ip: str) -> bool:
    """Whether an IP address is not on the public internet: loopback, private, link-local
    (cloud metadata at 169.254.169.254), carrier-grade NAT, reserved, multicast, unspecified."""
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def internal_host(host: str) -> bool:
    """A host named as internal without looking it up: localhost, or an internal IP literal,
    in any of the forms a resolver takes for IPv4 (127.1, 2130706433, 0x7f000001, octal)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or internal_address(name):
        return True
    try:
        packed = socket.inet_aton(name)  # numbers only: never looks a name up
    except OSError:
        return False
    return internal_address(socket.inet_ntoa(packed))


def _check(data: EndpointInput) -> list[FieldError]:
    errors = []
    url = data.url.strip()
    parts = urlsplit(url) if len(url) <= URL_MAX else None
    if not url:
        errors.append(FieldError("url", _("Enter the receiver's address.")))
    elif parts is None:
        errors.append(FieldError("url", _("The address is too long.")))
    elif (
        parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url)
    ):
        errors.append(
            FieldError(
                "url",
                _("Enter an http:// or https:// address, such as %(example)s."),
                {"example": EXAMPLE_URL},
            )
        )
    elif not private_addresses_allowed and internal_host(parts.hostname or ""):
        errors.append(FieldError("url", MSG_PRIVATE))
    if len(data.description) > DESCRIPTION_MAX:
        errors.append(
            FieldError("description", _("At most %(n)s characters."), {"n": DESCRIPTION_MAX})
        )
    unknown = sorted(set(data.events) - set(EVENT_TYPES))
    if unknown:
        errors.append(
            FieldError("events", _("Unknown event type: %(type)s."), {"type": unknown[0][:40]})
        )
    return errors


def _new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def _public(row: dict) -> dict:
    """An endpoint as shown: never its secret."""
    shown = {k: v for k, v in row.items() if k != "secret"}
    shown["active"] = bool(row["active"])
    shown["events"] = events_of(row["events"])
    return shown


async def list_endpoints(actor: Actor) -> list[dict]:
    """Every endpoint with how many of its deliveries wait and how many were given up."""
    _require_admin(actor)
    rows = await WebhookEndpoint.raw(
        "SELECT e.*, "
        "(SELECT count(*) FROM webhook_delivery d WHERE d.endpoint = e.id "
        "AND d.status = 'pending') AS pending, "
        "(SELECT count(*) FROM webhook_delivery d WHERE d.endpoint = e.id "
        "AND d.status = 'failed') AS failed "
        "FROM webhook_endpoint e ORDER BY e.id"
    )
    return [_public(r) for r in rows]


async def get_endpoint(actor: Actor, endpoint_id: int) -> dict:
    return _public(await endpoint_to_test(actor, endpoint_id))


async def endpoint_to_test(actor: Actor, endpoint_id: int) -> dict:
    """The endpoint with its secret, for signing a test (administrators only)."""
    _require_admin(actor)
    row = await WebhookEndpoint.select().where(WebhookEndpoint.id == endpoint_id).first()
    if row is None:
        raise NotFound(MISSING)
    return row


@dataclass(frozen=True)
class Saved:
    endpoint: dict
    secret: str | None  # the signing secret, only when it was just made: shown once


async def save_endpoint(
    actor: Actor, endpoint_id: int | None, data: EndpointInput, *, now: datetime | None = None
) -> Saved:
    """Add (endpoint_id None; a secret is made and returned once) or change an endpoint."""
    _require_admin(actor)
    errors = _check(data)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or _now()
    values = {
        "url": data.url.strip(),
        "description": data.description.strip(),
        "events": events_text(data.events),
        "active": data.active,
    }
    secret = None
    async with write_transaction():
        same = WebhookEndpoint.exists().where(WebhookEndpoint.url == values["url"])
        if endpoint_id is not None:
            same = same.where(WebhookEndpoint.id != endpoint_id)
        if await same:
            # Two receivers at one address get every event twice (a refreshed page that
            # showed the new secret sent the form again and made the second).
            raise ValidationFailed(
                errors=[FieldError("url", _("A webhook already sends to this address."))]
            )
        if endpoint_id is None:
            secret = _new_secret()
            row = WebhookEndpoint(secret=secret, created_at=now, updated_at=now, **values)
            await WebhookEndpoint.insert(row)
            endpoint_id, before = row.id, {}
        else:
            old = await WebhookEndpoint.select().where(WebhookEndpoint.id == endpoint_id).first()
            if old is None:
                raise NotFound(MISSING)
            await WebhookEndpoint.update(
                {
                    **{getattr(WebhookEndpoint, k): v for k, v in values.items()},
                    WebhookEndpoint.updated_at: now,
                }
            ).where(WebhookEndpoint.id == endpoint_id)
            before = {k: (bool(old[k]) if k == "active" else old[k]) for k in values}
        await audit.record(
            actor, "webhook.saved", "webhook_endpoint", endpoint_id, before, values, now=now
        )
    return Saved(await get_endpoint(actor, endpoint_id), secret)


async def rotate_secret(actor: Actor, endpoint_id: int, *, now: datetime | None = None) -> str:
    """A new signing secret, returned once; deliveries from now on are signed with it."""
    _require_admin(actor)
    now = now or _now()
    secret = _new_secret()
    async with write_transaction():
        done = await WebhookEndpoint.raw(
            "UPDATE webhook_endpoint SET secret = {}, updated_at = {} WHERE id = {} RETURNING id",
            secret,
            now,
            endpoint_id,
        )
        if not done:
            raise NotFound(MISSING)
        await audit.record(
            actor,
            "webhook.secret_rotated",
            "webhook_endpoint",
            endpoint_id,
            {},
            {"secret": "rotated"},
            now=now,
        )
    return secret


async def delete_endpoint(actor: Actor, endpoint_id: int, *, now: datetime | None = None) -> None:
    """Remove an endpoint and its deliveries (waiting ones are never sent); audited."""
    _require_admin(actor)
    now = now or _now()
    async with write_transaction():
        row = await WebhookEndpoint.select().where(WebhookEndpoint.id == endpoint_id).first()
        if row is None:
            raise NotFound(MISSING)
        await WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint_id)
        await audit.record(
            actor,
            "webhook.deleted",
            "webhook_endpoint",
            endpoint_id,
            {"url": row["url"], "events": row["events"], "active": bool(row["active"])},
            {},
            now=now,
        )


async def list_deliveries(
    actor: Actor, endpoint_id: int, *, status: str = "", limit: int = DELIVERIES_SHOWN
) -> list[dict]:
    """An endpoint's latest deliveries, newest first, with the order each concerns."""
    await get_endpoint(actor, endpoint_id)
    where = "d.endpoint = {}" + (" AND d.status = {}" if status else "")
    args: list[Any] = [endpoint_id] + ([status] if status else [])
    rows = await WebhookDelivery.raw(
        "SELECT d.id, d.event_type, d.status, d.attempts, d.next_attempt_at, d.last_status, "
        "d.last_error, d.created_at, d.delivered_at, d.order_event, o.id AS order_id, "
        "o.number AS order_number FROM webhook_delivery d "
        'JOIN order_event ev ON ev.id = d.order_event JOIN sales_order o ON o.id = ev."order" '
        f"WHERE {where} ORDER BY d.id DESC LIMIT {int(limit)}",
        *args,
    )
    return rows


async def retry_delivery(actor: Actor, delivery_id: int, *, now: datetime | None = None) -> dict:
    """Send a delivery again as soon as the sender next runs, with a fresh count of attempts
    (a given-up one, or a waiting one now rather than at its back-off time)."""
    _require_admin(actor)
    now = now or _now()
    async with write_transaction():
        row = await WebhookDelivery.select().where(WebhookDelivery.id == delivery_id).first()
        if row is None:
            raise NotFound(_("Delivery not found."))
        await WebhookDelivery.update(
            {
                WebhookDelivery.status: "pending",
                WebhookDelivery.attempts: 0,
                WebhookDelivery.next_attempt_at: now,
            }
        ).where(WebhookDelivery.id == delivery_id)
        await audit.record(
            actor,
            "webhook.delivery_retried",
            "webhook_delivery",
            delivery_id,
            {"status": row["status"], "attempts": row["attempts"]},
            {"status": "pending", "attempts": 0},
            now=now,
        )
    return {**row, "status": "pending", "attempts": 0, "next_attempt_at": now}


# --- what a delivery carries ------------------------------------------------------------------


def body(event: dict, event_type: str) -> bytes:
    """The JSON body for an order_event row joined with its order (order_number, dealer_id,
    dealer_code). The same event gives the same bytes on every attempt and every endpoint."""
    at = event["at"]
    document = {
        "id": event["id"],
        "type": event_type,
        "created_at": at.astimezone(UTC).isoformat() if isinstance(at, datetime) else str(at),
        "data": {
            "order": {
                "id": event["order"],
                "number": event["order_number"],
                "dealer_id": event["dealer_id"],
                "dealer_code": event["dealer_code"],
                "status": event["to_status"],
                "api": f"/api/v1/orders/{event['order']}",
            },
            **_subject(event),
            "kind": event["kind"],
            "from_status": event["from_status"],
            "to_status": event["to_status"],
            "note": event["note"],
            "actor_id": event["actor"],
        },
    }
    return _encoded(document)


def _subject(event: dict) -> dict:
    """The shipment or return a shipment.* or return.* event is about (events_by_id finds it
    by the number its note begins with): what a receiver needs without a second look-up, and
    only what no later change alters, so every attempt sends the same bytes. A shipment's
    carrier and tracking number are set when it ships; while packed they may still change,
    and a correction afterwards is an event of its own (its note says the old and new)."""
    found = event.get("shipment")
    if found:
        shipment = {
            "id": found["id"],
            "number": found["number"],
            "warehouse_id": found["warehouse"],
            "api": f"/api/v1/shipments/{found['id']}",
        }
        if event["kind"] not in ("shipment_packed", "shipment_cancelled"):
            shipment["carrier"] = found["carrier"]
            shipment["tracking_no"] = found["tracking_no"]
        return {"shipment": shipment}
    found = event.get("return")
    if found:
        return {
            "return": {
                "id": found["id"],
                "number": found["number"],
                "api": f"/api/v1/returns/{found['id']}",
            }
        }
    return {}


def ping_body(endpoint: dict, at: datetime) -> bytes:
    """A test's JSON body: the same envelope as an event's (id 0, type "ping"), with the
    endpoint and the event types it takes ("*" for all)."""
    document = {
        "id": 0,
        "type": PING,
        "created_at": at.astimezone(UTC).isoformat(),
        "data": {
            "endpoint_id": endpoint["id"],
            "events": events_of(endpoint["events"]) or [ALL_EVENTS],
        },
    }
    return _encoded(document)


def _encoded(document: dict) -> bytes:
    """Compact JSON with sorted keys: the same document gives the same bytes every time."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, payload: bytes, header: str) -> bool:
    """What a receiver does (and the tests): recompute and compare in constant time."""
    if not timestamp.isdigit():
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), payload), header)


async def events_by_id(ids: list[int]) -> dict[int, dict]:
    """order_event rows with their order's number and dealer, for building bodies."""
    if not ids:
        return {}
    rows = await OrderEvent.raw(
        'SELECT ev.id, ev."order", ev.at, ev.actor, ev.kind, ev.from_status, ev.to_status, '
        "ev.note, o.number AS order_number, o.dealer AS dealer_id, d.code AS dealer_code "
        'FROM order_event ev JOIN sales_order o ON o.id = ev."order" '
        "JOIN dealer d ON d.id = o.dealer WHERE ev.id IN (" + ", ".join("{}" for _ in ids) + ")",
        *ids,
    )
    numbers = {
        prefix: {(r["note"] or "").split("\n", 1)[0] for r in rows if r["kind"].startswith(prefix)}
        for prefix in ("shipment_", "return_")
    }
    shipments = {}
    if numbers["shipment_"]:
        shipments = {
            s["number"]: s
            for s in await Shipment.select(
                Shipment.id,
                Shipment.number,
                Shipment.warehouse,
                Shipment.carrier,
                Shipment.tracking_no,
            ).where(Shipment.number.is_in(sorted(numbers["shipment_"])))
        }
    returns = {}
    if numbers["return_"]:
        returns = {
            r["number"]: r
            for r in await ReturnRequest.select(ReturnRequest.id, ReturnRequest.number).where(
                ReturnRequest.number.is_in(sorted(numbers["return_"]))
            )
        }
    for r in rows:
        number = (r["note"] or "").split("\n", 1)[0]
        if r["kind"].startswith("shipment_") and number in shipments:
            r["shipment"] = shipments[number]
        elif r["kind"].startswith("return_") and number in returns:
            r["return"] = returns[number]
    return {r["id"]: r for r in rows}
