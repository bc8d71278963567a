"""python -m bench: the production server on PostgreSQL, generated data, figures and ratios.

Set-up: a fresh PostgreSQL database (PORTAL_BENCH_POSTGRES_URL, default the local server),
migrated, filled with 100,000 SKUs (COPY), 3 tiers with a price for every SKU, 200 dealers
(some with contract prices), each with a year of completed orders; then `python -m portal
serve` with PORTAL_WORKERS=2 and the load generator on the same machine: wrk (C, one thread,
scripts in bench/wrk/) when it is installed, so that the generator takes little of the CPU
the server needs, else httpx (asyncio; PORTAL_BENCH_LOADGEN=httpx forces it). Every figure
is the median of RUNS timed runs after a warm-up, and is also given as a ratio to a
reference measured in the same run (the SQL floor for submissions, /health/live for the
catalog and, as a second figure, for submissions too), since absolute times drift on shared
machines. Prints a table and writes bench/results/<timestamp>.json.

The catalog's search indexes (pg_trgm GIN, prefix btrees) come from the migrations; the
report records which were found ("trgm_indexes_from_migrations"). While iterating:
PORTAL_BENCH_QUICK=1 (one timed run per figure, shorter runs), PORTAL_BENCH_ONLY=catalog or
orders, PORTAL_BENCH_SKUS=20000.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_URL = os.environ.get(
    "PORTAL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SKUS = int(os.environ.get("PORTAL_BENCH_SKUS", "100000"))
DEALERS = 200
CONCURRENCY = int(os.environ.get("PORTAL_BENCH_CONCURRENCY", "16"))
WORKERS = 2
QUICK = os.environ.get("PORTAL_BENCH_QUICK") == "1"
ONLY = os.environ.get("PORTAL_BENCH_ONLY", "")  # "", "catalog" or "orders"
RUNS = 1 if QUICK else 3
ORDER_SECONDS = 3.0 if QUICK else 5.0
CATALOG_SECONDS = 2.0 if QUICK else 3.0
WARMUP_SECONDS = 1.0 if QUICK else 1.5
WRK = shutil.which("wrk") if os.environ.get("PORTAL_BENCH_LOADGEN", "wrk") == "wrk" else None
LOADGEN = "wrk -t1" if WRK else "httpx"
WRK_SCRIPTS = ROOT / "bench" / "wrk"
PASSWORD = "bench-password"
LINES = 5
HOT_SKUS = 5
SEARCH_SAMPLES = 10 if QUICK else 40
HISTORY_ORDERS = 200  # completed orders per dealer before the run (a year's history)

BRANDS = (
    "农夫山泉 康师傅 统一 娃哈哈 伊利 蒙牛 青岛 雪花 百威 可口可乐 "
    "百事 王老吉 加多宝 元气森林 东鹏 红牛 怡宝 景田 今麦郎 白象"
).split()
ITEMS = (
    "矿泉水 纯净水 冰红茶 绿茶 乌龙茶 方便面 牛奶 酸奶 啤酒 可乐 "
    "橙汁 凉茶 苏打水 功能饮料 咖啡 豆奶 椰汁 气泡水 果汁 挂面"
).split()
SPECS = ["250ml", "330ml", "500ml", "550ml", "1L", "1.5L", "2L", "12袋", "24罐", "6连包"]
COLOURS = ["原味", "柠檬", "蜜桃", "无糖", "草莓", "香草"]


# --- the database ------------------------------------------------------------------------


def with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


async def create_database() -> tuple[str, str]:
    name = f"portal_bench_{secrets.token_hex(3)}"
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, with_db(ADMIN_URL, name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrate(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from portal.migrate import run_migrations

    run_migrations(url)


@functools.cache
def _prefix_key(prefix: str) -> str:
    from portal.domain.pinyin import sort_key

    return sort_key(prefix)


@functools.cache
def _prefix_search_key(prefix: str) -> tuple[str, str]:
    from portal.domain.pinyin import search_key

    whole, _space, initials = search_key(prefix).rpartition(" ")
    return whole, initials


def search_key(prefix: str, rest: str) -> str:
    """portal.domain.pinyin.search_key of prefix + rest, composed as name_key is (below): the
    prefix's pinyin run together, rest (ASCII, continuing the prefix's last part) and the
    prefix's initials (checked in tests/unit/test_pinyin.py)."""
    whole, initials = _prefix_search_key(prefix)
    return f"{whole}{''.join(rest.lower().split())} {initials}"


def name_key(prefix: str, rest: str) -> str:
    """The pinyin sort key of prefix + rest, where rest is ASCII that continues the prefix's
    last part (" 12" after Chinese, "12" after "#"): the prefix's key (kept: a generated
    catalog repeats a few hundred prefixes) and rest, as portal.domain.pinyin.sort_key would
    give for the whole name (checked in tests/unit/test_pinyin.py), in a fraction of the time
    on 150,000 names."""
    return _prefix_key(prefix) + rest


@dataclass
class Data:
    dealer_ids: list[int]
    sku_ids: list[int]
    hot_sku_ids: list[int]
    warehouse_id: int
    admin_user_id: int
    category_id: int
    search_term: str
    barcode: str
    buyer_username: str
    seconds: float = 0.0


async def generate(url: str, rng: random.Random) -> Data:
    """100k SKUs with COPY; tiers, dealers, users, stock and prices in bulk statements; a
    year of completed orders for every dealer."""
    started = time.monotonic()
    conn = await asyncpg.connect(url)
    now = datetime.now(UTC)
    try:
        tiers = [
            await conn.fetchval(
                "INSERT INTO tier (code, name, rank) VALUES ($1, $2, $3) RETURNING id", c, n, r
            )
            for c, n, r in (("T1", "一级经销商", 1), ("T2", "二级经销商", 2), ("T3", "终端", 3))
        ]
        wh = await conn.fetchval(
            "INSERT INTO warehouse (code, name, priority) VALUES ('WH1', '华东仓', 0) RETURNING id"
        )
        wh2 = await conn.fetchval(
            "INSERT INTO warehouse (code, name, priority) VALUES ('WH2', '华北仓', 1) RETURNING id"
        )
        roots = [
            await conn.fetchval(
                "INSERT INTO category (name, sort) VALUES ($1, $2) RETURNING id", item, i
            )
            for i, item in enumerate(ITEMS)
        ]
        products = SKUS // 2
        await conn.copy_records_to_table(
            "product",
            columns=[
                "id",
                "name",
                "category",
                "brand",
                "description",
                "image",
                "visibility",
                "active",
                "name_key",
            ],
            records=[
                (
                    i + 1,
                    f"{BRANDS[i % len(BRANDS)]}{ITEMS[(i // len(BRANDS)) % len(ITEMS)]}{i}",
                    roots[(i // len(BRANDS)) % len(ITEMS)],
                    BRANDS[i % len(BRANDS)],
                    "",
                    "",
                    "all",
                    True,
                    name_key(
                        f"{BRANDS[i % len(BRANDS)]}{ITEMS[(i // len(BRANDS)) % len(ITEMS)]}",
                        f" {i}",
                    ),
                )
                for i in range(products)
            ],
        )
        await conn.execute("SELECT setval('product_id_seq', $1)", products)
        sku_records = []
        for i in range(SKUS):
            p = i // 2
            spec = SPECS[(i // 7) % len(SPECS)]
            colour = COLOURS[i % len(COLOURS)] if i % 2 else ""
            product_name = f"{BRANDS[p % len(BRANDS)]}{ITEMS[(p // len(BRANDS)) % len(ITEMS)]}"
            sku_prefix = f"{product_name} {spec}{colour} #"
            sku_records.append(
                (
                    i + 1,
                    p + 1,
                    f"B{i + 1:07d}",
                    f"69{i + 1:011d}",
                    f"{sku_prefix}{i + 1}",
                    spec,
                    colour,
                    "瓶",
                    100 + (i * 37) % 5000,
                    (100 + (i * 37) % 5000) * 3 // 4,  # cost: 75 % of the base price
                    1,
                    1,
                    500,
                    0,
                    False,
                    True,
                    name_key(sku_prefix, str(i + 1)),
                    search_key(sku_prefix, str(i + 1)),
                )
            )
        await conn.copy_records_to_table(
            "sku",
            columns=[
                "id",
                "product",
                "code",
                "barcode",
                "name",
                "spec",
                "colour",
                "base_unit",
                "base_price_fen",
                "cost_price_fen",
                "moq",
                "order_multiple",
                "weight_g",
                "safety_stock",
                "allow_backorder",
                "active",
                "name_key",
                "pinyin",
            ],
            records=sku_records,
        )
        await conn.execute("SELECT setval('sku_id_seq', $1)", SKUS)
        await conn.copy_records_to_table(
            "stock_level",
            columns=["warehouse", "sku", "on_hand", "reserved"],
            records=[(wh, i + 1, 10_000_000, 0) for i in range(SKUS)]
            + [(wh2, i + 1, 1_000, 0) for i in range(0, SKUS, 3)],
        )
        await conn.copy_records_to_table(
            "tier_price",
            columns=["tier", "sku", "price_fen", "percent_bp"],
            records=[
                (t, i + 1, None, 9500 - 500 * n) for n, t in enumerate(tiers) for i in range(SKUS)
            ],
        )
        dealer_ids = []
        for d in range(DEALERS):
            dealer_ids.append(
                await conn.fetchval(
                    "INSERT INTO dealer (code, name, tier, region, credit_limit_fen, "
                    "balance_fen, open_orders_fen, default_warehouse, created_at, name_key, "
                    "pinyin) VALUES ($1, $2, $3, '华东', $4, 0, 0, $5, $6, $7, $8) RETURNING id",
                    f"D{d:04d}",
                    f"压测经销商{d}",
                    tiers[d % 3],
                    10**15,
                    wh,
                    now,
                    name_key("压测经销商", f" {d}"),
                    search_key("压测经销商", f"{d}"),
                )
            )
        await conn.executemany(
            "INSERT INTO dealer_address (dealer, label, contact, phone, line, is_default) "
            "VALUES ($1, '总仓', '王经理', '13800000000', '上海市浦东新区张江路 1 号', true)",
            [(d,) for d in dealer_ids],
        )
        await conn.copy_records_to_table(
            "contract_price",
            columns=["dealer", "sku", "price_fen"],
            records=[
                (d, s, 99) for d in dealer_ids[:20] for s in rng.sample(range(1, SKUS + 1), 200)
            ],
        )
        password = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        admin = await conn.fetchval(
            "INSERT INTO portal_user (username, display_name, password_hash, role, created_at, "
            "name_key) VALUES ('bench_admin', '压测管理员', $1, 'admin', $2, $3) RETURNING id",
            password,
            now,
            name_key("压测管理员", ""),
        )
        await conn.execute(
            "INSERT INTO portal_user (username, display_name, password_hash, role, dealer, "
            "created_at, name_key) "
            "VALUES ('bench_buyer', '压测采购', $1, 'dealer_buyer', $2, $3, $4)",
            password,
            dealer_ids[0],
            now,
            name_key("压测采购", ""),
        )
        await _history(conn, rng, dealer_ids, admin, now)
        # As autovacuum would have by the time anyone searches (it is off on some machines):
        # statistics, the visibility map for index-only scans, GIN pending lists merged.
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    hot = rng.sample(range(1, SKUS + 1), HOT_SKUS)
    return Data(
        dealer_ids=dealer_ids,
        sku_ids=list(range(1, SKUS + 1)),
        hot_sku_ids=hot,
        warehouse_id=wh,
        admin_user_id=admin,
        category_id=roots[3],
        search_term="冰红茶",
        barcode=f"69{SKUS // 2 + 17:011d}",
        buyer_username="bench_buyer",
        seconds=time.monotonic() - started,
    )


async def _history(
    conn: asyncpg.Connection, rng: random.Random, dealer_ids: list[int], user: int, now: datetime
) -> None:
    """A year of completed orders (HISTORY_ORDERS per dealer, 5 lines each), so that the
    catalog is measured as a dealer with a history meets it: every catalog row looks up the
    dealer's last purchase of its SKU."""
    orders, lines = [], []
    order_id = 0
    for dealer in dealer_ids:
        for n in range(HISTORY_ORDERS):
            order_id += 1
            at = now - timedelta(days=365 * (HISTORY_ORDERS - n) / HISTORY_ORDERS)
            skus = rng.sample(range(1, SKUS + 1), LINES)
            orders.append(
                (order_id, f"HI-{order_id:08d}", dealer, user, "completed", 1000, 1000, at, at)
            )
            lines += [
                (order_id, dealer, s, f"B{s:07d}", "history", "瓶", 2, 2, 0, 100, 100, 200, "tier")
                for s in skus
            ]
    await conn.copy_records_to_table(
        "sales_order",
        columns=[
            "id",
            "number",
            "dealer",
            "placed_by",
            "status",
            "total_fen",
            "list_total_fen",
            "created_at",
            "updated_at",
        ],
        records=orders,
    )
    await conn.execute("SELECT setval('sales_order_id_seq', $1)", order_id)
    await conn.copy_records_to_table(
        "order_line",
        columns=[
            "order",
            "dealer",
            "sku",
            "sku_code",
            "sku_name",
            "unit",
            "qty",
            "qty_shipped",
            "qty_backordered",
            "unit_price_fen",
            "list_price_fen",
            "line_total_fen",
            "price_rule",
        ],
        records=lines,
    )


# --- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, var_dir: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        PORTAL_DATABASE_URL=url,
        PORTAL_PORT=str(port),
        PORTAL_WORKERS=str(WORKERS),
        PORTAL_VAR_DIR=str(var_dir),
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
    )
    log = open(var_dir / "server.log", "w")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(
        [sys.executable, "-m", "portal", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
    )


async def wait_ready(base: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=base) as c:
        while time.monotonic() < deadline:
            try:
                if (await c.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("the server did not become ready")


# --- CPU ---------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by PostgreSQL (every postgres process on the machine: backends and
    background workers), by the portal's server (uvicorn's process and its workers) and by
    the load's client (wrk, a child reaped after each run; or this process, which drives the
    floor and the httpx load), read from /proc and getrusage. What a figure costs in CPU per
    request is steadier than its rate on a shared machine, and says where the time goes.
    Where /proc is missing (not Linux), nothing is reported."""

    def __init__(self) -> None:
        self.server_pid: int | None = None
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _processes(self) -> list[tuple[int, int, str, float]]:
        """(pid, parent pid, command, CPU seconds) of every process."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    text = f.read()
            except OSError:  # gone meanwhile
                continue
            command = text[text.index("(") + 1 : text.rindex(")")]
            fields = text[text.rindex(")") + 2 :].split()
            # fields[1] is the parent pid; [11] and [12] are utime and stime, in clock ticks.
            cpu = (int(fields[11]) + int(fields[12])) / self.tick
            found.append((int(entry), int(fields[1]), command, cpu))
        return found

    def snapshot(self) -> dict[str, float]:
        if not os.path.isdir("/proc"):
            return {}
        processes = self._processes()
        server = {self.server_pid}
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "postgres": sum(cpu for _p, _pp, command, cpu in processes if command == "postgres"),
            "server": sum(cpu for pid, ppid, _c, cpu in processes if server & {pid, ppid}),
            "self": own.ru_utime + own.ru_stime,
            "children": children.ru_utime + children.ru_stime,
        }

    @staticmethod
    def per_op(before: dict, after: dict, count: int, client: str) -> dict[str, float]:
        """CPU milliseconds per request between two snapshots; `client`: "children" (wrk) or
        "self" (this process drove the load)."""
        if not before or not count:
            return {}
        return {
            name: round((after[key] - before[key]) * 1000 / count, 3)
            for name, key in (("postgres", "postgres"), ("server", "server"), ("client", client))
        }


CPU = CpuMeter()


# --- load --------------------------------------------------------------------------------


@dataclass
class Run:
    count: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    error_sample: str = ""
    percentiles_ms: dict[str, float] | None = None  # wrk computes its own

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct_ms(self, p: int) -> float:
        if self.percentiles_ms is not None:
            return self.percentiles_ms[f"p{p}_ms"]
        return pct(self.latencies, p)


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def drive(one, seconds: float, concurrency: int = CONCURRENCY) -> Run:
    """`concurrency` loops calling one(worker) until the time is up; one returns ok (bool)."""
    run = Run()
    stop = time.monotonic() + seconds

    async def loop(worker: int) -> None:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                ok = await one(worker)
            except Exception as exc:  # counted, and one shown
                ok = False
                run.error_sample = run.error_sample or repr(exc)[:200]
            if ok is True:
                run.count += 1
                run.latencies.append(time.perf_counter() - t0)
            else:
                run.errors += 1
                if isinstance(ok, str):
                    run.error_sample = run.error_sample or ok[:200]

    started = time.monotonic()
    await asyncio.gather(*[loop(w) for w in range(concurrency)])
    run.seconds = time.monotonic() - started
    return run


def summarise(runs: list[Run]) -> dict:
    best = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]  # the median run
    return {
        "per_s": round(best.rate, 1),
        "p50_ms": round(best.pct_ms(50), 2),
        "p95_ms": round(best.pct_ms(95), 2),
        "p99_ms": round(best.pct_ms(99), 2),
        "errors": sum(r.errors for r in runs),
        "error_sample": next((r.error_sample for r in runs if r.error_sample), ""),
        "runs_per_s": [round(r.rate, 1) for r in runs],
    }


async def measure(one, seconds: float) -> dict:
    await drive(one, WARMUP_SECONDS)
    before = CPU.snapshot()
    runs = [await drive(one, seconds) for _ in range(RUNS)]
    after = CPU.snapshot()
    return {
        **summarise(runs),
        "cpu_ms_per_op": CPU.per_op(before, after, sum(r.count for r in runs), "self"),
    }


async def wrk(
    url: str, seconds: float, env: dict[str, str], headers: dict[str, str] | None = None
) -> Run:
    """One wrk run (one thread, CONCURRENCY connections) of bench/wrk/bench.lua, which prints
    the run's figures as a JSON line."""
    args = [
        WRK,
        "-t1",
        f"-c{CONCURRENCY}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPTS / "bench.lua"),
    ]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    proc = await asyncio.create_subprocess_exec(
        *args,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    out, err = await proc.communicate()
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode()[:300]}")
    f = json.loads(lines[-1])
    errors = f["bad"] + f["socket_errors"]
    return Run(
        count=f["requests"] - errors,
        errors=errors,
        seconds=f["seconds"],
        error_sample=err.decode()[:200],
        percentiles_ms={k: f[k] for k in ("p50_ms", "p95_ms", "p99_ms")},
    )


async def measure_wrk(
    url: str,
    seconds: float,
    env: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """As measure(), with wrk: a warm-up run, then the median of RUNS timed runs."""

    def run_env(i: int) -> dict[str, str]:
        return {**(env or {}), "BENCH_RUN": f"{time.time_ns()}-{i}"}

    await wrk(url, WARMUP_SECONDS, run_env(0), headers)
    before = CPU.snapshot()
    runs = [await wrk(url, seconds, run_env(i + 1), headers) for i in range(RUNS)]
    after = CPU.snapshot()
    return {
        **summarise(runs),
        "cpu_ms_per_op": CPU.per_op(before, after, sum(r.count for r in runs), "children"),
    }


async def token(c: httpx.AsyncClient, username: str) -> str:
    r = await c.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return r.json()["access_token"]


async def bench_orders(base: str, data: Data, hot: bool) -> dict:
    rng = random.Random(7 if hot else 5)
    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as c:
        headers = {"Authorization": f"Bearer {await token(c, 'bench_admin')}"}
        pool = data.hot_sku_ids if hot else data.sku_ids
        if WRK:
            env = {
                "BENCH_TOKEN": headers["Authorization"].removeprefix("Bearer "),
                "BENCH_DEALERS": ",".join(map(str, data.dealer_ids)),
                "BENCH_SKUS": ",".join(map(str, pool)) if hot else "",
                "BENCH_SKU_MAX": str(len(data.sku_ids)),
                "BENCH_LINES": str(LINES),
                "BENCH_SEED": "7" if hot else "5",
            }
            return await measure_wrk(base, ORDER_SECONDS, {**env, "BENCH_MODE": "orders"})

        async def one(worker: int) -> bool | str:
            skus = rng.sample(pool, LINES)
            body = {
                "dealer_id": rng.choice(data.dealer_ids),
                "lines": [{"sku_id": s, "qty": 1} for s in skus],
            }
            r = await c.post(
                "/api/v1/orders",
                json=body,
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            return True if r.status_code == 201 else f"{r.status_code} {r.text}"

        return await measure(one, ORDER_SECONDS)


FLOOR_SQL = {
    "dealer": "SELECT id, credit_limit_fen, balance_fen, open_orders_fen FROM dealer "
    "WHERE id = $1 FOR UPDATE",
    "stock": "SELECT id, on_hand, reserved FROM stock_level WHERE warehouse = $1 "
    "AND sku = ANY($2::int[]) ORDER BY id FOR UPDATE",
    "reserve": "UPDATE stock_level SET reserved = stock_level.reserved + v.q "
    "FROM unnest($1::int[], $2::int[]) AS v(id, q) WHERE stock_level.id = v.id",
    "order": "INSERT INTO sales_order (number, dealer, placed_by, status, total_fen, "
    "list_total_fen, created_at, updated_at) VALUES ($1, $2, $3, 'approved', $4, $4, now(), "
    "now()) RETURNING id",
    "lines": 'INSERT INTO order_line ("order", dealer, sku, sku_code, sku_name, unit, qty, '
    "unit_price_fen, list_price_fen, line_total_fen, price_rule) "
    "SELECT $1, $3, s, 'B', 'floor', '瓶', 1, 100, 100, 100, 'base' "
    "FROM unnest($2::int[]) AS s",
    "exposure": "UPDATE dealer SET open_orders_fen = open_orders_fen + $2 WHERE id = $1",
}


async def bench_floor(url: str, data: Data, hot: bool) -> dict:
    """The minimal submission transaction on the portal's tables, asyncpg, same concurrency."""
    rng = random.Random(7 if hot else 5)
    pool_skus = data.hot_sku_ids if hot else data.sku_ids
    db = await asyncpg.create_pool(url, min_size=CONCURRENCY, max_size=CONCURRENCY)
    counter = iter(range(10**9))
    try:

        async def one(worker: int) -> bool:
            dealer = rng.choice(data.dealer_ids)
            skus = sorted(rng.sample(pool_skus, LINES))
            async with db.acquire() as conn, conn.transaction():
                await conn.fetchrow(FLOOR_SQL["dealer"], dealer)
                rows = await conn.fetch(FLOOR_SQL["stock"], data.warehouse_id, skus)
                await conn.execute(FLOOR_SQL["reserve"], [r["id"] for r in rows], [1] * len(rows))
                order_id = await conn.fetchval(
                    FLOOR_SQL["order"],
                    f"FL-{hot:d}-{next(counter)}",
                    dealer,
                    data.admin_user_id,
                    500,
                )
                await conn.execute(FLOOR_SQL["lines"], order_id, skus, dealer)
                await conn.execute(FLOOR_SQL["exposure"], dealer, 500)
            return True

        return await measure(one, ORDER_SECONDS)
    finally:
        await db.close()


async def sign_in_cookies(c: httpx.AsyncClient, username: str) -> str:
    page = await c.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    r = await c.post("/login", data={"login": username, "password": PASSWORD, "_csrf_token": csrf})
    assert r.status_code in (200, 303), r.status_code
    return csrf


async def bench_catalog(base: str, data: Data) -> dict:
    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    results = {}
    async with (
        httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as pages,
        httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as api,
    ):
        await sign_in_cookies(pages, data.buyer_username)
        api.headers["Authorization"] = f"Bearer {await token(api, data.buyer_username)}"
        targets = {
            "trivial /health/live": (pages, "/health/live", {}),
            "page: first page": (pages, "/catalog", {}),
            "page: category": (pages, "/catalog", {"category": data.category_id}),
            "page: search 冰红茶": (pages, "/catalog", {"q": data.search_term}),
            "page: barcode": (pages, "/catalog", {"q": data.barcode}),
            "api: first page": (api, "/api/v1/catalog/skus", {}),
            "api: category": (api, "/api/v1/catalog/skus", {"category_id": data.category_id}),
            "api: search 冰红茶": (api, "/api/v1/catalog/skus", {"q": data.search_term}),
            "api: barcode": (api, "/api/v1/catalog/skus", {"q": data.barcode}),
        }
        for name, (client, path, params) in targets.items():
            check = await client.get(path, params=params)
            if check.status_code != 200:
                raise RuntimeError(f"{name}: {check.status_code} {check.text[:300]}")
            if WRK:
                headers = dict(client.headers.items()) if client is api else {}
                if client is pages:
                    headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in pages.cookies.items())
                wanted = {
                    k: v for k, v in headers.items() if k.lower() in ("authorization", "cookie")
                }
                results[name] = await measure_wrk(
                    str(check.request.url), CATALOG_SECONDS, headers=wanted
                )
                continue

            async def one(worker: int, client=client, path=path, params=params) -> bool | str:
                r = await client.get(path, params=params)
                return True if r.status_code == 200 else f"{r.status_code}"

            results[name] = await measure(one, CATALOG_SECONDS)
    trivial = results["trivial /health/live"]
    for figures in results.values():
        figures["ratio_to_trivial"] = round(figures["per_s"] / trivial["per_s"], 3)
    return results


async def search_anew_and_kept(url: str, data: Data) -> dict:
    """The catalog search of data.search_term in this process, one client, through
    catalog.search: ranked anew (the catalog's version moved on just before, so nothing kept
    counts and the version is read again: a search's dearest case) and served from its kept
    ranking (portal/domain/search_rankings.py), alternating; the median ms of each in RUNS
    runs of SEARCH_SAMPLES, and their median ratio. The HTTP figures above repeat one search,
    so after the first request they measure the kept case."""
    sys.path.insert(0, str(ROOT))
    from portal.db import bind_tables, engine_from_url, fetch, start, stop
    from portal.domain import catalog
    from portal.domain.scope import actor_from_user

    engine = engine_from_url(url)
    await start(engine)
    bind_tables(engine)
    try:
        user = (
            await fetch('SELECT * FROM "portal_user" WHERE username = {}', data.buyer_username)
        )[0]
        dealer = (await fetch('SELECT * FROM "dealer" WHERE id = {}', user["dealer"]))[0]
        actor = actor_from_user(user)

        async def once(anew: bool) -> float:
            if anew:
                await fetch('UPDATE "catalog_version" SET n = n + 1 WHERE id = 1')
            started = time.perf_counter()
            page = await catalog.search(actor, dealer, q=data.search_term)
            elapsed = (time.perf_counter() - started) * 1000
            if not page.items:
                raise RuntimeError(f"search {data.search_term}: no items")
            return elapsed

        for _ in range(10):  # warm-up: statements prepared, plans cached
            await once(True)
            await once(False)
        runs = []
        for _ in range(RUNS):
            anew, kept = [], []
            for _ in range(SEARCH_SAMPLES):
                anew.append(await once(True))
                kept.append(await once(False))
            runs.append((statistics.median(anew), statistics.median(kept)))
    finally:
        await stop(engine)
    anew_ms = statistics.median(r[0] for r in runs)
    kept_ms = statistics.median(r[1] for r in runs)
    return {
        "term": data.search_term,
        "anew_p50_ms": round(anew_ms, 2),
        "kept_p50_ms": round(kept_ms, 2),
        "kept_to_anew": round(statistics.median(r[1] / r[0] for r in runs), 3),
        "runs_ms": [[round(a, 2), round(k, 2)] for a, k in runs],
    }


async def page_weight(base: str, data: Data) -> dict:
    """Compressed bytes over the wire: the catalog page with its CSS and JS; htmx partials."""
    gz = {"Accept-Encoding": "gzip"}
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=gz) as c:
        csrf = await sign_in_cookies(c, data.buyer_username)

        async def wire(method: str, url: str, **kw) -> tuple[int, int]:
            async with c.stream(method, url, **kw) as r:
                raw = b"".join([chunk async for chunk in r.aiter_raw()])
                return r.status_code, len(raw)

        page = await c.get("/catalog")
        assets = re.findall(
            r'<(?:link rel="stylesheet" href|script src)="(/static/[^"]+)"', page.text
        )
        first = {"/catalog": (await wire("GET", "/catalog"))[1]}
        for asset in assets:
            first[asset] = (await wire("GET", asset))[1]
        hx = {"HX-Request": "true", "x-csrftoken": csrf}
        partials = {
            "catalog search (q)": await wire(
                "GET", "/catalog", params={"q": data.search_term}, headers=hx
            ),
            "catalog next page": await wire("GET", "/catalog", params={"page": 2}, headers=hx),
            "catalog category": await wire(
                "GET", "/catalog", params={"category": data.category_id}, headers=hx
            ),
            "stepper (qty +1)": await wire(
                "POST",
                f"/catalog/qty/{data.sku_ids[10]}",
                data={"qty": "1", "step": "set", "_csrf_token": csrf},
                headers=hx,
            ),
        }
    return {
        "first_load_bytes": sum(first.values()),
        "first_load_parts": first,
        "partials_bytes": {k: v[1] for k, v in partials.items()},
        "partials_status": {k: v[0] for k, v in partials.items()},
    }


# What migration 2026-11-25T14:00:04 creates for the catalog's search on PostgreSQL.
SEARCH_INDEXES = (
    "sku_name_trgm",
    "product_name_trgm",
    "product_brand_trgm",
    "sku_code_prefix",
    "sku_barcode_prefix",
    "product_category_name",
)


async def search_indexes(url: str) -> list[str]:
    """The catalog search indexes present right after migrating (before any data)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE indexname = ANY($1::text[])",
            list(SEARCH_INDEXES),
        )
        return sorted(r["indexname"] for r in rows)
    finally:
        await conn.close()


# --- the report --------------------------------------------------------------------------


async def trivial_rate(base: str) -> dict:
    """/health/live in the same server, measured next to the submissions."""
    if WRK:
        return await measure_wrk(f"{base}/health/live", CATALOG_SECONDS)
    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as c:

        async def one(worker: int) -> bool:
            return (await c.get("/health/live")).status_code == 200

        return await measure(one, CATALOG_SECONDS)


async def bench_all_orders(base: str, url: str, data: Data) -> dict:
    orders = {
        "trivial /health/live": await trivial_rate(base),
        "portal": await bench_orders(base, data, hot=False),
        "floor": await bench_floor(url, data, hot=False),
        "portal hot": await bench_orders(base, data, hot=True),
        "floor hot": await bench_floor(url, data, hot=True),
    }
    trivial = orders["trivial /health/live"]["per_s"]
    orders["ratio"] = round(orders["portal"]["per_s"] / orders["floor"]["per_s"], 3)
    orders["ratio_hot"] = round(orders["portal hot"]["per_s"] / orders["floor hot"]["per_s"], 3)
    orders["ratio_to_trivial"] = round(orders["portal"]["per_s"] / trivial, 3)
    orders["ratio_hot_to_trivial"] = round(orders["portal hot"]["per_s"] / trivial, 3)
    orders["floor_to_trivial"] = round(orders["floor"]["per_s"] / trivial, 3)
    # Where a submission's CPU goes, against the floor's: PostgreSQL's share and the rest.
    for suffix in ("", " hot"):
        portal_cpu = orders[f"portal{suffix}"].get("cpu_ms_per_op") or {}
        floor_cpu = orders[f"floor{suffix}"].get("cpu_ms_per_op") or {}
        if portal_cpu.get("postgres") and floor_cpu.get("postgres"):
            key = "postgres_cpu_portal_to_floor" + suffix.replace(" ", "_")
            orders[key] = round(portal_cpu["postgres"] / floor_cpu["postgres"], 2)
    return orders


ORDER_FIGURES = ("trivial /health/live", "portal", "floor", "portal hot", "floor hot")


def table(report: dict) -> str:
    out = [f"load generator: {report['set_up']['load_generator']}"]
    o = report.get("orders") or {}
    title = f"order submission (N={CONCURRENCY}, {LINES} lines)"
    if o:
        out.append(
            f"{title:44} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}"
        )
    for name in ORDER_FIGURES:
        if name not in o:
            continue
        f = o[name]
        out.append(
            f"  {name:42} {f['per_s']:8.1f} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f} "
            f"{f['p99_ms']:8.1f} {f['errors']:6d}"
        )
    if o:
        out.append(f"  portal ÷ floor: {o['ratio']:.3f}   hot: {o['ratio_hot']:.3f}")
        out.append(
            f"  portal ÷ trivial: {o['ratio_to_trivial']:.3f}   "
            f"hot: {o['ratio_hot_to_trivial']:.3f}   "
            f"floor ÷ trivial: {o['floor_to_trivial']:.3f}"
        )
    cpu_rows = [
        (n, o[n]["cpu_ms_per_op"]) for n in ORDER_FIGURES if o.get(n, {}).get("cpu_ms_per_op")
    ]
    if cpu_rows:
        out.append(f"{'  CPU ms per request':44} {'postgres':>8} {'server':>8} {'client':>8}")
        for name, cpu in cpu_rows:
            out.append(
                f"  {name:42} {cpu['postgres']:8.2f} {cpu['server']:8.2f} {cpu['client']:8.2f}"
            )
        if "postgres_cpu_portal_to_floor" in o:
            out.append(
                "  PostgreSQL CPU per order, portal ÷ floor: "
                f"{o['postgres_cpu_portal_to_floor']:.2f}   "
                f"hot: {o.get('postgres_cpu_portal_to_floor_hot', 0):.2f}"
            )
    for label, key in (("catalog", "catalog"),):
        if key not in report:
            continue
        title = f"{label} ({SKUS} SKUs, N={CONCURRENCY})"
        out.append(
            f"{title:44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>8} {'errors':>6}"
        )
        for name, f in report[key].items():
            out.append(
                f"  {name:42} {f['per_s']:8.1f} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f} "
                f"{f['ratio_to_trivial']:8.3f} {f['errors']:6d}"
            )
    k = report.get("search_in_process")
    if k:
        out.append(
            f"search {k['term']} in process, one client: ranked anew p50 {k['anew_p50_ms']:.2f} "
            f"ms, from the kept ranking {k['kept_p50_ms']:.2f} ms (ratio {k['kept_to_anew']:.3f})"
        )
    w = report.get("page_weight")
    if not w:
        return "\n".join(out)
    out.append(f"page weight (gzip): /catalog first load with CSS+JS {w['first_load_bytes']:,} B")
    for name, size in w["partials_bytes"].items():
        status = w["partials_status"][name]
        out.append(f"  partial {name:34} {size:8,} B (status {status})")
    out.append(
        f"data generation {report['data_seconds']:.1f}s; whole bench {report['seconds']:.0f}s"
    )
    return "\n".join(out)


async def main() -> int:
    started = time.monotonic()
    rng = random.Random(20261125)
    name, url = await create_database()
    server = None
    var_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}-var"
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        print(f"database {name}: migrating and generating {SKUS:,} SKUs ...", flush=True)
        await asyncio.to_thread(migrate, url)
        indexes = await search_indexes(url)
        data = await generate(url, rng)
        print(f"  generated in {data.seconds:.1f}s; starting the server ...", flush=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, var_dir)
        CPU.server_pid = server.pid
        await wait_ready(base)
        report: dict = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "set_up": {
                "server": f"python -m portal serve, PORTAL_WORKERS={WORKERS}",
                "load_generator": LOADGEN,
                "concurrency": CONCURRENCY,
                "skus": SKUS,
                "dealers": DEALERS,
                "runs": RUNS,
                "trgm_indexes_from_migrations": all(
                    name in indexes for name in SEARCH_INDEXES if name.endswith("_trgm")
                ),
                "search_indexes_from_migrations": indexes,
                "quick": QUICK,
            },
            "data_seconds": round(data.seconds, 1),
        }
        if ONLY in ("", "catalog"):
            print("catalog ...", flush=True)
            report["catalog"] = await bench_catalog(base, data)
            print("page weight ...", flush=True)
            report["page_weight"] = await page_weight(base, data)
            print("search anew and kept, in process ...", flush=True)
            report["search_in_process"] = await search_anew_and_kept(url, data)
        if ONLY in ("", "orders"):
            print("orders ...", flush=True)
            report["orders"] = await bench_all_orders(base, url, data)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
        try:
            report["invariants"] = (
                await check_invariants(url, data.warehouse_id) if "orders" in report else {}
            )
        except Exception as exc:  # the figures are kept; the failure is reported with them
            report["invariants"] = {"error": repr(exc)}
        report["seconds"] = round(time.monotonic() - started, 1)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
        print()
        print(table(report))
        print(f"invariants after the run: {report['invariants']}")
        print(f"written {out.relative_to(ROOT)}")
        return 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        await drop_database(name)


async def check_invariants(url: str, data_warehouse: int) -> dict:
    """After the storm of submissions (portal orders only; the floor's rows are its own)."""
    conn = await asyncpg.connect(url)
    try:
        # Reserved per stock row == the portal's reservations + one unit per floor line.
        drift = await conn.fetchval(
            "WITH held AS (SELECT sku, warehouse, sum(qty) AS q FROM reservation "
            "GROUP BY sku, warehouse UNION ALL SELECT ol.sku, $1::int, count(*) FROM order_line "
            "ol JOIN sales_order o ON o.id = ol.\"order\" WHERE o.number LIKE 'FL-%' "
            "GROUP BY ol.sku), total AS (SELECT sku, warehouse, sum(q) AS q FROM held "
            "GROUP BY sku, warehouse) SELECT count(*) FROM stock_level sl LEFT JOIN total t "
            "ON t.sku = sl.sku AND t.warehouse = sl.warehouse "
            "WHERE sl.reserved <> COALESCE(t.q, 0)",
            data_warehouse,
        )
        negative = await conn.fetchval(
            "SELECT count(*) FROM stock_level WHERE on_hand - reserved < 0"
        )
        orphan = await conn.fetchval(
            "SELECT count(*) FROM sales_order o WHERE NOT EXISTS "
            '(SELECT 1 FROM order_line l WHERE l."order" = o.id)'
        )
        exposure = await conn.fetchval(
            "SELECT count(*) FROM dealer d LEFT JOIN (SELECT dealer, sum(total_fen) AS t "
            "FROM sales_order WHERE status IN ('pending_approval', 'approved', "
            "'partially_shipped') GROUP BY dealer) o ON o.dealer = d.id "
            "WHERE d.open_orders_fen <> COALESCE(o.t, 0)"
        )
    finally:
        await conn.close()
    return {
        "stock_rows_with_reserved_drift": drift,
        "negative_available": negative,
        "orders_without_lines": orphan,
        "dealers_with_exposure_drift": exposure,
    }


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
