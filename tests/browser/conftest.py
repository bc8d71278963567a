"""Browser tests: a live portal per engine with the demo supplier, driven by Debian's chromium.

The live server runs `python -m portal serve` in a subprocess against a database of its own
(never the session database the `db` fixture empties), loaded with the demo data. Playwright's
async API is used because pytest-asyncio runs a session-wide event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from portal.migrate import run_migrations
from portal.settings import ROOT
from tests.conftest import PG_ADMIN_URL, _pg_admin, _with_db, missing

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Only the tests of the installable app let the service worker in (test_installable,
# test_walk_languages). Elsewhere it fetched in the background with whatever cookies the
# context had: a test that cleared them to sign in as someone else could have the sign-in
# page's CSRF cookie replaced under it by the worker's fetch (a 403 on signing in, seen once
# under load); and installing it in every new context cost the browser CPU for nothing.
NO_SERVICE_WORKER = "block"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "service_workers": NO_SERVICE_WORKER,
}
SERVER_START_SECONDS = 60


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so the page fixture can tell that a test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- the database and the server -----------------------------------------------------------


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def browser_database_url(engine_name: str) -> Iterator[str]:
    """A migrated database only the browser tests' server uses, dropped at the end."""
    if engine_name == "sqlite":
        folder = tempfile.mkdtemp(prefix="portal-browser-")
        url = f"sqlite:///{Path(folder) / 'browser.sqlite3'}?synchronous=off"
        run_migrations(url)
        yield url
        shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"portal_browser_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        # A throwaway database: commits need not wait for the disk (still transactional).
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except (OSError, asyncpg.PostgresError) as exc:
        missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    url = _with_db(PG_ADMIN_URL, name)
    try:
        run_migrations(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing(f"chromium not found at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    return CHROMIUM


def _cheapen_demo_passwords(url: str) -> None:
    """The demo's users keep their password with a cheap argon2 cost (verification reads the
    cost from the hash): at the library's cost each of the browser tests' hundred-odd sign-ins
    took 0.2 s of this machine's CPU. Production hashes are not touched by this."""
    from portal.demo import DEMO_PASSWORD
    from tests.factories import password_hash

    cheap = password_hash(DEMO_PASSWORD)
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :].partition("?")[0]) as conn:
            conn.execute("UPDATE portal_user SET password_hash = ?", (cheap,))
        return

    async def update() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute("UPDATE portal_user SET password_hash = $1", cheap)
        finally:
            await conn.close()

    asyncio.run(update())


@pytest.fixture(scope="session")
def live_server(chromium_path: str, browser_database_url: str) -> Iterator[str]:
    """The portal on a free port with the demo supplier loaded; its base URL."""
    var_dir = tempfile.mkdtemp(prefix="portal-browser-var-")
    port = _free_port()
    env = dict(
        os.environ,
        PORTAL_DATABASE_URL=browser_database_url,
        PORTAL_VAR_DIR=var_dir,
        PORTAL_HOST="127.0.0.1",
        PORTAL_PORT=str(port),
        PORTAL_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("PORTAL_SECRET_KEY", None)
    env.pop("PORTAL_SECURE_COOKIES", None)
    _run([sys.executable, "-m", "portal", "demo"], env, "loading the demo data")
    _cheapen_demo_passwords(browser_database_url)

    log_path = Path(var_dir) / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        server_log = log_path.read_text()
        if "Traceback" in server_log:
            # Make server-side errors visible in the test output.
            print(f"--- live server log ({log_path}) ---\n{server_log[-8000:]}")
        shutil.rmtree(var_dir, ignore_errors=True)


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def browser(chromium_path: str):
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def phone(browser, live_server: str, request, engine_name: str) -> AsyncIterator:
    """A fresh phone-sized page (own cookies) on the live server; console errors are kept.

    When the test fails, the page as it was is saved as <engine>-FAILED-<test>.png.
    """
    context = await browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(30_000)
    page = await context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        # With the address: "Failed to load resource" alone does not say which one.
        lambda msg: (
            page.console_errors.append(f"{msg.text} ({msg.location.get('url', '')})")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^\w-]+", "-", request.node.name)
        try:
            await save_screenshot(page, f"{engine_name}-FAILED-{name}", full_page=False)
        except Exception as exc:  # the page may be gone; the failure itself matters more
            print(f"no failure screenshot: {exc}")
    await context.close()


@pytest.fixture
def shot(engine_name: str):
    """shot(page, name) saves test-artifacts/screenshots/<engine>-<name>.png (full page)."""

    async def take(page, name: str) -> Path:
        # From the top, so sticky bars are drawn where a reader expects them (fixed ones,
        # like the tab bar, still appear one screen down in a full-page capture).
        await page.evaluate("window.scrollTo(0, 0)")
        return await save_screenshot(page, f"{engine_name}-{name}")

    return take


async def save_screenshot(page, stem: str, *, full_page: bool = True) -> Path:
    """The page as test-artifacts/screenshots/<stem>.png, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{stem}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


async def assert_no_horizontal_scroll(page, width: int = 390) -> None:
    sizes = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(sizes) <= width, f"{page.url} scrolls sideways: {sizes} > {width}"


async def sign_in(page, username: str, password: str) -> None:
    await page.goto("/login")
    await page.locator("#login").fill(username)
    await page.locator("#password").fill(password)
    # Wait for the navigation the form starts (the redirect after signing in, or the refusal
    # page): waiting for "load" alone could return at once, the login page being loaded
    # already, and the next goto then raced the sign-in (a run went to /login?next=...).
    async with page.expect_navigation():
        await page.locator("form button[type=submit]").click()
    # Signed in, or the test would go on as no one: every page after this a sign-in page.
    if "/login" in page.url:  # say why (the page's message), and keep the page to look at
        await save_screenshot(page, f"sign-in-refused-{username}")
        said = (await page.locator("main").inner_text())[:300]
        raise AssertionError(f"{username} was not signed in: {page.url}: {said!r}")
