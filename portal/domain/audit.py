"""The audit log: who changed money, stock, credit or order state, when, and from what to what."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from portal.db import Write, fetch
from portal.domain.errors import FieldError, Forbidden, ValidationFailed, _
from portal.domain.scope import Actor
from portal.tables import Dealer, LedgerEntry, Order, OrderLine, Sku, User, Warehouse

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _json(value: dict[str, Any]) -> str:
    # Dates, Decimals and the like become their text form; nothing is lost silently.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


async def record(
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Write one entry; call it inside the use case's transaction so it commits with the change.
    A save that changed nothing (the same values before and after) leaves no entry: the log
    is read on a phone, and "0 changes" is noise there."""
    if before and before.keys() == after.keys() and not changes_of(before, after):
        return
    sql, args = entry(actor, action, entity, entity_id, before, after, now=now)
    await fetch(sql, *args)


def entry(
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    now: datetime,
) -> Write:
    """The INSERT that record() runs, for a caller that writes it with others (write_together)."""
    return (
        'INSERT INTO audit_entry (at, actor, action, entity, entity_id, "before", "after") '
        "VALUES ({}, {}, {}, {}, {}, {}, {})",
        [
            now,
            actor.user_id if actor else None,
            action,
            entity,
            str(entity_id),
            _json(before),
            _json(after),
        ],
    )


# --- reading the log (administrators and finance) ---------------------------------------------

AUDIT_READERS = frozenset({"admin", "finance"})
MAX_PER_PAGE = 100
MAX_VALUE_TEXT = 300


@dataclass(frozen=True)
class Change:
    key: str
    before: str  # "" when the key was absent
    after: str


@dataclass(frozen=True)
class EntryView:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    entity: str
    entity_id: str
    changes: list[Change]
    # For a user: the dealer the user belongs to (None for staff), so the page can link to it.
    user_dealer_id: int | None = None


@dataclass(frozen=True)
class EntryPage:
    items: list[EntryView]
    page: int
    per_page: int
    has_more: bool


@dataclass(frozen=True)
class LogFilter:
    """What to look for: an entity type and id, actions starting with `action`, a period of
    Shanghai days (either end may be open)."""

    entity: str = ""
    entity_id: str = ""
    action: str = ""
    start: date | None = None
    end: date | None = None


def _value_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE_TEXT else text[: MAX_VALUE_TEXT - 1] + "…"


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"": value}
    return value if isinstance(value, dict) else {"": value}


def changes_of(before: Any, after: Any) -> list[Change]:
    """The keys whose value differs between before and after, in key order, as short text."""
    old, new = _as_dict(before), _as_dict(after)
    missing = object()
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, missing), new.get(key, missing)
        if a != b:
            out.append(
                Change(
                    key,
                    "" if a is missing else _value_text(a),
                    "" if b is missing else _value_text(b),
                )
            )
    return out


def check_filter(f: LogFilter) -> list[FieldError]:
    errors = []
    for name, limit in (("entity", 30), ("entity_id", 40), ("action", 50)):
        if len(getattr(f, name)) > limit:
            errors.append(FieldError(name, _("At most %(n)s characters."), {"n": limit}))
    if f.start and f.end and f.start > f.end:
        errors.append(FieldError("start", _("The start date must not be after the end date.")))
    return errors


def require_reader(actor: Actor) -> None:
    if actor.role not in AUDIT_READERS:
        raise Forbidden(_("Only administrators and finance may read the audit log."))


async def list_entries(
    actor: Actor, log_filter: LogFilter, *, page: int = 1, per_page: int = 50
) -> EntryPage:
    """The log newest first, filtered; administrators and finance only."""
    require_reader(actor)
    errors = check_filter(log_filter)
    if errors:
        raise ValidationFailed(errors=errors)
    page = max(1, int(page))
    per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
    where, args = ["1 = 1"], []
    if log_filter.entity:
        where.append("a.entity = {}")
        args.append(log_filter.entity)
    if log_filter.entity_id:
        where.append("a.entity_id = {}")
        args.append(log_filter.entity_id)
    if log_filter.action:
        escaped = log_filter.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("a.action LIKE {} ESCAPE '\\'")
        args.append(f"{escaped}%")
    for day, op in ((log_filter.start, ">="), (log_filter.end, "<")):
        if day is not None:
            bound = day if op == ">=" else day + timedelta(days=1)
            where.append(f"a.at {op} {{}}")
            # In UTC, as the column holds it (SQLite compares the text).
            args.append(datetime.combine(bound, time(), tzinfo=SHANGHAI).astimezone(UTC))
    rows = await fetch(
        'SELECT a.id, a.at, a.actor, a.action, a.entity, a.entity_id, a."before", a."after", '
        "u.display_name AS actor_name, su.dealer AS user_dealer FROM audit_entry a "
        "LEFT JOIN portal_user u ON u.id = a.actor "
        "LEFT JOIN portal_user su ON a.entity = 'user' AND CAST(su.id AS TEXT) = a.entity_id "
        "WHERE "
        + " AND ".join(where)
        + f" ORDER BY a.at DESC, a.id DESC LIMIT {per_page + 1:d} OFFSET {(page - 1) * per_page:d}",
        *args,
    )
    items = [
        EntryView(
            id=int(r["id"]),
            at=r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(r["at"]),
            actor_id=r["actor"],
            actor_name=r["actor_name"] or "",
            action=r["action"],
            entity=r["entity"],
            entity_id=r["entity_id"],
            changes=changes_of(r["before"], r["after"]),
            user_dealer_id=r["user_dealer"],
        )
        for r in rows[:per_page]
    ]
    return EntryPage(items, page, per_page, len(rows) > per_page)


# --- what recorded ids are called (the log's page shows names, not ids) -------------------

# Recorded ids shown by name (resolved per page: Names), as a value of their own or as a key
# of the dicts in a recorded list ([{"sku_id": 3, "warehouse_id": 1, "qty": 4}]).
USER_KEYS = frozenset({"rep", "manager", "by_id", "placed_by"})
WAREHOUSE_KEYS = frozenset({"warehouse_id", "warehouse", "default_warehouse"})
ORDER_KEYS = frozenset({"order_id"})
DEALER_KEYS = frozenset({"dealer_id", "dealer"})
SKU_KEYS = frozenset({"sku_id", "sku"})
LINE_KEYS = frozenset({"order_line_id"})
# {"<order line id>": qty} maps, shown as "A100 × 4".
LINE_MAP_KEYS = frozenset(
    {"accepted", "lines", "reserved_here", "backordered", "backordered_more", "quantities"}
)
_KINDS = (
    ("users", USER_KEYS),
    ("warehouses", WAREHOUSE_KEYS),
    ("orders", ORDER_KEYS),
    ("dealers", DEALER_KEYS),
    ("skus", SKU_KEYS),
    ("lines", LINE_KEYS),
)


@dataclass(frozen=True)
class Names:
    """What ids recorded on a page of entries are called: people, warehouses, orders (by
    number), dealers, SKUs and order lines (by SKU code)."""

    users: dict[str, str] = field(default_factory=dict)
    warehouses: dict[str, str] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)
    dealers: dict[str, str] = field(default_factory=dict)
    skus: dict[str, str] = field(default_factory=dict)
    # Ledger entries a reversal took back: id -> (kind, amount in fen, when).
    entries: dict[str, tuple[str, int, datetime]] = field(default_factory=dict)

    def of(self, key: str, value: Any) -> str | None:
        """The name of an id recorded under `key`, if it is one of a kind named here."""
        text = str(value)
        for kind, keys in _KINDS:
            if key in keys:
                return getattr(self, kind).get(text)
        return None


def line_map(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, dict) and value and all(str(k).isdigit() for k in value):
        return value
    return None


def record_list(text: str) -> list[dict[str, Any]] | None:
    """A recorded list of dicts (reservations, lines), or None."""
    if not text.startswith("[{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return value
    return None


def _ids(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 12 else None


async def names_for(entries: list[EntryView]) -> Names:
    """One query per kind of id for the whole page."""
    wanted: dict[str, set[int]] = {kind: set() for kind, _keys in _KINDS}

    def add(key: str, value: Any) -> None:
        number = _ids(value)
        if number is None:
            return
        for kind, keys in _KINDS:
            if key in keys:
                wanted[kind].add(number)

    for e in entries:
        if e.entity == "order":
            add("order_id", e.entity_id)
        elif e.entity == "dealer":
            add("dealer_id", e.entity_id)
        for c in e.changes:
            for v in (c.before, c.after):
                if c.key in LINE_MAP_KEYS and (m := line_map(v)) is not None:
                    for k in m:
                        add("order_line_id", k)
                elif (items := record_list(v)) is not None:
                    for item in items:
                        for k, inner in item.items():
                            add(k, inner)
                else:
                    add(c.key, v)
    queries = {
        "users": (User, User.display_name),
        "warehouses": (Warehouse, Warehouse.name),
        "orders": (Order, Order.number),
        "dealers": (Dealer, Dealer.name),
        "skus": (Sku, Sku.code),
        "lines": (OrderLine, OrderLine.sku_code),
    }
    reversed_ids = sorted(
        {
            int(c.after)
            for e in entries
            for c in e.changes
            if c.key == "reversed_entry" and c.after.isdigit() and len(c.after) < 12
        }
    )
    found: dict[str, Any] = {}
    if reversed_ids:
        rows = await LedgerEntry.select(
            LedgerEntry.id, LedgerEntry.kind, LedgerEntry.amount_fen, LedgerEntry.at
        ).where(LedgerEntry.id.is_in(reversed_ids))
        found["entries"] = {str(r["id"]): (r["kind"], int(r["amount_fen"]), r["at"]) for r in rows}
    for kind, (table, column) in queries.items():
        ids = sorted(wanted[kind])
        rows = (
            await table.select(table.id, column.as_alias("label")).where(table.id.is_in(ids))
            if ids
            else []
        )
        found[kind] = {str(r["id"]): r["label"] for r in rows}
    return Names(**found)
