"""Integration keys in the domain, on both engines."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.domain import api_keys
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import ApiKey, AuditEntry, User
from tests import factories as f

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


async def people():
    dealer, other = await f.dealer(), await f.dealer()
    admin = f.actor(await f.user("admin"))
    boss = f.actor(await f.user("dealer_admin", dealer))
    buyer = await f.user("dealer_buyer", dealer, username="d-buyer")
    stranger = await f.user("dealer_buyer", other, username="x-buyer")
    erp = await f.user("warehouse", username="erp")
    return admin, boss, buyer, stranger, erp


async def test_a_key_acts_as_its_user_and_only_its_hash_is_kept(db):
    admin, _boss, _buyer, _stranger, erp = await people()
    view, key = await api_keys.create_key(
        admin, api_keys.KeyInput("erp", " 金蝶 ERP ", 30), now=NOW
    )
    assert key.startswith("dpk_") and len(key) >= 40 and view.prefix == key[:12]
    assert (view.name, view.username, view.role, view.state) == (
        "金蝶 ERP",
        "erp",
        "warehouse",
        "active",
    )
    assert view.expires_at == NOW + timedelta(days=30)
    row = await ApiKey.select().first()
    assert key not in json.dumps(row, default=str) and row["key_hash"] == api_keys.hash_key(key)
    actor = await api_keys.actor_for_key(key, now=NOW + timedelta(days=1))
    assert (actor.user_id, actor.role, actor.via_key) == (erp["id"], "warehouse", True)
    assert (await ApiKey.select().first())["last_used_at"] is not None
    entry = await AuditEntry.select().where(AuditEntry.action == "api_key.created").first()
    assert entry["actor"] == admin.user_id and key not in entry["after"]


async def test_revoked_expired_or_deactivated_keys_stop_at_once(db):
    admin, _boss, _buyer, _stranger, erp = await people()
    view, key = await api_keys.create_key(admin, api_keys.KeyInput("erp", "ERP", 1), now=NOW)
    assert await api_keys.actor_for_key(key, now=NOW) is not None
    assert await api_keys.actor_for_key(key, now=NOW + timedelta(days=1)) is None  # expired
    assert (
        await api_keys.actor_for_key(key[:-1] + ("A" if key[-1] != "A" else "B"), now=NOW) is None
    )
    assert await api_keys.actor_for_key("dpk_", now=NOW) is None

    _, forever = await api_keys.create_key(admin, api_keys.KeyInput("erp", "ERP 2", 0), now=NOW)
    assert await api_keys.actor_for_key(forever, now=NOW + timedelta(days=3650)) is not None
    await User.update({User.active: False}).where(User.id == erp["id"])
    assert await api_keys.actor_for_key(forever, now=NOW) is None
    await User.update({User.active: True}).where(User.id == erp["id"])
    second = (await api_keys.list_keys(admin, now=NOW))[0]
    revoked = await api_keys.revoke_key(admin, second.id, now=NOW)
    assert revoked.state == "revoked" and await api_keys.actor_for_key(forever, now=NOW) is None
    again = await api_keys.revoke_key(admin, second.id, now=NOW + timedelta(hours=1))
    assert again.revoked_at == revoked.revoked_at  # revoking twice changes nothing
    assert await AuditEntry.count().where(AuditEntry.action == "api_key.revoked") == 1


async def test_a_dealers_administrator_keeps_keys_for_its_own_users_only(db):
    admin, boss, buyer, stranger, _erp = await people()
    assert [u["username"] for u in await api_keys.key_holders(boss)] == sorted(
        [
            buyer["username"],
            (await User.select().where(User.id == boss.user_id).first())["username"],
        ]
    )
    view, _key = await api_keys.create_key(boss, api_keys.KeyInput("d-buyer", "网店", 365), now=NOW)
    assert view.dealer_id == buyer["dealer"] and view.dealer_name  # the dealer's name
    for username in ("x-buyer", "erp"):
        with pytest.raises(ValidationFailed) as caught:
            await api_keys.create_key(boss, api_keys.KeyInput(username, "x", 1), now=NOW)
        assert [e.field for e in caught.value.errors] == ["username"]
    other_view, _ = await api_keys.create_key(admin, api_keys.KeyInput("x-buyer", "x", 1), now=NOW)
    assert [k.id for k in await api_keys.list_keys(boss, now=NOW)] == [view.id]
    with pytest.raises(NotFound):
        await api_keys.revoke_key(boss, other_view.id, now=NOW)
    assert len(await api_keys.list_keys(admin, now=NOW)) == 2


@pytest.mark.parametrize(
    "role", ["dealer_buyer", "sales_rep", "sales_manager", "finance", "warehouse"]
)
async def test_other_roles_and_key_sessions_cannot_manage_keys(db, role):
    admin, *_ = await people()
    dealer = await f.dealer() if role.startswith("dealer") else None
    someone = f.actor(await f.user(role, dealer))
    for call in (
        api_keys.list_keys(someone),
        api_keys.create_key(someone, api_keys.KeyInput("erp", "x", 1)),
        api_keys.list_keys(replace(admin, via_key=True)),
        api_keys.create_key(replace(admin, via_key=True), api_keys.KeyInput("erp", "x", 1)),
    ):
        with pytest.raises(Forbidden):
            await call
    assert await ApiKey.count() == 0


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (api_keys.KeyInput("erp", " ", 1), ["name"]),
        (api_keys.KeyInput("erp", "名" * 61, 1), ["name"]),
        (api_keys.KeyInput("erp", "ERP", -1), ["days"]),
        (api_keys.KeyInput("erp", "ERP", 731), ["days"]),
        (api_keys.KeyInput("nobody", "ERP", 1), ["username"]),
        (api_keys.KeyInput("", "", 9999), ["name", "days", "username"]),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(db, data, fields):
    admin, *_ = await people()
    with pytest.raises(ValidationFailed) as caught:
        await api_keys.create_key(admin, data, now=NOW)
    assert [e.field for e in caught.value.errors] == fields
    assert await ApiKey.count() == 0 and await AuditEntry.count() == 0


async def test_a_user_holds_at_most_ten_active_keys(db):
    admin, *_ = await people()
    for n in range(api_keys.MAX_ACTIVE_PER_USER):
        await api_keys.create_key(admin, api_keys.KeyInput("erp", f"k{n}", 1), now=NOW)
    with pytest.raises(ValidationFailed):
        await api_keys.create_key(admin, api_keys.KeyInput("erp", "one more", 1), now=NOW)
    # Expired keys do not count.
    later = NOW + timedelta(days=2)
    view, _ = await api_keys.create_key(admin, api_keys.KeyInput("erp", "one more", 1), now=later)
    assert view.state == "active"
