"""A new SKU's code by import, on both engines: the rule of the SKU's page (printable ASCII
without spaces, commas or semicolons, which a quick order splits on), refused row by row with
nothing written; an existing SKU, found by its code, is changed whatever its code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal import i18n
from portal.domain import catalog_admin, data_io
from portal.domain.catalog_admin import SkuNew
from portal.domain.errors import ValidationFailed
from portal.export import csv_bytes
from portal.tables import AuditEntry, Sku
from tests import factories as f

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
COLUMNS = ("sku", "category", "product", "name", "unit", "base_price")
CODES = {
    # code: whether the SKU's page takes it for a new SKU
    "BV-0010_550./x": True,
    "A" * 40: True,
    "A" * 41: False,
    "A 1": False,
    "A,1": False,
    "A;1": False,
    "Ａ1": False,  # a full-width letter
    "水1": False,
    "A\u00a01": False,  # a no-break space
    "A\u200b1": False,  # a zero-width space
}


@pytest.fixture
async def world(db) -> dict:
    await f.sku(code="OLD 1", name="旧编码")  # from before codes were checked
    return {"admin": f.actor(await f.user("admin"))}


def row(code: str, name: str = "新品") -> tuple[str, ...]:
    return (code, "饮料", "新品", name, "瓶", "1.00")


async def page_takes(admin, code: str) -> bool:
    product = (await Sku.select(Sku.product).first())["product"]
    try:
        await catalog_admin.create_sku(
            admin, product, SkuNew(code=code, name="新品", base_unit="瓶", base_price="1.00")
        )
    except ValidationFailed as exc:
        assert [e.field for e in exc.errors] == ["code"], code
        return False
    await Sku.delete().where(Sku.code == code)
    return True


async def test_a_new_code_is_taken_by_import_exactly_when_the_page_takes_it(world):
    admin = world["admin"]
    for code, taken in CODES.items():
        assert await page_takes(admin, code) is taken, code
        before = (await Sku.count(), await AuditEntry.count())
        data = csv_bytes(COLUMNS, [row(code)])
        if taken:
            done = await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
            assert done.created == 1, code
            await Sku.delete().where(Sku.code == code)
            continue
        with pytest.raises(ValidationFailed) as refused:
            await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
        assert [(e.field, e.message) for e in refused.value.errors] == [
            ("row 2", data_io.MSG_CODE)
        ], code
        assert (await Sku.count(), await AuditEntry.count()) == before


async def test_bad_codes_are_reported_by_row_and_nothing_is_imported(world):
    admin = world["admin"]
    data = csv_bytes(
        COLUMNS,
        [
            row("N-1", "新品 1"),  # fine on its own
            row("N 2", "新品 2"),
            ("OLD 1", "", "", "旧编码 改名", "", ""),  # an existing SKU: found by its code
            row("N,3", "新品 3"),
            row("N;4", "新品 4"),
        ],
    )
    before = (await Sku.count(), await AuditEntry.count())
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert [e.field for e in refused.value.errors] == ["row 3", "row 5", "row 6"]
    assert {e.message for e in refused.value.errors} == {data_io.MSG_CODE}
    assert refused.value.errors[0].params == {"row": 3, "max": catalog_admin.CODE_MAX}
    i18n.set_locale("zh_Hans")
    try:
        text = i18n.field_message(refused.value.errors[0])
    finally:
        i18n.set_locale("en")
    assert text.startswith("第 3 行：") and "不能有空格、逗号或分号" in text, text
    assert (await Sku.count(), await AuditEntry.count()) == before
    assert not await Sku.exists().where(Sku.code == "N-1")
    # Without the new ones, the existing SKU's row is imported.
    data = csv_bytes(COLUMNS, [("OLD 1", "", "", "旧编码 改名", "", "")])
    done = await data_io.import_file(admin, "products", "p.csv", data, now=NOW)
    assert (done.created, done.updated) == (0, 1)
    assert (await Sku.select(Sku.name).where(Sku.code == "OLD 1").first())["name"] == "旧编码 改名"
