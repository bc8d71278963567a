"""The background loop of the outbox senders: rounds repeat, a failing round does not end the
loop, and closing it never waits long for a slow round (a server must shut down promptly)."""

from __future__ import annotations

import asyncio
import logging
import time

from portal import background

log = logging.getLogger("test.background")


async def test_rounds_repeat_survive_failures_and_stop_on_close():
    calls = []

    async def round_() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database is briefly away")

    loop = background.start(round_, 0.01, log)
    for _ in range(200):
        if len(calls) >= 4:
            break
        await asyncio.sleep(0.01)
    await loop.close()
    assert len(calls) >= 4 and loop.task.done() and not loop.task.cancelled()


async def test_close_cancels_a_round_that_outlasts_the_grace():
    started = asyncio.Event()

    async def stuck() -> None:
        started.set()
        await asyncio.sleep(3600)  # a receiver that never answers

    loop = background.start(stuck, 1.0, log)
    await started.wait()
    t0 = time.monotonic()
    await loop.close(grace=0.1)
    assert time.monotonic() - t0 < 2
    assert loop.task.cancelled()
