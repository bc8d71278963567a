"""A loop that runs one round of background work every `interval` seconds until stopped.

Used by the outbox senders (mail, webhooks). A round that fails (the database briefly away,
say) is logged and the loop goes on; closing it lets the round in progress finish, briefly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass
class Loop:
    task: asyncio.Task
    stop: asyncio.Event

    async def close(self, grace: float = 5.0) -> None:
        """Stop after the round in progress, or cancel it if it takes longer than `grace`
        (a slow receiver must not hold up a server's shutdown; an unfinished delivery stays
        claimed until its lease runs out, then is sent again)."""
        self.stop.set()
        try:
            await asyncio.wait_for(self.task, timeout=grace)
        except TimeoutError:
            pass  # wait_for has cancelled the round


async def _run(
    round_: Callable[[], Awaitable[object]],
    interval: float,
    stop: asyncio.Event,
    log: logging.Logger,
) -> None:
    while not stop.is_set():
        try:
            await round_()
        except Exception:  # keep the loop alive; the next round tries again
            log.exception("background round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def start(round_: Callable[[], Awaitable[object]], interval: float, log: logging.Logger) -> Loop:
    """Start the loop in the running event loop (from the app's on_startup)."""
    stop = asyncio.Event()
    return Loop(task=asyncio.create_task(_run(round_, interval, stop, log)), stop=stop)
