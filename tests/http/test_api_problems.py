"""API refusals at the edge: a method an address does not take, a body that is not JSON, a
field the body does not know; each a problem document with a stable type, in the caller's
language, and nothing written."""

from __future__ import annotations

import json

import pytest

from tests import factories as f
from tests.http.test_api_auth import EN, assert_problem, bearer
from tests.http.test_api_orders import order_body, submit, world, written  # noqa: F401

HANT = {"Accept-Language": "zh-TW"}
pytestmark = pytest.mark.usefixtures("world")


async def test_a_method_the_address_does_not_take_is_405_with_allow(client):
    buyer = await bearer(client, "buyer_a")
    refused = await client.delete("/api/v1/orders", headers={**buyer, **EN})
    body = assert_problem(refused, 405, "method-not-allowed")
    allowed = {m.strip() for m in refused.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert body["title"] == "This address does not take this method."
    assert "GET" in body["detail"] and "POST" in body["detail"]
    hant = assert_problem(
        await client.put("/api/v1/orders/1", headers={**buyer, **HANT}), 405, "method-not-allowed"
    )
    assert hant["title"] == "此地址不支援該請求方法。"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_a_body_that_is_not_json_is_415(client, content_type):
    buyer = await bearer(client, "buyer_a")
    refused = await client.post(
        "/api/v1/orders",
        content=b"lines=W550&qty=24",
        headers={**buyer, **EN, "Content-Type": content_type, "Idempotency-Key": "k415"},
    )
    body = assert_problem(refused, 415, "unsupported-media-type")
    assert "application/json" in body["detail"]
    assert await written() == (0, 0, 0, 0)


async def test_json_with_a_charset_or_no_content_type_is_taken(client):
    buyer = await bearer(client, "buyer_a")
    sent = await client.post(
        "/api/v1/orders",
        content=json.dumps(order_body()).encode(),
        headers={
            **buyer,
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": "a",
        },
    )
    assert sent.status_code == 201, sent.text
    # A body-less action with a form content type (curl -X POST -d '') is read, not refused
    # for its content type (an approved order is not the buyer's to cancel: 409).
    cancelled = await client.post(
        f"/api/v1/orders/{sent.json()['id']}/cancel",
        content=b"",
        headers={**buyer, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(cancelled, 409, "conflict")


async def test_a_field_the_body_does_not_know_is_refused_not_ignored(client):
    buyer = await bearer(client, "buyer_a")
    # A price on a buyer's line would otherwise be dropped silently and the order placed at
    # the dealer's price: the caller must hear that the field means nothing here.
    body = {"lines": [{"sku_code": "W550", "qty": 24, "price": "1.00"}]}
    refused = assert_problem(await submit(client, {**buyer, **EN}, body), 400, "validation")
    assert refused["errors"] == [
        {"field": "lines[0].price", "message": "This field is not known here; leave it out."}
    ]
    top = assert_problem(
        await submit(client, {**buyer, **HANT}, {**order_body(), "shipto": "x"}), 400, "validation"
    )
    assert top["errors"] == [{"field": "shipto", "message": "無法識別此欄位，請刪除。"}]
    assert await written() == (0, 0, 0, 0)
    await f.user("admin", username="root")
    root = await bearer(client, "root")
    assert_problem(
        await client.post(
            "/api/v1/webhooks",
            json={"url": "https://erp.example.com/h", "events": ["*"], "secret": "mine"},
            headers=root,
        ),
        400,
        "validation",
    )


async def test_a_query_parameter_the_endpoint_does_not_read_is_refused(client):
    buyer = await bearer(client, "buyer_a")
    # A misspelt filter would otherwise be dropped and every order listed.
    refused = await client.get("/api/v1/orders", params={"stauts": "approved"}, headers=buyer)
    body = assert_problem(refused, 400, "validation")
    assert body["errors"] == [{"field": "stauts", "message": "无法识别此参数，请删除。"}]
    assert (
        await client.get("/api/v1/orders", params={"status": "approved"}, headers=buyer)
    ).status_code == 200
    # A parameter whose name differs from the handler's argument (format) is known.
    await f.user("admin", username="root")
    root = await bearer(client, "root")
    exported = await client.get("/api/v1/data/stock", params={"format": "csv"}, headers=root)
    assert exported.status_code == 200


def test_every_api_body_refuses_fields_it_does_not_know(tmp_path):
    """Every JSON body an API route takes is a schemas.In (forbid_unknown_fields), so a new
    endpoint cannot quietly accept a misspelt field."""
    import types
    import typing

    from portal.api.schemas import In
    from portal.app import create_app
    from portal.settings import Settings

    settings = Settings.from_env(
        {
            "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}",
            "PORTAL_VAR_DIR": str(tmp_path),
        }
    )
    lax, bodies = [], 0
    for route in create_app(settings).routes:
        if not route.path.startswith("/api/"):
            continue
        for method, handler in getattr(route, "route_handler_map", {}).items():
            handler = handler[0] if isinstance(handler, tuple) else handler
            data = (
                handler.parsed_fn_signature.parameters.get("data") if method != "OPTIONS" else None
            )
            if data is None:
                continue
            annotation = data.annotation
            if (
                isinstance(annotation, types.UnionType)
                or typing.get_origin(annotation) is typing.Union
            ):
                annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
            bodies += 1
            if not (isinstance(annotation, type) and issubclass(annotation, In)):
                lax.append(f"{method} {route.path}: {annotation}")
    assert bodies > 40
    assert lax == []


async def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(client):
    """ "24" or 24.0 for an integer quantity, "true" for a flag: refused as declared, never
    read as the number or the flag (an integrator's serializer would otherwise place orders,
    or make an address the default, without being told)."""
    buyer = await bearer(client, "buyer_a")
    for qty in ("24", 24.0):
        refused = await submit(client, {**buyer, **EN}, order_body(qty=qty))
        body = assert_problem(refused, 400, "validation")
        assert body["errors"] == [{"field": "lines[0].qty", "message": "Enter a whole number."}]
    zh = assert_problem(
        await submit(client, buyer, {**order_body(), "address_id": "1"}), 400, "validation"
    )
    assert zh["errors"][0]["field"] == "address_id"
    assert await written() == (0, 0, 0, 0)
    assert (await submit(client, buyer, order_body(qty=24))).status_code == 201


async def test_a_body_over_the_limit_is_a_validation_problem_in_the_callers_language(client):
    buyer = await bearer(client, "buyer_a")
    big = {**order_body(), "note": "x" * 1_100_000}
    refused = assert_problem(await submit(client, {**buyer, **EN}, big), 413, "validation")
    assert refused["detail"] == "The request is larger than 1 MB."
    assert refused["errors"] == [{"field": "body", "message": "The request is larger than 1 MB."}]
    zh = assert_problem(await submit(client, buyer, big), 413, "validation")
    assert zh["detail"] != refused["detail"] and "1" in zh["detail"]
    assert await written() == (0, 0, 0, 0)


async def test_a_nul_character_or_bytes_that_are_not_utf8_are_named(client):
    buyer = await bearer(client, "buyer_a")
    refused = assert_problem(
        await submit(client, {**buyer, **EN}, {**order_body(), "note": "a\x00b"}), 400, "validation"
    )
    assert refused["errors"][0]["field"] == "body"
    assert "NUL" in refused["errors"][0]["message"]
    raw = await client.post(
        "/api/v1/orders",
        content=b'{"lines":[{"sku_code":"W550","qty":1}],"note":"\xff\xfe"}',
        headers={**buyer, **EN, "Content-Type": "application/json", "Idempotency-Key": "u8"},
    )
    body = assert_problem(raw, 400, "validation")
    assert body["errors"] and body["errors"][0]["field"] == "body"
    assert await written() == (0, 0, 0, 0)


async def test_a_number_where_text_is_declared_says_so(client):
    buyer = await bearer(client, "buyer_a")
    refused = assert_problem(
        await submit(client, {**buyer, **EN}, {**order_body(), "note": 5}), 400, "validation"
    )
    assert refused["errors"] == [{"field": "note", "message": "Enter text, in quotes."}]
    assert await written() == (0, 0, 0, 0)


async def test_a_value_outside_a_fields_choices_names_the_choices(client):
    buyer = await bearer(client, "buyer_a")
    sorted_badly = assert_problem(
        await client.get("/api/v1/catalog/skus?sort=cheapest", headers={**buyer, **EN}),
        400,
        "validation",
    )
    assert sorted_badly["errors"] == [
        {"field": "sort", "message": "Choose one of: relevance, name, price_asc, price_desc, code."}
    ]
    await f.user("admin", username="root")
    root = await bearer(client, "root")
    rule = {"kind": "total_at_least", "approver_role": "boss", "amount": "5"}
    refused = assert_problem(
        await client.post("/api/v1/approval-rules", json=rule, headers={**root, **HANT}),
        400,
        "validation",
    )
    assert refused["errors"] == [
        {"field": "approver_role", "message": "請從以下選擇：sales_manager, finance。"}
    ]


async def test_errors_name_parameters_as_the_caller_sent_them(client):
    buyer = {**await bearer(client, "buyer_a"), **EN}
    no_key = await client.post("/api/v1/orders", json=order_body(), headers=buyer)
    assert [e["field"] for e in assert_problem(no_key, 400, "validation")["errors"]] == [
        "Idempotency-Key"
    ]
    empty_key = await client.post(
        "/api/v1/orders", json=order_body(), headers={**buyer, "Idempotency-Key": ""}
    )
    assert [e["field"] for e in assert_problem(empty_key, 400, "validation")["errors"]] == [
        "Idempotency-Key"
    ]
    from portal.tables import Dealer

    dealer = await Dealer.select(Dealer.id).where(Dealer.name == "甲经销商").first()
    statement = await client.get(
        f"/api/v1/dealers/{dealer['id']}/statement", params={"format": "doc"}, headers=buyer
    )
    errors = assert_problem(statement, 400, "validation")["errors"]
    assert [e["field"] for e in errors] == ["format"] and "pdf, xlsx" in errors[0]["message"]
