"""Staff lists that can grow past a screen are paged, not cut off, on both engines: the SKUs
under safety stock and the backorders, as pages (page N of M, the search kept by the links, a
page past the last shows the last) and through the API; finance's accounts use the same
pager."""

from __future__ import annotations

import re

from portal.domain import safety_stock, stock
from portal.web import backorders as backorders_web
from portal.web import warehouse as warehouse_web
from tests import factories as f
from tests.db.test_backorders import bo_world, submit
from tests.http.conftest import sign_in
from tests.http.test_api_auth import bearer


def codes_on(html: str) -> list[str]:
    return re.findall(r"\b(SF-\d{3})\b", html)


async def many_under_safety(n: int) -> dict:
    clerk = await f.user("warehouse", username="clerk")
    wh = await f.warehouse()
    for i in range(n):
        sku = await f.sku(code=f"SF-{i:03d}", name=f"安全库存 {i:03d}", pack=None)
        await f.stock(sku, wh, on_hand=i)  # SF-000 emptiest, then by how far under
        await safety_stock.set_safety_stock(f.actor(clerk), sku["id"], 1000)
    return {"clerk": f.actor(clerk)}


async def test_the_alert_list_pages_through_every_sku_under_safety_stock(client):
    per = warehouse_web.ALERTS_PER_PAGE
    w = await many_under_safety(per + 3)
    everything = await safety_stock.under_safety(w["clerk"], limit=None)
    assert [lv.sku_code for lv in everything] == [f"SF-{i:03d}" for i in range(per + 3)]
    second = await safety_stock.under_safety(w["clerk"], limit=per, offset=per)
    assert [lv.sku_code for lv in second] == [f"SF-{i:03d}" for i in range(per, per + 3)]

    await sign_in(client, "clerk")
    first = await client.get("/stock/alerts")
    assert first.status_code == 200
    assert codes_on(first.text) == [f"SF-{i:03d}" for i in range(per)]
    assert "第 1 页，共 2 页" in first.text
    assert 'rel="next" href="/stock/alerts?page=2"' in first.text
    assert f"{per + 3} 个商品低于安全库存" in first.text
    page2 = await client.get("/stock/alerts?page=2")
    assert codes_on(page2.text) == [f"SF-{i:03d}" for i in range(per, per + 3)]
    assert 'rel="prev" href="/stock/alerts?page=1"' in page2.text and 'rel="next"' not in page2.text
    # Past the last page: the last page; nonsense: the first.
    assert codes_on((await client.get("/stock/alerts?page=99")).text) == codes_on(page2.text)
    assert codes_on((await client.get("/stock/alerts?page=abc")).text) == codes_on(first.text)

    headers = await bearer(client, "clerk")
    api = await client.get(
        "/api/v1/stock/alerts", params={"limit": per, "page": 2}, headers=headers
    )
    assert api.status_code == 200, api.text
    assert [a["sku_code"] for a in api.json()] == [f"SF-{i:03d}" for i in range(per, per + 3)]
    bad = await client.get("/api/v1/stock/alerts", params={"page": "x"}, headers=headers)
    assert bad.status_code == 400


async def many_backorders(n: int):
    w = await bo_world()  # BK1 allows backorders and has no stock
    made = []
    for i in range(n):
        order = await submit(w.buyer_a, [("BK1", i + 1)], key=f"bo-{i}")
        made.append(order.number)
    await f.user("warehouse", username="clerk")
    return w, made


async def test_backorders_page_through_every_line_oldest_first(client):
    per = backorders_web.PER_PAGE
    w, made = await many_backorders(per + 2)
    assert await stock.count_backorders(w.clerk) == per + 2
    assert await stock.count_backorders(w.clerk, q=made[-1]) == 1
    rest = await stock.list_backorders(w.clerk, limit=per, offset=per)
    assert [r.order_number for r in rest] == made[per:]

    await sign_in(client, "clerk")
    first = await client.get("/backorders")
    numbers = re.findall(r"SO-\d{8}-\d{4}", first.text)
    assert list(dict.fromkeys(numbers)) == made[:per]
    assert f"{per + 2} 行待到货" in first.text and "第 1 页，共 2 页" in first.text
    assert 'rel="next" href="/backorders?page=2"' in first.text
    page2 = await client.get("/backorders?page=2")
    assert list(dict.fromkeys(re.findall(r"SO-\d{8}-\d{4}", page2.text))) == made[per:]
    # A search keeps to its own lines, and its links keep the search.
    found = await client.get("/backorders", params={"q": "BK1", "page": "2"})
    assert 'href="/backorders?q=BK1&amp;page=1"' in found.text

    headers = await bearer(client, "clerk")
    api = await client.get("/api/v1/backorders", params={"limit": 2, "page": 2}, headers=headers)
    assert api.status_code == 200, api.text
    assert [r["order_number"] for r in api.json()] == made[2:4]
    bad = await client.get("/api/v1/backorders", params={"page": 0}, headers=headers)
    assert bad.status_code == 400
