"""Sessions, sign-in limits, CSRF, headers and redirects: the attacks a portal must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from portal import i18n
from portal.app import create_app
from portal.auth.session import ALGORITHM, AUDIENCE, cookie_name
from portal.domain import accounts
from portal.domain.errors import RateLimited, Unauthorized
from portal.settings import Settings
from portal.tables import LoginFailure, User
from tests import factories as f
from tests.http.conftest import csrf_from, shared_app, sign_in

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


# --- clients -------------------------------------------------------------------------------
# Like tests/http/conftest.py's `client` (the app in the test's own loop via httpx's
# ASGITransport), but each client may come from an address of its own, which the rate-limit
# tests need, and redirects are not followed unless asked for.


@asynccontextmanager
async def _open(
    app, address: str = "127.0.0.1", base_url: str = "http://testserver.local"
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
        yield c


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A lower limit than the default keeps the brute-force tests short (argon2 is slow).
    return replace(settings, login_max_failures=3)


@pytest.fixture
def app(db, settings):
    # No lifespan needed: with a shared engine, start-up only binds the tables, as `db` did.
    # One app per settings and engine, as tests/http/conftest.py keeps them (building one
    # takes about 0.5 s; these tests keep every record in the database).
    return shared_app(settings, db)


@pytest.fixture
def clients(app) -> ClientFactory:
    """clients(address=..., base_url=...) opens another client on the same app."""
    return lambda **kw: _open(app, **kw)


@pytest.fixture
async def client(clients) -> AsyncIterator[httpx.AsyncClient]:
    async with clients() as c:
        yield c


def api_get_route(app) -> str | None:
    """A GET route under /api/v1 that needs a session (None until the API has one)."""
    paths = {r.path for r in app.routes}
    for candidate in ("/api/v1/orders", "/api/v1/catalog/skus"):
        if candidate in paths:
            return candidate
    return None


# --- forging tokens ------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(user: dict, **overrides) -> dict:
    """The claims the portal itself puts in a session token (see Litestar's Token)."""
    now = datetime.now(UTC)
    body = {
        "sub": str(user["id"]),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=30)).timestamp()),
        "aud": AUDIENCE,
        "extras": {"ver": user["token_version"]},
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def sign_hs256_with_header(header: dict, payload: dict, secret: str) -> str:
    """A token whose header claims any algorithm but which is HMAC-SHA256 signed."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(sig)


def rsa_token(payload: dict) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(payload, key, algorithm="RS256")


def forged(kind: str, user: dict, other: dict, secret: str) -> str:
    good = claims(user)
    if kind == "alg-none":
        return jwt.encode(good, key=None, algorithm="none")
    if kind == "alg-none-uppercase":
        return (
            sign_hs256_with_header({"alg": "None", "typ": "JWT"}, good, secret).rsplit(".", 1)[0]
            + "."
        )
    if kind == "hs512-right-key":
        return jwt.encode(good, secret, algorithm="HS512")
    if kind == "rs256-header-hmac-signed":
        return sign_hs256_with_header({"alg": "RS256", "typ": "JWT"}, good, secret)
    if kind == "rs256-own-key":
        return rsa_token(good)
    if kind == "wrong-key":
        return jwt.encode(good, "k" * 48, algorithm=ALGORITHM)
    if kind == "expired":
        past = datetime.now(UTC) - timedelta(minutes=5)
        return jwt.encode(
            claims(user, exp=int(past.timestamp()), iat=int(past.timestamp()) - 60),
            secret,
            algorithm=ALGORITHM,
        )
    if kind == "no-exp":
        return jwt.encode(claims(user, exp=None), secret, algorithm=ALGORITHM)
    if kind == "no-aud":
        return jwt.encode(claims(user, aud=None), secret, algorithm=ALGORITHM)
    if kind == "wrong-aud":
        return jwt.encode(claims(user, aud="another-app"), secret, algorithm=ALGORITHM)
    if kind == "not-yet-valid":
        later = datetime.now(UTC) + timedelta(minutes=10)
        return jwt.encode(claims(user, nbf=int(later.timestamp())), secret, algorithm=ALGORITHM)
    if kind == "wrong-version":
        return jwt.encode(
            claims(user, extras={"ver": user["token_version"] + 1}), secret, algorithm=ALGORITHM
        )
    if kind == "no-version":
        return jwt.encode(claims(user, extras={}), secret, algorithm=ALGORITHM)
    if kind == "tampered-sub":
        token = jwt.encode(good, secret, algorithm=ALGORITHM)
        head, _body, sig = token.split(".")
        evil = dict(good, sub=str(other["id"]), extras={"ver": other["token_version"]})
        return f"{head}.{_b64(json.dumps(evil).encode())}.{sig}"
    raise AssertionError(kind)


FORGERIES = [
    "alg-none",
    "alg-none-uppercase",
    "hs512-right-key",
    "rs256-header-hmac-signed",
    "rs256-own-key",
    "wrong-key",
    "expired",
    "no-exp",
    "no-aud",
    "wrong-aud",
    "not-yet-valid",
    "wrong-version",
    "no-version",
    "tampered-sub",
]


async def two_users() -> tuple[dict, dict]:
    d1, d2 = await f.dealer(), await f.dealer()
    return await f.user("dealer_buyer", d1), await f.user("dealer_admin", d2)


def page_csrf(html: str) -> str:
    """The CSRF token a signed-in page carries (a form field, or <body hx-headers>)."""
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html) or re.search(
        r'"x-csrftoken": "([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def assert_sent_to_login(response: httpx.Response) -> None:
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"].startswith("/login")


def assert_api_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def page_with_cookie(client: httpx.AsyncClient, settings: Settings, token: str):
    client.cookies.set(cookie_name(settings), token)
    return client.get("/", follow_redirects=False)


async def test_a_correctly_forged_token_is_accepted(client, settings, app):
    """The control: the forging helper makes tokens the portal accepts when they are right."""
    user, _other = await two_users()
    token = jwt.encode(claims(user), settings.secret_key, algorithm=ALGORITHM)
    response = await page_with_cookie(client, settings, token)
    assert response.status_code == 200
    assert user["display_name"] in response.text
    route = api_get_route(app)
    if route:
        client.cookies.clear()
        api = await client.get(route, headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 200, api.text[:300]


@pytest.mark.parametrize("kind", FORGERIES)
async def test_forged_or_invalid_tokens_are_refused(kind, client, settings, app):
    user, other = await two_users()
    token = forged(kind, user, other, settings.secret_key)

    assert_sent_to_login(await page_with_cookie(client, settings, token))

    client.cookies.clear()
    route = api_get_route(app) or "/api/v1/orders"
    if route in {r.path for r in app.routes}:
        api = await client.get(route, headers={"Authorization": f"Bearer {token}"})
        assert_api_refused(api)


async def test_garbage_cookie_and_bearer_are_refused(client, settings, app):
    for junk in ["", "x", "a.b.c", "Bearer", "e30.e30.", "%F0%9F%99%82.e30.x"]:
        client.cookies.set(cookie_name(settings), junk)
        response = await client.get("/", follow_redirects=False)
        assert_sent_to_login(response)
    client.cookies.clear()
    route = api_get_route(app)
    if route:
        for junk in ["Bearer x", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer"]:
            assert_api_refused(await client.get(route, headers={"Authorization": junk}))


# --- revocation ----------------------------------------------------------------------------


async def test_deactivated_user_is_refused_on_the_next_request(client, settings):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d, username="soon-gone")
    assert (await sign_in(client, "soon-gone")).status_code == 303
    assert (await client.get("/", follow_redirects=False)).status_code == 200

    await User.update({User.active: False}).where(User.id == user["id"])

    assert_sent_to_login(await client.get("/", follow_redirects=False))
    # Nor can they sign in again.
    again = await sign_in(client, "soon-gone")
    assert again.status_code == 401


async def test_logout_revokes_the_token_even_if_it_is_replayed(client, settings):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d, username="leaver")
    assert (await sign_in(client, "leaver")).status_code == 303
    token = client.cookies.get(cookie_name(settings))
    assert token
    home = await client.get("/")
    response = await client.post(
        "/logout", data={"_csrf_token": page_csrf(home.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    # The cookie is deleted...
    assert any(
        c.startswith(f"{cookie_name(settings)}=") for c in response.headers.get_list("set-cookie")
    )
    # ...with the dealer a rep ordered for: the next person on the phone starts afresh...
    assert any(
        c.startswith("acting_dealer=") and "Max-Age=0" in c
        for c in response.headers.get_list("set-cookie")
    )
    # ...and a copy of the old token kept by an attacker no longer works.
    client.cookies.set(cookie_name(settings), token)
    assert_sent_to_login(await client.get("/", follow_redirects=False))
    row = await User.select(User.token_version).where(User.id == user["id"]).first()
    assert row["token_version"] == user["token_version"] + 1


async def test_revoking_sessions_refuses_an_api_bearer_token(client, settings, app):
    route = api_get_route(app)
    assert route is not None, "the API has a GET route to try the token on"
    d = await f.dealer()
    user = await f.user("dealer_buyer", d)
    token = jwt.encode(claims(user), settings.secret_key, algorithm=ALGORITHM)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get(route, headers=headers)).status_code == 200
    await accounts.revoke_sessions(user["id"])
    assert_api_refused(await client.get(route, headers=headers))


# --- renewal --------------------------------------------------------------------------------


def session_cookies(response: httpx.Response, settings: Settings) -> list[str]:
    return [
        c
        for c in response.headers.get_list("set-cookie")
        if c.startswith(f"{cookie_name(settings)}=")
    ]


def token_expiring_in(user: dict, settings: Settings, minutes: int) -> str:
    now = datetime.now(UTC)
    return jwt.encode(
        claims(
            user,
            iat=int(now.timestamp()) - 60,
            exp=int((now + timedelta(minutes=minutes)).timestamp()),
        ),
        settings.secret_key,
        algorithm=ALGORITHM,
    )


async def test_an_active_session_is_renewed_so_it_ends_long_after_its_last_use(client, settings):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d)
    # Made ten minutes ago: the next page brings a cookie good for the whole lifetime again.
    old = token_expiring_in(user, settings, settings.session_minutes - 10)
    response = await page_with_cookie(client, settings, old)
    assert response.status_code == 200
    [renewed] = session_cookies(response, settings)
    attrs = renewed.lower()
    assert "httponly" in attrs and "path=/" in attrs and "samesite=lax" in attrs
    token = renewed.split(";", 1)[0].split("=", 1)[1]
    payload = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM], audience=AUDIENCE)
    now = datetime.now(UTC).timestamp()
    assert payload["exp"] > now + (settings.session_minutes - 2) * 60
    assert payload["exp"] <= now + settings.session_minutes * 60 + 1
    assert payload["sub"] == str(user["id"])
    # The renewed cookie is a working session of the same user.
    client.cookies.set(cookie_name(settings), token)
    again = await client.get("/", follow_redirects=False)
    assert again.status_code == 200 and user["display_name"] in again.text
    # A fresh session is not renewed on every request.
    assert session_cookies(again, settings) == []


async def test_renewal_does_not_revive_a_revoked_or_expired_session(client, settings):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d)
    old = token_expiring_in(user, settings, 10)
    await accounts.revoke_sessions(user["id"])
    response = await page_with_cookie(client, settings, old)
    assert_sent_to_login(response)
    assert session_cookies(response, settings) == []
    expired = token_expiring_in(user, settings, -1)
    response = await page_with_cookie(client, settings, expired)
    assert_sent_to_login(response)
    assert session_cookies(response, settings) == []


async def test_sign_out_of_an_old_session_is_not_undone_by_renewal(client, settings):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d)
    client.cookies.set(cookie_name(settings), token_expiring_in(user, settings, 10))
    home = await client.get("/")
    client.cookies.set(cookie_name(settings), token_expiring_in(user, settings, 10))
    response = await client.post(
        "/logout", data={"_csrf_token": page_csrf(home.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    [cleared] = session_cookies(response, settings)
    assert "max-age=0" in cleared.lower() or "expires=" in cleared.lower()
    assert_sent_to_login(await client.get("/", follow_redirects=False))


async def test_bearer_tokens_get_no_session_cookie(client, settings, app):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d)
    headers = {"Authorization": f"Bearer {token_expiring_in(user, settings, 5)}"}
    route = api_get_route(app)
    response = await client.get(route, headers=headers)
    assert response.status_code == 200
    assert session_cookies(response, settings) == []
    response = await client.get("/", headers=headers, follow_redirects=False)
    assert session_cookies(response, settings) == []


# --- signing in ----------------------------------------------------------------------------


def translated(exc) -> str:
    i18n.set_locale("zh_Hans")
    return i18n.error_message(exc)


async def test_sign_in_by_username_and_by_phone(clients):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="byname", phone="13912345678")
    async with clients() as c:
        r = await sign_in(c, "byname")
        assert r.status_code == 303
        assert (await c.get("/", follow_redirects=False)).status_code == 200
    async with clients() as c:
        r = await sign_in(c, "13912345678")
        assert r.status_code == 303
        assert (await c.get("/", follow_redirects=False)).status_code == 200
    async with clients() as c:
        # Surrounding blanks from a phone keyboard are forgiven.
        assert (await sign_in(c, "  13912345678 ")).status_code == 303


async def test_wrong_password_or_unknown_user_is_401_with_the_same_message(client):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d, username="careful")
    wrong = await sign_in(client, "careful", "not the password")
    unknown = await sign_in(client, "nobody-here", "whatever")
    message = translated(Unauthorized("Wrong username, phone number or password."))
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert 'role="alert"' in response.text
        assert message in response.text
        assert cookie_name_in(response) is False
    # The page never shows the stored hash, nor any hash at all.
    assert user["password_hash"] not in wrong.text
    assert "$argon2" not in wrong.text
    # What the user typed comes back escaped.
    evil = await sign_in(client, '"><script>alert(1)</script>', "x")
    assert "<script>alert(1)" not in evil.text


def cookie_name_in(response: httpx.Response) -> bool:
    return any(
        c.split("=", 1)[0] in ("session", "__Host-session")
        for c in response.headers.get_list("set-cookie")
    )


async def test_inactive_user_cannot_sign_in_with_the_right_password(client):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d, username="inactive")
    await User.update({User.active: False}).where(User.id == user["id"])
    response = await sign_in(client, "inactive")
    assert response.status_code == 401
    assert not cookie_name_in(response)


async def test_after_the_limit_even_the_right_password_is_429(client, settings):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="target")
    for _ in range(settings.login_max_failures):
        assert (await sign_in(client, "target", "guess")).status_code == 401
    blocked = await sign_in(client, "target")
    assert blocked.status_code == 429
    retry = int(blocked.headers["retry-after"])
    assert 0 < retry <= settings.login_window_seconds + 1
    minutes = -(-retry // 60)
    message = RateLimited("Too many attempts. Try again in %(minutes)s min.", {"minutes": minutes})
    assert translated(message) in blocked.text
    assert f"{minutes} 分钟后再试" in blocked.text
    assert not cookie_name_in(blocked)


async def test_account_limit_holds_across_addresses(clients, settings):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="spread", phone="13700000001")
    for n in range(settings.login_max_failures):
        async with clients(address=f"203.0.113.{n + 1}") as c:
            assert (await sign_in(c, "spread", "guess")).status_code == 401
    async with clients(address="198.51.100.7") as fresh:
        assert (await sign_in(fresh, "spread")).status_code == 429
        # The account is the same whether named by username or phone number.
        assert (await sign_in(fresh, "13700000001")).status_code == 429
        # A spoofed forwarding header does not change the address that is counted.
        page = await fresh.get("/login")
        r = await fresh.post(
            "/login",
            data={"login": "spread", "password": f.PASSWORD, "_csrf_token": csrf_from(page.text)},
            headers={"X-Forwarded-For": "192.0.2.99"},
            follow_redirects=False,
        )
        assert r.status_code == 429


async def test_alternating_username_and_phone_does_not_double_the_attempts(clients, settings):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="twoname", phone="13700000002")
    names = ["twoname", "13700000002"]
    for n in range(settings.login_max_failures):
        async with clients(address=f"203.0.113.{n + 1}") as c:
            assert (await sign_in(c, names[n % len(names)], "guess")).status_code == 401
    async with clients(address="198.51.100.8") as c:
        assert (await sign_in(c, "twoname")).status_code == 429


async def test_address_limit_holds_across_accounts(clients, settings, app):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="innocent")
    per_address = settings.login_max_failures * 4
    async with clients(address="203.0.113.50") as attacker:
        for n in range(per_address):
            # A different (non-existent) account each time: no account limit is reached.
            assert (await sign_in(attacker, f"user{n}", "guess")).status_code == 401
        assert (await sign_in(attacker, "innocent")).status_code == 429
    async with clients(address="203.0.113.51") as neighbour:
        assert (await sign_in(neighbour, "innocent")).status_code == 303


async def test_the_limit_is_kept_in_the_database(db):
    """What one worker process counted, another sees: the failures are rows, not memory."""
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="rows")
    now = datetime.now(UTC)
    for n in range(3):
        with pytest.raises(Unauthorized):
            await accounts.authenticate("rows", "bad", f"10.0.0.{n}", now=now, max_failures=3)
    assert await LoginFailure.count() >= 3
    with pytest.raises(RateLimited) as info:
        await accounts.authenticate("rows", f.PASSWORD, "10.9.9.9", now=now, max_failures=3)
    assert info.value.extra["retry_after"] > 0
    # Once the window has passed, the right password works again and clears the account.
    later = now + timedelta(minutes=16)
    user = await accounts.authenticate("rows", f.PASSWORD, "10.9.9.9", now=later, max_failures=3)
    assert user["username"] == "rows"


async def test_a_burst_of_guesses_at_once_gets_no_more_tries_than_the_limit(db):
    """Guesses sent all at once (across worker processes, or while argon2 runs in threads)
    must not all pass the count before any failure is written: each attempt is counted
    before its password is checked, so at most `max_failures` of them are tried."""
    import asyncio

    d = await f.dealer()
    await f.user("dealer_buyer", d, username="burst")
    now = datetime.now(UTC)

    async def guess(n: int) -> str:
        try:
            await accounts.authenticate("burst", f"bad-{n}", f"10.1.0.{n}", now=now, max_failures=3)
        except Unauthorized:
            return "tried"
        except RateLimited:
            return "refused"
        return "signed in"

    outcomes = await asyncio.gather(*(guess(n) for n in range(12)))
    assert outcomes.count("tried") <= 3, outcomes
    assert outcomes.count("refused") >= 9
    # The limit's window is as before: the refused attempts did not lengthen it.
    later = now + timedelta(minutes=16)
    user = await accounts.authenticate("burst", f.PASSWORD, "10.9.9.9", now=later, max_failures=3)
    assert user["username"] == "burst"
    # A right password clears what it counted: no row of its own stays behind.
    assert not await LoginFailure.exists().where(LoginFailure.key.like("%10.9.9.9"))


async def test_api_token_login_shares_the_limit(clients, settings, app):
    assert "/api/v1/auth/token" in {r.path for r in app.routes}
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="apiuser")
    async with clients(address="203.0.113.60") as c:
        for _ in range(settings.login_max_failures):
            r = await c.post("/api/v1/auth/token", json={"username": "apiuser", "password": "x"})
            assert r.status_code == 401
            assert r.headers["content-type"].startswith("application/problem+json")
        r = await c.post("/api/v1/auth/token", json={"username": "apiuser", "password": f.PASSWORD})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["type"].endswith("rate-limited")
    async with clients(address="203.0.113.61") as c:
        assert (await sign_in(c, "apiuser")).status_code == 429


# --- CSRF and the API ----------------------------------------------------------------------


async def test_logout_needs_the_csrf_token(client, settings):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="csrf1")
    await sign_in(client, "csrf1")
    refused = await client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    forged_token = await client.post(
        "/logout", data={"_csrf_token": "x" * 64}, follow_redirects=False
    )
    assert forged_token.status_code == 403
    # Still signed in: nothing happened.
    home = await client.get("/", follow_redirects=False)
    assert home.status_code == 200
    ok = await client.post(
        "/logout", data={"_csrf_token": page_csrf(home.text)}, follow_redirects=False
    )
    assert ok.status_code == 303


async def test_htmx_requests_carry_the_csrf_token_in_a_header(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="csrf2")
    await sign_in(client, "csrf2")
    home = await client.get("/")
    match = re.search(r'"x-csrftoken": "([^"]+)"', home.text)
    assert match, "base.html should send the CSRF token from <body hx-headers>"
    ok = await client.post(
        "/logout",
        headers={"x-csrftoken": match.group(1), "HX-Request": "true"},
        follow_redirects=False,
    )
    assert ok.status_code == 303


async def test_language_choice_needs_the_csrf_token(client):
    d = await f.dealer()
    user = await f.user("dealer_buyer", d, username="polyglot")
    await sign_in(client, "polyglot")
    refused = await client.post("/lang", data={"locale": "en"}, follow_redirects=False)
    assert refused.status_code == 403
    row = await User.select(User.locale).where(User.id == user["id"]).first()
    assert row["locale"] == "zh_Hans"
    home = await client.get("/")
    ok = await client.post(
        "/lang",
        data={"locale": "en", "_csrf_token": page_csrf(home.text), "next": "/"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/"
    assert client.cookies.get("lang") == "en"
    row = await User.select(User.locale).where(User.id == user["id"]).first()
    assert row["locale"] == "en"


async def test_login_itself_needs_the_csrf_token(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="csrf3")
    await client.get("/login")
    r = await client.post(
        "/login", data={"login": "csrf3", "password": f.PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    assert not cookie_name_in(r)


async def test_api_refuses_a_session_cookie_without_a_bearer_token(client, app):
    route = api_get_route(app)
    assert route is not None, "the API has a GET route to try the cookie on"
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="cookieonly")
    assert (await sign_in(client, "cookieonly")).status_code == 303
    assert (await client.get("/", follow_redirects=False)).status_code == 200
    assert_api_refused(await client.get(route))


async def test_api_needs_no_csrf_token_but_a_bearer(client, app):
    assert "/api/v1/auth/token" in {r.path for r in app.routes}
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="apitoken")
    r = await client.post(
        "/api/v1/auth/token", json={"username": "apitoken", "password": f.PASSWORD}
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    route = api_get_route(app)
    if route:
        ok = await client.get(route, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200


# --- headers, cookies, redirects -----------------------------------------------------------


def assert_security_headers(r: httpx.Response) -> None:
    csp = r.headers.get("content-security-policy")
    assert csp, f"{r.request.url} {r.status_code}: no Content-Security-Policy"
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == "script-src 'self'"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] in (
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    )


async def test_no_hsts_over_plain_http(client):
    # Over plain HTTP (the embedded default, a developer's machine) it would mean nothing.
    assert "strict-transport-security" not in (await client.get("/login")).headers


async def test_pages_send_the_security_headers(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="headers")
    assert_security_headers(await client.get("/login"))
    failed = await sign_in(client, "headers", "wrong")
    assert failed.status_code == 401
    assert_security_headers(failed)
    await sign_in(client, "headers")
    assert_security_headers(await client.get("/"))


async def test_error_pages_send_the_security_headers_too(client):
    assert_security_headers(await client.get("/no-such-page"))
    assert_security_headers(await client.post("/logout"))
    assert_security_headers(await client.get("/", follow_redirects=False))


async def test_session_cookie_is_httponly_and_samesite(client, settings):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="cookie1")
    r = await sign_in(client, "cookie1")
    header = next(
        c for c in r.headers.get_list("set-cookie") if c.startswith(f"{cookie_name(settings)}=")
    )
    attrs = header.lower()
    assert cookie_name(settings) == "session"
    assert "httponly" in attrs
    client.cookies.clear()
    csrf_cookie = next(
        c for c in (await client.get("/login")).headers.get_list("set-cookie") if "csrf" in c
    )
    assert "httponly" in csrf_cookie.lower() and "samesite=strict" in csrf_cookie.lower()
    assert re.search(r"samesite=(lax|strict)", attrs)
    assert "path=/" in attrs
    # The token's expiry is short and pinned to the configured lifetime.
    token = header.split(";", 1)[0].split("=", 1)[1]
    payload = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM], audience=AUDIENCE)
    lifetime = payload["exp"] - payload["iat"]
    assert 0 < lifetime <= settings.session_minutes * 60
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


async def test_secure_settings_use_a_host_prefixed_secure_cookie(db, database_url, tmp_path):
    secure = Settings.from_env(
        {
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_VAR_DIR": str(tmp_path),
            "PORTAL_SECURE_COOKIES": "1",
        }
    )
    app = create_app(secure, engine=db)
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="secure1")
    async with _open(app, base_url="https://portal.example") as c:
        r = await sign_in(c, "secure1")
        assert r.status_code == 303, r.text[:300]
        header = next(
            c for c in r.headers.get_list("set-cookie") if c.startswith("__Host-session=")
        )
        attrs = [a.strip().lower() for a in header.split(";")]
        assert "secure" in attrs
        assert "httponly" in attrs
        assert "path=/" in attrs
        assert not any(a.startswith("domain=") for a in attrs)
        assert not any(c.startswith("session=") for c in r.headers.get_list("set-cookie"))
        home = await c.get("/", follow_redirects=False)
        assert home.status_code == 200
        assert home.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/login",
        "https://evil.example",
        "http://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
async def test_next_cannot_redirect_off_site(target, client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="nexter")
    page = await client.get("/login", params={"next": target})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    r = await client.post(
        "/login",
        data={
            "login": "nexter",
            "password": f.PASSWORD,
            "next": target,
            "_csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert location == "/", location


async def test_next_keeps_a_same_site_path(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="nexter2")
    page = await client.get("/login", params={"next": "/orders?state=approved"})
    r = await client.post(
        "/login",
        data={
            "login": "nexter2",
            "password": f.PASSWORD,
            "next": "/orders?state=approved",
            "_csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/orders?state=approved"


async def test_language_next_cannot_redirect_off_site(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="polyglot2")
    await sign_in(client, "polyglot2")
    page = await client.get("/")
    r = await client.post(
        "/lang",
        data={"locale": "en", "next": "//evil.example", "_csrf_token": page_csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "evil" not in r.headers["location"]


async def test_a_double_slash_path_does_not_become_an_off_site_next(client):
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="slashes")
    r = await client.get("http://testserver.local//evil.example/", follow_redirects=False)
    assert r.status_code in (303, 404)
    if r.status_code == 303:
        location = r.headers["location"]
        assert location.startswith("/login"), location
        page = await client.get(location)
        assert "evil.example" not in page.text
        signed = await client.post(
            "/login",
            data={
                "login": "slashes",
                "password": f.PASSWORD,
                "next": "//evil.example/",
                "_csrf_token": csrf_from(page.text),
            },
            follow_redirects=False,
        )
        assert signed.headers["location"] == "/"


def test_secure_settings_names(tmp_path):
    s = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_SECURE_COOKIES": "1"})
    assert cookie_name(s) == "__Host-session"
    assert cookie_name(replace(s, secure_cookies=False)) == "session"
