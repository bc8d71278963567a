"""The supplier's settings page for administrators (我的 › 系统设置)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Response, Template

from portal.domain import supplier
from portal.domain.errors import ValidationFailed
from portal.web.common import checked, field_errors, page, whole_number

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
TEXT_FIELDS = ("name", "address", "phone", "credit_tolerance_amount", "credit_tolerance_percent")


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """The form as typed (to show again if refused). Texts are cut well past their limits, so
    an overlong value is refused, not silently shortened."""
    values: dict[str, Any] = {name: str(data.get(name) or "")[:400] for name in TEXT_FIELDS}
    values["show_stock_numbers"] = checked(data, "show_stock_numbers")
    values["auto_receive_days"] = str(data.get("auto_receive_days") or "")[:6]
    return values


def _input(values: dict[str, Any]) -> supplier.SettingsInput:
    return supplier.SettingsInput(
        **{name: values[name] for name in TEXT_FIELDS},
        show_stock_numbers=values["show_stock_numbers"],
        auto_receive_days=whole_number(values, "auto_receive_days"),
    )


def _render(request: Request, values: dict[str, Any], status: int = 200, **extra: Any) -> Template:
    context = {
        "values": values,
        "errors": {},
        "max_days": supplier.MAX_AUTO_RECEIVE_DAYS,
        "show_acting_banner": False,  # not an ordering page
        **extra,
    }
    return page(request, "admin/settings.html", context, active_tab="me", status=status)


@get("/admin/settings", include_in_schema=False)
async def settings_page(request: Request, saved: FromQuery[str | None] = None) -> Template:
    now = await supplier.for_admin(request.user, request.app.state.supplier_defaults)
    return _render(request, asdict(now), saved=saved == "1")


@post("/admin/settings", include_in_schema=False)
async def settings_save(request: Request, data: Form) -> Response:
    defaults = request.app.state.supplier_defaults
    values = _values(data)
    try:
        await supplier.save(request.user, _input(values), defaults)
    except ValidationFailed as exc:
        return _render(request, values, 422, errors=field_errors(exc))
    return Redirect("/admin/settings?saved=1", status_code=303)


ROUTES = [settings_page, settings_save]
