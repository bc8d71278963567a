"""Gross margin at the supplier's cost (DESIGN, Approvals: approvers see "lines, margins, the
dealer's credit and history"): the arithmetic to the fen, unknown costs, gifts, the cost read
when the order is looked at, who sees it, and an administrator setting costs (the SKU's page
and the products import). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from portal.domain import approvals, catalog_admin, data_io, margins, orders
from portal.domain.errors import ValidationFailed
from portal.domain.margins import CostedLine, measure
from portal.domain.quantities import LineRequest
from portal.domain.scope import DEALER_ROLES, STAFF_ROLES, Actor
from portal.tables import AuditEntry, Sku
from tests import factories as f
from tests.db.test_approvals import rule, team
from tests.db.test_orders import NOW, submit, world
from tests.db.test_promotions import buy_get, spend_save

# --- the arithmetic ---------------------------------------------------------------------------


def test_a_line_s_margin_is_its_total_less_cost_times_quantity_to_the_fen():
    m = measure([CostedLine(1, 48, 8640, 123)])
    line = m.lines[1]
    assert (line.cost_fen, line.margin_fen) == (48 * 123, 8640 - 48 * 123) == (5904, 2736)
    assert line.margin_bp == 3167  # 2736 / 8640 = 31.666…%, half up
    assert line.margin_percent == Decimal("31.7")
    assert (m.cost_fen, m.margin_fen, m.margin_bp, m.cost_unknown_lines) == (5904, 2736, 3167, 0)


def test_shares_round_half_away_from_zero_once_from_the_amounts():
    up = measure([CostedLine(1, 1, 16, 15)]).lines[1]  # 1 / 16 = 6.25 %
    down = measure([CostedLine(1, 1, 16, 17)]).lines[1]  # −1 / 16 = −6.25 %
    assert (up.margin_bp, up.margin_percent) == (625, Decimal("6.3"))
    assert (down.margin_fen, down.margin_bp, down.margin_percent) == (-1, -625, Decimal("-6.3"))
    # 12.345 % is 12.3 %, not 12.35 rounded again to 12.4.
    odd = measure([CostedLine(1, 1, 200_000, 175_310)]).lines[1]
    assert (odd.margin_bp, odd.margin_percent) == (1235, Decimal("12.3"))


def test_lines_without_a_cost_are_left_out_of_the_sums_and_counted():
    m = measure(
        [
            CostedLine(1, 10, 1000, 70),
            CostedLine(2, 5, 5000, None),
            CostedLine(3, 2, 400, 150),
            CostedLine(4, 1, 999, None),
        ]
    )
    assert m.known and m.cost_unknown_lines == 2
    assert not m.lines[2].known and m.lines[2].margin_fen is None and m.lines[2].margin_bp is None
    # Over lines 1 and 3 only: 1400 brought in, 700 + 300 cost.
    assert (m.line_total_fen, m.cost_fen, m.margin_fen, m.margin_bp) == (1400, 1000, 400, 2857)
    nothing = measure([CostedLine(1, 3, 300, None)])
    assert not nothing.known and nothing.cost_unknown_lines == 1
    assert (nothing.cost_fen, nothing.margin_fen, nothing.margin_bp) == (None, None, None)
    assert nothing.margin_percent is None


def test_a_gift_costs_and_only_loses_and_a_line_with_nothing_left_costs_nothing():
    m = measure([CostedLine(1, 50, 9000, 123), CostedLine(2, 4, 0, 123), CostedLine(3, 0, 0, None)])
    gift = m.lines[2]
    assert (gift.cost_fen, gift.margin_fen, gift.margin_bp, gift.margin_percent) == (
        492,
        -492,
        None,  # nothing charged: no share of it
        None,
    )
    assert m.cost_unknown_lines == 0 and m.lines[3].cost_fen == 0
    assert (m.cost_fen, m.margin_fen, m.margin_bp) == (6150 + 492, 9000 - 6642, 2620)
    all_gifts = measure([CostedLine(1, 4, 0, 123)])
    assert (all_gifts.margin_fen, all_gifts.margin_bp) == (-492, None)


# --- who sees it ---------------------------------------------------------------------------------


def test_only_approvers_and_administrators_see_costs():
    seeing = {r for r in DEALER_ROLES | STAFF_ROLES if margins.sees_costs(Actor(1, r, r))}
    assert seeing == {"sales_manager", "finance", "admin"}


async def set_cost(sku: dict, fen: int | None) -> None:
    await Sku.update({Sku.cost_price_fen: fen}).where(Sku.id == sku["id"])


async def test_an_order_s_margin_at_today_s_costs_for_those_who_see_costs_only(db):
    t = await team()
    await set_cost(t.w.sku, 123)  # A100; B200 has no cost
    order = (
        await submit(
            t.w,
            [LineRequest(qty=2, sku_code="A100", unit="箱"), LineRequest(qty=12, sku_code="B200")],
        )
    ).order
    a100, b200 = order.lines
    admin = f.actor(await f.user("admin"))
    for actor in (t.manager, t.finance, admin):
        m = await margins.order_margin(actor, await orders.get_order(actor, order.id))
        assert m is not None, actor.role
        assert (m.lines[a100.id].cost_fen, m.lines[a100.id].margin_fen) == (5904, 2736)
        assert not m.lines[b200.id].known
        assert (m.cost_fen, m.margin_fen, m.margin_bp, m.cost_unknown_lines) == (
            5904,
            2736,
            3167,
            1,
        )
    clerk = f.actor(await f.user("warehouse"))
    for actor in (t.rep, t.w.buyer, clerk):
        assert await margins.order_margin(actor, order) is None, actor.role

    # Read when the order is looked at: a new cost changes the margin, never the order.
    await set_cost(t.w.sku, 150)
    await set_cost(t.w.sku2, 800)
    view = await orders.get_order(t.manager, order.id)
    m = await margins.order_margin(t.manager, view)
    assert view.total_fen == order.total_fen == 8640 + 12000
    assert view.lines[0].unit_price_fen == 180
    assert (m.cost_fen, m.margin_fen, m.cost_unknown_lines) == (7200 + 9600, 1440 + 2400, 0)


async def test_a_gift_line_counts_with_its_cost_and_a_negative_margin(db):
    w = await world()
    await set_cost(w.sku, 123)
    await buy_get("A100", 24, "A100", 2)
    order = (await submit(w, [LineRequest(qty=50, sku_code="A100")])).order
    bought, gift = order.lines
    assert gift.is_gift and gift.line_total_fen == 0
    m = await margins.order_margin(f.actor(await f.user("finance")), order)
    assert (m.lines[gift.id].cost_fen, m.lines[gift.id].margin_fen) == (4 * 123, -492)
    assert (m.lines[bought.id].margin_fen, m.margin_fen, m.margin_bp) == (2850, 2358, 2620)


async def test_the_margin_counts_each_line_net_of_its_share_of_the_saving(db):
    w = await world()
    await set_cost(w.sku, 100)
    await set_cost(w.sku2, 700)
    await spend_save(10_000, 1_000)
    order = (
        await submit(
            w,
            [LineRequest(qty=2, sku_code="A100", unit="箱"), LineRequest(qty=12, sku_code="B200")],
        )
    ).order
    assert order.discount_fen == 1_000 and order.total_fen == 8640 + 12000 - 1_000
    m = await margins.order_margin(f.actor(await f.user("admin")), order)
    # What the dealer pays, less 48 × ¥1.00 and 12 × ¥7.00.
    assert m.margin_fen == order.total_fen - 4800 - 8400 == 6440
    assert sum(m.lines[ln.id].margin_fen for ln in order.lines) == m.margin_fen


async def test_the_inbox_card_carries_the_margin_for_its_approvers(db):
    t = await team()
    await set_cost(t.w.sku, 123)
    await rule("total_at_least", "sales_manager", 10, amount_fen=1)
    await rule("total_at_least", "finance", 20, amount_fen=1)
    await submit(
        t.w,
        [LineRequest(qty=2, sku_code="A100", unit="箱"), LineRequest(qty=12, sku_code="B200")],
    )
    [card] = await approvals.inbox(t.manager)
    g = card.gross_margin
    assert (g.cost_fen, g.margin_fen, g.margin_bp, g.cost_unknown_lines) == (5904, 2736, 3167, 1)
    # The figure against the dealer's prices stays beside it.
    assert card.margin_fen == 0 and card.total_fen == 20640
    await approvals.decide(t.manager, card.step_id, "approve", now=NOW)
    [card] = await approvals.inbox(t.finance)
    assert card.gross_margin is not None and card.gross_margin.margin_fen == 2736


# --- an administrator sets costs -----------------------------------------------------------------


def sku_change(row: dict, **kw) -> catalog_admin.SkuChange:
    """The SKU's fields as its page shows them, with these changed."""
    return catalog_admin.SkuChange(
        **{
            "name": row["name"],
            "barcode": row["barcode"],
            "base_price": catalog_admin.money_text(row["base_price_fen"]),
            "moq": row["moq"],
            "order_multiple": row["order_multiple"],
            "safety_stock": row["safety_stock"],
            "allow_backorder": bool(row["allow_backorder"]),
            "active": bool(row["active"]),
            **kw,
        }
    )


async def cost_of(sku: dict) -> int | None:
    return (await Sku.select(Sku.cost_price_fen).where(Sku.id == sku["id"]).first())[
        "cost_price_fen"
    ]


async def test_an_administrator_sets_and_clears_a_cost_audited_with_the_sku(db):
    admin = f.actor(await f.user("admin"))
    sku = await f.sku(code="A100", base_price_fen=200)
    detail = await catalog_admin.update_sku(admin, sku["id"], sku_change(sku, cost_price="1.23"))
    assert detail.sku["cost_price_fen"] == 123 == await cost_of(sku)
    entry = await AuditEntry.select().where(AuditEntry.action == "sku.saved").first()
    before, after = (
        json.loads(entry[k]) if isinstance(entry[k], str) else entry[k] for k in ("before", "after")
    )
    assert (before, after) == ({"cost_price_fen": None}, {"cost_price_fen": 123})
    # Left out: stays; the page's other fields saved alone do not touch it.
    await catalog_admin.update_sku(admin, sku["id"], sku_change(sku, name="新名字"))
    assert await cost_of(sku) == 123
    # Empty: not known.
    await catalog_admin.update_sku(admin, sku["id"], sku_change(sku, cost_price=" "))
    assert await cost_of(sku) is None
    assert await AuditEntry.count().where(AuditEntry.action == "sku.saved") == 3


@pytest.mark.parametrize("typed", ["abc", "-1", "1.234", "1e3", "NaN"])
async def test_a_bad_cost_is_refused_and_nothing_is_written(db, typed):
    admin = f.actor(await f.user("admin"))
    sku = await f.sku(code="A100", base_price_fen=200, cost_price_fen=150)
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.update_sku(
            admin, sku["id"], sku_change(sku, name="改名", cost_price=typed)
        )
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("cost_price", catalog_admin.MSG_COST)
    ]
    row = await Sku.select().where(Sku.id == sku["id"]).first()
    assert (row["cost_price_fen"], row["name"]) == (150, sku["name"])
    assert await AuditEntry.count() == 0


def products_csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


async def test_the_products_file_carries_costs_and_a_file_without_them_changes_none(db):
    admin = f.actor(await f.user("admin"))
    a = await f.sku(code="A100", base_price_fen=200, cost_price_fen=150)
    b = await f.sku(code="B200", base_price_fen=1000)
    header, rows = await data_io.export_rows(admin, "products")
    col = header.index("cost_price")
    assert header[col - 1] == "base_price" and header[-3:] == ("weight_g", "packs", "image")
    by_code = {r[header.index("sku")]: r for r in rows}
    assert by_code["A100"][col] == Decimal("1.50") and by_code["B200"][col] is None

    # Without the column: prices change, costs do not.
    done = await data_io.import_file(
        admin, "products", "p.csv", products_csv("sku,base_price", "A100,2.10", "B200,9.90")
    )
    assert (done.updated, await cost_of(a), await cost_of(b)) == (2, 150, None)
    # With it: set, changed, a blank cell keeps; a new SKU comes with its cost.
    done = await data_io.import_file(
        admin,
        "products",
        "p.csv",
        products_csv(
            "category,product,sku,name,unit,base_price,cost_price",
            ",,A100,,,,1.60",
            ",,B200,,,,",
            "饮料,新品,N100,新品 500ml,瓶,3.00,2.10",
        ),
    )
    assert (done.created, done.updated, done.unchanged) == (1, 1, 1)
    assert (await cost_of(a), await cost_of(b)) == (160, None)
    new = await Sku.select(Sku.cost_price_fen).where(Sku.code == "N100").first()
    assert new["cost_price_fen"] == 210
    imported = await AuditEntry.select().where(
        (AuditEntry.action == "sku.imported") & (AuditEntry.entity_id == str(a["id"]))
    )
    assert any("cost_price_fen" in str(e["after"]) for e in imported)


async def test_a_products_file_with_a_bad_cost_writes_nothing(db):
    admin = f.actor(await f.user("admin"))
    a = await f.sku(code="A100", base_price_fen=200, cost_price_fen=150)
    await f.sku(code="B200", base_price_fen=1000)
    audits = await AuditEntry.count()
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(
            admin,
            "products",
            "p.csv",
            products_csv("sku,base_price,cost_price", "A100,2.50,1.70", "B200,,abc", "A1,,-1"),
        )
    found = [(e.field, e.message, e.params.get("column")) for e in refused.value.errors]
    assert ("row 3", data_io.MSG_MONEY, "cost_price") in found
    assert ("row 4", data_io.MSG_MONEY, "cost_price") in found
    assert all(e.field in ("row 3", "row 4") for e in refused.value.errors), found
    row = await Sku.select().where(Sku.id == a["id"]).first()
    assert (row["cost_price_fen"], row["base_price_fen"]) == (150, 200)
    assert await AuditEntry.count() == audits
