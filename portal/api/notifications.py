"""API notifications: what happened to the caller's orders (or waits for them), newest first,
and marking them read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import JSONBody, QueryParameter
from msgspec import Meta, Struct

from portal.api.schemas import Id, In, problems
from portal.domain import notifications
from portal.domain.scope import Actor


class NotificationOut(Struct):
    id: int
    kind: Annotated[
        str, Meta(description="submitted, approved, rejected, returned, … (the order's event)")
    ]
    text: Annotated[str, Meta(description="what happened, in the caller's language")]
    order_id: int | None
    order_number: str
    note: str
    created_at: datetime
    read: bool


class NotificationsOut(Struct):
    items: list[NotificationOut]
    unread: int


class ReadIn(In):
    id: Annotated[Id | None, Meta(description="one notification; null or absent: all")] = None


class UnreadOut(Struct):
    unread: int


@get(
    "/api/v1/notifications",
    tags=["notifications"],
    summary="The caller's notifications, newest first, and how many are unread",
    responses=problems(401),
)
async def list_notifications(
    request: Request[Actor, Any, Any],
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    before: Annotated[
        int | None,
        QueryParameter(
            ge=1, le=2**31 - 1, description="only those older than this id: the next page"
        ),
    ] = None,
) -> NotificationsOut:
    items = await notifications.list_for(request.user, limit=limit, before=before)
    return NotificationsOut(
        items=[
            NotificationOut(
                id=n.id,
                kind=n.kind,
                text=n.text,
                order_id=n.order_id,
                order_number=n.order_number,
                note=n.note,
                created_at=n.created_at,
                read=n.read,
            )
            for n in items
        ],
        unread=await notifications.unread_count(request.user),
    )


@post(
    "/api/v1/notifications/read",
    tags=["notifications"],
    summary="Mark one of the caller's notifications read, or all of them",
    status_code=200,
    responses=problems(400, 401, 404),
)
async def mark_read(
    request: Request[Actor, Any, Any], data: JSONBody[ReadIn | None] = None
) -> UnreadOut:
    await notifications.mark_read(request.user, data.id if data else None, now=datetime.now(UTC))
    return UnreadOut(unread=await notifications.unread_count(request.user))


ROUTES = [list_notifications, mark_read]
