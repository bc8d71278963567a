"""PDFs: the delivery note (发货单) and packing list with a QR code; the dealer statement (对账单).

Chinese text uses reportlab's built-in CID font STSong-Light (no font files). The QR code
holds the shipment page's address, so a phone that scans it opens the shipment. Text is made
printable (see `printable`) before it is measured or drawn.
"""

from __future__ import annotations

import io
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from portal.domain.ledger import Statement, local_day
from portal.domain.shipments import ShipmentLineView, ShipmentView

FONT = "STSong-Light"
# Between two facts on one line. Not "·": STSong-Light's encoding has no glyph for it, and a
# PDF showed a box in its place.
SEPARATOR = " | "
_registered = False


def cjk_font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


# What STSong-Light can draw: the characters that Adobe's UniGB-UCS2-H CMap (Adobe-GB1-4),
# the encoding these PDFs name, maps to a glyph, as runs of code points (hex, first-last).
# Anything else reaches the reader as a two-byte code the CMap does not know: a box, or (a
# character beyond U+FFFF, written as a surrogate pair) other characters, so that '转账😀汇款'
# printed as '转账□㛹l昨□'. The runs are the CMap's, merged; U+00B7 '·' is not among them.
_DRAWABLE_RUNS = """
0020-007E 00A4-00A5 00A7-00A8 00B0-00B1 00D7 00E0-00E1 00E8-00EA 00EC-00ED 00F2-00F3 00F7
00F9-00FA 00FC 0101 0113 011B 012B 014D 016B 01CE 01D0 01D2 01D4 01D6 01D8 01DA 01DC 01F9 02C7
02C9-02CB 02D9 0391-03A1 03A3-03A9 03B1-03C1 03C3-03C9 0401 0410-044F 0451 1E3F 2010 2013-2016
2018-2019 201C-201D 2025-2026 2030 2032-2033 2035 203B 20AC 2103 2105 2109 2116 2121 2160-216B
2170-2179 2190-2193 2196-2199 2208 220F 2211 2215 221A 221D-2220 2223 2225 2227-222B 222E
2234-2237 223D 2248 224C 2252 2260-2261 2264-2267 226E-226F 2295 2299 22A5 22BF 22EF 2312
2460-2469 2474-249B 2500-254B 2550-2573 2581-258F 2593-2595 25A0-25A1 25B2-25B3 25BC-25BD
25C6-25C7 25CB 25CE-25CF 25E2-25E5 2605-2606 2609 2640 2642 2E80-2E99 2E9B-2EF3 2F00-2FD5
2FF0-2FFB 3000-3003 3005-3017 301D-301E 3021-3029 3033-3035 3038-303A 303E-303F 3041-3094
309B-309E 30A1-30FE 3105-312C 31A0-31B7 3220-3229 3231 32A3 338E-338F 339C-339E 33A1 33C4 33CE
33D1-33D2 33D5 3400-4DB5 4E00-9FA5 E816-E818 E81E E826 E82B-E82C E831-E832 E83B E843 E854-E855
E864 F92C FA0D-FA0F FA11 FA13-FA14 FA18 FA1F-FA21 FA23-FA24 FA27-FA29 FE30 FE49-FE52 FE54-FE57
FE59-FE66 FE68-FE6B FF01-FF5E FFE0-FFE5
"""
_DRAWABLE = tuple((int(run[:4], 16), int(run[-4:], 16)) for run in _DRAWABLE_RUNS.split())
_FIRSTS = tuple(first for first, _last in _DRAWABLE)
MISSING = "□"  # U+25A1, which the font draws: in place of a character it cannot
_ZWJ = "\u200d"


def _drawable(ch: str) -> bool:
    code = ord(ch)
    i = bisect_right(_FIRSTS, code) - 1
    return i >= 0 and code <= _DRAWABLE[i][1]


def _silent(ch: str) -> bool:
    """Characters that change how another one looks and show nothing of their own: format
    characters (zero-width space, direction marks, tags), combining marks and variation
    selectors (U+FE0F makes ❤ an emoji), emoji skin tones (U+1F3FB-U+1F3FF)."""
    return unicodedata.category(ch) in ("Cf", "Mn", "Mc", "Me") or 0x1F3FB <= ord(ch) <= 0x1F3FF


def printable(text: str) -> str:
    """The text as STSong-Light can print it: each character it cannot draw becomes one '□'
    (an emoji made of several, joined by U+200D or a flag's two letters, one '□' in all),
    characters that show nothing of their own are left out, and a tab, a line break or an
    unusual space is a plain space. Accented letters are composed first (NFC), so 'é' typed
    as 'e' and an accent prints as 'é'. The same text twice gives the same result."""
    out: list[str] = []
    joined = False  # the last box continues: a ZWJ or a flag's second letter follows it
    flag_open = False  # the last box is a flag's first letter
    for ch in unicodedata.normalize("NFC", text):
        if _drawable(ch):
            out.append(ch)
            joined = flag_open = False
        elif ch == _ZWJ:
            joined = bool(out) and out[-1] == MISSING
        elif ch.isspace() or unicodedata.category(ch) == "Cc":
            out.append(" ")
            joined = flag_open = False
        elif _silent(ch):
            continue
        else:
            flag = 0x1F1E6 <= ord(ch) <= 0x1F1FF  # regional indicator: two make a flag
            if not (joined or (flag and flag_open)):
                out.append(MISSING)
                flag_open = flag
            else:
                flag_open = False
            joined = False
    return "".join(out)


class PrintCanvas(canvas.Canvas):
    """A canvas that makes text in the CJK font printable before it draws it (every string
    on a delivery note, packing list, statement and pick list passes here)."""

    def _printable(self, text: str) -> str:
        return printable(text) if self._fontname == FONT else text

    def drawString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        super().drawString(x, y, self._printable(text), *args, **kwargs)

    def drawRightString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        super().drawRightString(x, y, self._printable(text), *args, **kwargs)

    def drawCentredString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        super().drawCentredString(x, y, self._printable(text), *args, **kwargs)


def new_canvas(buffer: io.BytesIO) -> PrintCanvas:
    """An A4 canvas for one of the portal's documents, writing into `buffer`."""
    return PrintCanvas(buffer, pagesize=A4, pageCompression=1)


QR_BORDER = 4  # modules of white around the code, as the QR standard asks
CODES_WIDTH = 40 * mm  # the column of the QR code and the barcode at a delivery note's top right


@lru_cache(maxsize=256)
def qr_runs(value: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """The QR code of `value` (error correction level L): its size in modules and its dark
    modules as runs (row, first column, length), row 0 at the top.

    Encoded once per value (choosing the mask tries all eight: tens of milliseconds), where
    reportlab's widget encoded it again each time it was drawn, on both pages of a note."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.L)
    code.addData(value)
    code.make()
    runs = []
    for r, row in enumerate(code.modules):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return code.getModuleCount(), tuple(runs)


def draw_qr(pdf: canvas.Canvas, value: str, x: float, y: float, size: float) -> None:
    """The QR code of `value` in a square of `size` points whose lower left corner is (x, y):
    one filled path of the dark runs, with the quiet zone inside the square."""
    count, runs = qr_runs(value)
    box = size / (count + 2 * QR_BORDER)
    top = y + size - QR_BORDER * box
    path = pdf.beginPath()
    for r, c, length in runs:
        path.rect(x + (QR_BORDER + c) * box, top - (r + 1) * box, length * box, box)
    pdf.drawPath(path, stroke=0, fill=1)


def _letterhead(pdf: canvas.Canvas, font: str, lines: Sequence[str], width: float) -> None:
    """The supplier's name and, smaller, its address and phone, above a document's title."""
    top = A4[1] - 12 * mm
    for size, line in zip((11, 8), lines, strict=False):
        pdf.setFont(font, size)
        pdf.drawString(20 * mm, top, fit(line, font, size, width))
        top -= 5 * mm


def delivery_note(
    shipment: ShipmentView,
    *,
    url: str,
    gettext: Callable[..., str],
    format_datetime: Callable,
    format_weight: Callable[[int], str] = str,
    letterhead: Sequence[str] = (),
) -> bytes:
    """The delivery note (page 1) and packing list (page 2) of a shipment, as PDF bytes.

    `gettext` and `format_datetime` come from the caller so the texts are in the reader's
    language; `url` is what the QR code opens; `letterhead` is the supplier's name and its
    address and phone, printed above the title of each page.
    """
    font = cjk_font()
    buffer = io.BytesIO()
    pdf = new_canvas(buffer)
    pdf.setTitle(f"{gettext('Delivery note')} {shipment.number}")
    width, height = A4

    def header(title: str) -> float:
        _letterhead(pdf, font, letterhead, width - 80 * mm)
        pdf.setFont(font, 18)
        pdf.drawString(20 * mm, height - 25 * mm, title)
        pdf.setFont(font, 11)
        y = height - 35 * mm
        facts = [
            (gettext("Shipment number"), shipment.number),
            # Not "Order": that msgid is the order button's verb (订购).
            (gettext("Order number"), shipment.order_number),
            (gettext("Dealer"), shipment.dealer_name),
            (gettext("Ship to"), shipment.ship_to or "—"),
            (gettext("Warehouse"), shipment.warehouse_name),
            (gettext("Carrier"), shipment.carrier or "—"),
            (gettext("Tracking number"), shipment.tracking_no or "—"),
            # A note printed to pack with says when it was packed; once shipped, when it left.
            (gettext("Shipped"), format_datetime(shipment.shipped_at))
            if shipment.shipped_at
            else (gettext("Packed"), format_datetime(shipment.created_at)),
        ]
        if shipment.weight_g:
            facts.append((gettext("Weight"), format_weight(shipment.weight_g)))
        # Beside the codes, never under them; a long address goes on over lines of its own.
        room = width - 40 * mm - CODES_WIDTH - 4 * mm  # margins of 20 mm, a gap of 4
        for label, value in facts:
            for line in wrap(f"{label}: {value}", font, 11, room, max_lines=3):
                pdf.drawString(20 * mm, y, line)
                y -= 6 * mm
        # A phone's camera opens the shipment from the QR code; a scanner at the warehouse
        # or the carrier reads its number from the barcode, printed below it too.
        left = width - 20 * mm - CODES_WIDTH
        draw_qr(pdf, url, left + (CODES_WIDTH - 32 * mm) / 2, height - 62 * mm, 32 * mm)
        barcode = Code128(shipment.number, barWidth=0.6, barHeight=10 * mm, quiet=0)
        if barcode.width > CODES_WIDTH:  # a long number: narrower bars (0.2 mm at 18 characters)
            narrower = 0.6 * CODES_WIDTH / barcode.width
            barcode = Code128(shipment.number, barWidth=narrower, barHeight=10 * mm, quiet=0)
        barcode.drawOn(pdf, left + (CODES_WIDTH - barcode.width) / 2, height - 76 * mm)
        pdf.setFont(font, 8)
        pdf.drawCentredString(left + CODES_WIDTH / 2, height - 80 * mm, shipment.number)
        return min(y, height - 84 * mm) - 4 * mm

    def table(y: float, columns: list[tuple[str, float]], rows: list[list[str]]) -> float:
        pdf.setFont(font, 10)
        x = 20 * mm
        for title, w in columns:
            pdf.drawString(x, y, title)
            x += w
        pdf.line(20 * mm, y - 2 * mm, width - 20 * mm, y - 2 * mm)
        y -= 8 * mm
        for row in rows:
            if y < 30 * mm:
                pdf.showPage()
                pdf.setFont(font, 10)
                y = height - 25 * mm
            x = 20 * mm
            for (_title, w), cell in zip(columns, row, strict=True):
                # cut by printed width, not characters: a long Chinese name must not run
                # into the quantity column
                pdf.drawString(x, y, fit(cell, font, 10, w - 2 * mm))
                x += w
            y -= 7 * mm
        return y

    # Page 1: the delivery note, for the dealer to sign.
    y = header(gettext("Delivery note"))
    y = table(
        y,
        [(gettext("SKU"), 35 * mm), (gettext("Product"), 100 * mm), (gettext("Quantity"), 35 * mm)],
        [[line.sku_code, line.sku_name, f"{line.qty} {line.unit}"] for line in shipment.lines],
    )
    pdf.setFont(font, 11)
    pdf.drawString(20 * mm, max(y - 10 * mm, 25 * mm), f"{gettext('Received by (signature)')}: ")
    pdf.showPage()

    # Page 2: the packing list, for the warehouse to pick and check.
    y = header(gettext("Packing list"))
    table(
        y,
        [
            (gettext("SKU"), 35 * mm),
            (gettext("Product"), 70 * mm),
            (gettext("Quantity"), 50 * mm),
            (gettext("Checked"), 15 * mm),
        ],
        [[line.sku_code, line.sku_name, _packed_qty(line), "□"] for line in shipment.lines],
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _packed_qty(line: ShipmentLineView) -> str:
    """A packing-list quantity: base units, and how they pack ("28 罐 (1 箱 + 4 罐)")."""
    packs = line.in_packs
    return f"{line.qty} {line.unit} ({packs})" if packs else f"{line.qty} {line.unit}"


def wrap(text: str, font: str, size: float, width: float, *, max_lines: int) -> list[str]:
    """The text broken into lines of at most `width` points (Chinese anywhere, a Latin word or
    a number at the space before it), the last of `max_lines` cut with an ellipsis if it is
    still too long."""
    if font == FONT:
        text = printable(text)
    lines: list[str] = []
    while text and len(lines) < max_lines - 1:
        if pdfmetrics.stringWidth(text, font, size) <= width:
            break
        cut = len(text)
        while cut > 1 and pdfmetrics.stringWidth(text[:cut], font, size) > width:
            cut -= 1
        if text[cut - 1 : cut + 1].isascii() and text[cut - 1 : cut + 1].isalnum():
            # Inside a Latin word or a number: at the space before it, if the line keeps half.
            space = text.rfind(" ", 0, cut)
            if space > cut // 2:
                cut = space
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*lines, fit(text, font, size, width)] if text or not lines else lines


def fit(text: str, font: str, size: float, width: float) -> str:
    """The text cut (with an ellipsis) to fit in `width` points."""
    if font == FONT:
        text = printable(text)
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def statement(
    st: Statement,
    *,
    gettext: Callable[..., str],
    money: Callable[[int], str],
    format_date: Callable,
    generated_at: datetime,
    letterhead: Sequence[str] = (),
) -> bytes:
    """The dealer's statement for its period as PDF bytes: the figures, then every line.

    The table runs from the opening balance to the closing balance with a running balance
    on every line; the column headers repeat on each page. `letterhead`: as on delivery notes.
    """
    font = cjk_font()
    buffer = io.BytesIO()
    pdf = new_canvas(buffer)
    dealer = st.dealer
    pdf.setTitle(f"{gettext('Statement')} {dealer['code']} {st.start} {st.end}")
    width, height = A4
    left, right = 20 * mm, width - 20 * mm
    page_no = 1

    def footer() -> None:
        pdf.setFont(font, 8)
        period = f"{format_date(st.start)} – {format_date(st.end)}"
        pdf.drawString(
            left, 12 * mm, fit(f"{dealer['name']}{SEPARATOR}{period}", font, 8, 140 * mm)
        )
        pdf.drawRightString(right, 12 * mm, gettext("Page %(n)s", n=page_no))

    _letterhead(pdf, font, letterhead, right - left)
    pdf.setFont(font, 18)
    pdf.drawString(left, height - 25 * mm, gettext("Statement"))
    pdf.setFont(font, 11)
    y = height - 35 * mm
    facts = [
        (gettext("Dealer"), f"{dealer['name']} ({dealer['code']})"),
        (gettext("Period"), f"{format_date(st.start)} – {format_date(st.end)}"),
        (gettext("Generated"), format_date(local_day(generated_at))),
    ]
    for label, value in facts:
        pdf.drawString(left, y, fit(f"{label}: {value}", font, 11, right - left))
        y -= 6 * mm
    y -= 2 * mm
    totals = [(gettext("Opening balance"), st.opening_fen)]
    if st.brought_fen:
        totals.append((gettext("Balance brought forward"), st.brought_fen))
    totals += [
        (gettext("Invoiced"), st.invoiced_fen),
        (gettext("Paid"), st.paid_fen),
        (gettext("Credited"), st.credited_fen),
        (gettext("Closing balance"), st.closing_fen),
    ]
    if st.overdue_fen:
        totals.append((gettext("Overdue"), st.overdue_fen))
    for label, fen in totals:
        pdf.drawString(left, y, label)
        pdf.drawRightString(left + 90 * mm, y, money(fen))
        y -= 6 * mm
    y -= 4 * mm

    # Date, type, reference, debit, credit, balance: 170 mm between the margins.
    columns = [
        (gettext("Date"), 24 * mm, "l"),
        (gettext("Type"), 27 * mm, "l"),
        (gettext("Reference"), 38 * mm, "l"),
        (gettext("Debits"), 27 * mm, "r"),
        (gettext("Credits"), 27 * mm, "r"),
        (gettext("Balance"), 27 * mm, "r"),
    ]

    def row(y: float, cells: list[str], size: float = 9) -> None:
        pdf.setFont(font, size)
        x = left
        for (_title, w, align), text in zip(columns, cells, strict=True):
            if align == "r":
                pdf.drawRightString(x + w - 1 * mm, y, text)
            else:
                pdf.drawString(x, y, fit(text, font, size, w - 2 * mm))
            x += w

    def head(y: float) -> float:
        row(y, [c[0] for c in columns], 9)
        pdf.line(left, y - 2 * mm, right, y - 2 * mm)
        return y - 7 * mm

    def amount(fen: int | None) -> str:
        return "" if fen is None else money(fen)

    y = head(y)
    for line in st.lines():
        if y < 22 * mm:
            footer()
            pdf.showPage()
            page_no += 1
            y = head(height - 20 * mm)
        reference = SEPARATOR.join(t for t in (line.reference, line.note) if t)
        row(
            y,
            [
                format_date(line.day),
                gettext(line.kind_label),
                reference,
                amount(line.debit_fen),
                amount(line.credit_fen),
                amount(line.balance_fen),
            ],
        )
        y -= 6 * mm
    footer()
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
