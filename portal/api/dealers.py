"""API: which rep looks after a dealer, and moving it to another (managers, administrators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, put
from litestar.params import JSONBody, PathParameter
from msgspec import Meta, Struct

from portal.api.schemas import problems
from portal.domain import dealers
from portal.domain.scope import Actor, dealer_in_scope
from portal.tables import RepAssignment

DealerId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class Rep(Struct):
    id: int
    name: str


class DealerRepOut(Struct):
    dealer_id: int
    rep: Rep | None
    assignable: Annotated[list[Rep], Meta(description="the reps the caller may choose")]


class DealerRepIn(Struct):
    rep_id: Annotated[
        Annotated[int, Meta(ge=1, le=2**31 - 1)] | None,
        Meta(description="null: no rep (administrators)"),
    ]


async def _out(actor: Actor, dealer_id: int) -> DealerRepOut:
    current = (
        await RepAssignment.select(
            RepAssignment.rep, RepAssignment.rep.display_name.as_alias("name")
        )
        .where(RepAssignment.dealer == dealer_id)
        .first()
    )
    return DealerRepOut(
        dealer_id=dealer_id,
        rep=Rep(id=current["rep"], name=current["name"]) if current else None,
        assignable=[
            Rep(id=r["id"], name=r["display_name"]) for r in await dealers.assignable_reps(actor)
        ],
    )


@get(
    "/api/v1/dealers/{dealer_id:int}/rep",
    tags=["dealers"],
    summary="The dealer's rep, and the reps the caller may move it to",
    responses=problems(401, 404),
)
async def get_dealer_rep(request: Request[Actor, Any, Any], dealer_id: DealerId) -> DealerRepOut:
    await dealer_in_scope(request.user, dealer_id)
    return await _out(request.user, dealer_id)


@put(
    "/api/v1/dealers/{dealer_id:int}/rep",
    tags=["dealers"],
    summary="Move the dealer to another rep (a manager among their reps; an administrator any)",
    description="The dealer leaves the old rep's scope at once. Audited.",
    responses=problems(401, 403, 404, 422),
)
async def set_dealer_rep(
    request: Request[Actor, Any, Any], dealer_id: DealerId, data: JSONBody[DealerRepIn]
) -> DealerRepOut:
    await dealers.reassign(request.user, dealer_id, data.rep_id, now=datetime.now(UTC))
    return await _out(request.user, dealer_id)


ROUTES = [get_dealer_rep, set_dealer_rep]
