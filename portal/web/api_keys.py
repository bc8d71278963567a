"""Integration keys under 我的 (administrators and dealers' administrators): list, issue (the
key shown once), revoke."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import api_keys
from portal.domain.errors import ValidationFailed
from portal.web.common import field_errors, page, whole_number
from portal.web.me import ROLE_LABELS

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


async def _list_page(
    request: Request,
    status: int = 200,
    values: dict | None = None,
    errors: dict | None = None,
    notice: str = "",
) -> Template:
    actor = request.user
    context = {
        "keys": await api_keys.list_keys(actor),
        "holders": await api_keys.key_holders(actor),
        "role_labels": ROLE_LABELS,
        "values": values or {"days": "365"},
        # A fresh one-time key for the form: sent again (a refresh of the page that shows the
        # new key), it issues nothing more.
        "form_key": (values or {}).get("form_key") or uuid.uuid4().hex,
        "notice": notice,
        "errors": errors or {},
        "max_days": api_keys.MAX_DAYS,
        "show_acting_banner": False,  # not an ordering page
    }
    return page(request, "me/api_keys.html", context, active_tab="me", status=status)


@get("/me/api-keys", include_in_schema=False)
async def keys_page(request: Request) -> Template:
    return await _list_page(request)


@post("/me/api-keys", include_in_schema=False)
async def key_create(request: Request, data: Form) -> Template:
    values = {
        "username": str(data.get("username") or "")[:100],
        "name": str(data.get("name") or "")[:200],
        "days": str(data.get("days") or "")[:6],
        "form_key": str(data.get("form_key") or "")[:100],
    }
    try:
        view, key = await api_keys.create_key(
            request.user,
            api_keys.KeyInput(values["username"], values["name"], whole_number(data, "days")),
            form_key=values["form_key"] or None,
        )
    except ValidationFailed as exc:
        return await _list_page(request, 422, values, field_errors(exc))
    except api_keys.AlreadyIssued as exc:
        return await _list_page(request, 409, notice=i18n.error_message(exc))
    context = {"key": key, "view": view, "show_acting_banner": False}
    response = page(request, "me/api_key_created.html", context, active_tab="me")
    response.headers["Cache-Control"] = "no-store"  # the key must not stay in a cache
    return response


@post("/me/api-keys/{key_id:int}/revoke", include_in_schema=False)
async def key_revoke(request: Request, key_id: FromPath[int]) -> Response:
    await api_keys.revoke_key(request.user, key_id)
    return Redirect("/me/api-keys", status_code=303)


ROUTES = [keys_page, key_create, key_revoke]
