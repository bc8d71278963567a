"""The served app (portal.asgi, what uvicorn's workers import) as a process starts it."""

from __future__ import annotations

import os
import subprocess
import sys

from portal.settings import ROOT

STARTED = """
import asyncio, gc
from portal.asgi import app

async def main():
    before = gc.get_freeze_count()
    async with app.lifespan():
        print(before, gc.get_freeze_count())

asyncio.run(main())
"""


def test_a_started_worker_has_frozen_its_start_up_heap(tmp_path):
    """Full garbage collections must not walk the start-up heap (settle_heap): nothing is
    frozen before start-up, and most of the process is after it."""
    env = dict(
        os.environ,
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        PORTAL_VAR_DIR=str(tmp_path),
        PORTAL_SECRET_KEY="k" * 48,
    )
    done = subprocess.run(
        [sys.executable, "-c", STARTED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())
    assert before == 0
    assert after > 50_000
