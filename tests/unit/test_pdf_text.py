"""Text on the PDFs: a long fact (a ship-to address) wraps within its column, whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from portal.pdf import cjk_font, wrap

FONT = cjk_font()
ADDRESS = "收货地址: 上海市浦东新区张江高科技园区碧波路 690 号 3 号楼 2 层 收货人：王经理 138 0013"


def width(text: str) -> float:
    return pdfmetrics.stringWidth(text, FONT, 11)


def test_a_long_address_goes_on_over_a_second_line_within_the_column():
    lines = wrap(ADDRESS, FONT, 11, 126 * mm, max_lines=3)
    assert len(lines) == 2
    assert all(width(line) <= 126 * mm for line in lines)
    assert "".join(lines).replace(" ", "") == ADDRESS.replace(" ", "")


def test_what_does_not_fit_in_the_last_line_ends_with_an_ellipsis():
    lines = wrap(ADDRESS * 3, FONT, 11, 60 * mm, max_lines=2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(width(line) <= 60 * mm for line in lines)


def test_an_english_address_breaks_between_words():
    text = "Ship to: Building 3, 690 Bibo Road, Zhangjiang Hi-Tech Park, Pudong, Shanghai"
    lines = wrap(text, FONT, 11, 60 * mm, max_lines=3)
    assert " ".join(lines) == text
    assert all(width(line) <= 60 * mm for line in lines)


def test_a_short_fact_is_one_line_as_it_was():
    assert wrap("承运商: 顺丰速运", FONT, 11, 126 * mm, max_lines=3) == ["承运商: 顺丰速运"]


@given(text=st.text(alphabet="上海市浦东新区路号楼 ABCxyz0123456789：-", min_size=1, max_size=120))
def test_every_line_fits_and_nothing_is_lost_unless_cut(text):
    lines = wrap(text, FONT, 11, 50 * mm, max_lines=3)
    assert 1 <= len(lines) <= 3
    assert all(width(line) <= 50 * mm for line in lines)
    if not lines[-1].endswith("…") or text.endswith("…"):
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
