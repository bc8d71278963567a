"""API: the supplier's staff, kept by administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, get, post, put
from litestar.params import JSONBody, PathParameter
from msgspec import UNSET, Meta, Struct, UnsetType

from portal.api.schemas import In, problems
from portal.domain import staff
from portal.domain.scope import Actor

UserId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
Role = Literal["sales_rep", "sales_manager", "finance", "warehouse", "admin"]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
Authority = Annotated[int, Meta(ge=0, le=staff.MAX_AUTHORITY_BP, description="basis points")]
ManagerId = Annotated[int, Meta(ge=1, le=2**31 - 1)]


class StaffIn(In):
    display_name: Name
    role: Role
    phone: Annotated[str, Meta(max_length=32)] = ""
    email: Annotated[str, Meta(max_length=255)] = ""
    active: bool = True
    manager_id: Annotated[ManagerId | None, Meta(description="a rep's sales manager")] = None
    discount_authority_bp: Authority = 0
    warehouse_ids: Annotated[
        list[Annotated[int, Meta(ge=1, le=2**31 - 1)]],
        Meta(
            max_length=100,
            description="warehouse staff: the warehouses they ship from and keep stock in "
            "(they see those only); empty: every warehouse. Ignored for other roles",
        ),
    ] = []


class StaffChangeIn(In):
    """A change of a staff user: the fields sent change, a field left out keeps its value (a
    new phone number does not take a rep's manager away)."""

    display_name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    phone: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    email: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    manager_id: Annotated[
        ManagerId | None | UnsetType, Meta(description="a rep's sales manager")
    ] = UNSET
    discount_authority_bp: Authority | UnsetType = UNSET
    warehouse_ids: (
        Annotated[list[Annotated[int, Meta(ge=1, le=2**31 - 1)]], Meta(max_length=100)] | UnsetType
    ) = UNSET


class NewStaffIn(StaffIn):
    username: Annotated[str, Meta(min_length=1, max_length=64)] = ""
    password: Annotated[str, Meta(min_length=1, max_length=200)] = ""


class PasswordIn(In):
    new_password: Annotated[str, Meta(min_length=1, max_length=200)]


class StaffOut(Struct):
    id: int
    username: str
    display_name: str
    role: str
    phone: str
    email: str
    active: bool
    manager_id: int | None
    discount_authority_bp: int
    warehouse_ids: list[int]
    created_at: datetime


def _out(row: dict[str, Any]) -> StaffOut:
    return StaffOut(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        phone=row["phone"],
        email=row["email"] or "",
        active=row["active"],
        manager_id=row["manager"],
        discount_authority_bp=row["discount_authority_bp"],
        warehouse_ids=row["warehouse_ids"],
        created_at=row["created_at"],
    )


def _input(data: StaffIn) -> staff.StaffInput:
    return staff.StaffInput(
        display_name=data.display_name,
        role=data.role,
        phone=data.phone.strip(),
        email=data.email.strip(),
        active=data.active,
        manager_id=data.manager_id,
        discount_authority_bp=data.discount_authority_bp,
        warehouse_ids=tuple(data.warehouse_ids),
    )


@get("/api/v1/staff", tags=["staff"], summary="The supplier's staff", responses=problems(401, 403))
async def list_staff(request: Request[Actor, Any, Any]) -> list[StaffOut]:
    return [_out(r) for r in await staff.list_staff(request.user)]


@post(
    "/api/v1/staff",
    tags=["staff"],
    summary="Add a staff user with a first password",
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_staff(request: Request[Actor, Any, Any], data: JSONBody[NewStaffIn]) -> StaffOut:
    row = await staff.create_staff(request.user, data.username, data.password, _input(data))
    return _out(row)


@get(
    "/api/v1/staff/{user_id:int}",
    tags=["staff"],
    summary="A staff user",
    responses=problems(401, 403, 404),
)
async def get_staff(request: Request[Actor, Any, Any], user_id: UserId) -> StaffOut:
    return _out(await staff.get_staff(request.user, user_id))


@put(
    "/api/v1/staff/{user_id:int}",
    tags=["staff"],
    summary="Change a staff user's name, role, manager, discount authority, contact or active "
    "flag (a role or manager change or a deactivation ends their sessions)",
    description="The fields sent change; a field left out keeps its value.",
    responses=problems(401, 403, 404, 422),
)
async def update_staff(
    request: Request[Actor, Any, Any], user_id: UserId, data: JSONBody[StaffChangeIn]
) -> StaffOut:
    current = await staff.get_staff(request.user, user_id)

    def kept(value: Any, key: str) -> Any:
        return current[key] if value is UNSET else value

    change = staff.StaffInput(
        display_name=kept(data.display_name, "display_name"),
        role=kept(data.role, "role"),
        phone=(kept(data.phone, "phone") or "").strip(),
        email=(kept(data.email, "email") or "").strip(),
        active=kept(data.active, "active"),
        manager_id=kept(data.manager_id, "manager"),
        discount_authority_bp=kept(data.discount_authority_bp, "discount_authority_bp"),
        warehouse_ids=tuple(kept(data.warehouse_ids, "warehouse_ids")),
    )
    return _out(await staff.update_staff(request.user, user_id, change))


@post(
    "/api/v1/staff/{user_id:int}/password",
    tags=["staff"],
    summary="Set a staff user's password; their sessions end",
    status_code=204,
    responses=problems(401, 403, 404, 422),
)
async def reset_staff_password(
    request: Request[Actor, Any, Any], user_id: UserId, data: JSONBody[PasswordIn]
) -> None:
    await staff.reset_staff_password(request.user, user_id, data.new_password)


ROUTES = [list_staff, create_staff, get_staff, update_staff, reset_staff_password]
