"""The demo supplier: promised sizes, determinism, integer money, working logins, idempotent CLI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from portal.db import bind_tables
from portal.demo import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    NEAR_LIMIT_DEALER,
    OVER_CREDIT_APPROVAL_DEALER,
    READ_AFTER_DAYS,
    build_plan,
    ean13,
    load_demo,
    load_demo_if_empty,
)
from portal.domain import ledger, returns, shipments
from portal.domain.accounts import authenticate
from portal.domain.pinyin import sort_key
from portal.settings import Settings
from portal.tables import (
    Address,
    Category,
    ContractPrice,
    Dealer,
    LedgerEntry,
    Notification,
    Order,
    OrderEvent,
    PackUnit,
    Product,
    RepAssignment,
    Reservation,
    Shipment,
    Sku,
    StockLevel,
    Tier,
    TierPrice,
    User,
    VolumeBreak,
    Warehouse,
)
from tests import factories as f


def _is_int(value) -> bool:
    return type(value) is int


async def test_demo_builds_the_promised_supplier(db):
    started = time.perf_counter()
    summary = await load_demo(None)
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"loading the demo took {elapsed:.1f} s"

    assert await Tier.count() == 3
    assert await Warehouse.count() == 2
    assert await Sku.count() == 500 == summary.skus
    assert await PackUnit.count() == 500
    # Every name has its pinyin sort key (the catalog's order).
    for table in (Sku, Product):
        named = await table.select(table.name, table.name_key)
        assert named and all(r["name_key"] == sort_key(r["name"]) != "" for r in named)
    dealers = await Dealer.select()
    assert 35 <= len(dealers) <= 45
    assert {d["region"] for d in dealers} == {"华东", "华南", "华北", "西南", "华中"}
    assert all(d["default_warehouse"] for d in dealers)

    # Category tree: top levels with children.
    categories = await Category.select()
    tops = [c for c in categories if c["parent"] is None]
    assert {"饮料", "休闲食品", "日化"} <= {c["name"] for c in tops}
    assert all(c["parent"] in {t["id"] for t in tops} for c in categories if c["parent"])
    assert await Product.count() < 500  # products with several variants

    # Every dealer has a dealer_admin, a dealer_buyer, one default address and one rep.
    users = await User.select()
    by_role: dict[str, list[dict]] = {}
    for u in users:
        by_role.setdefault(u["role"], []).append(u)
    for d in dealers:
        roles = {u["role"] for u in users if u["dealer"] == d["id"]}
        assert roles == {"dealer_admin", "dealer_buyer"}, d["code"]
    addresses = await Address.select()
    for d in dealers:
        own = [a for a in addresses if a["dealer"] == d["id"]]
        assert 1 <= len(own) <= 2 and sum(a["is_default"] for a in own) == 1, d["code"]
    phones = [u["phone"] for u in users]
    assert all(p and len(p) == 11 for p in phones) and len(set(phones)) == len(phones)

    reps = by_role["sales_rep"]
    assert len(reps) == 5
    (manager,) = by_role["sales_manager"]
    assert all(r["manager"] == manager["id"] for r in reps)
    for role in ("finance", "warehouse", "admin"):
        assert len(by_role[role]) == 1
    assignments = await RepAssignment.select()
    assert len(assignments) == len(dealers)
    per_rep = {r["id"]: 0 for r in reps}
    for a in assignments:
        per_rep[a["rep"]] += 1
    assert all(6 <= n <= 10 for n in per_rep.values())

    # Pricing data: every SKU priced for every tier, some breaks and contracts.
    assert await TierPrice.count() == 3 * 500
    assert await VolumeBreak.count() > 0
    assert await ContractPrice.count() > 0

    # Stock: rows in both warehouses; a few SKUs out everywhere, a few under safety stock.
    skus = {s["id"]: s for s in await Sku.select()}
    totals: dict[int, int] = {}
    for level in await StockLevel.select():
        totals[level["sku"]] = totals.get(level["sku"], 0) + level["on_hand"] - level["reserved"]
    assert len(totals) == 500
    out = [i for i, q in totals.items() if q == 0]
    low = [i for i, q in totals.items() if 0 < q < skus[i]["safety_stock"]]
    assert 3 <= len(out) <= 30 and 3 <= len(low) <= 30
    assert len(out) == summary.out_of_stock and len(low) == summary.low_stock

    # Past orders went through the ordering use case: numbered, reserved, with a timeline.
    assert summary.orders_skipped == ()
    assert summary.orders == await Order.count() >= 10
    statuses = {o["status"] for o in await Order.select(Order.status)}
    assert statuses == {
        "pending_approval",
        "approved",
        "partially_shipped",
        "shipped",
        "completed",
        "cancelled",
    }
    assert await Order.count().where(Order.dealer.code == "D01") >= 3
    assert await OrderEvent.count() >= summary.orders
    assert await Reservation.count() > 0

    # Dealer 3 has almost no credit left.
    d3 = next(d for d in dealers if d["code"] == NEAR_LIMIT_DEALER)
    available = d3["credit_limit_fen"] - d3["balance_fen"] - d3["open_orders_fen"]
    assert 0 < available <= 200_000

    # Codes, barcodes and buying rules.
    assert len({s["code"] for s in skus.values()}) == 500
    assert all(ean13(s["barcode"][:12]) == s["barcode"] for s in skus.values())
    assert any(s["order_multiple"] > 1 for s in skus.values())
    assert all(s["moq"] % s["order_multiple"] == 0 for s in skus.values())
    grid = {}
    for s in skus.values():
        grid.setdefault(s["product"], set()).add((s["spec"], s["colour"]))
    assert any(
        len({spec for spec, _ in v}) > 1 and len({c for _, c in v}) > 1 for v in grid.values()
    ), "some product should have a spec x flavour grid"


async def test_demo_is_deterministic_with_integer_money(db):
    await load_demo(None, seed=7, sku_count=120)
    plan = build_plan(7, 120)
    rows = await Sku.select(Sku.code, Sku.barcode, Sku.base_price_fen).order_by(Sku.code)
    assert [(r["code"], r["barcode"], r["base_price_fen"]) for r in rows] == sorted(
        (s["code"], s["barcode"], s["base_price_fen"]) for s in plan.skus
    )
    # Same seed, same plan; another seed, another catalog.
    assert build_plan(7, 120) == plan
    other = build_plan(8, 120)
    assert [s["code"] for s in other.skus] != [s["code"] for s in plan.skus] or [
        s["base_price_fen"] for s in other.skus
    ] != [s["base_price_fen"] for s in plan.skus]

    money = [
        (Sku, Sku.base_price_fen),
        (TierPrice, TierPrice.price_fen),
        (VolumeBreak, VolumeBreak.price_fen),
        (ContractPrice, ContractPrice.price_fen),
        (Dealer, Dealer.credit_limit_fen),
        (Dealer, Dealer.balance_fen),
    ]
    for table, column in money:
        values = [r[column._meta.name] for r in await table.select(column)]
        values = [v for v in values if v is not None]
        assert values, f"{table.__name__}.{column._meta.name} is empty"
        assert all(_is_int(v) and v >= 0 for v in values), f"{table.__name__}.{column._meta.name}"

    # Volume breaks pay less than the tier price they break from, the bigger the cheaper.
    breaks = await VolumeBreak.select().order_by(VolumeBreak.min_qty)
    by_key: dict[tuple[int, int], list[dict]] = {}
    for b in breaks:
        by_key.setdefault((b["tier"], b["sku"]), []).append(b)
    for rows_ in by_key.values():
        assert [b["price_fen"] for b in rows_] == sorted(
            (b["price_fen"] for b in rows_), reverse=True
        )


async def test_every_demo_login_signs_in(db):
    await load_demo(None, sku_count=40)
    now = datetime.now(UTC)
    assert set(DEMO_LOGINS) == {
        "dealer_admin",
        "dealer_buyer",
        "sales_rep",
        "sales_manager",
        "finance",
        "warehouse",
        "admin",
    }
    for role, username in DEMO_LOGINS.items():
        user = await authenticate(username, DEMO_PASSWORD, "127.0.0.1", now=now)
        assert user["role"] == role
    # The demo rep looks after the demo dealer.
    buyer = await User.select().where(User.username == DEMO_LOGINS["dealer_buyer"]).first()
    rep = await User.select().where(User.username == DEMO_LOGINS["sales_rep"]).first()
    assigned = await RepAssignment.select().where(RepAssignment.dealer == buyer["dealer"]).first()
    assert assigned["rep"] == rep["id"]


async def test_cli_demo_loads_once_and_always_prints_the_logins(db, database_url, capsys):
    settings = Settings(database_url=database_url, secret_key="x" * 40, port=8123)
    try:
        await load_demo_if_empty(settings)
        first = capsys.readouterr().out
        await load_demo_if_empty(settings)
        second = capsys.readouterr().out
    finally:
        bind_tables(db)  # load_demo_if_empty binds the tables to an engine of its own
    assert await Sku.count() == 500
    assert await Dealer.count() == 40
    for out in (first, second):
        assert "http://127.0.0.1:8123/" in out
        assert DEMO_PASSWORD in out
        for username in DEMO_LOGINS.values():
            assert username in out
    assert "15 past orders, 6 shipments" in first
    assert "not loaded again" in second


async def test_the_demo_leaves_an_order_in_the_managers_queue_and_one_in_finances(db):
    """Signing in as manager or finance shows something to decide, without placing an order
    first: D01's large order waits for the regional manager, and D04 (which may order past
    its credit) has one waiting for finance."""
    from portal.tables import ApprovalStep

    summary = await load_demo(None)
    assert summary.orders_skipped == ()
    waiting = await ApprovalStep.select(
        ApprovalStep.role, ApprovalStep.rule_kind, ApprovalStep.order.dealer.code.as_alias("d")
    ).where(ApprovalStep.status == "pending")
    assert {"role": "sales_manager", "rule_kind": "total_at_least", "d": "D01"} in waiting
    assert {"role": "finance", "rule_kind": "over_credit", "d": OVER_CREDIT_APPROVAL_DEALER} in (
        waiting
    )
    d04 = await Dealer.select().where(Dealer.code == OVER_CREDIT_APPROVAL_DEALER).first()
    assert d04["over_credit_policy"] == "approval"


async def test_a_demo_dealers_statement_opens_with_the_balance_it_brought(db):
    await load_demo(None)
    actor = f.actor(await User.select().where(User.username == "admin").first())
    for dealer in await Dealer.select().where(Dealer.balance_fen != 0):
        statement = await ledger.statement(actor, dealer["id"])
        # The balance the dealer brought is before the month, not a line within it.
        assert statement.brought_fen == 0, dealer["code"]
        assert all(e.kind != "opening" for e in statement.entries), dealer["code"]
        assert statement.opening_fen != 0 or statement.entries, dealer["code"]


async def test_the_demo_has_shipped_received_paid_and_returned_goods(db):
    """Past orders went on through the real use cases: the warehouse shipped some (one only
    in part), dealers confirmed receipt, D01 paid its first invoice and has a parcel on its
    way to confirm, D09 asks to return some goods. Stock, reservations and the ledger agree."""
    summary = await load_demo(None)
    assert summary.orders_skipped == () and summary.shipments == 6
    by_status: dict[str, int] = {}
    for s in await Shipment.select(Shipment.status):
        by_status[s["status"]] = by_status.get(s["status"], 0) + 1
    assert by_status == {"received": 5, "shipped": 1}

    # Stock: what is reserved is what open orders still have to ship, and shipped goods left.
    reserved: dict[tuple[int, int], int] = {}
    for r in await Reservation.select(Reservation.sku, Reservation.warehouse, Reservation.qty):
        key = (r["sku"], r["warehouse"])
        reserved[key] = reserved.get(key, 0) + r["qty"]
    for level in await StockLevel.select():
        assert level["reserved"] == reserved.get((level["sku"], level["warehouse"]), 0)
        assert 0 <= level["reserved"] <= level["on_hand"]
    # The ledger (its opening entry is written on first use): the balance of every dealer
    # that has entries is their sum; D01 paid its first invoice.
    used = {e["dealer"] for e in await LedgerEntry.select(LedgerEntry.dealer)}
    assert len(used) == 4  # D01, D02, D09, D17
    for dealer in await Dealer.select(Dealer.id, Dealer.balance_fen).where(
        Dealer.id.is_in(sorted(used))
    ):
        assert dealer["balance_fen"] == await ledger.ledger_sum_fen(dealer["id"])
    d01 = await Dealer.select().where(Dealer.code == "D01").first()
    kinds = [
        (e["kind"], e["amount_fen"])
        for e in await LedgerEntry.select()
        .where((LedgerEntry.dealer == d01["id"]) & (LedgerEntry.kind != "opening"))
        .order_by(LedgerEntry.at)
        .order_by(LedgerEntry.id)
    ]
    assert kinds[0][0] == "invoice" and ("payment", -kinds[0][1]) in kinds

    # d01buyer confirms the parcel on its way, and that order is completed.
    buyer = f.actor(await User.select().where(User.username == "d01buyer").first())
    [on_its_way] = await Shipment.select().where(Shipment.status == "shipped")
    assert on_its_way["dealer"] == d01["id"]
    await shipments.confirm_receipt(buyer, on_its_way["id"])
    order = await Order.select(Order.status).where(Order.id == on_its_way["order"]).first()
    assert order["status"] == "completed"

    # What users were told in the last days is unread; older news they have read.
    news = await Notification.select(Notification.created_at, Notification.read_at)
    assert any(n["read_at"] is None for n in news) and any(n["read_at"] for n in news)
    recent = datetime.now(UTC) - timedelta(days=READ_AFTER_DAYS)
    assert all(n["read_at"] is None for n in news if n["created_at"] > recent)

    # A return waits for staff, and the partially shipped order for the warehouse.
    admin = f.actor(await User.select().where(User.username == "admin").first())
    assert await returns.waiting_count(admin) == 1
    warehouse = f.actor(await User.select().where(User.username == "warehouse").first())
    queue = {q.status for q in await shipments.to_ship_queue(warehouse)}
    assert queue == {"approved", "partially_shipped"}
