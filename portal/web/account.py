"""Signing in and out, and choosing a language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Response, Template

from portal import i18n
from portal.auth.session import cookie_name
from portal.auth.session import session_cookie as make_session_cookie
from portal.domain import accounts
from portal.domain.errors import RateLimited, Unauthorized
from portal.web.common import ACTING_DEALER_COOKIE, home_path, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def safe_next(value: str | None) -> str | None:
    # Only same-site paths: never an open redirect. Browsers drop tabs and newlines from
    # URLs ("/\t/evil.example" becomes "//evil.example"), so any control character or
    # blank is refused too.
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ):
        return value
    return None


@get("/login", include_in_schema=False)
async def login_page(
    request: Request, next: FromQuery[str | None] = None, lang: FromQuery[str | None] = None
) -> Template:
    context = {"next": safe_next(next) or "", "error": None, "locale": None}
    if lang in i18n.LOCALES:
        # The choice also goes with the form, so signing in keeps it for the user.
        context["locale"] = lang
        # The sign-in page offers the languages as links; remember the choice in a cookie,
        # and that it was picked here (PICKED): a sign-in page reached later (a redirect
        # after the session ended, a bookmark) still carries it to the user.
        i18n.set_locale(lang)
        response = page(request, "account/login.html", context)
        response.cookies.append(
            Cookie(key="lang", value=lang, samesite="lax", path="/", max_age=31536000)
        )
        response.cookies.append(
            Cookie(key=PICKED, value=lang, samesite="lax", path="/", max_age=86400)
        )
        return response
    picked = request.cookies.get(PICKED, "")
    if picked in i18n.LOCALES:
        context["locale"] = picked
    return page(request, "account/login.html", context)


# A language picked on the sign-in page, before anyone signed in (not the language the last
# user of this phone had: that is the "lang" cookie, which must not become the next user's).
PICKED = "lang_picked"


@post("/login", include_in_schema=False)
async def login_submit(request: Request, data: Form) -> Response:
    settings = request.app.state.settings
    login = str(data.get("login", ""))[:100]
    password = str(data.get("password", ""))[:200]
    nxt = safe_next(str(data.get("next", "")))
    # A language picked on the sign-in page is the user's choice from now on.
    chosen = str(data.get("locale", ""))
    chosen_locale = chosen if chosen in i18n.LOCALES else None
    address = request.client.host if request.client else "unknown"
    try:
        user = await accounts.authenticate(
            login,
            password,
            address,
            now=datetime.now(UTC),
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_window_seconds),
        )
    except (Unauthorized, RateLimited) as exc:
        response = page(
            request,
            "account/login.html",
            {
                "next": nxt or "",
                "error": i18n.error_message(exc),
                "login": login,
                "locale": chosen_locale,
            },
            status=exc.status,
        )
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response
    from portal.domain.scope import actor_from_user

    if chosen_locale and chosen_locale != user["locale"]:
        await accounts.set_locale(actor_from_user(user), chosen_locale)
        user = {**user, "locale": chosen_locale}
    target = nxt or home_path(actor_from_user(user))
    return Redirect(
        target,
        status_code=303,
        cookies=[
            session_cookie(request, user),
            Cookie(key="lang", value=user["locale"], samesite="lax", path="/", max_age=31536000),
            Cookie(key=PICKED, value="", samesite="lax", path="/", max_age=0),  # taken
        ],
    )


def session_cookie(request: Request, user: dict) -> Cookie:
    """The session cookie for `user`: after sign-in, and after a password change ended the
    user's other sessions."""
    return make_session_cookie(request.app.state.settings, request.app.state.auth, user)


@post("/logout", include_in_schema=False)
async def logout(request: Request) -> Redirect:
    await accounts.revoke_sessions(request.user.user_id)
    settings = request.app.state.settings
    response = Redirect("/login", status_code=303)
    response.delete_cookie(cookie_name(settings), path="/")
    # The next person on this phone does not start out ordering for this rep's dealer.
    response.delete_cookie(ACTING_DEALER_COOKIE, path="/")
    return response


@post("/lang", include_in_schema=False)
async def choose_language(request: Request, data: Form) -> Redirect:
    locale = str(data.get("locale", ""))
    if locale not in i18n.LOCALES:
        locale = i18n.DEFAULT_LOCALE
    user = request.scope.get("user")
    if user is not None:
        await accounts.set_locale(user, locale)
    back = safe_next(str(data.get("next", ""))) or "/"
    return Redirect(
        back,
        status_code=303,
        cookies=[Cookie(key="lang", value=locale, samesite="lax", path="/", max_age=31536000)],
    )


ROUTES = [login_page, login_submit, logout, choose_language]
