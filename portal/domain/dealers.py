"""Dealers as staff pick them: the dealer picker (scoped, searchable, recent first) and cards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from portal.db import bytewise, fetch, write_transaction
from portal.domain import audit, credit, notifications, pinyin
from portal.domain.codes import same_text
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.idempotency import is_unique_violation
from portal.domain.scope import ACCOUNT_BLIND_ROLES, Actor, dealer_in_scope, visible_dealer_ids
from portal.tables import Dealer, RepAssignment, Tier, User, Warehouse

MAX_PER_PAGE = 100
MAX_QUERY = 50


@dataclass(frozen=True)
class DealerCard:
    id: int
    code: str
    name: str
    region: str
    tier_name: str
    available_credit_fen: int
    credit_limit_fen: int
    last_ordered_at: datetime | None = None
    active: bool = True


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _card(row: dict) -> DealerCard:
    last = row.get("last_at")
    if isinstance(last, str):  # SQLite hands an aggregate of timestamps back as text
        last = datetime.fromisoformat(last)
    return DealerCard(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        region=row["region"] or "",
        tier_name=row["tier_name"] or "",
        available_credit_fen=credit.available_fen(row),
        credit_limit_fen=int(row["credit_limit_fen"] or 0),
        last_ordered_at=last,
        active=bool(row["active"]),
    )


async def _select_cards(
    actor: Actor,
    *,
    dealer_id: int | None = None,
    q: str | None = None,
    limit: int = 30,
    offset: int = 0,
    with_inactive: bool = False,
) -> list[DealerCard]:
    ids = await visible_dealer_ids(actor)
    if (ids is not None and not ids) or actor.role in ACCOUNT_BLIND_ROLES:
        return []
    where, args = (["1 = 1"], []) if with_inactive else (["d.active = {}"], [True])
    if ids is not None:
        # The scope filter sits inside the query: nothing outside it is ever read.
        where.append("d.id IN (" + ", ".join("{}" for _ in ids) + ")")
        args.extend(ids)
    if dealer_id is not None:
        where.append("d.id = {}")
        args.append(dealer_id)
    # Each word of the query must match (上海 恒通: the city and the name), in any of the
    # dealer's name, code, region or, for Latin letters, its name's pinyin or initials (bjss:
    # 北京盛世, from as many letters as the catalog's search takes).
    for word in (q or "").split()[:5]:
        pattern = _like_pattern(word)
        by_pinyin = pinyin.finds_by_pinyin(word)
        where.append(
            "(LOWER(d.name) LIKE {} ESCAPE '\\' OR LOWER(d.code) LIKE {} ESCAPE '\\'"
            " OR LOWER(d.region) LIKE {} ESCAPE '\\'"
            + (" OR d.pinyin LIKE {} ESCAPE '\\')" if by_pinyin else ")")
        )
        args.extend([pattern] * (4 if by_pinyin else 3))
    # "Recent first": the dealers this actor most recently placed an order for, then by name
    # in pinyin order.
    sql = (
        "SELECT d.id, d.code, d.name, d.region, d.credit_limit_fen, d.balance_fen,"
        " d.open_orders_fen, d.active, t.name AS tier_name, r.last_at"
        " FROM dealer d JOIN tier t ON t.id = d.tier"
        " LEFT JOIN (SELECT o.dealer AS dealer, MAX(o.created_at) AS last_at"
        "   FROM sales_order o WHERE o.placed_by = {} GROUP BY o.dealer) r ON r.dealer = d.id"
        " WHERE "
        + " AND ".join(where)
        + " ORDER BY CASE WHEN r.last_at IS NULL THEN 1 ELSE 0 END, r.last_at DESC, "
        + bytewise("d.name_key")
        + ", d.name, d.id"
        " LIMIT {} OFFSET {}"
    )
    rows = await Dealer.raw(sql, actor.user_id, *args, limit, offset)
    return [_card(r) for r in rows]


@dataclass(frozen=True)
class DealerPage:
    items: list[DealerCard]
    has_more: bool


async def list_page(
    actor: Actor, *, q: str | None = None, page: int = 1, per_page: int = 30
) -> DealerPage:
    """A page of the dealers the actor may see (active ones; administrators also inactive
    ones), matching q (name, code or region), recent first; has_more when another page
    follows."""
    if actor.role in ACCOUNT_BLIND_ROLES:
        raise Forbidden(_("Your role cannot see dealers' accounts."))
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    q = (q or "").strip()[:MAX_QUERY] or None
    cards = await _select_cards(
        actor,
        q=q,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
        # Administrators also find inactive dealers, to change them; nobody orders for one
        # (dealer_card, the acting dealer's, stays active only).
        with_inactive=actor.role == "admin",
    )
    return DealerPage(cards[:per_page], len(cards) > per_page)


async def dealer_card(actor: Actor, dealer_id: int) -> DealerCard:
    """One dealer's card; NotFound when it is outside the actor's scope (or inactive)."""
    cards = await _select_cards(actor, dealer_id=dealer_id, limit=1)
    if not cards:
        raise NotFound(_("Dealer not found."))
    return cards[0]


async def cart_count(actor: Actor, dealer_id: int) -> int:
    """How many lines the actor's cart for this dealer holds (for the badge on every page)."""
    rows = await fetch(
        "SELECT COUNT(*) AS n FROM cart_line cl JOIN cart c ON c.id = cl.cart "
        'WHERE c.dealer = {} AND c."user" = {}',
        int(dealer_id),
        actor.user_id,
    )
    return int(rows[0]["n"])


# Who may put a dealer under review (their orders then meet the "dealer flagged" rule).
FLAGGING_ROLES = frozenset({"sales_manager", "finance", "admin"})
MAX_FLAG_REASON = 200


async def set_review_flag(
    actor: Actor, dealer_id: int, flagged: bool, reason: str, *, now: datetime
) -> bool:
    """Flag a dealer in scope for review, or clear the flag; audited with the reason."""
    if actor.role not in FLAGGING_ROLES:
        raise Forbidden(_("Your role cannot flag dealers for review."))
    reason = (reason or "").strip()
    if flagged and not reason:
        raise ValidationFailed(errors=[FieldError("reason", _("Say why the dealer is flagged."))])
    if len(reason) > MAX_FLAG_REASON:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "reason",
                    _("The note is too long (at most %(max)s characters)."),
                    {"max": MAX_FLAG_REASON},
                )
            ]
        )
    dealer = await dealer_in_scope(actor, dealer_id)
    async with write_transaction():
        await Dealer.update({Dealer.flagged_for_review: flagged}).where(Dealer.id == dealer["id"])
        await audit.record(
            actor,
            "dealer.review_flag",
            "dealer",
            dealer["id"],
            {"flagged_for_review": bool(dealer.get("flagged_for_review"))},
            {"flagged_for_review": flagged, "reason": reason},
            now=now,
        )
    return flagged


# Who may move a dealer to another rep: a manager among their own reps, an administrator
# among all active reps (or to none). The dealer leaves the old rep's scope at once.
REASSIGNING_ROLES = frozenset({"sales_manager", "admin"})


async def assignable_reps(actor: Actor) -> list[dict]:
    """The active reps the actor may give a dealer to (id, display_name), by name."""
    if actor.role not in REASSIGNING_ROLES:
        return []
    query = User.select(User.id, User.display_name).where(
        (User.role == "sales_rep") & (User.active == True)  # noqa: E712
    )
    if actor.role == "sales_manager":
        query = query.where(User.manager == actor.user_id)
    return await query.order_by(pinyin.order_by_name()).order_by(User.id)


async def reassign(
    actor: Actor, dealer_id: int, rep_id: int | None, *, now: datetime
) -> dict | None:
    """Give the dealer to another rep (None: to no rep, administrators only); audited.

    Returns the new rep (id, display_name) or None. NotFound for a dealer outside the
    actor's scope; ValidationFailed for a rep the actor may not give dealers to.
    """
    if actor.role not in REASSIGNING_ROLES:
        raise Forbidden(_("Your role cannot reassign dealers."))
    dealer = await dealer_in_scope(actor, dealer_id)
    reps = {r["id"]: r for r in await assignable_reps(actor)}
    allowed = actor.role == "admin" if rep_id is None else rep_id in reps
    if not allowed:
        raise ValidationFailed(errors=[FieldError("rep_id", _("Choose one of your reps."))])
    async with write_transaction():
        current = (
            await RepAssignment.select(RepAssignment.id, RepAssignment.rep)
            .where(RepAssignment.dealer == dealer["id"])
            .first()
        )
        before = current["rep"] if current else None
        if before == rep_id:
            return reps.get(rep_id) if rep_id else None
        if rep_id is None:
            await RepAssignment.delete().where(RepAssignment.dealer == dealer["id"])
        elif current is None:
            await RepAssignment.insert(
                RepAssignment(dealer=dealer["id"], rep=rep_id, assigned_at=now)
            )
        else:
            await RepAssignment.update(
                {RepAssignment.rep: rep_id, RepAssignment.assigned_at: now}
            ).where(RepAssignment.id == current["id"])
        await audit.record(
            actor,
            "dealer.reassigned",
            "dealer",
            dealer["id"],
            {"rep": before},
            {"rep": rep_id},
            now=now,
        )
        await notifications.tell_reassigned(dealer, rep_id, before, actor=actor, now=now)
    return reps.get(rep_id) if rep_id else None


# --- adding and changing dealers (administrators) -------------------------------------------

DEALER_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
DEALER_TEXT = {"name": 100, "region": 50, "contact_phone": 32}
# Digits, with + ( ) - and spaces as people write them (400-820-8820, +86 21 5555 0000).
DEALER_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,31}$")
MSG_PHONE = _("Enter a phone number of digits.")
CODE_TAKEN = _("Another dealer has this code.")


@dataclass
class DealerInput:
    """A dealer's own details. Its code is given once, when it is added; its credit is
    finance's (ledger.set_credit_terms), its users and addresses the team pages'."""

    name: str
    tier_id: int | None
    region: str = ""
    contact_phone: str = ""
    default_warehouse_id: int | None = None
    active: bool = True
    code: str = ""


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may add or change dealers."))


async def editable_dealer(actor: Actor, dealer_id: int | None) -> dict | None:
    """The dealer an administrator is about to change (None: a new one); Forbidden for
    anyone else, NotFound for a dealer that does not exist."""
    _require_admin(actor)
    if dealer_id is None:
        return None
    row = await Dealer.select().where(Dealer.id == dealer_id).first()
    if row is None:
        raise NotFound(_("Dealer not found."))
    return row


async def _check_dealer(data: DealerInput, *, new: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    if new and not DEALER_CODE.match(data.code):
        errors.append(FieldError("code", _("Use 1 to 20 letters, digits, dashes or underscores.")))
    if not data.name.strip():
        errors.append(FieldError("name", _("Enter a name.")))
    for name, limit in DEALER_TEXT.items():
        if len(getattr(data, name)) > limit:
            errors.append(FieldError(name, _("At most %(n)s characters."), {"n": limit}))
    phone = data.contact_phone.strip()
    if phone and not DEALER_PHONE.match(phone):
        # As a user's and an address's phone are checked: a rep taps it to call.
        errors.append(FieldError("contact_phone", MSG_PHONE))
    if data.tier_id is None or not await Tier.exists().where(Tier.id == data.tier_id):
        errors.append(FieldError("tier", _("Choose a tier.")))
    if data.default_warehouse_id is not None and not await Warehouse.exists().where(
        Warehouse.id == data.default_warehouse_id
    ):
        errors.append(FieldError("default_warehouse", _("Choose a warehouse.")))
    return errors


async def save_dealer(
    actor: Actor, dealer_id: int | None, data: DealerInput, *, now: datetime
) -> dict:
    """Add a dealer (dealer_id None) or change one's name, tier, region, contact phone,
    default warehouse and active flag; audited before and after. A new dealer has no
    credit until finance gives it a limit. A code another dealer has, in any letter case
    (d01 is D01), is a field error, also when two administrators add it at once. An inactive
    dealer's users still sign in and see their orders, but none can be placed for it.
    Returns the dealer."""
    old = await editable_dealer(actor, dealer_id)
    errors = await _check_dealer(data, new=old is None)
    taken = Dealer.exists().where(same_text(Dealer.code, data.code))
    if old is None and not errors and await taken:
        errors.append(FieldError("code", CODE_TAKEN))
    if errors:
        raise ValidationFailed(errors=errors)
    values = {
        "name": data.name.strip(),
        "tier": data.tier_id,
        "region": data.region.strip(),
        "contact_phone": data.contact_phone.strip(),
        "default_warehouse": data.default_warehouse_id,
        "active": data.active,
    }
    try:
        async with write_transaction():
            if old is None:
                row = Dealer(
                    code=data.code,
                    created_at=now,
                    credit_limit_fen=0,
                    **pinyin.with_keys(Dealer, values),
                )
                await Dealer.insert(row)
                dealer_id, before, after = row.id, {}, {"code": data.code, **values}
                action = "dealer.created"
            else:
                keyed = pinyin.with_keys(Dealer, values)
                await Dealer.update({getattr(Dealer, k): v for k, v in keyed.items()}).where(
                    Dealer.id == dealer_id
                )
                before = {k: old[k] for k in values} | {"active": bool(old["active"])}
                after, action = values, "dealer.updated"
            await audit.record(actor, action, "dealer", dealer_id, before, after, now=now)
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        raise ValidationFailed(errors=[FieldError("code", CODE_TAKEN)]) from None
    return await Dealer.select().where(Dealer.id == dealer_id).first()
