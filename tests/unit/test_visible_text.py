"""visible(): typed text without invisible characters at its ends; nothing visible is empty."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.text import visible


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "   ",
        "\u200b",  # zero-width space
        "\ufeff",  # byte-order mark
        "\u200b\u200c\u200d\u2060",  # zero-width (non-)joiners, word joiner
        "\u200e\u200f\u202a\u202c",  # direction marks and embeddings
        "\u00ad",  # soft hyphen
        "\u3000\t\n\u00a0\u202f",  # ideographic, no-break and narrow spaces, tab, line break
        "\U000e0041\U000e007f",  # tag characters
    ],
)
def test_a_text_with_nothing_visible_is_empty(text):
    assert visible(text) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("价格不对", "价格不对"),
        ("  价格不对 \n", "价格不对"),
        ("\u200b价格不对\ufeff", "价格不对"),
        ("\ufeff \u200b 客户减量 \u2060", "客户减量"),
        # Inside the text nothing is taken out: a joiner holds an emoji together.
        ("破损 \u200b 漏液", "破损 \u200b 漏液"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("❤\ufe0f", "❤\ufe0f"),  # a variation selector (Mn) is not a format character
        (".", "."),
    ],
)
def test_visible_text_keeps_what_shows(text, expected):
    assert visible(text) == expected


def _shows(ch: str) -> bool:
    return not ch.isspace() and unicodedata.category(ch) != "Cf"


@given(st.text())
def test_visible_trims_only_the_ends_and_is_stable(text):
    result = visible(text)
    assert visible(result) == result
    assert result in text
    if any(_shows(ch) for ch in text):
        assert result and _shows(result[0]) and _shows(result[-1])
    else:
        assert result == ""
