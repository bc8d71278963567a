"""Faults: the database connection dies mid-submission, or the database is unreachable.

A lost connection inside a submission answers 503 problem+json, leaves nothing partial, and
a retry with the same Idempotency-Key then creates exactly one order. An unreachable
database answers 503 (a friendly page, a problem for the API), /health/ready says not
ready, and the service resumes on its own once the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from urllib.parse import urlparse

import asyncpg
import httpx
import pytest

from portal import app as app_module
from portal.app import create_app
from portal.db import bind_tables, engine_from_url
from portal.domain import orders
from portal.settings import Settings
from portal.tables import Dealer, IdempotencyKey, Order, OrderLine, Reservation, StockLevel
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in

PROBLEM = "application/problem+json"


@pytest.fixture
async def world(db) -> dict:
    tier = await f.tier()
    wh = await f.warehouse()
    a = await f.dealer(tier, name="甲经销商", default_warehouse=wh)
    water = await f.sku(code="W550", name="农夫山泉 550ml", base_price_fen=200)
    await f.stock(water, wh, on_hand=100)
    await f.user("dealer_buyer", a, username="buyer_a")
    return {"dealer": a, "sku": water}


@contextlib.contextmanager
def hook(point: str, fn):
    orders._test_hooks[point] = fn
    try:
        yield
    finally:
        orders._test_hooks.pop(point, None)


async def bearer(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", json={"username": "buyer_a", "password": f.PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", "Accept-Language": "en"}


async def submit(client, headers, key: str = "fault-1") -> httpx.Response:
    return await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "W550", "qty": 24}]},
        headers={**headers, "Idempotency-Key": key},
    )


async def nothing_written(dealer_id: int) -> None:
    assert await Order.count() == 0
    assert await OrderLine.count() == 0
    assert await Reservation.count() == 0
    assert await IdempotencyKey.count() == 0
    assert sum(r["reserved"] for r in await StockLevel.select(StockLevel.reserved)) == 0
    dealer = await Dealer.select(Dealer.open_orders_fen).where(Dealer.id == dealer_id).first()
    assert dealer["open_orders_fen"] == 0


async def exactly_one_order(retry: httpx.Response, dealer_id: int) -> None:
    assert retry.status_code == 201, retry.text
    assert await Order.count() == 1 and await OrderLine.count() == 1
    assert await IdempotencyKey.count() == 1
    assert sum(r["reserved"] for r in await StockLevel.select(StockLevel.reserved)) == 24
    dealer = await Dealer.select(Dealer.open_orders_fen).where(Dealer.id == dealer_id).first()
    assert dealer["open_orders_fen"] == int(Decimal(retry.json()["total"]) * 100)


async def test_connection_lost_inside_submission_is_503_and_retry_makes_one_order(client, world):
    """On both engines: the driver reports a lost connection after the dealer row is locked."""
    headers = await bearer(client)

    async def lose_connection() -> None:
        raise ConnectionResetError("connection to the database was lost")

    with hook("after_dealer_lock", lose_connection):
        failed = await submit(client, headers)
    assert failed.status_code == 503, failed.text
    assert failed.headers["content-type"].startswith(PROBLEM)
    assert failed.json()["type"] == "/problems/unavailable"
    assert failed.headers["Retry-After"]
    await nothing_written(world["dealer"]["id"])
    await exactly_one_order(await submit(client, headers), world["dealer"]["id"])
    replay = await submit(client, headers)
    assert replay.status_code == 200 and await Order.count() == 1


@pytest.mark.postgres_only
async def test_backend_terminated_inside_submission(db, world, database_url, settings):
    """PostgreSQL: another connection kills the submission's backend while it holds the lock.

    On an engine of its own: when the rollback itself fails on the dead connection, Piccolo's
    transaction skips releasing it, so a pool slot may be lost (reported); the test's
    pool is terminated at the end instead of waiting for that slot.
    """
    engine = engine_from_url(database_url)
    await engine.start_connection_pool(min_size=1, max_size=4)
    bind_tables(engine)
    killed: list[int] = []

    async def terminate_the_submission() -> None:
        admin = await asyncpg.connect(database_url)
        try:
            rows = await admin.fetch(
                "SELECT pg_terminate_backend(pid) AS done, pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state = 'idle in transaction'"
            )
            killed.extend(r["pid"] for r in rows if r["done"])
        finally:
            await admin.close()

    try:
        app = create_app(settings, engine=engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
        ) as client:
            headers = await bearer(client)
            with hook("after_dealer_lock", terminate_the_submission):
                # Its own task, as under a server: the request's context (Piccolo's current
                # transaction) stays with the request.
                failed = await asyncio.create_task(submit(client, headers))
            assert len(killed) == 1
            assert failed.status_code == 503, failed.text
            assert failed.headers["content-type"].startswith(PROBLEM)
            assert failed.json()["type"] == "/problems/unavailable"
            await nothing_written(world["dealer"]["id"])
            retry = await asyncio.create_task(submit(client, headers))
            await exactly_one_order(retry, world["dealer"]["id"])
    finally:
        engine.pool.terminate()
        bind_tables(db)


async def test_connection_lost_on_a_page_is_a_friendly_503(client, world):
    await sign_in(client, "buyer_a")

    async def lose_connection() -> None:
        raise ConnectionResetError("connection to the database was lost")

    await client.post(
        f"/cart/lines/{world['sku']['id']}",
        data={"qty": "24", "_csrf_token": csrf_from((await client.get("/catalog")).text)},
    )
    page = await client.get("/cart")
    with hook("before_transaction", lose_connection):
        response = await client.post(
            "/cart/submit",
            data={"idempotency_key": "page-fault-1", "_csrf_token": csrf_from(page.text)},
        )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in response.text or "error" in response.text
    assert await Order.count() == 0


# --- the database unreachable, then back ---------------------------------------------------


class FlakyProxy:
    """A TCP proxy to PostgreSQL that can be cut (connections reset, connects refused)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        self.writers.clear()
        await self.server.wait_closed()

    async def _serve(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers += [writer, up_writer]

        async def pipe(src, dst) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.postgres_only
async def test_database_unreachable_then_back(db, world, database_url, tmp_path):
    """Pages 503 with a friendly page, API 503 problem, ready 503; all well once it is back."""
    parsed = urlparse(database_url)
    proxy = FlakyProxy(parsed.port or 5432)
    await proxy.start()
    url = database_url.replace(f":{parsed.port}/", f":{proxy.port}/")
    settings = Settings.from_env({"PORTAL_DATABASE_URL": url, "PORTAL_VAR_DIR": str(tmp_path)})
    # Piccolo's engine asks for the server version synchronously when it is made: made in a
    # thread, so this loop keeps serving the proxy meanwhile.
    app = await asyncio.to_thread(create_app, settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.lifespan(),
            httpx.AsyncClient(
                transport=transport, base_url="http://testserver.local", follow_redirects=True
            ) as c,
        ):
            assert (await c.get("/health/ready")).status_code == 200
            assert (await sign_in(c, "buyer_a")).status_code == 303
            assert (await c.get("/orders")).status_code == 200

            await proxy.cut()
            ready = await c.get("/health/ready")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
            page = await c.get("/orders")
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["Retry-After"]
            assert "<html" in page.text and 'class="card error-card" role="alert"' in page.text
            token = await c.post(
                "/api/v1/auth/token", json={"username": "buyer_a", "password": f.PASSWORD}
            )
            assert token.status_code == 503, token.text
            assert token.headers["content-type"].startswith(PROBLEM)
            assert token.json()["type"] == "/problems/unavailable"

            await proxy.start()  # the database is back on the same address
            for _ in range(50):
                if (await c.get("/health/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await c.get("/health/ready")).status_code == 200
            assert (await c.get("/orders")).status_code == 200
            token = await c.post(
                "/api/v1/auth/token", json={"username": "buyer_a", "password": f.PASSWORD}
            )
            assert token.status_code == 200, token.text
    finally:
        with contextlib.suppress(Exception):
            await proxy.cut()
        bind_tables(db)  # the app bound every table to its own engine; give them back


@pytest.mark.postgres_only
async def test_database_unreachable_at_start_up(db, world, database_url, tmp_path, monkeypatch):
    """The app starts anyway, answers 503 and says why, and starts its pool once it can."""
    monkeypatch.setattr(app_module, "DB_RETRY_SECONDS", 0.2)
    parsed = urlparse(database_url)
    proxy = FlakyProxy(parsed.port or 5432)
    await proxy.start()
    url = database_url.replace(f":{parsed.port}/", f":{proxy.port}/")
    await proxy.cut()
    settings = Settings.from_env({"PORTAL_DATABASE_URL": url, "PORTAL_VAR_DIR": str(tmp_path)})
    app = await asyncio.to_thread(create_app, settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c,
        ):
            assert (await c.get("/health/live")).status_code == 200
            assert (await c.get("/health/ready")).status_code == 503
            login = await c.get("/login")
            page = await c.post(
                "/login",
                data={
                    "login": "buyer_a",
                    "password": f.PASSWORD,
                    "_csrf_token": csrf_from(login.text),
                },
            )
            assert page.status_code == 503
            assert 'class="card error-card" role="alert"' in page.text
            token = await c.post(
                "/api/v1/auth/token", json={"username": "buyer_a", "password": f.PASSWORD}
            )
            assert token.status_code == 503 and token.json()["type"] == "/problems/unavailable"

            await proxy.start()
            for _ in range(50):
                if engine_of(app).pool is not None:
                    break
                await asyncio.sleep(0.1)
            assert engine_of(app).pool is not None, "the pool was not started once reachable"
            assert (await c.get("/health/ready")).status_code == 200
            token = await c.post(
                "/api/v1/auth/token", json={"username": "buyer_a", "password": f.PASSWORD}
            )
            assert token.status_code == 200, token.text
    finally:
        with contextlib.suppress(Exception):
            await proxy.cut()
        bind_tables(db)


def engine_of(app):
    from portal.tables import User

    return User._meta.db  # the app's start-up bound every table to its own engine


async def test_a_database_never_migrated_is_not_ready_and_serve_says_migrate(tmp_path):
    """A server pointed at an empty database (serve before migrate) is not ready, so no
    traffic reaches it, and `portal serve` refuses to start with what to run."""
    import sys

    from portal.__main__ import _schema_behind

    settings = Settings.from_env({"PORTAL_VAR_DIR": str(tmp_path)})  # an empty SQLite file
    app = await asyncio.to_thread(create_app, settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c,
    ):
        ready = await c.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["reason"] == "migrations pending"
    assert "migrate" in await _schema_behind(settings)
    assert sys.modules["portal.db"].latest_migration().startswith("20")
