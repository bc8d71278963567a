"""Delivery note (发货单) and packing list as a PDF, with the shipment number as a QR code.

Chinese text uses reportlab's built-in CID font STSong-Light (no font files). The QR code
holds the shipment page's address, so a phone that scans it opens the shipment.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from portal.domain.shipments import ShipmentView

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _qr(value: str, size: float) -> Drawing:
    widget = QrCodeWidget(value)
    x1, y1, x2, y2 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(widget)
    return drawing


def delivery_note(
    shipment: ShipmentView,
    *,
    url: str,
    gettext: Callable[..., str],
    format_datetime: Callable,
) -> bytes:
    """The delivery note (page 1) and packing list (page 2) of a shipment, as PDF bytes.

    `gettext` and `format_datetime` come from the caller so the texts are in the reader's
    language; `url` is what the QR code opens.
    """
    font = _font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"{gettext('Delivery note')} {shipment.number}")
    width, height = A4

    def header(title: str) -> float:
        pdf.setFont(font, 18)
        pdf.drawString(20 * mm, height - 25 * mm, title)
        pdf.setFont(font, 11)
        y = height - 35 * mm
        facts = [
            (gettext("Shipment number"), shipment.number),
            (gettext("Order"), shipment.order_number),
            (gettext("Dealer"), shipment.dealer_name),
            (gettext("Ship to"), shipment.ship_to or "—"),
            (gettext("Warehouse"), shipment.warehouse_name),
            (gettext("Carrier"), shipment.carrier or "—"),
            (gettext("Tracking number"), shipment.tracking_no or "—"),
            (
                gettext("Shipped"),
                format_datetime(shipment.shipped_at) if shipment.shipped_at else "—",
            ),
        ]
        for label, value in facts:
            pdf.drawString(20 * mm, y, f"{label}: {value}"[:90])
            y -= 6 * mm
        renderPDF.draw(_qr(url, 32 * mm), pdf, width - 52 * mm, height - 62 * mm)
        pdf.setFont(font, 8)
        pdf.drawCentredString(width - 36 * mm, height - 66 * mm, shipment.number)
        return y - 4 * mm

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
                pdf.drawString(x, y, cell[: int(w / (2 * mm)) + 2])
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
            (gettext("Product"), 95 * mm),
            (gettext("Quantity"), 25 * mm),
            (gettext("Checked"), 15 * mm),
        ],
        [[line.sku_code, line.sku_name, f"{line.qty} {line.unit}", "□"] for line in shipment.lines],
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
