"""API: the audit log for administrators and finance, newest first, filtered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter
from msgspec import Meta, Struct

from portal.api.schemas import problems
from portal.domain import audit
from portal.domain.scope import Actor


class ChangeOut(Struct):
    key: str
    before: Annotated[str, Meta(description='the value before, as JSON text; "" if absent')]
    after: str


class AuditEntryOut(Struct):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: Annotated[str, Meta(examples=["dealer.credit_terms", "order.submitted"])]
    entity: Annotated[str, Meta(examples=["dealer", "order", "sku"])]
    entity_id: str
    changes: Annotated[list[ChangeOut], Meta(description="the keys whose value changed")]


class AuditPageOut(Struct):
    items: list[AuditEntryOut]
    page: int
    per_page: int
    has_more: bool


@get(
    "/api/v1/audit",
    tags=["audit"],
    summary="The audit log: who changed what and when, before and after (admins, finance)",
    description=(
        "Newest first. entity and entity_id name what changed (dealer 12, order 311, sku 7…); "
        "action keeps the entries whose kind starts with it (order., dealer.credit_terms); "
        "start and end are Asia/Shanghai days, either may be left out."
    ),
    responses=problems(400, 401, 403, 422),
)
async def audit_log(
    request: Request[Actor, Any, Any],
    entity: Annotated[str, QueryParameter(max_length=30)] = "",
    entity_id: Annotated[str, QueryParameter(max_length=40)] = "",
    action: Annotated[str, QueryParameter(max_length=50)] = "",
    start: Annotated[date | None, QueryParameter()] = None,
    end: Annotated[date | None, QueryParameter()] = None,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=audit.MAX_PER_PAGE)] = 50,
) -> AuditPageOut:
    result = await audit.list_entries(
        request.user,
        audit.LogFilter(entity.strip(), entity_id.strip(), action.strip(), start, end),
        page=page,
        per_page=per_page,
    )
    return AuditPageOut(
        items=[
            AuditEntryOut(
                id=e.id,
                at=e.at,
                actor_id=e.actor_id,
                actor_name=e.actor_name,
                action=e.action,
                entity=e.entity,
                entity_id=e.entity_id,
                changes=[ChangeOut(c.key, c.before, c.after) for c in e.changes],
            )
            for e in result.items
        ],
        page=result.page,
        per_page=result.per_page,
        has_more=result.has_more,
    )


ROUTES = [audit_log]
