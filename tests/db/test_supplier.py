"""The supplier's settings in the domain, on both engines."""

from __future__ import annotations

import json

import pytest

from portal.db import fetch
from portal.domain import catalog, credit, supplier
from portal.domain.errors import Forbidden, ValidationFailed
from portal.tables import AuditEntry, SupplierSettings
from tests import factories as f

ENV = supplier.Defaults(show_stock_numbers=False, auto_receive_days=7)
GOOD = supplier.SettingsInput(
    name=" 康源饮品有限公司 ",
    address="杭州市余杭区文一西路 1 号",
    phone="0571-8888 6666",
    show_stock_numbers=True,
    auto_receive_days=10,
    credit_tolerance_amount="¥500",
    credit_tolerance_percent="2.5%",
)


async def test_the_environment_gives_the_defaults_until_an_administrator_saves(db):
    now = await supplier.current(supplier.Defaults(show_stock_numbers=True, auto_receive_days=3))
    assert (now.saved, now.name, now.show_stock_numbers, now.auto_receive_days) == (
        False,
        "",
        True,
        3,
    )
    admin = f.actor(await f.user("admin"))
    saved = await supplier.save(admin, GOOD, ENV)
    assert saved.saved and saved.name == "康源饮品有限公司"  # trimmed
    assert (saved.show_stock_numbers, saved.auto_receive_days, saved.phone) == (
        True,
        10,
        "0571-8888 6666",
    )
    # Saved settings win over the environment from then on.
    assert (await supplier.current(supplier.Defaults(False, 0))).auto_receive_days == 10


async def test_saving_is_audited_before_and_after_and_kept_to_one_row(db):
    admin = f.actor(await f.user("admin"))
    await supplier.save(admin, GOOD, ENV)
    second = supplier.SettingsInput(name="康源饮品", show_stock_numbers=False, auto_receive_days=0)
    after = await supplier.save(admin, second, ENV)
    assert (after.name, after.address, after.show_stock_numbers, after.auto_receive_days) == (
        "康源饮品",
        "",
        False,
        0,
    )
    assert await SupplierSettings.count() == 1
    entries = (
        await AuditEntry.select()
        .where(AuditEntry.entity == "supplier_settings")
        .order_by(AuditEntry.id)
    )
    assert [e["action"] for e in entries] == ["supplier.settings_saved"] * 2
    first_before = json.loads(entries[0]["before"])
    assert first_before["show_stock_numbers"] is False and first_before["name"] == ""
    before, done = json.loads(entries[1]["before"]), json.loads(entries[1]["after"])
    assert before["auto_receive_days"] == 10 and done["auto_receive_days"] == 0
    assert all(e["actor"] == admin.user_id for e in entries)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "名" * 101}, "name"),
        ({"address": "路" * 201}, "address"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "1" * 41}, "phone"),
        ({"auto_receive_days": -1}, "auto_receive_days"),
        ({"auto_receive_days": 91}, "auto_receive_days"),
        ({"credit_tolerance_amount": "abc"}, "credit_tolerance_amount"),
        ({"credit_tolerance_amount": "-1"}, "credit_tolerance_amount"),
        ({"credit_tolerance_amount": "1" * 15}, "credit_tolerance_amount"),
        ({"credit_tolerance_percent": "101"}, "credit_tolerance_percent"),
        ({"credit_tolerance_percent": "=1+1"}, "credit_tolerance_percent"),
    ],
)
async def test_bad_settings_are_refused_and_change_nothing(db, change, field):
    admin = f.actor(await f.user("admin"))
    await supplier.save(admin, GOOD, ENV)
    bad = supplier.SettingsInput(**{**GOOD.__dict__, **change})
    with pytest.raises(ValidationFailed) as caught:
        await supplier.save(admin, bad, ENV)
    assert [e.field for e in caught.value.errors] == [field]
    row = await SupplierSettings.select().first()
    assert row["name"] == "康源饮品有限公司" and row["auto_receive_days"] == 10
    assert (row["credit_tolerance_fen"], row["credit_tolerance_bp"]) == (50_000, 250)
    assert await AuditEntry.count().where(AuditEntry.entity == "supplier_settings") == 1
    assert await supplier.credit_tolerance() == credit.Tolerance(50_000, 250)


async def test_the_credit_tolerance_is_kept_in_fen_and_basis_points_and_audited(db):
    assert await supplier.credit_tolerance() == credit.Tolerance()  # none until saved
    admin = f.actor(await f.user("admin"))
    saved = await supplier.save(admin, GOOD, ENV)
    assert (saved.credit_tolerance_amount, saved.credit_tolerance_percent) == ("500.00", "2.5")
    assert await supplier.credit_tolerance() == credit.Tolerance(amount_fen=50_000, bp=250)
    none = supplier.SettingsInput(
        name="康源", credit_tolerance_amount=" ", credit_tolerance_percent="0"
    )
    cleared = await supplier.save(admin, none, ENV)
    assert (cleared.credit_tolerance_amount, cleared.credit_tolerance_percent) == ("", "")
    assert await supplier.credit_tolerance() == credit.Tolerance()
    last = await AuditEntry.select().order_by(AuditEntry.id, ascending=False).first()
    before, after = json.loads(last["before"]), json.loads(last["after"])
    assert (before["credit_tolerance_fen"], before["credit_tolerance_bp"]) == (50_000, 250)
    assert (after["credit_tolerance_fen"], after["credit_tolerance_bp"]) == (0, 0)


@pytest.mark.parametrize(
    "role", ["dealer_admin", "dealer_buyer", "sales_rep", "sales_manager", "finance", "warehouse"]
)
async def test_only_an_administrator_reads_or_changes_them(db, role):
    dealer = await f.dealer() if role.startswith("dealer") else None
    someone = f.actor(await f.user(role, dealer))
    with pytest.raises(Forbidden):
        await supplier.for_admin(someone, ENV)
    with pytest.raises(Forbidden):
        await supplier.save(someone, GOOD, ENV)
    assert await SupplierSettings.count() == 0


async def test_dealers_see_stock_figures_as_the_settings_say(db, monkeypatch):
    dealer = await f.dealer()
    buyer = f.actor(await f.user("dealer_buyer", dealer))
    rep = f.actor(await f.user("sales_rep"))
    admin = f.actor(await f.user("admin"))
    assert not await catalog.shows_stock_figures(buyer, ENV)
    assert await catalog.shows_stock_figures(rep, ENV)  # staff always
    await supplier.save(admin, GOOD, ENV)
    assert await catalog.shows_stock_figures(buyer, ENV)  # at once in this process
    # Another process's change (written straight to the table here) shows once the cached
    # read is older than CACHE_SECONDS (an hour here, so that a stalled machine still reads
    # the cached value first).
    monkeypatch.setattr(supplier, "CACHE_SECONDS", 3600.0)
    await fetch("UPDATE supplier_settings SET show_stock_numbers = {}", False)
    assert await catalog.shows_stock_figures(buyer, ENV)
    monkeypatch.setattr(supplier, "CACHE_SECONDS", 0.0)
    assert not await catalog.shows_stock_figures(buyer, ENV)
