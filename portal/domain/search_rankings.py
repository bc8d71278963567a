"""Kept search rankings: a catalog search's ranked SKU ids and its count, kept by the process
and used again while the catalog has not changed (issue #3). A listing (a first page, a
category) is kept the same way, under an empty query: its order and count are as much the
catalog's alone, and counting a category's SKUs was most of its statement (1.1 of 1.7 ms for
a category of 5,000 SKUs).

Ranking a search is most of its cost: 冰红茶 matches 5,000 of 100,000 SKUs, and every one of
them is read, ranked and counted to find the first twenty (about 3 ms of PostgreSQL's time,
where a whole first page of the catalog costs under 1). Dealers ask the same searches again
and again: the next page, back from a product, the same word as their colleagues. What a
ranking depends on is the query, the filter and sort, and who may see what: the dealer's
tier, and the dealer when some product is shown to that dealer by name. Prices, stock,
favourites and last purchases are not part of it; every page reads those afresh.

The catalog's version (table catalog_version, migration 2026-11-25T14:00:25) takes a value
it never had before in the same transaction as any change to what a search reads. A ranking
is kept with the version its statement read (never one read inside a transaction); the
statement that reads a kept page's details reads the version too (one snapshot), and a page
is served only when the two agree. When they do not, everything kept is dropped and the
search runs again. So a kept ranking is never served after a change to the catalog has
committed, whichever process made it.

Kept per database (a process may serve more than one, as the tests do), at most
MAX_SEARCHES rankings of the first KEEP_IDS ids each (under 1 KB a ranking), least recently
used dropped first.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from portal.db import current_engine, fetch

# The first five pages of twenty. Ranking 101 rather than 21 of 冰红茶's 5,000 matches costs
# about 0.1 ms more the first time; 201, 0.25 ms.
KEEP_IDS = 100
MAX_SEARCHES = 1024
VERSION_SQL = '(SELECT MAX(n) FROM "catalog_version")'
# One statement: the version and the dealers who see some product by name, at that version.
_STATE_SQL = (
    f"SELECT {VERSION_SQL} AS v, g.dealer AS dealer FROM (SELECT 1 AS one) o LEFT JOIN "
    '(SELECT DISTINCT dealer FROM "product_visibility" WHERE dealer IS NOT NULL) g ON 1 = 1'
)


@dataclass
class Ranking:
    ids: array  # SKU ids, best first; the first KEEP_IDS of them at most
    n_total: Any  # the search's count, as its statement gave it (capped)
    complete: bool  # ids holds every match


@dataclass
class _Kept:
    version: int | None = None
    named_dealers: frozenset[int] = frozenset()  # dealers shown some product by name
    rankings: OrderedDict = field(default_factory=OrderedDict)


_KEPT: dict[str, _Kept] = {}


def _database() -> str:
    engine = current_engine()
    path = getattr(engine, "path", None)
    if path:
        return f"sqlite:{path}"
    config = getattr(engine, "config", {}) or {}
    return "postgres:" + repr(sorted((str(k), str(v)) for k, v in config.items()))


def _kept() -> _Kept:
    return _KEPT.setdefault(_database(), _Kept())


def key_of(dealer: dict, q: str, category_id: int | None, sort: str) -> tuple:
    """What a ranking is kept under: the query and its filter and sort, and who is asking as
    far as visibility tells them apart."""
    kept = _kept()
    dealer_id = int(dealer["id"])
    named = dealer_id if dealer_id in kept.named_dealers else None
    return (q, category_id, sort, int(dealer["tier"]), named)


def page_of(key: tuple, offset: int, size: int) -> tuple[list[int], Any, int] | None:
    """The ids from offset (size of them, fewer at the end), the count and the version they
    were kept at, if the kept ranking reaches that far; None if nothing is kept for the key or
    it stops short. An empty page is never served from here (there would be no details to
    read the version with)."""
    kept = _kept()
    ranking = kept.rankings.get(key)
    if ranking is None or kept.version is None:
        return None
    if offset + size > len(ranking.ids) and not ranking.complete:
        return None
    ids = list(ranking.ids[offset : offset + size])
    if not ids:
        return None
    kept.rankings.move_to_end(key)
    return ids, ranking.n_total, kept.version


def confirmed(kept_at: int, read: Any) -> bool:
    """Whether the version read with a kept page's details is the one its ranking was kept
    at. If not, nothing kept at that version is used again."""
    if read is not None and read == kept_at:
        return True
    kept = _kept()
    if kept.version == kept_at:
        kept.version = None
        kept.rankings.clear()
    return False


async def keep(
    dealer: dict,
    q: str,
    category_id: int | None,
    sort: str,
    version: Any,
    ids: list[int],
    n_total: Any,
) -> None:
    """Keep a ranking that a search statement read at `version` (its first KEEP_IDS ids; it
    asked for one more, to know whether there are others)."""
    if version is None or current_engine().current_transaction.get() is not None:
        return  # inside a transaction it may have read changes of its own, not yet final
    kept = _kept()
    if version != kept.version:
        rows = await fetch(_STATE_SQL)
        if not rows or rows[0]["v"] != version:
            return  # changed again since: keep nothing of this version
        kept.version = version
        kept.named_dealers = frozenset(int(r["dealer"]) for r in rows if r["dealer"] is not None)
        kept.rankings.clear()
    key = key_of(dealer, q, category_id, sort)
    kept.rankings[key] = Ranking(
        ids=array("q", ids[:KEEP_IDS]), n_total=n_total, complete=len(ids) <= KEEP_IDS
    )
    kept.rankings.move_to_end(key)
    while len(kept.rankings) > MAX_SEARCHES:
        kept.rankings.popitem(last=False)


def forget() -> None:
    """Drop everything kept, in every database."""
    _KEPT.clear()
