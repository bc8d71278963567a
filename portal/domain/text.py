"""Typed text as the rules read it: what is left once invisible characters are trimmed."""

from __future__ import annotations

import unicodedata


def _invisible(ch: str) -> bool:
    """Whitespace, or a format character (Unicode category Cf: zero-width space U+200B, the
    byte-order mark U+FEFF, joiners, direction marks), which prints nothing on its own."""
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def visible(text: str | None) -> str:
    """The text without invisible characters at either end; "" when nothing in it shows.

    A required reason must say something: one made only of zero-width spaces passes
    str.strip() but reads as blank on every page, so it counts as empty here. Invisible
    characters inside the text (a joiner in an emoji, a space between words) are kept.
    """
    text = text or ""
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]
