"""Prices from real rows: tier, percentage, breaks and contracts, loaded in batches."""

from __future__ import annotations

from portal.domain import pricing
from portal.domain.pricing import RULE_BASE, RULE_CONTRACT, RULE_TIER, RULE_VOLUME
from portal.tables import Sku
from tests import factories as f


class QueryCounter:
    """Counts the queries the engine runs (wraps run_querystring, and on PostgreSQL run_text,
    which portal.db.fetch calls; results are untouched)."""

    METHODS = ("run_querystring", "run_text")

    def __init__(self, engine) -> None:
        self.cls = type(engine)
        self.count = 0
        self.originals: dict[str, object] = {}

    def __enter__(self):
        for name in self.METHODS:
            if name in vars(self.cls) or hasattr(self.cls, name):
                self.originals[name] = getattr(self.cls, name)
                setattr(self.cls, name, self._counting(self.originals[name]))
        return self

    def _counting(self, original):
        counter = self

        async def counting(engine, *args, **kwargs):
            counter.count += 1
            return await original(engine, *args, **kwargs)

        return counting

    def __exit__(self, *exc):
        for name, original in self.originals.items():
            setattr(self.cls, name, original)


async def _world():
    t1 = await f.tier(name="一级经销商")
    t2 = await f.tier(name="二级经销商", rank=2)
    d1 = await f.dealer(t1)
    d2 = await f.dealer(t2)
    water = await f.sku(name="农夫山泉 550ml", base_price_fen=200)
    tea = await f.sku(name="东方树叶 500ml", base_price_fen=199, pack=("箱", 15))
    juice = await f.sku(name="果粒橙 1.25L", base_price_fen=650, pack=None)
    await f.tier_price(t1, water, price_fen=180)
    await f.volume_break(t1, water, 240, 170)
    await f.volume_break(t1, water, 1200, 160)
    await f.tier_price(t1, tea, percent_bp=8500)
    await f.tier_price(t2, water, price_fen=190)
    await f.contract_price(d2, tea, 150)
    return t1, t2, d1, d2, water, tea, juice


async def test_price_inputs_from_rows(db):
    t1, t2, d1, d2, water, tea, juice = await _world()
    inputs = await pricing.price_inputs(d1, [water["id"], tea["id"], juice["id"], 999999])
    assert set(inputs) == {water["id"], tea["id"], juice["id"]}
    w = inputs[water["id"]]
    assert (w.base_price_fen, w.base_unit, w.pack_name, w.pack_factor) == (200, "瓶", "箱", 24)
    assert (w.tier_name, w.tier_price_fen, w.tier_percent_bp) == ("一级经销商", 180, None)
    assert w.breaks == ((240, 170), (1200, 160))
    assert w.contract_price_fen is None
    assert inputs[tea["id"]].tier_percent_bp == 8500
    assert inputs[juice["id"]].pack_name is None and inputs[juice["id"]].tier_price_fen is None


async def test_quote_each_rule_for_each_dealer(db):
    t1, t2, d1, d2, water, tea, juice = await _world()
    q1 = await pricing.quote(d1, {water["id"]: 240, tea["id"]: 1, juice["id"]: 3})
    assert (q1[water["id"]].unit_price_fen, q1[water["id"]].rule) == (170, RULE_VOLUME)
    assert q1[water["id"]].rule_params["packs"] == 10
    assert (q1[tea["id"]].unit_price_fen, q1[tea["id"]].rule) == (169, RULE_TIER)
    assert (q1[juice["id"]].unit_price_fen, q1[juice["id"]].rule) == (650, RULE_BASE)
    assert q1[juice["id"]].line_total_fen(3) == 1950

    q2 = await pricing.quote(d2, {water["id"]: 240, tea["id"]: 1})
    # Dealer 2's tier has no breaks: its own tier price, whatever the quantity.
    assert (q2[water["id"]].unit_price_fen, q2[water["id"]].rule) == (190, RULE_TIER)
    assert (q2[tea["id"]].unit_price_fen, q2[tea["id"]].rule) == (150, RULE_CONTRACT)
    # Another dealer's contract never leaks.
    assert q1[tea["id"]].rule != RULE_CONTRACT


async def test_quote_changes_with_quantity(db):
    t1, t2, d1, d2, water, tea, juice = await _world()
    q = await pricing.quote(d1, {water["id"]: 239})
    assert q[water["id"]].unit_price_fen == 180
    assert q[water["id"]].next_break.more_qty == 1
    q = await pricing.quote(d1, {water["id"]: 1200})
    assert (q[water["id"]].unit_price_fen, q[water["id"]].next_break) == (160, None)


async def test_price_inputs_is_batched(db):
    t1 = await f.tier()
    d1 = await f.dealer(t1)
    few = [await f.sku(base_price_fen=100 + i) for i in range(2)]
    many = few + [await f.sku(base_price_fen=300 + i) for i in range(25)]
    for s in many:
        await f.tier_price(t1, s, percent_bp=9000)
        await f.volume_break(t1, s, 48, 50)
    with QueryCounter(Sku._meta.db) as small:
        await pricing.quote(d1, {s["id"]: 1 for s in few})
    with QueryCounter(Sku._meta.db) as large:
        quotes = await pricing.quote(d1, {s["id"]: 48 for s in many})
    assert small.count == large.count
    assert 2 <= small.count <= 7
    assert all(q.unit_price_fen == 50 for q in quotes.values())


async def test_empty_request_runs_no_query(db):
    d1 = await f.dealer()
    with QueryCounter(Sku._meta.db) as counter:
        assert await pricing.quote(d1, {}) == {}
    assert counter.count == 0
