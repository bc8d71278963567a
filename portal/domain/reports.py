"""Reports for staff: sales by period, dealer, product, category, region and rep; what waits
for action; credit exposure. Finance and administrators see everything.

Whose figures: a rep's sales are the orders of which they were the account rep when the
order was placed (sales_order.account_rep), a manager's those of the reps who report to
them, whoever looks after the dealer now: a dealer handed to another rep leaves its past
sales with the first, and the second never reads them. Returns follow the sales they came
from. What waits for action and credit exposure are about the dealers the reader looks
after now (the orders list and the dealer cards show the same).

Sales are orders that went through (approved, partially shipped, shipped, completed),
counted on the Shanghai date they were placed, at their order-line totals; orders waiting
for approval are shown apart, and rejected or cancelled ones are not sales. Returns are
counted when credited, in the overview beside the sales (net sales = sales - returns). A product is
counted under its category's top-level category.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from portal.db import current_engine, is_sqlite
from portal.domain import credit, safety_stock
from portal.domain.catalog import category_lineage
from portal.domain.errors import FieldError, Forbidden, ValidationFailed, _
from portal.domain.ledger import SHANGHAI
from portal.domain.orders import RULE_GIFT
from portal.domain.scope import Actor, visible_dealer_ids
from portal.tables import Order

REPORT_ROLES = frozenset({"sales_rep", "sales_manager", "finance", "admin"})
SOLD = ("approved", "partially_shipped", "shipped", "completed")
SAFETY_TOP = 5  # the SKUs furthest under their safety stock the overview names
GROUPS = ("day", "month", "dealer", "product", "category", "region", "rep")
GROUP_LABELS = {
    "day": _("Sales by day"),
    "month": _("Sales by month"),
    "dealer": _("Sales by dealer"),
    "product": _("Sales by product"),
    "category": _("Sales by category"),
    "region": _("Sales by region"),
    "rep": _("Sales by rep"),
}
PRESETS = {
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "last_30": _("Last 30 days"),
    "this_year": _("This year"),
}
MAX_DAYS = 3 * 366
DAILY_UP_TO_DAYS = 62  # a longer period is shown by month
# How a row without a region or rep (label "") is shown.
NONE_LABELS = {"region": _("No region"), "rep": _("No rep")}


def require_reports(actor: Actor) -> None:
    if actor.role not in REPORT_ROLES:
        raise Forbidden(_("Your role has no reports."))


# --- the period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """[from, to) in UTC: Shanghai midnight of the first day to that after the last."""
        first = datetime.combine(self.start, time(), SHANGHAI)
        after = datetime.combine(self.end + timedelta(days=1), time(), SHANGHAI)
        return first.astimezone(UTC), after.astimezone(UTC)

    def previous(self) -> Period:
        """The period of the same length just before (to compare with)."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def series(self) -> str:
        return "day" if self.days <= DAILY_UP_TO_DAYS else "month"


def today_in_shanghai(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


def preset_period(preset: str, today: date) -> Period:
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if preset == "last_30":
        return Period(today - timedelta(days=29), today)
    if preset == "this_year":
        return Period(today.replace(month=1, day=1), today)
    return Period(today.replace(day=1), today)  # this_month


def _parse_date(raw: str, name: str, errors: list[FieldError]) -> date | None:
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        errors.append(FieldError(name, _("Enter a date such as 2026-11-25.")))
        return None


def parse_period(
    start: str | None, end: str | None, preset: str | None, *, today: date
) -> tuple[Period, str]:
    """The period asked for and its preset name ("" for custom dates). Dates win over a
    preset; an unknown preset is this month. One date alone: an end alone starts on the
    first of its month; a start alone runs to today (to the end of its month when it is
    still to come). Bad dates are a ValidationFailed."""
    start, end = (start or "").strip(), (end or "").strip()
    if not start and not end:
        name = preset if preset in PRESETS else "this_month"
        return preset_period(name, today), name
    errors: list[FieldError] = []
    first = _parse_date(start, "start", errors) if start else None
    last = _parse_date(end, "end", errors) if end else None
    if errors:
        raise ValidationFailed(errors=errors)
    if first is None:
        assert last is not None
        first = last.replace(day=1)
    elif last is None:
        month_end = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        last = today if first <= today else month_end
    if last < first:
        raise ValidationFailed(errors=[FieldError("end", _("The end is before the start."))])
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            errors=[FieldError("start", _("Choose at most %(n)s days."), {"n": MAX_DAYS})]
        )
    return Period(first, last), ""


# --- sales --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    orders: int
    amount_fen: int
    # Products, and categories sold in one unit only (None where units differ): base units.
    qty: int | None = None
    unit: str = ""
    share: float = 0.0  # of the largest row, for the bar (0..1)
    detail: str = ""  # a product's or dealer's code


def _local_day_sql() -> str:
    if is_sqlite(current_engine()):
        return "date(o.created_at, '+8 hours')"  # Shanghai has no daylight saving
    return "to_char(o.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class Scope:
    """What a report covers, read once per report.

    `ids`: the dealers the reader looks after now (None: every dealer), for what waits on
    them and their credit. `rep` / `team_of`: whose sales are the reader's, by the order's
    account rep (a rep's own; a manager's team, the reps whose manager they are); neither:
    every order."""

    ids: list[int] | None
    rep: int | None = None
    team_of: int | None = None

    @property
    def empty(self) -> bool:
        return self.ids == []

    @property
    def args(self) -> list[int]:
        return list(self.ids or [])

    def sql(self, column: str = "o.dealer") -> str:
        """ " AND <column> IN (...)" (nothing for every dealer), with `args` as its values."""
        if self.ids is None:
            return ""
        if not self.ids:
            return " AND 1 = 0"
        return f" AND {column} IN (" + ", ".join("{}" for _ in self.ids) + ")"

    def sold_by(self, column: str = "o.account_rep") -> str:
        """ " AND <column> is the reader or their team" (nothing for everyone's sales), with
        `sold_by_args` as its values; `column` holds an order's account rep."""
        if self.rep is not None:
            return f" AND {column} = {{}}"
        if self.team_of is not None:
            return f" AND {column} IN (SELECT t.id FROM portal_user t WHERE t.manager = {{}})"
        return ""

    @property
    def sold_by_args(self) -> list[int]:
        who = self.rep if self.rep is not None else self.team_of
        return [] if who is None else [who]


async def scope_of(actor: Actor) -> Scope:
    require_reports(actor)
    return Scope(
        await visible_dealer_ids(actor),
        rep=actor.user_id if actor.role == "sales_rep" else None,
        team_of=actor.user_id if actor.role == "sales_manager" else None,
    )


def _with_shares(rows: list[Row]) -> list[Row]:
    top = max((r.amount_fen for r in rows), default=0)
    if top <= 0:
        return rows
    return [replace(r, share=r.amount_fen / top) for r in rows]


def _fill_days(rows: list[Row], period: Period, by: str) -> list[Row]:
    """Every day (or month) of the period in order, with zeros where nothing was sold."""
    have = {r.key: r for r in rows}
    keys: list[str] = []
    if by == "day":
        keys = [(period.start + timedelta(days=i)).isoformat() for i in range(period.days)]
    else:
        month = period.start.replace(day=1)
        while month <= period.end:
            keys.append(month.isoformat()[:7])
            month += timedelta(days=calendar.monthrange(month.year, month.month)[1])
    return [have.get(k) or Row(k, k, 0, 0) for k in keys]


@dataclass(frozen=True)
class Ranking:
    """The first rows of a grouping, largest first, and how many groups there are in all."""

    rows: list[Row]
    total: int


async def sales(actor: Actor, period: Period, by: str) -> list[Row]:
    """Sales in the period grouped `by` one of GROUPS; largest first (time series in order)."""
    return (await _sales(await scope_of(actor), period, by)).rows


async def _grouped(sql: str, args: list[Any], top: int | None) -> tuple[list[dict], int]:
    """The groups `sql` selects (columns k, label and amount among them), with their number.

    With `top`, only the first `top` by amount then label (as the rankings sort them), chosen
    by the database: a page that shows ten of a month's 20,000 products had built all 20,000
    rows in Python first (a third of the reports page's time on the bench's data)."""
    if top is None:
        # In key order, so that groups tied on amount and label keep the order the top ones
        # are chosen in (the callers' sort is stable): an export agrees with its page.
        raw = await Order.raw(f"SELECT g.* FROM ({sql}) g ORDER BY g.k", *args)
        return raw, len(raw)
    label = "COALESCE(g.label, '')"
    if not is_sqlite(current_engine()):
        label += ' COLLATE "C"'  # code point order, as Python's sort of the full list
    raw = await Order.raw(
        f"SELECT g.*, count(*) OVER () AS n_groups FROM ({sql}) g "
        f"ORDER BY COALESCE(g.amount, 0) DESC, {label}, g.k LIMIT {int(top):d}",
        *args,
    )
    return raw, int(raw[0]["n_groups"]) if raw else 0


async def _sales(scope: Scope, period: Period, by: str, top: int | None = None) -> Ranking:
    """Sales grouped `by`: every group, or with `top` (not for day or month) only the first
    `top` and the number of groups."""
    if by not in GROUPS:
        raise ValidationFailed(errors=[FieldError("by", _("Unknown grouping."))])
    scope_sql, scope_args = scope.sold_by(), scope.sold_by_args
    first, after = period.bounds()
    sold = ", ".join(f"'{s}'" for s in SOLD)
    where = f"o.status IN ({sold}) AND o.created_at >= {{}} AND o.created_at < {{}}{scope_sql}"
    args: list[Any] = [first, after, *scope_args]
    # Products and categories count what was bought, not what a 买赠 gave free (as the visit
    # card's top SKUs): a gift line is worth nothing and would only swell the quantities.
    bought = f"{where} AND l.price_rule <> '{RULE_GIFT}'"
    if by == "product":
        raw, total = await _grouped(
            "SELECT l.sku AS k, max(l.sku_code) AS code, max(l.sku_name) AS label, "
            "max(l.unit) AS unit, count(DISTINCT o.id) AS orders, sum(l.qty) AS qty, "
            "sum(l.line_total_fen) AS amount FROM order_line l "
            'JOIN sales_order o ON o.id = l."order" '
            f"WHERE {bought} GROUP BY l.sku",
            args,
            top,
        )
        rows = [
            Row(
                str(r["k"]),
                r["label"],
                int(r["orders"]),
                int(r["amount"] or 0),
                int(r["qty"] or 0),
                r["unit"] or "",
                detail=r["code"],
            )
            for r in raw
        ]
    elif by == "category":
        # Each category counts under its top-level one; an order is counted once per
        # top-level category it has lines in.
        lineage = await category_lineage()
        if not lineage:
            return Ranking([], 0)
        roots = {cid: {"id": chain[0][0], "name": chain[0][1]} for cid, chain in lineage.items()}
        # Category ids are integers from the database: written into the statement as such.
        case = (
            "CASE p.category "
            + " ".join(f"WHEN {int(cid)} THEN {int(root['id'])}" for cid, root in roots.items())
            + " END"
        )
        # A quantity only where it adds up: a category sold in 支, 瓶 and 袋 has none.
        raw = await Order.raw(
            f"SELECT {case} AS k, count(DISTINCT o.id) AS orders, sum(l.qty) AS qty, "
            "count(DISTINCT l.unit) AS units, max(l.unit) AS unit, "
            "sum(l.line_total_fen) AS amount FROM order_line l "
            'JOIN sales_order o ON o.id = l."order" JOIN sku s ON s.id = l.sku '
            f"JOIN product p ON p.id = s.product WHERE {bought} GROUP BY 1",
            *args,
        )
        total = len(raw)  # top-level categories: a few, ranked below like the rest
        names = {root["id"]: root["name"] for root in roots.values()}
        rows = [
            Row(
                str(r["k"]),
                names.get(r["k"], str(r["k"])),
                int(r["orders"]),
                int(r["amount"] or 0),
                int(r["qty"] or 0) if int(r["units"]) == 1 else None,
                (r["unit"] or "") if int(r["units"]) == 1 else "",
            )
            for r in raw
        ]
    else:
        key, label, joins, group = {
            "day": (_local_day_sql(), _local_day_sql(), "", _local_day_sql()),
            "month": (
                f"substr({_local_day_sql()}, 1, 7)",
                f"substr({_local_day_sql()}, 1, 7)",
                "",
                f"substr({_local_day_sql()}, 1, 7)",
            ),
            "dealer": (
                "o.dealer",
                "max(d.name)",
                "JOIN dealer d ON d.id = o.dealer",
                "o.dealer",
            ),
            "region": ("d.region", "d.region", "JOIN dealer d ON d.id = o.dealer", "d.region"),
            # The rep who looked after the dealer when the order was placed: a dealer handed
            # to another rep leaves its past sales with the rep who made them.
            "rep": (
                "o.account_rep",
                "max(u.display_name)",
                "LEFT JOIN portal_user u ON u.id = o.account_rep",
                "o.account_rep",
            ),
        }[by]
        detail = "max(d.code)" if by == "dealer" else "''"
        raw, total = await _grouped(
            f"SELECT {key} AS k, {label} AS label, {detail} AS detail, count(*) AS orders, "
            f"sum(o.total_fen) AS amount FROM sales_order o {joins} "
            f"WHERE {where} GROUP BY {group}",
            args,
            None if by in ("day", "month") else top,
        )
        rows = [
            Row(
                "" if r["k"] is None else str(r["k"]),
                r["label"] or "",  # "" for dealers without a region or rep: see NONE_LABELS
                int(r["orders"]),
                int(r["amount"] or 0),
                detail=r["detail"] or "",
            )
            for r in raw
        ]
    if by in ("day", "month"):
        filled = _fill_days(rows, period, by)
        return Ranking(_with_shares(filled), len(filled))
    rows.sort(key=lambda r: (-r.amount_fen, r.label))
    return Ranking(_with_shares(rows if top is None else rows[:top]), total)


# --- the overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    period: Period
    amount_fen: int = 0
    orders: int = 0
    previous_amount_fen: int = 0
    previous_orders: int = 0
    # What waits now, each as the orders list shows it for the reader (/orders?status=...):
    waiting_orders: int = 0  # pending approval
    waiting_fen: int = 0
    approved_orders: int = 0  # approved, to ship
    approved_fen: int = 0  # what they have not shipped yet
    partly_shipped_orders: int = 0  # partially shipped, the rest to ship
    partly_shipped_fen: int = 0
    exposure_fen: int = 0  # of the dealers in scope
    credit_limit_fen: int = 0
    over_limit_dealers: int = 0
    exposures: tuple[Exposure, ...] = ()  # every dealer in scope, the most used credit first
    # Stock under safety level (the supplier's, not per dealer): how many SKUs, the emptiest.
    under_safety: int = 0
    under_safety_top: tuple[Any, ...] = ()  # safety_stock.SafetyLevel
    # Accepted returns credited to dealers in the period (credit notes of returns), which
    # the sales above, counted when ordered, still include.
    returns: int = 0
    returned_fen: int = 0

    @property
    def to_ship_orders(self) -> int:
        """Approved or partly shipped now."""
        return self.approved_orders + self.partly_shipped_orders

    @property
    def to_ship_fen(self) -> int:
        """What those orders have not shipped yet."""
        return self.approved_fen + self.partly_shipped_fen

    @property
    def net_fen(self) -> int:
        """Sales less what came back in the period."""
        return self.amount_fen - self.returned_fen

    @property
    def average_fen(self) -> int:
        return self.amount_fen // self.orders if self.orders else 0

    @property
    def change(self) -> float | None:
        """Sales against the previous period of the same length (None: nothing to compare)."""
        if not self.previous_amount_fen:
            return None
        return (self.amount_fen - self.previous_amount_fen) / self.previous_amount_fen


async def _totals(scope: Scope, period: Period) -> tuple[int, int]:
    first, after = period.bounds()
    sold = ", ".join(f"'{s}'" for s in SOLD)
    rows = await Order.raw(
        "SELECT count(*) AS n, sum(o.total_fen) AS amount FROM sales_order o "
        f"WHERE o.status IN ({sold}) AND o.created_at >= {{}} AND o.created_at < {{}}"
        + scope.sold_by(),
        first,
        after,
        *scope.sold_by_args,
    )
    return int(rows[0]["n"]), int(rows[0]["amount"] or 0)


async def _returned(scope: Scope, period: Period) -> tuple[int, int]:
    """How many returns were credited in the period, and for how much (credit notes); a
    rep's or a team's: those of the orders that are their sales."""
    first, after = period.bounds()
    sold_by = scope.sold_by()
    joins = (
        'JOIN return_request rr ON rr.id = le.ref_id JOIN sales_order o ON o.id = rr."order" '
        if sold_by
        else ""
    )
    rows = await Order.raw(
        f"SELECT count(*) AS n, sum(-le.amount_fen) AS amount FROM ledger_entry le {joins}"
        "WHERE le.kind = 'credit_note' AND le.ref_type = 'return' "
        "AND le.at >= {} AND le.at < {}" + sold_by,
        first,
        after,
        *scope.sold_by_args,
    )
    return int(rows[0]["n"]), int(rows[0]["amount"] or 0)


async def overview(actor: Actor, period: Period) -> Overview:
    return await _with_safety(actor, await _overview(await scope_of(actor), period))


async def _with_safety(actor: Actor, board: Overview) -> Overview:
    """The overview with the SKUs under their safety stock (DESIGN: a manager's dashboards
    show "stock under safety level")."""
    return replace(
        board,
        under_safety=await safety_stock.count_under_safety(actor),
        under_safety_top=tuple(await safety_stock.under_safety(actor, limit=SAFETY_TOP)),
    )


async def _overview(scope: Scope, period: Period) -> Overview:
    orders, amount = await _totals(scope, period)
    previous_orders, previous_amount = await _totals(scope, period.previous())
    returns, returned = await _returned(scope, period)
    board = Overview(
        period=period,
        amount_fen=amount,
        orders=orders,
        previous_amount_fen=previous_amount,
        previous_orders=previous_orders,
        returns=returns,
        returned_fen=returned,
    )
    if scope.empty:  # a rep without dealers now: their past sales only
        return board
    # What is still to ship of a partly shipped order: its total less what its shipments
    # that went out were invoiced at (a packed one is worth 0 until it ships). Counted over
    # the dealers the reader has now, as the orders list each figure links to shows them.
    open_rows = await Order.raw(
        "SELECT o.status AS status, count(*) AS n, sum(o.total_fen - COALESCE(("
        'SELECT sum(sh.value_fen) FROM shipment sh WHERE sh."order" = o.id), 0)) AS amount '
        "FROM sales_order o WHERE o.status IN ('pending_approval', 'approved', "
        f"'partially_shipped'){scope.sql()} GROUP BY o.status",
        *scope.args,
    )
    by_status = {r["status"]: (int(r["n"]), int(r["amount"] or 0)) for r in open_rows}
    waiting = by_status.get("pending_approval", (0, 0))
    approved = by_status.get("approved", (0, 0))
    partly = by_status.get("partially_shipped", (0, 0))
    dealers = await _exposures(scope)
    return replace(
        board,
        waiting_orders=waiting[0],
        waiting_fen=waiting[1],
        approved_orders=approved[0],
        approved_fen=approved[1],
        partly_shipped_orders=partly[0],
        partly_shipped_fen=partly[1],
        exposure_fen=sum(d.exposure_fen for d in dealers),
        credit_limit_fen=sum(d.credit_limit_fen for d in dealers),
        over_limit_dealers=sum(1 for d in dealers if d.exposure_fen > d.credit_limit_fen),
        exposures=tuple(dealers),
    )


SHARE = Decimal("0.001")  # a share of the credit limit to the tenth of a percent


@dataclass(frozen=True)
class Exposure:
    dealer_id: int
    name: str
    code: str
    credit_limit_fen: int
    exposure_fen: int
    active: bool = True  # a deactivated dealer is listed while it owes or has open orders

    @property
    def available_fen(self) -> int:
        return self.credit_limit_fen - self.exposure_fen

    @property
    def over_limit(self) -> bool:
        return self.exposure_fen > self.credit_limit_fen

    @property
    def without_limit(self) -> bool:
        """Owing (or ordering) with no credit limit at all: over it by all it owes."""
        return self.credit_limit_fen <= 0 and self.exposure_fen > 0

    @property
    def used(self) -> float:
        """Exposure as a share of the limit; a dealer owing with no limit at all is over it
        without bound (ranked first), one with neither at nothing."""
        if self.credit_limit_fen <= 0:
            return float("inf") if self.exposure_fen > 0 else 0.0
        return self.exposure_fen / self.credit_limit_fen

    @property
    def used_share(self) -> Decimal | None:
        """`used` as an exact number to the tenth of a percent (1.121 is 112.1%); None where
        there is no limit to be a share of."""
        if self.credit_limit_fen <= 0:
            return None if self.exposure_fen > 0 else Decimal(0)
        share = Decimal(self.exposure_fen) / Decimal(self.credit_limit_fen)
        return share.quantize(SHARE, rounding=ROUND_HALF_UP)


async def exposures(actor: Actor) -> list[Exposure]:
    """Every dealer in the actor's scope with its credit exposure, the most used first."""
    return list(await _exposures(await scope_of(actor)))


async def _exposures(scope: Scope) -> list[Exposure]:
    """Dealers in scope by how much of their credit they use, most first: every active one,
    and a deactivated one while it still owes (or is owed) money or has open orders, since
    its exposure is real until it is settled (deactivating only stops new orders)."""
    rows = await Order.raw(
        "SELECT d.id, d.name, d.code, d.active, d.credit_limit_fen, d.balance_fen, "
        "d.open_orders_fen FROM dealer d "
        "WHERE (d.active = {} OR d.balance_fen <> 0 OR d.open_orders_fen <> 0)" + scope.sql("d.id"),
        True,
        *scope.args,
    )
    found = [
        Exposure(
            r["id"],
            r["name"],
            r["code"],
            int(r["credit_limit_fen"]),
            credit.exposure_fen(r),
            active=bool(r["active"]),
        )
        for r in rows
    ]
    found.sort(key=lambda e: (-e.used, -e.exposure_fen, e.name, e.code))
    return found


@dataclass(frozen=True)
class Dashboard:
    overview: Overview
    series: list[Row]  # by day, or by month for a long period
    rankings: dict[str, Ranking]


async def dashboard(
    actor: Actor, period: Period, rankings: tuple[str, ...], top: int | None = None
) -> Dashboard:
    """Everything the reports page shows, the actor's dealers read once; with `top`, each
    ranking's first `top` rows and its number of groups."""
    scope = await scope_of(actor)
    return Dashboard(
        overview=await _with_safety(actor, await _overview(scope, period)),
        series=(await _sales(scope, period, period.series)).rows,
        rankings={by: await _sales(scope, period, by, top) for by in rankings},
    )
