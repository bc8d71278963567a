"""Tiers (价格等级) for administrators: list with dealer counts, add, edit, remove unused."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Response, Template

from portal import i18n
from portal.domain import tiers
from portal.domain.errors import Conflict, ValidationFailed, _
from portal.web.common import done, field_errors, in_use_lines, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
FIELDS = ("code", "name", "rank")


def _input(data: dict[str, Any]) -> tiers.TierInput:
    rank_text = str(data.get("rank") or "0").strip()[:8]
    digits = rank_text.removeprefix("-")
    rank = int(rank_text) if digits.isascii() and digits.isdigit() else 10_000  # refused
    return tiers.TierInput(
        code=str(data.get("code") or "").strip()[:40],
        name=str(data.get("name") or "")[:100],
        rank=rank,
    )


def _values(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(data.get(k) or "")[:100] for k in FIELDS}


async def _page(request: Request, template: str, status: int = 200, **extra: Any) -> Template:
    context = {
        "errors": {},
        "values": {"rank": 0},
        # Not an ordering page: no "order for which dealer?" banner.
        "show_acting_banner": False,
        **extra,
    }
    if template == "admin/tiers.html":
        context["tiers"] = await tiers.list_tiers(request.user)
    else:
        context["in_use"] = in_use_lines(tiers.USES, context["tier"])
    return page(request, template, context, active_tab="me", status=status)


@get("/admin/tiers", include_in_schema=False)
async def tier_list(request: Request) -> Template:
    return await _page(request, "admin/tiers.html")


@post("/admin/tiers", include_in_schema=False)
async def tier_add(request: Request, data: Form) -> Response:
    try:
        await tiers.save_tier(request.user, None, _input(data))
    except ValidationFailed as exc:
        return await _page(
            request, "admin/tiers.html", 422, values=_values(data), errors=field_errors(exc)
        )
    return done("/admin/tiers", _("Tier added."))


@get("/admin/tiers/{tier_id:int}", include_in_schema=False)
async def tier_edit(request: Request, tier_id: FromPath[int]) -> Template:
    row = await tiers.get_tier(request.user, tier_id)
    return await _page(request, "admin/tier_edit.html", tier=row, values=row)


@post("/admin/tiers/{tier_id:int}", include_in_schema=False)
async def tier_save(request: Request, tier_id: FromPath[int], data: Form) -> Response:
    try:
        await tiers.save_tier(request.user, tier_id, _input(data))
    except ValidationFailed as exc:
        row = await tiers.get_tier(request.user, tier_id)  # 404 if unknown
        return await _page(
            request,
            "admin/tier_edit.html",
            422,
            tier=row,
            values=_values(data),
            errors=field_errors(exc),
        )
    return done("/admin/tiers", _("Saved."))


@post("/admin/tiers/{tier_id:int}/delete", include_in_schema=False)
async def tier_delete(request: Request, tier_id: FromPath[int]) -> Response:
    try:
        await tiers.delete_tier(request.user, tier_id)
    except Conflict as exc:
        # Something came to use the tier since the page was shown: say what, on its page.
        row = await tiers.get_tier(request.user, tier_id)
        return await _page(
            request,
            "admin/tier_edit.html",
            409,
            tier=row,
            values=row,
            refusal=i18n.error_message(exc),
        )
    return done("/admin/tiers", _("Tier removed."))


ROUTES = [tier_list, tier_add, tier_edit, tier_save, tier_delete]
