"""Spreadsheet exports (Excel, CSV): user text that is never evaluated, money as exact numbers.

A spreadsheet treats a cell starting with = + - @ (and, in some programs, a tab or a
carriage return) as a formula, so a payment reference like "=cmd|' /C calc'!A0" would run
when the file is opened. Every text cell goes through `inert()`, which puts an apostrophe
in front of such a value, and is written as a string (never as a formula). Amounts are
Decimals written as numbers with a ¥ format, so totals add up in the sheet to the fen.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from portal import i18n, pdf
from portal.domain.data_io import FORMULA_TRIGGERS
from portal.domain.ledger import SHANGHAI, Statement
from portal.domain.money import from_fen
from portal.domain.shipments import ShipmentView
from portal.domain.supplier import SupplierSettings

YUAN_FORMAT = '"¥"#,##0.00;-"¥"#,##0.00'
DATE_FORMAT = "yyyy-mm-dd"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8" to text types
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def inert(text: str) -> str:
    """The text as a spreadsheet shows it but never evaluates it."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def cell_value(value: Any) -> Any:
    """What goes into a cell: numbers and dates as they are, everything else as inert text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal | date | datetime):
        return value
    # Control characters are not allowed in a workbook: drop them first, then disarm.
    return inert(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def put(ws: Worksheet, row: int, column: int, value: Any, number_format: str = "") -> Cell:
    """Write one cell; text is always a string cell (openpyxl would take "=..." as a formula)."""
    cell = ws.cell(row=row, column=column)
    value = cell_value(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(SHANGHAI).replace(tzinfo=None)  # a workbook has no zones
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format
    return cell


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file (UTF-8 with a BOM, so Excel reads Chinese) with every text cell inert.

    Decimals are written as plain numbers ("1234.50"); text that looks like a formula
    gets a leading apostrophe.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in (header, *rows):
        writer.writerow(["" if v is None else _csv_text(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_text(value: Any) -> str:
    value = cell_value(value)
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- the dealer statement (对账单) ---------------------------------------------------------


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else from_fen(fen)


def statement_xlsx(st: Statement, *, gettext: Callable[..., str], generated_at: datetime) -> bytes:
    """The statement as an Excel workbook: a title block, then one row per line.

    Row 5 holds the column headers; the opening balance is row 6 and the closing balance
    the last row of the table. Amounts are numbers with a ¥ format.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = gettext("Statement")[:31]
    dealer = st.dealer
    put(ws, 1, 1, f"{gettext('Statement')} · {dealer['name']}").font = Font(bold=True, size=14)
    put(ws, 2, 1, gettext("Dealer"))
    put(ws, 2, 2, f"{dealer['name']} ({dealer['code']})")
    put(ws, 3, 1, gettext("Period"))
    put(ws, 3, 2, st.start, DATE_FORMAT)
    put(ws, 3, 3, st.end, DATE_FORMAT)
    put(ws, 4, 1, gettext("Generated"))
    put(ws, 4, 2, generated_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))
    headers = [
        gettext("Date"),
        gettext("Type"),
        gettext("Reference"),
        gettext("Note"),
        gettext("Debits"),
        gettext("Credits"),
        gettext("Balance"),
    ]
    for col, title in enumerate(headers, start=1):
        cell = put(ws, 5, col, title)
        cell.font = Font(bold=True)
        if col >= 5:
            cell.alignment = Alignment(horizontal="right")
    lines = st.lines()
    for i, line in enumerate(lines):
        row = 6 + i
        put(ws, row, 1, line.day, DATE_FORMAT)
        put(ws, row, 2, gettext(line.kind_label))
        put(ws, row, 3, line.reference or None)
        put(ws, row, 4, line.note or None)
        put(ws, row, 5, _yuan(line.debit_fen), YUAN_FORMAT)
        put(ws, row, 6, _yuan(line.credit_fen), YUAN_FORMAT)
        put(ws, row, 7, _yuan(line.balance_fen), YUAN_FORMAT)
    last = 6 + len(lines) - 1
    for col in range(1, 8):
        ws.cell(row=6, column=col).font = Font(bold=True)
        ws.cell(row=last, column=col).font = Font(bold=True)
    if st.overdue_fen:
        put(ws, last + 2, 1, gettext("Overdue")).font = Font(bold=True)
        put(ws, last + 2, 7, from_fen(st.overdue_fen), YUAN_FORMAT)
    for col, width in enumerate((12, 14, 24, 30, 14, 14, 14), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A6"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Document:
    """A file to send: its bytes, media type, a safe file name and whether to show it inline."""

    body: bytes
    media_type: str
    filename: str
    inline: bool

    @property
    def disposition(self) -> str:
        return f'{"inline" if self.inline else "attachment"}; filename="{self.filename}"'


def letterhead(issuer: SupplierSettings) -> list[str]:
    """The lines a PDF prints above its title: the supplier's name, then its address and
    phone; nothing until the supplier has a name."""
    if not issuer.name:
        return []
    # Spaces, not a middle dot: the PDFs' CJK font has no "·".
    phone = f"{i18n.gettext('Phone')}: {issuer.phone}" if issuer.phone else ""
    details = "    ".join(part for part in (issuer.address, phone) if part)
    return [issuer.name, details] if details else [issuer.name]


def statement_document(
    st: Statement, fmt: str, *, now: datetime, issuer: SupplierSettings
) -> Document:
    """The statement as a PDF ("pdf") or an Excel workbook ("xlsx"), in the reader's language,
    under the supplier's letterhead (issuer)."""
    code = _SAFE_NAME.sub("", str(st.dealer["code"])) or str(st.dealer["id"])
    name = f"statement-{code}-{st.start.isoformat()}-{st.end.isoformat()}"
    if fmt == "pdf":
        body = pdf.statement(
            st,
            gettext=i18n.gettext,
            money=i18n.money,
            format_date=i18n.local_date,
            generated_at=now,
            letterhead=letterhead(issuer),
        )
        return Document(body, "application/pdf", f"{name}.pdf", inline=True)
    if fmt == "xlsx":
        body = statement_xlsx(st, gettext=i18n.gettext, generated_at=now)
        return Document(body, XLSX_MEDIA_TYPE, f"{name}.xlsx", inline=False)
    raise ValueError(fmt)


def delivery_note_document(
    shipment: ShipmentView, *, page_url: str, issuer: SupplierSettings
) -> Document:
    """A shipment's delivery note (发货单) and packing list as a PDF, in the reader's language,
    under the supplier's letterhead (issuer); its QR code leads to the shipment's page
    (page_url)."""
    body = pdf.delivery_note(
        shipment,
        url=page_url,
        gettext=i18n.gettext,
        format_datetime=i18n.local_datetime,
        format_weight=i18n.weight,
        letterhead=letterhead(issuer),
    )
    name = _SAFE_NAME.sub("", shipment.number) or str(shipment.id)
    return Document(body, "application/pdf", f"{name}.pdf", inline=True)


# --- report tables --------------------------------------------------------------------------


PERCENT_FORMAT = "0.0%"  # as the CSV writes a percentage: to the tenth
PERCENT = Decimal(100)
PERCENT_PLACES = Decimal("0.1")
SHEET_NAME_MAX = 31  # Excel's limit


def sheet_name(text: str) -> str:
    """A worksheet's name from `text`: without the characters Excel refuses, and within its
    31 characters by whole words (a name cut in the middle of a date reads as a typo)."""
    name = " ".join(re.sub(r"[\[\]:*?/\\]", "", text).split())
    if len(name) > SHEET_NAME_MAX:
        head = name[: SHEET_NAME_MAX + 1]
        name = head.rsplit(" ", 1)[0].rstrip(" –-·") if " " in head else name[:SHEET_NAME_MAX]
    return name.strip("'") or "report"  # Excel refuses an apostrophe at either end


def table_document(
    name: str,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: str,
    *,
    money_columns: frozenset[int] = frozenset(),
    percent_columns: frozenset[int] = frozenset(),
    sheet: str = "",
) -> Document:
    """A report table as CSV or as an Excel workbook (a title row, then the table, on a sheet
    named `sheet`, else the title).

    Money columns hold Decimals (yuan) and get the ¥ format in Excel. Percent columns hold
    Decimal shares (1.121 for 112.1%): a number with a percent format in Excel, the
    percentage as a plain number in CSV (112.1). Every text cell is inert.
    """
    safe = _SAFE_NAME.sub("", name) or "report"
    if fmt == "csv":
        if percent_columns:
            rows = [
                [
                    (v * PERCENT).quantize(PERCENT_PLACES)
                    if i in percent_columns and isinstance(v, Decimal)
                    else v
                    for i, v in enumerate(row)
                ]
                for row in rows
            ]
        return Document(csv_bytes(headers, rows), CSV_MEDIA_TYPE, f"{safe}.csv", inline=False)
    if fmt != "xlsx":
        raise ValueError(fmt)
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name(sheet or title)
    put(ws, 1, 1, title).font = Font(bold=True, size=14)
    for col, header in enumerate(headers, start=1):
        put(ws, 3, col, header).font = Font(bold=True)
    formats = {c: YUAN_FORMAT for c in money_columns} | {c: PERCENT_FORMAT for c in percent_columns}
    for r, row in enumerate(rows, start=4):
        for col, value in enumerate(row, start=1):
            put(ws, r, col, value, formats.get(col - 1, ""))
    for col in range(1, len(headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 28 if col == 1 else 14
    ws.freeze_panes = "A4"
    buffer = io.BytesIO()
    wb.save(buffer)
    return Document(buffer.getvalue(), XLSX_MEDIA_TYPE, f"{safe}.xlsx", inline=False)


# Columns of the bulk exports that hold money (yuan, with the ¥ format in Excel).
DATA_MONEY_COLUMNS = frozenset({"base_price", "price", "credit_limit"})


def data_document(
    kind: str, header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str
) -> Document:
    """A bulk export (portal/domain/data_io.py) as CSV or Excel, its first row the columns,
    titled in the reader's language."""
    from portal.domain.data_io import KIND_LABELS

    money = frozenset(i for i, c in enumerate(header) if c in DATA_MONEY_COLUMNS)
    title = i18n.gettext(KIND_LABELS[kind])
    return table_document(kind, title, header, rows, fmt, money_columns=money)
