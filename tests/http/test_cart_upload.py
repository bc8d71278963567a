"""A dealer fills the cart from a CSV or Excel file on the cart page: good rows are added,
bad rows are listed with their row numbers and kept for fixing, a file that cannot be read
is refused as a whole and changes nothing."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook

from portal.tables import CartLine
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_pages_cart_orders import HX, cart_qty, shop

ZH = {"Accept-Language": "zh-CN"}


async def upload(client, name: str, data: bytes, content_type: str = "text/csv", **kw):
    token = csrf_from((await client.get("/cart")).text)
    return await client.post(
        "/cart/upload",
        data={"_csrf_token": token},
        files={"file": (name, data, content_type)},
        headers={"x-csrftoken": token, **ZH, **kw.pop("headers", {})},
        **kw,
    )


async def test_a_csv_from_excel_fills_the_cart(client):
    s = await shop()
    await sign_in(client, "buyer")
    page = await client.get("/cart", headers=ZH)
    assert 'action="/cart/upload"' in page.text and 'enctype="multipart/form-data"' in page.text
    data = "商品编码,数量,单位\r\nA100,2,箱\r\nB200,3,\r\n".encode("gb18030")
    done = await upload(client, "订货.csv", data, follow_redirects=False)
    assert done.status_code == 303  # without htmx: back to the cart
    assert await cart_qty(s) == {s.a["id"]: 48, s.b["id"]: 3}
    # Quantities add to what the cart holds, as a pasted quick order does.
    await upload(client, "again.csv", b"A100,24\n")
    assert await cart_qty(s) == {s.a["id"]: 72, s.b["id"]: 3}


async def test_an_excel_file_with_bad_rows_adds_nothing_and_keeps_them_for_fixing(client):
    s = await shop()
    await sign_in(client, "buyer")
    book = Workbook()
    for row in (["SKU", "数量"], ["A100", 12], ["NOPE", 1], ["B200", "abc"]):
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    answer = await upload(
        client,
        "order.xlsx",
        buffer.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=HX,
    )
    assert answer.status_code == 422
    html = answer.text
    assert "第 3 行" in html and "NOPE" in html and "第 4 行" in html
    box = re.search(r'<textarea id="quick-text"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert "NOPE 1" in box and "B200 abc" in box and "A100 12" in box  # all, to fix
    # The box's line N is the file's row N (a browser drops the newline after <textarea>).
    shown = box[1:] if box.startswith("\n") else box
    assert shown.split("\n")[2] == "NOPE 1" and shown.split("\n")[3] == "B200 abc"
    assert "未加入任何商品" in html
    assert await cart_qty(s) == {}


async def test_unreadable_files_are_refused_and_change_nothing(client):
    await shop()
    await sign_in(client, "buyer")
    for name, data, message in (
        ("empty.csv", b"", "文件是空的。"),
        ("header.csv", "SKU,数量,单位\r\n".encode(), "文件中没有任何行。"),
        ("fake.xlsx", b"PK\x03\x04 not really", "无法读取该 Excel 文件。"),
        ("big.csv", b"A100,1\n" * 150_000, "文件超过 1000 KB。"),
        ("nul.csv", b"A100\x00,1\n", "文件不是可读的文本。"),
    ):
        answer = await upload(client, name, data)
        assert answer.status_code == 422, name
        assert message in answer.text, name
    huge = await upload(client, "huge.csv", b"A100,1\n" * 400_000)
    assert huge.status_code == 413 and "文件超过 1000 KB。" in huge.text
    no_file = await client.post(
        "/cart/upload",
        data={"_csrf_token": csrf_from((await client.get("/cart")).text)},
        headers=ZH,
    )
    assert no_file.status_code == 422 and "请选择文件。" in no_file.text
    assert await CartLine.count() == 0


async def test_the_upload_needs_the_csrf_token(client):
    await shop()
    await sign_in(client, "buyer")
    refused = await client.post("/cart/upload", files={"file": ("a.csv", b"A100,1\n", "text/csv")})
    assert refused.status_code == 403
    assert await CartLine.count() == 0


async def test_what_a_file_added_is_said_where_the_file_was_chosen(client):
    s = await shop()
    await sign_in(client, "buyer")
    done = await upload(client, "order.csv", b"A100,2\nB200,3\n", headers=HX)
    assert done.status_code == 200
    # The quick-order panel stays open to say so (closed, its message was never seen).
    assert re.search(r'<details class="card quick-order" open id="quick-order">', done.text)
    assert "已将 2 行加入购物车。" in done.text
    assert await cart_qty(s) == {s.a["id"]: 2, s.b["id"]: 3}
