import pytest

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


@pytest.mark.postgres_only
async def test_postgres_connections_plan_for_memory_resident_indexes(db):
    """The portal's connections carry its planner settings (portal.db)."""
    from portal.db import POSTGRES_SESSION_SETTINGS

    rows = await Tier.raw("SHOW random_page_cost")
    assert rows[0]["random_page_cost"] == POSTGRES_SESSION_SETTINGS["random_page_cost"]
