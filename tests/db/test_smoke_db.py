from portal.tables import Tier


async def test_tables_start_empty_and_accept_rows(db):
    assert await Tier.count() == 0
    await Tier.insert(Tier(code="T1", name="一级经销商"))
    assert await Tier.count() == 1


async def test_factories_build_a_dealer_with_a_buyer(db):
    from tests import factories as f

    d = await f.dealer()
    u = await f.user("dealer_buyer", d)
    assert f.actor(u).dealer_id == d["id"]
