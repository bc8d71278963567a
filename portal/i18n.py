"""Languages: gettext catalogs (Babel), the reader's locale per request, money and time formats.

Message ids are English; zh_Hans is the default language. The current locale lives in a
context variable set once per request, so domain errors and templates translate alike.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal, parse_pattern
from babel.support import NullTranslations, Translations

from portal.domain.errors import DomainError, FieldError
from portal.domain.money import from_fen

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LOCALES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LOCALE = "zh_Hans"
LOCALE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
TIMEZONE = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"

_locale: ContextVar[str] = ContextVar("portal_locale", default=DEFAULT_LOCALE)


def set_locale(locale: str) -> None:
    _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    return _locale.get()


@cache
def translations(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()
    return Translations.load(dirname=str(LOCALE_DIR), locales=[locale], domain="messages")


def gettext(msgid: str, **params: Any) -> str:
    text = translations(get_locale()).gettext(msgid)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(get_locale()).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


def _by_preference(accept_language: str) -> list[str]:
    """The header's language tags, most wanted first (by q, then as listed); q=0 means not
    wanted; a q that is not a number counts as 1."""
    weighted = []
    for position, part in enumerate(accept_language.split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _eq, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 1.0
        if tag and q > 0:
            weighted.append((-q, position, tag.lower()))
    return [tag for _q, _position, tag in sorted(weighted)]


def negotiate(accept_language: str | None) -> str:
    """Pick a locale from an Accept-Language header; Chinese scripts by region or script."""
    if not accept_language:
        return DEFAULT_LOCALE
    for tag in _by_preference(accept_language):
        if tag.startswith("zh"):
            if "hant" in tag or tag in ("zh-tw", "zh-hk", "zh-mo"):
                return "zh_Hant"
            return "zh_Hans"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


@cache
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


def _babel_locale() -> Locale:
    """The reader's Babel locale; parsed once per code (a catalog page formats hundreds)."""
    return _parsed(get_locale())


_MONEY_PATTERN = parse_pattern("#,##0.00")


def money(fen: int | None) -> str:
    """¥1,234.50 in the reader's language (one currency per installation: always ¥, never CN¥)."""
    if fen is None:
        return ""
    return _money(int(fen), get_locale())


@lru_cache(maxsize=8192)
def _money(fen: int, locale: str) -> str:
    # A catalog page formats a few hundred amounts, mostly the same prices again and again.
    value = from_fen(fen)
    digits = _MONEY_PATTERN.apply(abs(value), _parsed(locale))
    return f"-¥{digits}" if value < 0 else f"¥{digits}"


def number(value: int | Decimal) -> str:
    return format_decimal(value, locale=_babel_locale())


def weight(grams: int | None) -> str:
    """A weight for people: 600 g, 1.5 kg, 1,234.56 kg ("" when not known)."""
    if not grams:
        return ""
    if grams < 1000:
        return f"{number(grams)} g"
    return f"{format_decimal(Decimal(grams) / 1000, '#,##0.###', locale=_babel_locale())} kg"


# English's short date is 11/26/26: a two-digit year, and month first where half the
# English-reading world reads the day first. A moment shown in English names its month.
_SHORT_DATETIME = {"en": "MMM d, y, h:mm a"}


def local_datetime(value: datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    if fmt == "short":
        fmt = _SHORT_DATETIME.get(get_locale(), fmt)
    return format_datetime(value.astimezone(TIMEZONE), fmt, tzinfo=TIMEZONE, locale=_babel_locale())


def local_date(value: date | None, fmt: str = "medium") -> str:
    """A date in the reader's language; a moment (datetime) as its day in Asia/Shanghai, not
    in UTC (between 00:00 and 08:00 there, UTC is still the day before)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(TIMEZONE).date()
    return format_date(value, fmt, locale=_babel_locale())


def period_label(key: str) -> str:
    """A report's day ("2026-11-01") or month ("2026-11") as the reader's language says it:
    Sun, Nov 1 / 11月1日周日, Nov 2026 / 2026年11月 (the ISO key stays in the exports)."""
    if len(key) == 7:
        return format_skeleton("yMMM", date.fromisoformat(key + "-01"), locale=_babel_locale())
    return format_skeleton("MMMEd", date.fromisoformat(key), locale=_babel_locale())


def error_message(err: DomainError) -> str:
    """A domain error in the reader's language."""
    return gettext(err.message, **err.params)


def field_message(err: FieldError) -> str:
    """A field error in the reader's language; a parameter that is itself a field error (a
    line's own problem inside "Line 3: …") is rendered in the same language."""
    params = {
        key: field_message(value)
        if hasattr(value, "message") and hasattr(value, "params")
        else value
        for key, value in err.params.items()
    }
    return gettext(err.message, **params)
