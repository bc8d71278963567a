# ruff: noqa: E501
"""Bad input on every form and API endpoint: a clear 4xx, never a 5xx, and nothing written.

The corpus: oversized bodies, invalid UTF-8, malformed JSON, huge, negative and fractional
numbers, non-numeric quantities, NUL bytes, emoji and very long names, formula-looking
text (=cmd). API refusals are problem+json; form refusals are the page with a message.
"Nothing written" is checked by comparing every table (except the login-failure log,
which a bad sign-in is meant to write) before and after each request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from portal.domain import cart, orders
from portal.domain.quantities import LineRequest
from portal.tables import ALL_TABLES, LoginFailure
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in

PROBLEM = "application/problem+json"
FORMULA = "=cmd|' /C calc'!A0"
HUGE = 10**30
# Litestar's default request body limit is 10 MB; anything over it must be refused (413).
OVER_LIMIT = 10_000_000 + 1024
UNCHANGED_EXEMPT = {LoginFailure}


@dataclass
class Case:
    name: str
    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    # "4xx": must be refused. "ok": odd but valid (stored verbatim or ignored), never 5xx.
    expect: str = "4xx"


async def snapshot() -> dict[str, list[str]]:
    """Every row of every table (small test data), to prove a refused request wrote nothing."""
    state = {}
    for table in ALL_TABLES:
        if table in UNCHANGED_EXEMPT:
            continue
        rows = await table.select().order_by(table._meta.primary_key)
        state[table._meta.tablename] = [repr(sorted(r.items())) for r in rows]
    return state


def diff(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


@pytest.fixture
async def world(db) -> dict:
    tier = await f.tier()
    wh = await f.warehouse()
    a = await f.dealer(tier, name="甲经销商", default_warehouse=wh)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=200)
    await f.stock(water, wh, on_hand=1000)
    buyer = await f.user("dealer_buyer", a, username="buyer_a")
    order = await orders.submit_order(
        f.actor(buyer), None, [LineRequest(qty=24, sku_id=water["id"])], idempotency_key="first"
    )
    await f.user("admin", username="adm")
    # A cart with a line, so the cart page shows its details and checkout forms.
    await cart.set_qty(f.actor(buyer), a["id"], water["id"], 6)
    return {"dealer": a, "sku": water, "order_id": order.order.id, "product": water["product"]}


async def api_headers(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", json={"username": "buyer_a", "password": f.PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", "Accept-Language": "en"}


def raw_json(text: bytes) -> dict[str, Any]:
    return {"content": text, "headers": {"Content-Type": "application/json"}}


def order_body(**line: Any) -> dict:
    return {"lines": [{"sku_code": "W550", "qty": 24, **line}]}


def api_cases(w: dict) -> list[Case]:
    oid = w["order_id"]
    post = "/api/v1/orders"

    def order(name: str, body: Any, key: str | None = None, expect: str = "4xx") -> Case:
        headers = {"Idempotency-Key": key or f"bad-{name}"}
        return Case(name, "POST", post, {"json": body, "headers": headers}, expect)

    cases = [
        order("qty negative", order_body(qty=-1)),
        order("qty zero", order_body(qty=0)),
        order("qty huge", order_body(qty=HUGE)),
        order("qty int64", order_body(qty=2**63)),
        order("qty fraction", order_body(qty=1.5)),
        order("qty float huge", order_body(qty=1e308)),
        order("qty text", order_body(qty="abc")),
        order("qty numeric text", order_body(qty="12")),
        order("qty null", order_body(qty=None)),
        order("qty bool", order_body(qty=True)),
        order("sku formula", order_body(sku_code=FORMULA)),
        order("sku emoji", order_body(sku_code="😀" * 30)),
        order("sku very long", order_body(sku_code="x" * 10_000)),
        order("sku nul", order_body(sku_code="W55\x000")),
        order("sku id huge", {"lines": [{"sku_id": HUGE, "qty": 1}]}),
        order("sku id negative", {"lines": [{"sku_id": -5, "qty": 1}]}),
        order("no lines", {"lines": []}),
        order("too many lines", {"lines": [{"sku_code": "W550", "qty": 1}] * 5000}),
        order("lines not a list", {"lines": "W550 24"}),
        order("body a list", [order_body()]),
        order("note too long", {**order_body(), "note": "备注" * 300}),
        order("note emoji too long", {**order_body(), "note": "😀" * 501}),
        order("note nul", {**order_body(), "note": "a\x00b"}),
        order("dealer id huge", {**order_body(), "dealer_id": HUGE}),
        order("dealer id text", {**order_body(), "dealer_id": "甲"}),
        order("address negative", {**order_body(), "address_id": -1}),
        order("date invalid", {**order_body(), "requested_date": "2026-13-45"}),
        order("date words", {**order_body(), "requested_date": "tomorrow"}),
        order("key too long", order_body(), key="k" * 500),
        order("key spaces", order_body(), key="two words"),
        Case("key missing", "POST", post, {"json": order_body()}),
        Case(
            "key non-ascii", "POST", post,
            {"json": order_body(), "headers": {"Idempotency-Key": "ключ-订单".encode()}},
        ),
        Case("json malformed", "POST", post, raw_json(b'{"lines": [')),
        Case("json invalid utf-8", "POST", post, raw_json(b'{"lines":[{"sku_code":"\xff\xfe","qty":1}]}')),
        Case("json nesting bomb", "POST", post, raw_json(b"[" * 100_000 + b"]" * 100_000)),
        Case("json huge number", "POST", post, raw_json(b'{"lines":[{"sku_code":"W550","qty":' + b"9" * 5000 + b"}]}")),
        Case(
            "not json", "POST", post,
            {"content": b"W550 24", "headers": {"Content-Type": "text/plain"}},
        ),
        Case(
            "oversized body", "POST", post,
            {"content": b'{"note":"' + b"x" * OVER_LIMIT + b'"}',
             "headers": {"Content-Type": "application/json"}},
        ),
        # An odd but valid note: stored verbatim (CSV/Excel exports must escape it).
        order("note formula", {**order_body(qty=1), "note": FORMULA}, expect="ok"),
        order("note emoji", {**order_body(qty=1), "note": "🚚" * 100}, expect="ok"),
        Case("cancel reason too long", "POST", f"/api/v1/orders/{oid}/cancel",
             {"json": {"reason": "x" * 10_000}}),
        Case("cancel reason nul", "POST", f"/api/v1/orders/{oid}/cancel",
             {"json": {"reason": "a\x00b"}}),
        Case("cancel body garbage", "POST", f"/api/v1/orders/{oid}/cancel",
             raw_json(b"\xff\xfe\xfd")),
        Case("cancel id huge", "POST", f"/api/v1/orders/{HUGE}/cancel", {"json": {}}),
        Case("order id huge", "GET", f"/api/v1/orders/{HUGE}"),
        Case("order id negative", "GET", "/api/v1/orders/-1"),
        Case("order id text", "GET", "/api/v1/orders/abc"),
        Case("orders status bad", "GET", "/api/v1/orders", {"params": {"status": FORMULA}}),
        Case("orders page negative", "GET", "/api/v1/orders", {"params": {"page": "-1"}}),
        Case("orders per_page huge", "GET", "/api/v1/orders", {"params": {"per_page": str(HUGE)}}),
        Case("orders q nul", "GET", "/api/v1/orders", {"params": {"q": "SO\x00"}}),
        Case("orders q emoji", "GET", "/api/v1/orders", {"params": {"q": "😀"}}, "ok"),
        Case("skus q too long", "GET", "/api/v1/catalog/skus", {"params": {"q": "水" * 101}}),
        Case("skus q nul", "GET", "/api/v1/catalog/skus", {"params": {"q": "水\x00"}}),
        Case("skus q formula", "GET", "/api/v1/catalog/skus", {"params": {"q": FORMULA}}, "ok"),
        Case("skus category text", "GET", "/api/v1/catalog/skus", {"params": {"category_id": "x"}}),
        Case("skus category huge", "GET", "/api/v1/catalog/skus",
             {"params": {"category_id": str(HUGE)}}),
        Case("skus in_stock bad", "GET", "/api/v1/catalog/skus", {"params": {"in_stock": "maybe"}}),
        # An unknown sort falls back to relevance, as a page would.
        Case("skus sort bad", "GET", "/api/v1/catalog/skus", {"params": {"sort": "price; drop"}},
             "ok"),
        Case("skus page zero", "GET", "/api/v1/catalog/skus", {"params": {"page": "0"}}),
    ]
    return cases


def token_cases() -> list[Case]:
    url = "/api/v1/auth/token"
    return [
        Case("token name too long", "POST", url,
             {"json": {"username": "x" * 10_000, "password": "p"}}),
        Case("token name nul", "POST", url, {"json": {"username": "a\x00", "password": "p"}}),
        Case("token types", "POST", url, {"json": {"username": 1, "password": ["p"]}}),
        Case("token invalid utf-8", "POST", url, raw_json(b'{"username":"\xff","password":"p"}')),
        Case("token formula", "POST", url, {"json": {"username": FORMULA, "password": FORMULA}}),
        Case("token oversized", "POST", url,
             {"content": b"x" * OVER_LIMIT, "headers": {"Content-Type": "application/json"}}),
    ]


async def run_api_case(client, headers: dict, case: Case) -> list[str]:
    before = await snapshot()
    kwargs = dict(case.kwargs)
    kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
    response = await client.request(case.method, case.url, **kwargs)
    problems = []
    status = response.status_code
    if status >= 500:
        problems.append(f"{case.name}: {status} {response.text[:200]}")
    elif case.expect == "4xx":
        if not 400 <= status < 500:
            problems.append(f"{case.name}: expected 4xx, got {status}")
        elif not response.headers.get("content-type", "").startswith(PROBLEM):
            problems.append(f"{case.name}: {status} is not problem+json")
        else:
            body = response.json()
            if not (body.get("type") and body.get("title") and body.get("detail")):
                problems.append(f"{case.name}: problem without type/title/detail: {body}")
        changed = diff(before, await snapshot())
        if changed:
            problems.append(f"{case.name}: refused but wrote to {changed}")
    return problems


async def test_api_bad_input(client, world):
    headers = await api_headers(client)
    problems = []
    for case in api_cases(world):
        problems += await run_api_case(client, headers, case)
    assert not problems, "\n".join(problems)


async def test_api_token_bad_input(client, world):
    problems = []
    for case in token_cases():
        problems += await run_api_case(client, {"Accept-Language": "en"}, case)
    assert not problems, "\n".join(problems)


async def test_formula_note_is_stored_verbatim(client, world):
    """=cmd in a note is data: kept as typed (exports must escape it), never evaluated."""
    headers = await api_headers(client)
    response = await client.post(
        "/api/v1/orders",
        json={**order_body(qty=1), "note": FORMULA},
        headers={**headers, "Idempotency-Key": "formula-note"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["note"] == FORMULA
    page = await client.get(f"/api/v1/orders/{response.json()['id']}", headers=headers)
    assert page.json()["note"] == FORMULA


# --- forms ---------------------------------------------------------------------------------

BAD_QTYS = [
    "-1", "abc", "1.5", "1e3", "9" * 30, "NaN", "=1+1", "😀", "0x10", "1_000", "1000001",
    "12\x00", "\xff",
]


def form_cases(w: dict) -> list[Case]:
    sku, product, oid = w["sku"]["id"], w["product"], w["order_id"]
    cases = []
    for q in BAD_QTYS:
        cases.append(Case(f"catalog qty {q[:12]!r}", "POST", f"/catalog/qty/{sku}", {"data": {"qty": q}}))
        cases.append(Case(f"cart line {q[:12]!r}", "POST", f"/cart/lines/{sku}", {"data": {"qty": q}}))
        cases.append(Case(f"grid {q[:12]!r}", "POST", f"/products/{product}/grid",
                          {"data": {f"qty_{sku}": q}}))
    cases += [
        Case("quick formula code", "POST", "/cart/quick", {"data": {"text": f"{FORMULA} 1"}}),
        Case("quick negative", "POST", "/cart/quick", {"data": {"text": "W550 -5"}}),
        Case("quick huge", "POST", "/cart/quick", {"data": {"text": f"W550 {HUGE}"}}),
        Case("quick text qty", "POST", "/cart/quick", {"data": {"text": "W550 lots"}}),
        Case("quick too long", "POST", "/cart/quick", {"data": {"text": "W550 1\n" * 5000}}),
        Case("quick emoji", "POST", "/cart/quick", {"data": {"text": "😀" * 5000 + " 1"}}),
        Case("quick nul", "POST", "/cart/quick", {"data": {"text": "W55\x000 1"}}),
        Case("details note too long", "POST", "/cart/details", {"data": {"note": "备" * 501}}),
        Case("details date bad", "POST", "/cart/details", {"data": {"requested_date": "2026-02-30"}}),
        Case("details address text", "POST", "/cart/details", {"data": {"address_id": "=1"}}),
        Case("details address huge", "POST", "/cart/details", {"data": {"address_id": "9" * 11}}),
        Case("details note nul", "POST", "/cart/details", {"data": {"note": "a\x00b"}}),
        Case("submit bad key", "POST", "/cart/submit", {"data": {"idempotency_key": FORMULA}}),
        Case("cancel reason too long", "POST", f"/orders/{oid}/cancel", {"data": {"reason": "x" * 10_000}}),
        Case("cancel reason nul", "POST", f"/orders/{oid}/cancel", {"data": {"reason": "a\x00b"}}),
        Case("reorder id huge", "POST", f"/orders/{HUGE}/reorder"),
        Case("favourite id huge", "POST", f"/catalog/favourite/{HUGE}"),
        Case("form invalid utf-8", "POST", f"/cart/lines/{sku}",
             {"content": b"qty=\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        Case("form oversized", "POST", "/cart/quick",
             {"content": b"text=" + b"x" * OVER_LIMIT,
              "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
        Case("orders q nul", "GET", "/orders", {"params": {"q": "SO\x00"}}, "ok"),
        Case("catalog q nul", "GET", "/catalog", {"params": {"q": "水\x00"}}, "ok"),
        Case("catalog q formula", "GET", "/catalog", {"params": {"q": FORMULA}}, "ok"),
        Case("catalog category huge", "GET", "/catalog", {"params": {"category": str(HUGE)}}, "ok"),
        Case("catalog page huge", "GET", "/catalog", {"params": {"page": str(HUGE)}}, "ok"),
        Case("orders status bad", "GET", "/orders", {"params": {"status": FORMULA}}),
        Case("product id huge", "GET", f"/products/{HUGE}"),
    ]
    return cases


def has_message(response: httpx.Response) -> bool:
    html = response.text
    return any(
        marker in html
        for marker in ('role="alert"', "field-error", "alert-error", "error-card", "has-error")
    )


async def test_form_bad_input(client, world):
    await sign_in(client, "buyer_a")
    csrf = csrf_from((await client.get("/cart")).text)
    problems = []
    for case in form_cases(world):
        before = await snapshot()
        kwargs = dict(case.kwargs)
        kwargs["headers"] = {"x-csrftoken": csrf, **kwargs.get("headers", {})}
        if "data" in kwargs:
            kwargs["data"] = {**kwargs["data"], "_csrf_token": csrf}
        response = await client.request(case.method, case.url, follow_redirects=False, **kwargs)
        status = response.status_code
        if status >= 500:
            problems.append(f"{case.name}: {status} {response.text[:200]}")
            continue
        if case.expect == "4xx":
            if not 400 <= status < 500:
                problems.append(f"{case.name}: expected 4xx, got {status}")
            elif not has_message(response):
                problems.append(f"{case.name}: {status} without a message on the page")
            changed = diff(before, await snapshot())
            if changed:
                problems.append(f"{case.name}: refused but wrote to {changed}")
    assert not problems, "\n".join(problems)


async def test_login_form_bad_input(client, world):
    page = await client.get("/login")
    csrf = csrf_from(page.text)
    problems = []
    for login, password in [
        ("x" * 100_000, "p"),
        ("a\x00b", "p"),
        (FORMULA, FORMULA),
        ("😀" * 1000, "😀"),
        ("buyer_a", "x" * 100_000),
    ]:
        before = await snapshot()
        response = await client.post(
            "/login",
            data={"login": login, "password": password, "_csrf_token": csrf},
            follow_redirects=False,
        )
        if not 400 <= response.status_code < 500 or not has_message(response):
            problems.append(f"login {login[:10]!r}: {response.status_code}")
        if diff(before, await snapshot()):
            problems.append(f"login {login[:10]!r}: wrote {diff(before, await snapshot())}")
    assert not problems, "\n".join(problems)
