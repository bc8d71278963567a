"""Pages: my password; a dealer's users and ship-to addresses (its administrator, or an
administrator from the dealer's page)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import team
from portal.domain.errors import FieldError, RateLimited, ValidationFailed, _
from portal.web.account import session_cookie
from portal.web.common import checked, clear_flash, field_errors, flash, page, take_flash
from portal.web.me import ROLE_LABELS

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
USER_FIELDS = ("username", "display_name", "role", "phone", "email")
ADDRESS_FIELDS = ("label", "contact", "phone", "line")


def _text(data: dict[str, Any], name: str, limit: int = 300) -> str:
    return str(data.get(name) or "")[:limit]


# --- my password ------------------------------------------------------------------------------


@get("/me/password", include_in_schema=False)
async def password_page(request: Request) -> Template:
    # After a change the POST redirects here with a flash, so a reload re-sends nothing.
    flash_data = take_flash(request)
    context = {"errors": {}, "done": bool(flash_data)}
    response = page(request, "me/password.html", context, active_tab="me")
    return clear_flash(response) if flash_data else response


@post("/me/password", include_in_schema=False)
async def password_change(request: Request, data: Form) -> Response:
    new = _text(data, "new_password")
    try:
        if new != _text(data, "repeat_password"):
            raise ValidationFailed(
                errors=[FieldError("repeat_password", _("The two new passwords differ."))]
            )
        user = await team.change_password(request.user, _text(data, "current_password"), new)
    except ValidationFailed as exc:
        return page(
            request,
            "me/password.html",
            {"errors": field_errors(exc), "done": False},
            active_tab="me",
            status=422,
        )
    except RateLimited as exc:
        response = page(
            request,
            "me/password.html",
            {"errors": {"current_password": i18n.error_message(exc)}, "done": False},
            active_tab="me",
            status=exc.status,
        )
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response
    # Signed out everywhere else; this phone stays signed in with a fresh session.
    response = Redirect("/me/password", status_code=303)
    response.set_cookie(session_cookie(request, user))
    return flash(response, "ok", ["password"])


# --- users ------------------------------------------------------------------------------------


def _user_input(data: dict[str, Any]) -> team.UserInput:
    return team.UserInput(
        display_name=_text(data, "display_name", 200),
        role=_text(data, "role", 20),
        phone=_text(data, "phone", 40).strip(),
        email=_text(data, "email", 300).strip(),
        active=checked(data, "active"),
    )


async def _users_page(
    request: Request,
    dealer_id: int,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> Template:
    dealer = await team.managed_dealer(request.user, dealer_id)
    context = {
        "dealer": dealer,
        "users": await team.list_users(request.user, dealer_id),
        "roles": [(r, ROLE_LABELS[r]) for r in team.DEALER_USER_ROLES],
        "role_labels": ROLE_LABELS,
        "values": values or {"role": "dealer_buyer", "active": True},
        "errors": errors or {},
        "flash": take_flash(request),
    }
    response = page(request, "team/users.html", context, active_tab="me", status=status)
    return clear_flash(response) if context["flash"] else response


@get("/dealers/{dealer_id:int}/users", include_in_schema=False)
async def users_page(request: Request, dealer_id: FromPath[int]) -> Template:
    return await _users_page(request, dealer_id)


@post("/dealers/{dealer_id:int}/users", include_in_schema=False)
async def user_add(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    try:
        await team.create_user(
            request.user,
            dealer_id,
            _text(data, "username", 100).strip(),
            _text(data, "password"),
            _user_input({**data, "active": "1"}),
        )
    except ValidationFailed as exc:
        values = {k: _text(data, k, 300) for k in USER_FIELDS}
        return await _users_page(
            request, dealer_id, values=values, errors=field_errors(exc), status=422
        )
    return _saved(f"/dealers/{dealer_id}/users", _("User added."))


async def _user_page(
    request: Request,
    dealer_id: int,
    user_id: int,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    done: str = "",
    status: int = 200,
) -> Template:
    dealer = await team.managed_dealer(request.user, dealer_id)
    user = await team.get_user(request.user, dealer_id, user_id)
    context = {
        "dealer": dealer,
        "user": user,
        "roles": [(r, ROLE_LABELS[r]) for r in team.DEALER_USER_ROLES],
        "values": values or {**user, "phone": user["phone"] or ""},
        "errors": errors or {},
        "done": done,
    }
    return page(request, "team/user_edit.html", context, active_tab="me", status=status)


@get("/dealers/{dealer_id:int}/users/{user_id:int}", include_in_schema=False)
async def user_page(request: Request, dealer_id: FromPath[int], user_id: FromPath[int]) -> Template:
    return await _user_page(request, dealer_id, user_id)


@post("/dealers/{dealer_id:int}/users/{user_id:int}", include_in_schema=False)
async def user_save(
    request: Request, dealer_id: FromPath[int], user_id: FromPath[int], data: Form
) -> Response:
    try:
        await team.update_user(request.user, dealer_id, user_id, _user_input(data))
    except ValidationFailed as exc:
        values = {k: _text(data, k, 300) for k in USER_FIELDS} | {"active": checked(data, "active")}
        return await _user_page(
            request, dealer_id, user_id, values=values, errors=field_errors(exc), status=422
        )
    return _saved(f"/dealers/{dealer_id}/users", _("Saved."))


@post("/dealers/{dealer_id:int}/users/{user_id:int}/password", include_in_schema=False)
async def user_password(
    request: Request, dealer_id: FromPath[int], user_id: FromPath[int], data: Form
) -> Response:
    try:
        await team.reset_password(request.user, dealer_id, user_id, _text(data, "new_password"))
    except ValidationFailed as exc:
        return await _user_page(request, dealer_id, user_id, errors=field_errors(exc), status=422)
    return await _user_page(request, dealer_id, user_id, done="password")


def _saved(where: str, msgid: str) -> Response:
    """Back to the list after a change, saying what was done (once, after the redirect)."""
    return flash(Redirect(where, status_code=303), "ok", [i18n.gettext(msgid)])


# --- addresses --------------------------------------------------------------------------------


def _address_input(data: dict[str, Any]) -> team.AddressInput:
    return team.AddressInput(
        label=_text(data, "label"),
        contact=_text(data, "contact"),
        phone=_text(data, "phone"),
        line=_text(data, "line", 600),
        is_default=checked(data, "is_default"),
    )


async def _addresses_page(
    request: Request,
    dealer_id: int,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> Template:
    dealer = await team.managed_dealer(request.user, dealer_id)
    context = {
        "dealer": dealer,
        "addresses": await team.list_addresses(request.user, dealer_id),
        "values": values or {},
        "errors": errors or {},
        "flash": take_flash(request),
    }
    response = page(request, "team/addresses.html", context, active_tab="me", status=status)
    return clear_flash(response) if context["flash"] else response


@get("/dealers/{dealer_id:int}/addresses", include_in_schema=False)
async def addresses_page(request: Request, dealer_id: FromPath[int]) -> Template:
    return await _addresses_page(request, dealer_id)


@post("/dealers/{dealer_id:int}/addresses", include_in_schema=False)
async def address_add(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    try:
        await team.save_address(request.user, dealer_id, None, _address_input(data))
    except ValidationFailed as exc:
        values = {k: _text(data, k, 600) for k in ADDRESS_FIELDS}
        return await _addresses_page(
            request, dealer_id, values=values, errors=field_errors(exc), status=422
        )
    return _saved(f"/dealers/{dealer_id}/addresses", _("Address added."))


async def _address_page(
    request: Request,
    dealer_id: int,
    address_id: int,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> Template:
    dealer = await team.managed_dealer(request.user, dealer_id)
    address = await team.get_address(request.user, dealer_id, address_id)
    context = {
        "dealer": dealer,
        "address": address,
        "values": values or address,
        "errors": errors or {},
    }
    return page(request, "team/address_edit.html", context, active_tab="me", status=status)


@get("/dealers/{dealer_id:int}/addresses/{address_id:int}", include_in_schema=False)
async def address_page(
    request: Request, dealer_id: FromPath[int], address_id: FromPath[int]
) -> Template:
    return await _address_page(request, dealer_id, address_id)


@post("/dealers/{dealer_id:int}/addresses/{address_id:int}", include_in_schema=False)
async def address_save(
    request: Request, dealer_id: FromPath[int], address_id: FromPath[int], data: Form
) -> Response:
    try:
        await team.save_address(request.user, dealer_id, address_id, _address_input(data))
    except ValidationFailed as exc:
        values = {k: _text(data, k, 600) for k in ADDRESS_FIELDS} | {
            "is_default": checked(data, "is_default")
        }
        return await _address_page(
            request, dealer_id, address_id, values=values, errors=field_errors(exc), status=422
        )
    return _saved(f"/dealers/{dealer_id}/addresses", _("Saved."))


@post("/dealers/{dealer_id:int}/addresses/{address_id:int}/delete", include_in_schema=False)
async def address_delete(
    request: Request, dealer_id: FromPath[int], address_id: FromPath[int]
) -> Response:
    await team.delete_address(request.user, dealer_id, address_id)
    return _saved(f"/dealers/{dealer_id}/addresses", _("Address removed."))


ROUTES = [
    password_page,
    password_change,
    users_page,
    user_add,
    user_page,
    user_save,
    user_password,
    addresses_page,
    address_add,
    address_page,
    address_save,
    address_delete,
]
