"""API: the supplier's settings, kept by administrators."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from litestar import Request, get, put
from litestar.params import JSONBody
from msgspec import Meta, Struct, structs

from portal.api.schemas import In, change_of, kept, problems
from portal.domain import supplier
from portal.domain.scope import Actor


class SettingsIn(In):
    name: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=100,
            description="printed on delivery notes, packing lists and statements",
        ),
    ]
    address: Annotated[str, Meta(max_length=200)] = ""
    phone: Annotated[str, Meta(max_length=40, examples=["0571-8888 6666"])] = ""
    show_stock_numbers: Annotated[
        bool, Meta(description="dealers see how much is available; staff always do")
    ] = False
    auto_receive_days: Annotated[
        int,
        Meta(
            ge=0,
            le=supplier.MAX_AUTO_RECEIVE_DAYS,
            description="a shipment the dealer has not confirmed counts as received this many "
            "days after shipping; 0: never",
        ),
    ] = 7
    credit_tolerance_amount: Annotated[
        str,
        Meta(
            max_length=20,
            examples=["2000.00"],
            description="yuan any dealer's orders may go over its credit limit before they are "
            'refused or wait for finance; "" or "0" for none. The greatest of this, '
            "credit_tolerance_percent and the dealer's own tolerance applies",
        ),
    ] = ""
    credit_tolerance_percent: Annotated[
        str,
        Meta(
            max_length=8,
            examples=["5"],
            description='of each dealer\'s credit limit, 0 to 100 (up to two decimals); "" or '
            '"0" for none',
        ),
    ] = ""


SettingsChangeIn = change_of(SettingsIn, "SettingsChangeIn")


class SettingsOut(Struct):
    name: str
    address: str
    phone: str
    show_stock_numbers: bool
    auto_receive_days: int
    credit_tolerance_amount: Annotated[str, Meta(description='yuan; "" for none')]
    credit_tolerance_percent: Annotated[str, Meta(description='of each limit; "" for none')]
    saved: Annotated[bool, Meta(description="false while the server's configured defaults apply")]


def _out(now: supplier.SupplierSettings) -> SettingsOut:
    return SettingsOut(**asdict(now))


@get(
    "/api/v1/settings",
    tags=["settings"],
    summary="The supplier's settings",
    responses=problems(401, 403),
)
async def get_settings(request: Request[Actor, Any, Any]) -> SettingsOut:
    defaults = request.app.state.supplier_defaults
    return _out(await supplier.for_admin(request.user, defaults))


@put(
    "/api/v1/settings",
    tags=["settings"],
    summary="Change the supplier's settings (audited)",
    description="The fields sent change; a field left out keeps its value.",
    responses=problems(401, 403, 422),
)
async def put_settings(
    request: Request[Actor, Any, Any], data: JSONBody[SettingsChangeIn]
) -> SettingsOut:
    defaults = request.app.state.supplier_defaults
    current = _out(await supplier.for_admin(request.user, defaults))
    values = supplier.SettingsInput(**structs.asdict(kept(data, current, SettingsIn)))
    return _out(await supplier.save(request.user, values, defaults))


ROUTES = [get_settings, put_settings]
