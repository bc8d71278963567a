"""API: sales reports and the overview (reps, managers, finance, administrators), scoped
to the caller's dealers like the pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter
from msgspec import Meta, Struct

from portal.api.schemas import Money, money, problems
from portal.domain import reports
from portal.domain.scope import Actor

GroupBy = Literal["day", "month", "dealer", "product", "category", "region", "rep"]
Preset = Literal["this_month", "last_month", "last_30", "this_year"]
DateText = Annotated[str | None, QueryParameter(max_length=10, description="YYYY-MM-DD")]
PERIOD = (
    "The period is `start`..`end` (Shanghai dates, both included), or a `preset` (this month "
    "by default); an `end` alone starts on the first of its month, a `start` alone runs to "
    "today. Sales are orders approved or beyond, on the date they were placed; a rep's are "
    "the orders placed while they looked after the dealer, a manager's their team's."
)


TOP_EXPOSURES = 10


class SalesRow(Struct):
    key: Annotated[
        str,
        Meta(
            description="the day, month, or the id of the dealer, SKU, "
            "top-level category or rep; '' for none"
        ),
    ]
    label: str
    detail: str
    orders: int
    amount: Money
    qty: Annotated[
        int | None,
        Meta(
            description="products, and top-level categories sold in one unit only "
            "(null where the units differ: 支 and 瓶 do not add up)"
        ),
    ] = None
    unit: str = ""


class SalesReport(Struct):
    start: date
    end: date
    by: str
    total: Money
    rows: list[SalesRow]


class ExposureRow(Struct):
    dealer_id: int
    name: str
    code: str
    credit_limit: Money
    exposure: Money
    available: Money
    active: Annotated[
        bool,
        Meta(description="false: deactivated, listed while it owes money or has open orders"),
    ] = True


class SafetyRow(Struct):
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    available: int
    safety_stock: int


class OverviewReport(Struct):
    start: date
    end: date
    sales: Money
    orders: int
    average_order: Money
    previous_sales: Money
    previous_orders: int
    awaiting_approval_orders: int
    awaiting_approval: Money
    to_ship_orders: Annotated[int, Meta(description="approved or partially shipped")]
    to_ship: Annotated[Money, Meta(description="what those orders have not shipped yet")]
    partially_shipped_orders: Annotated[int, Meta(description="of to_ship_orders")]
    partially_shipped: Annotated[Money, Meta(description="of to_ship: their part to ship")]
    returns: Annotated[int, Meta(description="returns credited to dealers in the period")]
    returned: Annotated[Money, Meta(description="their credit notes' total")]
    net_sales: Annotated[Money, Meta(description="sales less returned")]
    exposure: Money
    credit_limits: Money
    dealers_over_limit: int
    top_exposures: list[ExposureRow]
    under_safety_stock: Annotated[
        int, Meta(description="active SKUs whose available stock is below their safety stock")
    ]
    furthest_under_safety: Annotated[
        list[SafetyRow], Meta(description="those furthest under it (empty shelves first)")
    ]


def _period(start: str | None, end: str | None, preset: str | None) -> reports.Period:
    period, _name = reports.parse_period(start, end, preset, today=reports.today_in_shanghai())
    return period


@get(
    "/api/v1/reports/sales",
    tags=["reports"],
    summary="Sales grouped by day, month, dealer, product, category, region or rep",
    description=PERIOD,
    responses=problems(401, 403, 422),
)
async def sales_report(
    request: Request[Actor, Any, Any],
    by: FromQuery[GroupBy] = "dealer",
    start: DateText = None,
    end: DateText = None,
    preset: FromQuery[Preset | None] = None,
) -> SalesReport:
    period = _period(start, end, preset)
    rows = await reports.sales(request.user, period, by)
    return SalesReport(
        start=period.start,
        end=period.end,
        by=by,
        total=money(sum(r.amount_fen for r in rows)),
        rows=[
            SalesRow(
                key=r.key,
                label=r.label,
                detail=r.detail,
                orders=r.orders,
                amount=money(r.amount_fen),
                qty=r.qty,
                unit=r.unit,
            )
            for r in rows
        ],
    )


@get(
    "/api/v1/reports/overview",
    tags=["reports"],
    summary="Sales against the period before, what waits for action, credit exposure",
    description=PERIOD,
    responses=problems(401, 403, 422),
)
async def overview_report(
    request: Request[Actor, Any, Any],
    start: DateText = None,
    end: DateText = None,
    preset: FromQuery[Preset | None] = None,
) -> OverviewReport:
    period = _period(start, end, preset)
    o = await reports.overview(request.user, period)
    return OverviewReport(
        start=period.start,
        end=period.end,
        sales=money(o.amount_fen),
        orders=o.orders,
        average_order=money(o.average_fen),
        previous_sales=money(o.previous_amount_fen),
        previous_orders=o.previous_orders,
        awaiting_approval_orders=o.waiting_orders,
        awaiting_approval=money(o.waiting_fen),
        to_ship_orders=o.to_ship_orders,
        to_ship=money(o.to_ship_fen),
        partially_shipped_orders=o.partly_shipped_orders,
        partially_shipped=money(o.partly_shipped_fen),
        returns=o.returns,
        returned=money(o.returned_fen),
        net_sales=money(o.net_fen),
        exposure=money(o.exposure_fen),
        credit_limits=money(o.credit_limit_fen),
        dealers_over_limit=o.over_limit_dealers,
        top_exposures=[
            ExposureRow(
                dealer_id=e.dealer_id,
                name=e.name,
                code=e.code,
                credit_limit=money(e.credit_limit_fen),
                exposure=money(e.exposure_fen),
                available=money(e.available_fen),
                active=e.active,
            )
            for e in o.exposures[:TOP_EXPOSURES]
        ],
        under_safety_stock=o.under_safety,
        furthest_under_safety=[
            SafetyRow(
                sku_id=level.sku_id,
                sku_code=level.sku_code,
                sku_name=level.sku_name,
                unit=level.unit,
                available=level.available,
                safety_stock=level.safety_stock,
            )
            for level in o.under_safety_top
        ],
    )


ROUTES = [sales_report, overview_report]
