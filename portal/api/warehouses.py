"""API: warehouses, kept by administrators."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post, put
from litestar.params import JSONBody, PathParameter
from msgspec import Meta, Struct

from portal.api.schemas import In, change_of, kept, problems
from portal.domain import warehouses
from portal.domain.scope import Actor

WarehouseId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class WarehouseIn(In):
    code: Annotated[str, Meta(min_length=1, max_length=20, examples=["WH-SH"])]
    name: Annotated[str, Meta(min_length=1, max_length=50)]
    region: Annotated[str, Meta(max_length=50)] = ""
    priority: Annotated[int, Meta(ge=-1000, le=1000, description="lower is used first")] = 0
    active: bool = True


WarehouseChangeIn = change_of(WarehouseIn, "WarehouseChangeIn")


class WarehouseOut(Struct):
    id: int
    code: str
    name: str
    region: str
    priority: int
    active: bool


def _out(row: dict[str, Any]) -> WarehouseOut:
    return WarehouseOut(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        region=row["region"],
        priority=row["priority"],
        active=row["active"],
    )


def _input(data: WarehouseIn) -> warehouses.WarehouseInput:
    return warehouses.WarehouseInput(
        code=data.code,
        name=data.name,
        region=data.region,
        priority=data.priority,
        active=data.active,
    )


@get(
    "/api/v1/warehouses",
    tags=["stock"],
    summary="Warehouses (staff; a warehouse user kept to some: theirs)",
    responses=problems(401, 403),
)
async def list_warehouses(request: Request[Actor, Any, Any]) -> list[WarehouseOut]:
    return [_out(r) for r in await warehouses.list_warehouses(request.user)]


@post(
    "/api/v1/warehouses",
    tags=["stock"],
    summary="Add a warehouse",
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_warehouse(
    request: Request[Actor, Any, Any], data: JSONBody[WarehouseIn]
) -> WarehouseOut:
    return _out(await warehouses.save_warehouse(request.user, None, _input(data)))


@get(
    "/api/v1/warehouses/{warehouse_id:int}",
    tags=["stock"],
    summary="A warehouse",
    responses=problems(401, 403, 404),
)
async def get_warehouse(
    request: Request[Actor, Any, Any], warehouse_id: WarehouseId
) -> WarehouseOut:
    return _out(await warehouses.get_warehouse(request.user, warehouse_id))


@put(
    "/api/v1/warehouses/{warehouse_id:int}",
    tags=["stock"],
    summary="Change a warehouse (an inactive one keeps its stock; new orders skip it)",
    description="The fields sent change; a field left out keeps its value.",
    responses=problems(401, 403, 404, 422),
)
async def update_warehouse(
    request: Request[Actor, Any, Any],
    warehouse_id: WarehouseId,
    data: JSONBody[WarehouseChangeIn],
) -> WarehouseOut:
    current = _out(await warehouses.get_warehouse(request.user, warehouse_id))
    full = kept(data, current, WarehouseIn)
    return _out(await warehouses.save_warehouse(request.user, warehouse_id, _input(full)))


ROUTES = [list_warehouses, create_warehouse, get_warehouse, update_warehouse]
