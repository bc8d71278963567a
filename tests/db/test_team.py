"""A dealer's users and addresses, kept by its administrator; everyone's own password."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from portal.domain import accounts, team
from portal.domain.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from portal.domain.team import AddressInput, UserInput
from portal.tables import Address, AuditEntry, Cart, User
from tests import factories as f

NEW_PASSWORD = "new-secret-42"


@pytest.fixture
async def shop(db):
    """Dealer A with an admin and a buyer; dealer B with its admin; an assigned rep; an
    administrator."""
    a = await f.dealer(name="甲商行")
    b = await f.dealer(name="乙商行")
    rep = await f.user("sales_rep")
    await f.assign(rep, a)
    return {
        "a": a,
        "b": b,
        "a_admin": await f.user("dealer_admin", a),
        "a_buyer": await f.user("dealer_buyer", a),
        "b_admin": await f.user("dealer_admin", b),
        "rep": rep,
        "admin": await f.user("admin"),
    }


def fields(exc: pytest.ExceptionInfo) -> set[str]:
    return {e.field for e in exc.value.errors}


async def sign_in(login: str, password: str) -> dict:
    return await accounts.authenticate(login, password, "10.0.0.1", now=datetime.now(UTC))


async def test_dealer_admin_adds_a_buyer_who_can_sign_in(shop):
    # The administrator reads the portal in English: the new buyer still starts in the
    # default language, until they choose their own.
    await User.update({User.locale: "en"}).where(User.id == shop["a_admin"]["id"])
    actor = f.actor({**shop["a_admin"], "locale": "en"})
    made = await team.create_user(
        actor,
        shop["a"]["id"],
        "zhang.san",
        "first-pass-1",
        UserInput(display_name="张三", role="dealer_buyer", phone="13900000001"),
    )
    assert (made["username"], made["role"], made["active"]) == ("zhang.san", "dealer_buyer", True)
    row = await User.select().where(User.id == made["id"]).first()
    assert row["dealer"] == shop["a"]["id"] and row["locale"] == "zh_Hans"
    assert (await sign_in("zhang.san", "first-pass-1"))["id"] == made["id"]
    assert (await sign_in("13900000001", "first-pass-1"))["id"] == made["id"]
    users = await team.list_users(actor, shop["a"]["id"])
    assert {u["username"] for u in users} == {
        shop["a_admin"]["username"],
        shop["a_buyer"]["username"],
        "zhang.san",
    }
    entry = await AuditEntry.select().where(AuditEntry.action == "user.created").first()
    assert entry["entity_id"] == str(made["id"]) and entry["actor"] == shop["a_admin"]["id"]
    assert "first-pass-1" not in entry["after"] and "password" not in entry["after"]


async def test_bad_new_users_are_refused_with_every_reason_and_nothing_written(shop):
    actor = f.actor(shop["a_admin"])
    before = await User.count()
    with pytest.raises(ValidationFailed) as exc:
        await team.create_user(
            actor,
            shop["a"]["id"],
            "x",
            "short",
            UserInput(display_name=" ", role="admin", phone="abc", email="nope"),
        )
    assert fields(exc) == {"username", "password", "display_name", "role", "phone", "email"}
    with pytest.raises(ValidationFailed) as exc:
        await team.create_user(
            actor,
            shop["a"]["id"],
            shop["b_admin"]["username"],
            "long-enough-1",
            UserInput(display_name="重名", role="dealer_buyer"),
        )
    assert fields(exc) == {"username"}
    with pytest.raises(ValidationFailed) as exc:
        await team.create_user(
            actor,
            shop["a"]["id"],
            "same.as.pass",
            "same.as.pass",
            UserInput(display_name="同名", role="dealer_buyer"),
        )
    assert fields(exc) == {"password"}
    assert await User.count() == before


@pytest.mark.parametrize(
    ("who", "dealer", "error"),
    [
        ("a_admin", "b", NotFound),  # another dealer: as if it did not exist
        ("a_buyer", "a", Forbidden),  # own dealer, but not its administrator
        ("rep", "a", Forbidden),  # sees the dealer, cannot manage it
        ("rep", "b", NotFound),
    ],
)
async def test_only_the_dealers_admin_or_an_administrator_manage_it(shop, who, dealer, error):
    actor = f.actor(shop[who])
    dealer_id = shop[dealer]["id"]
    with pytest.raises(error):
        await team.list_users(actor, dealer_id)
    with pytest.raises(error):
        await team.create_user(
            actor,
            dealer_id,
            "intruder",
            "long-enough-1",
            UserInput(display_name="x", role="dealer_admin"),
        )
    with pytest.raises(error):
        await team.save_address(
            actor, dealer_id, None, AddressInput("仓", "李", "13800000001", "某路 1 号")
        )
    assert not await User.exists().where(User.username == "intruder")


async def test_an_administrator_manages_any_dealer(shop):
    actor = f.actor(shop["admin"])
    made = await team.create_user(
        actor,
        shop["b"]["id"],
        "b.buyer",
        "long-enough-1",
        UserInput(display_name="乙采购", role="dealer_buyer"),
    )
    assert made["username"] == "b.buyer"
    # A user id of another dealer is not found under this one.
    with pytest.raises(NotFound):
        await team.get_user(actor, shop["a"]["id"], made["id"])


async def test_role_change_and_deactivation_end_sessions(shop):
    actor = f.actor(shop["a_admin"])
    buyer = shop["a_buyer"]
    version = buyer["token_version"]
    assert await accounts.session_actor(buyer["id"], version) is not None
    await team.update_user(
        actor,
        shop["a"]["id"],
        buyer["id"],
        UserInput(display_name="新名字", role="dealer_buyer", email="b@example.com"),
    )
    # A new name alone keeps the sessions.
    assert (await accounts.session_actor(buyer["id"], version)).name == "新名字"
    await team.update_user(
        actor,
        shop["a"]["id"],
        buyer["id"],
        UserInput(display_name="新名字", role="dealer_buyer", active=False),
    )
    assert await accounts.session_actor(buyer["id"], version) is None
    with pytest.raises(Unauthorized):
        await sign_in(buyer["username"], f.PASSWORD)


async def test_the_dealer_keeps_an_active_administrator(shop):
    actor = f.actor(shop["a_admin"])
    me = shop["a_admin"]
    for change in (
        UserInput(display_name="x", role="dealer_buyer"),
        UserInput(display_name="x", role="dealer_admin", active=False),
    ):
        with pytest.raises(ValidationFailed) as exc:
            await team.update_user(actor, shop["a"]["id"], me["id"], change)
        assert fields(exc) == {"role"}
    # With a second administrator, the first may step down.
    await team.update_user(
        actor,
        shop["a"]["id"],
        shop["a_buyer"]["id"],
        UserInput(display_name="二号", role="dealer_admin"),
    )
    await team.update_user(
        actor, shop["a"]["id"], me["id"], UserInput(display_name="x", role="dealer_buyer")
    )
    row = await User.select(User.role).where(User.id == me["id"]).first()
    assert row["role"] == "dealer_buyer"


async def test_password_change_checks_the_current_one_and_ends_other_sessions(shop):
    buyer = shop["a_buyer"]
    actor = f.actor(buyer)
    with pytest.raises(ValidationFailed) as exc:
        await team.change_password(actor, "wrong", "x")
    assert fields(exc) == {"current_password", "new_password"}
    assert (await sign_in(buyer["username"], f.PASSWORD))["id"] == buyer["id"]
    row = await team.change_password(actor, f.PASSWORD, NEW_PASSWORD)
    assert row["token_version"] == buyer["token_version"] + 1
    assert await accounts.session_actor(buyer["id"], buyer["token_version"]) is None
    with pytest.raises(Unauthorized):
        await sign_in(buyer["username"], f.PASSWORD)
    assert (await sign_in(buyer["username"], NEW_PASSWORD))["id"] == buyer["id"]
    assert await AuditEntry.exists().where(AuditEntry.action == "user.password_changed")


async def test_reset_password_by_the_dealer_admin(shop):
    buyer = shop["a_buyer"]
    await team.reset_password(f.actor(shop["a_admin"]), shop["a"]["id"], buyer["id"], NEW_PASSWORD)
    assert (await sign_in(buyer["username"], NEW_PASSWORD))["id"] == buyer["id"]
    assert await accounts.session_actor(buyer["id"], buyer["token_version"]) is None
    with pytest.raises(NotFound):  # dealer B's admin cannot reach dealer A's users
        await team.reset_password(
            f.actor(shop["b_admin"]), shop["b"]["id"], buyer["id"], NEW_PASSWORD
        )


async def test_addresses_keep_one_default_and_survive_removal(shop):
    actor = f.actor(shop["a_admin"])
    dealer_id = shop["a"]["id"]
    (first,) = await team.list_addresses(actor, dealer_id)  # the factory's, the default
    second = await team.save_address(
        actor, dealer_id, None, AddressInput("门店", "李四", "13800000002", "杭州市西湖区 2 号")
    )
    assert not second["is_default"]
    second = await team.save_address(
        actor,
        dealer_id,
        second["id"],
        AddressInput("门店", "李四", "13800000002", "杭州市西湖区 2 号", is_default=True),
    )
    defaults = [a["id"] for a in await team.list_addresses(actor, dealer_id) if a["is_default"]]
    assert defaults == [second["id"]]
    # A cart that chose the address goes back to the default when it is removed.
    cart = Cart(
        dealer=dealer_id, user=shop["a_buyer"]["id"], address=second["id"], updated_at=f.now()
    )
    await Cart.insert(cart)
    await team.delete_address(actor, dealer_id, second["id"])
    remaining = await team.list_addresses(actor, dealer_id)
    assert [(a["id"], a["is_default"]) for a in remaining] == [(first["id"], True)]
    assert (await Cart.select(Cart.address).where(Cart.id == cart.id).first())["address"] is None
    with pytest.raises(NotFound):
        await team.delete_address(actor, dealer_id, second["id"])
    # Another dealer's address is not found here.
    (b_address,) = await team.list_addresses(f.actor(shop["b_admin"]), shop["b"]["id"])
    with pytest.raises(NotFound):
        await team.delete_address(actor, dealer_id, b_address["id"])
    assert await Address.exists().where(Address.id == b_address["id"])


async def test_bad_addresses_are_refused(shop):
    actor = f.actor(shop["a_admin"])
    with pytest.raises(ValidationFailed) as exc:
        await team.save_address(
            actor, shop["a"]["id"], None, AddressInput("x" * 51, "", "电话", " ")
        )
    assert fields(exc) == {"label", "contact", "phone", "line"}
    assert len(await team.list_addresses(actor, shop["a"]["id"])) == 1


@pytest.mark.postgres_only
async def test_two_admins_adding_the_same_username_at_once_make_one_user(shop):
    """Both pass the "is it taken" check before either commits; the unique index decides and
    the loser gets the same field error as a plain duplicate, not a server error."""
    data = UserInput(display_name="同名", role="dealer_buyer")

    async def add(actor):
        try:
            return await team.create_user(actor, shop["a"]["id"], "twin", "long-enough-1", data)
        except ValidationFailed as exc:
            return exc

    results = await asyncio.gather(
        *(add(f.actor(shop[who])) for who in ("a_admin", "admin", "a_admin", "admin"))
    )
    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(made) == 1 and len(refused) == 3, results
    assert all([e.field for e in r.errors] == ["username"] for r in refused)
    assert await User.count().where(User.username == "twin") == 1
