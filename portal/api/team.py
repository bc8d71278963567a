"""API: a dealer's users and ship-to addresses (its administrator, or an administrator), and
the caller's own password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter
from msgspec import Meta, Struct

from portal.api.schemas import Id, In, OptionalIdempotencyKey, change_of, kept, problems
from portal.domain import team
from portal.domain.scope import Actor

DealerId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
ObjectId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
Phone = Annotated[str, Meta(max_length=32, description="digits, spaces, dashes, a leading +")]
Email = Annotated[str, Meta(max_length=255)]
Password = Annotated[str, Meta(min_length=1, max_length=200)]
Role = Literal["dealer_buyer", "dealer_admin"]


class PasswordChangeIn(In):
    current_password: Password
    new_password: Annotated[str, Meta(min_length=1, max_length=200, description="8+ characters")]


class DealerUserIn(In):
    display_name: Name
    role: Role
    phone: Phone = ""
    email: Email = ""
    active: bool = True


DealerUserChangeIn = change_of(DealerUserIn, "DealerUserChangeIn")


class NewDealerUserIn(In):
    username: Annotated[str, Meta(min_length=1, max_length=64, examples=["zhang.san"])]
    password: Annotated[
        str, Meta(min_length=1, max_length=200, description="first password, 8+ characters")
    ]
    display_name: Name
    role: Role
    phone: Phone = ""
    email: Email = ""
    active: bool = True


class PasswordResetIn(In):
    new_password: Annotated[str, Meta(min_length=1, max_length=200, description="8+ characters")]


class DealerUserOut(Struct):
    id: int
    username: str
    display_name: str
    role: str
    phone: str
    email: str
    active: bool
    created_at: datetime


class AddressIn(In):
    contact: Annotated[str, Meta(min_length=1, max_length=50)]
    phone: Annotated[str, Meta(min_length=1, max_length=32)]
    line: Annotated[str, Meta(min_length=1, max_length=255, description="the full address")]
    label: Annotated[str, Meta(max_length=50, examples=["总仓"])] = ""
    is_default: bool = False


AddressChangeIn = change_of(AddressIn, "AddressChangeIn")


class AddressOut(Struct):
    id: Id
    label: str
    contact: str
    phone: str
    line: str
    is_default: bool


def user_out(row: dict[str, Any]) -> DealerUserOut:
    return DealerUserOut(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        phone=row["phone"] or "",
        email=row["email"] or "",
        active=bool(row["active"]),
        created_at=row["created_at"],
    )


def address_out(row: dict[str, Any]) -> AddressOut:
    return AddressOut(
        id=row["id"],
        label=row["label"],
        contact=row["contact"],
        phone=row["phone"],
        line=row["line"],
        is_default=bool(row["is_default"]),
    )


def _user_input(data: DealerUserIn | NewDealerUserIn) -> team.UserInput:
    return team.UserInput(
        display_name=data.display_name,
        role=data.role,
        phone=data.phone.strip(),
        email=data.email.strip(),
        active=data.active,
    )


def _address_input(data: AddressIn) -> team.AddressInput:
    return team.AddressInput(
        label=data.label,
        contact=data.contact,
        phone=data.phone,
        line=data.line,
        is_default=data.is_default,
    )


@post(
    "/api/v1/me/password",
    tags=["account"],
    summary="Change your own password",
    description=(
        "Every token issued so far stops working, this one included: get a new one. Wrong "
        "current passwords count against the account's sign-in limit: past it, 429 with "
        "Retry-After. An integration key cannot change its user's password: 403."
    ),
    status_code=204,
    responses=problems(401, 403, 422, 429),
)
async def change_password(
    request: Request[Actor, Any, Any], data: JSONBody[PasswordChangeIn]
) -> None:
    await team.change_password(request.user, data.current_password, data.new_password)


@get(
    "/api/v1/dealers/{dealer_id:int}/users",
    tags=["account"],
    summary="A dealer's users (its administrator, or an administrator)",
    responses=problems(401, 403, 404),
)
async def list_users(request: Request[Actor, Any, Any], dealer_id: DealerId) -> list[DealerUserOut]:
    return [user_out(u) for u in await team.list_users(request.user, dealer_id)]


@post(
    "/api/v1/dealers/{dealer_id:int}/users",
    tags=["account"],
    summary="Add a user to a dealer",
    description="The username is unique: a retry of a request that went through answers 422 "
    "with the username taken.",
    status_code=201,
    responses=problems(401, 403, 404, 422),
)
async def create_user(
    request: Request[Actor, Any, Any], dealer_id: DealerId, data: JSONBody[NewDealerUserIn]
) -> DealerUserOut:
    row = await team.create_user(
        request.user, dealer_id, data.username, data.password, _user_input(data)
    )
    return user_out(row)


@put(
    "/api/v1/dealers/{dealer_id:int}/users/{user_id:int}",
    tags=["account"],
    summary="Change a dealer user's name, role, phone, email or active flag",
    description="The fields sent change; a field left out keeps its value. A role change or "
    "deactivation ends the user's sessions. The dealer keeps at least one active dealer "
    "administrator.",
    responses=problems(401, 403, 404, 422),
)
async def update_user(
    request: Request[Actor, Any, Any],
    dealer_id: DealerId,
    user_id: ObjectId,
    data: JSONBody[DealerUserChangeIn],
) -> DealerUserOut:
    current = user_out(await team.get_user(request.user, dealer_id, user_id))
    full = kept(data, current, DealerUserIn)
    return user_out(await team.update_user(request.user, dealer_id, user_id, _user_input(full)))


@post(
    "/api/v1/dealers/{dealer_id:int}/users/{user_id:int}/password",
    tags=["account"],
    summary="Set a dealer user's password (they forgot theirs); their sessions end",
    status_code=204,
    responses=problems(401, 403, 404, 422),
)
async def reset_password(
    request: Request[Actor, Any, Any],
    dealer_id: DealerId,
    user_id: ObjectId,
    data: JSONBody[PasswordResetIn],
) -> None:
    await team.reset_password(request.user, dealer_id, user_id, data.new_password)


@get(
    "/api/v1/dealers/{dealer_id:int}/addresses",
    tags=["account"],
    summary="A dealer's ship-to addresses, the default first",
    responses=problems(401, 404),
)
async def list_addresses(
    request: Request[Actor, Any, Any], dealer_id: DealerId
) -> list[AddressOut]:
    return [address_out(a) for a in await team.list_addresses(request.user, dealer_id)]


@post(
    "/api/v1/dealers/{dealer_id:int}/addresses",
    tags=["account"],
    summary="Add a ship-to address (the dealer's first is its default)",
    description=(
        "With an Idempotency-Key, a retry with the same key and body returns the address "
        "the first request added (200) instead of adding a second; the same key with another "
        "body is 409."
    ),
    status_code=201,
    responses={
        200: ResponseSpec(data_container=AddressOut, description="Replay"),
        **problems(400, 401, 403, 404, 409, 422),
    },
)
async def create_address(
    request: Request[Actor, Any, Any],
    dealer_id: DealerId,
    data: JSONBody[AddressIn],
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response[AddressOut]:
    row, replayed = await team.add_address_once(
        request.user, dealer_id, _address_input(data), idempotency_key
    )
    return Response(address_out(row), status_code=200 if replayed else 201)


@put(
    "/api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}",
    tags=["account"],
    summary="Change a ship-to address, or make it the default",
    description="The fields sent change; a field left out keeps its value.",
    responses=problems(401, 403, 404, 422),
)
async def update_address(
    request: Request[Actor, Any, Any],
    dealer_id: DealerId,
    address_id: ObjectId,
    data: JSONBody[AddressChangeIn],
) -> AddressOut:
    current = address_out(await team.get_address(request.user, dealer_id, address_id))
    full = kept(data, current, AddressIn)
    row = await team.save_address(request.user, dealer_id, address_id, _address_input(full))
    return address_out(row)


@delete(
    "/api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}",
    tags=["account"],
    summary="Remove a ship-to address",
    description="Placed orders keep their ship-to text; carts that chose it fall back to the "
    "default. Removing the default makes the oldest remaining address the default.",
    status_code=204,
    responses=problems(401, 403, 404),
)
async def delete_address(
    request: Request[Actor, Any, Any], dealer_id: DealerId, address_id: ObjectId
) -> None:
    await team.delete_address(request.user, dealer_id, address_id)


ROUTES = [
    change_password,
    list_users,
    create_user,
    update_user,
    reset_password,
    list_addresses,
    create_address,
    update_address,
    delete_address,
]
