"""Price resolution for a dealer, SKU and quantity, and the words that explain each price.

The rule (DESIGN.md, Prices): the dealer's contract price, else the tier's volume break for
that quantity, else the tier price (fixed, or a percentage of the base price rounded half-up
to the fen once), else the base (list) price. Prices are integer fen per base unit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from portal import i18n
from portal.db import current_engine, fetch, is_sqlite
from portal.domain import money, promotions
from portal.domain.errors import _
from portal.domain.promotions import PercentOff, Promo
from portal.tables import Sku, Tier

RULE_CONTRACT = "contract"
RULE_VOLUME = "volume_break"
RULE_TIER = "tier"
RULE_BASE = "base"
# A percentage-off promotion on top of the price one of the rules above gave.
RULE_PROMOTION = "promotion"
RULES = (RULE_CONTRACT, RULE_VOLUME, RULE_TIER, RULE_BASE, RULE_PROMOTION)

# Ids per IN (...) list: far below SQLite's variable limit; a cart or a page fits in one.
BATCH = 1000


@dataclass(frozen=True)
class PriceInputs:
    """Everything needed to price one SKU for one dealer."""

    sku_id: int
    base_price_fen: int
    base_unit: str
    pack_name: str | None  # the largest pack unit (箱), None if the SKU has none
    pack_factor: int | None  # base units in that pack (24)
    tier_name: str
    tier_price_fen: int | None  # fixed tier price per base unit
    tier_percent_bp: int | None  # or a percentage of the base price (8500 = 85 %)
    breaks: tuple[tuple[int, int], ...]  # (min_qty in base units, price_fen), ascending
    contract_price_fen: int | None
    # Every pack unit of the SKU as (name, factor), largest first.
    packs: tuple[tuple[str, int], ...] = ()
    # The percentage-off promotion in force for this dealer and SKU, if any.
    promo: PercentOff | None = None
    # Every promotion in force for the dealer today, when the query brought them (the same
    # tuple for every SKU of a query); None when they were not read.
    in_force: tuple[Promo, ...] | None = field(default=None, repr=False, compare=False)

    def tier_unit_price_fen(self) -> int | None:
        """The tier's own price per base unit (before volume breaks), if the tier lists one."""
        if self.tier_price_fen is not None:
            return self.tier_price_fen
        exact = self.tier_percent_price()
        # The one rounding of a percentage price: half-up to the fen (money.py).
        return None if exact is None else money.to_fen(exact)

    def tier_percent_price(self) -> Decimal | None:
        """The tier's percentage of the list price in yuan, unrounded (None for a fixed or no
        tier price): a percentage-off promotion applies to this, so it is rounded once."""
        if self.tier_price_fen is None and self.tier_percent_bp is not None:
            return money.percent_of(self.base_price_fen, self.tier_percent_bp)
        return None


@dataclass(frozen=True)
class NextBreak:
    """The next volume break above the quantity: how much more to buy, and its price."""

    more_qty: int  # base units still needed to reach it
    min_qty: int
    unit_price_fen: int
    # How to say it: in packs when the extra quantity is a whole number of packs.
    base_unit: str = ""
    pack_name: str | None = None
    pack_factor: int | None = None


@dataclass(frozen=True)
class PriceQuote:
    sku_id: int
    unit_price_fen: int  # per base unit
    list_price_fen: int  # the base (list) price per base unit
    rule: str  # one of RULES
    rule_params: dict[str, Any] = field(default_factory=dict)
    next_break: NextBreak | None = None

    def line_total_fen(self, qty: int) -> int:
        return money.line_total_fen(self.unit_price_fen, qty)

    @property
    def label(self) -> str:
        """The rule in the reader's language ("一级经销商价, 满 10 箱")."""
        return rule_label(self.rule, self.rule_params)


def _in_packs(qty: int, pack_factor: int | None) -> int | None:
    """qty as a whole number of packs, or None if it is not one."""
    if pack_factor and pack_factor > 0 and qty > 0 and qty % pack_factor == 0:
        return qty // pack_factor
    return None


def resolve(inputs: PriceInputs, qty: int) -> PriceQuote:
    """The dealer's price for `qty` base units of one SKU, with the rule that gave it.

    A percentage-off promotion applies on top of whichever rule gave the price (and to the
    next volume break's price, so the hint tells what the dealer would really pay).
    """
    quote = _resolve_rules(inputs, qty)
    promo = inputs.promo
    if promo is None:
        return quote
    next_break = quote.next_break
    if next_break is not None:
        next_break = replace(next_break, unit_price_fen=promo.apply(next_break.unit_price_fen))
    exact = inputs.tier_percent_price() if quote.rule == RULE_TIER else None
    return PriceQuote(
        quote.sku_id,
        promo.apply(quote.unit_price_fen, exact),
        quote.list_price_fen,
        RULE_PROMOTION,
        {
            "promo": promo.name,
            "promo_id": promo.promo_id,
            "off_bp": promo.off_bp,
            "before_fen": quote.unit_price_fen,
            "base_rule": quote.rule,
            "base": dict(quote.rule_params),
        },
        next_break,
    )


def _resolve_rules(inputs: PriceInputs, qty: int) -> PriceQuote:
    """resolve() before promotions: contract, volume break, tier, list."""
    if qty < 0:
        raise ValueError("quantity must not be negative")
    list_price = inputs.base_price_fen
    if inputs.contract_price_fen is not None:
        # A contract price wins outright; volume breaks do not apply, so none is offered.
        return PriceQuote(inputs.sku_id, inputs.contract_price_fen, list_price, RULE_CONTRACT, {})

    reached = None
    upcoming = None
    for min_qty, price_fen in sorted(inputs.breaks):
        if qty >= min_qty:
            reached = (min_qty, price_fen)
        elif upcoming is None:
            upcoming = (min_qty, price_fen)

    next_break = None
    if upcoming is not None:
        next_break = NextBreak(
            more_qty=upcoming[0] - qty,
            min_qty=upcoming[0],
            unit_price_fen=upcoming[1],
            base_unit=inputs.base_unit,
            pack_name=inputs.pack_name,
            pack_factor=inputs.pack_factor,
        )

    if reached is not None:
        min_qty, price_fen = reached
        params: dict[str, Any] = {"tier": inputs.tier_name, "min_qty": min_qty}
        packs = _in_packs(min_qty, inputs.pack_factor)
        if packs is not None and inputs.pack_name:
            params.update(pack=inputs.pack_name, packs=packs)
        else:
            params["unit"] = inputs.base_unit
        return PriceQuote(inputs.sku_id, price_fen, list_price, RULE_VOLUME, params, next_break)

    tier_price = inputs.tier_unit_price_fen()
    if tier_price is not None:
        params = {"tier": inputs.tier_name}
        if inputs.tier_price_fen is None and inputs.tier_percent_bp is not None:
            params["percent_bp"] = inputs.tier_percent_bp
        return PriceQuote(inputs.sku_id, tier_price, list_price, RULE_TIER, params, next_break)

    return PriceQuote(inputs.sku_id, list_price, list_price, RULE_BASE, {}, next_break)


def bracket(rule: str, params: dict[str, Any]) -> tuple[str, int | None]:
    """Which price-list rule gave a price, and from which volume break: two quantities in
    the same bracket cost the same per unit (a percentage-off promotion does not depend on
    the quantity). So a placed line whose quantity staff change within its bracket keeps its
    price (later price-list and promotion changes never alter a placed order); only a break
    reached or lost prices it again."""
    if rule == RULE_PROMOTION:
        rule, params = str(params.get("base_rule", RULE_BASE)), params.get("base") or {}
    min_qty = params.get("min_qty") if rule == RULE_VOLUME else None
    return rule, None if min_qty is None else int(min_qty)


# Msgids (English); the catalogs carry the Chinese ("%(tier)s价, 满 %(packs)s %(pack)s").
LABEL_CONTRACT = _("Contract price")
LABEL_VOLUME_PACKS = _("%(tier)s price, from %(packs)s %(pack)s")
LABEL_VOLUME_UNITS = _("%(tier)s price, from %(min_qty)s %(unit)s")
LABEL_TIER = _("%(tier)s price")
LABEL_BASE = _("List price")
LABEL_NEXT_BREAK = _("%(qty)s more %(unit)s → %(price)s/%(base_unit)s")
LABEL_PROMOTION = _("%(base)s, %(promotion)s: %(percent)s off")


def base_rule(rule: str, params: dict[str, Any]) -> str:
    """The price list's rule under a promotion's percentage off (contract, volume_break, tier
    or base), or, for a staff-set price, the rule that gave the dealer's own price then."""
    if rule == RULE_PROMOTION:
        return str(params.get("base_rule") or RULE_BASE)
    if rule == "manual":  # orders.RULE_MANUAL (orders imports this module)
        return str(params.get("ref_rule") or "")
    return rule


def rule_label(rule: str, params: dict[str, Any]) -> str:
    """Which rule gave a price, in the reader's language."""
    if rule == RULE_PROMOTION:
        off = int(params.get("off_bp", 0))
        return i18n.gettext(
            LABEL_PROMOTION,
            base=rule_label(str(params.get("base_rule", RULE_BASE)), params.get("base") or {}),
            promotion=params.get("promo", ""),
            percent=promotions.percent_text(off),
            zhe=promotions.zhe_text(off),
        )
    if rule == RULE_CONTRACT:
        return i18n.gettext(LABEL_CONTRACT)
    if rule == RULE_VOLUME:
        if params.get("packs") is not None and params.get("pack"):
            return i18n.gettext(
                LABEL_VOLUME_PACKS,
                tier=params.get("tier", ""),
                packs=params["packs"],
                pack=params["pack"],
            )
        return i18n.gettext(
            LABEL_VOLUME_UNITS,
            tier=params.get("tier", ""),
            min_qty=params.get("min_qty", ""),
            unit=params.get("unit", ""),
        )
    if rule == RULE_TIER:
        return i18n.gettext(LABEL_TIER, tier=params.get("tier", ""))
    return i18n.gettext(LABEL_BASE)


def next_break_label(
    nb: NextBreak,
    base_unit: str | None = None,
    pack_name: str | None = None,
    pack_factor: int | None = None,
) -> str:
    """ "4 more 箱 → ¥1.80/瓶": in packs when the extra quantity is whole packs, else base units.

    The units default to those carried by the NextBreak (resolve() fills them in).
    """
    base_unit = base_unit if base_unit is not None else nb.base_unit
    pack_name = pack_name if pack_name is not None else nb.pack_name
    pack_factor = pack_factor if pack_factor is not None else nb.pack_factor
    packs = _in_packs(nb.more_qty, pack_factor)
    if packs is not None and pack_name:
        qty, unit = packs, pack_name
    else:
        qty, unit = nb.more_qty, base_unit
    return i18n.gettext(
        LABEL_NEXT_BREAK,
        qty=qty,
        unit=unit,
        price=i18n.money(nb.unit_price_fen),
        base_unit=base_unit,
    )


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


async def tier_name(tier_id: int) -> str:
    row = await Tier.select(Tier.name).where(Tier.id == tier_id).first()
    return row["name"] if row else ""


# Columns and joins that bring a SKU's tier price and the dealer's contract price into a query
# on "sku" (alias `s`); the joins take the tier id and the dealer id, in that order. Rows that
# carry these columns are priced by price_inputs_for_rows without the per-SKU price query.
PRICE_COLUMNS = (
    "tp.price_fen AS tp_price_fen, tp.percent_bp AS tp_percent_bp, cp.price_fen AS cp_price_fen"
)
PRICE_JOINS = (
    'LEFT JOIN "tier_price" tp ON tp.sku = s.id AND tp.tier = {} '
    'LEFT JOIN "contract_price" cp ON cp.sku = s.id AND cp.dealer = {}'
)
JOINED_PRICE_KEYS = ("tp_price_fen", "tp_percent_bp", "cp_price_fen")


# Columns that bring the rest of a SKU's pricing facts into the same query on "sku" (alias
# `s`): the tier's name, the SKU's pack units, the tier's volume breaks and the percentage-off
# promotions in force for the tier (as JSON arrays; the last is the same on every row and
# runs once). Placeholders: list_args(). Rows that carry these columns (and the
# PRICE_COLUMNS) are priced by price_inputs_for_rows without any query.
LIST_KEYS = ("tier_name", "packs_json", "breaks_json", promotions.PROMOS_KEY)


def list_args(dealer: dict) -> list[Any]:
    """The arguments of list_columns(), in order."""
    tier = int(dealer["tier"])
    return [tier, tier, *promotions.in_force_args(dealer, promotions.today())]


def list_columns() -> str:
    if is_sqlite(current_engine()):
        agg, arr = "json_group_array", "json_array"
    else:
        agg, arr = "json_agg", "json_build_array"
    return (
        '(SELECT t.name FROM "tier" t WHERE t.id = {}) AS tier_name, '
        f'(SELECT {agg}({arr}(pu.name, pu.factor)) FROM "pack_unit" pu '
        "WHERE pu.sku = s.id) AS packs_json, "
        f'(SELECT {agg}({arr}(vb.min_qty, vb.price_fen)) FROM "volume_break" vb '
        "WHERE vb.tier = {} AND vb.sku = s.id) AS breaks_json, "
        + promotions.in_force_column(agg, arr)
    )


def _json_pairs(value: Any) -> list[list[Any]]:
    """A JSON array of pairs as a list (NULL, when nothing was aggregated, is empty)."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str | bytes) else list(value)


def _listed(
    sku_rows: list[dict],
) -> tuple[str | None, dict[int, list[tuple[str, int]]], dict[int, list[tuple[int, int]]]]:
    """What _lists would return, read from rows that carry the LIST_KEYS columns."""
    name = next((r["tier_name"] for r in sku_rows if r["tier_name"] is not None), None)
    packs: dict[int, list[tuple[str, int]]] = {}
    breaks: dict[int, list[tuple[int, int]]] = {}
    for row in sku_rows:
        sku_id = int(row["id"])
        packs[sku_id] = [(str(n), int(f)) for n, f in _json_pairs(row["packs_json"])]
        breaks[sku_id] = [(int(m), int(p)) for m, p in _json_pairs(row["breaks_json"])]
    return name, packs, breaks


def _in_list(ids: list[int]) -> str:
    return ", ".join("{}" for _i in ids)


async def _joined_prices(tier_id: int, dealer_id: int, ids: list[int]) -> dict[int, dict]:
    """Tier price and contract price per SKU id: one query per batch."""
    found: dict[int, dict] = {}
    for chunk in _chunks(ids):
        rows = await fetch(
            f'SELECT s.id AS id, {PRICE_COLUMNS} FROM "sku" s {PRICE_JOINS} '
            f"WHERE s.id IN ({_in_list(chunk)})",
            int(tier_id),
            int(dealer_id),
            *chunk,
        )
        found.update({int(r["id"]): r for r in rows})
    return found


async def _lists(
    tier_id: int, ids: list[int]
) -> tuple[str | None, dict[int, list[tuple[str, int]]], dict[int, list[tuple[int, int]]]]:
    """The tier's name, pack units and the tier's volume breaks: one query per batch.

    A UNION ALL of three kinds of rows ("t" tier, "p" pack, "b" break), so a page of SKUs
    costs one round trip for all its multi-row pricing facts.
    """
    name: str | None = None
    packs: dict[int, list[tuple[str, int]]] = defaultdict(list)
    breaks: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for n, chunk in enumerate(_chunks(ids)):
        head = (
            "SELECT 't' AS kind, 0 AS sku, name AS label, 0 AS a, 0 AS b FROM \"tier\" "
            "WHERE id = {} UNION ALL "
            if n == 0
            else ""
        )
        rows = await fetch(
            head + "SELECT 'p' AS kind, sku, name AS label, factor AS a, 0 AS b "
            f'FROM "pack_unit" WHERE sku IN ({_in_list(chunk)}) UNION ALL '
            "SELECT 'b' AS kind, sku, '' AS label, min_qty AS a, price_fen AS b "
            f'FROM "volume_break" WHERE tier = {{}} AND sku IN ({_in_list(chunk)})',
            *([int(tier_id)] if n == 0 else []),
            *chunk,
            int(tier_id),
            *chunk,
        )
        for row in rows:
            if row["kind"] == "t":
                name = row["label"]
            elif row["kind"] == "p":
                packs[int(row["sku"])].append((row["label"], int(row["a"])))
            else:
                breaks[int(row["sku"])].append((int(row["a"]), int(row["b"])))
    return name, packs, breaks


async def price_inputs_for_rows(dealer: dict, sku_rows: list[dict]) -> dict[int, PriceInputs]:
    """PriceInputs for SKU rows already loaded (each with id, base_price_fen, base_unit).

    Two queries per batch of ids whatever the number of SKUs: tier and contract prices, then
    tier name, packs and breaks together; none for what the rows already carry (the
    PRICE_COLUMNS of PRICE_JOINS, the list_columns()).
    """
    ids = sorted({int(r["id"]) for r in sku_rows})
    if not ids:
        return {}
    tier_id = dealer["tier"]
    joined = all(all(k in r for k in JOINED_PRICE_KEYS) for r in sku_rows)
    prices = (
        {int(r["id"]): r for r in sku_rows}
        if joined
        else await _joined_prices(tier_id, dealer["id"], ids)
    )
    listed = all(all(k in r for k in LIST_KEYS) for r in sku_rows)
    tname, packs, breaks = _listed(sku_rows) if listed else await _lists(tier_id, ids)
    if tname is None:
        tname = ""
    today = promotions.today()
    in_force = promotions.from_column(sku_rows[0][promotions.PROMOS_KEY], today) if listed else None
    offs = await promotions.percent_offs(dealer, sku_rows, today, in_force=in_force)

    result: dict[int, PriceInputs] = {}
    for row in sku_rows:
        sku_id = int(row["id"])
        sku_packs = tuple(sorted(packs.get(sku_id, []), key=lambda p: (-p[1], p[0])))
        largest = sku_packs[0] if sku_packs else None
        price = prices.get(sku_id) or {}
        tp_fen = price.get("tp_price_fen")
        tp_bp = price.get("tp_percent_bp")
        cp_fen = price.get("cp_price_fen")
        result[sku_id] = PriceInputs(
            sku_id=sku_id,
            base_price_fen=int(row["base_price_fen"]),
            base_unit=row["base_unit"],
            pack_name=largest[0] if largest else None,
            pack_factor=largest[1] if largest else None,
            tier_name=tname,
            tier_price_fen=int(tp_fen) if tp_fen is not None else None,
            tier_percent_bp=int(tp_bp) if tp_bp is not None else None,
            breaks=tuple(sorted(breaks.get(sku_id, []))),
            contract_price_fen=int(cp_fen) if cp_fen is not None else None,
            packs=sku_packs,
            promo=offs.get(sku_id),
            in_force=in_force,
        )
    return result


async def price_inputs(dealer: dict, sku_ids: list[int]) -> dict[int, PriceInputs]:
    """PriceInputs per SKU id for this dealer (unknown ids are left out). Batched, no N+1."""
    ids = sorted({int(i) for i in sku_ids})
    rows: list[dict] = []
    for chunk in _chunks(ids):
        rows.extend(
            await Sku.select(Sku.id, Sku.base_price_fen, Sku.base_unit).where(Sku.id.is_in(chunk))
        )
    return await price_inputs_for_rows(dealer, rows)


async def quote(dealer: dict, quantities: dict[int, int]) -> dict[int, PriceQuote]:
    """The dealer's price per SKU for the given quantities (sku_id -> base units)."""
    inputs = await price_inputs(dealer, list(quantities))
    return {
        sku_id: resolve(inputs[sku_id], qty)
        for sku_id, qty in quantities.items()
        if sku_id in inputs
    }


def sort_price_sql(
    sku: str = "s",
    tier_price: str = "tp",
    contract: str = "cp",
    percent_off: list[tuple[str, int]] | None = None,
) -> str:
    """An SQL ordering key approximating resolve() at the first quantity (no volume breaks).

    Only for sorting a catalog page by the dealer's price; the price shown always comes from
    resolve(). Kept here so the rule's order (contract, tier fixed, tier %, base) lives in
    one module. Expects LEFT JOINs of contract_price `cp` and tier_price `tp`.

    percent_off: the percentage-off promotions in force, best first, as (SQL condition on
    the SKU row, basis points off): the first that holds for a SKU scales its price, as the
    best promotion does in resolve() (sort_promotions builds them).
    """
    price = (
        f"COALESCE({contract}.price_fen, {tier_price}.price_fen, "
        f"({sku}.base_price_fen * {tier_price}.percent_bp + 5000) / 10000, "
        f"{sku}.base_price_fen)"
    )
    if not percent_off:
        return price
    whens = " ".join(f"WHEN {cond} THEN {10000 - int(bp):d}" for cond, bp in percent_off)
    return f"({price} * CASE {whens} ELSE 10000 END)"
