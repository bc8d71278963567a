"""Session tokens: a JWT in an HttpOnly cookie for pages, the same JWT as a bearer for the API."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import Components, SecurityScheme
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware, Token
from litestar.types import Message, Scope

from portal.domain import api_keys
from portal.domain.accounts import session_actor
from portal.domain.scope import Actor
from portal.settings import Settings

AUDIENCE = "dealer-portal"
# A page session's cookie is made again when used this long after it was made.
RENEW_AFTER = timedelta(minutes=5)
ALGORITHM = "HS256"

# Paths anyone may reach without a session.
PUBLIC_PATHS = [
    "^/login",
    "^/static/",
    "^/health",
    "^/schema",
    "^/api/v1/auth/token",
    "^/favicon.ico",
    "^/manifest.webmanifest",
    "^/sw.js",
    "^/offline",
]


class VerifiedToken(Token):
    """Litestar's Token, with the tokens this process has already verified remembered.

    A phone or an integration sends the same token with every request, and checking its
    signature and decoding its claims cost about 60 µs each time. A token seen before, byte
    for byte and under the same secret and checks, is taken from memory; its expiry (and
    not-before) is checked again on every use, and whether it was revoked is still decided
    by the database in retrieve_actor. At most CACHE_SIZE tokens, the least recently used
    going first.
    """

    CACHE_SIZE: ClassVar[int] = 4096
    _verified: ClassVar[OrderedDict[tuple, Token]] = OrderedDict()

    @classmethod
    def decode(cls, encoded_token: str, secret: str, algorithm: str, *args: Any, **kwargs: Any):
        key = (encoded_token, secret, algorithm, repr(args), repr(sorted(kwargs.items())))
        token = cls._verified.get(key)
        if token is not None and _still_valid(token):
            cls._verified.move_to_end(key)
            return token
        cls._verified.pop(key, None)
        token = super().decode(encoded_token, secret, algorithm, *args, **kwargs)
        cls._verified[key] = token
        if len(cls._verified) > cls.CACHE_SIZE:
            cls._verified.popitem(last=False)
        return token


def _still_valid(token: Token) -> bool:
    now = datetime.now(UTC)
    not_before = token.extras.get("nbf")
    return token.exp > now and (not_before is None or not_before <= now.timestamp())


def cookie_name(settings: Settings) -> str:
    # The __Host- prefix pins the cookie to this host over HTTPS, path /, no Domain.
    return "__Host-session" if settings.secure_cookies else "session"


async def retrieve_actor(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> Actor | None:
    """The Actor behind a token, checked against the database on every request.

    The API takes bearer tokens only: a cookie alone does not authenticate /api/, which is
    why the API needs no CSRF token.
    """
    if connection.scope["path"].startswith("/api/") and not connection.headers.get("authorization"):
        return None
    try:
        user_id = int(token.sub)
        version = int(token.extras.get("ver", -1))
    except (TypeError, ValueError):
        return None
    return await session_actor(user_id, version)


def session_reader(
    auth: JWTCookieAuth[Actor, Token],
) -> Callable[[ASGIConnection[Any, Any, Any, Any]], Awaitable[Actor | None]]:
    """A reader of the signed-in user behind a request's session, or None, by the
    authentication middleware's own code (signature, claims, token version).

    For answers given before that middleware runs: an address with no route is refused by
    the router, so its 404 page would not know who is asking (and lose the tab bar)."""
    define = auth.middleware
    checker = define.middleware(app=None, **define.kwargs)

    async def read(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
        try:
            return (await checker.authenticate_request(connection)).user
        except NotAuthorizedException:
            return None

    return read


class PortalAuthenticationMiddleware(JWTCookieAuthenticationMiddleware):
    """Litestar's JWT cookie/bearer middleware, also taking integration keys
    (`Authorization: Bearer dpk_…`, portal.domain.api_keys) on the API's paths."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, value = (connection.headers.get("authorization") or "").partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and api_keys.looks_like_key(value):
            actor = None
            if connection.scope["path"].startswith("/api/"):
                actor = await api_keys.actor_for_key(value)
            if actor is None:
                raise NotAuthorizedException()
            return AuthenticationResult(user=actor, auth=None)
        return await super().authenticate_request(connection)


class PortalJWTAuth(JWTCookieAuth[Actor, Token]):
    """The session cookie for pages, a bearer token (or an integration key) for the API. The
    API's OpenAPI document names only the bearer scheme: Litestar's cookie variant also gives
    it the cookie's name and `in: cookie`, which an HTTP bearer scheme does not have and which
    sends a client generator looking for a cookie."""

    @property
    def openapi_components(self) -> Components:
        return Components(
            security_schemes={
                self.openapi_security_scheme_name: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT or dpk_ key",
                    description=self.description,
                )
            }
        )


def make_auth(settings: Settings) -> JWTCookieAuth[Actor, Token]:
    return PortalJWTAuth(
        authentication_middleware_class=PortalAuthenticationMiddleware,
        token_cls=VerifiedToken,
        token_secret=settings.secret_key,
        retrieve_user_handler=retrieve_actor,
        algorithm=ALGORITHM,
        key=cookie_name(settings),
        secure=settings.secure_cookies,
        samesite="lax",
        default_token_expiration=timedelta(minutes=settings.session_minutes),
        accepted_audiences=[AUDIENCE],
        require_claims=["exp", "aud", "sub"],
        exclude=PUBLIC_PATHS,
        description="Bearer token from POST /api/v1/auth/token, or an integration key (dpk_…)",
    )


def issue_token(auth: JWTCookieAuth, user: dict, minutes: int) -> str:
    return auth.create_token(
        identifier=str(user["id"]),
        token_expiration=timedelta(minutes=minutes),
        token_audience=AUDIENCE,
        token_extras={"ver": user["token_version"]},
    )


def session_cookie(settings: Settings, auth: JWTCookieAuth, user: dict) -> Cookie:
    """The page session cookie for `user` (its id and token_version): after sign-in, after a
    password change ended the user's other sessions, and when an active session is renewed."""
    return Cookie(
        key=cookie_name(settings),
        value=issue_token(auth, user, settings.session_minutes),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
        max_age=settings.session_minutes * 60,
    )


def session_renewer(
    settings: Settings, auth: JWTCookieAuth
) -> Callable[[Message, Scope], Awaitable[None]]:
    """A before-send hook: a page session used again a few minutes after its cookie was made
    gets a fresh cookie.

    The lifetime is short (settings.session_minutes), so a phone left signed in is signed out
    that long after it was last used; someone using the portal stays signed in, their cookie
    renewed at most once every few minutes (RENEW_AFTER, at most half the lifetime).

    Only a session that came in by cookie and was accepted (its token version checked
    against the database on this request) is renewed; bearer tokens and integration keys
    keep their own expiry, and a response that sets or clears the session cookie itself
    (sign-in, sign-out, a password change) is left alone.
    """
    name = cookie_name(settings)
    lifetime = timedelta(minutes=settings.session_minutes)
    renew_below = lifetime - min(RENEW_AFTER, lifetime / 2)

    async def renew(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope["type"] != "http":
            return
        token = scope.get("auth")
        actor = scope.get("user")
        if not isinstance(token, Token) or not isinstance(actor, Actor):
            return
        if scope["path"].startswith("/api/"):
            return
        request_headers = dict(scope["headers"])
        if b"authorization" in request_headers:
            return
        if token.exp - datetime.now(UTC) > renew_below:
            return
        headers = MutableScopeHeaders.from_message(message)
        prefix = f"{name}=".lower()
        if any(v.lower().startswith(prefix) for v in headers.getall("set-cookie", [])):
            return
        version = token.extras.get("ver")
        cookie = session_cookie(settings, auth, {"id": actor.user_id, "token_version": version})
        headers.add("set-cookie", cookie.to_header(header="").strip())

    return renew
