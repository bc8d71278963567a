"""What each problem type of the API means: the pages its `type` addresses lead to
(/problems/credit-exceeded, …; RFC 9457 says a type's URI should document it), and /problems
listing them. Public, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal import i18n
from portal.domain.errors import NotFound, _
from portal.web.common import page


@dataclass(frozen=True)
class ProblemType:
    name: str  # /problems/<name>
    statuses: tuple[int, ...]
    title: str  # the problem's own title (a msgid)
    meaning: str  # what happened and what to do (a msgid)
    # Members the problem carries beyond type, title, status, detail and instance; and the
    # response headers that go with it: (name, what it says) as msgids.
    members: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


# The members every problem has (RFC 9457).
STANDARD_MEMBERS = (
    ("type", _("This page's address: the kind of problem, stable, to branch on.")),
    ("title", _("The kind of problem in words, in the caller's language.")),
    ("status", _("The HTTP status of the answer.")),
    ("detail", _("What went wrong this time, in the caller's language.")),
    ("instance", _("The address that was asked.")),
)

# Every type the API answers with (portal.domain.errors, portal.app), in the order a reader
# meets them. tests/http/test_problem_pages.py checks this list against the code.
PROBLEM_TYPES = (
    ProblemType(
        "validation",
        (400, 413, 422),
        _("Some of the input is not valid."),
        _(
            "The request was refused as sent and nothing was changed: a value has the wrong "
            "type, is missing, too long or out of range (400), the body is over the size "
            "limit (413), or a value breaks a business rule (422). Correct what errors names "
            "and send the request again."
        ),
        members=(
            (
                "errors",
                _(
                    "One entry per refused input: field, the input as a path in the body sent "
                    "(lines[0].qty, lines[0].unit_price, lines[0] for a whole line, "
                    "warehouse_id), a query or path parameter's name, or body for the body as "
                    "a whole; and message, what is wrong, in the caller's language."
                ),
            ),
        ),
    ),
    ProblemType(
        "not-found",
        (404,),
        _("Not found."),
        _(
            "Nothing of this id exists, or it is outside what the caller may see: another "
            "dealer's order answers exactly as one that does not exist. An address with no "
            "route answers so too."
        ),
    ),
    ProblemType(
        "conflict",
        (409,),
        _("This conflicts with the current state."),
        _(
            "The request does not fit the object as it is now (an order already approved or "
            "shipped, a step already decided, something still in use), or its Idempotency-Key "
            "was used before for another body. Read the object again before deciding."
        ),
        members=(
            ("order_status", _("The order's status, which does not allow this.")),
            ("shipment_status", _("The shipment's status, which does not allow this.")),
            ("step_id", _("The approval step that was already decided.")),
            ("idempotency_key", _("The key that was used before for another body.")),
            ("uses", _("What still refers to the object, by kind, with counts.")),
        ),
    ),
    ProblemType(
        "prices-changed",
        (409,),
        _("The prices changed."),
        _(
            "The order comes to another total than the expected_total sent: a price or an "
            "offer changed since the caller showed it. The order was not placed: show the new "
            "total and submit again."
        ),
        members=(("order_total", _("The order's total now, in yuan.")),),
    ),
    ProblemType(
        "credit-exceeded",
        (422,),
        _("Not enough available credit."),
        _(
            "The order (or the change to it) would take the dealer past its credit limit and "
            "the tolerance over it. Nothing was placed or changed: pay, lower the order, or "
            "ask finance to raise the limit."
        ),
        members=(
            ("available", _("Credit left before the limit, in yuan (negative when over it).")),
            ("order_total", _("The order's total, in yuan.")),
            ("credit_limit", _("The dealer's credit limit, in yuan.")),
            ("exposure", _("What the dealer owes and has on open orders, in yuan.")),
            ("tolerance", _("How far over the limit an order may go, in yuan.")),
            (
                "short_lines",
                _("Lines also short of stock (as insufficient-stock lists them), to fix both."),
            ),
        ),
    ),
    ProblemType(
        "overdue-blocked",
        (422,),
        _("Orders are on hold for overdue invoices."),
        _(
            "The dealer has invoices unpaid past their terms and its policy holds new orders "
            "until they are paid."
        ),
        members=(("overdue", _("The amount overdue, in yuan.")),),
    ),
    ProblemType(
        "insufficient-stock",
        (422,),
        _("Not enough stock."),
        _(
            "Stock cannot cover the quantities asked: an order's lines when it is placed or "
            "changed, or a shipment's lines in the warehouse chosen to pack it. Nothing was "
            "reserved or packed; errors names each short line's quantity in the body."
        ),
        members=(
            (
                "lines",
                _(
                    "The short lines: sku, requested (base units) and available (base units "
                    "left; null for a dealer's users unless the supplier shows stock numbers)."
                ),
            ),
            ("errors", _("The quantity of each short line, as validation names inputs.")),
        ),
    ),
    ProblemType(
        "unauthorized",
        (401,),
        _("Please sign in."),
        _(
            "No valid bearer token or integration key was sent (missing, expired or revoked), "
            "or the user name and password are wrong. Get a token with POST "
            "/api/v1/auth/token."
        ),
        headers=(("WWW-Authenticate", _("How to authenticate: Bearer.")),),
    ),
    ProblemType(
        "forbidden",
        (403,),
        _("You may not do this."),
        _(
            "The caller's role may not do this (warehouse staff placing an order, a dealer's "
            "user changing a price)."
        ),
    ),
    ProblemType(
        "rate-limited",
        (429,),
        _("Too many attempts. Please wait and try again."),
        _("Too many failed sign-ins or password attempts in a short time."),
        members=(("retry_after", _("Seconds to wait before trying again.")),),
        headers=(("Retry-After", _("The same seconds.")),),
    ),
    ProblemType(
        "method-not-allowed",
        (405,),
        _("This address does not take this method."),
        _("The address exists, but not for this HTTP method."),
        headers=(("Allow", _("The methods the address takes.")),),
    ),
    ProblemType(
        "unsupported-media-type",
        (415,),
        _("This content type is not accepted."),
        _(
            "The body is not JSON: send it with Content-Type: application/json (or none). "
            "Files are sent as multipart/form-data to the addresses that take them."
        ),
    ),
    ProblemType(
        "unavailable",
        (503,),
        _("The service is briefly unavailable."),
        _("The database cannot be reached right now. Nothing was done: try again shortly."),
        headers=(("Retry-After", _("Seconds to wait before trying again.")),),
    ),
    ProblemType(
        "internal",
        (500,),
        _("Something went wrong on our side."),
        _(
            "An unexpected error, logged for the operator. Try again; a request with an "
            "Idempotency-Key is safe to send again."
        ),
    ),
    ProblemType(
        "error",
        (400,),
        _("The request could not be completed."),
        _("Another refusal, which its HTTP status describes; detail says why."),
    ),
)
BY_NAME = {t.name: t for t in PROBLEM_TYPES}


def _reader_locale(request: Request, lang: str | None) -> str:
    """?lang= when it names a language; else the reader's choice (the language cookie, as
    every page); else, these being pages for developers as the API reference is, the
    browser's language; Simplified Chinese when nothing says."""
    if lang in i18n.LOCALES:
        return lang
    if request.cookies.get("lang") in i18n.LOCALES:
        return request.cookies["lang"]
    return i18n.negotiate(request.headers.get("accept-language"))


def _render(request: Request, lang: str | None, shown: ProblemType | None) -> Template:
    locale = _reader_locale(request, lang)
    i18n.set_locale(locale)
    context = {
        "types": PROBLEM_TYPES,
        "shown": shown,
        "standard": STANDARD_MEMBERS,
        "here": request.url.path,
        "locale": locale,
        # Public and the same for everyone: no tab bar, no name, no badge.
        "actor": None,
        "tabs": [],
        "acting": None,
        "show_acting_banner": False,
    }
    response = page(request, "api/problems.html", context)
    response.headers["Content-Language"] = locale.replace("_", "-")
    return response


@get("/problems", include_in_schema=False, exclude_from_auth=True)
async def problem_types(request: Request, lang: FromQuery[str | None] = None) -> Template:
    return _render(request, lang, None)


@get("/problems/{problem_type:str}", include_in_schema=False, exclude_from_auth=True)
async def problem_type(
    request: Request, problem_type: FromPath[str], lang: FromQuery[str | None] = None
) -> Template:
    shown = BY_NAME.get(problem_type)
    if shown is None:
        raise NotFound(_("There is no problem type %(type)s."), {"type": problem_type[:60]})
    return _render(request, lang, shown)


ROUTES = [problem_types, problem_type]
