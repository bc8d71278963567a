"""The category tree (商品分类), kept by administrators: add, rename, move and re-sort a
category, and remove one nothing uses. Names are unique among siblings (ignoring case), and a
category never moves under itself or one of its sub-categories. Audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from portal.db import current_engine, is_sqlite, write_transaction
from portal.domain import audit
from portal.domain.catalog import subtree_ids
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.removal import Use, count_uses, remove_unused
from portal.domain.scope import Actor
from portal.tables import Category

NAME_MAX = 50  # category.name
SORT_LIMIT = 1000
MISSING = _("Category not found.")
TAKEN = _("Another category under the same parent has this name.")
IN_USE = _("This category is still in use, so it cannot be removed.")
MSG_NAME = _("Enter a name of at most %(max)s characters.")
MSG_SORT = _("Enter a whole number from -1000 to 1000.")
MSG_PARENT = _("Choose a category from the list.")
MSG_CYCLE = _("A category cannot be moved under itself or one of its sub-categories.")
# Every category write takes this lock on PostgreSQL, so that two administrators cannot each
# pass the sibling-name check, or move two categories under each other, at the same moment.
# On SQLite the IMMEDIATE transaction already runs them one after the other.
TREE_LOCK = 7_402_118_001

# What may refer to a category (every foreign key to it), with how each use is reported. The
# foreign keys cascade, so a category is removed only when none of these counts is above zero.
USES: tuple[Use, ...] = (
    Use("children", "category", "parent", _("Sub-categories: %(n)s. Move or remove them first.")),
    Use(
        "products",
        "product",
        "category",
        _("Products in this category: %(n)s. Move them to another category first."),
    ),
    Use(
        "promotions",
        "promotion",
        "category",
        _("Promotions for this category: %(n)s. Change or remove them under Promotions first."),
    ),
)


@dataclass(frozen=True)
class CategoryInput:
    name: str
    parent_id: int | None = None  # None: a top-level category
    sort: int = 0  # lower is listed first


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may change categories."))


async def _rows() -> list[dict[str, Any]]:
    """Every category with its direct product count, in the catalog's order (sort, name)."""
    rows = await Category.raw(
        "SELECT c.id AS id, c.name AS name, c.parent AS parent, c.sort AS sort, "
        '(SELECT COUNT(*) FROM "product" p WHERE p.category = c.id) AS products '
        'FROM "category" c ORDER BY c.sort, c.name, c.id'
    )
    return [{**r, "products": int(r["products"])} for r in rows]


def _flatten(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tree depth first, each category with its depth (0: top level), its path of names,
    how many sub-categories it has and how many products it and its sub-categories hold."""
    by_parent: dict[int | None, list[dict[str, Any]]] = {}
    known = {r["id"] for r in rows}
    for r in rows:
        parent = r["parent"] if r["parent"] in known else None
        by_parent.setdefault(parent, []).append(r)
    out: list[dict[str, Any]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int, path: list[str]) -> int:
        total = 0
        for r in by_parent.get(parent, []):
            if r["id"] in seen:  # a cycle written by hand in the database: show it once
                continue
            seen.add(r["id"])
            item = {
                **r,
                "depth": depth,
                "path": [*path, r["name"]],
                "children": len(by_parent.get(r["id"], [])),
            }
            out.append(item)
            item["products_in_tree"] = r["products"] + walk(r["id"], depth + 1, item["path"])
            total += item["products_in_tree"]
        return total

    walk(None, 0, [])
    return out


async def list_categories(actor: Actor) -> list[dict[str, Any]]:
    """Every category, the tree depth first: id, name, parent, sort, depth, path, children,
    products (directly in it) and products_in_tree (it and its sub-categories)."""
    _require_admin(actor)
    return _flatten(await _rows())


def _descendants(rows: list[dict[str, Any]], category_id: int) -> set[int]:
    """The category and every category under it."""
    return subtree_ids(rows, category_id)


async def get_category(actor: Actor, category_id: int) -> dict[str, Any]:
    """A category as list_categories gives it, with what refers to it (`uses`, `removable`)
    and the parents it may move under (`parents`: every category but itself and those
    under it, depth first)."""
    _require_admin(actor)
    flat = _flatten(await _rows())
    row = next((r for r in flat if r["id"] == category_id), None)
    if row is None:
        raise NotFound(MISSING)
    uses = await count_uses(Category, USES, category_id)
    below = _descendants(flat, category_id)
    return {
        **row,
        "uses": uses,
        "removable": not any(uses.values()),
        "parents": [r for r in flat if r["id"] not in below],
    }


def _check(data: CategoryInput) -> list[FieldError]:
    errors = []
    name = data.name.strip()
    if not name or len(name) > NAME_MAX:
        errors.append(FieldError("name", MSG_NAME, {"max": NAME_MAX}))
    if not -SORT_LIMIT <= data.sort <= SORT_LIMIT:
        errors.append(FieldError("sort", MSG_SORT))
    return errors


async def _lock_tree() -> None:
    if not is_sqlite(current_engine()):
        await Category.raw("SELECT pg_advisory_xact_lock({})", TREE_LOCK)


async def save_category(
    actor: Actor, category_id: int | None, data: CategoryInput, *, now: datetime | None = None
) -> dict[str, Any]:
    """Add (category_id None) or change a category: its name, its parent (None: the top
    level) and its sort. Every problem at once, nothing written if there is one: a name
    another category under the same parent has (ignoring case), an unknown parent, or a
    parent that is the category itself or under it (the tree would loop)."""
    _require_admin(actor)
    errors = _check(data)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    name = data.name.strip()
    values = {"name": name, "parent": data.parent_id, "sort": data.sort}
    async with write_transaction():
        await _lock_tree()
        rows = await Category.select(Category.id, Category.name, Category.parent, Category.sort)
        by_id = {r["id"]: r for r in rows}
        if category_id is not None and category_id not in by_id:
            raise NotFound(MISSING)
        if data.parent_id is not None and data.parent_id not in by_id:
            errors.append(FieldError("parent", MSG_PARENT))
        elif category_id is not None and data.parent_id is not None:
            if data.parent_id in _descendants(rows, category_id):
                errors.append(FieldError("parent", MSG_CYCLE))
        wanted = name.casefold()
        if any(
            r["parent"] == data.parent_id
            and r["id"] != category_id
            and r["name"].casefold() == wanted
            for r in rows
        ):
            errors.append(FieldError("name", TAKEN))
        if errors:
            raise ValidationFailed(errors=errors)
        if category_id is None:
            row = Category(**values)
            await Category.insert(row)
            category_id, before = row.id, {}
        else:
            old = by_id[category_id]
            before = {k: old[k] for k in values}
            if before != values:
                await Category.update({getattr(Category, k): v for k, v in values.items()}).where(
                    Category.id == category_id
                )
        if before != values:
            await audit.record(
                actor, "category.saved", "category", category_id, before, values, now=now
            )
    return await get_category(actor, category_id)


async def delete_category(actor: Actor, category_id: int, *, now: datetime | None = None) -> None:
    """Remove a category nothing refers to (no sub-category, product or promotion); otherwise
    refuse (Conflict) and say what still uses it, one entry per kind of use, with the counts
    also in `extra["uses"]`."""
    _require_admin(actor)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await _lock_tree()
        await remove_unused(
            actor,
            Category,
            category_id,
            USES,
            missing=MISSING,
            in_use=IN_USE,
            audited=("name", "parent", "sort"),
            now=now,
        )
