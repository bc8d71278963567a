"""API: webhook endpoints and their deliveries (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import Meta, Struct

from portal import i18n
from portal import webhooks as sender
from portal.api.schemas import In, change_of, kept, problems
from portal.domain import webhooks
from portal.domain.scope import Actor

ObjectId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
EventType = Literal[tuple(webhooks.EVENT_TYPES)]
DeliveryStatus = Literal["pending", "delivered", "failed"]

SIGNING = (
    "Each delivery is a POST of JSON signed with the endpoint's secret: X-Portal-Signature is "
    '"sha256=" + hex HMAC-SHA256 of "<X-Portal-Timestamp>.<body>". X-Portal-Event names the '
    "type, X-Portal-Delivery the delivery (a retry repeats it). Any answer but 2xx is retried "
    "with back-off (30 s doubling to an hour) up to 15 times. The body: "
    '{"id", "type", "created_at", "data": {"order": {"id", "number", "dealer_id", '
    '"dealer_code", "status", "api"}, "kind", "from_status", "to_status", "note", '
    '"actor_id"}}; a shipment.* event adds data.shipment {"id", "number", "warehouse_id", '
    '"api"; once shipped "carrier", "tracking_no"}, a return.* event data.return {"id", '
    '"number", "api"}. Order deliveries to one receiver by the event id.'
)


class WebhookIn(In):
    url: Annotated[
        str, Meta(min_length=1, max_length=500, examples=["https://erp.example.com/hooks/portal"])
    ]
    events: Annotated[
        list[EventType], Meta(max_length=len(webhooks.EVENT_TYPES), description="[] for all")
    ] = []
    description: Annotated[str, Meta(max_length=100)] = ""
    active: bool = True


WebhookChangeIn = change_of(WebhookIn, "WebhookChangeIn")


class WebhookOut(Struct):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: Annotated[str, Meta(description="the signing secret; shown this once")]


class SecretOut(Struct):
    secret: str


class TestOut(Struct):
    delivered: Annotated[bool, Meta(description="the receiver answered 2xx")]
    status: Annotated[int | None, Meta(description="its HTTP status; null if it never answered")]
    error: Annotated[str, Meta(description="what went wrong; empty when delivered")]


class DeliveryOut(Struct):
    id: int
    event_id: int
    event_type: str
    order_id: int
    order_number: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


def webhook_out(row: dict[str, Any]) -> WebhookOut:
    return WebhookOut(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        events=row["events"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _input(data: WebhookIn) -> webhooks.EndpointInput:
    return webhooks.EndpointInput(
        url=data.url, description=data.description, events=tuple(data.events), active=data.active
    )


@get(
    "/api/v1/webhooks",
    tags=["webhooks"],
    summary="Webhook endpoints",
    description=SIGNING,
    responses=problems(401, 403),
)
async def list_webhooks(request: Request[Actor, Any, Any]) -> list[WebhookOut]:
    return [webhook_out(r) for r in await webhooks.list_endpoints(request.user)]


class EventTypeOut(Struct):
    type: str
    label: Annotated[str, Meta(description="what it means, in the caller's language")]


@get(
    "/api/v1/webhooks/events",
    tags=["webhooks"],
    summary="The event types a webhook endpoint may subscribe to",
    description="Each type with what it means; an endpoint's events are some of these, or *.",
    responses=problems(401, 403),
)
async def list_event_types(request: Request[Actor, Any, Any]) -> list[EventTypeOut]:
    return [
        EventTypeOut(type=t, label=i18n.gettext(label))
        for t, label in webhooks.event_types(request.user).items()
    ]


@post(
    "/api/v1/webhooks",
    tags=["webhooks"],
    summary="Add a webhook endpoint; the answer carries its signing secret, this once",
    description=SIGNING,
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_webhook(
    request: Request[Actor, Any, Any], data: JSONBody[WebhookIn]
) -> WebhookCreatedOut:
    saved = await webhooks.save_endpoint(request.user, None, _input(data))
    out = webhook_out(saved.endpoint)
    return WebhookCreatedOut(
        **{f: getattr(out, f) for f in out.__struct_fields__}, secret=saved.secret or ""
    )


@get(
    "/api/v1/webhooks/{endpoint_id:int}",
    tags=["webhooks"],
    summary="A webhook endpoint",
    responses=problems(401, 403, 404),
)
async def get_webhook(request: Request[Actor, Any, Any], endpoint_id: ObjectId) -> WebhookOut:
    return webhook_out(await webhooks.get_endpoint(request.user, endpoint_id))


@put(
    "/api/v1/webhooks/{endpoint_id:int}",
    tags=["webhooks"],
    summary="Change a webhook endpoint's address, events, description or active flag",
    description="The fields sent change; a field left out keeps its value.",
    responses=problems(401, 403, 404, 422),
)
async def update_webhook(
    request: Request[Actor, Any, Any],
    endpoint_id: ObjectId,
    data: JSONBody[WebhookChangeIn],
) -> WebhookOut:
    current = webhook_out(await webhooks.get_endpoint(request.user, endpoint_id))
    full = kept(data, current, WebhookIn)
    saved = await webhooks.save_endpoint(request.user, endpoint_id, _input(full))
    return webhook_out(saved.endpoint)


@delete(
    "/api/v1/webhooks/{endpoint_id:int}",
    tags=["webhooks"],
    summary="Remove a webhook endpoint and its deliveries (waiting ones are never sent)",
    status_code=204,
    responses=problems(401, 403, 404),
)
async def delete_webhook(request: Request[Actor, Any, Any], endpoint_id: ObjectId) -> None:
    await webhooks.delete_endpoint(request.user, endpoint_id)


@post(
    "/api/v1/webhooks/{endpoint_id:int}/secret",
    tags=["webhooks"],
    summary="Make a new signing secret (returned this once); later deliveries use it",
    status_code=200,
    responses=problems(401, 403, 404),
)
async def rotate_webhook_secret(
    request: Request[Actor, Any, Any], endpoint_id: ObjectId
) -> SecretOut:
    return SecretOut(secret=await webhooks.rotate_secret(request.user, endpoint_id))


@post(
    "/api/v1/webhooks/{endpoint_id:int}/test",
    tags=["webhooks"],
    summary="Send a signed test now and say how the receiver answered",
    description=(
        'A POST like any delivery, with X-Portal-Event "ping" and a body of type "ping" '
        "(the endpoint's id and event types), sent at once whether the endpoint is active or "
        "not, waiting at most 5 s for the answer. Nothing is recorded and nothing is retried."
    ),
    status_code=200,
    responses=problems(401, 403, 404),
)
async def test_webhook(request: Request[Actor, Any, Any], endpoint_id: ObjectId) -> TestOut:
    sent = await sender.send_test(request.user, endpoint_id)
    return TestOut(delivered=sent.delivered, status=sent.status, error=sent.error)


@get(
    "/api/v1/webhooks/{endpoint_id:int}/deliveries",
    tags=["webhooks"],
    summary="An endpoint's latest 50 deliveries, newest first",
    responses=problems(401, 403, 404),
)
async def list_webhook_deliveries(
    request: Request[Actor, Any, Any],
    endpoint_id: ObjectId,
    status: Annotated[DeliveryStatus | None, QueryParameter(description="only these")] = None,
) -> list[DeliveryOut]:
    rows = await webhooks.list_deliveries(request.user, endpoint_id, status=status or "")
    return [
        DeliveryOut(
            id=r["id"],
            event_id=r["order_event"],
            event_type=r["event_type"],
            order_id=r["order_id"],
            order_number=r["order_number"],
            status=r["status"],
            attempts=r["attempts"],
            next_attempt_at=r["next_attempt_at"],
            last_status=r["last_status"],
            last_error=r["last_error"],
            created_at=r["created_at"],
            delivered_at=r["delivered_at"],
        )
        for r in rows
    ]


@post(
    "/api/v1/webhooks/deliveries/{delivery_id:int}/retry",
    tags=["webhooks"],
    summary="Send a delivery again at the sender's next round, with a fresh count of attempts",
    status_code=204,
    responses=problems(401, 403, 404),
)
async def retry_webhook_delivery(request: Request[Actor, Any, Any], delivery_id: ObjectId) -> None:
    await webhooks.retry_delivery(request.user, delivery_id)


ROUTES = [
    list_event_types,
    list_webhooks,
    create_webhook,
    get_webhook,
    update_webhook,
    delete_webhook,
    rotate_webhook_secret,
    test_webhook,
    list_webhook_deliveries,
    retry_webhook_delivery,
]
