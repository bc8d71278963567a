"""Periodic work each server process does in the background: for now, auto-receipt.

Shipments the dealer leaves unconfirmed count as received `auto_receive_days` after
shipping. Every worker runs the loop; the receipt is a guarded update, so two workers
reaching the same shipment complete it once. `python -m portal auto-receive` does the same
from cron where the server's loop is turned off (PORTAL_HOUSEKEEPING_SECONDS=0).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger("portal.housekeeping")

FIRST_RUN_DELAY_SECONDS = 30.0


async def run_once(auto_receive_days: int, now: datetime | None = None) -> int:
    """One pass; returns how many shipments were auto-received."""
    from portal.domain import shipments

    if auto_receive_days <= 0:
        return 0
    return await shipments.auto_receive(now or datetime.now(UTC), days=auto_receive_days)


async def run_forever(auto_receive_days: int, interval: float, first_delay: float) -> None:
    await asyncio.sleep(first_delay)
    while True:
        try:
            done = await run_once(auto_receive_days)
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
    auto_receive_days: int, interval: float, first_delay: float = FIRST_RUN_DELAY_SECONDS
) -> Housekeeper | None:
    if interval <= 0 or auto_receive_days <= 0:
        return None
    return Housekeeper(asyncio.create_task(run_forever(auto_receive_days, interval, first_delay)))
