"""Promotions (促销): dated offers an administrator sets, for every tier or for one.

Three kinds (DESIGN.md, Prices):

- percent_off: a percentage off the dealer's price of one SKU, of a category (and its
  sub-categories), or of the whole catalog. It applies on top of whichever rule gave the
  price (contract, volume break, tier, list), once per unit, rounded half-up to the fen.
  When several apply to a SKU the largest wins; they never stack.
- spend_save (满减): an order whose goods come to at least the threshold saves a fixed
  amount, once per order (not "for every"); when several are met, the largest saving wins.
  The saving is spread over the order's priced lines in proportion to their totals
  (largest remainder, exact to the fen) so that invoices of partial shipments and credit
  notes of returns carry their share.
- buy_get (买赠): every N base units of a SKU bring M base units of a gift SKU (the same or
  another) as a zero-priced line. A gift is given while stock lasts (赠完即止) unless the
  gift SKU allows backorders; a SKU earns from one buy_get at most (the most generous).

A promotion is in force from its first to its last day inclusive (Asia/Shanghai dates)
while active. An order keeps what it earned at submission: later changes to a promotion
never alter a placed order (adjusting an order re-applies the terms it recorded).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from portal import i18n
from portal.db import write_transaction
from portal.domain import audit, money
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.scope import Actor
from portal.tables import Category, Promotion, Sku, Tier

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERCENT_OFF = "percent_off"
SPEND_SAVE = "spend_save"
BUY_GET = "buy_get"
KINDS = (PERCENT_OFF, SPEND_SAVE, BUY_GET)
KIND_LABELS = {
    PERCENT_OFF: _("Percentage off"),
    SPEND_SAVE: _("Spend and save"),
    BUY_GET: _("Buy and get free"),
}
MAX_NAME = 60
MAX_QTY = 1_000_000
MAX_AMOUNT_FEN = 100_000_000_00  # ¥100,000,000.00
MAX_DAYS = 366 * 3

_PROMO_COLUMNS = (
    "SELECT p.id, p.name, p.kind, p.active, p.starts_on, p.ends_on, p.tier, p.sku, p.category, "
    "p.percent_bp, p.threshold_fen, p.save_fen, p.buy_qty, p.gift_sku, p.gift_qty, "
    "t.name AS tier_name, s.code AS sku_code, s.name AS sku_name, s.base_unit AS sku_unit, "
    "c.name AS category_name, g.code AS gift_code, g.name AS gift_name, "
    "g.base_unit AS gift_unit "
    'FROM "promotion" p LEFT JOIN "tier" t ON t.id = p.tier '
    'LEFT JOIN "sku" s ON s.id = p.sku LEFT JOIN "category" c ON c.id = p.category '
    'LEFT JOIN "sku" g ON g.id = p.gift_sku '
)


# The day prices are read for, when an order is priced for a given moment (priced_on()).
_PRICING_DAY: ContextVar[date | None] = ContextVar("pricing_day", default=None)


def today(now: datetime | None = None) -> date:
    """The Asia/Shanghai date of `now`; by default the day being priced (priced_on()), else
    the present."""
    if now is None:
        day = _PRICING_DAY.get()
        if day is not None:
            return day
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


@contextmanager
def priced_on(day: date) -> Iterator[None]:
    """Read prices and promotions as on `day` within the block (an order dated `now`)."""
    token = _PRICING_DAY.set(day)
    try:
        yield
    finally:
        _PRICING_DAY.reset(token)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def percent_text(basis_points: int) -> str:
    """1000 -> "10%", 1250 -> "12.5%"."""
    value = (Decimal(basis_points) / 100).normalize()
    return f"{value:f}%"


def zhe_text(basis_points: int) -> str:
    """The Chinese way of saying a percentage off: 1000 -> "9", 1250 -> "8.75" (折)."""
    value = (Decimal(10000 - basis_points) / 1000).normalize()
    return f"{value:f}"


@dataclass(frozen=True)
class Promo:
    """A promotion as stored, with the names of what it points at."""

    id: int
    name: str
    kind: str
    active: bool
    starts_on: date
    ends_on: date
    tier_id: int | None = None
    sku_id: int | None = None
    category_id: int | None = None
    percent_bp: int = 0
    threshold_fen: int = 0
    save_fen: int = 0
    buy_qty: int = 0
    gift_sku_id: int | None = None
    gift_qty: int = 0
    tier_name: str = ""
    sku_code: str = ""
    sku_name: str = ""
    sku_unit: str = ""
    category_name: str = ""
    gift_code: str = ""
    gift_name: str = ""
    gift_unit: str = ""

    def in_force(self, day: date) -> bool:
        return self.active and self.starts_on <= day <= self.ends_on

    def state(self, day: date) -> str:
        """paused | scheduled | running | ended"""
        if not self.active:
            return "paused"
        if day < self.starts_on:
            return "scheduled"
        if day > self.ends_on:
            return "ended"
        return "running"

    @property
    def kind_label(self) -> str:
        return i18n.gettext(KIND_LABELS.get(self.kind, self.kind))

    @property
    def audience(self) -> str:
        if self.tier_id is None:
            return i18n.gettext(_("All dealers"))
        return self.tier_name

    @property
    def terms(self) -> str:
        """What the promotion gives, in the reader's language."""
        if self.kind == PERCENT_OFF:
            if self.sku_id is not None:
                target = f"{self.sku_code} {self.sku_name}"
            elif self.category_id is not None:
                target = self.category_name
            else:
                target = i18n.gettext(_("Everything"))
            return i18n.gettext(
                _("%(target)s: %(percent)s off"),
                target=target,
                percent=percent_text(self.percent_bp),
                zhe=zhe_text(self.percent_bp),
            )
        if self.kind == SPEND_SAVE:
            return i18n.gettext(
                _("Orders of %(threshold)s or more save %(save)s"),
                threshold=i18n.money(self.threshold_fen),
                save=i18n.money(self.save_fen),
            )
        if self.gift_sku_id == self.sku_id:
            return i18n.gettext(
                _("%(sku)s: buy %(buy)s %(unit)s, get %(get)s free"),
                buy=self.buy_qty,
                unit=self.sku_unit,
                sku=f"{self.sku_code} {self.sku_name}",
                get=self.gift_qty,
            )
        gift = f"{self.gift_code} {self.gift_name}"
        return i18n.gettext(
            _("Every %(buy)s %(unit)s of %(sku)s: %(get)s %(gift_unit)s of %(gift)s free"),
            buy=self.buy_qty,
            unit=self.sku_unit,
            sku=f"{self.sku_code} {self.sku_name}",
            get=self.gift_qty,
            gift_unit=self.gift_unit,
            gift=gift,
        )

    @property
    def catalog_link(self) -> str:
        """Where a dealer finds what the promotion is on: its SKU, its category, or the
        whole catalog (a 满减 counts every product)."""
        if self.sku_id is not None and self.sku_code:
            return "/catalog?" + urlencode({"q": self.sku_code})
        if self.category_id is not None:
            return f"/catalog?category={int(self.category_id)}"
        return "/catalog"

    @property
    def offer(self) -> str:
        """A 买赠 as its SKU's row reads it: "买 24 瓶赠 1 瓶" (of another SKU: its name)."""
        if self.gift_sku_id == self.sku_id:
            return i18n.gettext(
                _("Buy %(buy)s %(unit)s, get %(get)s free"),
                buy=self.buy_qty,
                unit=self.sku_unit,
                get=self.gift_qty,
            )
        return i18n.gettext(
            _("Buy %(buy)s %(unit)s, get %(get)s %(gift_unit)s of %(gift)s free"),
            buy=self.buy_qty,
            unit=self.sku_unit,
            get=self.gift_qty,
            gift_unit=self.gift_unit,
            gift=self.gift_name,
        )

    @property
    def period(self) -> str:
        return f"{i18n.local_date(self.starts_on)} – {i18n.local_date(self.ends_on)}"


STATE_LABELS = {
    "paused": _("Paused"),
    "scheduled": _("Scheduled"),
    "running": _("Running"),
    "ended": _("Ended"),
}


def _promo(row: dict) -> Promo:
    def opt(key: str) -> int | None:
        return int(row[key]) if row.get(key) is not None else None

    return Promo(
        id=int(row["id"]),
        name=row["name"],
        kind=row["kind"],
        active=bool(row["active"]),
        starts_on=_as_date(row["starts_on"]),
        ends_on=_as_date(row["ends_on"]),
        tier_id=opt("tier"),
        sku_id=opt("sku"),
        category_id=opt("category"),
        percent_bp=int(row["percent_bp"] or 0),
        threshold_fen=int(row["threshold_fen"] or 0),
        save_fen=int(row["save_fen"] or 0),
        buy_qty=int(row["buy_qty"] or 0),
        gift_sku_id=opt("gift_sku"),
        gift_qty=int(row["gift_qty"] or 0),
        tier_name=row.get("tier_name") or "",
        sku_code=row.get("sku_code") or "",
        sku_name=row.get("sku_name") or "",
        sku_unit=row.get("sku_unit") or "",
        category_name=row.get("category_name") or "",
        gift_code=row.get("gift_code") or "",
        gift_name=row.get("gift_name") or "",
        gift_unit=row.get("gift_unit") or "",
    )


async def in_force_for(dealer: dict, day: date, kinds: Iterable[str] = KINDS) -> list[Promo]:
    """The promotions in force on `day` for the dealer's tier, of the given kinds."""
    kinds = tuple(kinds)
    marks = ", ".join("{}" for _k in kinds)
    rows = await Promotion.raw(
        _PROMO_COLUMNS + "WHERE p.active = {} AND p.starts_on <= {} AND p.ends_on >= {} "
        f"AND (p.tier IS NULL OR p.tier = {{}}) AND p.kind IN ({marks}) ORDER BY p.id",
        True,
        day,
        day,
        int(dealer["tier"]),
        *kinds,
    )
    return [_promo(r) for r in rows]


# --- percentage off ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PercentOff:
    """The percentage-off promotion that applies to one SKU for one dealer."""

    promo_id: int
    name: str
    off_bp: int

    def apply(self, unit_price_fen: int, exact: Decimal | None = None) -> int:
        """The unit price after the promotion, half-up to the fen once. `exact` is the price
        before the promotion when it had not been rounded yet (a tier's percentage of the
        list price): the promotion applies to it, so the price is rounded once, not twice."""
        before = money.from_fen(unit_price_fen) if exact is None else exact
        return money.to_fen(before * Decimal(10000 - self.off_bp) / money.BP)


# A column for a query on "sku" that brings every promotion in force for the dealer's tier
# as a JSON array (see _COLUMN_FIELDS): uncorrelated, so the database runs it once per query.
# A catalog page and an order's pricing so learn the promotions without a query of their own.
# Arguments: in_force_args().
PROMOS_KEY = "promos_json"
_COLUMN_FIELDS = (
    "id",
    "name",
    "kind",
    "percent_bp",
    "sku",
    "category",
    "threshold_fen",
    "save_fen",
    "buy_qty",
    "gift_sku",
    "gift_qty",
)


def in_force_column(agg: str, arr: str) -> str:
    fields = ", ".join(f"pr.{name}" for name in _COLUMN_FIELDS)
    return (
        f'(SELECT {agg}({arr}({fields})) FROM "promotion" pr '
        "WHERE pr.active = {} AND pr.starts_on <= {} AND pr.ends_on >= {} "
        f"AND (pr.tier IS NULL OR pr.tier = {{}})) AS {PROMOS_KEY}"
    )


def in_force_args(dealer: dict, day: date) -> list[Any]:
    return [True, day, day, int(dealer["tier"])]


def from_column(value: Any, day: date) -> tuple[Promo, ...]:
    """The promotions in force on `day`, as read by in_force_column()."""
    if value is None:
        return ()
    items = json.loads(value) if isinstance(value, str | bytes) else list(value)
    # In id order, as in_force_for() reads them: ties between promotions go to the earliest,
    # and an aggregate's order is the database's (SQLite reads ORDER BY in one from 3.44).
    items.sort(key=lambda item: item[0])
    return tuple(
        _promo(
            {
                **dict(zip(_COLUMN_FIELDS, item, strict=True)),
                "active": True,
                "starts_on": day,
                "ends_on": day,
            }
        )
        for item in items
    )


async def percent_offs(
    dealer: dict,
    sku_rows: list[dict],
    day: date,
    *,
    in_force: tuple[Promo, ...] | None = None,
) -> dict[int, PercentOff]:
    """The best percentage-off promotion per SKU row (each with "id", and "category_id" when
    the caller has it); SKUs without one are left out. `in_force`: the promotions in force
    on `day` if the caller read them (from_column()); else one query."""
    if not sku_rows:
        return {}
    if in_force is None:
        promos = await in_force_for(dealer, day, (PERCENT_OFF,))
    else:
        promos = [p for p in in_force if p.kind == PERCENT_OFF]
    if not promos:
        return {}
    categories: dict[int, int | None] = {}
    if any(p.category_id is not None for p in promos):
        missing = [int(r["id"]) for r in sku_rows if "category_id" not in r]
        categories = {int(r["id"]): r.get("category_id") for r in sku_rows if "category_id" in r}
        if missing:
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                rows = await Sku.raw(
                    'SELECT s.id AS id, p.category AS category FROM "sku" s '
                    'JOIN "product" p ON p.id = s.product '
                    f"WHERE s.id IN ({', '.join('{}' for _i in chunk)})",
                    *chunk,
                )
                categories.update({int(r["id"]): r["category"] for r in rows})
        from portal.domain.catalog import category_lineage  # catalog imports pricing, this

        lineage = {cid: {c for c, _n in chain} for cid, chain in (await category_lineage()).items()}
    else:
        lineage = {}
    best: dict[int, PercentOff] = {}
    for row in sku_rows:
        sku_id = int(row["id"])
        cat = categories.get(sku_id)
        above = lineage.get(int(cat), set()) if cat is not None else set()
        for p in promos:
            if p.sku_id is not None and p.sku_id != sku_id:
                continue
            if p.sku_id is None and p.category_id is not None and p.category_id not in above:
                continue
            current = best.get(sku_id)
            if current is None or p.percent_bp > current.off_bp:
                best[sku_id] = PercentOff(p.id, p.name, p.percent_bp)
    return best


# --- spend X save Y -------------------------------------------------------------------------


@dataclass(frozen=True)
class Saving:
    """A 满减 an order earned: its terms as recorded on the order, and the amount.

    `tiers`: every 满减 that was in force for the order when it was placed (this one among
    them), as (promo_id, name, threshold_fen, save_fen), so that a later change of
    quantities earns what those terms give the new goods (for_goods), not only this one."""

    promo_id: int
    name: str
    threshold_fen: int
    save_fen: int
    tiers: tuple[tuple[int, str, int, int], ...] = ()

    def params(self) -> str:
        data: dict[str, Any] = {
            "promo_id": self.promo_id,
            "name": self.name,
            "threshold_fen": self.threshold_fen,
            "save_fen": self.save_fen,
        }
        if self.tiers:
            data["tiers"] = [list(t) for t in self.tiers]
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @property
    def label(self) -> str:
        return saving_label(self.name, self.threshold_fen, self.save_fen)

    @classmethod
    def from_params(cls, text: str | None) -> Saving | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(
            int(data["promo_id"]),
            str(data["name"]),
            int(data["threshold_fen"]),
            int(data["save_fen"]),
            tuple((int(t[0]), str(t[1]), int(t[2]), int(t[3])) for t in data.get("tiers") or ()),
        )

    def earned(self, goods_fen: int) -> int:
        """What an order of `goods_fen` saves under these terms."""
        return min(self.save_fen, goods_fen) if goods_fen >= self.threshold_fen else 0

    def for_goods(self, goods_fen: int) -> Saving:
        """The recorded terms that save most on `goods_fen` (these, when none reach it).

        满1000减50 and 满2000减120 were both in force at submission: cut from ¥2,100 to
        ¥1,500, the order still saves ¥50."""
        best = (self.promo_id, self.name, self.threshold_fen, self.save_fen)
        for tier in self.tiers:
            if goods_fen <= 0 or goods_fen < tier[2]:
                continue
            if best[2] > goods_fen or tier[3] > best[3]:
                best = tier
        return Saving(*best, tiers=self.tiers)


def saving_label(name: str, threshold_fen: int, save_fen: int) -> str:
    return i18n.gettext(
        _("%(promotion)s: %(save)s off orders of %(threshold)s"),
        promotion=name,
        save=i18n.money(save_fen),
        threshold=i18n.money(threshold_fen),
    )


@dataclass(frozen=True)
class NextSaving:
    """How much more to spend for a (better) saving: "再买 ¥120.00 可减 ¥50.00"."""

    name: str
    more_fen: int
    save_fen: int

    @property
    def label(self) -> str:
        return i18n.gettext(
            _("Add %(more)s more to save %(save)s (%(promotion)s)"),
            more=i18n.money(self.more_fen),
            save=i18n.money(self.save_fen),
            promotion=self.name,
        )


def best_saving(promos: list[Promo], goods_fen: int) -> Saving | None:
    """The largest saving whose threshold the goods reach (ties: the earliest promotion)."""
    best: Promo | None = None
    for p in promos:
        if p.kind != SPEND_SAVE or goods_fen < p.threshold_fen or goods_fen <= 0:
            continue
        if best is None or p.save_fen > best.save_fen:
            best = p
    if best is None:
        return None
    tiers = tuple(
        (p.id, p.name, p.threshold_fen, p.save_fen)
        for p in sorted(promos, key=lambda q: (q.threshold_fen, q.id))
        if p.kind == SPEND_SAVE
    )
    return Saving(best.id, best.name, best.threshold_fen, best.save_fen, tiers=tiers)


def next_saving(promos: list[Promo], goods_fen: int, current: Saving | None) -> NextSaving | None:
    """The nearest threshold not yet reached whose saving beats the current one."""
    have = current.save_fen if current else 0
    ahead = [
        p
        for p in promos
        if p.kind == SPEND_SAVE and p.threshold_fen > goods_fen and p.save_fen > have
    ]
    if not ahead:
        return None
    p = min(ahead, key=lambda q: (q.threshold_fen, -q.save_fen, q.id))
    return NextSaving(p.name, p.threshold_fen - goods_fen, p.save_fen)


def spread(amount_fen: int, totals: list[int]) -> list[int]:
    """`amount_fen` shared over lines in proportion to their totals, exactly (largest
    remainder; ties to the earlier line); no share exceeds its line's total."""
    whole = sum(totals)
    if amount_fen <= 0 or whole <= 0:
        return [0 for _t in totals]
    amount_fen = min(amount_fen, whole)
    floors = [amount_fen * t // whole for t in totals]
    rest = amount_fen - sum(floors)
    order = sorted(range(len(totals)), key=lambda i: (-(amount_fen * totals[i] % whole), i))
    for i in order[:rest]:
        floors[i] += 1
    return floors


def portion_fen(total_fen: int, part: int, whole: int) -> int:
    """The share of a line's total that `part` of its `whole` quantity carries, half-up.

    Shipping or returning in pieces: the value of units a..b of a line is
    portion(b) - portion(a), so the pieces always add up to the line's total.
    """
    if whole <= 0:
        return 0
    return money.to_fen(money.round_fen(money.from_fen(total_fen) * Decimal(part) / Decimal(whole)))


def units_value(unit_price_fen: int, line_total_fen: int, qty: int, before: int, after: int) -> int:
    """What units before..after of an order line are worth: the line's total (after its share
    of any order saving) in proportion, so the pieces of a line add up to its total. Without
    a saving this is exactly unit price × quantity."""
    if line_total_fen == money.line_total_fen(unit_price_fen, qty):
        return money.line_total_fen(unit_price_fen, after - before)
    return portion_fen(line_total_fen, after, qty) - portion_fen(line_total_fen, before, qty)


# --- buy N get M ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gift:
    """A gift line an order earns: `qty` of the gift SKU for `for_qty` of the bought one."""

    promo_id: int
    name: str
    for_sku_id: int
    for_code: str
    buy_qty: int
    gift_qty: int  # per buy_qty
    sku_id: int
    code: str
    sku_name: str
    unit: str
    list_price_fen: int
    qty: int  # given
    entitled: int  # earned; more than qty when stock ran short
    allow_backorder: bool = False

    def rule_params(self) -> dict[str, Any]:
        return {
            "promo": self.name,
            "promo_id": self.promo_id,
            "buy": self.buy_qty,
            "get": self.gift_qty,
            "for_sku": self.for_sku_id,
            "for": self.for_code,
        }


def gift_quantity(bought: int, buy_qty: int, gift_qty: int) -> int:
    if buy_qty <= 0 or bought <= 0:
        return 0
    return (bought // buy_qty) * gift_qty


async def gifts(
    promos: list[Promo],
    bought: dict[int, int],
    codes: dict[int, str],
    *,
    given: dict[int, int] | None = None,
) -> list[Gift]:
    """The gift lines earned by the bought quantities (sku id -> base units).

    A gift is capped at the gift SKU's available stock (less what `given` already takes of
    it) unless the SKU allows backorders; an inactive gift SKU gives nothing.
    """
    from portal.domain import stock  # stock imports nothing of this module; avoid a cycle

    earned: list[tuple[Promo, int, int]] = []  # (promo, bought sku, entitled qty)
    for sku_id, qty in bought.items():
        best: tuple[Promo, int] | None = None
        for p in promos:
            if p.kind != BUY_GET or p.sku_id != sku_id or p.gift_sku_id is None:
                continue
            n = gift_quantity(qty, p.buy_qty, p.gift_qty)
            if n > 0 and (best is None or n > best[1]):
                best = (p, n)
        if best is not None:
            earned.append((best[0], sku_id, best[1]))
    if not earned:
        return []
    gift_ids = sorted({int(p.gift_sku_id) for p, _s, _n in earned if p.gift_sku_id})
    rows = {
        int(r["id"]): r
        for r in await Sku.select(
            Sku.id,
            Sku.code,
            Sku.name,
            Sku.base_unit,
            Sku.base_price_fen,
            Sku.allow_backorder,
            Sku.active,
        ).where(Sku.id.is_in(gift_ids))
    }
    free = await stock.availability_by_sku(gift_ids)
    for sku_id, qty in (given or {}).items():
        if sku_id in free:
            free[sku_id] -= qty
    result: list[Gift] = []
    for p, for_sku, entitled in sorted(earned, key=lambda e: e[1]):
        row = rows.get(int(p.gift_sku_id or 0))
        if row is None or not row["active"]:
            continue
        backorder = bool(row["allow_backorder"])
        qty = entitled if backorder else max(0, min(entitled, free.get(int(row["id"]), 0)))
        if not backorder:
            free[int(row["id"])] = free.get(int(row["id"]), 0) - qty
        result.append(
            Gift(
                promo_id=p.id,
                name=p.name,
                for_sku_id=for_sku,
                for_code=codes.get(for_sku, ""),
                buy_qty=p.buy_qty,
                gift_qty=p.gift_qty,
                sku_id=int(row["id"]),
                code=row["code"],
                sku_name=row["name"],
                unit=row["base_unit"],
                list_price_fen=int(row["base_price_fen"]),
                qty=qty,
                entitled=entitled,
                allow_backorder=backorder,
            )
        )
    return result


def gift_label(params: dict[str, Any]) -> str:
    return i18n.gettext(
        _("Gift (%(promotion)s, with %(sku)s)"),
        promotion=params.get("promo", ""),
        sku=params.get("for", ""),
    )


# --- what a cart or an order earns -------------------------------------------------------------


@dataclass(frozen=True)
class Earned:
    gifts: list[Gift] = field(default_factory=list)
    saving: Saving | None = None
    next_saving: NextSaving | None = None

    @property
    def save_fen(self) -> int:
        return self.saving.save_fen if self.saving else 0


async def earned(
    dealer: dict,
    goods_fen: int,
    bought: dict[int, int],
    codes: dict[int, str],
    day: date,
    *,
    reserved_elsewhere: dict[int, int] | None = None,
    in_force: tuple[Promo, ...] | None = None,
) -> Earned:
    """What an order of these goods earns on `day`: gifts, a saving, and the next saving.

    `in_force`: the promotions in force on `day`, if the caller has them (from_column()).
    """
    if in_force is None:
        promos = await in_force_for(dealer, day, (SPEND_SAVE, BUY_GET))
    else:
        promos = [p for p in in_force if p.kind in (SPEND_SAVE, BUY_GET)]
    promos = await _visible_to(dealer, promos)
    if not promos:
        return Earned()
    saving = best_saving(promos, goods_fen)  # below its threshold: never above the goods
    return Earned(
        gifts=await gifts(promos, bought, codes, given=reserved_elsewhere),
        saving=saving,
        next_saving=next_saving(promos, goods_fen, saving),
    )


async def earned_for(
    dealer: dict,
    lines: Iterable[Any],
    day: date,
    *,
    in_force: tuple[Promo, ...] | None = None,
) -> Earned:
    """earned() for priced lines (each with sku_id, code, qty and line_total_fen: a cart's
    or an order's); a gift may take only stock the lines leave."""
    lines = list(lines)
    return await earned(
        dealer,
        sum(ln.line_total_fen for ln in lines),
        {ln.sku_id: ln.qty for ln in lines},
        {ln.sku_id: ln.code for ln in lines},
        day,
        reserved_elsewhere={ln.sku_id: ln.qty for ln in lines},
        in_force=in_force,
    )


def known_in_force(inputs: Iterable[Any]) -> tuple[Promo, ...] | None:
    """The promotions in force that a query on "sku" brought along with some PriceInputs."""
    return next((i.in_force for i in inputs if i is not None and i.in_force is not None), None)


# --- administration ---------------------------------------------------------------------------


@dataclass
class PromoData:
    """A promotion as typed into the form or sent to the API (not yet checked)."""

    name: str = ""
    kind: str = ""
    active: bool = True
    starts_on: date | None = None
    ends_on: date | None = None
    tier_id: int | None = None
    sku_code: str = ""
    category_id: int | None = None
    percent_bp: int | None = None
    threshold_fen: int | None = None
    save_fen: int | None = None
    buy_qty: int | None = None
    gift_sku_code: str = ""
    gift_qty: int | None = None


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator can manage promotions."))


def _positive(value: Any, upper: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= upper


async def _sku_id(name: str, code: str, missing: str, errors: list[FieldError]) -> int | None:
    """The id of the SKU with this code (or barcode); a field error when none (or no code:
    `missing` is then the message)."""
    code = (code or "").strip()
    if not code:
        errors.append(FieldError(name, missing))
        return None
    # The SKU with that code, else the first with that barcode (as the order pad finds them).
    found = await Sku.select(Sku.id, Sku.code).where((Sku.code == code) | (Sku.barcode == code))
    row = min(found, key=lambda s: (s["code"] != code, s["id"]), default=None)
    if row is None:
        errors.append(FieldError(name, _("No SKU has the code %(code)s."), {"code": code}))
        return None
    return int(row["id"])


async def _checked(data: PromoData, now: datetime) -> dict[Any, Any]:
    """The column values of a valid promotion, or ValidationFailed naming every problem."""
    errors: list[FieldError] = []
    name = (data.name or "").strip()
    if not name:
        errors.append(FieldError("name", _("Give the promotion a name.")))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", _("At most %(max)s characters."), {"max": MAX_NAME}))
    if data.kind not in KINDS:
        errors.append(FieldError("kind", _("Choose the kind of promotion.")))
    if data.starts_on is None:
        errors.append(FieldError("starts_on", _("Enter the first day.")))
    if data.ends_on is None:
        errors.append(FieldError("ends_on", _("Enter the last day.")))
    if data.starts_on and data.ends_on:
        if data.ends_on < data.starts_on:
            errors.append(FieldError("ends_on", _("The last day cannot be before the first.")))
        elif (data.ends_on - data.starts_on).days > MAX_DAYS:
            errors.append(
                FieldError(
                    "ends_on", _("A promotion runs for at most %(max)s days."), {"max": MAX_DAYS}
                )
            )
    if data.tier_id is not None and not await Tier.exists().where(Tier.id == data.tier_id):
        errors.append(FieldError("tier", _("Choose a tier.")))
    if data.category_id is not None and not await Category.exists().where(
        Category.id == data.category_id
    ):
        errors.append(FieldError("category", _("Choose a category.")))
    values: dict[Any, Any] = {
        Promotion.name: name,
        Promotion.kind: data.kind,
        Promotion.active: bool(data.active),
        Promotion.starts_on: data.starts_on,
        Promotion.ends_on: data.ends_on,
        Promotion.tier: data.tier_id,
        Promotion.sku: None,
        Promotion.category: None,
        Promotion.percent_bp: 0,
        Promotion.threshold_fen: 0,
        Promotion.save_fen: 0,
        Promotion.buy_qty: 0,
        Promotion.gift_sku: None,
        Promotion.gift_qty: 0,
        Promotion.updated_at: now,
    }
    sku_code = (data.sku_code or "").strip()
    if data.kind == PERCENT_OFF:
        if not _positive(data.percent_bp, 9999):
            errors.append(
                FieldError("percent", _("The percentage off must be more than 0 and below 100."))
            )
        values[Promotion.percent_bp] = data.percent_bp
        if sku_code and data.category_id is not None:
            errors.append(FieldError("sku", _("Choose a SKU or a category, not both.")))
        elif sku_code:
            values[Promotion.sku] = await _sku_id("sku", sku_code, "", errors)
        elif data.category_id is not None:
            values[Promotion.category] = data.category_id
    elif data.kind == SPEND_SAVE:
        if not _positive(data.threshold_fen, MAX_AMOUNT_FEN):
            errors.append(FieldError("threshold", _("Enter the amount an order must reach.")))
        if not _positive(data.save_fen, MAX_AMOUNT_FEN):
            errors.append(FieldError("save", _("Enter the amount saved.")))
        elif _positive(data.threshold_fen, MAX_AMOUNT_FEN) and data.save_fen >= data.threshold_fen:
            errors.append(
                FieldError("save", _("The saving must be less than the amount to reach."))
            )
        values[Promotion.threshold_fen] = data.threshold_fen
        values[Promotion.save_fen] = data.save_fen
    elif data.kind == BUY_GET:
        values[Promotion.sku] = await _sku_id("sku", sku_code, _("Enter the SKU to buy."), errors)
        values[Promotion.gift_sku] = await _sku_id(
            "gift_sku", data.gift_sku_code, _("Enter the gift SKU."), errors
        )
        if not _positive(data.buy_qty, MAX_QTY):
            errors.append(FieldError("buy_qty", _("Enter how many to buy (a whole number).")))
        if not _positive(data.gift_qty, MAX_QTY):
            errors.append(FieldError("gift_qty", _("Enter how many are free (a whole number).")))
        values[Promotion.buy_qty] = data.buy_qty
        values[Promotion.gift_qty] = data.gift_qty
    if errors:
        raise ValidationFailed(errors=errors)
    return values


async def problems(data: PromoData) -> list[FieldError]:
    """What is wrong with the data, without saving (a form also lists what it could not read)."""
    try:
        await _checked(data, datetime.now(UTC))
    except ValidationFailed as exc:
        return list(exc.errors)
    return []


def _audit_values(values: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in values.items():
        name = column._meta.name
        if name == "updated_at":
            continue
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


async def list_promotions(actor: Actor) -> list[Promo]:
    """Every promotion, the latest first (administrators)."""
    _require_admin(actor)
    rows = await Promotion.raw(_PROMO_COLUMNS + "ORDER BY p.ends_on DESC, p.id DESC")
    return [_promo(r) for r in rows]


async def get_promotion(actor: Actor, promo_id: int) -> Promo:
    _require_admin(actor)
    rows = await Promotion.raw(_PROMO_COLUMNS + "WHERE p.id = {}", int(promo_id))
    if not rows:
        raise NotFound(_("Promotion not found."))
    return _promo(rows[0])


async def create(actor: Actor, data: PromoData, *, now: datetime | None = None) -> Promo:
    _require_admin(actor)
    now = now or datetime.now(UTC)
    values = await _checked(data, now)
    async with write_transaction():
        row = Promotion(**{c._meta.name: v for c, v in values.items()}, created_at=now)
        await row.save()
        await audit.record(
            actor, "promotion.created", "promotion", row.id, {}, _audit_values(values), now=now
        )
    return await get_promotion(actor, row.id)


async def update(
    actor: Actor, promo_id: int, data: PromoData, *, now: datetime | None = None
) -> Promo:
    _require_admin(actor)
    now = now or datetime.now(UTC)
    before = await get_promotion(actor, promo_id)
    values = await _checked(data, now)
    async with write_transaction():
        await Promotion.update(values).where(Promotion.id == promo_id)
        await audit.record(
            actor,
            "promotion.updated",
            "promotion",
            promo_id,
            _audit_values(
                {
                    Promotion.name: before.name,
                    Promotion.kind: before.kind,
                    Promotion.active: before.active,
                    Promotion.starts_on: before.starts_on,
                    Promotion.ends_on: before.ends_on,
                    Promotion.tier: before.tier_id,
                    Promotion.sku: before.sku_id,
                    Promotion.category: before.category_id,
                    Promotion.percent_bp: before.percent_bp,
                    Promotion.threshold_fen: before.threshold_fen,
                    Promotion.save_fen: before.save_fen,
                    Promotion.buy_qty: before.buy_qty,
                    Promotion.gift_sku: before.gift_sku_id,
                    Promotion.gift_qty: before.gift_qty,
                }
            ),
            _audit_values(values),
            now=now,
        )
    return await get_promotion(actor, promo_id)


def data_of(p: Promo) -> PromoData:
    """A stored promotion as form data (to edit it, or to change one field)."""
    return PromoData(
        name=p.name,
        kind=p.kind,
        active=p.active,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        tier_id=p.tier_id,
        sku_code=p.sku_code,
        category_id=p.category_id,
        percent_bp=p.percent_bp or None,
        threshold_fen=p.threshold_fen or None,
        save_fen=p.save_fen or None,
        buy_qty=p.buy_qty or None,
        gift_sku_code=p.gift_code,
        gift_qty=p.gift_qty or None,
    )


async def set_active(
    actor: Actor, promo_id: int, active: bool, *, now: datetime | None = None
) -> Promo:
    """Pause or resume a promotion (orders already placed keep what they earned)."""
    current = await get_promotion(actor, promo_id)
    data = data_of(current)
    data.active = bool(active)
    return await update(actor, promo_id, data, now=now)


async def running_for(actor: Actor, dealer: dict, *, now: datetime | None = None) -> list[Promo]:
    """What a dealer (or staff ordering for one) sees as on offer today."""
    if actor.dealer_id is not None and actor.dealer_id != dealer["id"]:
        raise NotFound(_("Dealer not found."))
    return await _visible_to(dealer, await in_force_for(dealer, today(now)))


async def gift_offers(
    dealer: dict,
    sku_ids: Iterable[int],
    *,
    in_force: tuple[Promo, ...] | None = None,
    now: datetime | None = None,
) -> dict[int, list[str]]:
    """What buying each of these SKUs earns as a gift today (买赠), for the dealer to see
    before it is earned: sku id -> short labels ("买 24 瓶赠 1 瓶"). No query when no 买赠
    is in force (`in_force`: the promotions a catalog page read along with its prices)."""
    wanted = set(sku_ids)
    if in_force is not None and not any(p.kind == BUY_GET and p.sku_id in wanted for p in in_force):
        return {}
    # in_force (read with the prices) lacks the names the labels need: read them now.
    promos = [
        p
        for p in await in_force_for(dealer, today(now), (BUY_GET,))
        if p.sku_id in wanted and p.gift_sku_id is not None
    ]
    if not promos:
        return {}
    result: dict[int, list[str]] = {}
    for p in await _visible_to(dealer, promos):
        result.setdefault(int(p.sku_id or 0), []).append(p.offer)
    return result


async def _visible_to(dealer: dict, promos: list[Promo]) -> list[Promo]:
    """The promotions whose SKU and gift the dealer may see: one on a product listed to other
    tiers only is not shown to the dealer, and its gift never lands on the dealer's order."""
    named = {i for p in promos for i in (p.sku_id, p.gift_sku_id) if i is not None}
    if not named:
        return promos
    from portal.domain.catalog import visible_sku_ids  # catalog prices with promotions

    seen = await visible_sku_ids(dealer, named)
    return [
        p
        for p in promos
        if (p.sku_id is None or p.sku_id in seen)
        and (p.gift_sku_id is None or p.gift_sku_id in seen)
    ]
