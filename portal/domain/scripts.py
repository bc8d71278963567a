"""Chinese in its two scripts: a search typed in Traditional characters (a 繁體 keyboard, a
reader in Taiwan or Hong Kong: 檸檬, 洗髮) also looks for the Simplified form the supplier's
names are written in (柠檬, 洗发). zhconv's character and phrase tables, loaded on first use."""

from __future__ import annotations

from functools import lru_cache

MAX_TEXT = 200


@lru_cache(maxsize=4096)
def simplified(text: str) -> str:
    """`text` in Simplified characters ("" and text without Chinese come back as they are)."""
    if not text or text.isascii() or len(text) > MAX_TEXT:
        return text
    import zhconv  # about 2 MB of tables: only once someone searches in Chinese

    return zhconv.convert(text, "zh-cn")
