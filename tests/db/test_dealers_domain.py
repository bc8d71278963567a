"""The dealer picker: scope inside the query, search, recent first, cards with credit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain import dealers
from portal.domain.errors import NotFound
from portal.tables import Order
from tests import factories as f


async def _order_row(dealer_row: dict, user_row: dict, at: datetime, n: int) -> None:
    # A bare order row: the picker only reads who placed an order for whom, and when.
    await Order(
        number=f"SO-TEST-{n:04d}",
        dealer=dealer_row["id"],
        placed_by=user_row["id"],
        status="approved",
        created_at=at,
        updated_at=at,
    ).save()


async def test_rep_sees_only_assigned_dealers_recent_first(db):
    tier = await f.tier(name="一级经销商")
    rep = await f.user("sales_rep")
    other_rep = await f.user("sales_rep")
    a = await f.dealer(tier, name="杭州甲商贸", credit_limit_fen=500_000, balance_fen=100_000)
    b = await f.dealer(tier, name="安徽乙批发")
    c = await f.dealer(tier, name="苏州丙超市")
    hidden = await f.dealer(tier, name="不属于我的经销商")
    for d in (a, b, c):
        await f.assign(rep, d)
    await f.assign(other_rep, hidden)
    now = datetime.now(UTC)
    await _order_row(c, rep, now - timedelta(days=2), 1)
    await _order_row(b, rep, now - timedelta(days=1), 2)
    # Another user's recent order for `a` must not lift it for this rep.
    await _order_row(a, other_rep, now, 3)

    cards = (await dealers.list_page(f.actor(rep))).items
    assert [card.id for card in cards] == [b["id"], c["id"], a["id"]]
    assert hidden["id"] not in {card.id for card in cards}
    card_a = cards[2]
    assert card_a.tier_name == "一级经销商"
    assert card_a.region == "华东"
    assert card_a.available_credit_fen == 400_000
    assert cards[0].last_ordered_at is not None


async def test_search_by_chinese_substring_code_and_region(db):
    rep = await f.user("sales_rep")
    a = await f.dealer(name="杭州甲商贸")
    b = await f.dealer(name="安徽乙批发")
    await f.assign(rep, a)
    await f.assign(rep, b)
    actor = f.actor(rep)
    assert [c.id for c in (await dealers.list_page(actor, q="乙批")).items] == [b["id"]]
    assert [c.id for c in (await dealers.list_page(actor, q=a["code"].lower())).items] == [a["id"]]
    assert len((await dealers.list_page(actor, q="华东")).items) == 2
    # Words each narrow it, wherever they match: the region and a part of the name.
    assert [c.id for c in (await dealers.list_page(actor, q="华东 乙批")).items] == [b["id"]]
    assert [c.id for c in (await dealers.list_page(actor, q="杭州  甲")).items] == [a["id"]]
    assert (await dealers.list_page(actor, q="杭州 乙批")).items == []
    # LIKE wildcards in the query are literal characters, not patterns.
    assert (await dealers.list_page(actor, q="%")).items == []
    assert (await dealers.list_page(actor, q="_")).items == []


async def test_paging(db):
    rep = await f.user("sales_rep")
    for i in range(5):
        await f.assign(rep, await f.dealer(name=f"经销商{i}"))
    actor = f.actor(rep)
    first = (await dealers.list_page(actor, per_page=2, page=1)).items
    second = (await dealers.list_page(actor, per_page=2, page=2)).items
    third = (await dealers.list_page(actor, per_page=2, page=3)).items
    assert [len(first), len(second), len(third)] == [2, 2, 1]
    assert len({c.id for c in first + second + third}) == 5


async def test_dealer_card_is_scoped(db):
    rep = await f.user("sales_rep")
    mine = await f.dealer()
    theirs = await f.dealer()
    await f.assign(rep, mine)
    actor = f.actor(rep)
    assert (await dealers.dealer_card(actor, mine["id"])).name == mine["name"]
    with pytest.raises(NotFound):
        await dealers.dealer_card(actor, theirs["id"])
    with pytest.raises(NotFound):
        await dealers.dealer_card(actor, 999_999)


async def test_dealer_user_sees_only_own_dealer_and_admin_sees_all(db):
    own = await f.dealer()
    other = await f.dealer()
    buyer = await f.user("dealer_buyer", own)
    admin = await f.user("admin")
    assert [c.id for c in (await dealers.list_page(f.actor(buyer))).items] == [own["id"]]
    with pytest.raises(NotFound):
        await dealers.dealer_card(f.actor(buyer), other["id"])
    assert {c.id for c in (await dealers.list_page(f.actor(admin))).items} == {
        own["id"],
        other["id"],
    }
    # An unassigned rep sees nobody.
    assert (await dealers.list_page(f.actor(await f.user("sales_rep")))).items == []


async def test_manager_sees_team_dealers(db):
    manager = await f.user("sales_manager")
    rep = await f.user("sales_rep", manager=manager)
    team = await f.dealer()
    outside = await f.dealer()
    await f.assign(rep, team)
    await f.assign(await f.user("sales_rep"), outside)
    assert [c.id for c in (await dealers.list_page(f.actor(manager))).items] == [team["id"]]


async def test_cart_count_counts_this_users_lines(db):
    d = await f.dealer()
    buyer = await f.user("dealer_buyer", d)
    assert await dealers.cart_count(f.actor(buyer), d["id"]) == 0


async def test_an_administrator_adds_and_changes_dealers_audited_and_validated(db):
    from portal.domain import scope
    from portal.domain.errors import Forbidden, ValidationFailed
    from portal.tables import AuditEntry, Dealer

    tier = await f.tier(name="一级经销商")
    tier2 = await f.tier(name="二级经销商")
    wh = await f.warehouse()
    admin = f.actor(await f.user("admin"))
    now = datetime.now(UTC)
    data = dealers.DealerInput(
        code="D-NEW",
        name=" 新开经销商 ",
        tier_id=tier["id"],
        region="华东",
        contact_phone="13800000001",
        default_warehouse_id=wh["id"],
    )
    row = await dealers.save_dealer(admin, None, data, now=now)
    assert (row["code"], row["name"], row["tier"], row["default_warehouse"]) == (
        "D-NEW",
        "新开经销商",
        tier["id"],
        wh["id"],
    )
    assert row["credit_limit_fen"] == 0 and row["active"]  # credit is finance's to give
    created = await AuditEntry.select().where(AuditEntry.action == "dealer.created").first()
    assert created["entity_id"] == str(row["id"])

    # Another dealer with the code, or bad details: field errors, nothing written.
    bad_cases = (
        (dealers.DealerInput(code="D-NEW", name="重复", tier_id=tier["id"]), ["code"]),
        (dealers.DealerInput(code="有 空格", name="x", tier_id=tier["id"]), ["code"]),
        (dealers.DealerInput(code="D-2", name=" ", tier_id=None), ["name", "tier"]),
        (
            dealers.DealerInput(
                code="D-3", name="x" * 101, tier_id=987654, default_warehouse_id=987654
            ),
            ["name", "tier", "default_warehouse"],
        ),
        (
            dealers.DealerInput(code="D-4", name="x", tier_id=tier["id"], region="区" * 51),
            ["region"],
        ),
    )
    for bad, fields in bad_cases:
        with pytest.raises(ValidationFailed) as exc:
            await dealers.save_dealer(admin, None, bad, now=now)
        assert [e.field for e in exc.value.errors] == fields, bad
    assert await Dealer.count() == 1

    # Changed: the code stays whatever is sent; inactive, nobody orders for it.
    changed = dealers.DealerInput(
        code="IGNORED", name="新开经销商（改）", tier_id=tier2["id"], active=False
    )
    row = await dealers.save_dealer(admin, row["id"], changed, now=now)
    assert (row["code"], row["tier"], row["active"], row["default_warehouse"]) == (
        "D-NEW",
        tier2["id"],
        False,
        None,
    )
    updated = await AuditEntry.select().where(AuditEntry.action == "dealer.updated").first()
    assert updated is not None
    buyer = f.actor(await f.user("dealer_buyer", row))
    with pytest.raises(Forbidden):
        await scope.ordering_dealer(buyer, None)
    # The administrator still finds it (to change it again); a rep of it does not.
    assert [c.active for c in (await dealers.list_page(admin, q="D-NEW")).items] == [False]
    with pytest.raises(NotFound):  # but nobody acts for it (the acting dealer's card)
        await dealers.dealer_card(admin, row["id"])
    rep = await f.user("sales_rep")
    await f.assign(rep, row)
    assert (await dealers.list_page(f.actor(rep))).items == []

    for role in ("finance", "sales_manager", "dealer_admin"):
        user = await f.user(role, row if role == "dealer_admin" else None)
        with pytest.raises(Forbidden):
            await dealers.save_dealer(f.actor(user), None, data, now=now)
    with pytest.raises(NotFound):
        await dealers.save_dealer(admin, 987654, changed, now=now)


async def test_a_dealer_phone_is_a_phone_number(db):
    from portal.domain.errors import ValidationFailed

    admin = f.actor(await f.user("admin"))
    tier = await f.tier()
    good = dealers.DealerInput(
        code="D9", name="新店", tier_id=tier["id"], contact_phone="+86 21 5555-0000"
    )
    saved = await dealers.save_dealer(admin, None, good, now=datetime.now(UTC))
    assert saved["contact_phone"] == "+86 21 5555-0000"
    for phone in ("abc<>", "电话12345", "1"):
        bad = dealers.DealerInput(code="D8", name="坏号码", tier_id=tier["id"], contact_phone=phone)
        with pytest.raises(ValidationFailed) as refused:
            await dealers.save_dealer(admin, None, bad, now=datetime.now(UTC))
        assert refused.value.errors[0].field == "contact_phone", phone
