"""Telling people about orders: in-portal notifications and mail, in the change's transaction.

Who is told: the dealer's users, the user who placed the order and its rep, and (while the
order waits) the approvers who may act on its current step. The acting user is not told
about their own action. Mail goes to a MailOutbox row (sent later by portal/mail.py), so a
mail server that is down never blocks or rolls back the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal import i18n
from portal.db import fetch, write_transaction
from portal.domain.errors import NotFound, _
from portal.domain.scope import Actor, dealer_managers, visible_dealers_sql
from portal.tables import (
    ApprovalStep,
    MailOutbox,
    Notification,
    Order,
    ReturnRequest,
    User,
)

KIND_LABELS = {
    "submitted": _("Order %(number)s was submitted."),
    "approval_needed": _("Order %(number)s waits for your approval."),
    "approved": _("Order %(number)s was approved."),
    "step_approved": _("Order %(number)s passed an approval step."),
    "rejected": _("Order %(number)s was rejected."),
    "returned": _("Order %(number)s was returned to the dealer."),
    "resubmitted": _("Order %(number)s was resubmitted."),
    "adjusted": _("Order %(number)s was adjusted."),
    "cancelled": _("Order %(number)s was cancelled."),
    # About a dealer, not an order: its name and code are the notification's note.
    "dealer_given": _("%(dealer)s is now yours to look after."),
    "dealer_taken": _("%(dealer)s was given to another rep."),
    "backorder_reserved": _("Backordered goods of order %(number)s are now reserved."),
    "stock_short": _("Part of order %(number)s now waits for stock (less was found in stock)."),
    "remainder_closed": _("The rest of order %(number)s will not ship."),
    "shipment_shipped": _("A parcel of order %(number)s is on its way."),
    "shipment_tracking_changed": _(
        "The carrier or tracking number of a parcel of order %(number)s was corrected."
    ),
    "shipment_delivered": _("A parcel of order %(number)s was delivered: please confirm receipt."),
    "return_requested": _("A return of order %(number)s waits for a decision."),
    "return_approved": _("The return of order %(number)s was approved."),
    "return_rejected": _("The return of order %(number)s was rejected."),
    "return_to_receive": _("A return of order %(number)s is to be received at the warehouse."),
    "return_received": _("The return of order %(number)s was received and credited."),
    "return_received_none": _(
        "The return of order %(number)s was received: nothing was accepted at inspection, "
        "so nothing is credited."
    ),
}
DEALER_KINDS = frozenset({"dealer_given", "dealer_taken"})
MAIL_SUBJECT = _("Dealer portal: %(text)s")
PAGE_SIZE = 50


async def approvers_for(role: str, dealer_id: int) -> list[int]:
    """Active users who decide a step of `role` on the dealer's orders (scope.decides_step):
    the dealer's manager for a manager's step, finance where the dealer has none."""
    if role == "sales_manager":
        manager = (await dealer_managers([dealer_id])).get(dealer_id)
        if manager is not None:
            return [manager]
        role = "finance"
    rows = await User.select(User.id).where((User.role == role) & (User.active == True))  # noqa: E712
    return [r["id"] for r in rows]


async def tell(
    order_id: int, kind: str, *, actor: Actor | None, now: datetime, note: str = ""
) -> None:
    """Notify everyone concerned with the order; inside the caller's transaction."""
    order = (
        await Order.select(
            Order.id, Order.number, Order.dealer, Order.placed_by, Order.rep, Order.status
        )
        .where(Order.id == order_id)
        .first()
    )
    if order is None:
        return
    role = None
    if order["status"] == "pending_approval":
        step = (
            await ApprovalStep.select(ApprovalStep.role)
            .where((ApprovalStep.order == order_id) & (ApprovalStep.status == "pending"))
            .order_by(ApprovalStep.step_no)
            .first()
        )
        role = step["role"] if step is not None else None
    await tell_placed(order, kind, approver_role=role, actor=actor, now=now, note=note)


def recipients_sql(order: dict) -> tuple[str, list]:
    """The query (id, email, locale) of the users told about an order besides its approvers:
    the dealer's active users, the user who placed it, its rep (who ordered for the dealer)
    and the rep who looks after the dealer (DESIGN: "The dealer and the rep are told of each
    decision"); with its arguments."""
    return (
        "SELECT id, email, locale FROM portal_user WHERE (dealer = {} AND active = {}) "
        "OR id IN ({}, {}) OR (active = {} AND id IN "
        "(SELECT ra.rep FROM rep_assignment ra WHERE ra.dealer = {}))",
        [
            order["dealer"],
            True,
            order["placed_by"] or 0,
            order["rep"] or 0,
            True,
            order["dealer"],
        ],
    )


async def tell_placed(
    order: dict,
    kind: str,
    *,
    approver_role: str | None,
    actor: Actor | None,
    now: datetime,
    note: str = "",
    users: list[dict] | None = None,
) -> None:
    """`tell` for an order the caller holds: `order` has id, number, dealer, placed_by, rep
    and status; `approver_role` is the role of its first pending step (if it waits);
    `users`: the rows of recipients_sql if the caller already read them."""
    if users is None:
        sql, args = recipients_sql(order)
        users = await User.raw(sql, *args)
    known = {int(r["id"]): r for r in users}
    people: dict[int, str] = {}
    for uid in sorted(known):
        if uid not in (order["placed_by"], order["rep"]):
            people[uid] = kind
    for uid in (order["placed_by"], order["rep"]):
        if uid:
            people[uid] = kind
    if order["status"] == "pending_approval" and approver_role is not None:
        for uid in await approvers_for(approver_role, order["dealer"]):
            people[uid] = "approval_needed"
    await _deliver(order, people, known, actor=actor, now=now, note=note)


async def _deliver(
    order: dict,
    people: dict[int, str],
    known: dict[int, dict],
    *,
    actor: Actor | None,
    now: datetime,
    note: str,
) -> None:
    """Write each user's notification (people: user id → kind) and queue their mail; the
    acting user is not told of their own action. `known`: rows (id, email, locale) already
    read, by id."""
    order_id = order["id"]
    if actor is not None:
        people.pop(actor.user_id, None)
    if not people:
        return
    await Notification.insert(
        *[
            Notification(user=uid, order=order_id, kind=k, note=note, created_at=now)
            for uid, k in sorted(people.items())
        ]
    )
    missing = sorted(uid for uid in people if uid not in known)
    if missing:
        for r in await User.select(User.id, User.email, User.locale).where(User.id.is_in(missing)):
            known[r["id"]] = r
    outbox = []
    for uid in sorted(people):
        row = known.get(uid)
        if row is None or not (row["email"] or "").strip():
            continue
        translations = i18n.translations(row["locale"] or i18n.DEFAULT_LOCALE)
        text = translations.gettext(KIND_LABELS.get(people[uid], KIND_LABELS["submitted"]))
        text = text % {"number": order["number"]}
        subject = translations.gettext(MAIL_SUBJECT) % {"text": text}
        body = text + ("\n\n" + note if note else "")
        outbox.append(
            MailOutbox(
                to=row["email"].strip(),
                subject=subject[:255],
                body=body,
                link=f"/orders/{int(order_id)}",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    if outbox:
        await MailOutbox.insert(*outbox)


# Who is told of a return besides the dealer's people and reps: those who decide a new
# request (the dealer's manager, finance), and the warehouse once one is approved.
RETURN_STAFF = {"return_requested": ("finance",), "return_approved": ("warehouse",)}


async def tell_reassigned(
    dealer: dict, rep_id: int | None, before: int | None, *, actor: Actor, now: datetime
) -> None:
    """Both reps hear of a dealer given from one to the other (the one who lost it would
    otherwise find it gone); in the portal, inside the caller's transaction."""
    about = f"{dealer['name']} ({dealer['code']})"
    told = [
        Notification(user=user_id, kind=kind, note=about, created_at=now)
        for user_id, kind in ((rep_id, "dealer_given"), (before, "dealer_taken"))
        if user_id and user_id != actor.user_id
    ]
    if told:
        await Notification.insert(*told)


async def tell_return(
    order_id: int, kind: str, *, actor: Actor | None, now: datetime, note: str = ""
) -> None:
    """Notify those concerned with a return of the order (kind: return_requested, _approved,
    _rejected or _received); inside the caller's transaction."""
    order = (
        await Order.select(Order.id, Order.number, Order.dealer, Order.placed_by, Order.rep)
        .where(Order.id == order_id)
        .first()
    )
    if order is None:
        return
    sql, args = recipients_sql(order)
    known = {int(r["id"]): r for r in await User.raw(sql, *args)}
    people = dict.fromkeys(known, kind)
    staff: set[int] = set()
    if kind == "return_requested":
        manager = (await dealer_managers([order["dealer"]])).get(order["dealer"])
        staff.update([manager] if manager else [])
    roles = RETURN_STAFF.get(kind, ())
    if roles:
        rows = await User.select(User.id).where(
            User.role.is_in(list(roles)) & (User.active == True)  # noqa: E712
        )
        staff.update(r["id"] for r in rows)
    staff_kind = "return_to_receive" if kind == "return_approved" else kind
    for uid in staff:
        people[uid] = staff_kind
    await _deliver(order, people, known, actor=actor, now=now, note=note)


@dataclass
class NotificationView:
    id: int
    kind: str
    order_id: int | None
    order_number: str
    note: str
    created_at: datetime
    read: bool
    # The order's dealer: what a rep or an approver with many dealers needs to know whose
    # order it is (a dealer's own people know).
    dealer_name: str = ""
    return_id: int | None = None  # a return's news: the return it is about

    @property
    def link(self) -> str:
        if self.return_id is not None:
            return f"/returns/{self.return_id}"
        return f"/orders/{self.order_id}" if self.order_id else ""

    @property
    def text(self) -> str:
        return i18n.gettext(
            KIND_LABELS.get(self.kind, KIND_LABELS["submitted"]),
            number=self.order_number,
            dealer=self.note,
        )

    @property
    def shown_note(self) -> str:
        """The note under the text (a reason, a change); a dealer's name is in the text."""
        return "" if self.kind in DEALER_KINDS else self.note


def _mine_in_scope(actor: Actor) -> tuple[str, list[Any]]:
    """Where the actor's own notifications (`nt`) are about orders of dealers they may still
    see, or about no order: a rep whose dealer went to another rep (or a user whose role
    changed) no longer reads about its orders. One statement with the scope inside it."""
    sql, args = 'nt."user" = {}', [actor.user_id]
    scope = visible_dealers_sql(actor, "o.dealer")
    if scope is not None:
        condition, scope_args = scope
        sql += (
            ' AND (nt."order" IS NULL OR EXISTS (SELECT 1 FROM "sales_order" o '
            f'WHERE o.id = nt."order" AND {condition}))'
        )
        args.extend(scope_args)
    return sql, args


async def list_for(
    actor: Actor, *, limit: int = PAGE_SIZE, before: int | None = None
) -> list[NotificationView]:
    """The actor's own notifications about what they may see now, newest first; `before`:
    those older than that notification's id (the next page)."""
    mine, args = _mine_in_scope(actor)
    older = ""
    if before is not None:
        older, args = " AND nt.id < {}", [*args, int(before)]
    rows = await fetch(
        'SELECT nt.id AS id, nt.kind AS kind, nt."order" AS order_id, so.number AS order_number, '
        "nt.note AS note, nt.created_at AS created_at, nt.read_at AS read_at, "
        "nd.name AS dealer_name "
        'FROM "notification" nt LEFT JOIN "sales_order" so ON so.id = nt."order" '
        "LEFT JOIN dealer nd ON nd.id = so.dealer "
        f"WHERE {mine}{older} ORDER BY nt.id DESC LIMIT {max(1, min(limit, 200)):d}",
        *args,
    )
    # A return's news opens the return (its number is the note's first line), not its order.
    numbers = {
        (r["note"] or "").split("\n", 1)[0]
        for r in rows
        if str(r["kind"]).startswith("return_") and r["note"]
    }
    returns_by_number = (
        {
            rr["number"]: rr["id"]
            for rr in await ReturnRequest.select(ReturnRequest.id, ReturnRequest.number).where(
                ReturnRequest.number.is_in(sorted(numbers))
            )
        }
        if numbers
        else {}
    )
    return [
        NotificationView(
            id=r["id"],
            kind=r["kind"],
            order_id=r["order_id"],
            order_number=r["order_number"] or "",
            note=r["note"] or "",
            created_at=r["created_at"],
            read=r["read_at"] is not None,
            dealer_name="" if actor.is_dealer else (r["dealer_name"] or ""),
            return_id=returns_by_number.get((r["note"] or "").split("\n", 1)[0])
            if str(r["kind"]).startswith("return_")
            else None,
        )
        for r in rows
    ]


async def unread_count(actor: Actor) -> int:
    """The bell's figure on every page: the actor's unread notifications in their scope."""
    mine, args = _mine_in_scope(actor)
    rows = await fetch(
        f'SELECT COUNT(*) AS n FROM "notification" nt WHERE {mine} AND nt.read_at IS NULL', *args
    )
    return int(rows[0]["n"])


async def mark_seen(actor: Actor, ids: list[int], *, now: datetime) -> None:
    """Mark these of the actor's notifications read (the ones a page showed)."""
    if not ids:
        return
    async with write_transaction():
        await Notification.update({Notification.read_at: now}).where(
            (Notification.user == actor.user_id)
            & Notification.read_at.is_null()
            & Notification.id.is_in(sorted(ids))
        )


async def mark_read(actor: Actor, notification_id: int | None, *, now: datetime) -> None:
    """Mark one (or, with None, all) of the actor's notifications read."""
    query = Notification.update({Notification.read_at: now}).where(
        (Notification.user == actor.user_id) & Notification.read_at.is_null()
    )
    if notification_id is not None:
        exists = await Notification.exists().where(
            (Notification.id == notification_id) & (Notification.user == actor.user_id)
        )
        if not exists:
            raise NotFound(_("Notification not found."))
        query = query.where(Notification.id == notification_id)
    async with write_transaction():
        await query
