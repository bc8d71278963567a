"""Bulk export and import on both engines: an exported file imports back unchanged; stock,
prices, contract prices and dealers are set from a file in one transaction with an audit
entry per change; any bad row refuses the whole file with its row number and writes nothing;
warehouse staff may only touch stock, dealers nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from portal import i18n
from portal.domain import data_io
from portal.domain.errors import Forbidden, ValidationFailed
from portal.export import csv_bytes
from portal.tables import (
    AuditEntry,
    ContractPrice,
    Dealer,
    OrderLine,
    PackUnit,
    Product,
    Sku,
    StockLevel,
    TierPrice,
    VolumeBreak,
)
from tests import factories as f


def _after(entry: dict) -> dict:
    value = entry["after"]
    return json.loads(value) if isinstance(value, str) else value


NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def world(db):
    wh = await f.warehouse(code="WH1")
    tier = await f.tier(code="T1")
    dealer = await f.dealer(tier, name="东方商行", default_warehouse=wh)
    a = await f.sku(code="A100", name="矿泉水", base_price_fen=200)
    b = await f.sku(code="B200", name="可乐", base_price_fen=300)
    await f.stock(a, wh, 100, reserved=30)
    await f.tier_price(tier, a, price_fen=180)
    await f.volume_break(tier, a, 240, 160)
    await f.contract_price(dealer, b, 250)
    return {
        "wh": wh,
        "tier": tier,
        "dealer": dealer,
        "a": a,
        "b": b,
        "admin": f.actor(await f.user("admin")),
        "clerk": f.actor(await f.user("warehouse")),
        "buyer": f.actor(await f.user("dealer_buyer", dealer)),
    }


def csv_file(header, *rows) -> bytes:
    return csv_bytes(header, rows)


async def test_every_export_imports_back_unchanged(world):
    admin = world["admin"]
    for kind in data_io.KINDS:
        header, rows = await data_io.export_rows(admin, kind)
        assert header == data_io.COLUMNS[kind] and rows, kind
        if kind in data_io.IMPORTABLE:
            result = await data_io.import_file(
                admin, kind, "x.csv", csv_bytes(header, rows), now=NOW
            )
            assert (result.created, result.updated) == (0, 0), kind
            assert result.unchanged == len(rows), kind
    assert await AuditEntry.count() == 0
    _, products = await data_io.export_rows(admin, "products")
    assert [p[3] for p in products] == ["A100", "B200"]


async def test_stock_is_counted_in_and_safety_stock_set(world):
    a, b = world["a"], world["b"]
    data = csv_file(
        ("sku", "warehouse", "on_hand", "safety_stock"),
        ("A100", "WH1", 80, 20),
        ("B200", "WH1", 12, ""),
    )
    result = await data_io.import_file(world["clerk"], "stock", "s.csv", data, now=NOW)
    assert (result.created, result.updated) == (1, 1)
    levels = {r["sku"]: (r["on_hand"], r["reserved"]) for r in await StockLevel.select()}
    assert levels == {a["id"]: (80, 30), b["id"]: (12, 0)}
    assert (await Sku.select(Sku.safety_stock).where(Sku.id == a["id"]).first())[
        "safety_stock"
    ] == 20
    actions = sorted(e["action"] for e in await AuditEntry.select())
    assert actions == ["sku.safety_stock", "stock.count", "stock.count"]
    counts = await AuditEntry.select().where(AuditEntry.action == "stock.count")
    # The adjustment's note is stored in the importer's language (zh_Hans by default).
    assert {_after(e)["note"] for e in counts} == {"导入"}


async def test_one_bad_row_refuses_the_whole_file(world):
    data = csv_file(
        ("warehouse", "sku", "on_hand"),
        ("WH1", "B200", 50),  # fine on its own
        ("WH1", "NOPE", 5),
        ("WH9", "A100", "x"),
        ("WH1", "B200", 7),  # the same row twice
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "stock", "s.csv", data, now=NOW)
    assert [e.field for e in refused.value.errors] == ["row 3", "row 4", "row 4", "row 5"]
    # A good row beside an unknown SKU: nothing of the file is written.
    both = csv_file(("warehouse", "sku", "on_hand"), ("WH1", "A100", 90), ("WH1", "NOPE", 5))
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "stock", "s.csv", both, now=NOW)
    assert [e.field for e in refused.value.errors] == ["row 3"]
    assert [(r["sku"], r["on_hand"]) for r in await StockLevel.select()] == [
        (world["a"]["id"], 100)
    ]
    assert await AuditEntry.count() == 0


async def test_a_stock_take_below_what_orders_hold_stands_as_a_count_does(db):
    """A counted file is what is on the shelf, as a count on the stock page: the newest
    orders' reservations give way (another warehouse serves them, or they wait); only units
    packed in parcels cannot, and that row is refused with the whole file."""
    from portal.domain import shipments
    from tests.db.test_shipments import approved_order, fulfil_world, stock_of

    w = await fulfil_world(on_hand1=10, on_hand2=0)
    older = await approved_order(w, qty=4, key="k1")
    newer = await approved_order(w, qty=5, key="k2")
    admin = f.actor(await f.user("admin"))
    take = csv_file(("warehouse", "sku", "on_hand"), ("W1", "A100", 6))
    result = await data_io.import_file(admin, "stock", "s.csv", take, now=NOW)
    assert result.updated == 1
    assert await stock_of(w.sku, w.wh1) == (6, 6)
    lines = {
        r["order"]: r["qty_backordered"]
        for r in await OrderLine.select(OrderLine.order, OrderLine.qty_backordered)
    }
    assert lines == {older["id"]: 0, newer["id"]: 3}
    # Four of the older order's units packed: a count of three cannot stand.
    await shipments.create_shipment(
        w.clerk,
        older["id"],
        warehouse_id=w.wh1["id"],
        quantities={older["lines"][0]["id"]: 4},
        now=NOW,
    )
    short = csv_file(("warehouse", "sku", "on_hand"), ("W1", "A100", 3))
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "stock", "s.csv", short, now=NOW)
    [error] = refused.value.errors
    assert (error.field, error.message) == ("row 2", data_io.MSG_BELOW_PACKED)
    assert error.params["count"] == 4
    assert await stock_of(w.sku, w.wh1) == (6, 6)


async def test_prices_and_breaks(world):
    data = csv_file(
        ("tier", "sku", "min_qty", "price", "percent"),
        ("T1", "A100", "", "1.70", ""),
        ("T1", "B200", "", "", "90"),
        ("T1", "A100", 240, "1.50", ""),
        ("T1", "A100", 480, "1.40", ""),
    )
    result = await data_io.import_file(world["admin"], "prices", "p.xlsx.csv", data, now=NOW)
    assert (result.created, result.updated, result.unchanged) == (2, 2, 0)
    fixed = {r["sku"]: (r["price_fen"], r["percent_bp"]) for r in await TierPrice.select()}
    assert fixed == {world["a"]["id"]: (170, None), world["b"]["id"]: (None, 9000)}
    breaks = sorted((r["min_qty"], r["price_fen"]) for r in await VolumeBreak.select())
    assert breaks == [(240, 150), (480, 140)]
    bad = csv_file(
        ("tier", "sku", "min_qty", "price", "percent"),
        ("T1", "A100", "", "1.70", "90"),
        ("T1", "A100", 10, "", "5"),
        ("T1", "A100", "", "-3", ""),
        ("T1", "A100", "", "", "250"),
        ("T9", "A100", "", "1", ""),
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "prices", "p.csv", bad, now=NOW)
    assert [e.field for e in refused.value.errors] == [f"row {n}" for n in (2, 3, 4, 5, 6)]


async def test_contract_prices_and_dealers(world):
    data = csv_file(("dealer", "sku", "price"), (world["dealer"]["code"], "A100", "1.55"))
    assert (
        await data_io.import_file(world["admin"], "contract_prices", "c.csv", data, now=NOW)
    ).created == 1
    assert {r["price_fen"] for r in await ContractPrice.select()} == {155, 250}
    dealers = csv_file(
        ("code", "name", "tier", "credit_limit", "active"),
        (world["dealer"]["code"], "", "", "80000", ""),
        ("D9001", "新商行", "T1", "5000.00", "1"),
    )
    result = await data_io.import_file(world["admin"], "dealers", "d.csv", dealers, now=NOW)
    assert (result.created, result.updated) == (1, 1)
    rows = {r["code"]: r for r in await Dealer.select()}
    assert rows[world["dealer"]["code"]]["credit_limit_fen"] == 8_000_000
    assert rows[world["dealer"]["code"]]["name"] == "东方商行"  # blank cells keep values
    assert rows["D9001"]["name"] == "新商行" and rows["D9001"]["credit_limit_fen"] == 500_000
    spaced = csv_file(("code", "name", "tier"), ("D 9003", "空格商行", "T1"))
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "dealers", "d.csv", spaced, now=NOW)
    assert refused.value.errors[0].field == "row 2"
    no_tier = csv_file(("code", "name"), ("D9002", "缺等级"))
    with pytest.raises(ValidationFailed):
        await data_io.import_file(world["admin"], "dealers", "d.csv", no_tier, now=NOW)


async def test_dealers_credit_policies_and_tolerance_import_and_export(world):
    code = world["dealer"]["code"]
    header = ("code", "overdue_policy", "over_credit_policy", "credit_tolerance",
              "credit_tolerance_percent")  # fmt: skip
    data = csv_file(header, (code, "block", "approval", "1,500", "2.5"))
    assert (await data_io.import_file(world["admin"], "dealers", "d.csv", data, now=NOW)).updated
    row = await Dealer.select().where(Dealer.code == code).first()
    assert (row["overdue_policy"], row["over_credit_policy"]) == ("block", "approval")
    assert (row["credit_tolerance_fen"], row["credit_tolerance_bp"]) == (150_000, 250)
    audit = await AuditEntry.select().where(AuditEntry.action == "dealer.imported").first()
    assert _after(audit)["credit_tolerance_bp"] == 250
    columns, rows = await data_io.export_rows(world["admin"], "dealers")
    exported = dict(zip(columns, next(r for r in rows if r[0] == code), strict=True))
    assert exported["overdue_policy"] == "block"
    assert (str(exported["credit_tolerance"]), exported["credit_tolerance_percent"]) == (
        "1500.00",
        "2.5",
    )
    # Each bad cell is reported by its row, and nothing is written.
    bad = csv_file(
        ("name", "tier", *header),
        ("甲", "T1", "D8001", "stop", "", "", ""),
        ("乙", "T1", "D8002", "", "", "-1", ""),
        ("丙", "T1", "D8003", "", "", "", "101"),
        ("丁", "T1", "D8004", "", "", "", "abc"),
        ("戊", "T1", code, "", "", "", "0"),
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "dealers", "d.csv", bad, now=NOW)
    assert [e.field for e in refused.value.errors] == ["row 2", "row 3", "row 4", "row 5"]
    assert await Dealer.select().where(Dealer.code == code).first() == row
    assert await Dealer.count() == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"sku,on_hand\nA100,5\n",  # no warehouse column
        b"warehouse,sku,on_hand\n",  # only the header
        b"PK\x03\x04broken",
    ],
)
async def test_unusable_files(world, data):
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "stock", "s.csv", data, now=NOW)
    assert refused.value.errors[0].field in ("file", "row 1")
    assert await AuditEntry.count() == 0


async def test_who_may_import_and_export_what(world):
    clerk, buyer = world["clerk"], world["buyer"]
    assert data_io.kinds_for(clerk) == ["stock"]
    assert data_io.kinds_for(world["admin"]) == list(data_io.KINDS)
    with pytest.raises(Forbidden):
        await data_io.export_rows(clerk, "prices")
    with pytest.raises(Forbidden):
        await data_io.import_file(clerk, "dealers", "d.csv", b"code\nD1\n", now=NOW)
    for kind in data_io.KINDS:
        with pytest.raises(Forbidden):
            await data_io.export_rows(buyer, kind)


async def test_products_are_added_and_changed(world):
    data = csv_file(
        ("category", "product", "brand", "sku", "name", "unit", "base_price", "moq"),
        ("饮料 / 茶", "冰红茶", "康师傅", "C300", "冰红茶 500ml", "瓶", "3.00", "12"),
        ("饮料 / 茶", "冰红茶", "康师傅", "C301", "冰红茶 1L", "瓶", "5.50", ""),
        ("", "", "", "A100", "矿泉水 550ml", "", "2.10", ""),
    )
    result = await data_io.import_file(world["admin"], "products", "p.csv", data, now=NOW)
    assert (result.created, result.updated) == (2, 1)
    skus = {r["code"]: r for r in await Sku.select()}
    assert skus["C300"]["base_price_fen"] == 300 and skus["C300"]["moq"] == 12
    assert skus["C300"]["product"] == skus["C301"]["product"]  # one product, two SKUs
    assert skus["A100"]["name"] == "矿泉水 550ml" and skus["A100"]["base_price_fen"] == 210
    _, exported = await data_io.export_rows(world["admin"], "products")
    assert [r[0] for r in exported if r[3] == "C300"] == ["饮料 / 茶"]
    again = await data_io.import_file(
        world["admin"],
        "products",
        "p.csv",
        csv_bytes(data_io.COLUMNS["products"], exported),
        now=NOW,
    )
    assert again.unchanged == len(exported)
    # The search text follows (database triggers).
    found = await Sku.select(Sku.search_text).where(Sku.code == "C300").first()
    assert "康师傅" in found["search_text"]


async def test_bad_product_rows(world):
    data = csv_file(
        ("category", "product", "sku", "name", "unit", "base_price", "moq"),
        ("饮料", "新品", "N1", "新品", "瓶", "", ""),  # a new SKU needs a base price
        ("", "", "A100", "", "箱", "", ""),  # the unit of an existing SKU
        ("", "别的商品", "B200", "", "", "", ""),  # moving an existing SKU
        ("", "", "B200", "", "", "x", "0"),
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "products", "p.csv", data, now=NOW)
    fields = [e.field for e in refused.value.errors]
    assert fields == ["row 2", "row 3", "row 4", "row 5", "row 5", "row 5"]
    assert await Sku.count() == 2 and await AuditEntry.count() == 0


async def packs_by_code() -> dict[str, list[tuple[str, int]]]:
    rows = await PackUnit.raw(
        "SELECT s.code, pu.name, pu.factor FROM pack_unit pu JOIN sku s ON s.id = pu.sku"
    )
    found: dict[str, list[tuple[str, int]]] = {}
    for r in rows:
        found.setdefault(r["code"], []).append((r["name"], r["factor"]))
    return {code: sorted(packs, key=lambda p: -p[1]) for code, packs in found.items()}


async def test_packs_weight_and_image_go_out_and_come_back(world):
    admin = world["admin"]
    header, rows = await data_io.export_rows(admin, "products")
    assert header[-3:] == ("weight_g", "packs", "image")
    assert [r[-3:] for r in rows] == [[0, "箱=24", ""], [0, "箱=24", ""]]
    data = csv_file(
        ("sku", "weight_g", "packs", "image", "category", "product", "name", "unit", "base_price"),
        ("A100", "560", "中包=6；箱 = 24", "/static/products/a100.png", "", "", "", "", ""),
        ("B200", "", "件=12", "", "", "", "", "", ""),
        (
            "C300",
            "500",
            "箱＝12",
            "https://img.example.com/c.jpg",
            "饮料 / 茶",
            "冰红茶",
            "冰红茶 500ml",
            "瓶",
            "3.00",
        ),
        (
            "C301",
            "",
            "",
            "https://img.example.com/c.jpg",
            "饮料 / 茶",
            "冰红茶",
            "冰红茶 1L",
            "瓶",
            "5.50",
        ),
    )
    result = await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert (result.created, result.updated, result.unchanged) == (2, 2, 0)
    assert await packs_by_code() == {
        "A100": [("箱", 24), ("中包", 6)],
        "B200": [("件", 12)],
        "C300": [("箱", 12)],
    }
    skus = {r["code"]: r for r in await Sku.select()}
    assert (skus["A100"]["weight_g"], skus["B200"]["weight_g"]) == (560, 0)
    assert (skus["C300"]["weight_g"], skus["C301"]["weight_g"]) == (500, 0)
    images = {r["id"]: r["image"] for r in await Product.select(Product.id, Product.image)}
    assert images[skus["A100"]["product"]] == "/static/products/a100.png"
    assert images[skus["C300"]["product"]] == "https://img.example.com/c.jpg"
    assert skus["C300"]["product"] == skus["C301"]["product"]
    packs = await AuditEntry.select().where(AuditEntry.action == "sku.packs")
    assert len(packs) == 3  # A100, B200 and the new C300
    assert await AuditEntry.count().where(AuditEntry.action == "product.image") == 1
    # Exported as imported, and imported back: nothing changes.
    header, rows = await data_io.export_rows(admin, "products")
    by_code = {r[3]: r for r in rows}
    assert by_code["A100"][-3:] == [560, "箱=24; 中包=6", "/static/products/a100.png"]
    assert by_code["C301"][-3:] == [0, "", "https://img.example.com/c.jpg"]
    audited = await AuditEntry.count()
    again = await data_io.import_file(admin, "products", "p.csv", csv_bytes(header, rows), now=NOW)
    assert again.unchanged == len(rows) == 4
    assert await AuditEntry.count() == audited
    # Blank cells leave packs, weight and image as they are; a packs cell replaces them all.
    blank = csv_file(
        ("sku", "weight_g", "packs", "image"), ("A100", "", "", ""), ("B200", "250", "箱=24", "")
    )
    result = await data_io.import_file(admin, "products", "p.csv", blank, now=NOW)
    assert (result.updated, result.unchanged) == (1, 1)
    assert (await packs_by_code())["A100"] == [("箱", 24), ("中包", 6)]
    assert (await packs_by_code())["B200"] == [("箱", 24)]


async def test_bad_packs_weight_and_image_refuse_the_file(world):
    admin = world["admin"]
    data = csv_file(
        ("sku", "packs", "weight_g", "image", "category", "product", "name", "unit", "base_price"),
        ("A100", "箱=24; 中包=6", "", "", "", "", "", "", ""),  # fine on its own
        ("B200", "箱", "", "", "", "", "", "", ""),
        ("A100", "", "-1", "", "", "", "", "", ""),
        ("B200", "箱=1", "1000001", "ftp://img.example.com/b.jpg", "", "", "", "", ""),
        ("B200", "箱=24; 箱=12", "", "", "", "", "", "", ""),
        ("B200", "瓶=6", "", "javascript:alert(1)", "", "", "", "", ""),
        ("N1", "盒=6", "", "/static/n1.png", "饮料", "新品", "新品", "盒", "1.00"),
        ("N2", "", "", "/static/n2.png", "饮料", "新品", "新品 大", "瓶", "2.00"),
        ("B200", "; ".join(f"包{n}={n + 2}" for n in range(6)), "", "", "", "", "", "", ""),
        ("B200", "中 包=6", "", "", "", "", "", "", ""),
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    found = [(e.field, e.message) for e in refused.value.errors]
    assert ("row 3", data_io.MSG_PACKS["format"]) in found
    assert ("row 4", data_io.MSG_NUMBER) in found
    assert ("row 5", data_io.MSG_PACKS["factor"]) in found
    assert ("row 5", data_io.MSG_NUMBER) in found
    assert ("row 5", data_io.MSG_IMAGE) in found
    assert ("row 6", data_io.MSG_PACKS["twice"]) in found
    assert ("row 7", data_io.MSG_PACKS["base"]) in found
    assert ("row 7", data_io.MSG_IMAGE) in found
    assert ("row 8", data_io.MSG_PACKS["base"]) in found  # 盒 is N1's own unit
    assert ("row 9", data_io.MSG_IMAGE_TWICE) in found  # the same new product, another image
    assert ("row 10", data_io.MSG_PACKS["many"]) in found
    assert ("row 11", data_io.MSG_PACKS["name"]) in found
    assert not [f for f, _m in found if f == "row 2"]
    twice = [e for e in refused.value.errors if e.message == data_io.MSG_IMAGE_TWICE][0]
    assert twice.params == {"row": 9, "first": 8}
    # Every message names its row in the reader's language.
    i18n.set_locale("zh_Hans")
    text = i18n.field_message(refused.value.errors[0])
    assert text.startswith("第 3 行") and "箱=24; 中包=6" in text
    assert await packs_by_code() == {"A100": [("箱", 24)], "B200": [("箱", 24)]}
    assert await Sku.count() == 2 and await AuditEntry.count() == 0
    assert {r["weight_g"] for r in await Sku.select(Sku.weight_g)} == {0}


async def test_a_new_products_row_names_the_blank_columns_it_needs(world):
    header = ("category", "product", "sku", "name", "unit", "base_price")
    data = csv_file(
        header,
        ("饮料", "新品", "N-1", "新品 1", "", "2.00"),  # no unit
        ("饮料", "新品", "N-2", "", "", ""),  # no name, unit or price
        ("饮料", "新品", "N-3", "新品 3", "瓶", "abc"),  # a price that is not an amount
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(world["admin"], "products", "p.csv", data, now=NOW)
    got = [(e.field, e.message, e.params) for e in refused.value.errors]
    assert got == [
        ("row 2", data_io.MSG_NEW_NEEDS, {"row": 2, "columns": "unit"}),
        ("row 3", data_io.MSG_NEW_NEEDS, {"row": 3, "columns": "name, unit, base_price"}),
        ("row 4", data_io.MSG_MONEY, {"row": 4, "column": "base_price"}),
    ]
    assert await Sku.count() == 2
