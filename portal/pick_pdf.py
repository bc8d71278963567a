"""The pick list (拣货单) of a warehouse as a PDF: one row per SKU, then its orders, a tick box.

Chinese text uses reportlab's built-in CID font STSong-Light (no font files), as the delivery
note in portal/pdf.py does, on its canvas, which prints what the font cannot draw as '□'.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from portal import i18n
from portal.domain.picking import PickLine, PickList
from portal.pdf import SEPARATOR, cjk_font, fit, new_canvas


def _packs(line: PickLine, gettext: Callable[..., str]) -> str:
    if not line.pack_factor:
        return ""
    parts = []
    if line.full_packs:
        parts.append(f"{line.full_packs} {line.pack_name}")
    if line.loose:
        parts.append(f"{line.loose} {line.unit}")
    rule = gettext(
        "1 %(pack)s = %(n)s %(unit)s", pack=line.pack_name, n=line.pack_factor, unit=line.unit
    )
    return f"{' + '.join(parts)} ({rule})"


def pick_list(
    plist: PickList,
    *,
    gettext: Callable[..., str],
    format_datetime: Callable[[datetime], str],
    generated_at: datetime,
) -> bytes:
    """The pick list as PDF bytes (A4), texts in the caller's language."""
    font = cjk_font()
    buffer = io.BytesIO()
    pdf = new_canvas(buffer)
    wh = plist.warehouse
    title = f"{gettext('Pick list')}{SEPARATOR}{wh['name']} ({wh['code']})"
    pdf.setTitle(title)
    width, height = A4
    left, right = 18 * mm, width - 18 * mm
    page_no = 1

    def footer() -> None:
        pdf.setFont(font, 8)
        pdf.drawString(left, 10 * mm, fit(title, font, 8, 120 * mm))
        pdf.drawRightString(right, 10 * mm, gettext("Page %(n)s", n=page_no))

    def new_page() -> float:
        nonlocal page_no
        footer()
        pdf.showPage()
        page_no += 1
        return height - 20 * mm

    pdf.setFont(font, 18)
    pdf.drawString(left, height - 22 * mm, fit(title, font, 18, right - left))
    pdf.setFont(font, 10)
    y = height - 30 * mm
    summary = gettext(
        "%(orders)s: %(products)s, %(units)s.",
        orders=i18n.ngettext("%(num)s order", "%(num)s orders", len(plist.orders)),
        products=i18n.ngettext("%(num)s product", "%(num)s products", len(plist.lines)),
        units=i18n.ngettext("%(num)s unit", "%(num)s units", plist.total_qty),
    )
    pdf.drawString(
        left, y, fit(f"{format_datetime(generated_at)}{SEPARATOR}{summary}", font, 10, right - left)
    )
    y -= 10 * mm
    if not plist.lines:
        pdf.drawString(left, y, gettext("Nothing to pick in this warehouse."))
    for line in plist.lines:
        needed = (8 + 5 * len(line.orders) + 4) * mm
        if y - needed < 18 * mm:
            y = new_page()
        pdf.rect(left, y - 3.5 * mm, 4.5 * mm, 4.5 * mm)  # tick when picked
        pdf.setFont(font, 11)
        head = f"{line.sku_code} {line.sku_name}"
        pdf.drawString(left + 7 * mm, y - 2.5 * mm, fit(head, font, 11, 120 * mm))
        pdf.drawRightString(right, y - 2.5 * mm, f"{line.qty} {line.unit}")
        y -= 6 * mm
        pdf.setFont(font, 9)
        extra = SEPARATOR.join(p for p in (line.barcode, _packs(line, gettext)) if p)
        if extra:
            pdf.drawString(left + 7 * mm, y - 1.5 * mm, fit(extra, font, 9, right - left - 7 * mm))
            y -= 5 * mm
        for share in line.orders:
            text = f"{share.order_number}  {share.dealer_name}"
            pdf.drawString(left + 12 * mm, y - 1.5 * mm, fit(text, font, 9, 120 * mm))
            pdf.drawRightString(right, y - 1.5 * mm, f"{share.qty} {line.unit}")
            y -= 5 * mm
        pdf.line(left, y, right, y)
        y -= 5 * mm
    footer()
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
