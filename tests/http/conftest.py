"""An app bound to the test database, and signed-in clients for any user."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

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
    app = create_app(settings, engine=db)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def sign_in(client: AsyncTestClient, username: str, password: str = f.PASSWORD):
    page = await client.get("/login")
    token = csrf_from(page.text)
    return await client.post(
        "/login",
        data={"login": username, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )
