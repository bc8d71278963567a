"""API sign-in: a username or phone number and password in, a bearer token out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Request, post
from litestar.params import JSONBody

from portal.api.schemas import TokenRequest, TokenResponse, TokenUser, problems
from portal.auth.session import issue_token
from portal.domain import accounts


@post(
    "/api/v1/auth/token",
    tags=["auth"],
    summary="Get a bearer token",
    description=(
        "Sign in with a username or phone number and password. Send the token as "
        "`Authorization: Bearer <token>` on every other API call. Wrong credentials answer "
        "401; too many failures answer 429 with Retry-After."
    ),
    security=[{}],
    responses=problems(400, 401, 429),
    status_code=200,  # a token is handed out, nothing is created (as OAuth 2.0's token endpoint)
)
async def issue_api_token(request: Request, data: JSONBody[TokenRequest]) -> TokenResponse:
    settings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    user = await accounts.authenticate(
        data.username,
        data.password,
        address,
        now=datetime.now(UTC),
        max_failures=settings.login_max_failures,
        window=timedelta(seconds=settings.login_window_seconds),
    )
    token = issue_token(request.app.state.auth, user, settings.api_token_minutes)
    return TokenResponse(
        access_token=token,
        token_type="bearer",
        expires_in=settings.api_token_minutes * 60,
        user=TokenUser(
            id=user["id"],
            role=user["role"],
            dealer_id=user.get("dealer"),
            name=user["display_name"],
        ),
    )


ROUTES = [issue_api_token]
