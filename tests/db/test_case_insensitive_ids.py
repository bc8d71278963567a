"""Usernames and codes are one name whatever their letter case, and a barcode is one SKU's, on
both engines: the portal refuses a second spelling (and the database, when a check is passed
by); what someone types finds the one there is. Volume breaks only ever lower the price, and
a minimum order is a multiple of the order multiple."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from portal.domain import (
    accounts,
    api_keys,
    catalog_admin,
    codes,
    data_io,
    dealers,
    staff,
    team,
    tiers,
    warehouses,
)
from portal.domain.catalog_admin import ProductNew, SkuChange, SkuNew, TierPriceChange
from portal.domain.errors import RateLimited, Unauthorized, ValidationFailed
from portal.domain.idempotency import is_unique_violation
from portal.domain.staff import StaffInput
from portal.domain.team import UserInput
from portal.export import csv_bytes
from portal.tables import (
    AuditEntry,
    ContractPrice,
    Dealer,
    Product,
    ProductVisibility,
    Sku,
    StockLevel,
    Tier,
    TierPrice,
    User,
    VolumeBreak,
    Warehouse,
)
from tests import factories as f
from tests.db.test_housekeeping import _cli

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
PRODUCTS = ("category", "product", "sku", "barcode", "name", "unit", "base_price", "moq")
PRODUCTS += ("order_multiple",)


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier(code="T1", name="一级经销商")
    wh = await f.warehouse(code="SH", name="上海仓")
    dealer = await f.dealer(tier, name="上海恒通", default_warehouse=wh)
    await Dealer.update({Dealer.code: "D01"}).where(Dealer.id == dealer["id"])
    water = await f.sku(code="BV-0001-1500", name="农夫山泉 1.5L", base_price_fen=400)
    tea = await f.sku(code="TEA-0001-500", name="冰红茶 500ml", barcode="6920202888883")
    await Sku.update({Sku.barcode: "6921168509256"}).where(Sku.id == water["id"])
    d02 = await f.dealer(tier, name="杭州百汇")
    admin = await f.user("admin", username="admin")
    return {
        "tier": tier,
        "wh": wh,
        "dealer": await Dealer.select().where(Dealer.id == dealer["id"]).first(),
        "d02": d02,
        "water": await Sku.select().where(Sku.id == water["id"]).first(),
        "tea": tea,
        "admin_row": admin,
        "admin": f.actor(admin),
        "finance": await f.user("finance", username="finance"),
        "boss": await f.user("dealer_admin", d02, username="d02boss"),
        "buyer": await f.user("dealer_buyer", d02, username="d02buyer"),
    }


def refusal(exc: pytest.ExceptionInfo) -> list[tuple[str, str, dict]]:
    return [(e.field, e.message, e.params) for e in exc.value.errors]


async def table_counts() -> dict[str, int]:
    """What a refusal must leave as it was."""
    return {
        t._meta.tablename: await t.count()
        for t in (
            User,
            Dealer,
            Tier,
            Warehouse,
            Sku,
            Product,
            TierPrice,
            VolumeBreak,
            ContractPrice,
            StockLevel,
            AuditEntry,
        )
    }


def sign_in(login: str, password: str = f.PASSWORD):
    return accounts.authenticate(login, password, "10.0.0.1", now=NOW)


# --- 1. usernames ------------------------------------------------------------------------------


async def test_a_username_in_another_letter_case_is_taken(shop):
    boss = f.actor(shop["boss"])
    before = await table_counts()
    for taken in ("D02BUYER", "Admin", "FINANCE", "d02Boss"):
        with pytest.raises(ValidationFailed) as refused:
            await team.create_user(
                boss,
                shop["d02"]["id"],
                taken,
                "first-pass-1",
                UserInput(display_name="张三", role="dealer_buyer"),
            )
        assert refusal(refused) == [("username", "This username is taken.", {})], taken
        with pytest.raises(ValidationFailed) as refused:
            await staff.create_staff(
                shop["admin"],
                taken,
                "first-pass-1",
                StaffInput(display_name="李四", role="finance"),
            )
        assert refusal(refused) == [("username", "This username is taken.", {})], taken
    assert await table_counts() == before


async def test_a_username_is_kept_as_typed_and_signs_in_in_any_case(shop):
    made = await team.create_user(
        f.actor(shop["boss"]),
        shop["d02"]["id"],
        "Zhang.San",
        "first-pass-1",
        UserInput(display_name="张三", role="dealer_buyer"),
    )
    assert made["username"] == "Zhang.San"
    row = await User.select(User.username).where(User.id == made["id"]).first()
    assert row["username"] == "Zhang.San"
    for login in ("Zhang.San", "zhang.san", "ZHANG.SAN", " zHANG.sAN "):
        assert (await sign_in(login, "first-pass-1"))["id"] == made["id"], login
    assert (await sign_in("ADMIN"))["id"] == shop["admin_row"]["id"]


async def test_a_wrong_password_in_any_case_counts_against_the_one_account(shop):
    """The account's limit is one counter whichever way its name is typed."""
    for login in ("finance", "Finance", "FINANCE", "fInance", "FINance"):
        with pytest.raises(Unauthorized):
            await sign_in(login, "wrong-password")
    with pytest.raises(RateLimited):
        await sign_in("finance")


async def test_a_username_taken_at_the_same_moment_is_the_field_error(shop):
    """What the check cannot see (another request committed in between), the unique index on
    LOWER(username) refuses: the same field error, nothing written."""
    before = await table_counts()
    values = {"display_name": "王五", "role": "dealer_buyer", "dealer": shop["d02"]["id"]}
    with pytest.raises(ValidationFailed) as refused:
        await team.insert_user(f.actor(shop["boss"]), "D02BUYER", "first-pass-1", values)
    assert refusal(refused) == [("username", "This username is taken.", {})]
    assert await table_counts() == before
    with pytest.raises(Exception) as raw:
        await User.insert(
            User(
                username="ADMIN", password_hash="x", role="admin", display_name="x", created_at=NOW
            )
        )
    assert is_unique_violation(raw.value)


async def test_an_api_key_holder_is_found_in_any_case(shop):
    view, _key = await api_keys.create_key(
        shop["admin"], api_keys.KeyInput("FINANCE", "ERP"), now=NOW
    )
    row = await api_keys.ApiKey.select().where(api_keys.ApiKey.id == view.id).first()
    assert row["user"] == shop["finance"]["id"]


async def test_createadmin_names_an_existing_user_in_any_case(shop, database_url, tmp_path):
    again = await asyncio.to_thread(_cli, database_url, tmp_path, "ADMIN", password="s3cret-pass")
    assert again.returncode == 1 and "admin exists" in again.stderr
    assert await User.count().where(codes.same_text(User.username, "admin")) == 1
    reset = await asyncio.to_thread(
        _cli, database_url, tmp_path, "Admin", "--reset-password", password="other-pass-9"
    )
    assert reset.returncode == 0, reset.stderr
    assert (await sign_in("admin", "other-pass-9"))["id"] == shop["admin_row"]["id"]


# --- 2. codes ----------------------------------------------------------------------------------


async def test_codes_in_another_letter_case_are_taken(shop):
    admin = shop["admin"]
    before = await table_counts()
    with pytest.raises(ValidationFailed) as refused:
        await dealers.save_dealer(
            admin,
            None,
            dealers.DealerInput(name="新商行", tier_id=shop["tier"]["id"], code="d01"),
            now=NOW,
        )
    assert refusal(refused) == [("code", dealers.CODE_TAKEN, {})]
    with pytest.raises(ValidationFailed) as refused:
        await warehouses.save_warehouse(admin, None, warehouses.WarehouseInput("sh", "上海二仓"))
    assert refusal(refused) == [("code", warehouses.TAKEN, {})]
    with pytest.raises(ValidationFailed) as refused:
        await tiers.save_tier(admin, None, tiers.TierInput("t1", "一级"))
    assert refusal(refused) == [("code", tiers.TAKEN, {})]
    new_sku = SkuNew(code="bv-0001-1500", name="农夫山泉", base_unit="瓶", base_price="4.00")
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_sku(admin, shop["water"]["product"], new_sku)
    assert refusal(refused) == [("code", catalog_admin.CODE_TAKEN, {})]
    product = ProductNew(name="新品", category_id=(await f.category("新类"))["id"])
    before = await table_counts()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(admin, product, new_sku)
    assert refusal(refused) == [("code", catalog_admin.CODE_TAKEN, {})]
    assert await table_counts() == before
    # A warehouse or tier may change the case of its own code.
    wh = await warehouses.save_warehouse(
        admin, shop["wh"]["id"], warehouses.WarehouseInput("Sh", "上海仓")
    )
    assert wh["code"] == "Sh"
    tier = await tiers.save_tier(admin, shop["tier"]["id"], tiers.TierInput("t1", "一级经销商"))
    assert tier["code"] == "t1"


async def test_the_database_refuses_a_code_in_another_letter_case(shop):
    rows = (
        Dealer(code="d01", name="x", tier=shop["tier"]["id"], created_at=NOW),
        Tier(code="t1", name="x"),
        Warehouse(code="sh", name="x"),
        Sku(code="bv-0001-1500", name="x", product=shop["water"]["product"], base_unit="瓶"),
    )
    for row in rows:
        with pytest.raises(Exception) as raw:
            await type(row).insert(row)
        assert is_unique_violation(raw.value), row


async def test_a_typed_dealer_code_finds_the_dealer_in_any_case(shop):
    admin, water = shop["admin"], shop["water"]
    row = await catalog_admin.set_contract_price(admin, water["id"], " d01 ", "3.20", now=NOW)
    assert (row.dealer_id, row.dealer_code) == (shop["dealer"]["id"], "D01")
    assert await ContractPrice.count().where(ContractPrice.dealer == shop["dealer"]["id"]) == 1
    assert await catalog_admin.remove_contract_price(admin, water["id"], "D01", now=NOW)
    assert await ContractPrice.count() == 0
    shown = await catalog_admin.set_visibility(
        admin, water["product"], "restricted", dealer_codes=["d01", "D01"], now=NOW
    )
    assert [d.code for d in shown.dealers] == ["D01"]
    assert await ProductVisibility.count() == 1


async def test_a_code_is_found_as_typed_in_any_case(shop):
    found = await codes.rows_by_code(Warehouse, ["SH", "sh", "sH", "XX", ""])
    assert {code: row["id"] for code, row in found.items()} == {
        "SH": shop["wh"]["id"],
        "sh": shop["wh"]["id"],
        "sH": shop["wh"]["id"],
    }
    assert await codes.ids_by_code(Sku, ["tea-0001-500"]) == {"tea-0001-500": shop["tea"]["id"]}
    assert codes.folded("BV-0001-Ab") == "bv-0001-ab" and codes.folded("上海SH") == "上海sh"


async def test_imports_find_codes_in_any_case(shop):
    admin = shop["admin"]
    stock = csv_bytes(("warehouse", "sku", "on_hand"), [("sh", "bv-0001-1500", "50")])
    result = await data_io.import_file(admin, "stock", "s.csv", stock, now=NOW)
    assert result.created == 1
    level = await StockLevel.select().where(StockLevel.sku == shop["water"]["id"]).first()
    assert (level["warehouse"], level["on_hand"]) == (shop["wh"]["id"], 50)
    prices = csv_bytes(("tier", "sku", "price"), [("t1", "Bv-0001-1500", "3.80")])
    assert (await data_io.import_file(admin, "prices", "p.csv", prices, now=NOW)).created == 1
    contract = csv_bytes(("dealer", "sku", "price"), [("d01", "bv-0001-1500", "3.50")])
    assert (await data_io.import_file(admin, "contract_prices", "c.csv", contract)).created == 1
    # A dealer's row in another case changes that dealer; it adds no second one.
    dealers_file = csv_bytes(("code", "name", "tier"), [("d01", "上海恒通新", "t1")])
    result = await data_io.import_file(admin, "dealers", "d.csv", dealers_file, now=NOW)
    assert (result.created, result.updated) == (0, 1)
    assert await Dealer.select(Dealer.code, Dealer.name).where(
        Dealer.id == shop["dealer"]["id"]
    ).first() == {"code": "D01", "name": "上海恒通新"}
    assert await Dealer.count() == 2
    # So does a SKU's row: its code stays as it was.
    products = csv_bytes(("sku", "name"), [("bv-0001-1500", "农夫山泉 1.5L 新")])
    result = await data_io.import_file(admin, "products", "p.csv", products, now=NOW)
    assert (result.created, result.updated) == (0, 1)
    assert await Sku.select(Sku.code, Sku.name).where(Sku.id == shop["water"]["id"]).first() == {
        "code": "BV-0001-1500",
        "name": "农夫山泉 1.5L 新",
    }


async def test_two_rows_naming_one_code_in_two_cases_repeat_each_other(shop):
    admin = shop["admin"]
    before = await table_counts()
    files = {
        "dealers": csv_bytes(("code", "name", "tier"), [("N1", "甲", "T1"), ("n1", "乙", "T1")]),
        "products": csv_bytes(
            PRODUCTS,
            [
                ("饮料", "新品", "NEW-1", "", "新品 1", "瓶", "2.00", "", ""),
                ("饮料", "新品", "new-1", "", "新品 2", "瓶", "2.00", "", ""),
            ],
        ),
    }
    for kind, data in files.items():
        with pytest.raises(ValidationFailed) as refused:
            await data_io.import_file(admin, kind, "x.csv", data, now=NOW)
        assert refusal(refused) == [("row 3", data_io.MSG_TWICE, {"row": 3, "first": 2})], kind
    stock = csv_bytes(
        ("warehouse", "sku", "on_hand"), [("SH", "TEA-0001-500", "5"), ("sh", "tea-0001-500", "6")]
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "stock", "s.csv", stock, now=NOW)
    assert refusal(refused) == [("row 3", data_io.MSG_TWICE, {"row": 3, "first": 2})]
    assert await table_counts() == before


# --- 3. barcodes -------------------------------------------------------------------------------


def change(sku: dict, **values) -> SkuChange:
    base = {
        "name": sku["name"],
        "barcode": sku["barcode"],
        "base_price": "4.00",
        "moq": "1",
        "order_multiple": "1",
        "safety_stock": "0",
        "allow_backorder": False,
        "active": True,
    }
    return SkuChange(**{**base, **values})


async def test_a_barcode_another_sku_has_is_refused_naming_it(shop):
    admin, water, tea = shop["admin"], shop["water"], shop["tea"]
    before = await table_counts()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.update_sku(admin, water["id"], change(water, barcode=tea["barcode"]))
    assert refusal(refused) == [
        ("barcode", "This barcode belongs to %(code)s.", {"code": "TEA-0001-500"})
    ]
    new_sku = SkuNew(
        code="BV-0002", name="农夫山泉", base_unit="瓶", base_price="4.00", barcode=tea["barcode"]
    )
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_sku(admin, water["product"], new_sku)
    assert refusal(refused) == [
        ("barcode", "This barcode belongs to %(code)s.", {"code": "TEA-0001-500"})
    ]
    product = ProductNew(name="新品", category_id=(await f.category("新类"))["id"])
    before = await table_counts()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(admin, product, new_sku)
    assert [e.field for e in refused.value.errors] == ["barcode"]
    assert await table_counts() == before
    assert (await Sku.select(Sku.barcode).where(Sku.id == water["id"]).first())["barcode"] == (
        "6921168509256"
    )
    # Its own barcode, and no barcode at all for two SKUs, are fine.
    kept = await catalog_admin.update_sku(admin, water["id"], change(water, name="农夫山泉 新"))
    assert kept.sku["barcode"] == "6921168509256"
    for sku in (water, tea):
        await catalog_admin.update_sku(admin, sku["id"], change(sku, barcode=""))
    assert await Sku.count().where(Sku.barcode == "") == 2
    # The database holds it too (the unique index on barcodes given).
    await Sku.update({Sku.barcode: "6900000000017"}).where(Sku.id == water["id"])
    with pytest.raises(Exception) as raw:
        await Sku.update({Sku.barcode: "6900000000017"}).where(Sku.id == tea["id"])
    assert is_unique_violation(raw.value)


async def test_a_barcode_must_be_letters_digits_and_dashes(shop):
    admin, water = shop["admin"], shop["water"]
    before = await table_counts()
    for bad in ("abc", "-2+3", "69 21", "6921-", "-6921", "６９２１１", "x" * 41, "69_21", "69.21"):
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.update_sku(admin, water["id"], change(water, barcode=bad))
        assert refusal(refused) == [("barcode", codes.MSG_BARCODE, {})], bad
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.create_sku(
                admin,
                water["product"],
                SkuNew(code="N-1", name="n", base_unit="瓶", base_price="1", barcode=bad),
            )
        assert [e.field for e in refused.value.errors] == ["barcode"], bad
    assert await table_counts() == before
    for good in ("6921", "ISBN-978-7", "A" * 40, " 6921168509263 "):
        done = await catalog_admin.update_sku(admin, water["id"], change(water, barcode=good))
        assert done.sku["barcode"] == good.strip()


async def test_the_products_import_refuses_taken_duplicated_and_bad_barcodes(shop):
    admin = shop["admin"]
    before = await table_counts()
    data = csv_bytes(
        ("sku", "barcode"),
        [
            ("BV-0001-1500", "6920202888883"),  # the tea's
            ("TEA-0001-500", "6920202888883"),  # its own: fine
            ("bv-0001-1500", "abc"),  # also repeats row 2
        ],
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert sorted(refusal(refused)) == sorted(
        [
            (
                "row 2",
                data_io.MSG_BARCODE_TAKEN,
                {"row": 2, "barcode": "6920202888883", "code": "TEA-0001-500"},
            ),
            ("row 4", data_io.MSG_TWICE, {"row": 4, "first": 2}),
            ("row 4", data_io.MSG_BARCODE, {"row": 4}),
        ]
    )
    two_new = csv_bytes(
        PRODUCTS,
        [
            ("饮料", "新品", "NEW-1", "6900000000031", "新品 1", "瓶", "2.00", "", ""),
            ("饮料", "新品", "NEW-2", "6900000000031", "新品 2", "瓶", "2.00", "", ""),
        ],
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", two_new, now=NOW)
    assert refusal(refused) == [
        (
            "row 3",
            data_io.MSG_BARCODE_TWICE,
            {"row": 3, "first": 2, "barcode": "6900000000031", "code": "NEW-1"},
        )
    ]
    assert await table_counts() == before
    # A new SKU with a barcode of its own is added.
    one_new = csv_bytes(
        PRODUCTS, [("饮料", "新品", "NEW-1", "6900000000031", "新品 1", "瓶", "2.00", "6", "6")]
    )
    assert (await data_io.import_file(admin, "products", "p.csv", one_new, now=NOW)).created == 1
    assert await Sku.count().where(Sku.barcode == "6900000000031") == 1


# --- 4. volume breaks and minimum orders ---------------------------------------------------------


async def test_a_break_must_cost_less_than_what_it_breaks_from(shop):
    admin, water, tier = shop["admin"], shop["water"], shop["tier"]  # base price ¥4.00
    before = await table_counts()
    cases = [
        # 85 % of ¥4.00 is ¥3.40: a break at ¥3.50 would cost more.
        (TierPriceChange(percent="85", breaks="24 3.50"), 1, "¥3.40"),
        (TierPriceChange(price="3.40", breaks="24 3.40"), 1, "¥3.40"),
        (TierPriceChange(breaks="24 4.00"), 1, "¥4.00"),  # no tier price: the base price
        (TierPriceChange(price="3.40", breaks="24 3.20\n48 3.20"), 2, "¥3.20"),
        (TierPriceChange(price="3.40", breaks=[(24, "3.20"), (48, "3.30")]), 2, "¥3.20"),
    ]
    for data, n, price in cases:
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.set_tier_price(admin, water["id"], tier["id"], data, now=NOW)
        assert refusal(refused) == [
            ("breaks", catalog_admin.MSG_BREAK_NOT_LOWER, {"n": n, "price": price})
        ], data
    assert await table_counts() == before
    done = await catalog_admin.set_tier_price(
        admin,
        water["id"],
        tier["id"],
        TierPriceChange(percent="85", breaks="24 3.30\n2箱 3.20"),
        now=NOW,
    )
    assert (done.unit_price_fen, done.breaks) == (340, ((24, 330), (48, 320)))


async def test_a_lower_base_price_cannot_leave_a_break_dearer_than_the_tier_price(shop):
    """A tier at 90% of the base price with a break at ¥3.30 from 24: lowering the base
    price to ¥3.60 would price the tier at ¥3.24, so 24 bottles would cost more each than
    23. Refused on the SKU's page (API) and in the products file; a fixed tier price does not
    follow the base price, and a base price that keeps the break cheaper is taken."""
    admin, water, tier = shop["admin"], shop["water"], shop["tier"]  # base price ¥4.00
    await catalog_admin.set_tier_price(
        admin, water["id"], tier["id"], TierPriceChange(percent="90", breaks="24 3.30"), now=NOW
    )
    before = await table_counts()
    params = {"tier": "一级经销商", "price": "¥3.24", "qty": 24, "break_price": "¥3.30"}
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.update_sku(admin, water["id"], change(water, base_price="3.60"))
    assert refusal(refused) == [("base_price", catalog_admin.MSG_BASE_BREAKS, params)]
    data = csv_bytes(("sku", "base_price"), [("BV-0001-1500", "3.60")])
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert refusal(refused) == [("row 2", data_io.MSG_BASE_BREAKS_ROW, {"row": 2, **params})]
    assert await table_counts() == before
    assert (await Sku.select(Sku.base_price_fen).where(Sku.id == water["id"]).first()) == {
        "base_price_fen": 400
    }
    # ¥3.70: the tier's ¥3.33 stays above the break.
    done = await catalog_admin.update_sku(admin, water["id"], change(water, base_price="3.70"))
    assert done.sku["base_price_fen"] == 370
    # A fixed tier price: the base price no longer moves it.
    await catalog_admin.set_tier_price(
        admin, water["id"], tier["id"], TierPriceChange(price="3.40", breaks="24 3.30"), now=NOW
    )
    done = await catalog_admin.update_sku(admin, water["id"], change(water, base_price="2.00"))
    assert done.sku["base_price_fen"] == 200


async def test_a_minimum_order_must_be_a_multiple_of_the_order_multiple(shop):
    admin, water = shop["admin"], shop["water"]
    before = await table_counts()
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.update_sku(
            admin, water["id"], change(water, moq="5", order_multiple="4")
        )
    assert refusal(refused) == [("moq", catalog_admin.MSG_MOQ_MULTIPLE, {"multiple": 4})]
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_sku(
            admin,
            water["product"],
            SkuNew(code="N-1", name="n", base_unit="瓶", base_price="1", moq=6, order_multiple=4),
        )
    assert refusal(refused) == [("moq", catalog_admin.MSG_MOQ_MULTIPLE, {"multiple": 4})]
    data = csv_bytes(("sku", "moq", "order_multiple"), [("BV-0001-1500", "5", "4")])
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert refusal(refused) == [("row 2", data_io.MSG_MOQ_MULTIPLE, {"row": 2, "multiple": 4})]
    assert await table_counts() == before
    done = await catalog_admin.update_sku(
        admin, water["id"], change(water, moq="8", order_multiple="4")
    )
    assert (done.sku["moq"], done.sku["order_multiple"]) == (8, 4)
    # A file giving only the minimum is checked against the multiple there is.
    data = csv_bytes(("sku", "moq"), [("BV-0001-1500", "6")])
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert refusal(refused) == [("row 2", data_io.MSG_MOQ_MULTIPLE, {"row": 2, "multiple": 4})]
    row = await Sku.select(Sku.moq, Sku.order_multiple).where(Sku.id == water["id"]).first()
    assert row == {"moq": 8, "order_multiple": 4}


async def test_the_prices_import_keeps_breaks_below_what_they_break_from(shop):
    admin, water, tier = shop["admin"], shop["water"], shop["tier"]
    await f.tier_price(tier, water, price_fen=340)
    await f.volume_break(tier, water, 24, 330)
    before = await table_counts()
    header = ("tier", "sku", "min_qty", "price", "percent")
    cases = [
        # The file's own break, at or above the tier price it keeps.
        (
            [("T1", "BV-0001-1500", "48", "3.40", "")],
            "row 2",
            data_io.MSG_BREAK_NOT_LOWER,
            {"price": "¥3.30"},
        ),
        # A percentage for the tier that the stored break at 24 (¥3.30) is not below.
        (
            [("T1", "BV-0001-1500", "", "", "80")],
            "row 2",
            data_io.MSG_BREAK_UNDERCUT,
            {"qty": 24, "price": "¥3.30"},
        ),
        # A new tier price and a break of the file's, against each other.
        (
            [("T1", "BV-0001-1500", "", "3.00", ""), ("t1", "bv-0001-1500", "24", "3.10", "")],
            "row 3",
            data_io.MSG_BREAK_NOT_LOWER,
            {"price": "¥3.00"},
        ),
    ]
    for rows, field, message, params in cases:
        with pytest.raises(ValidationFailed) as refused:
            await data_io.import_file(admin, "prices", "p.csv", csv_bytes(header, rows), now=NOW)
        row = int(field.split()[1])
        assert refusal(refused) == [(field, message, {"row": row, **params})], rows
    assert await table_counts() == before
    good = csv_bytes(
        header, [("T1", "BV-0001-1500", "", "3.50", ""), ("T1", "BV-0001-1500", "48", "3.20", "")]
    )
    result = await data_io.import_file(admin, "prices", "p.csv", good, now=NOW)
    assert (result.created, result.updated) == (1, 1)
    breaks = await VolumeBreak.select(VolumeBreak.min_qty, VolumeBreak.price_fen).order_by(
        VolumeBreak.min_qty
    )
    assert [(b["min_qty"], b["price_fen"]) for b in breaks] == [(24, 330), (48, 320)]
