"""The production set-up: PostgreSQL via one variable, several workers sharing only the database."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from portal.migrate import run_migrations
from portal.settings import ROOT
from tests.conftest import PG_ADMIN_URL, _pg_admin, _with_db, missing

WORKERS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def production_server() -> Iterator[str]:
    """`python -m portal serve` with PORTAL_WORKERS=2 on a PostgreSQL database of its own."""
    name = f"portal_prod_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    url = _with_db(PG_ADMIN_URL, name)
    var_dir = tempfile.mkdtemp(prefix="portal-prod-")
    port = _free_port()
    env = dict(
        os.environ,
        PORTAL_DATABASE_URL=url,
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
        PORTAL_VAR_DIR=var_dir,
        PORTAL_PORT=str(port),
        PORTAL_WORKERS=str(WORKERS),
    )
    proc = None
    try:
        run_migrations(url)
        subprocess.run(
            [sys.executable, "-m", "portal", "demo"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        log = open(Path(var_dir) / "server.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (Path(var_dir) / "server.log").read_text()
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.3)
        yield base
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _token(base: str, role: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"username": DEMO_LOGINS[role], "password": DEMO_PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_workers_share_sessions_and_orders_through_the_database(production_server):
    base = production_server
    token = _token(base, "dealer_buyer")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        skus = api.get("/api/v1/catalog/skus", params={"in_stock": "true", "per_page": 5})
        assert skus.status_code == 200, skus.text
        item = skus.json()["items"][0]
        body = {"lines": [{"sku_id": item["sku_id"], "qty": item["first_qty"]}]}
        key = {"Idempotency-Key": f"prod-{secrets.token_hex(4)}"}

        async def submit_twice() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
                return await asyncio.gather(
                    *[c.post("/api/v1/orders", json=body, headers=key) for _ in range(6)]
                )

        responses = asyncio.run(submit_twice())
        assert sorted(r.status_code for r in responses)[-1] in (200, 201)
        assert [r.status_code for r in responses].count(201) == 1, [r.text for r in responses]
        ids = {r.json()["id"] for r in responses}
        assert len(ids) == 1  # one order, whichever worker answered each request

        # Requests spread over the workers all see that order.
        (order_id,) = ids
        for _ in range(10):
            detail = api.get(f"/api/v1/orders/{order_id}")
            assert detail.status_code == 200
            assert detail.json()["status"] == "approved"


def test_signing_out_revokes_the_session_on_every_worker(production_server):
    base = production_server
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as browser:
        page = browser.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        login = browser.post(
            "/login",
            data={
                "login": DEMO_LOGINS["dealer_buyer"],
                "password": DEMO_PASSWORD,
                "_csrf_token": csrf,
            },
        )
        assert login.status_code == 303
        stolen = dict(browser.cookies)
        for _ in range(6):
            assert browser.get("/").status_code == 200
        home = browser.get("/")
        csrf = re.search(r'"x-csrftoken": "([^"]+)"', home.text).group(1)
        assert browser.post("/logout", headers={"x-csrftoken": csrf}).status_code == 303
    # The old cookie, replayed against any worker, no longer opens a page.
    with httpx.Client(base_url=base, timeout=30, cookies=stolen, follow_redirects=False) as thief:
        for _ in range(6):
            response = thief.get("/")
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login")
