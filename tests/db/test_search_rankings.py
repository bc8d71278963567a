"""Kept search rankings (portal/domain/search_rankings.py): a search or a listing asked again
is served from the order kept the first time, and never after a change to what a search reads has
committed. Changes are made as another process would make them (plain SQL), so it is the
database's catalog version that must tell, not the application's own bookkeeping."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from portal.db import fetch, write_transaction
from portal.domain import catalog, search_rankings
from portal.tables import Product, ProductVisibility, Sku
from tests import factories as f
from tests.db.test_pricing_db import QueryCounter


async def _product(name: str, category: dict, *, visibility: str = "all") -> dict:
    row = Product(name=name, category=category["id"], visibility=visibility, brand="")
    await row.save()
    return await Product.select().where(Product.id == row.id).first()


async def _version() -> int:
    return (await fetch('SELECT n FROM "catalog_version" WHERE id = 1'))[0]["n"]


def _codes(page) -> list[str]:
    return [i.code for i in page.items]


async def _fresh(actor, dealer, **kw):
    """The same search with nothing kept: what a kept page must equal."""
    search_rankings.forget()
    return await catalog.search(actor, dealer, **kw)


@pytest.fixture
async def shop(db):
    tier = await f.tier()
    dealer = await f.dealer(tier)
    actor = f.actor(await f.user("dealer_buyer", dealer))
    wh = await f.warehouse()
    drinks = await f.category("饮料")
    sauces = await f.category("调味品")
    soy = await _product("海天酱油", sauces)
    vinegar = await _product("恒顺香醋", sauces)
    skus = []
    for i in range(6):
        s = await f.sku(code=f"HT-{i:02d}", name=f"海天酱油 {i:02d}", product=soy)
        await f.stock(s, wh, on_hand=100)
        skus.append(s)
    for i in range(3):
        s = await f.sku(code=f"HS-{i:02d}", name=f"恒顺香醋 {i:02d}", product=vinegar)
        await f.stock(s, wh, on_hand=100)
        skus.append(s)
    return {
        "tier": tier,
        "dealer": dealer,
        "actor": actor,
        "wh": wh,
        "drinks": drinks,
        "sauces": sauces,
        "soy": soy,
        "vinegar": vinegar,
        "skus": skus,
    }


async def _rename_sku(s):
    await fetch("UPDATE \"sku\" SET name = '海天老抽 77' WHERE code = 'HT-00'")


async def _deactivate_sku(s):
    await fetch("UPDATE \"sku\" SET active = {} WHERE code = 'HT-01'", False)


async def _deactivate_product(s):
    await fetch('UPDATE "product" SET active = {} WHERE id = {}', False, s["soy"]["id"])


async def _restrict_product(s):
    other = await f.tier()
    await fetch("UPDATE \"product\" SET visibility = 'restricted' WHERE id = {}", s["soy"]["id"])
    await fetch(
        'INSERT INTO "product_visibility" (product, tier, dealer) VALUES ({}, {}, NULL)',
        s["soy"]["id"],
        other["id"],
    )


async def _new_sku(s):
    await f.sku(code="HT-99", name="海天酱油 新品", product=s["vinegar"])


async def _delete_sku(s):
    sku_id = s["skus"][2]["id"]
    for table in ("pack_unit", "stock_level"):
        await fetch(f'DELETE FROM "{table}" WHERE sku = {{}}', sku_id)
    await fetch('DELETE FROM "sku" WHERE id = {}', sku_id)


async def _rename_product(s):
    await fetch("UPDATE \"product\" SET name = '海天特级酱油' WHERE id = {}", s["vinegar"]["id"])


async def _rename_product_first(s):
    await fetch("UPDATE \"product\" SET name = '一品鲜酱油' WHERE id = {}", s["soy"]["id"])


async def _move_product(s):
    await fetch(
        'UPDATE "product" SET category = {} WHERE id = {}', s["drinks"]["id"], s["soy"]["id"]
    )


async def _move_category(s):
    await fetch(
        'UPDATE "category" SET parent = {} WHERE id = {}', s["drinks"]["id"], s["sauces"]["id"]
    )


async def _change_code(s):
    await fetch("UPDATE \"sku\" SET code = 'AA-00' WHERE code = 'HS-00'")


CHANGES = {
    "a SKU renamed": (_rename_sku, {"q": "0"}),
    "a SKU deactivated": (_deactivate_sku, {"q": "海天"}),
    "a product deactivated": (_deactivate_product, {"q": "海天"}),
    "a product restricted to another tier": (_restrict_product, {"q": "海天"}),
    "a SKU added": (_new_sku, {"q": "酱油"}),
    "a SKU deleted": (_delete_sku, {"q": "海天"}),
    "a product renamed (name, then product name)": (_rename_product, {"q": "海天"}),
    "a product moved to another category": (_move_product, {"q": "海", "category_id": "sauces"}),
    "a category moved under another": (_move_category, {"q": "海", "category_id": "drinks"}),
    "a code changed (code sort)": (_change_code, {"q": "H", "sort": "code"}),
    "a listing: a SKU deactivated": (_deactivate_sku, {}),
    "a listing: a product renamed": (_rename_product_first, {"sort": "relevance"}),
    "a listing: a code changed": (_change_code, {"sort": "code"}),
    "a category's listing: a product moved": (_move_product, {"category_id": "sauces"}),
    "a category's listing: a category moved": (_move_category, {"category_id": "drinks"}),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_kept_search_follows_every_change_to_what_it_reads(shop, change):
    make, kw = CHANGES[change]
    kw = {k: shop[v] if k == "category_id" else v for k, v in kw.items()}
    if "category_id" in kw:
        kw["category_id"] = kw["category_id"]["id"]
    a, d = shop["actor"], shop["dealer"]
    before = _codes(await catalog.search(a, d, **kw))
    with QueryCounter(Sku._meta.db) as kept:
        assert _codes(await catalog.search(a, d, **kw)) == before
    # Served from the kept ranking: the rows only (and the category tree, for a filter).
    assert kept.count == (2 if "category_id" in kw else 1)
    version = await _version()
    await make(shop)
    assert await _version() != version
    after = _codes(await catalog.search(a, d, **kw))
    assert after != before  # the change matters to this search ...
    assert after == _codes(await _fresh(a, d, **kw))  # ... and the kept ranking followed it


async def test_what_a_search_does_not_read_leaves_the_version_alone(shop):
    """Orders, stock, prices, favourites and safety stock never write what a search ranks
    by, so they never take a kept ranking away (nor queue behind catalog changes)."""
    s, a, d = shop["skus"][0], shop["actor"], shop["dealer"]
    version = await _version()
    await fetch('UPDATE "stock_level" SET reserved = reserved + 5 WHERE sku = {}', s["id"])
    await Sku.update({Sku.safety_stock: 7, Sku.base_price_fen: 250}).where(Sku.id == s["id"])
    await f.tier_price(shop["tier"], s, percent_bp=8000)
    await catalog.toggle_favourite(a, d, s["id"])
    await f.dealer(shop["tier"])
    assert await _version() == version


async def test_a_kept_page_reads_prices_and_stock_afresh(shop):
    a, d = shop["actor"], shop["dealer"]
    first = await catalog.search(a, d, q="海天", sort="code")
    item = first.items[0]
    await fetch('UPDATE "stock_level" SET on_hand = 0 WHERE sku = {}', item.sku_id)
    await f.tier_price(shop["tier"], {"id": item.sku_id}, percent_bp=5000)
    with QueryCounter(Sku._meta.db) as kept:
        again = await catalog.search(a, d, q="海天", sort="code")
    assert kept.count == 1
    now = again.items[0]
    assert (now.sku_id, now.available_qty, now.availability) == (item.sku_id, 0, "out")
    assert now.quote.unit_price_fen == item.quote.unit_price_fen // 2


async def test_a_product_shown_by_name_is_never_shared_with_the_tier(shop):
    """Dealers of one tier share rankings, but not with a dealer shown a restricted product
    by name: whoever searches first, each sees what they may see."""
    a, d = shop["actor"], shop["dealer"]
    named = await f.dealer(shop["tier"])
    named_actor = f.actor(await f.user("dealer_buyer", named))
    other_tier = await f.dealer(await f.tier())
    other_actor = f.actor(await f.user("dealer_buyer", other_tier))
    secret = await _product("海天私享酱油", shop["sauces"], visibility="restricted")
    await f.sku(code="HT-SECRET", name="海天私享酱油", product=secret)
    await ProductVisibility(product=secret["id"], dealer=named["id"]).save()
    for order in (
        ((a, d), (named_actor, named), (other_actor, other_tier)),
        (
            (named_actor, named),
            (a, d),
            (other_actor, other_tier),
        ),
    ):
        search_rankings.forget()
        for who, dealer in order * 2:  # each asks twice: the second is served as kept
            codes = _codes(await catalog.search(who, dealer, q="海天"))
            assert ("HT-SECRET" in codes) == (dealer["id"] == named["id"])
    # Shown by name after the tier's ranking was kept: the next search shows it.
    await ProductVisibility(product=secret["id"], dealer=d["id"]).save()
    assert "HT-SECRET" in _codes(await catalog.search(a, d, q="海天"))


async def test_pages_of_a_kept_ranking_match_a_fresh_search(shop):
    a, d = shop["actor"], shop["dealer"]
    for n in range(1, 5):
        kept = await catalog.search(a, d, q="H", sort="code", page=n, per_page=2)
        fresh = await _fresh(a, d, q="H", sort="code", page=n, per_page=2)
        await catalog.search(a, d, q="H", sort="code", page=1, per_page=2)  # keep it again
        assert (_codes(kept), kept.has_more, kept.total, kept.total_exact) == (
            _codes(fresh),
            fresh.has_more,
            fresh.total,
            fresh.total_exact,
        )
    beyond = await catalog.search(a, d, q="H", sort="code", page=50, per_page=2)
    assert (beyond.items, beyond.total, beyond.has_more) == ([], 9, False)


async def test_random_changes_and_searches_agree_with_fresh_searches(shop):
    """A seeded mix of catalog changes and searches: every page served (kept or not) is the
    page a search with nothing kept gives at that moment."""
    rng = random.Random(20261127)
    a, d = shop["actor"], shop["dealer"]
    queries = [
        {"q": "海天"},
        {"q": "酱油", "sort": "name"},
        {"q": "H", "sort": "code"},
        {},  # the first page
        {"category_id": shop["sauces"]["id"], "sort": "name"},
    ]
    names = ["海天酱油", "海天老抽", "恒顺香醋", "恒顺料酒", "千禾酱油"]

    async def change() -> None:
        s = rng.choice(shop["skus"])
        kind = rng.randrange(3)
        if kind == 0:
            await fetch('UPDATE "sku" SET name = {} WHERE id = {}', rng.choice(names), s["id"])
        elif kind == 1:
            await fetch('UPDATE "sku" SET active = {} WHERE id = {}', rng.random() < 0.7, s["id"])
        else:
            p = rng.choice([shop["soy"], shop["vinegar"]])
            await fetch('UPDATE "product" SET name = {} WHERE id = {}', rng.choice(names), p["id"])

    for _step in range(40):
        if rng.random() < 0.3:
            await change()
        kw = {**rng.choice(queries), "page": rng.randint(1, 3), "per_page": 3}
        served = await catalog.search(a, d, **kw)
        truth = await _fresh(a, d, **kw)
        assert (_codes(served), served.total, served.has_more) == (
            _codes(truth),
            truth.total,
            truth.has_more,
        ), kw
        # Keep the ranking again for the next step (_fresh dropped everything).
        await catalog.search(a, d, **kw)


@pytest.mark.postgres_only
async def test_catalog_changes_queue_for_the_version_without_deadlocking(shop, database_url):
    """Two transactions on separate connections: the first renames one SKU, then another;
    the second renames that other SKU meanwhile. The second waits for the version's row
    before it locks its SKU, so the first goes on and both commit. (Bumping the version after
    each statement, the second held its SKU while waiting for the version, and PostgreSQL
    ended one of them as a deadlock.)"""
    a_id, b_id = shop["skus"][0]["id"], shop["skus"][1]["id"]
    version = await _version()
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        await second.execute("SET deadlock_timeout = '100ms'")
        t1, t2 = first.transaction(), second.transaction()
        await t1.start()
        await first.execute("UPDATE sku SET name = '甲' WHERE id = $1", a_id)
        await t2.start()
        meanwhile = asyncio.ensure_future(
            second.execute("UPDATE sku SET name = '乙' WHERE id = $1", b_id)
        )
        await asyncio.sleep(0.2)
        assert not meanwhile.done()  # waiting for the version's row, holding no SKU
        await first.execute("UPDATE sku SET name = '丙' WHERE id = $1", b_id)
        await t1.commit()
        await meanwhile
        await t2.commit()
    finally:
        await first.close()
        await second.close()
    names = await fetch('SELECT name FROM "sku" WHERE id IN ({}, {}) ORDER BY id', a_id, b_id)
    assert [r["name"] for r in names] == ["甲", "乙"]
    assert await _version() != version


async def test_a_ranking_read_inside_a_transaction_is_never_kept(shop):
    """A search inside a transaction that changed the catalog sees the change before it is
    final; were its ranking kept, a rollback (then another change) could leave a ranking
    that matches nothing committed. Versions are never reused either."""
    a, d = shop["actor"], shop["dealer"]
    before = _codes(await catalog.search(a, d, q="海天"))
    version = await _version()

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        async with write_transaction():
            await fetch("UPDATE \"sku\" SET name = '千禾酱油' WHERE code = 'HT-03'")
            await fetch("UPDATE \"product\" SET name = '千禾' WHERE id = {}", shop["soy"]["id"])
            inside = _codes(await catalog.search(a, d, q="海天"))
            assert "HT-03" not in inside
            raise Undo
    assert await _version() == version  # rolled back with the rest
    # Committed: the search between two changes of one transaction saw the first only.
    async with write_transaction():
        await fetch("UPDATE \"sku\" SET active = {} WHERE code = 'HT-01'", False)
        assert "HT-01" not in _codes(await catalog.search(a, d, q="海天"))
        await fetch("UPDATE \"sku\" SET active = {} WHERE code = 'HT-02'", False)
    now = _codes(await catalog.search(a, d, q="海天"))
    assert not {"HT-01", "HT-02"} & set(now)
    assert now == _codes(await _fresh(a, d, q="海天"))
    await fetch("UPDATE \"sku\" SET active = {} WHERE code IN ('HT-01', 'HT-02')", True)
    await fetch("UPDATE \"sku\" SET name = '海天酱油 新' WHERE code = 'HT-04'")
    assert await _version() not in (version,)
    after = _codes(await catalog.search(a, d, q="海天"))
    assert after == before == _codes(await _fresh(a, d, q="海天"))
