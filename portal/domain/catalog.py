"""What a dealer (or a rep for a dealer) sees of the catalog: search, product pages, favourites.

Visibility is part of every query: only active products and SKUs, and a "restricted"
product only for the tiers and dealers its product_visibility rows name. Lists are built
with a fixed number of queries per page (batched by ids), never one query per row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from portal.db import bytewise, current_engine, fetch, is_sqlite, write_transaction
from portal.domain import pinyin, promotions, scripts, search_rankings, supplier
from portal.domain.errors import Forbidden, NotFound, _
from portal.domain.money import line_total_fen
from portal.domain.pricing import (
    BATCH,
    PRICE_COLUMNS,
    PRICE_JOINS,
    PriceInputs,
    PriceQuote,
    list_args,
    list_columns,
    price_inputs_for_rows,
    resolve,
    sort_price_sql,
)
from portal.domain.scope import Actor
from portal.tables import Category, Favourite, Sku

SORTS = ("relevance", "name", "price_asc", "price_desc", "code")
KEPT_SORTS = ("relevance", "name", "code")  # a search in these orders may be kept
AVAILABILITY = ("in_stock", "low", "out")
MAX_PER_PAGE = 100
MAX_TERMS = 5
MAX_QUERY_CHARS = 100
# A page counts the matching SKUs exactly up to this many (or up to the end of the page
# asked for, if further); beyond it the total is a lower bound (CatalogPage.total_exact).
COUNT_CAP = 1000
ESC = " ESCAPE '\\'"
# Orders that never became a purchase do not count as "bought before".
NOT_BOUGHT_STATUSES = ("cancelled", "rejected")


@dataclass(frozen=True)
class BoughtBefore:
    qty: int  # base units on the latest order line
    unit_price_fen: int
    at: datetime | None  # when that order was placed
    order_number: str = ""


@dataclass(frozen=True)
class CatalogItem:
    sku_id: int
    product_id: int
    code: str
    barcode: str
    name: str
    spec: str
    colour: str
    unit: str
    pack_name: str | None
    pack_factor: int | None
    moq: int
    order_multiple: int
    image: str
    quote: PriceQuote  # priced at first_qty
    availability: str  # "in_stock" | "low" | "out"
    available_qty: int  # across active warehouses; pages decide whether to show it
    allow_backorder: bool
    favourite: bool
    bought_before: BoughtBefore | None
    # Additions beyond the agreed interface:
    first_qty: int = 1  # smallest quantity meeting both the MOQ and the order multiple
    product_name: str = ""
    category_id: int | None = None
    safety_stock: int = 0
    packs: tuple[tuple[str, int], ...] = ()  # every pack unit (name, factor), largest first
    weight_g: int = 0  # one base unit; 0: not known
    price_inputs: PriceInputs | None = field(default=None, repr=False, compare=False)

    def pack_price_fen(
        self, factor: int | None = None, quote: PriceQuote | None = None
    ) -> int | None:
        """What one pack costs at the price shown (1 箱 = 24 瓶 at ¥2.13 a 瓶: ¥51.12); the
        largest pack unless a factor is given, None for a SKU sold only in its base unit.

        At the first quantity's price unless `quote` is another quantity's: a row showing the
        price for what is in the cart (a volume break reached) prices its pack the same.
        """
        factor = factor or self.pack_factor
        price = (quote or self.quote).unit_price_fen
        return line_total_fen(price, factor) if factor else None

    def quote_for(self, qty: int) -> PriceQuote:
        """The price at another quantity, without a query (the item carries its inputs)."""
        if self.price_inputs is None:
            raise ValueError("item has no price inputs")
        return resolve(self.price_inputs, qty)

    def break_quotes(self) -> list[tuple[int, PriceQuote]]:
        """What the dealer pays from each volume break above the first quantity, promotions
        applied (none under a contract price, which breaks do not touch)."""
        inputs = self.price_inputs
        if inputs is None or inputs.contract_price_fen is not None:
            return []
        return [(m, self.quote_for(m)) for m, _p in inputs.breaks if m > self.first_qty]


@dataclass(frozen=True)
class CatalogPage:
    items: list[CatalogItem]
    page: int
    per_page: int
    has_more: bool
    total: int  # exact, or a lower bound ("1000+") when total_exact is False
    total_exact: bool = True


@dataclass(frozen=True)
class ProductDetail:
    product: dict[str, Any]  # id, name, brand, description, image, category, category_name
    skus: list[CatalogItem]
    specs: list[str]
    colours: list[str]
    grid: dict[tuple[str, str], CatalogItem]  # (spec, colour) -> variant
    breaks: dict[int, list[tuple[int, int]]]  # sku_id -> [(min_qty, unit_price_fen)]
    packs: dict[int, list[tuple[str, int]]]  # sku_id -> [(name, factor)], largest first


def availability(available: int, safety_stock: int) -> str:
    """How a dealer sees stock: "out" at or below zero, "low" under the SKU's safety stock
    (a SKU without safety stock is never "low"), otherwise "in_stock"."""
    if available <= 0:
        return "out"
    if available < safety_stock:
        return "low"
    return "in_stock"


async def shows_stock_figures(actor: Actor, defaults: supplier.Defaults) -> bool:
    """Whether the actor sees how much is available: staff always; dealers see in stock / low
    / out, and the figure too where the supplier turns that on (its settings, else the
    defaults: PORTAL_SHOW_STOCK_NUMBERS)."""
    return actor.is_staff or (await supplier.current(defaults)).show_stock_numbers


def first_qty(moq: int, order_multiple: int) -> int:
    """The smallest sensible quantity: a multiple of the order multiple, at least the MOQ."""
    multiple = max(int(order_multiple or 1), 1)
    minimum = max(int(moq or 1), 1)
    return -(-minimum // multiple) * multiple


# --- SQL assembly ----------------------------------------------------------------------------


class SqlText:
    """Raw SQL with Piccolo "{}" placeholders, arguments kept in text order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, text: str, *args: Any) -> SqlText:
        assert text.count("{}") == len(args), text
        self.parts.append(text)
        self.args.extend(args)
        return self

    def add_in(self, prefix: str, values: list[Any], suffix: str = ")") -> SqlText:
        """`prefix{}, {}, ...suffix`: an IN list (callers never pass an empty one)."""
        return self.add(prefix + ", ".join("{}" for _v in values) + suffix, *values)

    async def run(self) -> list[dict]:
        return await fetch(" ".join(self.parts), *self.args)


def _term_filter(term: str) -> tuple[str, list[Any]]:
    """`AND (...)`: SKUs whose name, product name or brand contains `term`, or whose code or
    barcode starts with it (case aside); a term of Latin letters also finds a SKU whose name's
    pinyin or initials contain it.

    The names are one column, sku.search_text (lower-cased and without spaces, kept by
    triggers: migrations 2026-11-25T14:00:07 and 21, so that 康师傅冰红茶 finds 康师傅 冰红茶),
    so the filter is one condition on the SKU table. On PostgreSQL its
    three parts each have an index (pg_trgm GIN on search_text, or for a two-character term
    the bigram GIN, and btree pattern indexes on LOWER(code) and barcode), which the planner
    ORs into one bitmap. SQLite's LIKE already ignores ASCII case. A code or barcode matches
    from its start only: "550" (550ml) must not find every barcode with 550 inside.
    """
    sqlite = is_sqlite(current_engine())
    text = term if sqlite else term.lower()
    code = "s.code" if sqlite else "LOWER(s.code)"
    names, names_arg = f"s.search_text LIKE {{}}{ESC}", f"%{_escape_like(text)}%"
    if not sqlite and len(text) == 2:
        # Too short for the trigram index; the bigram index (migration 2026-11-25T14:00:12)
        # has it: the text contains a two-character term exactly when it is one of its bigrams.
        names, names_arg = "s.search_bigrams @> ARRAY[{}]::text[]", text
    args = [names_arg, f"{_escape_like(text)}%", f"{_escape_like(term)}%"]
    simplified = scripts.simplified(text)
    if simplified != text:
        # Typed in Traditional characters (a 繁體 keyboard: 檸檬): the names are kept as the
        # supplier wrote them, in Simplified as a rule, so the Simplified form finds them too.
        if not sqlite and len(simplified) == 2:
            names = f"({names} OR s.search_bigrams @> ARRAY[{{}}]::text[])"
            args.insert(1, simplified)
        else:
            names = f"({names} OR s.search_text LIKE {{}}{ESC})"
            args.insert(1, f"%{_escape_like(simplified)}%")
    by_pinyin = ""
    if pinyin.finds_by_pinyin(term):
        # Latin letters: also the name's pinyin or its initials (binghong, bhc: 冰红茶), a
        # column of their own (sku.pinyin, migration 2026-11-27T13:40:00, pg_trgm GIN).
        by_pinyin = f" OR s.pinyin LIKE {{}}{ESC}"
        args.append(f"%{_escape_like(term.lower())}%")
    sql = f"AND ({names} OR {code} LIKE {{}}{ESC} OR s.barcode LIKE {{}}{ESC}{by_pinyin})"
    return sql, args


def _relevance(q: str) -> tuple[str, list[Any]]:
    """The relevance rank of a SKU for the whole query, case aside: 0 its code or barcode is
    the query, 1 its code starts with it, 2 its name or its product's name does, 3 the rest.
    Returns the expression (over the SKU table alone) and its arguments.

    Nothing is lower-cased per row: LOWER() on multibyte text cost 5 ms over the 5,000
    matches of 冰红茶. The codes that are or start with the query come from the code index
    once (hashed); search_text begins with the SKU's lower-cased name, and product_key is
    the product's, both kept by triggers."""
    whole = q.strip()[:MAX_QUERY_CHARS]
    prefix = f"{_escape_like(whole.lower())}%"
    # search_text has no spaces (migration 2026-11-25T14:00:21): nor has its prefix.
    text_prefix = f"{_escape_like(''.join(whole.lower().split()))}%"
    rank = (
        'CASE WHEN s.barcode = {} OR s.id IN (SELECT c.id FROM "sku" c WHERE LOWER(c.code) = {}) '
        'THEN 0 WHEN s.id IN (SELECT c.id FROM "sku" c '
        f"WHERE LOWER(c.code) LIKE {{}}{ESC}) THEN 1 "
        f"WHEN s.search_text LIKE {{}}{ESC} OR s.product_key LIKE {{}}{ESC} "
        "THEN 2 ELSE 3 END"
    )
    return rank, [whole, whole.lower(), prefix, text_prefix, prefix]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _truthy(value: Any) -> bool:
    return bool(value) and value not in ("0", "f", "false")


ITEM_COLUMNS = (
    "s.id AS id, s.product AS product_id, s.code AS code, s.barcode AS barcode, "
    "s.name AS name, s.spec AS spec, s.colour AS colour, s.base_unit AS base_unit, "
    "s.base_price_fen AS base_price_fen, s.moq AS moq, s.order_multiple AS order_multiple, "
    "s.safety_stock AS safety_stock, s.allow_backorder AS allow_backorder, "
    "s.weight_g AS weight_g, "
    "p.name AS product_name, p.image AS image, p.category AS category_id"
)
FROM_VISIBLE = 'FROM "sku" s JOIN "product" p ON p.id = s.product'
# What an item needs beyond its row, in the same query: the dealer's tier and contract price,
# the stock available in active warehouses, whether the dealer starred it, and the tier name,
# pack units and volume breaks (pricing.list_columns). Placeholders: see _detail_columns;
# the query then takes PRICE_JOINS' tier id and dealer id.
DETAIL_COLUMNS = (
    f"{PRICE_COLUMNS}, "
    '(SELECT SUM(sl.on_hand - sl.reserved) FROM "stock_level" sl JOIN "warehouse" w '
    "ON w.id = sl.warehouse WHERE w.active = {} AND sl.sku = s.id) AS available, "
    '(SELECT COUNT(*) FROM "favourite" f WHERE f.dealer = {} AND f.sku = s.id) AS fav_n'
)


def _detail_columns(sql: SqlText, dealer: dict) -> SqlText:
    """`SELECT ITEM_COLUMNS, DETAIL_COLUMNS, list columns` with their arguments."""
    return sql.add(
        f"SELECT {ITEM_COLUMNS}, {DETAIL_COLUMNS}, {list_columns()}",
        True,
        int(dealer["id"]),
        *list_args(dealer),
    )


def visible_where(sql: SqlText, dealer: dict) -> SqlText:
    """WHERE: active SKU of an active product the dealer may see (by tier or by name)."""
    return sql.add(
        "WHERE s.active = {} AND p.active = {} AND (p.visibility = 'all' OR EXISTS ("
        'SELECT 1 FROM "product_visibility" pv WHERE pv.product = p.id '
        "AND (pv.tier = {} OR pv.dealer = {})))",
        True,
        True,
        int(dealer["tier"]),
        int(dealer["id"]),
    )


async def visible_sku_ids(dealer: dict, sku_ids: Iterable[int]) -> set[int]:
    """Which of these SKUs the dealer may see (visible_where): a promotion naming one it may
    not, or giving it away, is nothing to show or give that dealer."""
    ids = sorted({int(i) for i in sku_ids})
    if not ids:
        return set()
    sql = SqlText().add('SELECT s.id FROM "sku" s JOIN "product" p ON p.id = s.product')
    visible_where(sql, dealer).add_in("AND s.id IN (", ids)
    return {int(r["id"]) for r in await sql.run()}


def _listed_where(sql: SqlText, dealer: dict) -> SqlText:
    """WHERE for a query of the SKU table alone (no product join), the same SKUs as
    visible_where: the SKU's row says whether its product is listed to all; a SKU of any
    other product is looked up (active, and visible to the dealer by tier or by name)."""
    return sql.add(
        "WHERE s.active = {} AND (s.listed = {} OR EXISTS ("
        'SELECT 1 FROM "product" p WHERE p.id = s.product AND p.active = {} AND EXISTS ('
        'SELECT 1 FROM "product_visibility" pv WHERE pv.product = p.id '
        "AND (pv.tier = {} OR pv.dealer = {}))))",
        True,
        True,
        True,
        int(dealer["tier"]),
        int(dealer["id"]),
    )


def _check_actor(actor: Actor, dealer: dict) -> None:
    # The caller resolved the dealer through scope; a dealer user is still never another's.
    if actor.is_dealer and actor.dealer_id != dealer["id"]:
        raise NotFound(_("Dealer not found."))


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + BATCH] for i in range(0, len(values), BATCH)]


# --- building items (a fixed number of queries per batch) ------------------------------------


async def _available(sku_ids: list[int]) -> dict[int, int]:
    """Stock available per SKU in active warehouses (for rows without DETAIL_COLUMNS)."""
    result: dict[int, int] = {}
    for chunk in _chunks(sku_ids):
        sql = SqlText().add(
            "SELECT sl.sku AS sku, SUM(sl.on_hand - sl.reserved) AS available "
            'FROM "stock_level" sl JOIN "warehouse" w ON w.id = sl.warehouse WHERE w.active = {}',
            True,
        )
        sql.add_in("AND sl.sku IN (", chunk, ") GROUP BY sl.sku")
        for row in await sql.run():
            result[int(row["sku"])] = int(row["available"] or 0)
    return result


async def _favourites(dealer: dict, sku_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(sku_ids):
        rows = await Favourite.select(Favourite.sku).where(
            Favourite.dealer == dealer["id"], Favourite.sku.is_in(chunk)
        )
        found.update(int(r["sku"]) for r in rows)
    return found


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bought_query(sql: SqlText, dealer: dict, sku_filter: str, *args: Any) -> SqlText:
    """The dealer's order lines of some SKUs (cancelled and rejected orders and free gift
    lines aside: what was bought, at what price), each numbered by rn per SKU, 1 for the
    latest."""
    sql.add(
        "SELECT ol.sku AS sku, ol.qty AS qty, ol.unit_price_fen AS unit_price_fen, "
        "o.created_at AS created_at, o.number AS number, ROW_NUMBER() OVER ("
        "PARTITION BY ol.sku ORDER BY o.created_at DESC, o.id DESC, ol.id DESC) AS rn "
        'FROM "order_line" ol JOIN "sales_order" o ON o.id = ol."order" '
        "WHERE ol.dealer = {} AND ol.price_rule <> 'gift'",
        int(dealer["id"]),
    )
    sql.add_in("AND o.status NOT IN (", list(NOT_BOUGHT_STATUSES))
    return sql.add(f"AND {sku_filter}", *args)


# The latest purchase as columns of a catalog row (search joins _bought_query as "bb").
BOUGHT_COLUMNS = (
    "bb.qty AS bb_qty, bb.unit_price_fen AS bb_unit_price_fen, "
    "bb.created_at AS bb_created_at, bb.number AS bb_number"
)


def _bought(row: dict, prefix: str = "") -> BoughtBefore:
    return BoughtBefore(
        qty=int(row[f"{prefix}qty"]),
        unit_price_fen=int(row[f"{prefix}unit_price_fen"]),
        at=_as_datetime(row[f"{prefix}created_at"]),
        order_number=row[f"{prefix}number"] or "",
    )


async def bought_before(dealer: dict, sku_ids: list[int]) -> dict[int, BoughtBefore]:
    """The dealer's latest order line per SKU (cancelled and rejected orders aside)."""
    result: dict[int, BoughtBefore] = {}
    for chunk in _chunks(sku_ids):
        sql = SqlText().add("SELECT sku, qty, unit_price_fen, created_at, number FROM (")
        _bought_query(sql, dealer, "ol.sku IN (" + ", ".join("{}" for _c in chunk) + ")", *chunk)
        for row in await sql.add(") latest WHERE rn = 1").run():
            result[int(row["sku"])] = _bought(row)
    return result


async def _items(
    dealer: dict,
    rows: list[dict],
    quantities: dict[int, int] | None = None,
    *,
    history: bool = True,
) -> list[CatalogItem]:
    """CatalogItems for visible SKU rows (ITEM_COLUMNS), in the rows' order; with the dealer's
    last purchase of each (bought_before) unless history=False."""
    if not rows:
        return []
    ids = [int(r["id"]) for r in rows]
    inputs = await price_inputs_for_rows(dealer, rows)
    if all("available" in r and "fav_n" in r for r in rows):
        stock = {int(r["id"]): int(r["available"] or 0) for r in rows}
        favs = {int(r["id"]) for r in rows if int(r["fav_n"] or 0) > 0}
    else:
        stock = await _available(ids)
        favs = await _favourites(dealer, ids)
    if not history:
        bought = {}
    elif "bb_qty" in rows[0]:  # search's rows carry it
        bought = {int(r["id"]): _bought(r, "bb_") for r in rows if r["bb_qty"] is not None}
    else:
        bought = await bought_before(dealer, ids)
    items = []
    for row in rows:
        sku_id = int(row["id"])
        inp = inputs[sku_id]
        moq, multiple = int(row["moq"]), int(row["order_multiple"])
        start = first_qty(moq, multiple)
        asked = (quantities or {}).get(sku_id)
        qty = asked if asked is not None and asked > 0 else start
        available = stock.get(sku_id, 0)
        safety = int(row["safety_stock"] or 0)
        items.append(
            CatalogItem(
                sku_id=sku_id,
                product_id=int(row["product_id"]),
                code=row["code"],
                barcode=row["barcode"] or "",
                name=row["name"],
                spec=row["spec"] or "",
                colour=row["colour"] or "",
                unit=row["base_unit"],
                pack_name=inp.pack_name,
                pack_factor=inp.pack_factor,
                moq=moq,
                order_multiple=multiple,
                image=row["image"] or "",
                quote=resolve(inp, qty),
                availability=availability(available, safety),
                available_qty=available,
                allow_backorder=_truthy(row["allow_backorder"]),
                favourite=sku_id in favs,
                bought_before=bought.get(sku_id),
                first_qty=start,
                product_name=row["product_name"],
                category_id=row["category_id"],
                safety_stock=safety,
                packs=inp.packs,
                weight_g=int(row["weight_g"] or 0),
                price_inputs=inp,
            )
        )
    return items


async def _visible_rows(
    dealer: dict, where: str, *args: Any, order: str = "s.id", details: bool = True
) -> list[dict]:
    """Visible SKU rows (ITEM_COLUMNS), with DETAIL_COLUMNS unless details=False."""
    sql = SqlText()
    if details:
        _detail_columns(sql, dealer).add(
            f"{FROM_VISIBLE} {PRICE_JOINS}", int(dealer["tier"]), int(dealer["id"])
        )
    else:
        sql.add(f"SELECT {ITEM_COLUMNS} {FROM_VISIBLE}")
    visible_where(sql, dealer)
    sql.add(where, *args)
    sql.add(f"ORDER BY {order}")
    return await sql.run()


# --- public use cases ------------------------------------------------------------------------


async def category_rows() -> list[dict]:
    """Every category (id, name, parent), by sort then name: what category_tree and
    search's category filter are made from, so a page reading both reads the table once."""
    # Raw SQL: on every catalog page, where building Piccolo's query cost more than running it.
    return await Category.raw('SELECT id, name, parent FROM "category" ORDER BY sort, name, id')


def tree_of(rows: list[dict]) -> list[dict]:
    """category_rows as a tree: [{"id", "name", "children": [...]}], in the rows' order."""
    nodes = {r["id"]: {"id": r["id"], "name": r["name"], "children": []} for r in rows}
    roots = []
    for r in rows:
        parent = nodes.get(r["parent"]) if r["parent"] is not None else None
        (parent["children"] if parent else roots).append(nodes[r["id"]])
    return roots


async def category_tree() -> list[dict]:
    """Every category as a tree: [{"id", "name", "children": [...]}], by sort then name."""
    return tree_of(await category_rows())


async def category_lineage() -> dict[int, list[tuple[int, str]]]:
    """Each category id → the (id, name) of its ancestors and itself, the top level first."""
    rows = {r["id"]: r for r in await category_rows()}
    lineage: dict[int, list[tuple[int, str]]] = {}
    for cid in rows:
        chain, at = [], cid
        while at in rows and all(at != seen for seen, _name in chain):
            chain.append((at, rows[at]["name"]))
            at = rows[at]["parent"]
        lineage[cid] = chain[::-1]
    return lineage


def subtree_ids(rows: list[dict], category_id: int) -> set[int]:
    """The category and every category under it, from rows with id and parent."""
    children: dict[int, list[int]] = {}
    for r in rows:
        if r["parent"] is not None:
            children.setdefault(int(r["parent"]), []).append(int(r["id"]))
    found, todo = {category_id}, [category_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


async def category_subtree(category_id: int, rows: list[dict] | None = None) -> list[int]:
    """The category and every category under it (ids, sorted); empty if there is no such
    category. rows: category_rows, when the caller already has them."""
    if rows is None:
        rows = await category_rows()
    if all(int(r["id"]) != category_id for r in rows):
        return []
    return sorted(subtree_ids(rows, category_id))


async def gift_offers(dealer: dict, items: list[CatalogItem]) -> dict[int, list[str]]:
    """The 买赠 offers buying these items earns, as labels per SKU id, for the dealer to see
    before they are earned (no query when none is in force for the items' page)."""
    if not items:
        return {}
    inputs = items[0].price_inputs
    return await promotions.gift_offers(
        dealer,
        [item.sku_id for item in items],
        in_force=inputs.in_force if inputs is not None else None,
    )


async def _sort_promotions(dealer: dict, categories: list[dict] | None) -> list[tuple[str, int]]:
    """The percentage-off promotions in force for the dealer today, best first, as (SQL
    condition on the SKU row `s`, basis points off) for sorting by price: a SKU's own, its
    category's (sub-categories included) or every SKU's. Ids are integers of ours, written
    into the statement."""
    promos = await promotions.in_force_for(dealer, promotions.today(), (promotions.PERCENT_OFF,))
    if not promos:
        return []
    rows = categories if categories is not None else await category_rows()
    offs = []
    for p in sorted(promos, key=lambda p: -p.percent_bp):
        if p.sku_id is not None:
            cond = f"s.id = {int(p.sku_id):d}"
        elif p.category_id is not None:
            tree = ", ".join(f"{cid:d}" for cid in sorted(subtree_ids(rows, int(p.category_id))))
            if not tree:
                continue
            cond = f'(s.product IN (SELECT c.id FROM "product" c WHERE c.category IN ({tree})))'
        else:
            cond = "1 = 1"
        offs.append((cond, p.percent_bp))
    return offs


# A run of Chinese characters, or a run of anything else: the words of a term typed without
# spaces, as a Chinese keyboard types 冰红茶1L (the name 冰红茶 and the spec 1L).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SCRIPT_RUNS = re.compile(f"[{_HAN}]+|[^{_HAN}]+")


def _search_terms(q: str | None) -> list[str]:
    """The query's words: split at spaces and where Chinese meets Latin letters or digits
    ("冰红茶1L" is 冰红茶 and 1L, as "冰红茶 1L"); every word must match."""
    if not q:
        return []
    terms = [
        run for word in q.strip()[:MAX_QUERY_CHARS].split() for run in _SCRIPT_RUNS.findall(word)
    ]
    return terms[:MAX_TERMS]


async def search(
    actor: Actor,
    dealer: dict,
    *,
    q: str | None = None,
    category_id: int | None = None,
    in_stock: bool = False,
    favourites: bool = False,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    categories: list[dict] | None = None,
) -> CatalogPage:
    """A page of the catalog as this dealer sees it, at the dealer's prices.

    categories: category_rows, when the caller has already read them (the catalog page, for
    its menu); otherwise a category filter reads them.

    q: every whitespace-separated term must match the SKU name, product name or brand by
    substring (Chinese included), or the SKU code or barcode by prefix. Unknown sorts fall
    back to relevance: the exact code or barcode first, then codes that start with the
    query, then SKU or product names that do, then the rest, each by product name and code.
    The total is exact up to COUNT_CAP, then a lower bound. Whatever the page size, a
    listing is one statement (its rows with their stock, prices, packs, breaks, favourites,
    the dealer's last purchases and the total) and a search two (the second: _search_details).
    """
    _check_actor(actor, dealer)
    page = max(int(page), 1)
    per_page = min(max(int(per_page), 1), MAX_PER_PAGE)
    if sort not in SORTS:
        sort = "relevance"
    terms = _search_terms(q)
    whole = (q or "").strip()[:MAX_QUERY_CHARS]  # what the terms and the ranking are of

    # A search reads the SKU table alone: each SKU row carries its product's name and
    # whether the product is listed to all (active, visibility "all"), so only the SKUs of
    # other products are looked up (migration 2026-11-25T14:00:13). Joining every match to
    # its product had been most of a search's time (13 ms for 5,000 of 100,000 SKUs). A
    # listing walks the products in name order instead (the product_category_name index).
    sku_only = bool(terms)

    # The category's subtree as a list of ids written into the statement, so the planner
    # knows which categories (and how many products) it is looking at: as a recursive CTE
    # it guessed half the catalog and walked the whole product-name index.
    in_tree = ""
    if category_id is not None:
        tree = await category_subtree(int(category_id), categories)
        ids = ", ".join(f"{cid:d}" for cid in tree)
        if not tree:
            in_tree = "AND 1 = 0"
        elif sku_only:
            in_tree = f'AND s.product IN (SELECT c.id FROM "product" c WHERE c.category IN ({ids}))'
        else:
            in_tree = f"AND p.category IN ({ids})"

    def filtered(
        sql: SqlText, select: str, select_args: tuple = (), joins: str = "", join_args: tuple = ()
    ) -> SqlText:
        source = 'FROM "sku" s' if sku_only else FROM_VISIBLE
        sql.add(f"{select} {source} {joins}", *select_args, *join_args)
        (_listed_where if sku_only else visible_where)(sql, dealer)
        for term in terms:
            clause, args = _term_filter(term)
            sql.add(clause, *args)
        if category_id is not None:
            sql.add(in_tree)
        if in_stock:
            # Per row, so a page stops early instead of summing the stock of every SKU.
            sql.add(
                'AND (SELECT SUM(sl.on_hand - sl.reserved) FROM "stock_level" sl '
                'JOIN "warehouse" w ON w.id = sl.warehouse WHERE w.active = {} '
                "AND sl.sku = s.id) > 0",
                True,
            )
        if favourites:
            sql.add(
                'AND s.id IN (SELECT f.sku FROM "favourite" f WHERE f.dealer = {})',
                int(dealer["id"]),
            )
        return sql

    # The order as keys (expression, direction); the last key, s.id, makes it total.
    joins, join_args = "", ()
    key_args: list[Any] = []
    if sort == "name":  # pinyin order (portal/domain/pinyin.py), then the name itself
        keys = [(bytewise("s.name_key"), ""), ("s.name", ""), ("s.code", ""), ("s.id", "")]
    elif sort == "code":
        keys = [("s.code", ""), ("s.id", "")]
    elif sort in ("price_asc", "price_desc"):
        joins = (
            'LEFT JOIN "contract_price" cp ON cp.sku = s.id AND cp.dealer = {} '
            'LEFT JOIN "tier_price" tp ON tp.sku = s.id AND tp.tier = {}'
        )
        join_args = (int(dealer["id"]), int(dealer["tier"]))
        direction = " ASC" if sort == "price_asc" else " DESC"
        offs = await _sort_promotions(dealer, categories)
        price_key = sort_price_sql("s", "tp", "cp", percent_off=offs)
        keys = [(price_key, direction), ("s.name", ""), ("s.id", "")]
    elif terms:
        rank, key_args = _relevance(q or "")
        keys = [
            (rank, ""),
            (bytewise("s.product_key"), ""),
            (bytewise("s.code"), ""),
            ("s.id", ""),
        ]
    else:  # by product, in pinyin order
        keys = [(bytewise("p.name_key"), ""), ("p.name", ""), ("s.code", ""), ("s.id", "")]

    # One statement: the page's ids, sorted on narrow rows (with the ordering keys), then
    # everything about those ids (stock, prices, favourites) and the total, counted (capped)
    # up to COUNT_CAP (or the end of the page asked for): beyond that the total is a lower
    # bound. The page's own size gives the total when it is the last page. (A search sorts
    # every match, but counting them in the same pass, a window over all of them, cost more
    # than counting to the cap apart: 2 ms against 0.5 for 5,000 matches.)
    offset = (page - 1) * per_page
    cap = max(COUNT_CAP, offset + per_page + 1)
    key_select = ", ".join(f"{expr} AS k{n}" for n, (expr, _d) in enumerate(keys))
    inner_order = ", ".join(f"k{n}{d}" for n, (_e, d) in enumerate(keys))
    outer_order = ", ".join(f"pg.k{n}{d}" for n, (_e, d) in enumerate(keys))
    # The order of a search or a listing may be kept (search_rankings): not one that stock,
    # favourites or prices take part in, nor beyond its first KEEP_IDS.
    keepable = (
        not in_stock
        and not favourites
        and sort in KEPT_SORTS
        and offset + per_page + 1 <= search_rankings.KEEP_IDS
    )
    kept = (
        await _kept_search_page(
            dealer, search_rankings.key_of(dealer, whole, category_id, sort), offset, per_page
        )
        if keepable
        else None
    )

    def page_ids() -> SqlText:
        """`WITH pg AS (...)`: the page's ids with their ordering keys. A keepable search ranks
        its first KEEP_IDS (and one more, to know whether there are others) from the top."""
        limit, skip = (search_rankings.KEEP_IDS + 1, 0) if keepable else (per_page + 1, offset)
        sql = SqlText().add("WITH pg AS (")
        filtered(sql, f"SELECT s.id AS id, {key_select}", tuple(key_args), joins, join_args)
        # LIMIT and OFFSET as literals (integers of ours): with them as parameters
        # PostgreSQL's generic plan must guess the page size, so it plans each execution
        # afresh (about 1 ms, more than running the statement); with literals it keeps one
        # plan per page number.
        return sql.add(f"ORDER BY {inner_order} LIMIT {limit:d} OFFSET {skip:d}) ")

    if kept is not None:
        rows, has_more = kept
    elif terms or keepable:
        # The ids and total only: a search's statement is planned for each pattern, the rest
        # comes from one whose plan is kept (_search_details). A keepable listing goes the
        # same way, so that its ranking is kept: two statements the first time, then one.
        # A kept count serves pages up to KEEP_IDS: counted that far at least, it caps each
        # of them as their own count would have.
        counted = max(cap, search_rankings.KEEP_IDS) if keepable else cap
        sql = page_ids()
        filtered(sql.add("SELECT pg.id AS id, (SELECT COUNT(*) FROM ("), "SELECT s.id AS id")
        sql.add(f"LIMIT {counted + 1:d}) capped) AS n_total")
        if keepable:
            sql.add(f", {search_rankings.VERSION_SQL} AS catalog_v")
        sql.add(f" FROM pg ORDER BY {outer_order}")
        found = await sql.run()
        if keepable and found:
            await search_rankings.keep(
                dealer,
                whole,
                category_id,
                sort,
                found[0]["catalog_v"],
                [int(r["id"]) for r in found],
                found[0]["n_total"],
            )
            found = found[offset : offset + per_page + 1]
        has_more = len(found) > per_page
        rows = await _search_details(dealer, found[:per_page])
    else:
        # Any other listing brings everything, the dealer's last purchases too, in this
        # statement.
        sql = page_ids()
        _bought_query(sql.add(", bought AS ("), dealer, "ol.sku IN (SELECT id FROM pg)")
        sql.add(") ")
        _detail_columns(sql, dealer).add(f", {BOUGHT_COLUMNS}, ")
        filtered(sql.add("(SELECT COUNT(*) FROM ("), "SELECT s.id AS id")
        sql.add(f"LIMIT {cap + 1:d}) capped) AS n_total ")
        sql.add(
            'FROM pg JOIN "sku" s ON s.id = pg.id JOIN "product" p ON p.id = s.product '
            "LEFT JOIN bought bb ON bb.sku = s.id AND bb.rn = 1 " + PRICE_JOINS,
            int(dealer["tier"]),
            int(dealer["id"]),
        )
        sql.add(f"ORDER BY {outer_order}")
        rows = await sql.run()
        has_more = len(rows) > per_page
        rows = rows[:per_page]

    total, exact = offset + len(rows), True
    if rows and has_more:
        n = int(rows[0]["n_total"] or 0)
        total, exact = (n, True) if n <= cap else (cap, False)
    elif not rows and page > 1:
        # Past the end: count what there is (capped), for "n products" above the empty page.
        count = SqlText().add("SELECT COUNT(*) AS n FROM (")
        filtered(count, "SELECT s.id AS id")
        count.add(f"LIMIT {cap + 1:d}) capped")
        found = await count.run()
        n = int(found[0]["n"]) if found else 0
        total, exact = (n, True) if n <= cap else (cap, False)
    items = await _items(dealer, rows)
    return CatalogPage(
        items=items,
        page=page,
        per_page=per_page,
        has_more=has_more,
        total=total,
        total_exact=exact,
    )


async def _kept_search_page(
    dealer: dict, key: tuple, offset: int, per_page: int
) -> tuple[list[dict], bool] | None:
    """A search page from a kept ranking (search_rankings) and whether more follow, its
    details read with the catalog's version; None when nothing usable is kept."""
    kept = search_rankings.page_of(key, offset, per_page + 1)
    if kept is None:
        return None
    ids, n_total, kept_at = kept
    found = [{"id": i, "n_total": n_total} for i in ids]
    rows = await _search_details(dealer, found[:per_page], with_version=True)
    if not rows or not search_rankings.confirmed(kept_at, rows[0]["catalog_v"]):
        return None
    return rows, len(found) > per_page


async def _search_details(
    dealer: dict, found: list[dict], *, with_version: bool = False
) -> list[dict]:
    """A search page's rows (id, n_total) with DETAIL_COLUMNS and BOUGHT_COLUMNS, in their
    order: stock, prices, packs, breaks, promotions, favourites and the dealer's last
    purchases. The statement's text is the same for every search (the ids are one array
    parameter on PostgreSQL), so PostgreSQL keeps its plan: as part of the search's own
    statement, planned for each pattern, the details were 1 ms of its 2.4 ms of planning.
    A SKU gone since the ids were found is left out."""
    if not found:
        return []
    ids = [int(r["id"]) for r in found]
    details = SqlText()
    if is_sqlite(current_engine()):
        in_ids, id_args = "IN (" + ", ".join("{}" for _ in ids) + ")", ids
    else:
        in_ids, id_args = "= ANY({}::int[])", [ids]
    _bought_query(details.add("WITH bought AS ("), dealer, f"ol.sku {in_ids}", *id_args)
    _detail_columns(details.add(") "), dealer).add(f", {BOUGHT_COLUMNS} ")
    if with_version:  # the catalog's version in the same snapshot (search_rankings)
        details.add(f", {search_rankings.VERSION_SQL} AS catalog_v ")
    details.add(
        'FROM "sku" s JOIN "product" p ON p.id = s.product '
        "LEFT JOIN bought bb ON bb.sku = s.id AND bb.rn = 1 " + PRICE_JOINS,
        int(dealer["tier"]),
        int(dealer["id"]),
    )
    details.add(f"WHERE s.id {in_ids}", *id_args)
    by_id = {int(r["id"]): r for r in await details.run()}
    total = found[0]["n_total"]
    return [{**by_id[i], "n_total": total} for i in ids if i in by_id]


async def items_by_ids(
    actor: Actor,
    dealer: dict,
    sku_ids: list[int],
    *,
    quantities: dict[int, int] | None = None,
    history: bool = True,
) -> dict[int, CatalogItem]:
    """Visible, active SKUs by id (others are left out). Each item is priced at
    quantities[sku_id] when given, else at its first sensible quantity. history=False leaves
    out the dealer's last purchase of each (bought_before), which only pages show."""
    _check_actor(actor, dealer)
    ids = sorted({int(i) for i in sku_ids})
    rows: list[dict] = []
    for chunk in _chunks(ids):
        rows.extend(
            await _visible_rows(
                dealer, "AND s.id IN (" + ", ".join("{}" for _c in chunk) + ")", *chunk
            )
        )
    return {item.sku_id: item for item in await _items(dealer, rows, quantities, history=history)}


async def find_skus(
    actor: Actor, dealer: dict, codes: list[str], *, history: bool = True
) -> dict[str, CatalogItem]:
    """Visible SKUs by exact code or barcode (a code in another letter case also matches),
    keyed by the text as given (stripped). Two queries for the rows whatever the count;
    with history=False, without the dealer's last purchases (one query fewer)."""
    _check_actor(actor, dealer)
    wanted = sorted({c.strip() for c in codes if c and c.strip()})
    if not wanted:
        return {}
    rows: list[dict] = []
    for chunk in _chunks(wanted):
        where = SqlText().add_in("AND (s.code IN (", chunk).add_in("OR s.barcode IN (", chunk, "))")
        rows.extend(await _visible_rows(dealer, " ".join(where.parts), *where.args))
    by_code = {r["code"]: r for r in rows}
    by_barcode: dict[str, dict] = {}
    for r in rows:
        if r["barcode"]:
            by_barcode.setdefault(r["barcode"], r)
    missing = [c for c in wanted if c not in by_code and c not in by_barcode]
    by_upper: dict[str, dict] = {}
    for chunk in _chunks(sorted({c.upper() for c in missing})):
        where = SqlText().add_in("AND UPPER(s.code) IN (", chunk)
        for r in await _visible_rows(dealer, " ".join(where.parts), *where.args):
            by_upper.setdefault(r["code"].upper(), r)
    matched: dict[str, dict] = {}
    for c in wanted:
        row = by_code.get(c) or by_barcode.get(c) or by_upper.get(c.upper())
        if row is not None:
            matched[c] = row
    unique_rows = list({int(r["id"]): r for r in matched.values()}.values())
    items = {item.sku_id: item for item in await _items(dealer, unique_rows, history=history)}
    return {c: items[int(r["id"])] for c, r in matched.items()}


async def find_sku(actor: Actor, dealer: dict, code_or_barcode: str) -> CatalogItem | None:
    """One visible SKU by exact code or barcode, or None."""
    found = await find_skus(actor, dealer, [code_or_barcode])
    return found.get(code_or_barcode.strip())


async def product_detail(actor: Actor, dealer: dict, product_id: int) -> ProductDetail:
    """A product page: its visible SKUs, the spec x colour grid, volume breaks and packs.

    NotFound when the product is inactive, not visible to this dealer or has no active SKU.
    Breaks are the dealer's tier breaks; a SKU on a contract price lists none (they do not
    apply to it).
    """
    _check_actor(actor, dealer)
    rows = await _visible_rows(
        dealer, "AND p.id = {}", int(product_id), order="s.spec, s.colour, s.code, s.id"
    )
    if not rows:
        raise NotFound(_("Product not found."))
    product_rows = await Sku.raw(
        "SELECT p.id AS id, p.name AS name, p.brand AS brand, p.description AS description, "
        'p.image AS image, p.category AS category, c.name AS category_name FROM "product" p '
        'LEFT JOIN "category" c ON c.id = p.category WHERE p.id = {}',
        int(product_id),
    )
    product = dict(product_rows[0])
    items = await _items(dealer, rows)
    specs: list[str] = []
    colours: list[str] = []
    grid: dict[tuple[str, str], CatalogItem] = {}
    breaks: dict[int, list[tuple[int, int]]] = {}
    packs: dict[int, list[tuple[str, int]]] = {}
    for item in items:
        if item.spec not in specs:
            specs.append(item.spec)
        if item.colour not in colours:
            colours.append(item.colour)
        grid.setdefault((item.spec, item.colour), item)
        inp = item.price_inputs
        on_contract = inp is not None and inp.contract_price_fen is not None
        breaks[item.sku_id] = [] if on_contract or inp is None else list(inp.breaks)
        packs[item.sku_id] = list(item.packs)
    return ProductDetail(
        product=product,
        skus=items,
        specs=specs,
        colours=colours,
        grid=grid,
        breaks=breaks,
        packs=packs,
    )


async def toggle_favourite(
    actor: Actor, dealer: dict, sku_id: int, wanted: bool | None = None
) -> bool:
    """Star (wanted True), unstar (False) or toggle (None) a visible SKU for the dealer;
    returns whether it is now a favourite. Starring a favourite or unstarring another SKU
    changes nothing."""
    _check_actor(actor, dealer)
    if not actor.can_order:
        # Favourites are the ordering dealer's shortlist; staff who never order keep none.
        raise Forbidden(_("Your role cannot place orders."))
    async with write_transaction():
        visible = await _visible_rows(dealer, "AND s.id = {}", int(sku_id), details=False)
        if not visible:
            raise NotFound(_("Product not found."))
        if wanted is not True:
            removed = (
                await Favourite.delete()
                .where(Favourite.dealer == dealer["id"], Favourite.sku == int(sku_id))
                .returning(Favourite.id)
            )
            if removed or wanted is False:
                return False
        await Favourite.insert(
            Favourite(dealer=dealer["id"], sku=int(sku_id), created_at=datetime.now(UTC))
        ).on_conflict(action="DO NOTHING")
        return True
