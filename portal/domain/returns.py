"""Returns (退货, RMA): the dealer asks, staff approve or reject, the warehouse receives.

A dealer may ask to return what was shipped on an order and not already asked back.
Staff in scope (manager, finance, admin) decide. The warehouse receives and inspects:
accepted quantities go back on hand at the receiving warehouse and their value (at the
order's prices) goes to the dealer's ledger as a credit note, in one transaction. Every
step is on the order's timeline and in the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from portal.db import write_transaction
from portal.domain import audit, ledger, notifications, photos, promotions
from portal.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.idempotency import (
    KeyTaken,
    check_key,
    claim_fulfilment_key,
    first_result,
)
from portal.domain.money import format_yuan, line_total_fen
from portal.domain.orders import note_on_order
from portal.domain.quantities import parse_line_quantities
from portal.domain.scope import (
    Actor,
    in_scope,
    row_in_scope,
    visible_dealer_ids,
    working_warehouses,
)
from portal.domain.text import visible
from portal.tables import (
    FulfilmentKey,
    Order,
    OrderLine,
    ReturnLine,
    ReturnPhoto,
    ReturnRequest,
    ShipmentLine,
    StockLevel,
)

DECIDING_ROLES = frozenset({"sales_manager", "finance", "admin"})
RECEIVING_ROLES = frozenset({"warehouse", "admin"})
RETURNABLE_ORDER_STATUSES = ("partially_shipped", "shipped", "completed")
STATUS_LABELS = {
    "requested": _("Return requested"),
    "approved": _("Return approved"),
    "rejected": _("Return rejected"),
    "received": _("Return received"),
}
EVENT_LABELS = {
    "return_requested": _("Return requested"),
    "return_approved": _("Return approved"),
    "return_rejected": _("Return rejected"),
    "return_received": _("Return received"),
}
MAX_TEXT = 500
# Photos per return (with the request or added while it awaits a decision).
MAX_PHOTOS = 5
PHOTO_STATUSES = ("requested",)
# The largest request body that carries a return's photos: every photo at its limit, and room
# for the form's other fields. Other requests keep the app's smaller limit.
PHOTO_UPLOAD_BODY_BYTES = MAX_PHOTOS * photos.MAX_BYTES + 512 * 1024


@dataclass
class ReturnPhotoView:
    id: int
    content_type: str
    size: int
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    created_at: datetime


@dataclass
class PhotoFile:
    """A photo's bytes as they are served."""

    content_type: str
    data: bytes


@dataclass
class ReturnLineView:
    order_line_id: int
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: int
    qty_accepted: int


@dataclass
class ReturnView:
    id: int
    number: str
    status: str
    order_id: int
    order_number: str
    dealer_id: int
    dealer_name: str
    reason: str
    created_at: datetime
    decision_note: str
    inspection_note: str
    credit_fen: int
    lines: list[ReturnLineView] = field(default_factory=list)
    photos: list[ReturnPhotoView] = field(default_factory=list)
    # Who asked, decided and received it, and when (the return's history).
    created_by_name: str = ""
    decided_at: datetime | None = None
    decided_by_name: str = ""
    received_at: datetime | None = None
    received_by_name: str = ""
    can_decide: bool = False
    can_receive: bool = False
    can_add_photos: bool = False

    @property
    def photos_left(self) -> int:
        return max(0, MAX_PHOTOS - len(self.photos))

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _text(value: str, name: str, errors: list[FieldError]) -> str:
    value = visible(value)
    if len(value) > MAX_TEXT:
        errors.append(
            FieldError(name, _("Too long (at most %(max)s characters)."), {"max": MAX_TEXT})
        )
    return value


async def _views(rows: list[dict]) -> list[ReturnView]:
    if not rows:
        return []
    lines = await ReturnLine.select(
        ReturnLine.return_request,
        ReturnLine.order_line,
        ReturnLine.sku,
        ReturnLine.qty,
        ReturnLine.qty_accepted,
        ReturnLine.order_line.sku_code.as_alias("sku_code"),
        ReturnLine.order_line.sku_name.as_alias("sku_name"),
        ReturnLine.order_line.unit.as_alias("unit"),
    ).where(ReturnLine.return_request.is_in([r["id"] for r in rows]))
    pictures = await _photos([r["id"] for r in rows])
    by_return: dict[int, list[ReturnLineView]] = defaultdict(list)
    for ln in sorted(lines, key=lambda r: r["order_line"]):
        by_return[ln["return_request"]].append(
            ReturnLineView(
                order_line_id=ln["order_line"],
                sku_id=ln["sku"],
                sku_code=ln["sku_code"],
                sku_name=ln["sku_name"],
                unit=ln["unit"],
                qty=ln["qty"],
                qty_accepted=ln["qty_accepted"],
            )
        )
    return [
        ReturnView(
            id=r["id"],
            number=r["number"],
            status=r["status"],
            order_id=r["order"],
            order_number=r["order_number"] or "",
            dealer_id=r["dealer"],
            dealer_name=r["dealer_name"] or "",
            reason=r["reason"] or "",
            created_at=r["created_at"],
            decision_note=r["decision_note"] or "",
            inspection_note=r["inspection_note"] or "",
            credit_fen=int(r["credit_fen"] or 0),
            lines=by_return.get(r["id"], []),
            photos=pictures.get(r["id"], []),
            created_by_name=r.get("created_by_name") or "",
            decided_at=r.get("decided_at"),
            decided_by_name=r.get("decided_by_name") or "",
            received_at=r.get("received_at"),
            received_by_name=r.get("received_by_name") or "",
        )
        for r in rows
    ]


_COLUMNS = (
    ReturnRequest.id,
    ReturnRequest.number,
    ReturnRequest.status,
    ReturnRequest.order,
    ReturnRequest.order.number.as_alias("order_number"),
    ReturnRequest.dealer,
    ReturnRequest.dealer.name.as_alias("dealer_name"),
    ReturnRequest.reason,
    ReturnRequest.created_at,
    ReturnRequest.decision_note,
    ReturnRequest.inspection_note,
    ReturnRequest.credit_fen,
    ReturnRequest.created_by.display_name.as_alias("created_by_name"),
    ReturnRequest.decided_at,
    ReturnRequest.decided_by.display_name.as_alias("decided_by_name"),
    ReturnRequest.received_at,
    ReturnRequest.received_by.display_name.as_alias("received_by_name"),
)


async def get_return(actor: Actor, return_id: int) -> ReturnView:
    """One return the actor may see; NotFound otherwise."""
    row = await row_in_scope(actor, ReturnRequest, return_id, _COLUMNS, _("Return not found."))
    view = (await _views([row]))[0]
    view.can_decide = actor.role in DECIDING_ROLES and view.status == "requested"
    view.can_receive = actor.role in RECEIVING_ROLES and view.status == "approved"
    view.can_add_photos = (
        actor.is_dealer and view.status in PHOTO_STATUSES and len(view.photos) < MAX_PHOTOS
    )
    return view


async def _photos(return_ids: list[int]) -> dict[int, list[ReturnPhotoView]]:
    rows = (
        await ReturnPhoto.select(
            ReturnPhoto.return_request,
            ReturnPhoto.id,
            ReturnPhoto.content_type,
            ReturnPhoto.size,
            ReturnPhoto.width,
            ReturnPhoto.height,
            ReturnPhoto.thumb_width,
            ReturnPhoto.thumb_height,
            ReturnPhoto.created_at,
        )
        .where(ReturnPhoto.return_request.is_in(return_ids))
        .order_by(ReturnPhoto.id)
    )
    by_return: dict[int, list[ReturnPhotoView]] = defaultdict(list)
    for r in rows:
        by_return[r.pop("return_request")].append(ReturnPhotoView(**r))
    return by_return


async def get_photo(
    actor: Actor, return_id: int, photo_id: int, *, thumbnail: bool = False
) -> PhotoFile:
    """A photo of a return the actor may see (the dealer's users, staff in scope); else NotFound."""
    await row_in_scope(actor, ReturnRequest, return_id, (ReturnRequest.id,), _("Return not found."))
    column = ReturnPhoto.thumb if thumbnail else ReturnPhoto.data
    row = (
        await ReturnPhoto.select(ReturnPhoto.content_type, column.as_alias("bytes"))
        .where((ReturnPhoto.id == photo_id) & (ReturnPhoto.return_request == return_id))
        .first()
    )
    if row is None:
        raise NotFound(_("Photo not found."))
    return PhotoFile(content_type=row["content_type"], data=bytes(row["bytes"]))


async def _check_photos(
    uploads: Sequence[photos.Upload], max_count: int, errors: list[FieldError]
) -> list[photos.Picture]:
    # Decoding and re-encoding is CPU work: off the event loop, and before any lock is taken.
    return await asyncio.to_thread(
        photos.check, list(uploads), field="photos", max_count=max_count, errors=errors
    )


async def _insert_photos(
    actor: Actor, return_id: int, pictures: list[photos.Picture], now: datetime
) -> None:
    if pictures:
        await ReturnPhoto.insert(
            *[
                ReturnPhoto(
                    return_request=return_id,
                    content_type=p.content_type,
                    data=p.data,
                    size=len(p.data),
                    width=p.width,
                    height=p.height,
                    thumb=p.thumb,
                    thumb_width=p.thumb_width,
                    thumb_height=p.thumb_height,
                    created_by=actor.user_id,
                    created_at=now,
                )
                for p in pictures
            ]
        )


async def add_photos(
    actor: Actor,
    return_id: int,
    uploads: Sequence[photos.Upload],
    *,
    now: datetime | None = None,
) -> ReturnView:
    """The dealer adds photos to their return while it awaits a decision (MAX_PHOTOS in all)."""
    now = now or datetime.now(UTC)
    if not actor.is_dealer:
        raise Forbidden(_("Only the dealer adds photos to a return."))
    view = await get_return(actor, return_id)
    if view.status not in PHOTO_STATUSES:
        raise Conflict(_("Photos can be added only while the return awaits a decision."))
    errors: list[FieldError] = []
    if not uploads:
        errors.append(FieldError("photos", _("Choose at least one photo.")))
        raise ValidationFailed(errors=errors)
    pictures = await _check_photos(uploads, view.photos_left, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    async with write_transaction():
        await ledger.lock_dealer(view.dealer_id)
        # Counted again under the lock: two uploads at once must not pass the limit together.
        status = (
            await ReturnRequest.select(ReturnRequest.status)
            .where(ReturnRequest.id == return_id)
            .first()
        )
        if status is None or status["status"] not in PHOTO_STATUSES:
            raise Conflict(_("Photos can be added only while the return awaits a decision."))
        count = await ReturnPhoto.count().where(ReturnPhoto.return_request == return_id)
        if count + len(pictures) > MAX_PHOTOS:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "photos",
                        _("At most %(max)s photos (%(count)s chosen)."),
                        {"max": max(0, MAX_PHOTOS - count), "count": len(pictures)},
                    )
                ]
            )
        await _insert_photos(actor, return_id, pictures, now)
        await audit.record(
            actor,
            "return.photos_added",
            "return",
            return_id,
            {"photos": count},
            {"photos": count + len(pictures)},
            now=now,
        )
    return await get_return(actor, return_id)


async def receiving_warehouses(actor: Actor, view: ReturnView | None = None) -> list[dict]:
    """Where returned goods may be received (active warehouses), for the receiving form.

    Given the return, the warehouse that shipped most of its lines comes first (the form's
    choice unless the clerk picks another): goods usually go back where they came from."""
    if actor.role not in RECEIVING_ROLES:
        return []
    warehouses = await working_warehouses(actor)
    if view is None or not view.lines:
        return warehouses
    shipped: dict[int, int] = defaultdict(int)
    for row in await ShipmentLine.select(
        ShipmentLine.shipment.warehouse.as_alias("warehouse"), ShipmentLine.qty
    ).where(
        ShipmentLine.order_line.is_in(sorted({ln.order_line_id for ln in view.lines}))
        & ShipmentLine.shipment.status.is_in(["shipped", "delivered", "received"])
    ):
        shipped[row["warehouse"]] += row["qty"]
    # Most shipped first; ties and the rest keep the preference order.
    return sorted(warehouses, key=lambda w: -shipped.get(w["id"], 0))


async def list_for_order(actor: Actor, order_id: int) -> list[ReturnView]:
    ids = await visible_dealer_ids(actor)
    rows = (
        await ReturnRequest.select(*_COLUMNS)
        .where(ReturnRequest.order == order_id)
        .where(in_scope(ReturnRequest.dealer, ids))
        .order_by(ReturnRequest.id)
    )
    return await _views(rows)


LIST_LIMIT = 100


# What waits for someone: the oldest first (a work queue), not the newest.
WAITING_STATUSES = frozenset({"requested", "approved"})


def _status_checked(status: str | None) -> None:
    if status is not None and status not in STATUS_LABELS:
        message = _("Unknown return status %(status)s.")
        raise ValidationFailed(
            message, {"status": status}, errors=[FieldError("status", message, {"status": status})]
        )


async def list_returns(
    actor: Actor, status: str | None = None, *, limit: int = LIST_LIMIT, offset: int = 0
) -> list[ReturnView]:
    """The returns the actor may see (`limit` of them after skipping `offset`, for paging),
    of one status or all: staff find what waits for them (a decision, a receipt) without
    opening each order. Newest first, but what waits (requested, approved) oldest first, as
    work is done."""
    _status_checked(status)
    ids = await visible_dealer_ids(actor)
    query = ReturnRequest.select(*_COLUMNS).where(in_scope(ReturnRequest.dealer, ids))
    if status is not None:
        query = query.where(ReturnRequest.status == status)
    rows = (
        await query.order_by(ReturnRequest.id, ascending=status in WAITING_STATUSES)
        .limit(max(0, int(limit)))
        .offset(max(0, int(offset)))
    )
    return await _views(rows)


async def count_returns(actor: Actor, status: str | None = None) -> int:
    """How many returns list_returns pages through."""
    _status_checked(status)
    ids = await visible_dealer_ids(actor)
    query = ReturnRequest.count().where(in_scope(ReturnRequest.dealer, ids))
    if status is not None:
        query = query.where(ReturnRequest.status == status)
    return await query


async def waiting_count(actor: Actor) -> int:
    """How many returns wait for this actor's step: a decision (managers, finance) or a
    receipt (the warehouse); an administrator both. 0 for anyone else."""
    statuses = []
    if actor.role in DECIDING_ROLES:
        statuses.append("requested")
    if actor.role in RECEIVING_ROLES:
        statuses.append("approved")
    if not statuses:
        return 0
    ids = await visible_dealer_ids(actor)
    return await ReturnRequest.count().where(
        in_scope(ReturnRequest.dealer, ids) & ReturnRequest.status.is_in(statuses)
    )


@dataclass
class ReturnableLine:
    order_line_id: int
    sku_code: str
    sku_name: str
    unit: str
    shipped: int
    returnable: int


async def returnable_lines(actor: Actor, order_id: int) -> list[ReturnableLine]:
    """For the dealer's return form: each shipped line and how much may still come back."""
    ids = await visible_dealer_ids(actor)
    if not await Order.exists().where((Order.id == order_id) & in_scope(Order.dealer, ids)):
        raise NotFound(_("Order not found."))
    left = await returnable(order_id)
    lines = (
        await OrderLine.select(
            OrderLine.id,
            OrderLine.sku_code,
            OrderLine.sku_name,
            OrderLine.unit,
            OrderLine.qty_shipped,
        )
        .where(OrderLine.order == order_id)
        .order_by(OrderLine.id)
    )
    return [
        ReturnableLine(
            order_line_id=ln["id"],
            sku_code=ln["sku_code"],
            sku_name=ln["sku_name"],
            unit=ln["unit"],
            shipped=ln["qty_shipped"],
            returnable=left.get(ln["id"], 0),
        )
        for ln in lines
        if ln["qty_shipped"]
    ]


async def returnable(order_id: int) -> dict[int, int]:
    """Per order line: shipped less what is already asked back (rejected requests excepted)."""
    lines = await OrderLine.select(OrderLine.id, OrderLine.qty_shipped).where(
        OrderLine.order == order_id
    )
    asked: dict[int, int] = defaultdict(int)
    if lines:
        for r in await ReturnLine.select(
            ReturnLine.order_line,
            ReturnLine.qty,
            ReturnLine.qty_accepted,
            ReturnLine.return_request.status.as_alias("status"),
        ).where(ReturnLine.order_line.is_in([ln["id"] for ln in lines])):
            if r["status"] == "rejected":
                continue
            asked[r["order_line"]] += r["qty_accepted"] if r["status"] == "received" else r["qty"]
    return {ln["id"]: max(0, ln["qty_shipped"] - asked[ln["id"]]) for ln in lines}


async def request_return(
    actor: Actor,
    order_id: int,
    *,
    quantities: Mapping[object, object],
    reason: str,
    uploads: Sequence[photos.Upload] = (),
    now: datetime | None = None,
    _key: tuple[str, str] | None = None,
) -> ReturnView:
    """The dealer asks to return shipped quantities of an order, with a reason and photos.

    A photo that is refused refuses the whole request: nothing is written. `_key` (key,
    body hash) is claimed inside the transaction by `request_return_once`.
    """
    now = now or datetime.now(UTC)
    if not actor.is_dealer:
        raise Forbidden(_("Only the dealer asks for a return."))
    ids = await visible_dealer_ids(actor)
    order = (
        await Order.select(Order.id, Order.number, Order.dealer, Order.status)
        .where(Order.id == order_id)
        .where(in_scope(Order.dealer, ids))
        .first()
    )
    if order is None:
        raise NotFound(_("Order not found."))
    errors: list[FieldError] = []
    reason = _text(reason, "reason", errors)
    if not reason:
        errors.append(FieldError("reason", _("Say why the goods come back.")))
    before = len(errors)
    parsed = parse_line_quantities(quantities, errors)
    # Every refusal at once (a phone user fixes them in one go), but no "enter a quantity"
    # when a quantity was entered and is wrong.
    if len(errors) == before and not any(parsed.values()):
        errors.append(FieldError("lines", _("Enter a quantity for at least one line.")))
    pictures = await _check_photos(uploads, MAX_PHOTOS, errors) if uploads else []
    if errors:
        raise ValidationFailed(errors=errors)
    if order["status"] not in RETURNABLE_ORDER_STATUSES:
        raise Conflict(_("Only shipped goods can be returned."))
    async with write_transaction():
        key_row = await claim_fulfilment_key(actor, *_key, now) if _key else None
        await ledger.lock_dealer(order["dealer"])
        left = await returnable(order_id)
        skus = {
            r["id"]: r
            for r in await OrderLine.select(OrderLine.id, OrderLine.sku, OrderLine.sku_code).where(
                OrderLine.order == order_id
            )
        }
        for line_id, qty in parsed.items():
            if line_id not in left:
                errors.append(FieldError(f"qty[{line_id}]", _("Unknown order line.")))
            elif qty > left[line_id]:
                errors.append(
                    FieldError(
                        f"qty[{line_id}]",
                        _("%(sku)s: %(qty)s entered, at most %(left)s can be returned."),
                        {"sku": skus[line_id]["sku_code"], "qty": qty, "left": left[line_id]},
                    )
                )
        if errors:
            raise ValidationFailed(errors=errors)
        count = await ReturnRequest.count().where(ReturnRequest.order == order_id)
        rma = ReturnRequest(
            number=f"R{order['number'][2:]}-{count + 1}",
            order=order_id,
            dealer=order["dealer"],
            status="requested",
            reason=reason,
            created_by=actor.user_id,
            created_at=now,
        )
        await ReturnRequest.insert(rma)
        await ReturnLine.insert(
            *[
                ReturnLine(
                    return_request=rma.id, order_line=line_id, sku=skus[line_id]["sku"], qty=qty
                )
                for line_id, qty in sorted(parsed.items())
                if qty
            ]
        )
        await _insert_photos(actor, rma.id, pictures, now)
        if key_row is not None:
            await FulfilmentKey.update({FulfilmentKey.return_request: rma.id}).where(
                FulfilmentKey.id == key_row.id
            )
        await note_on_order(
            order_id, "return_requested", actor=actor, now=now, note=f"{rma.number}\n{reason}"
        )
        await notifications.tell_return(
            order_id, "return_requested", actor=actor, now=now, note=f"{rma.number}\n{reason}"
        )
        await audit.record(
            actor,
            "return.requested",
            "return",
            rma.id,
            {},
            {
                "number": rma.number,
                "lines": {str(k): v for k, v in parsed.items() if v},
                "photos": len(pictures),
            },
            now=now,
        )
    return await get_return(actor, rma.id)


def _return_hash(order_id: int, quantities: Mapping[object, object], reason: str) -> str:
    body = {
        "order": order_id,
        "lines": sorted((str(k), str(v)) for k, v in quantities.items()),
        "reason": (reason or "").strip(),
    }
    return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()


async def _replay_return(actor: Actor, key: str, body_hash: str) -> ReturnView | None:
    refusal = _("This idempotency key was already used for a different return.")
    return_id = await first_result(actor, key, body_hash, "return_request", refusal)
    return None if return_id is None else await get_return(actor, return_id)


async def request_return_once(
    actor: Actor,
    order_id: int,
    *,
    quantities: Mapping[object, object],
    reason: str,
    idempotency_key: str,
    now: datetime | None = None,
    uploads: Sequence[photos.Upload] = (),
) -> tuple[ReturnView, bool]:
    """`request_return` with an idempotency key (the API, and the page's form): the same key
    and body again give the first return and False; the same key with another body is a
    Conflict."""
    key = check_key(idempotency_key)
    body_hash = _return_hash(order_id, quantities, reason)
    replay = await _replay_return(actor, key, body_hash)
    if replay is not None:
        return replay, False
    try:
        view = await request_return(
            actor,
            order_id,
            quantities=quantities,
            reason=reason,
            now=now,
            uploads=uploads,
            _key=(key, body_hash),
        )
    except KeyTaken:
        replay = await _replay_return(actor, key, body_hash)
        if replay is None:  # the twin rolled back after all
            raise Conflict(_("Please try again.")) from None
        return replay, False
    return view, True


async def decide_return(
    actor: Actor,
    return_id: int,
    *,
    approve: bool,
    note: str = "",
    now: datetime | None = None,
) -> ReturnView:
    """Staff approve or reject a requested return (a rejection needs a reason)."""
    now = now or datetime.now(UTC)
    if actor.role not in DECIDING_ROLES:
        raise Forbidden(_("Your role cannot decide on returns."))
    view = await get_return(actor, return_id)
    errors: list[FieldError] = []
    note = _text(note, "note", errors)
    if not approve and not note:
        errors.append(FieldError("note", _("Say why the return is rejected.")))
    if errors:
        raise ValidationFailed(errors=errors)
    status = "approved" if approve else "rejected"
    async with write_transaction():
        await ledger.lock_dealer(view.dealer_id)
        done = await ReturnRequest.raw(
            "UPDATE return_request SET status = {}, decided_by = {}, decided_at = {}, "
            "decision_note = {} WHERE id = {} AND status = 'requested' RETURNING id",
            status,
            actor.user_id,
            now,
            note,
            return_id,
        )
        if not done:
            raise Conflict(_("This return has already been decided."))
        await note_on_order(
            view.order_id, f"return_{status}", actor=actor, now=now, note=f"{view.number}\n{note}"
        )
        # The reason goes with the news (a refusal says why, as an order's does).
        await notifications.tell_return(
            view.order_id,
            f"return_{status}",
            actor=actor,
            now=now,
            note=f"{view.number}\n{note}" if note else view.number,
        )
        await audit.record(
            actor,
            f"return.{status}",
            "return",
            return_id,
            {"status": "requested"},
            {"status": status, "note": note},
            now=now,
        )
    return await get_return(actor, return_id)


async def _credit_fen(lines: dict[int, dict], accepted: dict[int, int]) -> int:
    """The credit for units accepted back, at the price each line was invoiced at.

    A line that carries a share of an order saving is credited slice by slice: these units
    come after those accepted back from it before, so the credits of a line never add up
    to more than it was invoiced at (promotions.units_value).
    """
    discounted = [
        k
        for k, ln in lines.items()
        if ln["line_total_fen"] != line_total_fen(ln["unit_price_fen"], ln["qty"])
    ]
    before: dict[int, int] = defaultdict(int)
    if discounted:
        rows = await ReturnLine.raw(
            "SELECT rl.order_line AS order_line, rl.qty_accepted AS qty FROM return_line rl "
            "JOIN return_request rr ON rr.id = rl.return_request "
            "WHERE rr.status = 'received' AND rl.order_line IN ("
            + ", ".join("{}" for _k in discounted)
            + ")",
            *discounted,
        )
        for row in rows:
            before[int(row["order_line"])] += int(row["qty"] or 0)
    return sum(
        promotions.units_value(
            lines[k]["unit_price_fen"],
            lines[k]["line_total_fen"],
            lines[k]["qty"],
            before[k],
            before[k] + qty,
        )
        for k, qty in accepted.items()
    )


async def receive_return(
    actor: Actor,
    return_id: int,
    *,
    warehouse_id: int,
    accepted: Mapping[object, object],
    note: str = "",
    now: datetime | None = None,
) -> ReturnView:
    """The warehouse receives an approved return and says what it accepts after inspection.

    Accepted quantities go back on hand at the warehouse; their value at the order's prices
    is credited to the dealer (a credit note), in the same transaction.
    """
    now = now or datetime.now(UTC)
    if actor.role not in RECEIVING_ROLES:
        raise Forbidden(_("Only warehouse staff may do this."))
    view = await get_return(actor, return_id)
    errors: list[FieldError] = []
    note = _text(note, "note", errors)
    parsed = parse_line_quantities(accepted, errors)
    asked = {ln.order_line_id: ln.qty for ln in view.lines}
    for line_id, qty in parsed.items():
        if line_id not in asked:
            errors.append(FieldError(f"qty[{line_id}]", _("Unknown order line.")))
        elif qty > asked[line_id]:
            errors.append(
                FieldError(
                    f"qty[{line_id}]",
                    _("At most %(max)s came back on this line."),
                    {"max": asked[line_id]},
                )
            )
    if asked and not any(parsed.get(line_id, 0) for line_id in asked) and not note:
        # Nothing accepted: the dealer is owed no credit and must be told why.
        errors.append(FieldError("note", _("Say why nothing was accepted.")))
    for line_id in asked:
        if line_id not in parsed:
            # A line left out is not "nothing accepted" by default: the inspection says so.
            errors.append(
                FieldError(
                    f"qty[{line_id}]", _("Say how much of this line was accepted: 0 if none.")
                )
            )
    if warehouse_id not in {w["id"] for w in await working_warehouses(actor)}:
        errors.append(FieldError("warehouse", _("Choose a warehouse.")))
    if errors:
        raise ValidationFailed(errors=errors)
    prices = {
        r["id"]: r
        for r in await OrderLine.select(
            OrderLine.id, OrderLine.unit_price_fen, OrderLine.line_total_fen, OrderLine.qty
        ).where(OrderLine.id.is_in(list(asked) or [-1]))
    }
    skus = {ln.order_line_id: ln.sku_id for ln in view.lines}
    async with write_transaction():
        dealer = await ledger.lock_dealer(view.dealer_id)
        # Under the dealer lock, so returns received at once of one line see each other.
        credit = await _credit_fen(prices, {k: parsed.get(k, 0) for k in asked})
        done = await ReturnRequest.raw(
            "UPDATE return_request SET status = 'received', received_by = {}, received_at = {}, "
            "warehouse = {}, inspection_note = {}, credit_fen = {} "
            "WHERE id = {} AND status = 'approved' RETURNING id",
            actor.user_id,
            now,
            warehouse_id,
            note,
            credit,
            return_id,
        )
        if not done:
            raise Conflict(_("Only an approved return can be received."))
        back: dict[int, int] = defaultdict(int)
        for line_id, qty in sorted(parsed.items()):
            await ReturnLine.update({ReturnLine.qty_accepted: qty}).where(
                (ReturnLine.return_request == return_id) & (ReturnLine.order_line == line_id)
            )
            if qty:
                back[skus[line_id]] += qty
        # Stock rows in id order first; goods back on hand go to the oldest backorders first.
        from portal.domain.stock import fill_backorders, lock_stock_rows

        if back:  # everything refused at inspection: no stock comes back
            await lock_stock_rows(sorted(back))
        for sku_id in sorted(back):
            await StockLevel.raw(
                "INSERT INTO stock_level (warehouse, sku, on_hand, reserved) "
                "VALUES ({}, {}, 0, 0) ON CONFLICT (warehouse, sku) DO NOTHING",
                warehouse_id,
                sku_id,
            )
            await StockLevel.raw(
                "UPDATE stock_level SET on_hand = on_hand + {} WHERE warehouse = {} AND sku = {}",
                back[sku_id],
                warehouse_id,
                sku_id,
            )
        if back:
            await fill_backorders(sorted(back), actor=actor, now=now)
        if credit:
            await ledger.post(
                dealer,
                "credit_note",
                -credit,
                actor=actor,
                now=now,
                ref_type="return",
                ref_id=return_id,
                note=view.number,
            )
        await note_on_order(
            view.order_id, "return_received", actor=actor, now=now, note=f"{view.number}\n{note}"
        )
        await notifications.tell_return(
            view.order_id,
            "return_received" if credit else "return_received_none",
            actor=actor,
            now=now,
            # What was credited, and the inspection's note where there is one.
            note="\n".join(
                part
                for part in (
                    view.number,
                    format_yuan(credit) if credit else "",
                    note,
                )
                if part
            ),
        )
        await audit.record(
            actor,
            "return.received",
            "return",
            return_id,
            {"status": "approved", "dealer_balance_fen": dealer["balance_fen"]},
            {
                "status": "received",
                "warehouse_id": warehouse_id,
                "accepted": {str(k): v for k, v in parsed.items()},
                "credit_fen": credit,
                "dealer_balance_fen": dealer["balance_fen"] - credit,
            },
            now=now,
        )
    return await get_return(actor, return_id)
