"""Amounts, numbers, dates and times in each language, always in Asia/Shanghai time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from portal import i18n


@pytest.fixture(autouse=True)
def default_locale():
    yield
    i18n.set_locale(i18n.DEFAULT_LOCALE)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_money_is_yuan_with_two_decimals_in_every_language(locale: str):
    i18n.set_locale(locale)
    assert i18n.money(123450) == "¥1,234.50"
    assert i18n.money(100_000_000_05) == "¥100,000,000.05"
    assert i18n.money(0) == "¥0.00"
    assert i18n.money(-5) == "-¥0.05"
    assert i18n.money(None) == ""


# 16:30 UTC on 25 November is 00:30 on 26 November in Shanghai (UTC+8, no daylight saving).
LATE = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_Hans", "2026/11/26 00:30"),
        ("zh_Hant", "2026/11/26 凌晨12:30"),
        # Not 11/26/26: the month named, the year whole.
        ("en", "Nov 26, 2026, 12:30\u202fAM"),
    ],
)
def test_datetimes_are_shown_in_shanghai_time_per_language(locale: str, expected: str):
    i18n.set_locale(locale)
    # Which space CLDR puts between the parts (space, narrow or thin no-break space) changes
    # with Babel's releases (2.19 brought U+2009 to zh_Hant): compare the parts, not it.
    assert spaced(i18n.local_datetime(LATE)) == spaced(expected)


def spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("zh_Hans", "2026年11月25日"), ("zh_Hant", "2026年11月25日"), ("en", "Nov 25, 2026")],
)
def test_dates_per_language(locale: str, expected: str):
    i18n.set_locale(locale)
    assert i18n.local_date(date(2026, 11, 25)) == expected


def test_the_day_ends_at_midnight_in_shanghai():
    # An order placed at 23:59 Shanghai time belongs to that day, not the UTC one.
    i18n.set_locale("zh_Hans")
    evening = datetime(2026, 11, 25, 15, 59, tzinfo=UTC)
    assert i18n.local_datetime(evening) == "2026/11/25 23:59"


@pytest.mark.parametrize(
    ("locale", "catalog"),
    [("zh_Hans", "商品"), ("zh_Hant", "商品"), ("en", "Catalog")],
)
def test_each_language_translates(locale: str, catalog: str):
    i18n.set_locale(locale)
    assert i18n.gettext("Catalog") == catalog


def test_simplified_and_traditional_scripts_differ():
    i18n.set_locale("zh_Hans")
    assert i18n.gettext("Orders") == "订单"
    i18n.set_locale("zh_Hant")
    assert i18n.gettext("Orders") == "訂單"


def test_unknown_locale_falls_back_to_simplified():
    i18n.set_locale("fr")
    assert i18n.get_locale() == "zh_Hans"


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-TW,zh;q=0.9", "zh_Hant"),
        ("zh-Hant-HK", "zh_Hant"),
        ("zh-CN", "zh_Hans"),
        ("en-US,en;q=0.8", "en"),
        ("fr-FR", "zh_Hans"),
        (None, "zh_Hans"),
        # The most wanted first, whatever the order written.
        ("en;q=0.1, zh;q=0.9", "zh_Hans"),
        ("zh-CN;q=0.2, zh-TW;q=0.8, en;q=0.5", "zh_Hant"),
        ("fr, en;q=0.7, zh;q=0.3", "en"),
        ("en;q=0, zh-TW", "zh_Hant"),
        ("en;q=abc", "en"),
    ],
)
def test_language_from_the_browser(header: str | None, locale: str):
    assert i18n.negotiate(header) == locale


def test_a_moment_shown_as_a_date_is_its_day_in_shanghai():
    # 02:30 on the 26th in Shanghai is still the 25th in UTC: the page says the 26th.
    i18n.set_locale("zh_Hans")
    early = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)
    assert i18n.local_date(early) == "2026年11月26日"
    assert i18n.local_date(early.date()) == "2026年11月25日"  # a plain date stays as it is
