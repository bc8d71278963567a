"""Pinyin sort keys: Chinese names in the order a Chinese reader expects."""

from __future__ import annotations

import pytest

from bench.__main__ import name_key as bench_name_key
from bench.__main__ import search_key as bench_search_key
from portal.domain.pinyin import search_key, sort_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("冰红茶", "bing hong cha"),
        ("农夫山泉 550ml", "nong fu shan quan 550ml"),
        # Read as words: 长 in 长城 is chang, 行 in 银行 is hang.
        ("长城干红", "chang cheng gan hong"),
        ("银行", "yin hang"),
        ("绿茶", "lv cha"),  # ü as v: after lu
        ("ＡＢＣ１２３可乐", "abc123 ke le"),  # full-width as half-width
        ("Coca-Cola 可口可乐", "coca-cola ke kou ke le"),
        ("  多  空格 ", "duo kong ge"),
        ("", ""),
    ],
)
def test_a_name_becomes_its_pinyin(name, key):
    assert sort_key(name) == key


def test_names_sort_by_pinyin_not_by_code_point():
    names = ["长城干红", "茶饮料", "冰红茶", "百事可乐", "先", "西安", "陆", "绿茶"]
    assert sorted(names) != sorted(names, key=sort_key)  # code points disagree
    assert sorted(names, key=sort_key) == [
        "百事可乐",
        "冰红茶",
        "茶饮料",
        "长城干红",
        "陆",
        "绿茶",
        "西安",  # xi an: the syllable xi ends before xian's a
        "先",
    ]


@pytest.mark.parametrize(
    ("prefix", "rest", "name"),
    [
        ("农夫山泉矿泉水", " 12", "农夫山泉矿泉水12"),  # a generated product's name
        ("康师傅冰红茶 550ml柠檬 #", "7", "康师傅冰红茶 550ml柠檬 #7"),  # a SKU's
        ("怡宝苏打水 2L #", "100000", "怡宝苏打水 2L #100000"),
    ],
)
def test_the_bench_composes_the_same_keys_as_the_whole_name(prefix, rest, name):
    assert bench_name_key(prefix, rest) == sort_key(name)
    assert bench_search_key(prefix, rest) == search_key(name)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("康师傅冰红茶 550ml", "kangshifubinghongcha550ml ksfbhc"),
        ("Coca-Cola 可口可乐", "coca-colakekoukele kkkl"),
        ("绿茶", "lvcha lc"),
        ("ＡＢ可乐", "abkele kl"),
        ("Coca-Cola 330ml", ""),  # no Chinese: its own text says it all
        ("", ""),
    ],
)
def test_a_name_is_found_by_its_pinyin_run_together_and_its_initials(name, key):
    assert search_key(name) == key
