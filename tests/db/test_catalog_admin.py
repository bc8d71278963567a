"""Products and prices kept by an administrator one SKU at a time, on both engines: what a
dealer then pays and sees, refusals that change nothing, and the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from portal.domain import cart, catalog, catalog_admin, orders
from portal.domain.catalog_admin import MSG_PACK, SkuChange, TierPriceChange
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.quantities import LineRequest
from portal.tables import (
    AuditEntry,
    ContractPrice,
    OrderLine,
    PackUnit,
    Product,
    ProductVisibility,
    Sku,
    TierPrice,
    VolumeBreak,
)
from tests import factories as f

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
async def shop(db) -> dict:
    first = await f.tier(code="T1", name="一级经销商", rank=1)
    second = await f.tier(code="T2", name="二级经销商", rank=2)
    d1 = await f.dealer(first, name="上海恒通")
    d2 = await f.dealer(second, name="杭州百汇")
    water = await f.sku(code="BV-0010-550", name="农夫山泉 550ml", base_price_fen=200)
    return {
        "admin": f.actor(await f.user("admin")),
        "first": first,
        "second": second,
        "d1": d1,
        "d2": d2,
        "buyer1": f.actor(await f.user("dealer_buyer", d1)),
        "buyer2": f.actor(await f.user("dealer_buyer", d2)),
        "water": water,
    }


async def price_for(buyer, dealer: dict, sku_id: int, qty: int) -> tuple[int, str] | None:
    """What the dealer pays per base unit at this quantity, and the rule; None if not shown."""
    items = await catalog.items_by_ids(buyer, dealer, [sku_id], quantities={sku_id: qty})
    item = items.get(sku_id)
    return None if item is None else (item.quote.unit_price_fen, item.quote.rule)


def change(**values) -> SkuChange:
    base = {
        "name": "农夫山泉 550ml",
        "barcode": "6900000000017",
        "base_price": "2.00",
        "moq": "1",
        "order_multiple": "1",
        "safety_stock": "0",
        "allow_backorder": False,
        "active": True,
    }
    return SkuChange(**{**base, **values})


async def actions() -> list[str]:
    return sorted(r["action"] for r in await AuditEntry.select(AuditEntry.action))


async def test_a_sku_is_changed_and_a_dealer_orders_it_at_the_new_price(shop):
    admin, water = shop["admin"], shop["water"]
    detail = await catalog_admin.update_sku(
        admin,
        water["id"],
        change(
            name="农夫山泉 550ml 新装",
            base_price="2.40",
            moq="24",
            order_multiple="6",
            safety_stock="120",
            allow_backorder=True,
        ),
        now=NOW,
    )
    assert detail.sku["name"] == "农夫山泉 550ml 新装"
    row = await Sku.select().where(Sku.id == water["id"]).first()
    assert (row["base_price_fen"], row["moq"], row["order_multiple"], row["safety_stock"]) == (
        240,
        24,
        6,
        120,
    )
    assert bool(row["allow_backorder"]) is True
    # Code, unit and product are not among what changes.
    assert (row["code"], row["base_unit"], row["product"]) == (
        water["code"],
        water["base_unit"],
        water["product"],
    )
    assert await price_for(shop["buyer1"], shop["d1"], water["id"], 24) == (240, "base")
    entry = await AuditEntry.select().where(AuditEntry.action == "sku.saved").first()
    assert entry["entity"] == "sku" and entry["entity_id"] == str(water["id"])
    assert '"base_price_fen": 200' in entry["before"] and '"base_price_fen": 240' in entry["after"]
    # Saving the same values again writes nothing.
    await catalog_admin.update_sku(
        admin,
        water["id"],
        change(
            name="农夫山泉 550ml 新装",
            base_price="2.40",
            moq="24",
            order_multiple="6",
            safety_stock="120",
            allow_backorder=True,
        ),
        now=NOW,
    )
    assert await actions() == ["sku.saved"]
    # Deactivated: gone from the dealer's catalog.
    await catalog_admin.update_sku(
        admin, water["id"], change(name="农夫山泉 550ml 新装", base_price="2.40", active=False)
    )
    assert await price_for(shop["buyer1"], shop["d1"], water["id"], 24) is None


async def test_bad_sku_input_names_every_field_and_changes_nothing(shop):
    admin, water = shop["admin"], shop["water"]
    before = await Sku.select().where(Sku.id == water["id"]).first()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.update_sku(
            admin,
            water["id"],
            change(
                name=" ",
                barcode="6" * 41,
                base_price="-1",
                moq="0",
                order_multiple="1.5",
                safety_stock="abc",
            ),
        )
    assert sorted(e.field for e in refused.value.errors) == [
        "barcode",
        "base_price",
        "moq",
        "name",
        "order_multiple",
        "safety_stock",
    ]
    for bad in ("abc", "1.234", "NaN", "9" * 30, "=1+1", "-0.01"):
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.update_sku(admin, water["id"], change(base_price=bad))
        assert [e.field for e in refused.value.errors] == ["base_price"], bad
    for bad in ("-1", "²", "1e3", "100001", "😀"):
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.update_sku(admin, water["id"], change(moq=bad))
        assert [e.field for e in refused.value.errors] == ["moq"], bad
    assert await Sku.select().where(Sku.id == water["id"]).first() == before
    assert await AuditEntry.count() == 0


async def test_only_an_administrator_and_unknown_ids(shop):
    water = shop["water"]
    for role in ("warehouse", "finance", "sales_manager", "sales_rep"):
        staff = f.actor(await f.user(role))
        with pytest.raises(Forbidden):
            await catalog_admin.search_skus(staff)
        with pytest.raises(Forbidden):
            await catalog_admin.get_sku(staff, water["id"])
        with pytest.raises(Forbidden):
            await catalog_admin.update_sku(staff, water["id"], change(base_price="0.01"))
    buyer = shop["buyer1"]
    with pytest.raises(Forbidden):
        await catalog_admin.set_tier_price(
            buyer, water["id"], shop["first"]["id"], TierPriceChange(price="0.01")
        )
    with pytest.raises(Forbidden):
        await catalog_admin.set_contract_price(buyer, water["id"], shop["d1"]["code"], "0.01")
    with pytest.raises(Forbidden):
        await catalog_admin.remove_contract_price(buyer, water["id"], shop["d1"]["code"])
    with pytest.raises(Forbidden):
        await catalog_admin.set_visibility(buyer, water["product"], "restricted", [], ["X"])
    admin = shop["admin"]
    with pytest.raises(NotFound):
        await catalog_admin.get_sku(admin, 987654)
    with pytest.raises(NotFound):
        await catalog_admin.update_sku(admin, 987654, change())
    with pytest.raises(NotFound):
        await catalog_admin.set_tier_price(admin, water["id"], 987654, TierPriceChange())
    with pytest.raises(NotFound):
        await catalog_admin.remove_contract_price(admin, water["id"], "NO-SUCH")
    with pytest.raises(NotFound):
        await catalog_admin.set_visibility(admin, 987654, "all")
    assert (await Sku.select(Sku.base_price_fen).where(Sku.id == water["id"]).first())[
        "base_price_fen"
    ] == 200
    assert await TierPrice.count() == await ContractPrice.count() == 0


async def test_a_tier_price_with_volume_breaks_is_what_the_tier_pays(shop):
    admin, water, first = shop["admin"], shop["water"], shop["first"]
    sku_id = water["id"]
    row = await catalog_admin.set_tier_price(
        admin,
        sku_id,
        first["id"],
        TierPriceChange(price="1.80", breaks="240 1.60\n\n 480   1.50 \n"),
        now=NOW,
    )
    assert (row.price_fen, row.percent_bp, row.breaks) == (180, None, ((240, 160), (480, 150)))
    buyer1, d1 = shop["buyer1"], shop["d1"]
    assert await price_for(buyer1, d1, sku_id, 24) == (180, "tier")
    assert await price_for(buyer1, d1, sku_id, 240) == (160, "volume_break")
    assert await price_for(buyer1, d1, sku_id, 500) == (150, "volume_break")
    # The other tier still pays the base price.
    assert await price_for(shop["buyer2"], shop["d2"], sku_id, 240) == (200, "base")
    # A percentage instead, the breaks replaced (480 gone, 240 changed, 960 new), as pairs.
    row = await catalog_admin.set_tier_price(
        admin,
        sku_id,
        first["id"],
        TierPriceChange(percent="85", breaks=[(240, "1.55"), ("960", "1.40")]),
        now=NOW,
    )
    assert (row.price_fen, row.percent_bp, row.unit_price_fen) == (None, 8500, 170)
    assert await price_for(buyer1, d1, sku_id, 24) == (170, "tier")
    assert await price_for(buyer1, d1, sku_id, 500) == (155, "volume_break")
    assert await price_for(buyer1, d1, sku_id, 960) == (140, "volume_break")
    breaks = await VolumeBreak.select(VolumeBreak.min_qty, VolumeBreak.price_fen).order_by(
        VolumeBreak.min_qty
    )
    assert [(b["min_qty"], b["price_fen"]) for b in breaks] == [(240, 155), (960, 140)]
    # Breaks as a dealer reads them, in packs (1 箱 = 24 瓶) or the base unit, typed with or
    # without a space and in full-width digits.
    row = await catalog_admin.set_tier_price(
        admin,
        sku_id,
        first["id"],
        TierPriceChange(percent="85", breaks="10 箱 1.55\n５０箱 1.40\n1300瓶 1.35"),
        now=NOW,
    )
    assert row.breaks == ((240, 155), (1200, 140), (1300, 135))
    await catalog_admin.set_tier_price(
        admin,
        sku_id,
        first["id"],
        TierPriceChange(percent="85", breaks=[(240, "1.55"), ("960", "1.40")]),
        now=NOW,
    )
    # Everything blank: the tier pays the base price again, no rows left.
    await catalog_admin.set_tier_price(admin, sku_id, first["id"], TierPriceChange(), now=NOW)
    assert await price_for(buyer1, d1, sku_id, 960) == (200, "base")
    assert await TierPrice.count() == await VolumeBreak.count() == 0
    entries = await AuditEntry.select().where(
        AuditEntry.entity.is_in(["tier_price", "volume_break"])
    )
    # 1.80, 240, 480; 85 %, 240 changed, 480 removed, 960; in packs: 960 removed, 1200 and
    # 1300; back: 1200 and 1300 removed, 960; then all three removed.
    assert len(entries) == 16
    assert {e["action"] for e in entries} == {"price.saved", "price.removed"}
    detail = await catalog_admin.get_sku(admin, sku_id)
    assert [(t.tier_code, t.unit_price_fen) for t in detail.tier_prices] == [
        ("T1", None),
        ("T2", None),
    ]


async def test_bad_tier_prices_are_refused_whole(shop):
    admin, water, first = shop["admin"], shop["water"], shop["first"]
    await catalog_admin.set_tier_price(
        admin, water["id"], first["id"], TierPriceChange(price="1.80", breaks="240 1.60")
    )
    audit_before = await AuditEntry.count()
    cases = [
        (TierPriceChange(price="1.80", percent="85"), ["percent"], None),
        (TierPriceChange(price="-1"), ["price"], None),
        (TierPriceChange(percent="0"), ["percent"], None),
        (TierPriceChange(percent="100.5"), ["percent"], None),
        (TierPriceChange(percent="85.555"), ["percent"], None),
        (TierPriceChange(breaks="240 1.60\n120 1.50"), ["breaks"], {"n": 2}),
        (TierPriceChange(breaks="240 1.60\n240 1.50"), ["breaks"], {"n": 2}),
        (TierPriceChange(breaks="1 1.60"), ["breaks"], {"n": 1, "max": 10_000_000}),
        (TierPriceChange(breaks="240"), ["breaks"], {"n": 1}),
        (TierPriceChange(breaks="240 1.60 x"), ["breaks"], {"n": 1}),
        (TierPriceChange(breaks="10 盒 1.60"), ["breaks"], {"n": 1, "max": 10_000_000}),
        (TierPriceChange(breaks="x" * 10_000), ["breaks"], None),
        (TierPriceChange(breaks="\n".join(f"{q} 1.00" for q in range(2, 30))), ["breaks"], None),
        (TierPriceChange(breaks=[(0, "1.00")]), ["breaks"], None),
    ]
    for data, fields, params in cases:
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.set_tier_price(admin, water["id"], first["id"], data)
        assert [e.field for e in refused.value.errors] == fields, data
        if params:
            assert refused.value.errors[0].params == params, data
    # Every problem at once: the price, the percentage and two bad breaks.
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.set_tier_price(
            admin,
            water["id"],
            first["id"],
            TierPriceChange(price="abc", percent="x", breaks="a 1.00\n240 b"),
        )
    assert [e.field for e in refused.value.errors] == ["price", "percent", "breaks", "breaks"]
    row = await TierPrice.select().first()
    assert (row["price_fen"], row["percent_bp"]) == (180, None)
    assert [(b["min_qty"], b["price_fen"]) for b in await VolumeBreak.select()] == [(240, 160)]
    assert await AuditEntry.count() == audit_before


async def test_a_contract_price_wins_and_can_be_removed(shop):
    admin, water = shop["admin"], shop["water"]
    await catalog_admin.set_tier_price(
        admin, water["id"], shop["second"]["id"], TierPriceChange(price="1.90", breaks="240 1.70")
    )
    row = await catalog_admin.set_contract_price(
        admin, water["id"], f" {shop['d2']['code']} ", "1.55", now=NOW
    )
    assert (row.dealer_code, row.price_fen) == (shop["d2"]["code"], 155)
    buyer2, d2 = shop["buyer2"], shop["d2"]
    assert await price_for(buyer2, d2, water["id"], 480) == (155, "contract")
    # Another dealer is not touched.
    assert await price_for(shop["buyer1"], shop["d1"], water["id"], 24) == (200, "base")
    await catalog_admin.set_contract_price(admin, water["id"], d2["code"], "1.50", now=NOW)
    assert await ContractPrice.count() == 1
    assert await price_for(buyer2, d2, water["id"], 24) == (150, "contract")
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.set_contract_price(admin, water["id"], "NO-SUCH", "-2")
    assert [(e.field, e.params) for e in refused.value.errors] == [
        ("dealer", {"code": "NO-SUCH"}),
        ("price", {}),
    ]
    assert await catalog_admin.remove_contract_price(admin, water["id"], d2["code"]) is True
    assert await catalog_admin.remove_contract_price(admin, water["id"], d2["code"]) is False
    assert await price_for(buyer2, d2, water["id"], 480) == (170, "volume_break")
    contract_actions = [
        (e["action"], e["before"], e["after"])
        for e in await AuditEntry.select()
        .where(AuditEntry.entity == "contract_price")
        .order_by(AuditEntry.id)
    ]
    assert [a for a, _b, _a in contract_actions] == ["price.saved", "price.saved", "price.removed"]
    assert '"price_fen": 150' in contract_actions[-1][1] and contract_actions[-1][2] == "{}"


async def test_a_restricted_product_disappears_for_dealers_outside_its_list(shop):
    admin, water = shop["admin"], shop["water"]
    product = water["product"]
    d1, d2 = shop["d1"], shop["d2"]
    third = await f.dealer(shop["second"], name="苏州远达")
    buyer3 = f.actor(await f.user("dealer_buyer", third))
    shown = await catalog_admin.set_visibility(
        admin, product, "restricted", [str(shop["first"]["id"])], [third["code"]], now=NOW
    )
    assert [t.code for t in shown.tiers] == ["T1"] and [d.code for d in shown.dealers] == [
        third["code"]
    ]
    assert await price_for(shop["buyer1"], d1, water["id"], 1) is not None  # by tier
    assert await price_for(buyer3, third, water["id"], 1) is not None  # by name
    assert await price_for(shop["buyer2"], d2, water["id"], 1) is None  # neither
    page = await catalog.search(shop["buyer2"], d2, q="农夫")
    assert page.items == []
    entry = await AuditEntry.select().where(AuditEntry.action == "product.visibility").first()
    assert '"visibility": "all"' in entry["before"] and '"tiers": ["T1"]' in entry["after"]
    # Refused: nobody listed, "all" with a list, unknown tier and dealer, an unknown choice.
    for args, fields in (
        (("restricted", [], []), ["visibility"]),
        (("all", [], [d2["code"]]), ["visibility"]),
        (("restricted", ["987654", "abc"], ["NO-SUCH", d2["code"]]), ["tier_ids", "dealer_codes"]),
        (("=cmd", [], []), ["visibility"]),
        (("restricted", [], [f"X{n}" for n in range(201)]), ["dealer_codes"]),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.set_visibility(admin, product, *args)
        assert [e.field for e in refused.value.errors] == fields, args
    assert await ProductVisibility.count() == 2
    # Back to everyone: the list goes, dealer 2 sees it again.
    await catalog_admin.set_visibility(admin, product, "all", now=NOW)
    assert await ProductVisibility.count() == 0
    assert (await Product.select(Product.visibility).where(Product.id == product).first())[
        "visibility"
    ] == "all"
    assert await price_for(shop["buyer2"], d2, water["id"], 1) is not None
    assert await AuditEntry.count().where(AuditEntry.action == "product.visibility") == 2


async def test_administrators_find_skus_by_code_barcode_or_name_inactive_too(shop):
    admin, water = shop["admin"], shop["water"]
    tea = await f.sku(code="TEA-0001-500", name="康师傅冰红茶 500ml", barcode="6920202888883")
    off = await f.sku(
        code="TEA-0002-OFF", name="康师傅绿茶 500ml", barcode="6920202777772", active=False
    )
    codes = lambda page: [r.code for r in page.items]  # noqa: E731
    assert codes(await catalog_admin.search_skus(admin, "tea")) == [tea["code"], off["code"]]
    assert codes(await catalog_admin.search_skus(admin, "0010")) == [water["code"]]
    # Not "2888": the factories number their barcodes 69000000NNNNN, and in a long run of
    # tests one of them holds 2888 too.
    assert codes(await catalog_admin.search_skus(admin, "0202888")) == [tea["code"]]
    assert codes(await catalog_admin.search_skus(admin, "冰红")) == [tea["code"]]
    assert codes(await catalog_admin.search_skus(admin, "康师傅 off")) == [off["code"]]
    assert codes(await catalog_admin.search_skus(admin, "100%_")) == []
    listing = await catalog_admin.search_skus(admin, "", per_page=2)
    assert (listing.total, listing.has_more, codes(listing)) == (
        3,
        True,
        [water["code"], tea["code"]],
    )
    rest = await catalog_admin.search_skus(admin, "", page=2, per_page=2)
    assert (codes(rest), rest.has_more, rest.total) == ([off["code"]], False, 3)
    assert [r.active for r in rest.items] == [False]
    detail = await catalog_admin.get_sku(admin, water["id"])
    assert detail.packs == [("箱", 24)]
    assert detail.product["category_path"] == ["饮料"]
    assert [t.tier_code for t in detail.tier_prices] == ["T1", "T2"]


# --- pack units, weight and the product's picture ------------------------------------------------


async def packs_of(sku_id: int) -> list[tuple[str, int]]:
    rows = await PackUnit.select(PackUnit.name, PackUnit.factor).where(PackUnit.sku == sku_id)
    return sorted(((r["name"], r["factor"]) for r in rows), key=lambda p: -p[1])


async def test_pack_units_are_replaced_and_dealers_order_in_the_new_ones(shop):
    admin, water, first = shop["admin"], shop["water"], shop["first"]
    sku_id = water["id"]
    wh = await f.warehouse()
    await f.stock(water, wh, 10_000)
    dealer = await f.dealer(first, name="苏州远达", default_warehouse=wh)
    buyer = f.actor(await f.user("dealer_buyer", dealer))
    # Before: 2 箱 of 24 in the cart, one 箱 ordered; both counted in 瓶.
    await cart.set_qty(buyer, dealer["id"], sku_id, 2, "箱")
    placed = await orders.submit_order(
        buyer, None, [LineRequest(qty=24, sku_id=sku_id)], idempotency_key="before-packs"
    )
    await catalog_admin.set_tier_price(
        admin, sku_id, first["id"], TierPriceChange(price="1.80", breaks="240 1.60")
    )
    saved = await catalog_admin.set_packs(admin, sku_id, " 件  12 \n\n托 1200\n中包 6", now=NOW)
    assert saved == [("托", 1200), ("件", 12), ("中包", 6)]
    assert await packs_of(sku_id) == saved
    item = (await catalog.items_by_ids(buyer, dealer, [sku_id], quantities={sku_id: 240}))[sku_id]
    assert (item.pack_name, item.pack_factor) == ("托", 1200)
    assert item.packs == (("托", 1200), ("件", 12), ("中包", 6))
    # Replaced: the largest pack is now 件; the break reads in 件 (满 20 件).
    await catalog_admin.set_packs(admin, sku_id, [("件", "12"), ("中包", 6)], now=NOW)
    assert await packs_of(sku_id) == [("件", 12), ("中包", 6)]
    item = (await catalog.items_by_ids(buyer, dealer, [sku_id], quantities={sku_id: 240}))[sku_id]
    assert (item.pack_name, item.pack_factor) == ("件", 12)
    assert (item.quote.rule, item.quote.unit_price_fen) == ("volume_break", 160)
    assert item.quote.rule_params["pack"] == "件" and item.quote.rule_params["packs"] == 20
    # Ordering by the new pack counts 12 瓶 a 件.
    view = await cart.set_qty(buyer, dealer["id"], sku_id, 3, "件")
    assert [line.qty for line in view.lines] == [36]
    # The order placed before keeps its quantity in 瓶.
    line = await OrderLine.select(OrderLine.qty).where(OrderLine.order == placed.order.id).first()
    assert line["qty"] == 24
    # The detail page lists them largest first; the same packs again write nothing.
    assert (await catalog_admin.get_sku(admin, sku_id)).packs == [("件", 12), ("中包", 6)]
    await catalog_admin.set_packs(admin, sku_id, "中包 6\n件 12", now=NOW)
    entries = (
        await AuditEntry.select().where(AuditEntry.action == "sku.packs").order_by(AuditEntry.id)
    )
    assert len(entries) == 2
    assert entries[0]["entity"] == "sku" and entries[0]["entity_id"] == str(sku_id)
    assert json.loads(entries[0]["before"]) == {"packs": [["箱", 24]]}
    assert json.loads(entries[1]["after"]) == {"packs": [["件", 12], ["中包", 6]]}
    # Cleared: no pack left, the dealer orders in 瓶; a cart line in the old pack stays.
    in_cart = await cart.set_qty(buyer, dealer["id"], sku_id, 2, "件")
    assert [line.qty for line in in_cart.lines] == [24]
    assert await catalog_admin.set_packs(admin, sku_id, "", now=NOW) == []
    assert await packs_of(sku_id) == []
    item = (await catalog.items_by_ids(buyer, dealer, [sku_id]))[sku_id]
    assert (item.pack_name, item.pack_factor, item.packs) == (None, None, ())
    view = await cart.get_cart(buyer, dealer["id"])
    assert [(line.qty, line.pack_name) for line in view.lines] == [(24, None)]
    assert await AuditEntry.count().where(AuditEntry.action == "sku.packs") == 3


def _pack_error(refused, key: str, **params) -> bool:
    errors = refused.value.errors
    return [(e.field, e.message) for e in errors] == [("packs", MSG_PACK[key])] and all(
        errors[0].params.get(k) == v for k, v in params.items()
    )


async def test_bad_pack_lines_are_refused_with_their_line_numbers(shop):
    admin, water = shop["admin"], shop["water"]
    sku_id = water["id"]
    cases = [
        ("箱", "format", {"n": 1}),
        ("箱 24\n中包 6 盒", "format", {"n": 2}),
        ("箱 24\n\n中包 1", "factor", {"n": 2, "max": 100_000}),
        ("箱 100001", "factor", {"n": 1}),
        ("箱 2.5", "factor", {"n": 1}),
        ("箱 -6", "factor", {"n": 1}),
        ("箱 24\n箱 12", "twice", {"n": 2, "name": "箱"}),
        ("Box 24\nbox 12", "twice", {"n": 2}),
        ("件 12\n瓶 6", "base", {"n": 2, "name": "瓶"}),
        ("一二三四五六七八九十一 6", "name", {"n": 1, "max": 10}),
        ("箱=1 24", "name", {"n": 1}),
        ("箱;1 24", "name", {"n": 1}),
        ("\n".join(f"包{n} {n + 2}" for n in range(6)), "many", {"max": 5}),
        ("箱 24\n" * 41, "long", {"max": 200}),
        ([("中 包", 6)], "name", {"n": 1}),
        ([("箱", 24), ("", 6)], "name", {"n": 2}),
    ]
    for packs, key, params in cases:
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.set_packs(admin, sku_id, packs)
        assert _pack_error(refused, key, **params), (packs, refused.value.errors)
    # Every bad line at once, each with its number.
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.set_packs(admin, sku_id, "箱\n瓶 6\n件 1\n盒 6")
    assert [(e.params["n"], e.message) for e in refused.value.errors] == [
        (1, MSG_PACK["format"]),
        (2, MSG_PACK["base"]),
        (3, MSG_PACK["factor"]),
    ]
    # Through update_sku (the API) too, with the SKU's other fields: nothing is written.
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.update_sku(
            admin, sku_id, change(base_price="2.40", packs=[("件", 12), ("件", 6)])
        )
    assert [e.field for e in refused.value.errors] == ["packs"]
    assert await packs_of(sku_id) == [("箱", 24)]
    assert (await Sku.select(Sku.base_price_fen).where(Sku.id == sku_id).first())[
        "base_price_fen"
    ] == 200
    assert await AuditEntry.count() == 0
    # Who may, and which SKU.
    for role in ("warehouse", "finance", "sales_manager"):
        staff = f.actor(await f.user(role))
        with pytest.raises(Forbidden):
            await catalog_admin.set_packs(staff, sku_id, "件 12")
        with pytest.raises(Forbidden):
            await catalog_admin.update_sku(staff, sku_id, change(packs="件 12"))
    with pytest.raises(Forbidden):
        await catalog_admin.set_packs(shop["buyer1"], sku_id, "件 12")
    with pytest.raises(NotFound):
        await catalog_admin.set_packs(admin, 987654, "件 12")
    assert await packs_of(sku_id) == [("箱", 24)] and await AuditEntry.count() == 0


async def test_weight_and_the_products_picture(shop):
    admin, water = shop["admin"], shop["water"]
    product = water["product"]
    sibling = await f.sku(code="BV-0010-1500", name="农夫山泉 1.5L", product={"id": product})
    image = "https://img.example.com/nongfu/550.jpg"
    detail = await catalog_admin.update_sku(
        admin,
        water["id"],
        change(weight_g="560", image=f"  {image} ", packs="箱 24\n中包 6"),
        now=NOW,
    )
    assert detail.sku["weight_g"] == 560 and detail.product["image"] == image
    assert detail.packs == [("箱", 24), ("中包", 6)]
    # The picture is the product's: the other SKU of the product shows it too.
    items = await catalog.items_by_ids(shop["buyer1"], shop["d1"], [water["id"], sibling["id"]])
    assert {items[water["id"]].image, items[sibling["id"]].image} == {image}
    assert sorted(await actions()) == ["product.image", "sku.packs", "sku.saved"]
    entry = await AuditEntry.select().where(AuditEntry.action == "product.image").first()
    assert (entry["entity"], entry["entity_id"]) == ("product", str(product))
    assert json.loads(entry["after"]) == {"image": image}
    # Left out (None): weight, picture and packs stay as they are.
    await catalog_admin.update_sku(admin, water["id"], change(name="农夫山泉 550ml 新装"))
    row = await Sku.select(Sku.weight_g).where(Sku.id == water["id"]).first()
    assert row["weight_g"] == 560
    assert (await Product.select(Product.image).where(Product.id == product).first())[
        "image"
    ] == image
    assert await packs_of(water["id"]) == [("箱", 24), ("中包", 6)]
    # Refused, every field at once, nothing changed.
    for weight, picture in (
        ("-1", "ftp://img.example.com/a.jpg"),
        ("-2", "http://img.example.com/a.jpg"),  # mixed content on https pages
        ("1000001", "javascript:alert(1)"),
        ("abc", "/img/a.png"),
        ("1.5", "https://"),
        ("", "/static/../portal/settings.py"),
        ("😀", "https://img.example.com/a b.jpg"),
        ("9" * 30, "https://img.example.com/" + "a" * 240),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.update_sku(
                admin, water["id"], change(weight_g=weight, image=picture)
            )
        assert [e.field for e in refused.value.errors] == ["weight_g", "image"], (weight, picture)
    assert (await Sku.select(Sku.weight_g).where(Sku.id == water["id"]).first())["weight_g"] == 560
    # A path under /static/ is fine; empty removes the picture; 0 g and 1,000,000 g are fine.
    await catalog_admin.update_sku(
        admin, water["id"], change(weight_g=0, image="/static/products/550.png")
    )
    assert (await catalog_admin.get_sku(admin, sibling["id"])).product["image"] == (
        "/static/products/550.png"
    )
    detail = await catalog_admin.update_sku(
        admin, water["id"], change(weight_g="1000000", image="")
    )
    assert (detail.sku["weight_g"], detail.product["image"]) == (1_000_000, "")
    assert await AuditEntry.count().where(AuditEntry.action == "product.image") == 3
