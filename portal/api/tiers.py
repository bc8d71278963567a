"""API: tiers (价格等级, the price list a dealer buys at), kept by administrators."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter
from msgspec import Meta, Struct

from portal.api.schemas import In, change_of, kept, problems
from portal.domain import tiers
from portal.domain.scope import Actor

TierId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class TierIn(In):
    code: Annotated[
        str, Meta(min_length=1, max_length=20, examples=["T1"], description="letters, digits, - _")
    ]
    name: Annotated[str, Meta(min_length=1, max_length=50, examples=["一级经销商"])]
    rank: Annotated[int, Meta(ge=-1000, le=1000, description="lower is listed first")] = 0


TierChangeIn = change_of(TierIn, "TierChangeIn")


class TierOut(Struct):
    id: int
    code: str
    name: str
    rank: int
    dealers: Annotated[int, Meta(description="dealers in this tier")]


def _out(row: dict[str, Any]) -> TierOut:
    return TierOut(
        id=row["id"], code=row["code"], name=row["name"], rank=row["rank"], dealers=row["dealers"]
    )


def _input(data: TierIn) -> tiers.TierInput:
    return tiers.TierInput(code=data.code, name=data.name, rank=data.rank)


@get(
    "/api/v1/admin/tiers",
    tags=["dealers"],
    summary="Price tiers, by rank then code",
    responses=problems(401, 403),
)
async def list_tiers(request: Request[Actor, Any, Any]) -> list[TierOut]:
    return [_out(r) for r in await tiers.list_tiers(request.user)]


@post(
    "/api/v1/admin/tiers",
    tags=["dealers"],
    summary="Add a price tier",
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_tier(request: Request[Actor, Any, Any], data: JSONBody[TierIn]) -> TierOut:
    return _out(await tiers.save_tier(request.user, None, _input(data)))


@get(
    "/api/v1/admin/tiers/{tier_id:int}",
    tags=["dealers"],
    summary="A price tier",
    responses=problems(401, 403, 404),
)
async def get_tier(request: Request[Actor, Any, Any], tier_id: TierId) -> TierOut:
    return _out(await tiers.get_tier(request.user, tier_id))


@put(
    "/api/v1/admin/tiers/{tier_id:int}",
    tags=["dealers"],
    summary="Change a price tier (code, name, rank)",
    description="The fields sent change; a field left out keeps its value.",
    responses=problems(401, 403, 404, 422),
)
async def update_tier(
    request: Request[Actor, Any, Any], tier_id: TierId, data: JSONBody[TierChangeIn]
) -> TierOut:
    full = kept(data, _out(await tiers.get_tier(request.user, tier_id)), TierIn)
    return _out(await tiers.save_tier(request.user, tier_id, _input(full)))


@delete(
    "/api/v1/admin/tiers/{tier_id:int}",
    tags=["dealers"],
    summary="Remove a price tier nothing uses (409 says what still uses it)",
    status_code=204,
    responses=problems(401, 403, 404, 409),
)
async def delete_tier(request: Request[Actor, Any, Any], tier_id: TierId) -> None:
    await tiers.delete_tier(request.user, tier_id)


ROUTES = [list_tiers, create_tier, get_tier, update_tier, delete_tier]
