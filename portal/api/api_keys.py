"""API: integration keys (administrators for anyone, a dealer's administrator for its users)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, get, post
from litestar.params import JSONBody, PathParameter
from msgspec import Meta, Struct

from portal.api.schemas import In, problems
from portal.domain import api_keys
from portal.domain.scope import Actor

KeyId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
HOW = (
    "An integration sends the key as `Authorization: Bearer dpk_…` on /api/v1 and acts as the "
    "key's user, with that user's role and scope. A key stops working when it is revoked, when "
    "it expires or when its user is deactivated. A request made with a key cannot manage keys."
)


class KeyIn(In):
    username: Annotated[
        str, Meta(min_length=1, max_length=64, description="the user the key acts as")
    ]
    name: Annotated[str, Meta(min_length=1, max_length=60, examples=["金蝶 ERP"])]
    days: Annotated[
        int, Meta(ge=0, le=api_keys.MAX_DAYS, description="valid this many days; 0: no expiry")
    ] = 365


class KeyOut(Struct):
    id: int
    name: str
    prefix: Annotated[str, Meta(description="the key's first characters")]
    user_id: int
    username: str
    role: str
    dealer_id: int | None
    dealer_name: Annotated[str, Meta(description='"" for staff')]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: Literal["active", "expired", "revoked"]


class KeyCreatedOut(KeyOut):
    key: Annotated[str, Meta(description="the key; shown this once, never again")]


def _fields(view: api_keys.KeyView) -> dict[str, Any]:
    """The view's fields that KeyOut shows (all but the user's display name)."""
    return {k: v for k, v in asdict(view).items() if k in KeyOut.__struct_fields__}


@get(
    "/api/v1/api-keys",
    tags=["account"],
    summary="Integration keys",
    description=HOW,
    responses=problems(401, 403),
)
async def list_keys(request: Request[Actor, Any, Any]) -> list[KeyOut]:
    return [KeyOut(**_fields(v)) for v in await api_keys.list_keys(request.user)]


@post(
    "/api/v1/api-keys",
    tags=["account"],
    summary="Issue an integration key (the key is in this answer only)",
    description=HOW,
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_key(request: Request[Actor, Any, Any], data: JSONBody[KeyIn]) -> KeyCreatedOut:
    values = api_keys.KeyInput(username=data.username, name=data.name, days=data.days)
    view, key = await api_keys.create_key(request.user, values)
    return KeyCreatedOut(**_fields(view), key=key)


@post(
    "/api/v1/api-keys/{key_id:int}/revoke",
    tags=["account"],
    summary="Revoke an integration key (at once; revoking it again changes nothing)",
    status_code=200,
    responses=problems(401, 403, 404),
)
async def revoke_key(request: Request[Actor, Any, Any], key_id: KeyId) -> KeyOut:
    return KeyOut(**_fields(await api_keys.revoke_key(request.user, key_id)))


ROUTES = [list_keys, create_key, revoke_key]
