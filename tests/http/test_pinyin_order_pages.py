"""Pinyin through the pages and the API, on both engines: the catalog a dealer sees listed
and sorted by name, and searched in Latin letters; the dealers finance reads."""

from __future__ import annotations

import re

from tests import factories as f
from tests.db.test_pinyin_order import DEALERS_IN_PINYIN_ORDER, IN_PINYIN_ORDER
from tests.http.conftest import sign_in
from tests.http.test_api_auth import bearer


async def shop() -> None:
    dealer = await f.dealer(await f.tier())
    await f.user("dealer_buyer", dealer, username="buyer")
    for name, code in reversed(IN_PINYIN_ORDER.items()):
        await f.sku(code=code, name=name)


async def test_the_api_lists_and_sorts_by_name_in_pinyin_order(client):
    await shop()
    headers = await bearer(client, "buyer")
    for query in ("", "?sort=name"):
        r = await client.get(f"/api/v1/catalog/skus{query}", headers=headers)
        assert r.status_code == 200, r.text
        assert [i["code"] for i in r.json()["items"]] == list(IN_PINYIN_ORDER.values()), query


async def test_the_catalog_page_lists_and_sorts_by_name_in_pinyin_order(client):
    await shop()
    await sign_in(client, "buyer")
    for query in ("", "?sort=name"):
        page = await client.get(f"/catalog{query}")
        assert page.status_code == 200
        shown = re.findall("|".join(map(re.escape, IN_PINYIN_ORDER)), page.text)
        assert list(dict.fromkeys(shown)) == list(IN_PINYIN_ORDER), query


async def test_finance_reads_the_dealers_by_name_in_pinyin_order_on_the_page_and_the_api(client):
    tier = await f.tier()
    for name in reversed(DEALERS_IN_PINYIN_ORDER):
        await f.dealer(tier, name=name)
    await f.user("finance", username="fin")
    r = await client.get("/api/v1/dealers", headers=await bearer(client, "fin"))
    assert r.status_code == 200, r.text
    assert [d["name"] for d in r.json()["items"]] == DEALERS_IN_PINYIN_ORDER
    await sign_in(client, "fin")
    page = await client.get("/dealers")
    assert page.status_code == 200
    shown = re.findall("|".join(DEALERS_IN_PINYIN_ORDER), page.text)
    assert list(dict.fromkeys(shown)) == DEALERS_IN_PINYIN_ORDER


async def test_a_dealer_finds_by_pinyin_on_the_page_and_the_api(client):
    await shop()
    headers = await bearer(client, "buyer")
    r = await client.get("/api/v1/catalog/skus", params={"q": "bhc"}, headers=headers)
    assert r.status_code == 200, r.text
    assert [i["code"] for i in r.json()["items"]] == ["P-2"]  # 冰红茶
    await sign_in(client, "buyer")
    page = await client.get("/catalog", params={"q": "changcheng"})
    assert "长城干红 750ml" in page.text and "冰红茶" not in page.text
