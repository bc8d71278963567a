"""Sort keys that put Chinese names in the order a Chinese reader looks for them: by pinyin
(百事可乐 before 冰红茶 before 茶饮料 before 长城干红), the way a phone's contacts and every
catalog app sort, not by the characters' code points (冰 U+51B0, 百 U+767E, 茶 U+8336, 长
U+957F: an order no person knows).

A key is computed in Python when a name is written (a SKU's, a product's, a dealer's and a
person's, by the pages, the API, the import and the demo) and stored beside it as
`name_key`, so both engines sort the same way with a plain bytewise comparison and an index
serves it: SQLite has no Chinese collation, and PostgreSQL's ICU one depends on how the
server was built.

The key: each Chinese character's pinyin without tones (words read as words: 长城 is chang
cheng, 银行 yin hang; ü as v, so 绿 lv after 陆 lu), anything else lower-cased, one space
between the parts (a syllable ends before any letter: 西安 xi an before 先 xian), after
NFKC (full-width letters and digits as their half-width forms).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from piccolo.query import OrderByRaw

from portal.db import bytewise

_SPACES = re.compile(r"\s+")


@cache
def _converter():  # type: ignore[no-untyped-def]
    """pypinyin's converter, imported on first use: its word list (for readings that depend
    on the word) costs a process about 50 MB, so only a process that writes names loads it."""
    from pypinyin import Style, lazy_pinyin

    def convert(text: str) -> list[str]:
        return lazy_pinyin(text, style=Style.NORMAL, errors="default")

    return convert


def sort_key(name: str) -> str:
    """The stored sort key of a name, e.g. "农夫山泉 550ml" -> "nong fu shan quan 550ml"."""
    text = unicodedata.normalize("NFKC", name or "")
    parts = (_SPACES.sub(" ", part).strip().lower() for part in _converter()(text))
    return " ".join(part for part in parts if part)


def with_key(values: dict[str, Any], name: str = "name") -> dict[str, Any]:
    """Column values to write, with the sort key of the `name` column's value as `name_key`
    if they set it (a person's is "display_name")."""
    return {**values, "name_key": sort_key(values[name])} if name in values else values


def order_by_name() -> OrderByRaw:
    """Piccolo's ORDER BY for the stored keys, bytewise as the catalog compares them."""
    return OrderByRaw(bytewise("name_key"))
