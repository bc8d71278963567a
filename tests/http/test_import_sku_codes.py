"""A products file with a new SKU code the SKU's page would refuse, through the page and the
API: refused by row in the reader's language, nothing imported."""

from __future__ import annotations

import pytest

from portal.tables import AuditEntry, Sku
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

ZH = {"Accept-Language": "zh-CN"}
FILE = (
    "sku,category,product,name,unit,base_price\n"
    "N-1,饮料,新品,新品 1,瓶,1.00\n"
    '"N 2",饮料,新品,新品 2,瓶,1.00\n'
    '"N,3",饮料,新品,新品 3,瓶,1.00\n'
).encode()
MESSAGE = "行：新 SKU 的编码须为 1 到 40 个字母、数字或 - _ . / 等符号，不能有空格、逗号或分号。"


@pytest.fixture
async def world(db) -> None:
    await f.sku(code="A100", name="矿泉水")
    await f.user("admin", username="root")


async def test_the_page_reports_each_bad_code_by_row(client, world):
    await sign_in(client, "root")
    token = csrf_from((await client.get("/admin/data", headers=ZH)).text)
    bad = await client.post(
        "/admin/data/products",
        data={"_csrf_token": token},
        files={"file": ("p.csv", FILE, "text/csv")},
        headers={"x-csrftoken": token, **ZH},
    )
    assert bad.status_code == 422
    assert "未导入任何内容" in bad.text
    assert f"第 3 {MESSAGE}" in bad.text and f"第 4 {MESSAGE}" in bad.text
    assert f"第 2 {MESSAGE}" not in bad.text
    assert await Sku.count() == 1 and await AuditEntry.count() == 0


async def test_the_api_reports_each_bad_code_by_row(client, world):
    headers = {**await bearer(client, "root"), **ZH}
    bad = await client.post(
        "/api/v1/data/products", files={"file": ("p.csv", FILE, "text/csv")}, headers=headers
    )
    errors = assert_problem(bad, 422, "validation")["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        ("row 3", f"第 3 {MESSAGE}"),
        ("row 4", f"第 4 {MESSAGE}"),
    ]
    assert await Sku.count() == 1 and await AuditEntry.count() == 0
