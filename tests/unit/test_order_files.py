"""Order files (CSV, Excel) read into quick-order lines: row N is line N, a header row is
skipped, Excel numbers are whole, Chinese CSV from Excel (GB18030) reads, and files that are
empty, too large, too long or not what they claim are refused as a whole."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from portal.domain import order_files
from portal.domain.errors import ValidationFailed
from portal.domain.quantities import MAX_QUICK_ORDER_LINES, parse_quick_order


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_csv_with_a_header_keeps_row_numbers():
    data = "SKU,数量,单位\nA100,12,箱\n\nB200,6\n".encode()
    text = order_files.quick_order_text("order.csv", data)
    assert text.splitlines() == ["", "A100 12 箱", "", "B200 6"]
    lines, errors = parse_quick_order(text)
    assert errors == [] and lines == [(2, "A100", 12, "箱"), (4, "B200", 6, None)]


def test_csv_without_a_header_semicolons_bom_and_gb18030():
    assert order_files.quick_order_text("a.csv", "\ufeffA100;12\n".encode()) == "A100 12"
    assert order_files.quick_order_text("a.csv", "A100\t24箱\n".encode()) == "A100 24箱"
    chinese = "商品编码,数量,单位\nA100,2,箱\n".encode("gb18030")
    assert order_files.quick_order_text("a.csv", chinese).splitlines() == ["", "A100 2 箱"]


def test_excel_rows_with_whole_numbers():
    data = xlsx([["编码", "数量", "单位"], ["A100", 12.0, "箱"], ["B200", 6, None]])
    text = order_files.quick_order_text("order.xlsx", data)
    assert text.splitlines() == ["", "A100 12 箱", "B200 6"]


def test_bad_rows_reach_the_quick_order_rules_with_their_row_numbers():
    text = order_files.quick_order_text("a.csv", b"A100,12\nB200,abc\nC300,-1\n")
    lines, errors = parse_quick_order(text)
    assert lines == [(1, "A100", 12, None)]
    assert [e.field for e in errors] == ["line 2", "line 3"]


def test_a_negative_or_huge_quantity_is_told_what_is_wrong():
    """-5 and 10^15 are whole numbers: the message says too small or too large, not "not a
    whole-number quantity" (kept for letters and fractions)."""
    lines, errors = parse_quick_order("A100 -5\nA100 -2箱\nA100 1000000000000000\nA100 2.5\n")
    assert lines == []
    assert [(e.message, e.params.get("max")) for e in errors] == [
        ("Line %(line)s: the quantity must be at least 1.", None),
        ("Line %(line)s: the quantity must be at least 1.", None),
        ("Line %(line)s: at most %(max)s per line.", "1,000,000"),
        ("Line %(line)s: %(qty)s is not a whole-number quantity.", None),
    ]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.csv", b""),
        ("a.csv", b"\n\n  \n"),
        ("a.csv", b"x" * (order_files.MAX_FILE_BYTES + 1)),
        ("a.csv", ("A100,1\n" * (MAX_QUICK_ORDER_LINES + 2)).encode()),
        ("a.xlsx", b"not a workbook"),
        ("a.xlsx", order_files.XLSX_MAGIC + b"broken zip"),
        ("a.csv", b"A100\x00,1"),
    ],
)
def test_unusable_files_are_refused_whole(name, data):
    with pytest.raises(ValidationFailed) as refused:
        order_files.quick_order_text(name, data)
    assert [e.field for e in refused.value.errors] == ["file"]
