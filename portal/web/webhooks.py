"""Webhook endpoints for administrators: list, add, edit, new secret, and each endpoint's
deliveries with a button to send one again."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal import webhooks as sender
from portal.domain import webhooks
from portal.domain.errors import ValidationFailed, _
from portal.web.common import checked, clear_flash, done, field_errors, flash, page, take_flash

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _context(**extra: Any) -> dict:
    return {
        "event_types": list(webhooks.EVENT_TYPES.items()),
        "status_labels": webhooks.STATUS_LABELS,
        "example_url": webhooks.EXAMPLE_URL,
        "values": {"url": "", "description": "", "events": [], "active": True},
        "errors": {},
        "show_acting_banner": False,
        **extra,
    }


def _events(data: dict[str, Any]) -> tuple[str, ...]:
    raw = data.get("events") or []
    values = [raw] if isinstance(raw, str) else list(raw)
    return tuple(str(v)[:40] for v in values[: len(webhooks.EVENT_TYPES) + 1])


def _input(data: dict[str, Any]) -> webhooks.EndpointInput:
    return webhooks.EndpointInput(
        url=str(data.get("url") or "")[: webhooks.URL_MAX + 1],
        description=str(data.get("description") or "")[: webhooks.DESCRIPTION_MAX + 1],
        events=_events(data),
        active=checked(data, "active"),
    )


def _shown(values: webhooks.EndpointInput) -> dict:
    return {
        "url": values.url,
        "description": values.description,
        "events": list(values.events),
        "active": values.active,
    }


@get("/admin/webhooks", include_in_schema=False)
async def webhook_list(request: Request) -> Template:
    endpoints = await webhooks.list_endpoints(request.user)
    return page(request, "admin/webhooks.html", _context(endpoints=endpoints), active_tab="me")


@post("/admin/webhooks", include_in_schema=False)
async def webhook_add(request: Request, data: Form) -> Response:
    values = _input(data)
    try:
        saved = await webhooks.save_endpoint(request.user, None, values)
    except ValidationFailed as exc:
        endpoints = await webhooks.list_endpoints(request.user)
        context = _context(endpoints=endpoints, values=_shown(values), errors=field_errors(exc))
        return page(request, "admin/webhooks.html", context, active_tab="me", status=422)
    # The secret is shown on this answer only: it is not kept anywhere it could be shown again.
    context = _context(endpoint=saved.endpoint, secret=saved.secret, created=True)
    return page(request, "admin/webhook_secret.html", context, active_tab="me", status=201)


async def _edit_page(
    request: Request, endpoint_id: int, status: int = 200, **extra: Any
) -> Template:
    endpoint = await webhooks.get_endpoint(request.user, endpoint_id)
    shown = extra.pop("values", None) or {
        "url": endpoint["url"],
        "description": endpoint["description"],
        "events": endpoint["events"],
        "active": endpoint["active"],
    }
    context = _context(
        endpoint=endpoint,
        values=shown,
        deliveries=await webhooks.list_deliveries(request.user, endpoint_id),
        **extra,
    )
    return page(request, "admin/webhook_edit.html", context, active_tab="me", status=status)


@get("/admin/webhooks/{endpoint_id:int}", include_in_schema=False)
async def webhook_edit(request: Request, endpoint_id: FromPath[int]) -> Template:
    flash_data = take_flash(request)
    response = await _edit_page(request, endpoint_id, flash=flash_data)
    return clear_flash(response) if flash_data else response


@post("/admin/webhooks/{endpoint_id:int}", include_in_schema=False)
async def webhook_save(request: Request, endpoint_id: FromPath[int], data: Form) -> Response:
    values = _input(data)
    try:
        await webhooks.save_endpoint(request.user, endpoint_id, values)
    except ValidationFailed as exc:
        return await _edit_page(
            request, endpoint_id, status=422, values=_shown(values), errors=field_errors(exc)
        )
    response = Redirect(f"/admin/webhooks/{endpoint_id}", status_code=303)
    return flash(response, "ok", [i18n.gettext("Saved.")])


@post("/admin/webhooks/{endpoint_id:int}/secret", include_in_schema=False)
async def webhook_secret(request: Request, endpoint_id: FromPath[int]) -> Template:
    secret = await webhooks.rotate_secret(request.user, endpoint_id)
    endpoint = await webhooks.get_endpoint(request.user, endpoint_id)
    context = _context(endpoint=endpoint, secret=secret, created=False)
    return page(request, "admin/webhook_secret.html", context, active_tab="me")


@post("/admin/webhooks/{endpoint_id:int}/test", include_in_schema=False)
async def webhook_test(request: Request, endpoint_id: FromPath[int]) -> Response:
    sent = await sender.send_test(request.user, endpoint_id)
    response = Redirect(f"/admin/webhooks/{endpoint_id}", status_code=303)
    if sent.delivered:
        message = i18n.gettext("The test arrived: HTTP %(status)s.", status=sent.status)
        return flash(response, "ok", [message])
    message = i18n.gettext("The test did not arrive: %(error)s", error=sent.error)
    return flash(response, "error", [message])


@post("/admin/webhooks/{endpoint_id:int}/delete", include_in_schema=False)
async def webhook_delete(request: Request, endpoint_id: FromPath[int]) -> Response:
    await webhooks.delete_endpoint(request.user, endpoint_id)
    return done("/admin/webhooks", _("Webhook removed."))


@post("/admin/webhooks/deliveries/{delivery_id:int}/retry", include_in_schema=False)
async def delivery_retry(request: Request, delivery_id: FromPath[int]) -> Response:
    row = await webhooks.retry_delivery(request.user, delivery_id)
    response = Redirect(f"/admin/webhooks/{row['endpoint']}", status_code=303)
    return flash(response, "ok", [i18n.gettext("It will be sent again within a few seconds.")])


ROUTES = [
    webhook_list,
    webhook_add,
    webhook_edit,
    webhook_save,
    webhook_secret,
    webhook_test,
    webhook_delete,
    delivery_retry,
]
