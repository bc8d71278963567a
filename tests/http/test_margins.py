"""Gross margin through the pages and the API: a sales manager (and finance, an administrator)
reads it on the inbox card, the order page and in the API; a rep, a dealer's people and
warehouse staff never see a cost or a margin anywhere; an administrator sets costs on the
SKU's page, through the API and by the products import, and bad costs change nothing."""

from __future__ import annotations

import re

import pytest

from portal.domain import orders
from portal.domain.catalog_admin import MSG_COST
from portal.domain.quantities import LineRequest
from portal.tables import AuditEntry, Sku, User
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

EN = {"Accept-Language": "en"}
# The demo numbers: 1 箱 of water (24 × ¥1.80 = ¥43.20) at a cost of ¥1.23 (¥29.52), which
# leaves ¥13.68 (31.7 %), and 2 teas at ¥5.00 whose cost is not known.
COST, LINE_COST, MARGIN = "1.23", "29.52", "13.68"
SECRETS = (COST, LINE_COST, MARGIN)


@pytest.fixture
async def world(db) -> dict:
    t1 = await f.tier(name="一级经销商")
    wh = await f.warehouse()
    a = await f.dealer(t1, name="甲经销商", default_warehouse=wh)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=200, cost_price_fen=123)
    await f.tier_price(t1, water, price_fen=180)
    tea = await f.sku(code="T100", name="东方树叶 500ml", base_price_fen=500, pack=None)
    await f.stock(water, wh, on_hand=1000)
    await f.stock(tea, wh, on_hand=1000)
    buyer = await f.user("dealer_buyer", a, username="buyer_a")
    mgr = await f.user("sales_manager", username="mgr")
    rep = await f.user("sales_rep", username="rep_a", manager=mgr)
    await f.assign(rep, a)
    await f.user("finance", username="fin")
    await f.user("admin", username="root")
    await f.user("warehouse", username="wh")
    await User.update({User.locale: "en"}).where(User.username == "root")
    await f.approval_rule()  # every order waits for the manager
    order = (
        await orders.submit_order(
            f.actor(buyer),
            None,
            [
                LineRequest(qty=1, sku_code="W550", unit="箱"),
                LineRequest(qty=2, sku_code="T100"),
            ],
            idempotency_key="m1",
        )
    ).order
    return {"a": a, "water": water, "tea": tea, "order": order}


def dd(html: str, dd_id: str) -> str:
    found = re.search(rf'<dd id="{dd_id}"[^>]*>(.*?)</dd>', html, re.S)
    assert found, dd_id
    return found.group(1).strip()


def span(html: str, span_id: str) -> str:
    found = re.search(rf'<span class="line-gross[^"]*" id="{span_id}">(.*?)</span>', html, re.S)
    assert found, span_id
    return re.sub(r"\s+", " ", found.group(1)).strip()


async def test_a_manager_reads_the_margin_on_the_order_page_and_the_inbox(client, world):
    order = world["order"]
    water, tea = order.lines
    await sign_in(client, "mgr")
    page = await client.get(f"/orders/{order.id}")
    assert page.status_code == 200
    assert dd(page.text, "order-cost") == f"¥{LINE_COST}"
    assert dd(page.text, "order-gross-margin") == f"¥{MARGIN} (31.7%)"
    assert f"¥{LINE_COST} · " in span(page.text, f"line-gross-{water.id}")
    assert span(page.text, f"line-gross-{water.id}").endswith(f"¥{MARGIN} (31.7%)")
    assert f'id="line-gross-{tea.id}"' in page.text and 'id="cost-unknown"' in page.text
    # The figure against the dealer's prices stays.
    assert 'id="order-margin"' in page.text
    inbox = await client.get("/approvals")
    card = re.search(r'<dd class="approval-gross[^"]*">(.*?)</dd>', inbox.text, re.S)
    assert card and card.group(1).startswith(f"¥{MARGIN} (31.7%)"), card


async def test_a_loss_shows_with_its_sign(client, world):
    await Sku.update({Sku.cost_price_fen: 200}).where(Sku.id == world["water"]["id"])
    await sign_in(client, "fin")
    page = await client.get(f"/orders/{world['order'].id}")
    # ¥43.20 less 24 × ¥2.00: −¥4.80, −11.1 %.
    assert dd(page.text, "order-gross-margin") == "−¥4.80 (−11.1%)"
    assert re.search(r'<dd id="order-gross-margin" class="negative">', page.text)


async def test_the_api_gives_approvers_the_margin(client, world):
    order = world["order"]
    for user in ("mgr", "fin", "root"):
        headers = await bearer(client, user)
        body = (await client.get(f"/api/v1/orders/{order.id}", headers=headers)).json()
        assert (body["cost"], body["gross_margin"], body["gross_margin_bp"]) == (
            LINE_COST,
            MARGIN,
            3167,
        ), user
        assert body["cost_unknown_lines"] == 1 and body["total"] == "53.20"
        water, tea = body["lines"]
        assert (water["cost"], water["gross_margin"], water["gross_margin_bp"]) == (
            LINE_COST,
            MARGIN,
            3167,
        )
        assert (tea["cost"], tea["gross_margin"], tea["gross_margin_bp"]) == (None, None, None)
    [card] = (await client.get("/api/v1/approvals", headers=await bearer(client, "mgr"))).json()
    assert card["order_id"] == order.id and card["margin"] == "0.00"
    assert (card["cost"], card["gross_margin"], card["gross_margin_bp"]) == (
        LINE_COST,
        MARGIN,
        3167,
    )
    assert card["cost_unknown_lines"] == 1


COST_KEYS = ("cost", "gross_margin", "gross_margin_bp", "cost_unknown_lines", "cost_price")


def assert_no_cost(response, where: str) -> None:
    assert response.status_code in (200, 403, 404), (where, response.status_code)
    text = response.text
    for secret in SECRETS:
        assert secret not in text, (where, secret)
    for mark in ("order-gross-margin", "line-gross", "approval-gross", "order-cost"):
        assert mark not in text, (where, mark)
    if response.headers["content-type"].startswith("application/json"):
        for key in COST_KEYS:
            assert f'"{key}"' not in text, (where, key)


@pytest.mark.parametrize("username", ["rep_a", "buyer_a", "wh"])
async def test_reps_dealers_and_the_warehouse_never_see_a_cost_or_a_margin(client, world, username):
    order, water, a = world["order"], world["water"], world["a"]
    # Approved, so that the warehouse sees the order too.
    await sign_in(client, "mgr")
    inbox = await client.get("/approvals")
    step = re.search(r'action="/approvals/(\d+)/approve"', inbox.text).group(1)
    await client.post(f"/approvals/{step}/approve", data={"_csrf_token": csrf_from(inbox.text)})
    assert (await orders.get_order(f.actor(await f.user("admin")), order.id)).status == "approved"

    headers = await bearer(client, username)
    dealer = {} if username == "buyer_a" else {"dealer_id": a["id"]}
    for url, params in (
        (f"/api/v1/orders/{order.id}", {}),
        ("/api/v1/orders", {}),
        ("/api/v1/approvals", {}),
        ("/api/v1/catalog/skus", {"q": "W550", **dealer}),
        (f"/api/v1/catalog/skus/{water['id']}", dealer),
        (f"/api/v1/admin/skus/{water['id']}", {}),
    ):
        if username == "wh" and "/catalog/" in url:
            continue  # warehouse staff do not order
        got = await client.get(url, params=params, headers=headers)
        assert got.status_code == (403 if "/admin/" in url else 200), (url, got.text)
        assert_no_cost(got, url)
    await sign_in(client, username)
    pages = [f"/orders/{order.id}", "/orders"]
    if username == "buyer_a":
        pages += ["/catalog", f"/products/{water['product']}", "/cart"]
    for url in pages:
        got = await client.get(url)
        assert got.status_code == 200, url
        assert_no_cost(got, url)
    assert_no_cost(await client.get("/approvals"), "/approvals")


# --- an administrator sets costs -----------------------------------------------------------------


async def cost_of(sku: dict) -> int | None:
    row = await Sku.select(Sku.cost_price_fen).where(Sku.id == sku["id"]).first()
    return row["cost_price_fen"]


def sku_form(sku: dict, token: str, **kw) -> dict:
    return {
        "name": sku["name"],
        "barcode": sku["barcode"],
        "base_price": "5.00",
        "moq": "1",
        "order_multiple": "1",
        "safety_stock": "0",
        "weight_g": "0",
        "image": "",
        "active": "1",
        "_csrf_token": token,
        **kw,
    }


async def test_an_administrator_sets_a_cost_on_the_sku_s_page(client, world):
    tea = world["tea"]
    await sign_in(client, "root")
    page = await client.get(f"/admin/skus/{tea['id']}")
    assert re.search(r'id="sku-cost_price" name="cost_price" type="text" value=""', page.text)
    token = csrf_from(page.text)
    audits = await AuditEntry.count()
    bad = await client.post(f"/admin/skus/{tea['id']}", data=sku_form(tea, token, cost_price="-3"))
    assert bad.status_code == 422
    error = re.search(r'id="sku-err-cost_price">(.*?)</p>', bad.text)
    assert error and error.group(1) == MSG_COST
    assert 'value="-3"' in bad.text  # what was typed stays in the form
    assert await cost_of(tea) is None and await AuditEntry.count() == audits
    done = await client.post(
        f"/admin/skus/{tea['id']}", data=sku_form(tea, token, cost_price="3.85")
    )
    assert done.status_code == 200 and await cost_of(tea) == 385
    assert re.search(r'id="sku-cost_price" name="cost_price" type="text" value="3.85"', done.text)
    # A form without the field (an older page) keeps it; an empty field: not known.
    await client.post(f"/admin/skus/{tea['id']}", data=sku_form(tea, token))
    assert await cost_of(tea) == 385
    await client.post(f"/admin/skus/{tea['id']}", data=sku_form(tea, token, cost_price=""))
    assert await cost_of(tea) is None


async def test_an_administrator_sets_a_cost_through_the_api(client, world):
    tea = world["tea"]
    root = {**await bearer(client, "root"), **EN}
    url = f"/api/v1/admin/skus/{tea['id']}"
    assert (await client.get(url, headers=root)).json()["cost_price"] is None
    for bad in ("1.234", "-1.00", "abc", 12):
        refused = await client.put(url, json={"cost_price": bad}, headers=root)
        problem = assert_problem(refused, 400, "validation")
        assert "cost_price" in refused.text, problem
        assert await cost_of(tea) is None, bad
    done = await client.put(url, json={"cost_price": "3.85"}, headers=root)
    assert done.status_code == 200 and done.json()["cost_price"] == "3.85"
    assert await cost_of(tea) == 385
    kept = await client.put(url, json={"name": "东方树叶 新装"}, headers=root)
    assert kept.json()["cost_price"] == "3.85" and await cost_of(tea) == 385
    # What GET returns may be sent back as it is.
    again = await client.put(url, json=(await client.get(url, headers=root)).json(), headers=root)
    assert again.status_code == 200 and await cost_of(tea) == 385
    cleared = await client.put(url, json={"cost_price": None}, headers=root)
    assert cleared.json()["cost_price"] is None and await cost_of(tea) is None
    manager = await bearer(client, "mgr")
    forbidden = await client.put(url, json={"cost_price": "1.00"}, headers=manager)
    assert_problem(forbidden, 403, "forbidden")
    assert await cost_of(tea) is None


async def test_the_products_import_takes_costs_and_refuses_bad_ones(client, world):
    water, tea = world["water"], world["tea"]
    root = {**await bearer(client, "root"), **EN}

    async def send(text: str):
        return await client.post(
            "/api/v1/data/products",
            files={"file": ("p.csv", text.encode(), "text/csv")},
            headers=root,
        )

    without = await send("sku,base_price\nT100,5.50\n")
    assert without.status_code == 200 and without.json()["updated"] == 1
    assert (await cost_of(water), await cost_of(tea)) == (123, None)
    done = await send("sku,cost_price\nT100,4.10\nW550,\n")
    assert done.json() == {"created": 0, "updated": 1, "unchanged": 1}
    assert (await cost_of(water), await cost_of(tea)) == (123, 410)
    audits = await AuditEntry.count()
    bad = await send('sku,base_price,cost_price\nT100,6.00,4.20\nW550,,"1,23"\n')
    body = assert_problem(bad, 422, "validation")
    assert body["errors"] == [
        {"field": "row 3", "message": "Row 3: cost_price must be an amount such as 12.50."}
    ]
    assert (await cost_of(water), await cost_of(tea)) == (123, 410)
    assert (await Sku.select(Sku.base_price_fen).where(Sku.id == tea["id"]).first())[
        "base_price_fen"
    ] == 550
    assert await AuditEntry.count() == audits
    exported = await client.get("/api/v1/data/products", params={"format": "csv"}, headers=root)
    lines = exported.content.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[header.index("base_price") + 1] == "cost_price"
    assert any(",1.23," in ln for ln in lines if "W550" in ln)
