"""An app bound to the test database, and signed-in clients for any user."""

from __future__ import annotations

import re

import httpx
import pytest

from portal.app import create_app
from portal.settings import Settings
from tests import factories as f


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings.from_env(
        {"PORTAL_DATABASE_URL": database_url, "PORTAL_VAR_DIR": str(tmp_path)}
    )


@pytest.fixture
async def client(db, settings):
    """The app in the test's own event loop (the engine's pool belongs to that loop).

    Litestar's AsyncTestClient would run the app in another thread and loop, where the
    PostgreSQL pool cannot be used. Start-up is not needed: `db` has bound the tables.
    """
    app = create_app(settings, engine=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local", follow_redirects=True
    ) as c:
        yield c


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = f.PASSWORD):
    page = await client.get("/login")
    token = csrf_from(page.text)
    return await client.post(
        "/login",
        data={"login": username, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )
