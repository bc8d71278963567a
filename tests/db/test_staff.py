"""Staff kept by an administrator, on both engines: add, edit, role and manager changes end
sessions, the last active administrator stays, bad input changes nothing."""

from __future__ import annotations

import pytest

from portal.domain import staff
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.domain.scope import visible_dealer_ids
from portal.tables import AuditEntry, User
from tests import factories as f


@pytest.fixture
async def people(db):
    boss = await f.user("admin")
    east = await f.user("sales_manager")
    west = await f.user("sales_manager")
    dealer = await f.dealer()
    return {"admin": f.actor(boss), "east": east, "west": west, "dealer": dealer, "admin_row": boss}


async def test_an_administrator_adds_a_rep_to_a_team(people):
    rep = await staff.create_staff(
        people["admin"],
        "li.rep",
        "first-pass-1",
        staff.StaffInput(
            display_name="李业务",
            role="sales_rep",
            manager_id=people["east"]["id"],
            discount_authority_bp=500,
            phone="13900000009",
        ),
    )
    assert rep["role"] == "sales_rep" and rep["manager"] == people["east"]["id"]
    assert rep["discount_authority_bp"] == 500 and "password_hash" not in rep
    await f.assign(await User.select().where(User.id == rep["id"]).first(), people["dealer"])
    east = f.actor(people["east"])
    assert await visible_dealer_ids(east) == [people["dealer"]["id"]]
    # Moving the rep to another manager moves the team's dealers with it, and ends the
    # rep's sessions (their scope changed).
    version = (await User.select(User.token_version).where(User.id == rep["id"]).first())[
        "token_version"
    ]
    await staff.update_staff(
        people["admin"],
        rep["id"],
        staff.StaffInput(display_name="李业务", role="sales_rep", manager_id=people["west"]["id"]),
    )
    assert await visible_dealer_ids(east) == []
    assert await visible_dealer_ids(f.actor(people["west"])) == [people["dealer"]["id"]]
    after = await User.select(User.token_version).where(User.id == rep["id"]).first()
    assert after["token_version"] == version + 1
    actions = [e["action"] for e in await AuditEntry.select().order_by(AuditEntry.id)]
    assert actions == ["user.created", "user.updated"]


async def test_the_last_administrator_stays(people):
    admin = people["admin"]
    me = people["admin_row"]
    with pytest.raises(ValidationFailed):
        await staff.update_staff(
            admin, me["id"], staff.StaffInput(display_name="管理员", role="finance")
        )
    other = await staff.create_staff(
        admin, "second.admin", "first-pass-1", staff.StaffInput(display_name="二号", role="admin")
    )
    await staff.update_staff(
        admin, me["id"], staff.StaffInput(display_name="管理员", role="admin", active=False)
    )
    assert not (await User.select(User.active).where(User.id == me["id"]).first())["active"]
    assert other["active"]


@pytest.mark.parametrize(
    ("username", "password", "data", "fields"),
    [
        ("a", "first-pass-1", staff.StaffInput(display_name="x", role="sales_rep"), ["username"]),
        ("ok.name", "short", staff.StaffInput(display_name="x", role="sales_rep"), ["password"]),
        (
            "ok.name",
            "first-pass-1",
            staff.StaffInput(display_name="", role="dealer_buyer"),
            ["display_name", "role"],
        ),
        (
            "ok.name",
            "first-pass-1",
            staff.StaffInput(display_name="x", role="sales_rep", discount_authority_bp=9000),
            ["discount_authority"],
        ),
        (
            "ok.name",
            "first-pass-1",
            staff.StaffInput(display_name="x", role="sales_rep", manager_id=987654),
            ["manager_id"],
        ),
    ],
)
async def test_bad_staff_input_changes_nothing(people, username, password, data, fields):
    before = await User.count()
    with pytest.raises(ValidationFailed) as refused:
        await staff.create_staff(people["admin"], username, password, data)
    assert [e.field for e in refused.value.errors] == fields
    assert await User.count() == before and await AuditEntry.count() == 0


async def test_only_administrators_and_only_staff(people):
    finance = f.actor(await f.user("finance"))
    with pytest.raises(Forbidden):
        await staff.list_staff(finance)
    buyer = await f.user("dealer_buyer", people["dealer"])
    with pytest.raises(NotFound):  # a dealer's user is not staff
        await staff.get_staff(people["admin"], buyer["id"])
    listed = {u["id"] for u in await staff.list_staff(people["admin"])}
    assert buyer["id"] not in listed and people["east"]["id"] in listed


async def test_a_rep_who_looks_after_dealers_keeps_the_role_until_they_are_given_away(people):
    """Changing such a rep to warehouse (and back) dropped their manager and authority and
    left their dealers with nobody who visits them, out of every manager's team."""
    rep = await f.user("sales_rep", manager=people["east"], discount_authority_bp=300)
    await f.assign(rep, people["dealer"])
    with pytest.raises(ValidationFailed) as refused:
        await staff.update_staff(
            people["admin"], rep["id"], staff.StaffInput(display_name="陈静", role="warehouse")
        )
    assert refused.value.errors[0].field == "role" and refused.value.errors[0].params == {"n": 1}
    kept = await User.select().where(User.id == rep["id"]).first()
    assert (kept["role"], kept["manager"], kept["discount_authority_bp"]) == (
        "sales_rep",
        people["east"]["id"],
        300,
    )
    assert await visible_dealer_ids(f.actor(people["east"])) == [people["dealer"]["id"]]
