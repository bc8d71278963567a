from portal.tables import Tier


async def test_tables_start_empty_and_accept_rows(db):
    assert await Tier.count() == 0
    await Tier.insert(Tier(code="T1", name="一级经销商"))
    assert await Tier.count() == 1
