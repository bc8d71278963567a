# ruff: noqa: E501
"""Bad input on every form and API endpoint: a clear 4xx, never a 5xx, and nothing written.

The corpus: oversized bodies, invalid UTF-8, malformed JSON, huge, negative and fractional
numbers, non-numeric quantities, NUL bytes, emoji and very long names, formula-looking
text (=cmd). API refusals are problem+json; form refusals are the page with a message.
"Nothing written" is checked by comparing every table (except the login-failure log,
which a bad sign-in is meant to write) before and after each request.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from portal.app import create_app
from portal.domain import cart, orders
from portal.domain.quantities import LineRequest
from portal.settings import Settings
from portal.tables import (
    ALL_TABLES,
    Address,
    LoginFailure,
    OrderEvent,
    OrderLine,
    Product,
    WebhookDelivery,
)
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
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", "Accept-Language": "en"}


def raw_json(text: bytes) -> dict[str, Any]:
    return {"content": text, "headers": {"Content-Type": "application/json"}}


def order_body(**line: Any) -> dict:
    return {"lines": [{"sku_code": "W550", "qty": 24, **line}]}


def api_cases(w: dict) -> list[Case]:
    oid = w["order_id"]
    post = "/api/v1/orders"

    def order(name: str, body: Any, key: str | None = None, expect: str = "4xx") -> Case:
        headers = {"Idempotency-Key": key or f"bad-{name}".replace(" ", "-")}
        return Case(name, "POST", post, {"json": body, "headers": headers}, expect)

    cases = [
        order("qty negative", order_body(qty=-1)),
        order("qty zero", order_body(qty=0)),
        order("qty huge", order_body(qty=HUGE)),
        order("qty int64", order_body(qty=2**63)),
        order("qty fraction", order_body(qty=1.5)),
        order("qty float huge", order_body(qty=1e308)),
        order("qty text", order_body(qty="abc")),
        # Types as declared, never coerced: an integrator whose serializer sends "12" or 12.0
        # for a quantity is told so instead of placing an order.
        order("qty numeric text", order_body(qty="12")),
        order("qty whole float", order_body(qty=12.0)),
        order("dealer id numeric text", {**order_body(), "dealer_id": "1"}),
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
            "key non-ascii",
            "POST",
            post,
            {"json": order_body(), "headers": {"Idempotency-Key": "ключ-订单".encode()}},
        ),
        Case("json malformed", "POST", post, raw_json(b'{"lines": [')),
        Case(
            "json invalid utf-8",
            "POST",
            post,
            raw_json(b'{"lines":[{"sku_code":"\xff\xfe","qty":1}]}'),
        ),
        Case("json nesting bomb", "POST", post, raw_json(b"[" * 100_000 + b"]" * 100_000)),
        Case(
            "json huge number",
            "POST",
            post,
            raw_json(b'{"lines":[{"sku_code":"W550","qty":' + b"9" * 5000 + b"}]}"),
        ),
        Case(
            "not json",
            "POST",
            post,
            {"content": b"W550 24", "headers": {"Content-Type": "text/plain"}},
        ),
        Case(
            "form body",
            "POST",
            post,
            {
                "content": b"sku_code=W550&qty=24",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
        order("unknown field", {**order_body(), "discount": "99"}),
        order("unknown line field", order_body(unit_price_fen=1)),
        Case(
            "oversized body",
            "POST",
            post,
            {
                "content": b'{"note":"' + b"x" * OVER_LIMIT + b'"}',
                "headers": {"Content-Type": "application/json"},
            },
        ),
        # An odd but valid note: stored verbatim (CSV/Excel exports must escape it).
        order("note formula", {**order_body(qty=1), "note": FORMULA}, expect="ok"),
        order("note emoji", {**order_body(qty=1), "note": "🚚" * 100}, expect="ok"),
        Case(
            "cancel reason too long",
            "POST",
            f"/api/v1/orders/{oid}/cancel",
            {"json": {"reason": "x" * 10_000}},
        ),
        Case(
            "cancel reason nul",
            "POST",
            f"/api/v1/orders/{oid}/cancel",
            {"json": {"reason": "a\x00b"}},
        ),
        Case(
            "cancel body garbage", "POST", f"/api/v1/orders/{oid}/cancel", raw_json(b"\xff\xfe\xfd")
        ),
        Case("cancel id huge", "POST", f"/api/v1/orders/{HUGE}/cancel", {"json": {}}),
        Case("order id huge", "GET", f"/api/v1/orders/{HUGE}"),
        Case("order id negative", "GET", "/api/v1/orders/-1"),
        Case("order id text", "GET", "/api/v1/orders/abc"),
        Case("orders status bad", "GET", "/api/v1/orders", {"params": {"status": FORMULA}}),
        Case("orders page negative", "GET", "/api/v1/orders", {"params": {"page": "-1"}}),
        Case("orders per_page huge", "GET", "/api/v1/orders", {"params": {"per_page": str(HUGE)}}),
        Case("orders q nul", "GET", "/api/v1/orders", {"params": {"q": "SO\x00"}}),
        Case("orders q emoji", "GET", "/api/v1/orders", {"params": {"q": "😀"}}, "ok"),
        Case("orders start bad", "GET", "/api/v1/orders", {"params": {"start": "2026-13-01"}}),
        Case("shipments status bad", "GET", "/api/v1/shipments", {"params": {"status": FORMULA}}),
        Case("shipments page zero", "GET", "/api/v1/shipments", {"params": {"page": "0"}}),
        Case(
            "orders end before start",
            "GET",
            "/api/v1/orders",
            {"params": {"start": "2026-11-02", "end": "2026-11-01"}},
        ),
        Case("skus q too long", "GET", "/api/v1/catalog/skus", {"params": {"q": "水" * 101}}),
        Case("skus q nul", "GET", "/api/v1/catalog/skus", {"params": {"q": "水\x00"}}),
        Case("skus q formula", "GET", "/api/v1/catalog/skus", {"params": {"q": FORMULA}}, "ok"),
        Case("skus category text", "GET", "/api/v1/catalog/skus", {"params": {"category_id": "x"}}),
        Case(
            "skus category huge",
            "GET",
            "/api/v1/catalog/skus",
            {"params": {"category_id": str(HUGE)}},
        ),
        Case("skus in_stock bad", "GET", "/api/v1/catalog/skus", {"params": {"in_stock": "maybe"}}),
        # An unknown sort falls back to relevance, as a page would.
        Case(
            "skus sort bad",
            "GET",
            "/api/v1/catalog/skus",
            {"params": {"sort": "price; drop"}},
            "ok",
        ),
        Case("skus page zero", "GET", "/api/v1/catalog/skus", {"params": {"page": "0"}}),
        Case("sku id huge", "GET", f"/api/v1/catalog/skus/{HUGE}"),
        Case("sku qty zero", "GET", "/api/v1/catalog/skus/1", {"params": {"qty": "0"}}),
        Case("sku qty text", "GET", "/api/v1/catalog/skus/1", {"params": {"qty": "3箱"}}),
        Case("sku qty huge", "GET", "/api/v1/catalog/skus/1", {"params": {"qty": str(HUGE)}}),
        Case("product id huge", "GET", f"/api/v1/catalog/products/{HUGE}"),
        Case("product id text", "GET", "/api/v1/catalog/products/x"),
    ]
    return cases


def token_cases() -> list[Case]:
    url = "/api/v1/auth/token"
    return [
        Case(
            "token name too long",
            "POST",
            url,
            {"json": {"username": "x" * 10_000, "password": "p"}},
        ),
        Case("token name nul", "POST", url, {"json": {"username": "a\x00", "password": "p"}}),
        Case("token types", "POST", url, {"json": {"username": 1, "password": ["p"]}}),
        Case("token invalid utf-8", "POST", url, raw_json(b'{"username":"\xff","password":"p"}')),
        Case("token formula", "POST", url, {"json": {"username": FORMULA, "password": FORMULA}}),
        Case(
            "token oversized",
            "POST",
            url,
            {"content": b"x" * OVER_LIMIT, "headers": {"Content-Type": "application/json"}},
        ),
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
    "-1",
    "abc",
    "1.5",
    "1e3",
    "9" * 30,
    "NaN",
    "=1+1",
    "😀",
    "0x10",
    "1_000",
    "1000001",
    "12\x00",
    "\xff",
]


def form_cases(w: dict) -> list[Case]:
    sku, product, oid = w["sku"]["id"], w["product"], w["order_id"]
    cases = []
    for q in BAD_QTYS:
        cases.append(
            Case(f"catalog qty {q[:12]!r}", "POST", f"/catalog/qty/{sku}", {"data": {"qty": q}})
        )
        cases.append(
            Case(f"cart line {q[:12]!r}", "POST", f"/cart/lines/{sku}", {"data": {"qty": q}})
        )
        cases.append(
            Case(
                f"grid {q[:12]!r}", "POST", f"/products/{product}/grid", {"data": {f"qty_{sku}": q}}
            )
        )
    cases += [
        Case("quick formula code", "POST", "/cart/quick", {"data": {"text": f"{FORMULA} 1"}}),
        Case("quick negative", "POST", "/cart/quick", {"data": {"text": "W550 -5"}}),
        Case("quick huge", "POST", "/cart/quick", {"data": {"text": f"W550 {HUGE}"}}),
        Case("quick text qty", "POST", "/cart/quick", {"data": {"text": "W550 lots"}}),
        Case("quick too long", "POST", "/cart/quick", {"data": {"text": "W550 1\n" * 5000}}),
        Case("quick emoji", "POST", "/cart/quick", {"data": {"text": "😀" * 5000 + " 1"}}),
        Case("quick nul", "POST", "/cart/quick", {"data": {"text": "W55\x000 1"}}),
        Case("details note too long", "POST", "/cart/details", {"data": {"note": "备" * 501}}),
        Case(
            "details date bad", "POST", "/cart/details", {"data": {"requested_date": "2026-02-30"}}
        ),
        Case("details address text", "POST", "/cart/details", {"data": {"address_id": "=1"}}),
        Case("details address huge", "POST", "/cart/details", {"data": {"address_id": "9" * 11}}),
        Case("details note nul", "POST", "/cart/details", {"data": {"note": "a\x00b"}}),
        Case("submit bad key", "POST", "/cart/submit", {"data": {"idempotency_key": FORMULA}}),
        Case(
            "cancel reason too long",
            "POST",
            f"/orders/{oid}/cancel",
            {"data": {"reason": "x" * 10_000}},
        ),
        Case("cancel reason nul", "POST", f"/orders/{oid}/cancel", {"data": {"reason": "a\x00b"}}),
        Case("reorder id huge", "POST", f"/orders/{HUGE}/reorder"),
        Case("favourite id huge", "POST", f"/catalog/favourite/{HUGE}"),
        Case(
            "form invalid utf-8",
            "POST",
            f"/cart/lines/{sku}",
            {
                "content": b"qty=\xff\xfe",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
        Case(
            "form oversized",
            "POST",
            "/cart/quick",
            {
                "content": b"text=" + b"x" * OVER_LIMIT,
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
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


# --- every route that takes input, from the app's own route table -----------------------------
#
# Each POST/PUT/PATCH route of the app is listed below with who sends it and a valid form or
# body; the corpus then spoils one field at a time (by the field's kind) and the whole body
# (not UTF-8, a NUL character, over the size limit). Every spoiled request must be refused
# with a 4xx (never a 5xx, never a success) and write nothing. A route missing from these
# tables fails `test_every_route_taking_input_is_in_the_corpus`.

BAD_BY_KIND: dict[str, list[str]] = {
    "int": ["-1", "9" * 30, "1.5", "abc", "=1+1", "😀", "1e3"],
    "signed": ["9" * 30, "1.5", "abc", "=1+1", "😀"],  # a whole number where -1 is fine
    "money": ["-1", "9" * 30, "abc", "1.234", "=1+1", "NaN"],
    "text": ["x" * 10_000, "😀" * 3_000],
    "choice": [FORMULA, "x" * 10_000, "😀"],
    "date": ["2026-02-30", "tomorrow", "9" * 30],
}


@dataclass
class Route:
    role: str  # who sends it: buyer (dealer_buyer of dealer A) or a staff username
    fields: dict[str, tuple[str, str]]  # name -> (kind, a valid value)
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> world key
    fixed: dict[str, str] = field(default_factory=dict)  # sent as is, never spoiled
    # Fields whose unknown values are ignored (a setting falls back to its default): any
    # answer but a 5xx, and nothing written.
    ignored: frozenset[str] = frozenset()


# fmt: off
FORM_ROUTES: dict[str, Route] = {
    "POST /admin/approval-rules": Route("adm", {
        "kind": ("choice", "total_at_least"), "approver_role": ("choice", "sales_manager"),
        "step_order": ("signed", "5"), "amount": ("money", "500"), "count": ("signed", "0")}),
    "POST /admin/approval-rules/{rule_id:int}": Route("adm", {
        "kind": ("choice", "total_at_least"), "approver_role": ("choice", "sales_manager"),
        "step_order": ("signed", "5"), "amount": ("money", "500"), "count": ("signed", "0")}),
    "POST /approvals/{step_id:int}/{action:str}": Route("mgr", {"reason": ("text", "价格太低")},
                                                        ids={"action": "reject"}),
    "POST /admin/webhooks": Route("adm", {
        "url": ("text", "https://erp.example.com/h"), "description": ("text", ""),
        "events": ("choice", "order.approved")}, fixed={"active": "1"}),
    "POST /admin/webhooks/{endpoint_id:int}": Route("adm", {
        "url": ("text", "https://erp.example.com/h"), "description": ("text", ""),
        "events": ("choice", "order.approved")}, fixed={"active": "1"}),
    "POST /admin/users": Route("adm", {
        "username": ("text", "new.staff"), "display_name": ("text", "新员工"),
        "role": ("choice", "sales_rep"), "manager_id": ("int", ""),
        "discount_authority": ("money", "2.5"), "phone": ("text", ""), "email": ("text", ""),
        "password": ("text", "long-enough-1")}),
    "POST /admin/users/{user_id:int}": Route("adm", {
        "display_name": ("text", "改名"), "role": ("choice", "sales_rep"),
        "manager_id": ("int", ""), "discount_authority": ("money", "2.5"),
        "phone": ("text", ""), "email": ("text", "")}, ids={"user_id": "staff_user"},
        fixed={"active": "1"}),
    "POST /admin/users/{user_id:int}/password": Route("adm", {
        "new_password": ("text", "new-secret-42")}, ids={"user_id": "staff_user"}),
    "POST /admin/promotions": Route("adm", {
        "name": ("text", "双十二"), "kind": ("choice", "percent_off"),
        "starts_on": ("date", "2026-12-01"), "ends_on": ("date", "2026-12-31"),
        "tier": ("int", ""), "percent": ("money", "10"), "sku": ("text", "W550"),
        "buy_sku": ("text", ""),
        "category": ("int", ""), "threshold": ("money", ""), "save": ("money", ""),
        "buy_qty": ("int", ""), "gift_sku": ("text", ""), "gift_qty": ("int", "")}),
    "POST /admin/promotions/{promo_id:int}": Route("adm", {
        "name": ("text", "满减"), "kind": ("choice", "spend_save"),
        "starts_on": ("date", "2026-12-01"), "ends_on": ("date", "2026-12-31"),
        "tier": ("int", ""), "percent": ("money", ""), "sku": ("text", ""),
        "buy_sku": ("text", ""),
        "category": ("int", ""), "threshold": ("money", "1000"), "save": ("money", "50"),
        "buy_qty": ("int", ""), "gift_sku": ("text", ""), "gift_qty": ("int", "")},
        ids={"promo_id": "promo_id"}, fixed={"active": "1"}),
    "POST /admin/promotions/{promo_id:int}/active": Route("adm", {
        "active": ("choice", "0")}, ids={"promo_id": "promo_id"}),
    "POST /admin/skus/{sku_id:int}": Route("adm", {
        "name": ("text", "农夫山泉 550ml"), "barcode": ("text", "6900000000017"),
        "base_price": ("money", "2.00"), "moq": ("int", "1"), "order_multiple": ("int", "1"),
        "safety_stock": ("int", "0"), "weight_g": ("int", "550"),
        "image": ("text", "/static/products/w550.png")},
        fixed={"active": "1", "allow_backorder": "1"}),
    "POST /admin/skus/{sku_id:int}/product": Route("adm", {
        "name": ("text", "农夫山泉饮用天然水"), "brand": ("text", "农夫"),
        "category": ("int", "{category_id}"), "description": ("text", "")},
        fixed={"active": "1"}),
    "POST /admin/skus/{sku_id:int}/packs": Route("adm", {"packs": ("text", "箱 24\n中包 6")}),
    "POST /admin/skus/{sku_id:int}/tier-prices/{tier_id:int}": Route("adm", {
        "price": ("money", "1.80"), "percent": ("money", ""), "breaks": ("text", "240 1.60")},
        ids={"tier_id": "tier_id"}),
    "POST /admin/skus/{sku_id:int}/contract-prices": Route("adm", {
        "dealer": ("text", "{dealer_code}"), "price": ("money", "1.50")}),
    "POST /admin/skus/{sku_id:int}/visibility": Route("adm", {
        "visibility": ("choice", "all"), "tier_ids": ("int", ""), "dealer_codes": ("text", "")}),
    "POST /admin/products": Route("adm", {
        "product_name": ("text", "元气森林苏打气泡水"), "product_brand": ("text", "元气森林"),
        "product_category": ("int", "{category_id}"), "product_description": ("text", ""),
        "product_image": ("text", "/static/products/soda.png"),
        "code": ("text", "YQ-0001-480"), "name": ("text", "白桃味 480ml"), "spec": ("text", ""),
        "colour": ("text", ""), "barcode": ("text", ""), "base_unit": ("text", "瓶"),
        "base_price": ("money", "5.50"), "moq": ("int", "6"), "order_multiple": ("int", "6"),
        "safety_stock": ("int", "0"), "weight_g": ("int", "520"), "packs": ("text", "箱 15")},
        fixed={"product_active": "1", "active": "1", "allow_backorder": "1"}),
    "POST /admin/products/{product_id:int}/skus": Route("adm", {
        "code": ("text", "W1500"), "name": ("text", "农夫山泉 1.5L"), "spec": ("text", "1.5L"),
        "colour": ("text", ""), "barcode": ("text", "6900000000024"),
        "base_unit": ("text", "瓶"), "base_price": ("money", "3.00"), "moq": ("int", "1"),
        "order_multiple": ("int", "1"), "safety_stock": ("int", "0"), "weight_g": ("int", "1500"),
        "packs": ("text", "箱 12")}, fixed={"active": "1"}),
    "POST /admin/dealers": Route("adm", {
        "code": ("text", "D-NEW"), "name": ("text", "新经销商"), "tier": ("int", "{tier_id}"),
        "region": ("text", ""), "contact_phone": ("text", ""),
        "default_warehouse": ("int", "{warehouse}")}),
    "POST /admin/dealers/{dealer_id:int}": Route("adm", {
        "name": ("text", "改名经销商"), "tier": ("int", "{tier_id}"), "region": ("text", ""),
        "contact_phone": ("text", ""), "default_warehouse": ("int", "")}, fixed={"active": "1"}),
    "POST /me/api-keys": Route("adm", {
        "username": ("text", "adm"), "name": ("text", "ERP"), "days": ("int", "30")}),
    "POST /admin/settings": Route("adm", {
        "name": ("text", "润川食品饮料有限公司"), "address": ("text", ""), "phone": ("text", ""),
        "auto_receive_days": ("int", "7")}, fixed={"show_stock_numbers": "1"}),
    "POST /admin/warehouses": Route("adm", {
        "code": ("text", "WH-NEW"), "name": ("text", "新仓"), "region": ("text", ""),
        "priority": ("signed", "3")}),
    "POST /admin/warehouses/{warehouse_id:int}": Route("adm", {
        "code": ("text", "WH-EDIT"), "name": ("text", "改名仓"), "region": ("text", ""),
        "priority": ("signed", "3")}, ids={"warehouse_id": "warehouse"}, fixed={"active": "1"}),
    "POST /admin/tiers": Route("adm", {
        "code": ("text", "T-NEW"), "name": ("text", "新等级"), "rank": ("signed", "3")}),
    "POST /admin/tiers/{tier_id:int}": Route("adm", {
        "code": ("text", "T-EDIT"), "name": ("text", "改名等级"), "rank": ("signed", "-3")},
        ids={"tier_id": "tier_id"}),
    "POST /admin/categories": Route("adm", {
        "name": ("text", "新分类"), "parent": ("int", "{category_id}"), "sort": ("signed", "3")}),
    "POST /admin/categories/{category_id:int}": Route("adm", {
        "name": ("text", "改名分类"), "parent": ("int", ""), "sort": ("signed", "-3")}),
    "POST /cart/details": Route("buyer", {
        "note": ("text", "请上午送货"), "requested_date": ("date", ""),
        "address_id": ("int", "")}),
    "POST /cart/lines/{sku_id:int}": Route("buyer", {"qty": ("int", "12")}),
    "POST /cart/lines/{sku_id:int}/price": Route("rep", {"price": ("money", "1.80")}),
    "POST /cart/quick": Route("buyer", {"text": ("text", "W550 24")}),
    "POST /cart/submit": Route("buyer", {"idempotency_key": ("choice", "form-key-1")}),
    "POST /catalog/qty/{sku_id:int}": Route("buyer", {"qty": ("int", "6")}),
    "POST /dealers/{dealer_id:int}/review-flag": Route("mgr", {"reason": ("text", "逾期")},
                                                       fixed={"flagged": "1"}),
    "POST /dealers/{dealer_id:int}/rep": Route("adm", {"rep_id": ("int", "")}),
    "POST /dealers/{dealer_id:int}/users": Route("adm", {
        "username": ("text", "new.user"), "display_name": ("text", "新用户"),
        "role": ("choice", "dealer_buyer"), "phone": ("text", ""), "email": ("text", ""),
        "password": ("text", "long-enough-1")}),
    "POST /dealers/{dealer_id:int}/users/{user_id:int}": Route("adm", {
        "display_name": ("text", "改名"), "role": ("choice", "dealer_buyer"),
        "phone": ("text", ""), "email": ("text", "")}, ids={"user_id": "buyer_user"},
        fixed={"active": "1"}),
    "POST /dealers/{dealer_id:int}/users/{user_id:int}/password": Route("adm", {
        "new_password": ("text", "new-secret-42")}, ids={"user_id": "buyer_user"}),
    "POST /dealers/{dealer_id:int}/addresses": Route("adm", {
        "label": ("text", ""), "contact": ("text", "李四"), "phone": ("text", "13800000002"),
        "line": ("text", "某路 2 号")}),
    "POST /dealers/{dealer_id:int}/addresses/{address_id:int}": Route("adm", {
        "label": ("text", ""), "contact": ("text", "李四"), "phone": ("text", "13800000002"),
        "line": ("text", "某路 2 号")}, ids={"address_id": "address"}),
    "POST /me/password": Route("buyer", {
        "current_password": ("text", f.PASSWORD), "new_password": ("text", "new-secret-42"),
        "repeat_password": ("text", "new-secret-42")}),
    "POST /finance/dealers/{dealer_id:int}/credit-notes": Route("fin", {
        "amount": ("money", "10.00"), "note": ("text", "退货")}),
    "POST /finance/dealers/{dealer_id:int}/reversals": Route("fin", {
        "entry_id": ("int", "{payment_entry}"), "reason": ("text", "金额录错")}),
    "POST /finance/dealers/{dealer_id:int}/payments": Route("fin", {
        "amount": ("money", "10.00"), "method": ("choice", "bank"),
        "reference": ("text", "B-1"), "value_date": ("date", ""), "note": ("text", "")}),
    "POST /finance/dealers/{dealer_id:int}/terms": Route("fin", {
        "credit_limit": ("money", "50000"), "payment_terms_days": ("int", "30"),
        "tolerance_amount": ("money", "2000"), "tolerance_percent": ("money", "5"),
        "over_credit_policy": ("choice", "approval"), "overdue_policy": ("choice", "block")}),
    "POST /lang": Route("buyer", {"locale": ("choice", "en")}, ignored=frozenset({"locale"})),
    "POST /login": Route("anonymous", {"login": ("text", "buyer_a"), "password": ("text", "x")}),
    "POST /orders/{order_id:int}/adjust": Route("rep", {"reason": ("text", "改数量")},
                                                ids={"order_id": "pending_order"}),
    "POST /orders/{order_id:int}/cancel": Route("buyer", {"reason": ("text", "不要了")}),
    "POST /orders/{order_id:int}/close-rest": Route("fin", {"reason": ("text", "不发了")},
                                                    ids={"order_id": "shipped_order"}),
    "POST /orders/{order_id:int}/returns": Route("buyer", {"reason": ("text", "破损")},
                                                 ids={"order_id": "shipped_order"}),
    "POST /products/{product_id:int}/grid": Route("buyer", {}, fixed={"unit": "base"}),
    "POST /returns/{return_id:int}/decision": Route("mgr", {"note": ("text", "同意")},
                                                    fixed={"decision": "approve"}),
    "POST /returns/{return_id:int}/receive": Route("wh", {
        "warehouse": ("int", ""), "note": ("text", "收到")}),
    "POST /shipments/{shipment_id:int}/receipt": Route("buyer", {"note": ("text", "少一箱")},
                                                       ids={"shipment_id": "shipped"},
                                                       fixed={"discrepancy": "1"}),
    "POST /shipments/{shipment_id:int}/ship": Route("wh", {
        "carrier": ("text", "顺丰"), "tracking_no": ("text", "SF1")}),
    "POST /shipments/{shipment_id:int}/tracking": Route("wh", {
        "carrier": ("text", "中通"), "tracking_no": ("text", "ZT9")},
        ids={"shipment_id": "shipped"}),
    "POST /stock/adjust": Route("wh", {
        "warehouse_id": ("int", ""), "sku_id": ("int", ""), "reason": ("choice", "receipt"),
        "qty": ("int", "5"), "note": ("text", "")}),
    "POST /stock/transfer": Route("wh", {
        "warehouse_id": ("int", ""), "to_warehouse_id": ("int", "{warehouse2}"),
        "sku_id": ("int", ""), "qty": ("int", "5"), "note": ("text", "")}),
    "POST /stock/{sku_id:int}/safety-stock": Route("wh", {"safety_stock": ("int", "10")}),
    "POST /warehouse/orders/{order_id:int}": Route("wh", {
        "warehouse": ("int", ""), "carrier": ("text", ""), "tracking_no": ("text", "")},
        ids={"order_id": "shipped_order"}),
}
# Routes whose only input is the path (and the CSRF token): nothing a user types can be wrong.
NO_FORM_INPUT = {
    "POST /admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}/remove": (
        "removes a contract price"
    ),
    "POST /me/api-keys/{key_id:int}/revoke": "only the path",
    "POST /approvals/bulk": "step ids are parsed as digits and anything else ignored",
    "POST /catalog/favourite/{sku_id:int}": "a toggle",
    "POST /dealers/{dealer_id:int}/act": "chooses the acting dealer",
    "POST /dealers/{dealer_id:int}/addresses/{address_id:int}/delete": "removes an address",
    "POST /logout": "ends the session",
    "POST /notifications/read": "marks read",
    "POST /orders/{order_id:int}/reorder": "copies a past order into the cart",
    "POST /orders/{order_id:int}/resubmit": "sends a returned order again",
    "POST /returns/{return_id:int}/photos": "only files (photos have tests of their own)",
    "POST /admin/products/{product_id:int}/picture": (
        "only a file (pictures have tests of their own, tests/http/test_product_pictures.py)"
    ),
    "POST /admin/products/{product_id:int}/pictures": (
        "only a file (pictures have tests of their own, tests/http/test_product_pictures.py)"
    ),
    "POST /admin/products/{product_id:int}/pictures/{picture_id:int}/cover": "only the path",
    "POST /admin/products/{product_id:int}/pictures/{picture_id:int}/remove": "only the path",
    "POST /cart/upload": "only a file (order files have tests of their own)",
    "POST /admin/data/{kind:str}": "only a file (data files have tests of their own)",
    "POST /shipments/{shipment_id:int}/cancel": "unpacks a shipment",
    "POST /shipments/{shipment_id:int}/deliver": "marks a shipped parcel delivered",
    "POST /admin/webhooks/{endpoint_id:int}/secret": "makes a new secret",
    "POST /admin/webhooks/{endpoint_id:int}/test": "sends a test, writes nothing",
    "POST /admin/webhooks/{endpoint_id:int}/delete": "removes a webhook",
    "POST /admin/tiers/{tier_id:int}/delete": "removes a tier nothing uses",
    "POST /admin/categories/{category_id:int}/delete": "removes a category nothing uses",
    "POST /admin/webhooks/deliveries/{delivery_id:int}/retry": "sends a delivery again",
}
# fmt: on
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def mutating_routes() -> set[str]:
    from tests.http.test_access_matrix import route_keys

    settings_dir = tempfile.mkdtemp(prefix="portal-routes-")
    app = create_app(
        Settings.from_env(
            {
                "PORTAL_DATABASE_URL": f"sqlite:///{settings_dir}/routes.sqlite3",
                "PORTAL_VAR_DIR": settings_dir,
            }
        )
    )
    return {k for k in route_keys(app) if k.split(" ", 1)[0] in MUTATING}


def test_every_route_taking_input_is_in_the_corpus():
    routes = mutating_routes()
    listed = set(FORM_ROUTES) | set(NO_FORM_INPUT) | set(API_ROUTES) | set(API_NO_BODY)
    assert routes - listed == set(), "routes taking input with no bad-input corpus"
    assert listed - routes == set(), "corpus rows for routes that no longer exist"


async def fingerprint() -> tuple:
    """Row counts of every table and the sums that move with stock, credit and orders, in one
    query: cheap enough to take around every spoiled request."""
    parts = []
    for table in ALL_TABLES:
        if table in UNCHANGED_EXEMPT:
            continue
        parts.append(f'(SELECT COUNT(*) FROM "{table._meta.tablename}")')
    parts += [
        "(SELECT COALESCE(SUM(on_hand * 7 + reserved), 0) FROM stock_level)",
        "(SELECT COALESCE(SUM(balance_fen * 3 + open_orders_fen + credit_limit_fen), 0)"
        " FROM dealer)",
        "(SELECT COALESCE(SUM(qty + qty_shipped), 0) FROM order_line)",
        "(SELECT COALESCE(SUM(qty), 0) FROM cart_line)",
    ]
    row = await ALL_TABLES[0].raw(
        "SELECT " + ", ".join(f"{p} AS c{i}" for i, p in enumerate(parts))
    )
    return tuple(row[0].values())


@dataclass
class Full:
    ids: dict[str, int]
    users: dict[str, str]  # role key -> username


@pytest.fixture
async def full(db) -> Full:
    """One of everything a route acts on, so each request reaches its validation."""
    from portal.domain import approvals, ledger, promotions, returns, shipments, webhooks

    tier = await f.tier()
    wh = await f.warehouse()
    a = await f.dealer(tier, name="甲经销商", default_warehouse=wh)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=200)
    await f.stock(water, wh, on_hand=10_000)
    buyer = f.actor(await f.user("dealer_buyer", a, username="buyer_a"))
    manager = await f.user("sales_manager", username="mgr")
    rep = await f.user("sales_rep", username="rep", manager=manager)
    await f.assign(rep, a)
    await f.user("finance", username="fin")
    warehouse = f.actor(await f.user("warehouse", username="wh"))
    admin = f.actor(await f.user("admin", username="adm"))
    rule = await approvals.save_rule(
        admin, None, approvals.RuleInput("total_at_least", "sales_manager", amount_fen=100_000)
    )

    async def order(qty: int, key: str) -> int:
        result = await orders.submit_order(
            buyer, None, [LineRequest(qty=qty, sku_id=water["id"])], idempotency_key=key
        )
        return result.order.id

    open_order = await order(24, "open")
    pending = await order(600, "pending")  # ¥1,200: waits for the manager
    shipped_order = await order(48, "shipped")
    line = await OrderLine.select(OrderLine.id).where(OrderLine.order == shipped_order).first()
    pending_line = await OrderLine.select(OrderLine.id).where(OrderLine.order == pending).first()

    async def parcel(qty: int) -> int:
        return (
            await shipments.create_shipment(
                warehouse, shipped_order, warehouse_id=wh["id"], quantities={line["id"]: qty}
            )
        ).shipment.id

    received = await parcel(12)
    await shipments.ship(warehouse, received)
    await shipments.confirm_receipt(buyer, received)
    shipped = await parcel(12)
    await shipments.ship(warehouse, shipped)
    packed = await parcel(6)
    ret = await returns.request_return(
        buyer, shipped_order, quantities={line["id"]: 1}, reason="破损"
    )
    step = await approvals.current_step_id(admin, pending)
    await cart.set_qty(buyer, a["id"], water["id"], 6)
    hook = await webhooks.save_endpoint(admin, None, webhooks.EndpointInput(url="https://e.com/h"))
    await OrderEvent.insert(OrderEvent(order=open_order, at=f.now(), kind="adjusted"))
    delivery = await WebhookDelivery.select(WebhookDelivery.id).first()
    payment = await ledger.record_payment(
        f.actor(await f.user("finance")),
        a["id"],
        amount="10",
        method="bank",
    )
    promo = await promotions.create(
        admin,
        promotions.PromoData(
            name="满减",
            kind="spend_save",
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
            threshold_fen=100_000,
            save_fen=5_000,
        ),
    )
    return Full(
        ids={
            "order_id": open_order,
            "pending_order": pending,
            "pending_line": pending_line["id"],
            "shipped_order": shipped_order,
            "order_line": line["id"],
            "sku_id": water["id"],
            "product_id": water["product"],
            "dealer_id": a["id"],
            "rule_id": rule["id"],
            "step_id": step,
            "return_id": ret.id,
            "shipment_id": packed,
            "shipped": shipped,
            "warehouse": wh["id"],
            "warehouse2": (await f.warehouse("W2", "华南仓", priority=2))["id"],
            "buyer_user": buyer.user_id,
            "staff_user": rep["id"],
            "endpoint_id": hook.endpoint["id"],
            "delivery_id": delivery["id"],
            "promo_id": promo.id,
            "payment_entry": payment.id,
            "tier_id": tier["id"],
            "category_id": (await Product.select(Product.category).first())["category"],
            "dealer_code": a["code"],
            "address": (await Address.select(Address.id).where(Address.dealer == a["id"]).first())[
                "id"
            ],
        },
        users={},
    )


PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def concrete(key: str, route_ids: dict[str, str], w: Full) -> tuple[str, str]:
    method, path = key.split(" ", 1)

    def fill(match: re.Match) -> str:
        name = match.group(1)
        ref = route_ids.get(name, name)
        return str(w.ids.get(ref, ref))

    return method, PARAM.sub(fill, path)


async def page_client(app, username: str | None, dealer_id: int):
    """A client signed in on the pages (with its CSRF token), or anonymous."""
    from portal.web.common import ACTING_DEALER_COOKIE

    c = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    )
    login = await c.get("/login")
    csrf = csrf_from(login.text)
    if username:
        signed = await c.post(
            "/login", data={"login": username, "password": f.PASSWORD, "_csrf_token": csrf}
        )
        assert signed.status_code == 303, signed.text
        c.cookies.set(ACTING_DEALER_COOKIE, str(dealer_id))
    return c, csrf


def form_corpus(key: str, route: Route, w: Full) -> list[tuple[str, bool, dict[str, Any]]]:
    """(case name, must be a 4xx, request kwargs) for each spoiled field and spoiled body."""
    base = {name: value for name, (_kind, value) in route.fields.items()}
    for name, (_kind, value) in route.fields.items():
        if value == "" and name in ("warehouse", "warehouse_id"):
            base[name] = str(w.ids["warehouse"])
        elif value == "" and name == "sku_id":
            base[name] = str(w.ids["sku_id"])
        elif value.startswith("{") and value.endswith("}"):  # one of the world's ids
            base[name] = str(w.ids[value[1:-1]])
    base.update(route.fixed)
    cases = []
    for name, (kind, _value) in route.fields.items():
        for bad in BAD_BY_KIND[kind]:
            cases.append(
                (f"{name}={bad[:12]!r}", name not in route.ignored, {"data": {**base, name: bad}})
            )
    first = next(iter(route.fields), "x")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases += [
        ("not UTF-8", True, {"content": f"{first}=".encode() + b"\xff\xfe", "headers": form}),
        ("NUL", True, {"data": {**base, first: "a\x00b"}}),
        (
            "over the size limit",
            True,
            {"content": f"{first}=".encode() + b"x" * OVER_LIMIT, "headers": form},
        ),
    ]
    return cases


async def test_every_form_refuses_bad_input(full, db, settings):
    app = create_app(settings, engine=db)
    clients: dict[str, tuple[httpx.AsyncClient, str]] = {}
    usernames = {"buyer": "buyer_a", "anonymous": None}
    problems: list[str] = []
    try:
        for key, route in sorted(FORM_ROUTES.items()):
            if route.role not in clients:
                clients[route.role] = await page_client(
                    app, usernames.get(route.role, route.role), full.ids["dealer_id"]
                )
            c, csrf = clients[route.role]
            method, url = concrete(key, route.ids, full)
            before_all = await snapshot()
            for name, strict, kwargs in form_corpus(key, route, full):
                kwargs = dict(kwargs)
                kwargs["headers"] = {"x-csrftoken": csrf, **kwargs.get("headers", {})}
                if "data" in kwargs:
                    kwargs["data"] = {**kwargs["data"], "_csrf_token": csrf}
                before = await fingerprint()
                response = await c.request(method, url, follow_redirects=False, **kwargs)
                status = response.status_code
                if status >= 500 or (strict and not 400 <= status < 500):
                    problems.append(f"{key} {name}: {status} {response.text[:120]!r}")
                elif await fingerprint() != before:
                    problems.append(f"{key} {name}: refused but wrote")
            changed = diff(before_all, await snapshot())
            if changed:
                problems.append(f"{key}: the corpus changed {changed}")
    finally:
        for c, _csrf in clients.values():
            await c.aclose()
    assert not problems, "\n".join(problems)


@dataclass
class ApiRoute:
    role: str
    body: dict[str, Any]  # valid; "{world key}" strings are replaced by the world's ids
    ids: dict[str, str] = field(default_factory=dict)
    keyed: bool = False  # sends an Idempotency-Key (a fresh one per request)


# fmt: off
API_ROUTES: dict[str, ApiRoute] = {
    "POST /api/v1/approval-rules": ApiRoute("adm", {
        "kind": "total_at_least", "approver_role": "sales_manager", "amount": "500"}),
    "PUT /api/v1/approval-rules/{rule_id:int}": ApiRoute("adm", {
        "kind": "total_at_least", "approver_role": "sales_manager", "amount": "500"}),
    "POST /api/v1/staff": ApiRoute("adm", {
        "username": "new.staff", "password": "long-enough-1", "display_name": "新员工",
        "role": "sales_rep"}),
    "PUT /api/v1/staff/{user_id:int}": ApiRoute("adm", {
        "display_name": "改名", "role": "sales_rep"}, ids={"user_id": "staff_user"}),
    "POST /api/v1/staff/{user_id:int}/password": ApiRoute("adm", {
        "new_password": "new-secret-42"}, ids={"user_id": "staff_user"}),
    "POST /api/v1/promotions": ApiRoute("adm", {
        "name": "买赠", "kind": "buy_get", "starts_on": "2026-12-01", "ends_on": "2026-12-31",
        "sku_code": "W550", "buy_qty": 24, "gift_sku_code": "W550", "gift_qty": 2}),
    "PUT /api/v1/promotions/{promo_id:int}": ApiRoute("adm", {
        "name": "九折", "kind": "percent_off", "starts_on": "2026-12-01",
        "ends_on": "2026-12-31", "percent_off_bp": 1000}, ids={"promo_id": "promo_id"}),
    "PUT /api/v1/admin/skus/{sku_id:int}": ApiRoute("adm", {
        "name": "农夫山泉 550ml", "barcode": "6900000000017", "base_price": "2.00", "moq": 1,
        "order_multiple": 1, "safety_stock": 0, "allow_backorder": False, "active": True,
        "weight_g": 550, "image": "/static/products/w550.png",
        "packs": [{"name": "箱", "factor": 24}, {"name": "中包", "factor": 6}]}),
    "PUT /api/v1/admin/skus/{sku_id:int}/tier-prices/{tier_id:int}": ApiRoute("adm", {
        "price": "1.80", "percent": None, "breaks": [{"min_qty": 240, "price": "1.60"}]},
        ids={"tier_id": "tier_id"}),
    "PUT /api/v1/admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}": ApiRoute("adm", {
        "price": "1.50"}, ids={"dealer_code": "dealer_code"}),
    "PUT /api/v1/admin/products/{product_id:int}": ApiRoute("adm", {
        "name": "农夫山泉饮用天然水", "brand": "农夫", "category_id": "{category_id}",
        "active": True, "description": ""}),
    "PUT /api/v1/admin/products/{product_id:int}/visibility": ApiRoute("adm", {
        "visibility": "all", "tier_ids": [], "dealer_codes": []}),
    "POST /api/v1/admin/products": ApiRoute("adm", {
        "name": "元气森林苏打气泡水", "category_id": "{category_id}", "active": True,
        "brand": "元气森林", "description": "", "image": "/static/products/soda.png"}),
    "POST /api/v1/admin/products/{product_id:int}/skus": ApiRoute("adm", {
        "code": "W1500", "name": "农夫山泉 1.5L", "unit": "瓶", "base_price": "3.00",
        "barcode": "6900000000024", "spec": "1.5L", "colour": "", "moq": 1, "order_multiple": 1,
        "safety_stock": 0, "allow_backorder": False, "active": True, "weight_g": 1500,
        "packs": [{"name": "箱", "factor": 12}]}),
    "POST /api/v1/api-keys": ApiRoute("adm", {"username": "adm", "name": "ERP", "days": 30}),
    "PUT /api/v1/settings": ApiRoute("adm", {
        "name": "润川食品饮料有限公司", "address": "", "phone": "028-8566 1888",
        "show_stock_numbers": True, "auto_receive_days": 7}),
    "POST /api/v1/warehouses": ApiRoute("adm", {"code": "WH-NEW", "name": "新仓"}),
    "PUT /api/v1/warehouses/{warehouse_id:int}": ApiRoute("adm", {
        "code": "WH-EDIT", "name": "改名仓"}, ids={"warehouse_id": "warehouse"}),
    "POST /api/v1/admin/tiers": ApiRoute("adm", {"code": "T-NEW", "name": "新等级", "rank": 3}),
    "PUT /api/v1/admin/tiers/{tier_id:int}": ApiRoute("adm", {
        "code": "T-EDIT", "name": "改名等级", "rank": -3}, ids={"tier_id": "tier_id"}),
    "POST /api/v1/admin/categories": ApiRoute("adm", {
        "name": "新分类", "parent_id": "{category_id}", "sort": 3}),
    "PUT /api/v1/admin/categories/{category_id:int}": ApiRoute("adm", {
        "name": "改名分类", "parent_id": None, "sort": -3}),
    "POST /api/v1/webhooks": ApiRoute("adm", {
        "url": "https://erp.example.com/h", "events": ["order.approved"], "description": ""}),
    "PUT /api/v1/webhooks/{endpoint_id:int}": ApiRoute("adm", {
        "url": "https://erp.example.com/h", "events": ["order.approved"], "description": ""}),
    "POST /api/v1/auth/token": ApiRoute("anonymous", {"username": "buyer_a", "password": "x"}),
    "POST /api/v1/dealers/{dealer_id:int}/review-flag": ApiRoute("mgr", {
        "flagged": True, "reason": "逾期"}),
    "PUT /api/v1/dealers/{dealer_id:int}/rep": ApiRoute("adm", {"rep_id": None}),
    "POST /api/v1/dealers": ApiRoute("adm", {
        "code": "D-NEW", "name": "新经销商", "tier_id": "{tier_id}", "region": "",
        "contact_phone": "", "default_warehouse_id": "{warehouse}", "active": True}),
    "PUT /api/v1/dealers/{dealer_id:int}": ApiRoute("adm", {
        "name": "改名", "tier_id": "{tier_id}", "region": "", "contact_phone": "",
        "default_warehouse_id": None, "active": True}),
    "PUT /api/v1/dealers/{dealer_id:int}/credit": ApiRoute("fin", {
        "credit_limit": "50000", "payment_terms_days": 30, "overdue_policy": "block",
        "over_credit_policy": "approval", "tolerance_amount": "2000", "tolerance_percent": "5"}),
    "POST /api/v1/dealers/{dealer_id:int}/users": ApiRoute("adm", {
        "username": "new.user", "password": "long-enough-1", "display_name": "新用户",
        "role": "dealer_buyer"}),
    "PUT /api/v1/dealers/{dealer_id:int}/users/{user_id:int}": ApiRoute("adm", {
        "display_name": "改名", "role": "dealer_buyer"}, ids={"user_id": "buyer_user"}),
    "POST /api/v1/dealers/{dealer_id:int}/users/{user_id:int}/password": ApiRoute("adm", {
        "new_password": "new-secret-42"}, ids={"user_id": "buyer_user"}),
    "POST /api/v1/dealers/{dealer_id:int}/addresses": ApiRoute("adm", {
        "contact": "李四", "phone": "13800000002", "line": "某路 2 号"}),
    "PUT /api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}": ApiRoute("adm", {
        "contact": "李四", "phone": "13800000002", "line": "某路 2 号"},
        ids={"address_id": "address"}),
    "POST /api/v1/notifications/read": ApiRoute("buyer", {"id": None}),
    "POST /api/v1/me/password": ApiRoute("buyer", {
        "current_password": f.PASSWORD, "new_password": "new-secret-42"}),
    "POST /api/v1/orders": ApiRoute("buyer", {
        "lines": [{"sku_code": "W550", "qty": 24}], "note": ""}, keyed=True),
    "POST /api/v1/orders/{order_id:int}/approve": ApiRoute("mgr", {"reason": ""},
                                                         ids={"order_id": "pending_order"}),
    "POST /api/v1/orders/{order_id:int}/reject": ApiRoute("mgr", {"reason": "价格"},
                                                        ids={"order_id": "pending_order"}),
    "POST /api/v1/orders/{order_id:int}/adjust": ApiRoute("mgr", {
        "reason": "改数量", "lines": [{"order_line_id": "{pending_line}", "qty": 480,
                                       "unit_price": "1.90"}]}, ids={"order_id": "pending_order"}),
    "POST /api/v1/orders/{order_id:int}/return-to-dealer": ApiRoute(
        "mgr", {"reason": "改一下"}, ids={"order_id": "pending_order"}),
    "POST /api/v1/orders/{order_id:int}/cancel": ApiRoute("buyer", {"reason": "不要了"}),
    "POST /api/v1/orders/{order_id:int}/close-remainder": ApiRoute(
        "fin", {"reason": "不发了"}, ids={"order_id": "shipped_order"}),
    "POST /api/v1/orders/{order_id:int}/returns": ApiRoute("buyer", {
        "lines": [{"order_line_id": "{order_line}", "qty": 1}], "reason": "破损"},
        ids={"order_id": "shipped_order"}, keyed=True),
    "POST /api/v1/orders/{order_id:int}/shipments": ApiRoute("wh", {
        "warehouse_id": "{warehouse}", "lines": [{"order_line_id": "{order_line}", "qty": 1}],
        "carrier": ""}, ids={"order_id": "shipped_order"}, keyed=True),
    "POST /api/v1/credit-notes": ApiRoute("fin", {
        "dealer_id": "{dealer_id}", "amount": "12.00", "note": "价格更正"}, keyed=True),
    "POST /api/v1/dealers/{dealer_id:int}/ledger/{entry_id:int}/reverse": ApiRoute("fin", {
        "reason": "金额录错"}, ids={"entry_id": "payment_entry"}, keyed=True),
    "POST /api/v1/payments": ApiRoute("fin", {
        "dealer_id": "{dealer_id}", "amount": "10.00", "method": "bank", "note": ""},
        keyed=True),
    "POST /api/v1/returns/{return_id:int}/decision": ApiRoute("mgr", {
        "decision": "approve", "note": "同意"}),
    "POST /api/v1/returns/{return_id:int}/receive": ApiRoute("wh", {
        "warehouse_id": "{warehouse}", "lines": [{"order_line_id": "{order_line}", "qty": 1}],
        "note": "收到"}),
    "POST /api/v1/shipments/{shipment_id:int}/receipt": ApiRoute("buyer", {
        "discrepancy": True, "note": "少一箱"}, ids={"shipment_id": "shipped"}),
    "POST /api/v1/shipments/{shipment_id:int}/ship": ApiRoute("wh", {
        "carrier": "顺丰", "tracking_no": "SF1"}),
    "PATCH /api/v1/shipments/{shipment_id:int}": ApiRoute("wh", {
        "carrier": "中通", "tracking_no": "ZT9"}, ids={"shipment_id": "shipped"}),
    "POST /api/v1/stock/adjust": ApiRoute("wh", {
        "warehouse_id": "{warehouse}", "sku_id": "{sku_id}", "reason": "receipt", "qty": 5,
        "note": ""}),
    "POST /api/v1/stock/transfer": ApiRoute("wh", {
        "sku_id": "{sku_id}", "from_warehouse_id": "{warehouse}",
        "to_warehouse_id": "{warehouse2}", "qty": 5, "note": ""}),
    "PUT /api/v1/stock/{sku_id:int}/safety-stock": ApiRoute("wh", {"safety_stock": 10}),
}
API_NO_BODY = {
    "POST /api/v1/api-keys/{key_id:int}/revoke": "only the path",
    "DELETE /api/v1/admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}": "only the path",
    "POST /api/v1/returns/{return_id:int}/photos": "only files (photos have tests of their own)",
    "PUT /api/v1/admin/products/{product_id:int}/picture": (
        "only a file (pictures have tests of their own, tests/http/test_product_pictures.py)"
    ),
    "POST /api/v1/admin/products/{product_id:int}/pictures": (
        "only a file (pictures have tests of their own, tests/http/test_product_pictures.py)"
    ),
    "POST /api/v1/admin/products/{product_id:int}/pictures/{picture_id:int}/cover": (
        "only the path"
    ),
    "DELETE /api/v1/admin/products/{product_id:int}/pictures/{picture_id:int}": "only the path",
    "DELETE /api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}": "only the path",
    "POST /api/v1/webhooks/{endpoint_id:int}/secret": "only the path",
    "POST /api/v1/webhooks/{endpoint_id:int}/test": "only the path",
    "DELETE /api/v1/webhooks/{endpoint_id:int}": "only the path",
    "DELETE /api/v1/admin/tiers/{tier_id:int}": "only the path",
    "DELETE /api/v1/admin/categories/{category_id:int}": "only the path",
    "PUT /api/v1/favourites/{sku_id:int}": "only the path (and dealer_id for staff)",
    "DELETE /api/v1/favourites/{sku_id:int}": "only the path (and dealer_id for staff)",
    "POST /api/v1/data/{kind:str}": "only a file (data files have tests of their own)",
    "POST /api/v1/webhooks/deliveries/{delivery_id:int}/retry": "only the path",
    "POST /api/v1/orders/{order_id:int}/resubmit": "only the path",
    "POST /api/v1/shipments/{shipment_id:int}/cancel": "only the path",
    "POST /api/v1/shipments/{shipment_id:int}/deliver": "only the path",
}
# Integers where a negative value is valid.
SIGNED = {"step_order", "priority", "rank", "sort"}
# Lists where an empty one is valid (a webhook's events: [] subscribes to every type).
EMPTY_OK = {"events", "breaks", "tier_ids", "dealer_codes", "packs", "warehouse_ids"}
# fmt: on


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _types(doc: dict, schema: dict) -> tuple[set[str], dict]:
    """The JSON types a property takes (null included) and its non-null schema."""
    schema = _resolve(doc, schema)
    variants = schema.get("oneOf") or schema.get("anyOf")
    if not variants:
        t = schema.get("type", "object")
        return ({t} if isinstance(t, str) else set(t)), schema
    types, main = set(), schema
    for v in variants:
        v = _resolve(doc, v)
        t = v.get("type", "object")
        types |= {t} if isinstance(t, str) else set(t)
        if t != "null":
            main = v
    return types, main


def bad_json_values(doc: dict, name: str, schema: dict) -> list[Any]:
    """Values no valid request may carry in this property, by its documented type."""
    types, s = _types(doc, schema)
    bad: list[Any] = []
    if "null" not in types:
        bad.append(None)
    if "integer" in types:
        bad += [10**30, 1.5, "abc", True]
        if name not in SIGNED:
            bad.append(-1)
        if "minimum" in s:
            bad.append(int(s["minimum"]) - 1)
        if "maximum" in s:
            bad.append(int(s["maximum"]) + 1)
    elif "string" in types:
        bad += ["x" * 10_000, "😀" * 3_000, 12]
        if s.get("enum") or s.get("pattern"):
            bad += [FORMULA, "😀"]
        if s.get("format") == "date":
            bad += ["2026-02-30", "tomorrow"]
    elif "boolean" in types:
        bad += ["maybe", 2]
    elif "array" in types:
        bad += ["x", [None], [{}] * 5_000, [FORMULA]] + ([] if name in EMPTY_OK else [[]])
    return bad


def fill_ids(value: Any, w: Full) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return w.ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill_ids(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_ids(v, w) for v in value]
    return value


def api_corpus(doc: dict, key: str, route: ApiRoute, w: Full) -> list[tuple[str, dict]]:
    method, path = key.split(" ", 1)
    op = doc["paths"][PARAM.sub(lambda m: "{" + m.group(1) + "}", path)][method.lower()]
    body_schema = _resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])
    base = fill_ids(route.body, w)
    cases: list[tuple[str, dict]] = []
    for name, prop in body_schema.get("properties", {}).items():
        if prop.get("description", "").startswith("read-only"):
            continue  # what GET returns, sent back: ignored whatever it holds
        for bad in bad_json_values(doc, name, prop):
            cases.append((f"{name}={str(bad)[:12]!r}", {"json": {**base, name: bad}}))
        types, s = _types(doc, prop)
        if "array" in types and isinstance(base.get(name), list) and base[name]:
            item = _resolve(doc, s["items"])
            for inner, inner_prop in item.get("properties", {}).items():
                for bad in bad_json_values(doc, inner, inner_prop):
                    spoiled = [{**base[name][0], inner: bad}]
                    cases.append(
                        (f"{name}[0].{inner}={str(bad)[:12]!r}", {"json": {**base, name: spoiled}})
                    )
    cases += [
        ("JSON malformed", raw_json(b'{"x": [')),
        ("JSON not UTF-8", raw_json(b'{"note": "\xff\xfe"}')),
        ("JSON nesting bomb", raw_json(b"[" * 100_000 + b"]" * 100_000)),
        ("a list for the object", {"json": [base]}),
        ("NUL", {"json": {**base, "_": "a\x00b"}}),
        (
            "over the size limit",
            {
                "content": b'{"note":"' + b"x" * OVER_LIMIT + b'"}',
                "headers": {"Content-Type": "application/json"},
            },
        ),
    ]
    return cases


async def test_every_api_endpoint_refuses_bad_input(full, db, client):
    doc = (await client.get("/schema/openapi.json")).json()
    tokens: dict[str, dict[str, str]] = {"anonymous": {}}
    usernames = {"buyer": "buyer_a"}
    problems: list[str] = []
    n = 0
    for key, route in sorted(API_ROUTES.items()):
        if route.role not in tokens:
            response = await client.post(
                "/api/v1/auth/token",
                json={"username": usernames.get(route.role, route.role), "password": f.PASSWORD},
            )
            assert response.status_code == 200, response.text
            tokens[route.role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        method, url = concrete(key, route.ids, full)
        before_all = await snapshot()
        for name, kwargs in api_corpus(doc, key, route, full):
            n += 1
            headers = {**tokens[route.role], "Accept-Language": "en", **kwargs.get("headers", {})}
            if route.keyed:
                headers["Idempotency-Key"] = f"bad-{n}"
            before = await fingerprint()
            response = await client.request(method, url, **{**kwargs, "headers": headers})
            status = response.status_code
            if not 400 <= status < 500:
                problems.append(f"{key} {name}: {status} {response.text[:120]!r}")
            elif not response.headers.get("content-type", "").startswith(PROBLEM):
                problems.append(f"{key} {name}: {status} is not problem+json")
            elif await fingerprint() != before:
                problems.append(f"{key} {name}: refused but wrote")
        changed = diff(before_all, await snapshot())
        if changed:
            problems.append(f"{key}: the corpus changed {changed}")
    assert not problems, "\n".join(problems)


FORMULAS = [FORMULA, "+1+2", "-2+3", "@SUM(1,2)", "\t=1+1", '=HYPERLINK("http://x")']


async def test_formula_text_typed_into_forms_is_inert_in_the_excel_statement(full, db, settings):
    """Formula-looking text typed into money forms (payment reference and note, credit note)
    is stored as typed and comes out of every Excel statement as text, never as a formula."""
    from openpyxl import load_workbook

    from portal.export import FORMULA_TRIGGERS

    app = create_app(settings, engine=db)
    dealer_id = full.ids["dealer_id"]
    fin, csrf = await page_client(app, "fin", dealer_id)
    buyer, _ = await page_client(app, "buyer_a", dealer_id)
    try:
        for n, text in enumerate(FORMULAS):
            for url, data in (
                (
                    f"/finance/dealers/{dealer_id}/payments",
                    {"amount": "1.00", "method": "bank", "reference": text[:60], "note": text},
                ),
                (f"/finance/dealers/{dealer_id}/credit-notes", {"amount": "0.10", "note": text}),
            ):
                response = await fin.post(
                    url,
                    data={**data, "_csrf_token": csrf},
                    headers={"x-csrftoken": csrf},
                    follow_redirects=False,
                )
                assert response.status_code == 303, (n, url, response.text[:300])
        files = [
            await fin.get(f"/finance/dealers/{dealer_id}/statement.xlsx"),
            await buyer.get("/account/statement.xlsx"),
        ]
    finally:
        await fin.aclose()
        await buyer.aclose()
    for response in files:
        assert response.status_code == 200, response.text[:300]
        ws = load_workbook(io.BytesIO(response.content)).active
        texts = []
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    assert not cell.value.startswith(FORMULA_TRIGGERS), cell.value
        for text in FORMULAS:  # each is there as typed (trimmed), behind an apostrophe
            assert "'" + text.strip() in texts, (text, texts)
