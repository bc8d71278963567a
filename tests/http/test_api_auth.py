"""API sign-in: bearer tokens issued and refused, cookies refused on /api, the OpenAPI document."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from portal.domain import accounts
from tests import factories as f
from tests.http.conftest import sign_in

PROBLEM = "application/problem+json"
EN = {"Accept-Language": "en"}


async def bearer(client: AsyncTestClient, username: str, password: str = f.PASSWORD) -> dict:
    """Authorization headers for a user, through POST /api/v1/auth/token."""
    response = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assert_problem(response, status: int, type_: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"/problems/{type_}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


async def test_token_is_issued_for_username_and_phone(client):
    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="apibuyer", phone="13912345678")
    response = await client.post(
        "/api/v1/auth/token", json={"username": "apibuyer", "password": f.PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * 60
    assert body["access_token"].count(".") == 2
    assert body["user"] == {
        "id": u["id"],
        "role": "dealer_buyer",
        "dealer_id": d["id"],
        "name": u["display_name"],
    }
    by_phone = await client.post(
        "/api/v1/auth/token", json={"username": "13912345678", "password": f.PASSWORD}
    )
    assert by_phone.status_code == 200
    assert by_phone.json()["user"]["id"] == u["id"]


async def test_token_works_as_bearer(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="apibuyer")
    headers = await bearer(client, "apibuyer")
    response = await client.get("/api/v1/orders", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


async def test_wrong_password_is_a_401_problem(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="apibuyer")
    response = await client.post(
        "/api/v1/auth/token",
        json={"username": "apibuyer", "password": "wrong"},
        headers=EN,
    )
    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"] == "Wrong username, phone number or password."
    assert "access_token" not in body
    unknown = await client.post(
        "/api/v1/auth/token", json={"username": "nobody", "password": f.PASSWORD}
    )
    assert_problem(unknown, 401, "unauthorized")


async def test_repeated_failures_are_rate_limited_with_retry_after(client, settings):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="apibuyer")
    for _ in range(settings.login_max_failures):
        response = await client.post(
            "/api/v1/auth/token", json={"username": "apibuyer", "password": "wrong"}
        )
        assert response.status_code == 401
    # Past the limit even the right password is refused until the window has passed.
    response = await client.post(
        "/api/v1/auth/token", json={"username": "apibuyer", "password": f.PASSWORD}
    )
    body = assert_problem(response, 429, "rate-limited")
    assert int(response.headers["Retry-After"]) > 0
    assert body["retry_after"] == int(response.headers["Retry-After"])


async def test_inactive_user_gets_no_token(client):
    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="apibuyer")
    from portal.tables import User

    await User.update({User.active: False}).where(User.id == u["id"])
    response = await client.post(
        "/api/v1/auth/token", json={"username": "apibuyer", "password": f.PASSWORD}
    )
    assert_problem(response, 401, "unauthorized")


async def test_bad_token_requests_are_validation_problems(client):
    for body in (
        {"username": "x"},
        {"password": "x"},
        {"username": "", "password": "x"},
        {"username": "x" * 101, "password": "x"},
        [],
        "text",
    ):
        response = await client.post("/api/v1/auth/token", json=body, headers=EN)
        problem = assert_problem(response, 400, "validation")
        assert problem["errors"], problem
    broken = await client.post(
        "/api/v1/auth/token",
        content=b'{"username": "x", ',
        headers={"content-type": "application/json", **EN},
    )
    problem = assert_problem(broken, 400, "validation")
    assert problem["errors"] == [
        {"field": "body", "message": "The request body is not valid JSON."}
    ]


async def test_api_requires_a_bearer_token(client):
    response = await client.get("/api/v1/orders", headers=EN)
    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"] == "A valid bearer token is required."
    for value in ("Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz"):
        response = await client.get("/api/v1/orders", headers={"Authorization": value})
        assert_problem(response, 401, "unauthorized")


async def test_a_session_cookie_alone_is_refused_on_the_api(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="cookieuser")
    signed_in = await sign_in(client, "cookieuser")
    assert signed_in.status_code == 303
    # The cookie works for pages...
    assert (await client.get("/")).status_code == 200
    # ...but not for the API, which therefore needs no CSRF token.
    response = await client.get("/api/v1/orders")
    assert_problem(response, 401, "unauthorized")
    response = await client.post("/api/v1/orders", json={"lines": []})
    assert response.status_code == 401


async def test_revoked_token_stops_working(client):
    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="apibuyer")
    headers = await bearer(client, "apibuyer")
    assert (await client.get("/api/v1/orders", headers=headers)).status_code == 200
    await accounts.revoke_sessions(u["id"])
    response = await client.get("/api/v1/orders", headers=headers)
    assert_problem(response, 401, "unauthorized")


async def test_openapi_document_lists_the_api(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/auth/token", "post"),
        ("/api/v1/catalog/skus", "get"),
        ("/api/v1/catalog/categories", "get"),
        ("/api/v1/orders", "post"),
        ("/api/v1/orders", "get"),
        ("/api/v1/orders/{order_id}", "get"),
        ("/api/v1/orders/{order_id}/cancel", "post"),
    ]:
        assert method in paths.get(path, {}), (path, method, sorted(paths))
    submit = paths["/api/v1/orders"]["post"]
    assert "requestBody" in submit
    assert {"200", "201"} <= set(submit["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in submit["parameters"])
    schemas = doc["components"]["schemas"]
    assert schemas["PriceOut"]["properties"]["unit_price"]["type"] == "string"
    # Pages are not part of the API document.
    assert "/login" not in paths
