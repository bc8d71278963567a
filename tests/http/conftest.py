"""An app bound to the test database, and signed-in clients for any user."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from portal.app import create_app
from portal.settings import Settings
from tests import factories as f

# One secret for every test's settings, so that equal settings make one app (see shared_app).
TEST_SECRET = "test-secret-" + "x" * 52
_APPS: dict[tuple[Settings, int], Litestar] = {}


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings.from_env(
        {
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_VAR_DIR": str(tmp_path),
            "PORTAL_SECRET_KEY": TEST_SECRET,
            # The tests' webhook receivers listen on 127.0.0.1.
            "PORTAL_WEBHOOK_PRIVATE": "1",
        }
    )


def shared_app(settings: Settings, engine) -> Litestar:
    """The app for these settings and engine, built once per test process: building one takes
    0.2 to 0.5 s and keeps no state of its own between requests (sessions, rate limits, keys and
    every other record live in the database, which `db` empties for each test). Only the
    var folder, where nothing is written once the secret is known, differs between tests."""
    key = (replace(settings, var_dir=Path()), id(engine))
    if key not in _APPS:
        _APPS[key] = create_app(settings, engine=engine)
    return _APPS[key]


@pytest.fixture
async def client(db, settings):
    """The app in the test's own event loop (the engine's pool belongs to that loop).

    Litestar's AsyncTestClient would run the app in another thread and loop, where the
    PostgreSQL pool cannot be used. Start-up is not needed: `db` has bound the tables.
    """
    app = shared_app(settings, db)
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
