"""Adding a dealer and changing its details (administrators): name, tier, region, contact
phone, default warehouse, active. Its users and addresses are on the dealer's own pages, its
credit on finance's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.domain import dealers
from portal.domain.errors import ValidationFailed, _
from portal.tables import Tier, Warehouse
from portal.web.common import checked, field_errors, flash, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
TEXT = ("code", "name", "region", "contact_phone", "tier", "default_warehouse")


def _id(data: dict[str, Any], name: str) -> int | None:
    """A chosen id, or None; anything but a plain number is -1, which the domain refuses."""
    text = str(data.get(name) or "").strip()[:12]
    if not text:
        return None
    return int(text) if text.isdigit() and int(text) < 2**31 else -1


def _input(data: dict[str, Any]) -> dealers.DealerInput:
    return dealers.DealerInput(
        code=str(data.get("code") or "").strip()[:40],
        name=str(data.get("name") or "")[:200],
        tier_id=_id(data, "tier"),
        region=str(data.get("region") or "")[:100],
        contact_phone=str(data.get("contact_phone") or "")[:64],
        default_warehouse_id=_id(data, "default_warehouse"),
        active=checked(data, "active"),
    )


async def _form(
    request: Request,
    dealer: dict | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    tiers = await Tier.select(Tier.id, Tier.name).order_by(Tier.rank).order_by(Tier.id)
    warehouses = (
        await Warehouse.select(Warehouse.id, Warehouse.name, Warehouse.active)
        .order_by(Warehouse.priority)
        .order_by(Warehouse.code)
    )
    context = {
        "dealer": dealer,
        "values": values,
        "errors": errors or {},
        "tiers": tiers,
        "warehouses": warehouses,
        "show_acting_banner": False,
    }
    return page(request, "admin/dealer_form.html", context, active_tab="dealers", status=status)


def _typed(data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(data.get(k) or "")[:100] for k in TEXT} | {"active": checked(data, "active")}


@get("/admin/dealers/new", include_in_schema=False)
async def new_dealer(request: Request) -> Template:
    await dealers.editable_dealer(request.user, None)  # administrators only
    return await _form(request, None, {"active": True})


@post("/admin/dealers", include_in_schema=False)
async def add_dealer(request: Request, data: Form) -> Response:
    try:
        row = await dealers.save_dealer(
            request.user, None, _input({**data, "active": "1"}), now=datetime.now(UTC)
        )
    except ValidationFailed as exc:
        values = _typed(data) | {"active": True}
        return await _form(request, None, values, field_errors(exc), status=422)
    message = i18n.gettext(
        _("Dealer %(name)s added. Next: its users and addresses; finance sets its credit."),
        name=row["name"],
    )
    return flash(Redirect(f"/dealers/{row['id']}", status_code=303), "ok", [message])


@get("/admin/dealers/{dealer_id:int}", include_in_schema=False)
async def edit_dealer(request: Request, dealer_id: FromPath[int]) -> Template:
    row = await dealers.editable_dealer(request.user, dealer_id)
    values = {
        "name": row["name"],
        "region": row["region"],
        "contact_phone": row["contact_phone"],
        "tier": str(row["tier"]),
        "default_warehouse": str(row["default_warehouse"] or ""),
        "active": bool(row["active"]),
    }
    return await _form(request, row, values)


@post("/admin/dealers/{dealer_id:int}", include_in_schema=False)
async def save_dealer(request: Request, dealer_id: FromPath[int], data: Form) -> Response:
    row = await dealers.editable_dealer(request.user, dealer_id)
    try:
        await dealers.save_dealer(request.user, dealer_id, _input(data), now=datetime.now(UTC))
    except ValidationFailed as exc:
        return await _form(request, row, _typed(data), field_errors(exc), status=422)
    message = i18n.gettext(_("Dealer details saved."))
    return flash(Redirect(f"/dealers/{dealer_id}", status_code=303), "ok", [message])


ROUTES = [new_dealer, add_dealer, edit_dealer, save_dealer]
