"""Apply the Piccolo migrations in migrations/ to a database given by URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from portal.settings import ROOT


def run_migrations(database_url: str) -> None:
    """Run `piccolo migrations forwards portal` against the URL; raise if it fails.

    A subprocess, because Piccolo's CLI reads its engine from piccolo_conf once per process.
    """
    piccolo = Path(sys.executable).parent / "piccolo"
    env = dict(os.environ, PICCOLO_CONF="piccolo_conf", PORTAL_DATABASE_URL=database_url)
    result = subprocess.run(
        [str(piccolo), "migrations", "forwards", "portal"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or "failed" in result.stdout.lower():
        raise RuntimeError(f"migrations failed:\n{result.stdout}\n{result.stderr}")
