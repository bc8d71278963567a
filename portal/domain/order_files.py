"""A file of order lines (CSV or Excel) read into quick-order lines, one per row.

Dealers keep their standing orders in spreadsheets; the cart takes such a file as it is:
columns SKU code, quantity and an optional unit, in that order, with or without a header
row. Each row becomes the line "code qty unit" of a quick order (portal/domain/cart.py
quick_add), so a file and a pasted list follow the same rules and the same messages, and
a message's line number is the row number in the file. CSV may be UTF-8 (with or without
a BOM) or GB18030, as Excel on a Chinese Windows saves it.
"""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import load_workbook

from portal.domain.errors import FieldError, ValidationFailed, _
from portal.domain.quantities import MAX_QUICK_ORDER_LINES, normalise

MAX_FILE_BYTES = 1_000_000
XLSX_MAGIC = b"PK\x03\x04"
FIELD = "file"


def _refuse(message: str, params: dict | None = None) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError(FIELD, message, params or {})])


def _cell_text(value: object) -> str:
    """A cell as the quick-order parser reads it: 12.0 from Excel is "12"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows_from_csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise _refuse(_("The file is not readable text."))
    if "\x00" in text:
        raise _refuse(_("The file is not readable text."))
    sample = text[:2048]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t")
    except csv.Error:
        dialect = csv.excel
    return [list(row) for row in csv.reader(io.StringIO(text), dialect)]


def _rows_from_xlsx(data: bytes, max_cols: int, max_rows: int) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise _refuse(_("The Excel file cannot be read.")) from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for row in sheet.iter_rows(max_col=max_cols, values_only=True):
            rows.append([_cell_text(v) for v in row])
            if len(rows) > max_rows + 1:
                break
        return rows
    finally:
        book.close()


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in normalise(text))


def read_rows(
    filename: str,
    data: bytes,
    *,
    max_cols: int,
    max_rows: int,
    max_bytes: int = MAX_FILE_BYTES,
) -> list[list[str]]:
    """The rows of a CSV or Excel file (the first sheet) as text cells, at most `max_cols`
    each; refused as a whole (field "file") when empty, too large or unreadable."""
    if not data:
        # A file chosen but empty (0 bytes) is not "no file": say which.
        raise _refuse(_("The file is empty.") if filename else _("Choose a file."))
    if len(data) > max_bytes:
        raise _refuse(_("The file is larger than %(max)s KB."), {"max": max_bytes // 1000})
    name = (filename or "").lower()
    if data.startswith(XLSX_MAGIC):
        rows = _rows_from_xlsx(data, max_cols, max_rows)
    elif name.endswith((".xlsx", ".xls")):
        raise _refuse(_("The Excel file cannot be read."))
    else:
        rows = _rows_from_csv(data)
    return [[_cell_text(c) for c in row[:max_cols]] for row in rows]


def quick_order_text(filename: str, data: bytes) -> str:
    """The file's rows as quick-order text, row N on line N (a header row left blank).

    Refused as a whole (ValidationFailed on the field "file") when it is empty, too large,
    not CSV or Excel, or has more rows than a quick order takes.
    """
    cells = read_rows(filename, data, max_cols=3, max_rows=MAX_QUICK_ORDER_LINES)
    if not any(any(row) for row in cells):
        raise _refuse(_("The file has no lines."))
    # A first row whose quantity column holds no digit at all is a header ("SKU, 数量, 单位").
    first = next(i for i, r in enumerate(cells) if any(r))
    if len(cells[first]) >= 2 and cells[first][1] and not _has_digit(cells[first][1]):
        cells[first] = []
    lines = [" ".join(c.replace(" ", "") for c in row if c) for row in cells]
    if not any(lines):  # a header row and nothing under it
        raise _refuse(_("The file has no lines."))
    if len([ln for ln in lines if ln]) > MAX_QUICK_ORDER_LINES:
        raise _refuse(_("A file may hold at most %(max)s lines."), {"max": MAX_QUICK_ORDER_LINES})
    return "\n".join(lines)
