"""Schemathesis against /schema/openapi.json: generated requests, no 5xx, answers as documented.

The OpenAPI document is read from the app under test (the same ASGI app, the same database)
and loaded with schemathesis; every operation gets a bounded number of generated requests
(valid and invalid ones), sent as a dealer admin and as an admin, on SQLite and PostgreSQL.
Each answer must not be a server error and must conform to the document: a documented
status code, the documented content type and a body matching its schema.

Why not schemathesis's own runner: its ASGI transport runs the app in another thread and
event loop, where the engine's PostgreSQL pool (bound to the test's loop) cannot be used.
So Hypothesis drives the generation in a worker thread and every request is handed back to
the test's loop, where the app runs with the `db` fixture's engine as in every HTTP test.

Path ids: a generated id is folded onto the ids that exist in this world (plus one that does
not), so 200 answers with real bodies are checked, not only 404s.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from portal.domain import approvals, orders, shipments
from portal.domain.quantities import LineRequest
from portal.tables import OrderLine
from tests import factories as f

BASE = "http://testserver.local"
# Bounded: the dealer gets fuzzed requests, the admin (who gets past the role checks to every
# validator) the coverage cases as well. Derandomized, so every run sends the same requests.
# The API has grown to 96 operations: at (0, 6) and (16, 4) the four runs took 190 s of
# a 2-core machine's suite (its largest part); at these budgets about 120 s.
# (role, coverage cases per operation, fuzzed examples per operation and mode)
RUNS = [("st_dadmin", 0, 4), ("st_admin", 10, 3)]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MISSING_ID = 987_654


@dataclass
class World:
    ids: dict[str, list[int]] = field(default_factory=dict)


async def build_world() -> World:
    """Two dealers with orders (approved, waiting for approval), a packed shipment, a rule."""
    tier = await f.tier()
    wh = await f.warehouse()
    dealer = await f.dealer(tier, name="甲经销商", default_warehouse=wh)
    other = await f.dealer(tier, name="乙经销商", default_warehouse=wh)
    skus = []
    for i in range(3):
        s = await f.sku(code=f"ST{i}", name=f"商品{i}", base_price_fen=250 + i * 100)
        await f.stock(s, wh, on_hand=100_000)
        skus.append(s)
    buyer = f.actor(await f.user("dealer_admin", dealer, username="st_dadmin"))
    other_buyer = f.actor(await f.user("dealer_buyer", other, username="st_other"))
    admin = f.actor(await f.user("admin", username="st_admin"))
    # Orders from ¥100 wait for a manager: some orders below are approved, one waits.
    rule = await approvals.save_rule(
        admin, None, approvals.RuleInput("total_at_least", "sales_manager", amount_fen=10_000)
    )
    order_ids = []
    for n in range(4):
        result = await orders.submit_order(
            buyer if n % 3 else other_buyer,
            None,
            [LineRequest(qty=24 + n, sku_id=skus[n % 3]["id"])],
            idempotency_key=f"st-{n}",
        )
        order_ids.append(result.order.id)
    line = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_ids[1]).first()
    ship = await shipments.create_shipment(
        admin, order_ids[1], warehouse_id=wh["id"], quantities={line["id"]: 6}
    )
    return World(
        ids={
            "order_id": order_ids,
            "shipment_id": [ship.shipment.id],
            "dealer_id": [dealer["id"], other["id"]],
            "rule_id": [rule["id"]],
            # The dealers' tier (in use: removing it is refused) and one nothing uses.
            "tier_id": [tier["id"], (await f.tier(code="ST-SPARE"))["id"]],
        }
    )


async def bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": f.PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def fold_ids(case: schemathesis.Case, world: World) -> None:
    """A generated positive id becomes one of the world's ids, or the one that is missing."""
    for name, value in list((case.path_parameters or {}).items()):
        pool = [*world.ids.get(name, []), MISSING_ID]
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            case.path_parameters[name] = pool[value % len(pool)]


def httpx_kwargs(case: schemathesis.Case, auth: dict[str, str]) -> dict[str, Any]:
    """schemathesis's request (built for `requests`) as httpx.AsyncClient.request arguments."""
    raw = case.as_transport_kwargs(base_url=BASE)
    kwargs: dict[str, Any] = {
        "method": raw["method"],
        "url": raw["url"],
        # Ours, not a generated Authorization header: the point is to test as this user.
        "headers": {**(raw.get("headers") or {}), **auth},
        "params": raw.get("params"),
    }
    if "json" in raw:
        kwargs["json"] = raw["json"]
    elif raw.get("data") is not None:
        data = raw["data"]
        kwargs["content" if isinstance(data, bytes | str) else "data"] = data
    return kwargs


def run_operations(
    schema,
    world: World,
    auth: dict[str, str],
    build,
    send,
    failures: list[str],
    tally: Counter,
    coverage_cases: int,
    max_examples: int,
) -> None:
    """In a worker thread: schemathesis generates, `send` runs each request on the test's loop.

    Per operation: schemathesis's coverage cases (boundary and just-invalid values of every
    parameter and field, deterministic), then Hypothesis fuzzing in both modes.
    """

    def attempt(case: schemathesis.Case) -> None:
        fold_ids(case, world)
        tally["generated"] += 1
        try:
            request = build(**httpx_kwargs(case, auth))
        except (UnicodeEncodeError, httpx.InvalidURL):
            return  # a request no HTTP client can build (a non-ASCII header): nothing to send
        response = send(request)
        tally["sent"] += 1
        case.validate_response(response, checks=CHECKS)

    failed: set[str] = set()

    def record(operation, how: str, exc: BaseException) -> None:
        """The first failure of each operation (the rest are usually the same one again)."""
        if operation.label not in failed:
            failed.add(operation.label)
            failures.append(f"{operation.label} [{how}]: {exc}")

    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    for result in schema.get_all_operations():
        operation = result.ok()
        coverage = schema.iter_coverage_cases(
            operation,
            generation_modes=modes,
            generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
        )
        for case in itertools.islice(coverage, coverage_cases):
            try:
                attempt(case)
            except (AssertionError, BaseExceptionGroup) as exc:
                record(operation, "coverage", exc)
        for mode in modes:

            @hsettings(
                max_examples=max_examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case: schemathesis.Case) -> None:
                attempt(case)

            try:
                fuzz()
            except (AssertionError, BaseExceptionGroup) as exc:  # the shrunk example
                record(operation, mode.value, exc)


@pytest.mark.parametrize(("username", "coverage_cases", "max_examples"), RUNS)
async def test_api_conforms_to_its_openapi_document(client, username, coverage_cases, max_examples):
    world = await build_world()
    document = (await client.get("/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    auth = {**await bearer(client, username), "Accept-Language": "en"}
    loop = asyncio.get_running_loop()

    def send(request: httpx.Request) -> httpx.Response:
        """From the worker thread: the app answers on the test's own loop (and pool)."""
        future = asyncio.run_coroutine_threadsafe(client.send(request), loop)
        return future.result(timeout=30)

    failures: list[str] = []
    tally: Counter = Counter()
    await loop.run_in_executor(
        None,
        run_operations,
        schema,
        world,
        auth,
        client.build_request,
        send,
        failures,
        tally,
        coverage_cases,
        max_examples,
    )
    assert not failures, "\n\n".join(failures)
    # Not vacuous: nearly every generated request reached the app.
    assert tally["sent"] >= 0.9 * tally["generated"] > 0, tally
