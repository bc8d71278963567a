"""create_app(settings): routes, auth, CSRF, templates, error rendering, engine lifecycle."""

from __future__ import annotations

import asyncio
import decimal
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import unquote_to_bytes, urlencode, urlsplit

import msgspec
from jinja2 import Environment
from litestar import Litestar, Request, Response, get
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader, MutableScopeHeaders, State
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.htmx import HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.security.jwt import JWTCookieAuth
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Message, Scope
from markupsafe import Markup
from piccolo.engine.base import Engine

from portal import db as dbmod
from portal import housekeeping, i18n, mail, webhooks
from portal.auth.session import make_auth, session_reader, session_renewer
from portal.domain import supplier
from portal.domain import webhooks as webhook_rules
from portal.domain.errors import (
    DomainError,
    FieldError,
    NotFound,
    Unauthorized,
    ValidationFailed,
    _,
)
from portal.settings import ROOT, Settings
from portal.web import api_docs
from portal.web import common as page_common
from portal.web.catalog_rows import catalog_rows
from portal.web.common import variant_extra

log = logging.getLogger("portal")

TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
PROBLEM = "application/problem+json"
# While the database was unreachable at start-up, try to start the pool this often.
DB_RETRY_SECONDS = 2.0
NO_SUCH_ADDRESS = _("There is nothing at this address. Check the link.")


def template_gettext(message: str, /, **variables: Any) -> Markup:
    """`_()` and `gettext()` in templates, as jinja2.ext.i18n's newstyle gettext gives them
    with autoescape on (every template here is HTML): translated, then formatted with the
    variables escaped. Without the extension's three nested context calls per string: about
    5% of a catalog page's CPU (some 40 strings), measured in process."""
    return Markup(i18n.translations(i18n.get_locale()).gettext(message)) % variables


def template_ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> Markup:
    """`ngettext()` in templates, newstyle: `num` is a variable too; formatted once."""
    text = i18n.translations(i18n.get_locale()).ngettext(singular, plural, num)
    return Markup(text) % {"num": num, **variables}


def configure_jinja(env: Environment) -> None:
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    # What the templates call (they have no {% trans %} tags): the quicker equivalents.
    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    env.filters["money"] = i18n.money
    env.filters["number"] = i18n.number
    env.filters["weight"] = i18n.weight
    env.filters["datetime"] = i18n.local_datetime
    env.filters["date"] = i18n.local_date
    env.filters["period"] = i18n.period_label
    env.globals["field_message"] = i18n.field_message
    env.globals["LOCALE_NAMES"] = i18n.LOCALE_NAMES
    env.globals["get_locale"] = i18n.get_locale
    env.globals["variant_extra"] = variant_extra
    env.globals["catalog_rows"] = catalog_rows
    env.trim_blocks = True
    env.lstrip_blocks = True
    # Templates change with a deploy (and a restart), not while serving: without this every
    # {% include %} of every catalog row asked the file system for the template's mtime.
    env.auto_reload = False


def is_api(request: Request) -> bool:
    return request.scope["path"].startswith("/api/")


def problem(
    request: Request, status: int, type_: str, title: str, detail: str, /, **extra: Any
) -> Response:
    body = {
        "type": f"/problems/{type_}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.scope["path"],
    }
    # A domain error's details never replace the standard members (an order's "status"
    # in a conflict is not the HTTP status).
    body.update({k: v for k, v in extra.items() if k not in body})
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def who_is_lost(auth: JWTCookieAuth) -> Callable[[Exception, Scope], Awaitable[None]]:
    """An after-exception hook: for a page address with no route, read the session as the
    authentication middleware would have (the router refused the address before it ran), so
    the 404 page keeps the signed-in user's tab bar and start page."""

    read_session = session_reader(auth)

    async def hook(exc: Exception, scope: Scope) -> None:
        if (
            not isinstance(exc, NotFoundException)
            or scope["type"] != "http"
            or scope.get("user") is not None
            or scope["path"].startswith(("/api/", "/static/"))
        ):
            return
        try:
            scope["user"] = await read_session(ASGIConnection(scope))
        except Exception:  # the database being down must not turn a 404 into a 500
            log.warning("could not read the session for a 404 page", exc_info=True)

    return hook


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    from portal.web.common import CHROME_STATE, home_path, tabs_for

    htmx = isinstance(request, HTMXRequest) and bool(request.htmx)
    template = "_error.html" if htmx else "error.html"
    actor = request.scope.get("user")
    # The frame the page would have had (the supplier's name, the bell), where it was read
    # before the error: an error page is still the portal's.
    chrome = request.state.get(CHROME_STATE) if actor is not None else None
    return Template(
        template_name=template,
        context={
            "status": status,
            "title": title,
            "detail": detail,
            "request": request,
            "actor": actor,
            "brand": getattr(chrome, "brand", ""),
            "unread_count": getattr(chrome, "unread", 0),
            "cart_count": getattr(chrome, "cart_count", 0),
            # The tab bar stays, so a 404 is never a dead end on a phone.
            "tabs": tabs_for(actor),
            # "/" takes anyone else to sign in.
            "home": home_path(actor) if actor else "/",
        },
        status_code=status,
    )


def render_domain_error(request: Request, exc: DomainError) -> Response:
    i18n.set_locale(_request_locale(request))
    detail = i18n.error_message(exc)
    if is_api(request):
        errors = [{"field": e.field, "message": i18n.field_message(e)} for e in exc.errors]
        extra = dict(exc.extra)
        if errors:
            extra["errors"] = errors
        return problem(request, exc.status, exc.type, i18n.gettext(exc.title), detail, **extra)
    if isinstance(exc, Unauthorized):
        return sign_in_again(request, "/")
    response = error_page(request, exc.status, i18n.gettext(exc.title), detail)
    if "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def sign_in_again(request: Request, nxt: str) -> Response:
    """To the sign-in page, and back to `nxt` after it. An htmx request (a tap on + in the
    catalog when the session has ended) would follow a redirect and swap the sign-in page into
    the fragment: it is told to load the sign-in page as a whole page instead, and to come back
    to the page the user was on (HX-Current-URL), not to the fragment's address."""
    from portal.web.account import safe_next

    htmx = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )
    if htmx:
        current = urlsplit(request.headers.get("hx-current-url") or "")
        page = current.path + (f"?{current.query}" if current.query else "")
        nxt = safe_next(page) or "/"
    target = "/login" if nxt == "/" else f"/login?{urlencode({'next': nxt})}"
    if htmx:
        return Response(b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def render_http_error(request: Request, exc: HTTPException) -> Response:
    i18n.set_locale(_request_locale(request))
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        if is_api(request):
            response = problem(
                request,
                401,
                "unauthorized",
                i18n.gettext("Please sign in."),
                i18n.gettext("A valid bearer token is required."),
            )
            # RFC 6750: how to authenticate (a client library reads this to refresh its token).
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        # Back to where the user was after signing in, search and filters included.
        nxt = request.scope["path"]
        query = request.scope.get("query_string", b"").decode("latin-1")
        if query:
            nxt = f"{nxt}?{query}"
        return sign_in_again(request, nxt)
    if isinstance(exc, ValidationException) or (isinstance(exc, ClientException) and status == 400):
        # Litestar's own checks (types, lengths, missing parameters, malformed JSON) are
        # bad input like any other: a validation problem with messages in the reader's language.
        domain = DomainError(
            _("Some of the input is not valid."), errors=_input_errors(exc, request)
        )
        domain.status = 400
        domain.type = "validation"
        domain.title = _("Some of the input is not valid.")
        return render_domain_error(request, domain)
    if isinstance(exc, NotFoundException):
        # No route (or no static file) at this path: say so, rather than a bare "Not found."
        return render_domain_error(request, NotFound(NO_SUCH_ADDRESS))
    if isinstance(exc, PermissionDeniedException):
        title = i18n.gettext("You may not do this.")
        detail = (
            i18n.gettext(
                "The form has expired or was not sent from this site. "
                "Reload the page and try again."
            )
            if "CSRF" in str(exc.detail)
            else title
        )
        if is_api(request):
            return problem(request, 403, "forbidden", title, detail)
        return error_page(request, 403, title, detail)
    if isinstance(exc, MethodNotAllowedException):
        allow = (exc.headers or {}).get("allow", "")
        title = i18n.gettext("This address does not take this method.")
        detail = i18n.gettext("Use one of: %(methods)s.") % {"methods": allow}
        if is_api(request):
            response = problem(request, 405, "method-not-allowed", title, detail)
        else:
            response = error_page(request, 405, title, detail)
        if allow:
            response.headers["Allow"] = allow
        return response
    if status == 415 and is_api(request):
        return problem(
            request,
            415,
            "unsupported-media-type",
            i18n.gettext("This content type is not accepted."),
            i18n.gettext("Send the body as JSON, with Content-Type: application/json."),
        )
    if status == 413:
        # Over the request body limit (create_app): refused before anything is read.
        message = _("The request is larger than %(max)s MB.")
        params = {"max": BODY_LIMIT // 1_048_576}
        refused = ValidationFailed(message, params, errors=[FieldError("body", message, params)])
        refused.status = 413
        return render_domain_error(request, refused)
    if status >= 500:
        log.exception("server error", exc_info=exc)
    title = i18n.gettext("The request could not be completed.")
    if is_api(request):
        return problem(request, status, "error", title, str(exc.detail))
    return error_page(request, status, title, title)


API_DESCRIPTION = """\
The dealer ordering portal's JSON API: the same rules as its pages, for ERPs, a dealer's own
systems and scripts.

**Authentication.** `POST /api/v1/auth/token` with a username (or phone) and password gives a
short-lived bearer token; an integration key (`dpk_…`, made at /me/api-keys) acts as its
user until revoked. Send either as `Authorization: Bearer …`. What a caller sees and may do is
its user's role and scope: another dealer's ids answer 404, as ids that do not exist.

**Errors** are RFC 9457 problem documents (`application/problem+json`) with a stable `type`:
`/problems/validation` (with `errors`: field and message), `not-found`, `conflict`,
`unauthorized`, `forbidden`, `rate-limited` (with `Retry-After`), `credit-exceeded` (with the
figures: available, order_total, credit_limit, exposure, tolerance), `overdue-blocked`,
`insufficient-stock` (with the short `lines`: an order's, or a shipment's in the warehouse
chosen), `prices-changed` (an order's total is not the `expected_total` sent; with
`order_total`), `method-not-allowed`, `unsupported-media-type`, `unavailable` (503, with
`Retry-After`). Each type's address is a page saying what it means and what its members are;
`/problems` lists them. Titles and details are in the caller's language (`Accept-Language`:
zh-CN, zh-TW, en).

**Field names** in `errors` are the input as sent: a path in the JSON body, lines by their
index in it (`lines[0].qty`, `lines[0].unit_price`, `lines[1]` for a line as a whole,
`lines[0].order_line_id` for a line the order does not have, `lines` for the list), a query or
path parameter's name, or `body` for the body as a whole.

**Input** is taken as declared: a quantity or id is a JSON integer (not "24", not 24.0), a
flag a JSON boolean, money a decimal string in yuan ("1234.50"), a day `YYYY-MM-DD` in
Asia/Shanghai. A field a body does not know, or a query parameter an endpoint does not read,
is refused rather than ignored. Bodies are at most 1 MB. A change (PUT) keeps what it leaves
out.

**Idempotency.** `POST /api/v1/orders` needs an `Idempotency-Key` header (1–100 visible ASCII
characters): the same key and body again returns the first order (200), the same key with
another body is 409. Payments, credit notes, shipments, returns and addresses take one too.
"""

# Why a request holding a NUL character or bytes that are not UTF-8 is refused.
MSG_NOT_TEXT = _(
    "The input holds a character that is not allowed (NUL) or is not UTF-8 text, or a number "
    "beyond any that is stored."
)

MSG_CHOICES = _("Choose one of: %(choices)s.")

# The largest request body taken (forms and order bodies are small; uploads set their own).
BODY_LIMIT = 1_048_576

# Litestar/msgspec validation messages (English, technical) -> msgids for the reader.
_INPUT_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Object missing required field `(?P<name>[^`]+)`"), _("This is required.")),
    (
        re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`"),
        _("This field is not known here; leave it out."),
    ),
    (re.compile(r"^Expected `int` >= (?P<min>-?\d+)"), _("Must be at least %(min)s.")),
    (re.compile(r"^Expected `int` <= (?P<max>-?\d+)"), _("Must be at most %(max)s.")),
    (re.compile(r"^Expected `(int|int \| null)`"), _("Enter a whole number.")),
    (re.compile(r"^Expected `str` of length >= 1\b"), _("This is required.")),
    (re.compile(r"^Expected `str` of length <= (?P<max>\d+)"), _("At most %(max)s characters.")),
    (re.compile(r"^Expected `array` of length >= 1\b"), _("Give at least one.")),
    (re.compile(r"^Expected `array` of length <= (?P<max>\d+)"), _("At most %(max)s items.")),
    (re.compile(r"^Expected `(bool|bool \| null)`"), _("Enter true or false.")),
    (re.compile(r"^Expected `(str|str \| null)`, got"), _("Enter text, in quotes.")),
    (re.compile(r"^Invalid RFC3339 encoded date"), _("Enter a date as YYYY-MM-DD.")),
    (re.compile(r"^Invalid (RFC3339 encoded )?datetime"), _("Enter a date and time in ISO 8601.")),
]
_MISSING_PARAMETER = re.compile(r"^Missing required \w+ parameter '(?P<name>[^']+)'")


_ENUM = re.compile(r"^Invalid enum value '(?P<value>[^']*)'(?: - at `\$\.(?P<path>[\w.]+)`)?")


def _choices(request: Request | None, field: str, path: str | None) -> list[str]:
    """The values a Literal parameter or body field takes, read from the route's own
    signature (a query parameter by name, a body field by its path), or []."""
    handler = request.scope.get("route_handler") if request is not None else None
    signature = getattr(handler, "parsed_fn_signature", None)
    if signature is None:
        return []
    if field == "data" or path or field not in signature.parameters:
        data = signature.parameters.get("data")
        hint: Any = data.annotation if data is not None else None
        body_path = path or ("" if field == "data" else field)
        for name in body_path.split("."):
            hint = _unwrap(hint)
            fields = getattr(hint, "__annotations__", None)
            if not fields or name not in fields:
                return []
            hint = get_type_hints(hint, include_extras=True).get(name)
    else:
        parameter = signature.parameters.get(field)
        hint = parameter.annotation if parameter is not None else None
    hint = _unwrap(hint)
    return [str(v) for v in get_args(hint)] if get_origin(hint) is Literal else []


def _unwrap(hint: Any) -> Any:
    """Annotated[X, ...], X | None and JSONBody wrappers down to X."""
    while True:
        origin = get_origin(hint)
        if origin is Annotated:
            hint = get_args(hint)[0]
        elif origin in (Union, UnionType):
            rest = [a for a in get_args(hint) if a is not type(None)]
            if len(rest) != 1:
                return hint
            hint = rest[0]
        else:
            return hint


def _outside_name(request: Request | None, field: str) -> str:
    """A parameter's name as the caller sent it (?format=, an Idempotency-Key header), not
    the handler's Python name for it (fmt, idempotency_key)."""
    handler = request.scope.get("route_handler") if request is not None else None
    signature = getattr(handler, "parsed_fn_signature", None)
    parameter = signature.parameters.get(field) if signature is not None else None
    kwarg = getattr(parameter, "kwarg_definition", None)
    for attr in ("header", "query", "cookie", "name"):
        alias = getattr(kwarg, attr, None)
        if isinstance(alias, str) and alias:
            return alias
    return field


def _input_errors(exc: HTTPException, request: Request | None = None) -> list[FieldError]:
    """Field errors for Litestar's own validation, as translatable msgids; a value that is
    not one of a field's choices names them (read from the route's signature)."""
    detail = str(exc.detail)
    missing = _MISSING_PARAMETER.match(detail)
    if missing:
        field = _outside_name(request, missing["name"])
        return [FieldError(field=field, message=_("This is required."))]
    if not isinstance(exc, ValidationException):
        # A body that is not JSON at all (or not the expected encoding).
        return [FieldError(field="body", message=_("The request body is not valid JSON."))]
    errors = []
    for raw in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(raw, dict):
            continue
        field = str(raw.get("key", ""))
        text = str(raw.get("message", ""))
        message, params = _("This value is not valid."), {}
        enum = _ENUM.match(text)
        if enum and (choices := _choices(request, field, enum["path"])):
            if enum["path"]:
                field = enum["path"] if field in ("", "data") else f"{field}.{enum['path']}"
            errors.append(
                FieldError(
                    field=_outside_name(request, field),
                    message=MSG_CHOICES,
                    params={"choices": ", ".join(choices)},
                )
            )
            continue
        for pattern, msgid in _INPUT_MESSAGES:
            found = pattern.match(text)
            if found:
                message, params = msgid, found.groupdict()
                name = params.pop("name", None)
                if name:
                    field = f"{field}.{name}" if field and field != "data" else name
                break
        if field == "data" and message == _("This value is not valid."):
            field, message = "body", _("The request body is missing or has the wrong shape.")
        field = _outside_name(request, field) if field else field
        errors.append(FieldError(field=field or "body", message=message, params=params))
    return errors


def render_server_error(request: Request, exc: Exception) -> Response:
    i18n.set_locale(_request_locale(request))
    if _is_bad_input(exc):
        # Input no validator caught and the decoder or the database refused (a NUL character,
        # a number beyond the column, bytes that are not UTF-8): the caller's error, not ours.
        log.warning("bad input refused late: %r", exc)
        domain = DomainError(
            _("Some of the input is not valid."), errors=[FieldError("body", MSG_NOT_TEXT)]
        )
        domain.status = 400
        domain.type = "validation"
        domain.title = _("Some of the input is not valid.")
        return render_domain_error(request, domain)
    if _is_database_down(exc):
        title = i18n.gettext("The service is briefly unavailable.")
        detail = i18n.gettext("We cannot reach the database right now. Please try again shortly.")
        if is_api(request):
            resp = problem(request, 503, "unavailable", title, detail)
        else:
            resp = error_page(request, 503, title, detail)
        resp.headers["Retry-After"] = "5"
        return resp
    log.exception("unhandled error", exc_info=exc)
    title = i18n.gettext("Something went wrong on our side.")
    detail = i18n.gettext("The error has been logged. Please try again.")
    if is_api(request):
        return problem(request, 500, "internal", title, detail)
    return error_page(request, 500, title, detail)


def _is_bad_input(exc: Exception) -> bool:
    import asyncpg

    if isinstance(exc, asyncpg.exceptions.DataError | OverflowError | UnicodeDecodeError):
        return True
    # Decimal arithmetic on a typed amount beyond any precision ("9" * 30 yuan).
    if isinstance(exc, decimal.InvalidOperation):
        return True
    # msgspec's answer to a JSON nesting bomb.
    return isinstance(exc, RecursionError) and "deserializ" in str(exc)


def _is_database_down(exc: Exception) -> bool:
    import asyncpg

    return isinstance(
        exc,
        OSError
        | ConnectionError
        | asyncpg.exceptions.ConnectionDoesNotExistError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.InterfaceError,
    )


def _request_locale(request: Request) -> str:
    if is_api(request) and request.headers.get("accept-language"):
        # An API client says which language it wants on each call; pages use the user's choice.
        return i18n.negotiate(request.headers.get("accept-language"))
    user = request.scope.get("user")
    if user is not None and getattr(user, "locale", None):
        return user.locale
    cookie = request.cookies.get("lang")
    if cookie in i18n.LOCALES:
        return cookie
    if is_api(request) or request.url.path.startswith("/schema"):
        # The API and its reference (for developers) follow the client's language.
        return i18n.negotiate(request.headers.get("accept-language"))
    # Pages are in Simplified Chinese until the reader chooses (the links on the sign-in
    # page, 我的 › 语言): a phone or a headless browser set to en-US is not a choice.
    return i18n.DEFAULT_LOCALE


async def set_request_locale(request: Request) -> None:
    i18n.set_locale(_request_locale(request))


# A NUL character is never valid text: PostgreSQL refuses to store it and SQLite would keep it,
# so it is refused up front, the same on both engines (raw, percent-encoded or JSON-escaped).
_NUL_ENCODED = (b"\x00", b"%00")
_NUL_JSON = (b"\x00", b"\\u0000")


def _is_utf8_form(body: bytes) -> bool:
    """Every name and value of an urlencoded body decodes as UTF-8 (raw or percent-encoded)."""
    try:
        for part in body.split(b"&"):
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _body_not_json(request: Request) -> bool:
    """An API request whose handler reads a JSON body, sent with another content type (no
    content type at all is taken for JSON, as curl and most clients send it)."""
    if not is_api(request) or request.method not in ("POST", "PUT", "PATCH"):
        return False
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type or content_type == "application/json" or content_type.endswith("+json"):
        return False
    return request.route_handler.parsed_data_field is not None


# Per API handler function (module-level, shared by every app instance), the query parameter
# names it reads (built on first use).
_QUERY_NAMES: dict[Callable, frozenset[str]] = {}


def _unknown_query_names(request: Request) -> list[str]:
    """Query parameters an API handler does not read: a misspelt filter (?stauts=) would
    otherwise be ignored and answer with everything."""
    if not is_api(request) or not request.scope.get("query_string"):
        return []
    handler = request.route_handler
    known = _QUERY_NAMES.get(handler.fn)
    if known is None:
        names = set()
        for name, field in handler.parsed_fn_signature.parameters.items():
            names.add(name)
            kwarg = field.kwarg_definition
            for alias in (getattr(kwarg, "name", None), getattr(kwarg, "query", None)):
                if alias:
                    names.add(alias)
        known = _QUERY_NAMES[handler.fn] = frozenset(names)
    return sorted({name for name in request.query_params if name not in known})


# Per API handler function, a strict decoder of its JSON body (built on first use; None: the
# handler reads no body).
_STRICT_BODIES: dict[Callable, msgspec.json.Decoder | None] = {}


def _strict_body_errors(request: Request, body: bytes) -> ValidationException | None:
    """An API body checked by its declared types without coercion: Litestar converts a body
    leniently (the string "24" or the float 24.0 for an integer quantity, "true" for a flag),
    and an integrator whose serializer sends the wrong type would place real orders without
    ever being told. The same refusal as Litestar's own validation gives (a validation
    problem naming the field), before anything runs."""
    handler = request.route_handler
    fn = handler.fn
    if fn not in _STRICT_BODIES:
        field = handler.parsed_data_field
        _STRICT_BODIES[fn] = (
            None if field is None else msgspec.json.Decoder(field.annotation, strict=True)
        )
    decoder = _STRICT_BODIES[fn]
    if decoder is None:
        return None
    try:
        decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, _sep, at = str(exc).partition(" - at `$")
        key = at.rstrip("`").lstrip(".") or "data"
        return ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": message, "key": key, "source": "body"}],
        )
    except msgspec.DecodeError:
        return None  # not JSON at all: Litestar's own decoding says so
    return None


async def prepare_request(request: Request) -> None:
    """Before every handler: refuse NUL characters in the query or a text body, and form bodies
    that are not UTF-8; set the locale."""
    i18n.set_locale(_request_locale(request))
    if _body_not_json(request) and (await request.body()).strip():
        # A JSON endpoint sent a form, text or a file: say so, rather than "not valid JSON".
        raise HTTPException(status_code=415)
    query = request.scope.get("query_string", b"")
    suspect = any(mark in query for mark in _NUL_ENCODED)
    content_type = request.headers.get("content-type", "")
    if not suspect and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        marks: tuple[bytes, ...] = ()
        if content_type.startswith("application/x-www-form-urlencoded"):
            marks = _NUL_ENCODED
        elif "json" in content_type or content_type.startswith("text/"):
            marks = _NUL_JSON
        if marks:
            body = await request.body()  # cached: the handler reads the same bytes
            suspect = any(mark in body for mark in marks)
            if marks is _NUL_ENCODED and not suspect:
                # Form text that is not UTF-8 would otherwise arrive as U+FFFD and be stored.
                suspect = not _is_utf8_form(body)
    unknown = [] if suspect else _unknown_query_names(request)
    if unknown:
        message = _("This parameter is not known here; leave it out.")
        domain = DomainError(
            _("Some of the input is not valid."),
            errors=[FieldError(name, message) for name in unknown],
        )
        domain.status = 400
        domain.type = "validation"
        domain.title = _("Some of the input is not valid.")
        raise domain
    if suspect:
        where = "query" if any(mark in query for mark in _NUL_ENCODED) else "body"
        domain = DomainError(
            _("Some of the input is not valid."), errors=[FieldError(where, MSG_NOT_TEXT)]
        )
        domain.status = 400
        domain.type = "validation"
        domain.title = _("Some of the input is not valid.")
        raise domain
    if is_api(request) and request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        refused = _strict_body_errors(request, body) if body.strip() else None
        if refused is not None:
            raise refused


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
}


async def add_security_headers(message: Message, scope: Scope) -> None:
    """On every response, error pages and redirects made by exception handlers included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for key, value in SECURITY_HEADERS.items():
        if key not in headers:
            headers[key] = value
    if scope.get("scheme") == "https" and "strict-transport-security" not in headers:
        # Served over HTTPS (directly, or by a trusted proxy's X-Forwarded-Proto): the phone
        # keeps to HTTPS from now on, so a café's network cannot strip it on the next visit.
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if "vary" not in headers:
        headers["Vary"] = "HX-Request, Accept-Language, Cookie"
    # Pages and API answers carry a dealer's prices, credit and orders: never in a shared cache.
    if "cache-control" not in headers:
        headers["Cache-Control"] = "private, no-store"


@get("/health/live", sync_to_thread=False, include_in_schema=False)
def health_live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", include_in_schema=False)
async def health_ready() -> Response:
    try:
        await dbmod.ping()
    except dbmod.SchemaBehind:  # reachable, but not migrated to this version: every request
        return Response(  # would fail, so no traffic until `migrate` runs
            {"status": "unavailable", "reason": "migrations pending"}, status_code=503
        )
    except Exception as exc:  # any failure to reach the database means "not ready"
        return Response({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    return Response({"status": "ready"})


def create_app(settings: Settings, engine: Engine | None = None) -> Litestar:
    """The portal. Pass an engine to share one (tests); otherwise one is made from settings."""
    from portal.api import ROUTES as API_ROUTES
    from portal.web import ROUTES as WEB_ROUTES

    owns_engine = engine is None
    engine = engine or dbmod.engine_from_url(settings.database_url)
    auth = make_auth(settings)
    # One installation, one policy (the sender and every writer of an endpoint read it).
    webhook_rules.private_addresses_allowed = settings.webhook_private_addresses
    page_common.flash_key = hashlib.sha256(b"flash:" + settings.secret_key.encode()).digest()

    retry: list[asyncio.Task] = []

    async def start_when_reachable() -> None:
        while True:
            await asyncio.sleep(DB_RETRY_SECONDS)
            try:
                await dbmod.start(engine)
            except Exception as exc:
                if not _is_database_down(exc):
                    raise
                continue
            log.warning("database reachable again: connection pool started")
            return

    async def on_startup(app: Litestar) -> None:
        dbmod.bind_tables(engine)
        if owns_engine:
            try:
                await dbmod.start(engine)
            except Exception as exc:
                if not _is_database_down(exc):
                    raise
                # Say why and answer 503 until it is back (queries still try on their own
                # connections meanwhile), rather than refuse to start or hide the failure.
                log.error("database unreachable at start-up (%r): answering 503 until it is", exc)
                retry.append(asyncio.create_task(start_when_reachable()))
        # Notification mail leaves from the outbox in the background, never inside a request.
        app.state.mail_sender = mail.start(settings.mail) if settings.mail else None
        # Auto-receipt of unconfirmed shipments, in the server that owns its engine (tests
        # sharing an engine drive it themselves).
        app.state.housekeeper = (
            housekeeping.start(supplier.Defaults.of(settings), settings.housekeeping_seconds)
            if owns_engine
            else None
        )
        # Webhook deliveries the order_event trigger wrote, sent and retried in the background.
        app.state.webhook_sender = webhooks.start(settings.webhook_seconds) if owns_engine else None

    async def on_shutdown(app: Litestar) -> None:
        for task in retry:
            task.cancel()
        if app.state.get("mail_sender"):
            await app.state.mail_sender.close()
        if app.state.get("housekeeper"):
            await app.state.housekeeper.close()
        if app.state.get("webhook_sender"):
            await app.state.webhook_sender.close()
        if owns_engine:
            await dbmod.stop(engine)

    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600, public=True),
    )
    app = Litestar(
        route_handlers=[health_live, health_ready, static, *WEB_ROUTES, *API_ROUTES],
        on_app_init=[auth.on_app_init],
        after_exception=[who_is_lost(auth)],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        before_request=prepare_request,
        before_send=[add_security_headers, session_renewer(settings, auth)],
        request_class=HTMXRequest,
        template_config=TemplateConfig(
            directory=Path(TEMPLATES),
            engine=JinjaTemplateEngine,
            engine_callback=lambda e: configure_jinja(e.engine),
        ),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="__Host-csrf" if settings.secure_cookies else "csrftoken",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="strict",
            # Pages carry the token themselves (forms, <body hx-headers>): no script reads it.
            cookie_httponly=True,
            header_name="x-csrftoken",
            exclude=["^/api/"],
        ),
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=500,
            gzip_compress_level=6,
            # Photos and pictures are JPEG/PNG/WebP already: gzip would spend CPU to save nothing.
            exclude=[r"/photos/\d+$", r"^/pictures/products/\d+(/thumb)?$"],
        ),
        openapi_config=OpenAPIConfig(
            title="Dealer ordering portal API",
            version="1",
            description=API_DESCRIPTION,
            path="/schema",
            render_plugins=api_docs.render_plugins(),
        ),
        exception_handlers={
            DomainError: render_domain_error,
            HTTPException: render_http_error,
            Exception: render_server_error,
        },
        state=State(
            {
                "settings": settings,
                "auth": auth,
                # What the supplier's settings are until an administrator saves them.
                "supplier_defaults": supplier.Defaults.of(settings),
            }
        ),
        debug=settings.debug,
        # Logging is the server's business (uvicorn configures it): Litestar's default config
        # would start a queue-listener thread for every app instance.
        logging_config=None,
        # Forms and order bodies are small; refuse anything bigger early (413).
        request_max_body_size=BODY_LIMIT,
    )
    _document_unsupported_media(app)
    return app


def _document_unsupported_media(app: Litestar) -> None:
    """Every API operation that reads a JSON body may answer 415 (prepare_request, for a body
    of another content type) and 413 (over BODY_LIMIT): say so in its OpenAPI responses, once
    for all of them."""
    from portal.api.schemas import problems

    for route in app.routes:
        if not route.path.startswith("/api/"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if handler.parsed_data_field is not None:
                handler.responses = {**(handler.responses or {}), **problems(413, 415)}
