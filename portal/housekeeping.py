"""Periodic work each server process does in the background: for now, auto-receipt.

Shipments the dealer leaves unconfirmed count as received the supplier's auto-receive days
after shipping (its settings, read on every pass, else PORTAL_AUTO_RECEIVE_DAYS; 0: never).
Every worker runs the loop; the receipt is a guarded update, so two workers
reaching the same shipment complete it once. `python -m portal auto-receive` does the same
from cron where the server's loop is turned off (PORTAL_HOUSEKEEPING_SECONDS=0).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from portal.domain import supplier

log = logging.getLogger("portal.housekeeping")

FIRST_RUN_DELAY_SECONDS = 30.0


async def run_once(
    defaults: supplier.Defaults, now: datetime | None = None, *, days: int | None = None
) -> int:
    """One pass, with `days` or else the supplier's setting; returns how many shipments were
    auto-received."""
    from portal.domain import shipments

    if days is None:
        days = (await supplier.current(defaults)).auto_receive_days
    if days <= 0:
        return 0
    return await shipments.auto_receive(now or datetime.now(UTC), days=days)


async def run_forever(defaults: supplier.Defaults, interval: float, first_delay: float) -> None:
    await asyncio.sleep(first_delay)
    while True:
        try:
            done = await run_once(defaults)
            if done:
                log.info("auto-received %d shipment(s)", done)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down for a while: try again next round
            log.exception("housekeeping pass failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)


@dataclass
class Housekeeper:
    task: asyncio.Task

    async def close(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def start(
    defaults: supplier.Defaults, interval: float, first_delay: float = FIRST_RUN_DELAY_SECONDS
) -> Housekeeper | None:
    """The loop, unless turned off (interval 0). It runs even while auto-receipt is off (0
    days): an administrator may turn that on in the settings at any time."""
    if interval <= 0:
        return None
    return Housekeeper(asyncio.create_task(run_forever(defaults, interval, first_delay)))
