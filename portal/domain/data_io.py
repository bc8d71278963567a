"""Bulk export and import (CSV or Excel) of products, prices, stock and dealers.

Every export's first row names its columns; an import reads a file with those names in its
first row (any order; unknown and read-only columns are ignored), so an exported file can
be edited and imported back. An import is all or nothing: every row is checked first and
any problem is reported by row number with nothing written; otherwise all rows are
applied in one transaction, each change audited. Blank cells leave a value as it is. A code
(warehouse, sku, tier, dealer) finds its row in any letter case (portal.domain.codes), so
two rows naming one in two spellings repeat each other.

- stock (warehouse staff, administrators): warehouse, sku, on_hand, safety_stock. On hand
  is set as a counted adjustment (below what orders hold, the newest orders' reservations give
  way, as on the stock page; backorders are filled).
- prices (administrators): tier, sku, min_qty, price, percent. Without min_qty (or 1) the
  tier's price: a fixed price or a percentage of the base price; with min_qty a volume break,
  which must cost less than the tier's price and any break at a smaller quantity.
- contract_prices (administrators): dealer, sku, price.
- dealers (administrators): code, name, tier, region, contact_phone, credit_limit,
  payment_terms_days, over_credit_policy (block or approval), overdue_policy (warn or
  block), credit_tolerance (an amount) and credit_tolerance_percent (of the limit; the
  greater applies: portal.domain.credit), active. A new code adds a dealer (name and tier
  needed).
- products (administrators): category ("饮料 / 水", made where missing), product, brand,
  sku, barcode, name, spec, colour, unit, base_price, cost_price (what a base unit costs the
  supplier, for approvers' gross margins; optional: a file without it changes no cost, and a
  blank cell keeps one), moq, order_multiple, active, weight_g, packs ("箱=24; 中包=6": every
  pack unit of the SKU, replacing its packs) and image (the product's picture, shared by its
  SKUs). A new SKU code adds a SKU (and its product and
  categories where needed), by the rule of a code typed on the SKU's page; an existing SKU's
  own fields, packs and its product's picture change, but not its code, unit, product, brand
  or category. A barcode is one SKU's (another SKU's, or one two rows give, is refused), and
  moq a multiple of order_multiple, as on the SKU's page. An uploaded picture's address only
  ever names its own product's picture. Carts and placed orders count in base units, so
  changed packs never alter them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from portal import i18n
from portal.db import write_transaction
from portal.domain import audit, catalog_admin, pinyin, stock
from portal.domain.catalog import category_lineage
from portal.domain.catalog_admin import (
    CODE_MAX,
    IMAGE_MAX,
    MAX_PACKS_TEXT,
    MAX_QTY,
    MAX_WEIGHT_G,
    ORDER_QTY_MAX,
    SKU_TEXT,
    breaks_not_lower,
    check_image,
    foreign_picture,
    lock_product_names,
    moq_problems,
    new_code_ok,
    own_picture_id,
    pack_problems,
    refuse_foreign_picture,
    unit_price,
    upsert_audited,
    whole,
    write_image,
    write_packs,
    write_sku_changes,
)
from portal.domain.codes import barcode_ok, folded, ids_by_code, rows_by_code
from portal.domain.dealers import DEALER_CODE, DEALER_PHONE
from portal.domain.errors import FieldError, Forbidden, ValidationFailed, _
from portal.domain.ledger import OVER_CREDIT_POLICIES, OVERDUE_POLICIES, tolerance_bp
from portal.domain.money import amount_fen, format_yuan, from_fen, percent_bp, percent_text
from portal.domain.order_files import read_rows
from portal.domain.scope import Actor, staff_warehouses
from portal.tables import (
    Category,
    ContractPrice,
    Dealer,
    PackUnit,
    Product,
    Sku,
    StockLevel,
    Tier,
    TierPrice,
    VolumeBreak,
    Warehouse,
)

KINDS = ("products", "prices", "contract_prices", "stock", "dealers")
IMPORTABLE = KINDS
KIND_LABELS = {
    "products": _("Products"),
    "prices": _("Tier prices and volume breaks"),
    "contract_prices": _("Contract prices"),
    "stock": _("Stock"),
    "dealers": _("Dealers"),
}
COLUMNS: dict[str, tuple[str, ...]] = {
    "products": (
        "category",
        "product",
        "brand",
        "sku",
        "barcode",
        "name",
        "spec",
        "colour",
        "unit",
        "base_price",
        "cost_price",
        "moq",
        "order_multiple",
        "active",
        "weight_g",
        "packs",
        "image",
    ),
    "prices": ("tier", "sku", "min_qty", "price", "percent"),
    "contract_prices": ("dealer", "sku", "price"),
    "stock": ("warehouse", "sku", "name", "on_hand", "reserved", "available", "safety_stock"),
    "dealers": (
        "code",
        "name",
        "tier",
        "region",
        "contact_phone",
        "credit_limit",
        "payment_terms_days",
        "over_credit_policy",
        "overdue_policy",
        "credit_tolerance",
        "credit_tolerance_percent",
        "active",
    ),
}
REQUIRED = {
    "products": ("sku",),
    "prices": ("tier", "sku"),
    "contract_prices": ("dealer", "sku", "price"),
    "stock": ("warehouse", "sku"),
    "dealers": ("code",),
}
MAX_ROWS = 5000
# How far down a file its column names may sit (below a title row, as the Excel export has).
HEADER_SEARCH_ROWS = 5
# The first characters a spreadsheet reads as a formula; an export puts an apostrophe before
# them (portal/export.py), which an import takes off again.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_FILE_BYTES = 2_000_000
TRUE = ("1", "true", "yes", "y", "是")
FALSE = ("0", "false", "no", "n", "否")


def may_use(actor: Actor, kind: str) -> bool:
    return actor.role == "admin" or (kind == "stock" and actor.role == "warehouse")


def kinds_for(actor: Actor) -> list[str]:
    return [k for k in KINDS if may_use(actor, k)]


def _require(actor: Actor, kind: str) -> None:
    if kind not in KINDS:
        raise ValidationFailed(errors=[FieldError("kind", _("Unknown kind of data."))])
    if not may_use(actor, kind):
        raise Forbidden(_("Your role cannot import or export this."))


# --- export ------------------------------------------------------------------------------------


def packs_cell(packs: list[tuple[str, int]]) -> str:
    """A SKU's pack units as the products file writes them, largest first: "箱=24; 中包=6"."""
    return "; ".join(f"{n}={f}" for n, f in sorted(packs, key=lambda p: (-p[1], p[0])))


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else from_fen(fen)


async def export_rows(actor: Actor, kind: str) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The header and the rows of an export (money as Decimal yuan)."""
    _require(actor, kind)
    if kind == "products":
        lineage = await category_lineage()

        def path(cid: int) -> str:
            return " / ".join(name for _id, name in lineage.get(cid, []))

        raw = await Sku.raw(
            "SELECT s.id, s.code, s.barcode, s.name, s.spec, s.colour, s.base_unit, "
            "s.base_price_fen, s.cost_price_fen, s.moq, s.order_multiple, s.active, s.weight_g, "
            "p.name AS product, p.brand, p.category, p.image "
            "FROM sku s JOIN product p ON p.id = s.product ORDER BY s.code"
        )
        packs: dict[int, list[tuple[str, int]]] = {}
        for pack in await PackUnit.select(PackUnit.sku, PackUnit.name, PackUnit.factor):
            packs.setdefault(pack["sku"], []).append((pack["name"], int(pack["factor"])))
        rows = [
            [
                path(r["category"]),
                r["product"],
                r["brand"],
                r["code"],
                r["barcode"],
                r["name"],
                r["spec"],
                r["colour"],
                r["base_unit"],
                _yuan(r["base_price_fen"]),
                _yuan(r["cost_price_fen"]),
                r["moq"],
                r["order_multiple"],
                1 if r["active"] else 0,
                r["weight_g"],
                packs_cell(packs.get(r["id"], [])),
                r["image"] or "",
            ]
            for r in raw
        ]
    elif kind == "prices":
        fixed = await TierPrice.raw(
            "SELECT t.code AS tier, s.code AS sku, tp.price_fen, tp.percent_bp "
            "FROM tier_price tp JOIN tier t ON t.id = tp.tier JOIN sku s ON s.id = tp.sku"
        )
        breaks = await VolumeBreak.raw(
            "SELECT t.code AS tier, s.code AS sku, vb.min_qty, vb.price_fen "
            "FROM volume_break vb JOIN tier t ON t.id = vb.tier JOIN sku s ON s.id = vb.sku"
        )
        rows = [
            [
                r["tier"],
                r["sku"],
                None,
                _yuan(r["price_fen"]),
                None if r["percent_bp"] is None else Decimal(r["percent_bp"]) / 100,
            ]
            for r in fixed
        ] + [[r["tier"], r["sku"], r["min_qty"], _yuan(r["price_fen"]), None] for r in breaks]
        rows.sort(key=lambda r: (r[0], r[1], r[2] or 0))
    elif kind == "contract_prices":
        raw = await ContractPrice.raw(
            "SELECT d.code AS dealer, s.code AS sku, cp.price_fen FROM contract_price cp "
            "JOIN dealer d ON d.id = cp.dealer JOIN sku s ON s.id = cp.sku ORDER BY d.code, s.code"
        )
        rows = [[r["dealer"], r["sku"], _yuan(r["price_fen"])] for r in raw]
    elif kind == "stock":
        # A warehouse user kept to some warehouses exports theirs only, as they see them.
        mine = await staff_warehouses(actor)
        only = "" if mine is None else f"WHERE sl.warehouse IN ({', '.join(map(str, mine))}) "
        raw = await StockLevel.raw(
            "SELECT w.code AS warehouse, s.code AS sku, s.name, sl.on_hand, sl.reserved, "
            "s.safety_stock FROM stock_level sl JOIN warehouse w ON w.id = sl.warehouse "
            f"JOIN sku s ON s.id = sl.sku {only}ORDER BY w.code, s.code"
        )
        rows = [
            [
                r["warehouse"],
                r["sku"],
                r["name"],
                r["on_hand"],
                r["reserved"],
                r["on_hand"] - r["reserved"],
                r["safety_stock"],
            ]
            for r in raw
        ]
    else:  # dealers
        raw = await Dealer.raw(
            "SELECT d.code, d.name, t.code AS tier, d.region, d.contact_phone, "
            "d.credit_limit_fen, d.payment_terms_days, d.over_credit_policy, d.overdue_policy, "
            "d.credit_tolerance_fen, d.credit_tolerance_bp, d.active "
            "FROM dealer d JOIN tier t ON t.id = d.tier ORDER BY d.code"
        )
        rows = [
            [
                r["code"],
                r["name"],
                r["tier"],
                r["region"],
                r["contact_phone"],
                _yuan(r["credit_limit_fen"]),
                r["payment_terms_days"],
                r["over_credit_policy"],
                r["overdue_policy"],
                _yuan(r["credit_tolerance_fen"]),
                percent_text(int(r["credit_tolerance_bp"] or 0)),
                1 if r["active"] else 0,
            ]
            for r in raw
        ]
    return COLUMNS[kind], rows


# --- import: reading and checking ----------------------------------------------------------------


@dataclass
class Result:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Rows:
    """The file's data rows as {column: text}, with their row numbers in the file."""

    rows: list[tuple[int, dict[str, str]]]
    errors: list[FieldError] = field(default_factory=list)

    seen: dict[Any, int] = field(default_factory=dict)
    # The warehouses the importer works in (a warehouse user given some), else None: all.
    warehouses: list[int] | None = None

    def error(self, row: int, message: str, **params: Any) -> None:
        self.errors.append(FieldError(f"row {row}", message, {"row": row, **params}))

    def once(self, row: int, key: Any) -> None:
        """An error if an earlier row had the same key (the same SKU in a warehouse, say)."""
        if key in self.seen:
            self.error(row, MSG_TWICE, first=self.seen[key])
        self.seen.setdefault(key, row)


def _table(kind: str, filename: str, data: bytes) -> _Rows:
    cells = read_rows(
        filename,
        data,
        max_cols=len(COLUMNS[kind]) + 10,
        max_rows=MAX_ROWS,
        max_bytes=MAX_FILE_BYTES,
    )
    filled = [(n, r) for n, r in enumerate(cells, start=1) if any(c.strip() for c in r)]
    if not filled:
        raise ValidationFailed(errors=[FieldError("file", _("The file has no lines."))])
    # The column names are the first row, or the first row naming them below a title or two:
    # the Excel export has its title above the columns, and must import again as it is.
    for start, (_n, row) in enumerate(filled[:HEADER_SEARCH_ROWS]):
        if all(c in [x.strip().lower() for x in row] for c in REQUIRED[kind]):
            filled = filled[start:]
            break
    header_no, header = filled[0]
    names = [c.strip().lower() for c in header]
    missing = [c for c in REQUIRED[kind] if c not in names]
    if missing:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "file",
                    _("The first row must name the columns; missing: %(columns)s."),
                    {"columns": ", ".join(missing)},
                )
            ]
        )
    if len(filled) == 1:
        raise ValidationFailed(
            errors=[FieldError("file", _("The file has no rows below its first row."))]
        )
    if len(filled) - 1 > MAX_ROWS:
        raise ValidationFailed(
            errors=[
                FieldError("file", _("A file may hold at most %(max)s rows."), {"max": MAX_ROWS})
            ]
        )
    wanted = {name: i for i, name in reversed(list(enumerate(names))) if name in COLUMNS[kind]}
    rows = [
        (n, {name: (_uninert(r[i].strip()) if i < len(r) else "") for name, i in wanted.items()})
        for n, r in filled[1:]
    ]
    return _Rows(rows)


def _uninert(text: str) -> str:
    """A cell as it was before an export disarmed it ("'=1+2" is "=1+2" again), so exporting
    and importing the same file changes nothing."""
    if text.startswith("'") and text[1:2] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def _flag(text: str) -> bool | None:
    low = text.strip().lower()
    return True if low in TRUE else False if low in FALSE else None


async def _ids(table: Any, codes: set[str]) -> dict[str, int]:
    """Ids by code as the file gives it: the exact code, else the one code differing from it
    only in letter case (sh finds the warehouse SH)."""
    return await ids_by_code(table, codes)


MSG_UNKNOWN = {
    "warehouse": _("Row %(row)s: no warehouse has the code %(code)s."),
    "product": _("Row %(row)s: no product has the code %(code)s."),
    "tier": _("Row %(row)s: no tier has the code %(code)s."),
    "dealer": _("Row %(row)s: no dealer has the code %(code)s."),
}
MSG_NUMBER = _("Row %(row)s: %(column)s must be a whole number from %(low)s to %(high)s.")
MSG_MONEY = _("Row %(row)s: %(column)s must be an amount such as 12.50.")
# A new SKU's row: the columns left blank that a new product needs.
MSG_NEW_NEEDS = _("Row %(row)s: a new product needs %(columns)s (blank here).")
MSG_BELOW_PACKED = _(
    "Row %(row)s: at least %(count)s must remain: that many are packed in parcels for orders."
)
MSG_BASE_BREAKS_ROW = _(
    "Row %(row)s: at this base price the %(tier)s price would be %(price)s, not above its "
    "volume break from %(qty)s (%(break_price)s): lower the break first."
)
MSG_BLANK = _("Row %(row)s: %(column)s is empty.")
MSG_TWICE = _("Row %(row)s repeats row %(first)s.")
MSG_TOO_LONG = _("Row %(row)s: %(column)s is too long (at most %(max)s characters).")
# A products file's packs cell, by problem (catalog_admin.pack_problems).
MSG_PACKS = {
    "format": _(
        "Row %(row)s: write packs as name=number of %(unit)s, separated by semicolons, such as "
        "box=24; inner=6."
    ),
    "name": _(
        "Row %(row)s: the name of pack %(n)s must be 1 to %(max)s characters, without spaces, "
        "= or ;."
    ),
    "factor": _("Row %(row)s: pack %(n)s must hold a whole number of %(unit)s from 2 to %(max)s."),
    "twice": _("Row %(row)s: two packs are named %(name)s."),
    "base": _("Row %(row)s: %(name)s is the base unit itself, not a pack."),
    "many": _("Row %(row)s: at most %(max)s pack units."),
}
MSG_IMAGE = _(
    "Row %(row)s: image must be an address starting with https://, or a path "
    "starting with /static/, of at most %(max)s characters."
)
MSG_IMAGE_TWICE = _(
    "Row %(row)s: row %(first)s gives the same product another image (a product has one "
    "picture for all its SKUs)."
)
MSG_IMAGE_OTHER = _(
    "Row %(row)s: image is the address of a picture uploaded for another product, or of one "
    "replaced since; upload this product's picture on its page, or give another address."
)
MSG_BARCODE = _(
    "Row %(row)s: barcode must be 4 to 40 letters, digits or dashes, not starting or ending "
    "with a dash."
)
MSG_BARCODE_TAKEN = _("Row %(row)s: the barcode %(barcode)s belongs to %(code)s.")
MSG_BARCODE_TWICE = _("Row %(row)s: row %(first)s gives the barcode %(barcode)s to %(code)s.")
MSG_MOQ_MULTIPLE = _("Row %(row)s: moq must be a multiple of order_multiple (%(multiple)s).")
# A volume break's price, when it is not below the price it breaks from (by row): the row's
# own break, or a row whose price an existing break would no longer be below.
MSG_BREAK_NOT_LOWER = _(
    "Row %(row)s: a volume break's price must be lower than %(price)s, the price it breaks from."
)
MSG_BREAK_UNDERCUT = _(
    "Row %(row)s: the volume break from %(qty)s at %(price)s would no longer be lower than "
    "this price."
)
# The rule of a new SKU's code on its page (catalog_admin.new_code_ok), by row.
MSG_CODE = _(
    "Row %(row)s: a new sku must be a code of 1 to %(max)s letters, digits or signs such as "
    "- _ . /, without spaces, commas or semicolons."
)


# --- import: one function per kind; each returns the changes to apply in the transaction ------

Change = Callable[[Actor, datetime], Awaitable[str]]  # "created" | "updated" | "unchanged"


async def _plan_stock(t: _Rows) -> list[Change]:
    warehouses = await _ids(Warehouse, {r["warehouse"] for _n, r in t.rows})
    if t.warehouses is not None:  # another team's warehouse reads as one that does not exist
        warehouses = {code: wh for code, wh in warehouses.items() if wh in t.warehouses}
    skus = await _ids(Sku, {r["sku"] for _n, r in t.rows})
    plan: list[Change] = []
    for n, r in t.rows:
        wh, sku = warehouses.get(r["warehouse"]), skus.get(r["sku"])
        if wh is None:
            t.error(n, MSG_UNKNOWN["warehouse"], code=r["warehouse"][:40])
        if sku is None:
            t.error(n, MSG_UNKNOWN["product"], code=r["sku"][:40])
        on_hand = whole(r["on_hand"]) if r.get("on_hand") else None
        safety = whole(r["safety_stock"]) if r.get("safety_stock") else None
        if r.get("on_hand") and on_hand is None:
            t.error(n, MSG_NUMBER, column="on_hand", low=0, high=MAX_QTY)
        if r.get("safety_stock") and safety is None:
            t.error(n, MSG_NUMBER, column="safety_stock", low=0, high=MAX_QTY)
        key = (folded(r["warehouse"]), folded(r["sku"]))  # SH and sh are one warehouse
        t.once(n, key)
        if wh is None or sku is None:
            continue
        plan.append(_stock_change(n, wh, sku, on_hand, safety))
    return plan


def _stock_change(n: int, wh: int, sku: int, on_hand: int | None, safety: int | None) -> Change:
    async def apply(actor: Actor, now: datetime) -> str:
        outcome = "unchanged"
        if on_hand is not None:
            row = (
                await StockLevel.select(StockLevel.on_hand)
                .where((StockLevel.warehouse == wh) & (StockLevel.sku == sku))
                .first()
            )
            if row is None or row["on_hand"] != on_hand:
                try:
                    await stock.adjust_in_transaction(
                        actor,
                        wh,
                        sku,
                        "count",
                        on_hand,
                        i18n.gettext("Imported"),  # stored text: the importer's language
                        now,
                        create_row=True,
                        # A stock-take counts what is on the shelf, as a count on the stock
                        # page does: below what orders hold, the newest orders' reservations
                        # give way (another warehouse serves them, or they wait).
                        give_way=True,
                    )
                except ValidationFailed as exc:  # more is packed in parcels than counted
                    raise ValidationFailed(
                        errors=[FieldError(f"row {n}", MSG_BELOW_PACKED, {"row": n, **exc.params})]
                    ) from None
                outcome = "created" if row is None else "updated"
        if safety is not None:
            before = await Sku.select(Sku.safety_stock).where(Sku.id == sku).first()
            if before["safety_stock"] != safety:
                await Sku.update({Sku.safety_stock: safety}).where(Sku.id == sku)
                await audit.record(
                    actor,
                    "sku.safety_stock",
                    "sku",
                    sku,
                    {"safety_stock": before["safety_stock"]},
                    {"safety_stock": safety},
                    now=now,
                )
                outcome = "updated" if outcome == "unchanged" else outcome
        return outcome

    return apply


async def _plan_prices(t: _Rows) -> list[Change]:
    tiers = await _ids(Tier, {r["tier"] for _n, r in t.rows})
    skus = await _ids(Sku, {r["sku"] for _n, r in t.rows})
    plan: list[Change] = []
    # What the file sets per (tier, sku): the tier's price and its breaks, with their rows.
    prices: dict[tuple[int, int], _PricesSet] = {}
    for n, r in t.rows:
        tier, sku = tiers.get(r["tier"]), skus.get(r["sku"])
        if tier is None:
            t.error(n, MSG_UNKNOWN["tier"], code=r["tier"][:40])
        if sku is None:
            t.error(n, MSG_UNKNOWN["product"], code=r["sku"][:40])
        min_qty = whole(r.get("min_qty") or "1", 1, MAX_QTY)
        if min_qty is None:
            t.error(n, MSG_NUMBER, column="min_qty", low=1, high=MAX_QTY)
            continue
        price_text, percent_text = r.get("price", ""), r.get("percent", "")
        price = amount_fen(price_text) if price_text else None
        if price_text and price is None:
            t.error(n, MSG_MONEY, column="price")
            continue
        bp = percent_bp(percent_text) if percent_text else None
        if percent_text and bp is None:
            t.error(n, _("Row %(row)s: percent must be from 0.01 to 100."))
            continue
        if min_qty == 1 and (price is None) == (bp is None):
            t.error(n, _("Row %(row)s: give either a price or a percent."))
            continue
        if min_qty > 1 and (price is None or bp is not None):
            t.error(n, _("Row %(row)s: a volume break needs a price and no percent."))
            continue
        key = (folded(r["tier"]), folded(r["sku"]), min_qty)
        t.once(n, key)
        if tier is None or sku is None:
            continue
        given = prices.setdefault((tier, sku), _PricesSet())
        if min_qty == 1:
            given.price = (n, price, bp)
        else:
            assert price is not None
            given.breaks[min_qty] = (n, price)
        plan.append(_price_change(tier, sku, min_qty, price, bp))
    await _check_break_prices(t, prices)
    return plan


@dataclass
class _PricesSet:
    """A prices file's rows for one tier and SKU: its price (row, fen, percent bp) and its
    volume breaks (min qty -> row, fen)."""

    price: tuple[int, int | None, int | None] | None = None
    breaks: dict[int, tuple[int, int]] = field(default_factory=dict)


async def _check_break_prices(t: _Rows, given: dict[tuple[int, int], _PricesSet]) -> None:
    """Each volume break, as the file leaves the tier's prices for a SKU (its rows over what
    is stored), must cost less than what it breaks from (catalog_admin.breaks_not_lower). A
    break the file gives is refused on its row; a stored one the file's price or break would
    no longer undercut, on that row. Problems the file touches no row of are not its own."""
    if not given:
        return
    sku_ids = sorted({sku for _tier, sku in given})
    tier_ids = sorted({tier for tier, _sku in given})
    base = {
        r["id"]: int(r["base_price_fen"])
        for r in await Sku.select(Sku.id, Sku.base_price_fen).where(Sku.id.is_in(sku_ids))
    }
    stored_price = {
        (r["tier"], r["sku"]): (r["price_fen"], r["percent_bp"])
        for r in await TierPrice.select().where(
            TierPrice.sku.is_in(sku_ids) & TierPrice.tier.is_in(tier_ids)
        )
    }
    stored_breaks: dict[tuple[int, int], dict[int, int]] = {}
    for r in await VolumeBreak.select().where(
        VolumeBreak.sku.is_in(sku_ids) & VolumeBreak.tier.is_in(tier_ids)
    ):
        stored_breaks.setdefault((r["tier"], r["sku"]), {})[r["min_qty"]] = int(r["price_fen"])
    for key, rows in given.items():
        price_row = None
        fen, bp = stored_price.get(key, (None, None))
        if rows.price is not None:
            price_row, fen, bp = rows.price
        tier_fen = _tier_unit_fen(base[key[1]], fen, bp)
        breaks = {qty: (None, price) for qty, price in stored_breaks.get(key, {}).items()}
        breaks.update(rows.breaks)
        ordered = sorted(breaks.items())
        for index, above in breaks_not_lower([(q, p) for q, (_n, p) in ordered], tier_fen):
            qty, (row, price) = ordered[index]
            if row is not None:
                t.error(row, MSG_BREAK_NOT_LOWER, price=format_yuan(above))
                continue
            # A stored break: the row that set what it breaks from is at fault, if any.
            before = price_row if index == 0 else ordered[index - 1][1][0]
            if before is not None:
                t.error(before, MSG_BREAK_UNDERCUT, qty=qty, price=format_yuan(price))


def _tier_unit_fen(base_fen: int, price_fen: int | None, bp: int | None) -> int:
    """What a tier's first volume break breaks from: its price per base unit, else the base
    price (a tier without a price pays that)."""
    fen = unit_price(base_fen, price_fen, bp)
    return base_fen if fen is None else fen


def _price_change(tier: int, sku: int, min_qty: int, price: int | None, bp: int | None) -> Change:
    async def apply(actor: Actor, now: datetime) -> str:
        if min_qty == 1:
            table, where = TierPrice, (TierPrice.tier == tier) & (TierPrice.sku == sku)
            values = {"price_fen": price, "percent_bp": bp}
        else:
            table = VolumeBreak
            where = (
                (VolumeBreak.tier == tier)
                & (VolumeBreak.sku == sku)
                & (VolumeBreak.min_qty == min_qty)
            )
            values = {"price_fen": price}
        return await upsert_audited(
            actor,
            now,
            table,
            where,
            values,
            {"tier": tier, "sku": sku, "min_qty": min_qty}
            if min_qty > 1
            else {"tier": tier, "sku": sku},
            "price.imported",
        )

    return apply


async def _plan_contract_prices(t: _Rows) -> list[Change]:
    dealers = await _ids(Dealer, {r["dealer"] for _n, r in t.rows})
    skus = await _ids(Sku, {r["sku"] for _n, r in t.rows})
    plan: list[Change] = []
    for n, r in t.rows:
        dealer, sku = dealers.get(r["dealer"]), skus.get(r["sku"])
        if dealer is None:
            t.error(n, MSG_UNKNOWN["dealer"], code=r["dealer"][:40])
        if sku is None:
            t.error(n, MSG_UNKNOWN["product"], code=r["sku"][:40])
        price = amount_fen(r["price"]) if r["price"] else None
        if price is None:
            t.error(n, MSG_MONEY, column="price")
        key = (folded(r["dealer"]), folded(r["sku"]))
        t.once(n, key)
        if dealer is None or sku is None or price is None:
            continue

        def change(dealer=dealer, sku=sku, price=price) -> Change:
            async def apply(actor: Actor, now: datetime) -> str:
                return await upsert_audited(
                    actor,
                    now,
                    ContractPrice,
                    (ContractPrice.dealer == dealer) & (ContractPrice.sku == sku),
                    {"price_fen": price},
                    {"dealer": dealer, "sku": sku},
                    "price.imported",
                )

            return apply

        plan.append(change())
    return plan


async def _plan_dealers(t: _Rows) -> list[Change]:
    tiers = await _ids(Tier, {r["tier"] for _n, r in t.rows if r.get("tier")})
    known = await _ids(Dealer, {r["code"] for _n, r in t.rows})
    plan: list[Change] = []
    for n, r in t.rows:
        code = r["code"]
        if not code:
            t.error(n, MSG_BLANK, column="code")
            continue
        if len(code) > 20:
            t.error(n, MSG_TOO_LONG, column="code", max=20)
            continue
        if code not in known and not DEALER_CODE.match(code):
            # The rule of a code typed on the new-dealer page (existing codes stay as they are).
            t.error(n, _("Row %(row)s: use letters, digits, - or _ in a new dealer's code."))
            continue
        values: dict[str, Any] = {}
        for column, limit in (("name", 100), ("region", 50), ("contact_phone", 32)):
            text = r.get(column, "")
            if len(text) > limit:
                t.error(n, MSG_TOO_LONG, column=column, max=limit)
            elif column == "contact_phone" and text and not DEALER_PHONE.match(text):
                t.error(n, _("Row %(row)s: contact_phone must be a phone number of digits."))
            elif text:
                values[column] = text
        if r.get("tier"):
            if r["tier"] in tiers:
                values["tier"] = tiers[r["tier"]]
            else:
                t.error(n, MSG_UNKNOWN["tier"], code=r["tier"][:40])
        for column, key in (
            ("credit_limit", "credit_limit_fen"),
            ("credit_tolerance", "credit_tolerance_fen"),
        ):
            if r.get(column):
                fen = amount_fen(r[column])
                if fen is None:
                    t.error(n, MSG_MONEY, column=column)
                else:
                    values[key] = fen
        if r.get("payment_terms_days"):
            days = whole(r["payment_terms_days"], 0, 365)
            if days is None:
                t.error(n, MSG_NUMBER, column="payment_terms_days", low=0, high=365)
            else:
                values["payment_terms_days"] = days
        for column, allowed, message in (
            (
                "over_credit_policy",
                OVER_CREDIT_POLICIES,
                _("Row %(row)s: over_credit_policy must be block or approval."),
            ),
            (
                "overdue_policy",
                OVERDUE_POLICIES,
                _("Row %(row)s: overdue_policy must be warn or block."),
            ),
        ):
            if r.get(column):
                if r[column] in allowed:
                    values[column] = r[column]
                else:
                    t.error(n, message)
        if r.get("credit_tolerance_percent"):
            bp = tolerance_bp(r["credit_tolerance_percent"])
            if bp is None:
                t.error(
                    n,
                    _("Row %(row)s: credit_tolerance_percent must be a percentage from 0 to 100."),
                )
            else:
                values["credit_tolerance_bp"] = bp
        if r.get("active"):
            flag = _flag(r["active"])
            if flag is None:
                t.error(n, _("Row %(row)s: active must be 1 or 0."))
            else:
                values["active"] = flag
        if code not in known and ("name" not in values or "tier" not in values):
            t.error(n, _("Row %(row)s: a new dealer needs a name and a tier."))
        t.once(n, folded(code))  # d01 and D01 are one dealer
        plan.append(_dealer_change(code, known.get(code), values))
    return plan


def _dealer_change(code: str, dealer_id: int | None, values: dict[str, Any]) -> Change:
    async def apply(actor: Actor, now: datetime) -> str:
        if dealer_id is None:
            row = Dealer(**pinyin.with_keys(Dealer, {"code": code, "created_at": now, **values}))
            await Dealer.insert(row)
            await audit.record(
                actor, "dealer.imported", "dealer", row.id, {}, {"code": code, **values}, now=now
            )
            return "created"
        before = await Dealer.select().where(Dealer.id == dealer_id).first()
        changed = {k: v for k, v in values.items() if before[k] != v}
        if not changed:
            return "unchanged"
        keyed = pinyin.with_keys(Dealer, changed)
        await Dealer.update({getattr(Dealer, k): v for k, v in keyed.items()}).where(
            Dealer.id == dealer_id
        )
        await audit.record(
            actor,
            "dealer.imported",
            "dealer",
            dealer_id,
            {k: before[k] for k in changed},
            changed,
            now=now,
        )
        return "updated"

    return apply


PRODUCT_TEXT = {"product": 120, "brand": 50}


def _category_path(text: str) -> list[str]:
    return [part.strip() for part in text.split("/") if part.strip()]


async def _existing_skus(codes: set[str]) -> dict[str, dict]:
    """The SKUs a products file names, by code as the file gives it (in any letter case: an
    existing SKU is found by its code, which never changes)."""
    found = await rows_by_code(Sku, codes)
    ids = sorted({r["id"] for r in found.values()})
    by_id: dict[int, dict] = {}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        for r in await Sku.raw(
            "SELECT s.id, s.code, s.base_unit, s.base_price_fen, s.moq, s.order_multiple, "
            "p.id AS product_id, "
            "p.name AS product, p.brand, p.category, p.image FROM sku s "
            "JOIN product p ON p.id = s.product "
            "WHERE s.id IN (" + ", ".join("{}" for _id in chunk) + ")",
            *chunk,
        ):
            by_id[r["id"]] = r
    return {code: by_id[r["id"]] for code, r in found.items()}


async def _check_barcodes(t: _Rows, given: list[tuple[int, str, str, int | None]]) -> None:
    """A barcode is one SKU's: refuse on its row a barcode another SKU has now (a file cannot
    hand one over: give the other SKU a new one first), and one that two rows give to two
    SKUs. `given`: (row, its sku as the file gives it, barcode, the SKU's id, None if new)."""
    wanted = sorted({barcode for _n, _code, barcode, _id in given})
    owners: dict[str, list[dict]] = {}
    for start in range(0, len(wanted), 400):
        chunk = wanted[start : start + 400]
        for r in await Sku.select(Sku.id, Sku.code, Sku.barcode).where(Sku.barcode.is_in(chunk)):
            owners.setdefault(r["barcode"], []).append(r)
    first: dict[str, tuple[int, str]] = {}
    for n, code, barcode, sku_id in given:
        other = next((o for o in owners.get(barcode, []) if o["id"] != sku_id), None)
        if other is not None:
            t.error(n, MSG_BARCODE_TAKEN, barcode=barcode, code=other["code"])
            continue
        earlier = first.setdefault(barcode, (n, code))
        if folded(earlier[1]) != folded(code):
            t.error(n, MSG_BARCODE_TWICE, first=earlier[0], barcode=barcode, code=earlier[1])


async def _plan_products(t: _Rows) -> list[Change]:
    existing = await _existing_skus({r["sku"] for _n, r in t.rows})
    barcodes: list[tuple[int, str, str, int | None]] = []
    paths = {
        cid: [name for _id, name in chain] for cid, chain in (await category_lineage()).items()
    }
    shown = await _uploads_shown(t, paths)
    plan: list[Change] = []
    new_bases: dict[int, tuple[int, int]] = {}  # sku id -> (row, new base price)
    images: dict[Any, tuple[int, str]] = {}  # product -> the first row giving it an image
    for n, r in t.rows:
        code = r["sku"]
        if not code:
            t.error(n, MSG_BLANK, column="sku")
            continue
        values: dict[str, Any] = {}
        for column, limit in {**SKU_TEXT, **PRODUCT_TEXT, "unit": 10}.items():
            if len(r.get(column, "")) > limit:
                t.error(n, MSG_TOO_LONG, column=column, max=limit)
        for column in SKU_TEXT:
            if r.get(column):
                values[column] = r[column][: SKU_TEXT[column]]
        if r.get("base_price"):
            price = amount_fen(r["base_price"])
            if price is None:
                t.error(n, MSG_MONEY, column="base_price")
            else:
                values["base_price_fen"] = price
        if r.get("cost_price"):
            cost = amount_fen(r["cost_price"])
            if cost is None:
                t.error(n, MSG_MONEY, column="cost_price")
            else:
                values["cost_price_fen"] = cost
        for column in ("moq", "order_multiple"):
            if r.get(column):
                number = whole(r[column], 1, ORDER_QTY_MAX)
                if number is None:
                    t.error(n, MSG_NUMBER, column=column, low=1, high=ORDER_QTY_MAX)
                else:
                    values[column] = number
        if r.get("active"):
            flag = _flag(r["active"])
            if flag is None:
                t.error(n, _("Row %(row)s: active must be 1 or 0."))
            else:
                values["active"] = flag
        if r.get("weight_g"):
            weight = whole(r["weight_g"], 0, MAX_WEIGHT_G)
            if weight is None:
                t.error(n, MSG_NUMBER, column="weight_g", low=0, high=MAX_WEIGHT_G)
            else:
                values["weight_g"] = weight
        path = _category_path(r.get("category", ""))
        if any(len(part) > 50 for part in path):
            t.error(n, MSG_TOO_LONG, column="category", max=50)
        t.once(n, folded(code))  # bv-0001 and BV-0001 are one SKU
        old = existing.get(code)
        if "moq" in values or "order_multiple" in values:
            moq = values.get("moq", old["moq"] if old else 1)
            multiple = values.get("order_multiple", old["order_multiple"] if old else 1)
            for problem in moq_problems(moq, multiple):
                t.error(n, MSG_MOQ_MULTIPLE, **problem.params)
        if r.get("barcode") and len(r["barcode"]) <= SKU_TEXT["barcode"]:
            if not barcode_ok(r["barcode"]):
                t.error(n, MSG_BARCODE)
            else:
                barcodes.append((n, code, r["barcode"], old["id"] if old else None))
        if old is None and not new_code_ok(code):
            # Only a new code: an existing SKU is found by its code, which never changes.
            t.error(n, MSG_CODE, max=CODE_MAX)
        packs = _packs(t, n, r.get("packs", ""), old["base_unit"] if old else r.get("unit", ""))
        image = None
        if r.get("image"):
            image = check_image(r["image"])
            product = old["product_id"] if old else (tuple(path), r.get("product", ""))
            current = (old["image"] or "") if old else shown.get(product, "")
            if image is None:
                t.error(n, MSG_IMAGE, max=IMAGE_MAX)
            elif foreign_picture(image, current):
                t.error(n, MSG_IMAGE_OTHER)
            else:
                # One picture per product: rows of its SKUs must not disagree.
                first = images.setdefault(product, (n, image))
                if first[1] != image:
                    t.error(n, MSG_IMAGE_TWICE, first=first[0])
        if old is None:
            # The blank ones, by name (a base_price that is not an amount is told above).
            missing = [
                column
                for column, given in (
                    ("category", path),
                    ("product", r.get("product")),
                    ("name", r.get("name")),
                    ("unit", r.get("unit")),
                    ("base_price", r.get("base_price")),
                )
                if not given
            ]
            if missing:
                t.error(n, MSG_NEW_NEEDS, columns=", ".join(missing))
            if missing or "base_price_fen" not in values:
                continue
            plan.append(
                _new_sku(
                    code,
                    path,
                    r["product"],
                    r.get("brand", ""),
                    r["unit"],
                    values,
                    packs,
                    image,
                )
            )
            continue
        if r.get("unit") and r["unit"] != old["base_unit"]:
            t.error(
                n,
                _(
                    "Row %(row)s: the unit of an existing product cannot change "
                    "(stock and orders count in it)."
                ),
            )
        moved = (
            (r.get("product") and r["product"] != old["product"])
            or (r.get("brand") and r["brand"] != old["brand"])
            or (path and path != paths.get(old["category"]))
        )
        if moved:
            t.error(
                n,
                _(
                    "Row %(row)s: category, product and brand of an existing product "
                    "cannot change by import; leave them as exported or blank."
                ),
            )
        if values.get("base_price_fen", old["base_price_fen"]) != old["base_price_fen"]:
            new_bases[old["id"]] = (n, values["base_price_fen"])
        plan.append(_sku_update(old["id"], old["product_id"], values, packs, image))
    await _check_barcodes(t, barcodes)
    # A lower base price must not leave a volume break dearer than the price it breaks from.
    broken = await catalog_admin.breaks_broken_by_base({k: v[1] for k, v in new_bases.items()})
    for sku_id, problems in broken.items():
        for params in problems:
            t.error(new_bases[sku_id][0], MSG_BASE_BREAKS_ROW, **params)
    return plan


async def _uploads_shown(t: _Rows, paths: dict[int, list[str]]) -> dict[Any, str]:
    """The uploaded pictures the file names that products show now, by (category path,
    product name): a new SKU's row may give its product the picture it already has."""
    wanted = sorted({r["image"] for _n, r in t.rows if own_picture_id(r.get("image", ""))})
    if not wanted:
        return {}
    rows = await Product.select(Product.name, Product.category, Product.image).where(
        Product.image.is_in(wanted)
    )
    return {(tuple(paths.get(r["category"], [])), r["name"]): r["image"] for r in rows}


PACK_SEPARATORS = re.compile(r"[;；]")


def _packs(t: _Rows, n: int, cell: str, base_unit: str) -> list[tuple[str, int]] | None:
    """A row's packs cell ("箱=24; 中包=6") as (name, factor) pairs; None if it is blank (the
    SKU keeps its packs) or wrong (the problems are recorded against the row)."""
    if not cell:
        return None
    if len(cell) > MAX_PACKS_TEXT:
        t.error(n, MSG_TOO_LONG, column="packs", max=MAX_PACKS_TEXT)
        return None
    pairs: list[tuple[str, str | int] | None] = []
    for item in PACK_SEPARATORS.split(cell):
        if item.strip():
            parts = item.replace("＝", "=").split("=")
            pairs.append((parts[0].strip(), parts[1].strip()) if len(parts) == 2 else None)
    packs, problems = pack_problems(pairs, base_unit)
    for key, params in problems:
        t.error(n, MSG_PACKS[key], **{"unit": base_unit, **params})
    return None if problems else packs


async def _category_for(path: list[str], actor: Actor, now: datetime) -> int:
    """The category at this path of names, made (and audited) where it does not exist."""
    parent = None
    for name in path:
        query = Category.select(Category.id).where(Category.name == name)
        query = query.where(
            Category.parent.is_null() if parent is None else Category.parent == parent
        )
        row = await query.first()
        if row is None:
            made = Category(name=name, parent=parent)
            await Category.insert(made)
            await audit.record(
                actor,
                "category.imported",
                "category",
                made.id,
                {},
                {"name": name, "parent": parent},
                now=now,
            )
            parent = made.id
        else:
            parent = row["id"]
    assert parent is not None
    return parent


def _new_sku(
    code: str,
    path: list[str],
    product: str,
    brand: str,
    unit: str,
    values: dict[str, Any],
    packs: list[tuple[str, int]] | None,
    image: str | None,
) -> Change:
    async def apply(actor: Actor, now: datetime) -> str:
        category = await _category_for(path, actor, now)
        found = (
            await Product.select(Product.id)
            .where((Product.name == product) & (Product.category == category))
            .first()
        )
        if found is None:
            await refuse_foreign_picture(None, image or "")
            fields = {"name": product, "category": category, "brand": brand, "image": image or ""}
            made = Product(**pinyin.with_keys(Product, fields))
            await Product.insert(made)
            product_id = made.id
            await audit.record(
                actor, "product.imported", "product", product_id, {}, fields, now=now
            )
        else:
            product_id = found["id"]
            if image:
                await write_image(actor, product_id, image, now)
        row = Sku(
            **pinyin.with_keys(
                Sku, {"code": code, "product": product_id, "base_unit": unit, **values}
            )
        )
        await Sku.insert(row)
        await audit.record(
            actor,
            "sku.imported",
            "sku",
            row.id,
            {},
            {"code": code, "base_unit": unit, **values},
            now=now,
        )
        if packs:
            await write_packs(actor, row.id, packs, now)
        return "created"

    return apply


def _sku_update(
    sku_id: int,
    product_id: int,
    values: dict[str, Any],
    packs: list[tuple[str, int]] | None,
    image: str | None,
) -> Change:
    async def apply(actor: Actor, now: datetime) -> str:
        changed = await write_sku_changes(actor, sku_id, values, "sku.imported", now)
        if packs is not None and await write_packs(actor, sku_id, packs, now):
            changed = True
        if image and await write_image(actor, product_id, image, now):
            changed = True
        return "updated" if changed else "unchanged"

    return apply


PLANNERS = {
    "products": _plan_products,
    "stock": _plan_stock,
    "prices": _plan_prices,
    "contract_prices": _plan_contract_prices,
    "dealers": _plan_dealers,
}
MAX_ERRORS_SHOWN = 100


async def import_file(
    actor: Actor, kind: str, filename: str, data: bytes, *, now: datetime | None = None
) -> Result:
    """Check every row, then apply them all in one transaction; ValidationFailed (errors by
    row, the first MAX_ERRORS_SHOWN) and nothing written if any row is wrong."""
    _require(actor, kind)
    if kind not in IMPORTABLE:
        raise ValidationFailed(errors=[FieldError("kind", _("This data cannot be imported."))])
    now = now or datetime.now(UTC)
    table = _table(kind, filename, data)
    table.warehouses = await staff_warehouses(actor)
    plan = await PLANNERS[kind](table)
    if table.errors:
        # In row order, as the file is read (each check adds its own, one after another).
        in_order = sorted(table.errors, key=lambda e: int(e.params.get("row", 0) or 0))
        raise ValidationFailed(
            _("Nothing was imported. Problems found: %(n)s."),
            {"n": len(table.errors)},
            errors=in_order[:MAX_ERRORS_SHOWN],
        )
    result = Result()
    async with write_transaction():
        if kind == "products":
            # Products are found (or added) by category and name: under the lock that a
            # product added or renamed on its page takes, so neither adds a second one.
            await lock_product_names()
        for change in plan:
            outcome = await change(actor, now)
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result
