"""The server's housekeeping loop (auto-receipt) and the createadmin command, on both engines."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from portal import housekeeping
from portal.domain import accounts, shipments, supplier
from portal.settings import ROOT
from portal.tables import AuditEntry, Shipment, User
from tests import factories as f
from tests.db.test_shipments import approved_order, fulfil_world


async def _shipped(w, days_ago: int) -> int:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    o = await approved_order(w, qty=4, key=f"hk{days_ago}")
    line = o["lines"][0]
    sh = (
        await shipments.create_shipment(
            w.clerk, o["id"], warehouse_id=w.wh1["id"], quantities={line["id"]: 2}, now=when
        )
    ).shipment
    await shipments.ship(w.clerk, sh.id, now=when)
    return sh.id


async def test_loop_receives_only_shipments_past_the_days(db):
    w = await fulfil_world()
    old, recent = await _shipped(w, 9), await _shipped(w, 2)
    keeper = housekeeping.start(supplier.Defaults(), interval=0.05, first_delay=0)
    try:
        for _ in range(100):
            row = await Shipment.select(Shipment.status).where(Shipment.id == old).first()
            if row["status"] == "received":
                break
            await asyncio.sleep(0.05)
    finally:
        await keeper.close()
    rows = {
        r["id"]: r
        for r in await Shipment.select(Shipment.id, Shipment.status, Shipment.auto_received)
    }
    assert rows[old]["status"] == "received" and rows[old]["auto_received"]
    assert rows[recent]["status"] == "shipped"


async def test_loop_is_off_when_configured_off():
    assert housekeeping.start(supplier.Defaults(), interval=0) is None


async def test_a_pass_follows_the_supplier_settings_over_the_defaults(db):
    w = await fulfil_world()
    old = await _shipped(w, 9)
    off = supplier.Defaults(auto_receive_days=0)
    assert await housekeeping.run_once(off) == 0  # nothing saved: the default (never) holds
    admin = f.actor(await f.user("admin"))
    settings = supplier.SettingsInput(name="康源饮品", auto_receive_days=10)
    await supplier.save(admin, settings, off)
    assert await housekeeping.run_once(off) == 0  # 9 days is not past 10
    assert await housekeeping.run_once(off, days=8) == 1  # the command's --days wins
    row = await Shipment.select(Shipment.status).where(Shipment.id == old).first()
    assert row["status"] == "received"


def _cli(database_url: str, tmp_path, *args: str, password: str = "s3cret-pass"):
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_VAR_DIR": str(tmp_path),
        "PORTAL_ADMIN_PASSWORD": password,
    }
    return subprocess.run(
        [sys.executable, "-m", "portal", "createadmin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_createadmin_creates_then_refuses_then_resets(db, database_url, tmp_path):
    now = datetime.now(UTC)
    done = await asyncio.to_thread(_cli, database_url, tmp_path, "boss", "--name", "Boss")
    assert done.returncode == 0, done.stderr
    row = await User.select().where(User.username == "boss").first()
    assert row["role"] == "admin" and row["display_name"] == "Boss"
    assert "s3cret" not in row["password_hash"]
    user = await accounts.authenticate("boss", "s3cret-pass", "127.0.0.9", now=now)
    assert user["id"] == row["id"]

    again = await asyncio.to_thread(_cli, database_url, tmp_path, "boss", password="other-pass")
    assert again.returncode == 1 and "exists" in again.stderr
    assert await User.count().where(User.username == "boss") == 1

    reset = await asyncio.to_thread(
        _cli, database_url, tmp_path, "boss", "--reset-password", password="other-pass"
    )
    assert reset.returncode == 0, reset.stderr
    after = await User.select().where(User.username == "boss").first()
    assert after["token_version"] == row["token_version"] + 1
    await accounts.authenticate("boss", "other-pass", "127.0.0.9", now=now)

    short = await asyncio.to_thread(_cli, database_url, tmp_path, "b2", password="short")
    assert short.returncode == 2 and await User.count().where(User.username == "b2") == 0
    easy = await asyncio.to_thread(_cli, database_url, tmp_path, "b3", password="12345678")
    assert easy.returncode == 2 and "easy to guess" in easy.stderr
    assert await User.count().where(User.username == "b3") == 0
    # Both the creation and the reset are in the audit log, as the system's.
    entries = await AuditEntry.select().where(AuditEntry.entity_id == str(row["id"]))
    assert sorted(e["action"] for e in entries) == ["user.created", "user.password_reset"]
    assert all(e["actor"] is None for e in entries)
