"""Text the PDF font cannot draw: an emoji or a tick in a note, a product name or a reference
prints as one '□', and the Chinese after it prints as typed (statement, delivery note,
packing list, pick list; read back with pdftotext). The delivery note names the order number
as such (订单号), not with the order button's verb (订购)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reportlab.pdfbase import pdfmetrics

from portal.domain import ledger, orders, shipments
from portal.domain.quantities import LineRequest
from portal.pdf import MISSING, _drawable, cjk_font, fit, printable, wrap
from portal.tables import OrderLine
from tests import factories as f
from tests.conftest import missing
from tests.db.test_shipments import NOW, fulfil_world
from tests.http.conftest import sign_in

GARBLED = "转账😀汇款"  # printed as '转账□㛹l昨□' before


def pdf_text(body: bytes) -> str:
    """The text a reader gets out of the PDF (poppler's pdftotext, in layout order)."""
    if shutil.which("pdftotext") is None:
        missing("pdftotext (poppler-utils) is not installed")
    assert body.startswith(b"%PDF"), body[:60]
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=body,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode()


# --- the helper -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        (GARBLED, "转账□汇款"),
        ("✓ 已核对", "□ 已核对"),
        ("红❤️色", "红□色"),  # the variation selector U+FE0F is not a second box
        ("家👨\u200d👩\u200d👧庭", "家□庭"),  # one family, one box
        ("赞👍🏽好", "赞□好"),  # a skin tone belongs to its emoji
        ("旗🇨🇳🇯🇵帜", "旗□□帜"),  # two flags, a box each
        ("零\u200b宽\ufeff", "零宽"),
        ("e\u0301tage", "étage"),  # composed: the font has é
        ("a·b", "a□b"),
        ("9:30\u202fAM\tB\nC", "9:30 AM B C"),
        ("上海市浦东新区 ¥1,234.50 – 第 3 页…", "上海市浦东新区 ¥1,234.50 – 第 3 页…"),
        ("繁體中文：臺灣", "繁體中文：臺灣"),
    ],
)
def test_what_the_font_cannot_draw_becomes_one_box(text, printed):
    assert printable(text) == printed


@given(st.text(max_size=60))
def test_printable_text_is_drawable_and_stable(text):
    result = printable(text)
    assert printable(result) == result
    assert all(_drawable(ch) for ch in result)
    # Whatever the font draws is printed as typed (once composed).
    kept = [ch for ch in unicodedata.normalize("NFC", text) if _drawable(ch)]
    assert [ch for ch in result if ch != MISSING and ch != " "] == [
        ch for ch in kept if ch != MISSING and ch != " "
    ]


def test_fit_and_wrap_measure_what_is_printed():
    font = cjk_font()
    text = "😀" * 40 + "汇款"
    assert fit(text, font, 10, 500) == MISSING * 40 + "汇款"
    lines = wrap(text, font, 10, 60, max_lines=3)
    assert all(pdfmetrics.stringWidth(line, font, 10) <= 60 for line in lines)
    assert all(set(line) <= {MISSING, "…", "汇", "款"} for line in lines)


# --- the documents --------------------------------------------------------------------------


async def test_the_statement_prints_chinese_after_an_emoji(db, client):
    w = await fulfil_world(balance_fen=10_000)
    await ledger.record_credit_note(w.finance, w.dealer["id"], amount="12", note=GARBLED)
    await ledger.record_payment(
        w.finance, w.dealer["id"], amount="30", method="bank", reference="✓ 已核对"
    )
    await f.user("finance", username="cfo")
    await sign_in(client, "cfo")
    r = await client.get(f"/finance/dealers/{w.dealer['id']}/statement.pdf")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/pdf")
    text = pdf_text(r.content)
    assert "转账□汇款" in text, text
    assert "□ 已核对" in text, text
    assert "㛹" not in text and "昨" not in text


async def test_the_delivery_note_packing_list_and_pick_list_print_it_too(db, client):
    w = await fulfil_world()
    odd = await f.sku(code="E100", name="礼盒😀装 ✓ 橙汁", base_price_fen=200, pack=None)
    await f.stock(odd, w.wh1, 100)
    placed = await orders.submit_order(
        w.buyer, None, [LineRequest(qty=3, sku_id=odd["id"])], idempotency_key="e1", now=NOW
    )
    await f.user("admin", username="root")
    await sign_in(client, "root")

    # Queued to pick: the pick list names the product.
    r = await client.get(f"/warehouse/pick-list?warehouse={w.wh1['id']}&format=pdf")
    assert r.status_code == 200, r.text[:300]
    text = pdf_text(r.content)
    assert "礼盒□装 □ 橙汁" in text, text

    [line] = await OrderLine.select().where(OrderLine.order == placed.order.id)
    created = await shipments.create_shipment(
        w.clerk, placed.order.id, warehouse_id=w.wh1["id"], quantities={line["id"]: 3}, now=NOW
    )
    r = await client.get(f"/shipments/{created.shipment.id}/delivery-note.pdf")
    assert r.status_code == 200, r.text[:300]
    text = pdf_text(r.content)
    pages = text.split("\f")
    delivery, packing = pages[0], pages[1]
    for page in (delivery, packing):
        assert "礼盒□装 □ 橙汁" in page, page
        # The order number is labelled as one, not with the verb on the order button.
        assert f"订单号: {placed.order.number}" in page, page
        assert "订购" not in page
