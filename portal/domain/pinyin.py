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
from piccolo.table import Table

from portal.db import bytewise

_SPACES = re.compile(r"\s+")


OTHER = "\x00"  # marks a part of a name that is not Chinese characters


@cache
def _converter():  # type: ignore[no-untyped-def]
    """pypinyin's converter, imported on first use: its word list (for readings that depend
    on the word) costs a process about 50 MB, so only a process that writes names loads it.
    It gives each Chinese character's syllable, and each run of anything else as it is,
    marked with OTHER."""
    from pypinyin import Style, lazy_pinyin

    def convert(text: str) -> list[str]:
        return lazy_pinyin(text, style=Style.NORMAL, errors=lambda run: [OTHER + run])

    return convert


def _parts(name: str) -> list[str]:
    return _converter()(unicodedata.normalize("NFKC", name or ""))


def sort_key(name: str) -> str:
    """The stored sort key of a name, e.g. "农夫山泉 550ml" -> "nong fu shan quan 550ml"."""
    parts = (_SPACES.sub(" ", part.lstrip(OTHER)).strip().lower() for part in _parts(name))
    return " ".join(part for part in parts if part)


def search_key(name: str) -> str:
    """What a search typed in Latin letters finds a SKU by besides its name: the name's
    pinyin run together, then the initials of its Chinese characters, so that binghong and
    bhc both find 康师傅冰红茶 ("kangshifubinghongcha550ml ksfbhc" for 康师傅冰红茶 550ml).
    Empty for a name without Chinese characters (its own text says it all)."""
    whole, initials = [], []
    for part in _parts(name):
        if part.startswith(OTHER):
            whole.append("".join(part[1:].lower().split()))
        else:
            whole.append(part)
            initials.append(part[:1])
    return f"{''.join(whole)} {''.join(initials)}" if initials else ""


# A Latin term finds names by pinyin from three letters: the trigram index serves that on
# PostgreSQL, where a two-letter one would read every SKU (ml: 110 → 276 ms over 100,000), and
# two letters of initials match too much to help (nearly every name has some "yb").
SEARCH_MIN = 3


def finds_by_pinyin(term: str) -> bool:
    """Whether a search term also finds names by their pinyin (search_key): Latin letters
    only, at least SEARCH_MIN of them."""
    return term.isascii() and term.isalpha() and len(term) >= SEARCH_MIN


# The tables whose names are keyed: the column holding the name, and whether a search in
# Latin letters finds their rows by pinyin (the `pinyin` column) besides ordering them.
KEYED = {
    "sku": ("name", True),
    "product": ("name", False),
    "dealer": ("name", True),
    "portal_user": ("display_name", False),
}


def with_keys(table: type[Table], values: dict[str, Any]) -> dict[str, Any]:
    """A row's column values to write to `table`, with what its name makes (name_key, and
    pinyin where the table is searched by it) when they set the name: every writer of a
    name goes through this, so the keys never fall behind the name."""
    column, searched = KEYED[table._meta.tablename]
    if column not in values:
        return values
    keys = {"name_key": sort_key(values[column])}
    if searched:
        keys["pinyin"] = search_key(values[column])
    return {**values, **keys}


def order_by_name() -> OrderByRaw:
    """Piccolo's ORDER BY for the stored keys, bytewise as the catalog compares them."""
    return OrderByRaw(bytewise("name_key"))
