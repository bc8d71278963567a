"""Tiers kept by an administrator, on both engines."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import date

import pytest

from portal.db import write_transaction
from portal.domain import tiers
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.tables import (
    AuditEntry,
    Dealer,
    ProductVisibility,
    Promotion,
    Tier,
    TierPrice,
    VolumeBreak,
)
from tests import factories as f
from tests.db.test_orders import NOW


async def _audit(action: str) -> list[dict]:
    rows = await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.id)
    return [{**r, "before": json.loads(r["before"]), "after": json.loads(r["after"])} for r in rows]


async def test_add_edit_and_list_by_rank_with_dealer_counts(db):
    admin = f.actor(await f.user("admin"))
    first = await tiers.save_tier(
        admin, None, tiers.TierInput(code="T1", name=" 一级经销商 ", rank=1), now=NOW
    )
    second = await tiers.save_tier(
        admin, None, tiers.TierInput(code="T2", name="二级经销商", rank=2), now=NOW
    )
    end = await tiers.save_tier(
        admin, None, tiers.TierInput(code="END", name="终端", rank=2), now=NOW
    )
    assert first["name"] == "一级经销商"  # stripped
    assert first["dealers"] == 0 and first["removable"] is True
    await f.dealer(await Tier.select().where(Tier.id == second["id"]).first())
    await f.dealer(await Tier.select().where(Tier.id == second["id"]).first())
    listed = await tiers.list_tiers(admin)
    # By rank, then code: END before T2 at rank 2.
    assert [(t["code"], t["dealers"]) for t in listed] == [("T1", 0), ("END", 0), ("T2", 2)]

    changed = await tiers.save_tier(
        admin, end["id"], tiers.TierInput(code="RETAIL", name="终端客户", rank=-5), now=NOW
    )
    assert (changed["code"], changed["name"], changed["rank"]) == ("RETAIL", "终端客户", -5)
    assert [t["code"] for t in await tiers.list_tiers(admin)] == ["RETAIL", "T1", "T2"]
    # Keeping its own code is not "taken".
    await tiers.save_tier(
        admin, second["id"], tiers.TierInput(code="T2", name="二级", rank=2), now=NOW
    )
    saved = await _audit("tier.saved")
    assert len(saved) == 5
    assert saved[0]["entity"] == "tier" and saved[0]["entity_id"] == str(first["id"])
    assert saved[0]["before"] == {}
    assert saved[0]["after"] == {"code": "T1", "name": "一级经销商", "rank": 1}
    assert saved[3]["before"] == {"code": "END", "name": "终端", "rank": 2}
    assert saved[3]["after"] == {"code": "RETAIL", "name": "终端客户", "rank": -5}
    assert saved[3]["actor"] == admin.user_id


async def test_bad_input_and_a_taken_code_change_nothing(db):
    admin = f.actor(await f.user("admin"))
    kept = await tiers.save_tier(admin, None, tiers.TierInput(code="T1", name="一级"), now=NOW)
    other = await tiers.save_tier(admin, None, tiers.TierInput(code="T2", name="二级"), now=NOW)
    for data, fields in (
        (tiers.TierInput(code="T1", name="重复"), ["code"]),
        (tiers.TierInput(code="a b", name="x"), ["code"]),
        (tiers.TierInput(code="", name="x"), ["code"]),
        (tiers.TierInput(code="X" * 21, name="x"), ["code"]),
        (tiers.TierInput(code="经销", name="x"), ["code"]),
        (tiers.TierInput(code="OK", name="   "), ["name"]),
        (tiers.TierInput(code="OK", name="名" * 51), ["name"]),
        (tiers.TierInput(code="OK", name="x", rank=1001), ["rank"]),
        (tiers.TierInput(code="OK", name="x", rank=-1001), ["rank"]),
        (tiers.TierInput(code="a b", name="", rank=5000), ["code", "name", "rank"]),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await tiers.save_tier(admin, None, data, now=NOW)
        assert [e.field for e in refused.value.errors] == fields, data
    # Changing a tier to another's code is refused too, and leaves it as it was.
    with pytest.raises(ValidationFailed) as refused:
        await tiers.save_tier(admin, other["id"], tiers.TierInput(code="T1", name="新"), now=NOW)
    assert refused.value.errors[0].message == tiers.TAKEN
    assert await Tier.count() == 2
    assert (await tiers.get_tier(admin, other["id"]))["name"] == "二级"
    assert (await tiers.get_tier(admin, kept["id"]))["code"] == "T1"
    assert len(await _audit("tier.saved")) == 2
    # The edges are fine.
    edge = await tiers.save_tier(
        admin, None, tiers.TierInput(code="A_b-9" + "x" * 15, name="名" * 50, rank=-1000)
    )
    assert edge["rank"] == -1000 and len(edge["code"]) == 20


async def test_a_code_taken_meanwhile_is_a_field_error(db, monkeypatch):
    """Another administrator adds the same code between the check and the insert."""
    admin = f.actor(await f.user("admin"))

    @asynccontextmanager
    async def competing():
        await Tier.insert(Tier(code="T9", name="别人加的", rank=0))
        async with write_transaction():
            yield

    monkeypatch.setattr(tiers, "write_transaction", competing)
    with pytest.raises(ValidationFailed) as refused:
        await tiers.save_tier(admin, None, tiers.TierInput(code="T9", name="我加的"), now=NOW)
    assert [(e.field, e.message) for e in refused.value.errors] == [("code", tiers.TAKEN)]
    assert [r["name"] for r in await Tier.select(Tier.name)] == ["别人加的"]
    assert await _audit("tier.saved") == []


async def test_only_an_administrator(db):
    admin = f.actor(await f.user("admin"))
    tier = await tiers.save_tier(admin, None, tiers.TierInput(code="T1", name="一级"), now=NOW)
    dealer = await f.dealer()
    for role, dealer_row in (
        ("finance", None),
        ("sales_manager", None),
        ("warehouse", None),
        ("dealer_admin", dealer),
    ):
        someone = f.actor(await f.user(role, dealer_row))
        with pytest.raises(Forbidden):
            await tiers.list_tiers(someone)
        with pytest.raises(Forbidden):
            await tiers.get_tier(someone, tier["id"])
        with pytest.raises(Forbidden):
            await tiers.save_tier(someone, None, tiers.TierInput(code="X1", name="x"))
        with pytest.raises(Forbidden):
            await tiers.save_tier(someone, tier["id"], tiers.TierInput(code="T1", name="改"))
        with pytest.raises(Forbidden):
            await tiers.delete_tier(someone, tier["id"])
    assert (await tiers.get_tier(admin, tier["id"]))["name"] == "一级"
    assert await Tier.count() == 2  # ours and the factory dealer's
    with pytest.raises(NotFound):
        await tiers.get_tier(admin, 987654)
    with pytest.raises(NotFound):
        await tiers.save_tier(admin, 987654, tiers.TierInput(code="NEW", name="x"))
    with pytest.raises(NotFound):
        await tiers.delete_tier(admin, 987654)
    assert await Tier.count() == 2


async def test_a_tier_in_use_is_not_removed_and_says_why(db):
    admin = f.actor(await f.user("admin"))
    tier = await f.tier(code="T1")
    spare = await f.tier(code="T2")
    sku = await f.sku()
    dealer = await f.dealer(tier)
    await f.tier_price(tier, sku, price_fen=180)
    await f.volume_break(tier, sku, 240, 160)
    await Promotion.insert(
        Promotion(
            name="双十二",
            kind="spend_save",
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
            tier=tier["id"],
            threshold_fen=100_000,
            save_fen=5_000,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    await ProductVisibility.insert(ProductVisibility(product=sku["product"], tier=tier["id"]))
    shown = await tiers.get_tier(admin, tier["id"])
    assert shown["removable"] is False and shown["dealers"] == 1
    assert shown["uses"] == {
        "dealers": 1,
        "tier_prices": 1,
        "volume_breaks": 1,
        "promotions": 1,
        "visibility": 1,
    }
    with pytest.raises(Conflict) as refused:
        await tiers.delete_tier(admin, tier["id"], now=NOW)
    assert refused.value.message == tiers.IN_USE
    assert [e.field for e in refused.value.errors] == [
        "dealers",
        "tier_prices",
        "volume_breaks",
        "promotions",
        "visibility",
    ]
    assert all(e.params == {"n": 1} for e in refused.value.errors)
    assert await Tier.exists().where(Tier.id == tier["id"])
    assert await Dealer.count() == 1  # nothing cascaded

    # Each use alone blocks the removal; once the last one is gone, the tier goes.
    await Dealer.update({Dealer.tier: spare["id"]}).where(Dealer.id == dealer["id"])
    for table in (TierPrice, VolumeBreak, Promotion):
        with pytest.raises(Conflict):
            await tiers.delete_tier(admin, tier["id"], now=NOW)
        await table.delete().where(table.tier == tier["id"])
    with pytest.raises(Conflict) as refused:
        await tiers.delete_tier(admin, tier["id"], now=NOW)
    assert [e.field for e in refused.value.errors] == ["visibility"]
    assert refused.value.extra["uses"]["visibility"] == 1
    await ProductVisibility.delete().where(ProductVisibility.tier == tier["id"])
    assert (await tiers.get_tier(admin, tier["id"]))["removable"] is True
    assert await _audit("tier.deleted") == []

    await tiers.delete_tier(admin, tier["id"], now=NOW)
    assert not await Tier.exists().where(Tier.id == tier["id"])
    assert await Dealer.count() == 1
    assert [t["code"] for t in await tiers.list_tiers(admin)] == ["T2"]
    deleted = await _audit("tier.deleted")
    assert len(deleted) == 1
    assert deleted[0]["entity_id"] == str(tier["id"]) and deleted[0]["actor"] == admin.user_id
    assert deleted[0]["before"] == {"code": "T1", "name": "一级经销商", "rank": 1}
    assert deleted[0]["after"] == {}
    with pytest.raises(NotFound):
        await tiers.delete_tier(admin, tier["id"], now=NOW)
