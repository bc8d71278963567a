"""Spreadsheet cells that never run: inert text for Excel and CSV, numbers left as numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from portal.export import cell_value, csv_bytes, inert, put


@pytest.mark.parametrize(
    "text",
    ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", '=HYPERLINK("x")'],
)
def test_formula_like_text_gets_an_apostrophe(text):
    assert inert(text) == "'" + text


@pytest.mark.parametrize("text", ["BK-001", "上海恒通", "", "1+1", " =1", "a=b"])
def test_ordinary_text_is_left_alone(text):
    assert inert(text) == text


def test_cell_values_keep_numbers_and_dates_and_drop_control_characters():
    assert cell_value(Decimal("-12.50")) == Decimal("-12.50")
    assert cell_value(-3) == -3
    assert cell_value(date(2026, 11, 25)) == date(2026, 11, 25)
    assert cell_value(None) is None
    assert cell_value("\x01=1+1") == "'=1+1"  # stripped first, then disarmed
    assert cell_value("-5") == "'-5"  # text that looks like a number stays text


def test_xlsx_cells_read_back_as_inert_strings_and_exact_numbers():
    wb = Workbook()
    ws = wb.active
    put(ws, 1, 1, "=cmd|' /C calc'!A0")
    put(ws, 1, 2, Decimal("1234.56"), '"¥"#,##0.00')
    put(ws, 1, 3, "@x")
    put(ws, 1, 4, datetime(2026, 11, 25, 2, 30, tzinfo=UTC))  # shown in Shanghai time
    buffer = io.BytesIO()
    wb.save(buffer)
    back = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert back["A1"].value == "'=cmd|' /C calc'!A0" and back["A1"].data_type == "s"
    assert Decimal(str(back["B1"].value)) == Decimal("1234.56")
    assert back["B1"].data_type == "n" and "¥" in back["B1"].number_format
    assert back["C1"].value == "'@x"
    assert back["D1"].value == datetime(2026, 11, 25, 10, 30)


def test_csv_rows_are_inert_with_a_bom_and_plain_numbers():
    body = csv_bytes(
        ["参考号", "金额"],
        [["=cmd|' /C calc'!A0", Decimal("-12.50")], ["BK-1", Decimal("3.00")], ["+1", None]],
    )
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [
        ["参考号", "金额"],
        ["'=cmd|' /C calc'!A0", "-12.50"],
        ["BK-1", "3.00"],
        ["'+1", ""],
    ]
