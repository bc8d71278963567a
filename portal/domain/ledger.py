"""The dealer ledger (应收账): invoices, payments, credit notes; balances, overdue, statements.

dealer.balance_fen is the sum of the dealer's ledger entries, always. Every entry is
written by `post()` inside the use case's transaction, which moves balance_fen by the same
amount in the same statement sequence.

Opening balances: the demo and the factories set dealer.balance_fen directly, without an
entry. The ledger writes an "opening" entry for the difference lazily, the first time it
posts anything for a dealer (under the dealer lock), and reads treat a dealer without
entries as one opening entry of its balance. So sum(entries) == balance_fen holds for
every dealer the ledger has touched, and every statement adds up.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from portal.db import current_engine, is_sqlite, write_transaction
from portal.domain import audit
from portal.domain.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
    _,
)
from portal.domain.idempotency import KeyTaken as _KeyTaken
from portal.domain.idempotency import check_key, claim_fulfilment_key, first_result
from portal.domain.money import amount_fen, parse_amount, percent_bp, to_fen
from portal.domain.scope import Actor, dealer_in_scope
from portal.domain.text import visible
from portal.tables import Dealer, FulfilmentKey, LedgerEntry

KINDS = ("opening", "invoice", "payment", "prepayment", "credit_note", "reversal")
# What finance may reverse (a mistyped payment, a credit note in error): money it entered by
# hand. Invoices come from shipments and a return's credit note from its receipt: those are
# corrected where they come from.
REVERSIBLE = ("payment", "prepayment", "credit_note")
KIND_LABELS = {
    # A balance carried in from before the portal; "Opening balance" is a statement's own
    # first line (what was owed when its period began).
    "opening": _("Balance brought forward"),
    "invoice": _("Invoice"),
    "payment": _("Payment"),
    "prepayment": _("Prepayment"),
    "credit_note": _("Credit note"),
    # Cancels a payment or credit note entered in error: the same amount the other way.
    "reversal": _("Reversal"),
}
PAYMENT_METHODS = ("bank", "cash", "cheque", "other")
PAYMENT_METHOD_LABELS = {
    "bank": _("Bank transfer"),
    "cash": _("Cash"),
    "cheque": _("Cheque"),
    "other": _("Other"),
}
# What overdue invoices (unpaid past the payment terms) do to a dealer's new orders.
OVERDUE_POLICIES = ("warn", "block")
OVERDUE_POLICY_LABELS = {
    "warn": _("Flag overdue invoices only"),
    "block": _("Block new orders while anything is overdue"),
}
# What an order past the credit limit (and its tolerance) does: refused, or sent to finance.
OVER_CREDIT_POLICIES = ("block", "approval")
OVER_CREDIT_POLICY_LABELS = {
    "block": _("Refuse orders over the credit limit"),
    "approval": _("Send orders over the credit limit to finance for approval"),
}
FINANCE_ROLES = frozenset({"finance", "admin"})
MAX_AMOUNT_FEN = 10**13  # ¥100 billion: anything above is a typing mistake
MAX_TERMS_DAYS = 365
# A payment's value date (the day the money arrived) lies in this window around today: a few
# days ahead for a transfer announced before it lands, up to a year back for a late booking.
# Outside it the date is a typing mistake (2099, 1900) that would misdate the statement.
VALUE_DATE_DAYS_AHEAD = 7
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


async def lock_dealer(dealer_id: int) -> dict:
    """The dealer row, locked for the rest of the transaction (the first lock a use case takes)."""
    query = Dealer.select().where(Dealer.id == dealer_id)
    if not is_sqlite(current_engine()):
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise NotFound(_("Dealer not found."))
    return row


async def _ensure_opening(dealer: dict, actor: Actor | None, now: datetime) -> None:
    """Write the dealer's opening entry if balance_fen was set without the ledger."""
    rows = await LedgerEntry.raw(
        "SELECT COALESCE(SUM(amount_fen), 0) AS total, COUNT(*) AS n "
        "FROM ledger_entry WHERE dealer = {}",
        dealer["id"],
    )
    total, count = int(rows[0]["total"]), int(rows[0]["n"])
    gap = int(dealer["balance_fen"] or 0) - total
    if count == 0 and gap != 0:
        await LedgerEntry.insert(
            LedgerEntry(
                dealer=dealer["id"],
                kind="opening",
                amount_fen=gap,
                # Dated when the dealer was set up, so it comes before everything it precedes.
                at=min(dealer.get("created_at") or now, now),
                actor=actor.user_id if actor else None,
                note="",
            )
        )


async def post(
    dealer: dict,
    kind: str,
    amount_fen: int,
    *,
    actor: Actor | None,
    now: datetime,
    ref_type: str = "",
    ref_id: int | None = None,
    due_on: date | None = None,
    method: str = "",
    reference: str = "",
    value_date: date | None = None,
    note: str = "",
    open_orders_delta_fen: int = 0,
) -> int:
    """Write one entry and move balance_fen by it; inside the caller's transaction.

    `dealer` is the locked dealer row. An invoice also moves the value out of open orders
    (`open_orders_delta_fen`), so the dealer's exposure stays the same. Returns the entry id.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    await _ensure_opening(dealer, actor, now)
    entry = LedgerEntry(
        dealer=dealer["id"],
        kind=kind,
        amount_fen=amount_fen,
        ref_type=ref_type,
        ref_id=ref_id,
        due_on=due_on,
        method=method,
        reference=reference,
        value_date=value_date,
        at=now,
        actor=actor.user_id if actor else None,
        note=note,
    )
    await LedgerEntry.insert(entry)
    await Dealer.raw(
        "UPDATE dealer SET balance_fen = balance_fen + {}, "
        "open_orders_fen = open_orders_fen + {} WHERE id = {}",
        amount_fen,
        open_orders_delta_fen,
        dealer["id"],
    )
    return entry.id


def due_date(dealer: dict, at: datetime) -> date:
    return local_day(at) + timedelta(days=int(dealer.get("payment_terms_days") or 0))


# --- finance use cases ------------------------------------------------------------------


def _require_finance(actor: Actor) -> None:
    if actor.role not in FINANCE_ROLES:
        raise Forbidden(_("Only finance may do this."))


def _amount(text: str | Decimal | int, field_name: str = "amount") -> int:
    """A positive amount in fen from what was typed; ValidationFailed with the field otherwise."""
    try:
        value = text if isinstance(text, Decimal) else parse_amount(str(text))
    except ValueError:
        raise ValidationFailed(
            errors=[FieldError(field_name, _credit_amount_problem(str(text)))]
        ) from None
    fen = to_fen(value)
    if fen <= 0:
        raise ValidationFailed(
            errors=[FieldError(field_name, _("The amount must be more than zero."))]
        )
    if fen > MAX_AMOUNT_FEN:
        raise ValidationFailed(errors=[FieldError(field_name, _("The amount is too large."))])
    return fen


def _text(value: str, field_name: str, max_len: int) -> str:
    value = visible(value)
    if len(value) > max_len:
        raise ValidationFailed(
            errors=[
                FieldError(
                    field_name,
                    _("Too long (at most %(max)s characters)."),
                    {"max": max_len},
                )
            ]
        )
    return value


@dataclass
class EntryView:
    id: int
    kind: str
    amount_fen: int
    at: datetime
    ref_type: str
    ref_id: int | None
    due_on: date | None
    method: str
    reference: str
    value_date: date | None
    note: str
    actor_name: str = ""
    balance_fen: int = 0  # running balance after this entry
    overdue: bool = False
    open_fen: int = 0  # invoices: what is still unpaid
    replayed: bool = False  # an idempotent retry returned the first entry

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


async def record_payment(
    actor: Actor,
    dealer_id: int,
    *,
    amount: str | Decimal,
    method: str,
    reference: str = "",
    value_date: date | None = None,
    note: str = "",
    prepayment: bool = False,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> EntryView:
    """Finance records money received from a dealer: a payment (or prepayment) entry.

    With an idempotency key, a retry with the same body returns the first entry; the same
    key with another body is a Conflict.
    """
    now = now or datetime.now(UTC)
    _require_finance(actor)
    await dealer_in_scope(actor, dealer_id)
    errors: list[FieldError] = []
    fen = 0
    try:
        fen = _amount(amount)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if method not in PAYMENT_METHODS:
        errors.append(FieldError("method", _("Choose how the dealer paid.")))
    try:
        reference = _text(reference, "reference", 60)
        note = _text(note, "note", 500)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if value_date is not None and (problem := value_date_problem(value_date, now)) is not None:
        errors.append(problem)
    if errors:
        raise ValidationFailed(errors=errors)
    kind = "prepayment" if prepayment else "payment"
    key, body_hash = None, ""
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        body_hash = hashlib.sha256(
            json.dumps([dealer_id, fen, method, reference, str(value_date), note, kind]).encode()
        ).hexdigest()
        replay = await _replay_payment(actor, key, body_hash)
        if replay is not None:
            return replay
    try:
        entry_id = await _record_payment(
            actor, dealer_id, fen, kind, method, reference, value_date, note, key, body_hash, now
        )
    except _KeyTaken:
        replay = await _replay_payment(actor, key or "", body_hash)
        if replay is None:
            raise Conflict(_("Please try again.")) from None
        return replay
    return await _entry(entry_id)


def value_date_window(now: datetime) -> tuple[date, date]:
    """The earliest and latest value date a payment recorded at `now` may have (Shanghai days)."""
    today = local_day(now)
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago, today + timedelta(days=VALUE_DATE_DAYS_AHEAD)


def value_date_problem(value_date: date, now: datetime) -> FieldError | None:
    """Why a payment's value date is refused (outside value_date_window), or None."""
    earliest, latest = value_date_window(now)
    if earliest <= value_date <= latest:
        return None
    return FieldError(
        "value_date",
        _("Enter a value date from %(earliest)s to %(latest)s."),
        {"earliest": earliest.isoformat(), "latest": latest.isoformat()},
    )


async def _replay_payment(actor: Actor, key: str, body_hash: str) -> EntryView | None:
    entry_id = await first_result(actor, key, body_hash, "ledger_entry")
    if entry_id is None:
        return None
    entry = await _entry(entry_id)
    entry.replayed = True
    return entry


async def _record_payment(
    actor: Actor,
    dealer_id: int,
    fen: int,
    kind: str,
    method: str,
    reference: str,
    value_date: date | None,
    note: str,
    key: str | None,
    body_hash: str,
    now: datetime,
) -> int:
    async with write_transaction():
        key_row = await claim_fulfilment_key(actor, key, body_hash, now)
        dealer = await lock_dealer(dealer_id)
        entry_id = await post(
            dealer,
            kind,
            -fen,
            actor=actor,
            now=now,
            ref_type="payment",
            method=method,
            reference=reference,
            value_date=value_date or local_day(now),
            note=note,
        )
        await audit.record(
            actor,
            f"ledger.{kind}",
            "dealer",
            dealer_id,
            {"balance_fen": dealer["balance_fen"]},
            {
                "balance_fen": dealer["balance_fen"] - fen,
                "amount_fen": fen,
                "method": method,
                "reference": reference,
                "entry_id": entry_id,
            },
            now=now,
        )
        if key_row is not None:
            await FulfilmentKey.update({FulfilmentKey.ledger_entry: entry_id}).where(
                FulfilmentKey.id == key_row.id
            )
    return entry_id


async def record_credit_note(
    actor: Actor,
    dealer_id: int,
    *,
    amount: str | Decimal,
    note: str,
    ref_type: str = "",
    ref_id: int | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> EntryView:
    """Finance credits a dealer (a price correction, a goodwill gesture): a credit note.

    With an idempotency key, a retry with the same body returns the first entry; the same
    key with another body is a Conflict.
    """
    now = now or datetime.now(UTC)
    _require_finance(actor)
    await dealer_in_scope(actor, dealer_id)
    fen = _amount(amount)
    note = _text(note, "note", 500)
    if not note:
        raise ValidationFailed(errors=[FieldError("note", _("Say why the dealer is credited."))])
    key, body_hash = None, ""
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        body_hash = hashlib.sha256(
            json.dumps([dealer_id, fen, note, "credit_note", ref_type, ref_id]).encode()
        ).hexdigest()
        replay = await _replay_payment(actor, key, body_hash)
        if replay is not None:
            return replay
    try:
        entry_id = await _record_credit_note(
            actor, dealer_id, fen, note, ref_type, ref_id, key, body_hash, now
        )
    except _KeyTaken:
        replay = await _replay_payment(actor, key or "", body_hash)
        if replay is None:
            raise Conflict(_("Please try again.")) from None
        return replay
    return await _entry(entry_id)


async def _record_credit_note(
    actor: Actor,
    dealer_id: int,
    fen: int,
    note: str,
    ref_type: str,
    ref_id: int | None,
    key: str | None,
    body_hash: str,
    now: datetime,
) -> int:
    async with write_transaction():
        key_row = await claim_fulfilment_key(actor, key, body_hash, now)
        dealer = await lock_dealer(dealer_id)
        entry_id = await post(
            dealer,
            "credit_note",
            -fen,
            actor=actor,
            now=now,
            ref_type=ref_type,
            ref_id=ref_id,
            note=note,
        )
        await audit.record(
            actor,
            "ledger.credit_note",
            "dealer",
            dealer_id,
            {"balance_fen": dealer["balance_fen"]},
            {"balance_fen": dealer["balance_fen"] - fen, "amount_fen": fen, "note": note},
            now=now,
        )
        if key_row is not None:
            await FulfilmentKey.update({FulfilmentKey.ledger_entry: entry_id}).where(
                FulfilmentKey.id == key_row.id
            )
    return entry_id


async def reversible_entries(actor: Actor, dealer_id: int, *, limit: int = 30) -> list[EntryView]:
    """The dealer's payments, prepayments and credit notes finance may still reverse (not
    reversed yet, not a return's credit), newest first."""
    _require_finance(actor)
    await dealer_in_scope(actor, dealer_id)
    rows = await (
        LedgerEntry.select(*_COLUMNS)
        .where(
            (LedgerEntry.dealer == dealer_id)
            & LedgerEntry.kind.is_in(list(REVERSIBLE))
            & (LedgerEntry.ref_type != "return")
            & LedgerEntry.id.not_in(
                LedgerEntry.select(LedgerEntry.ref_id).where(
                    (LedgerEntry.kind == "reversal") & (LedgerEntry.dealer == dealer_id)
                )
            )
        )
        .order_by(LedgerEntry.at, ascending=False)
        .order_by(LedgerEntry.id, ascending=False)
        .limit(limit)
    )
    return [_view(r) for r in rows]


async def reverse_entry(
    actor: Actor,
    dealer_id: int,
    entry_id: int,
    *,
    reason: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> EntryView:
    """Take back a payment, prepayment or credit note entered in error (a bank reference
    typed as the amount): a reversal entry of the same amount the other way, so the ledger
    keeps both and says why; audited. Only finance and administrators; an entry of another
    dealer is NotFound; one already reversed, a return's credit note, an invoice or a
    reversal is a Conflict. What the dealer owes rises by the amount: no credit check, for
    this corrects the account, it orders nothing. Idempotent with a key."""
    now = now or datetime.now(UTC)
    _require_finance(actor)
    await dealer_in_scope(actor, dealer_id)
    reason = _text(reason, "reason", 500)
    if not reason:
        raise ValidationFailed(errors=[FieldError("reason", _("Say why it is reversed."))])
    original = (
        await LedgerEntry.select(*_COLUMNS)
        .where((LedgerEntry.id == entry_id) & (LedgerEntry.dealer == dealer_id))
        .first()
    )
    if original is None:
        raise NotFound(_("Entry not found."))
    key, body_hash = None, ""
    if idempotency_key is not None:
        key = check_key(idempotency_key)
        body_hash = hashlib.sha256(
            json.dumps([dealer_id, entry_id, reason, "reversal"]).encode()
        ).hexdigest()
        replay = await _replay_payment(actor, key, body_hash)
        if replay is not None:
            return replay
    try:
        new_id = await _reverse(actor, dealer_id, original, reason, key, body_hash, now)
    except _KeyTaken:
        replay = await _replay_payment(actor, key or "", body_hash)
        if replay is None:
            raise Conflict(_("Please try again.")) from None
        return replay
    return await _entry(new_id)


async def _reverse(
    actor: Actor,
    dealer_id: int,
    original: dict,
    reason: str,
    key: str | None,
    body_hash: str,
    now: datetime,
) -> int:
    if original["kind"] not in REVERSIBLE or original["ref_type"] == "return":
        raise Conflict(
            _("Only a payment or a credit note entered by hand can be reversed."),
            extra={"entry_kind": original["kind"]},
        )
    async with write_transaction():
        key_row = await claim_fulfilment_key(actor, key, body_hash, now)
        dealer = await lock_dealer(dealer_id)  # reversals of one dealer wait on each other
        if await LedgerEntry.exists().where(
            (LedgerEntry.kind == "reversal") & (LedgerEntry.ref_id == original["id"])
        ):
            raise Conflict(_("This entry was reversed already."))
        amount = -int(original["amount_fen"])
        entry_id = await post(
            dealer,
            "reversal",
            amount,
            actor=actor,
            now=now,
            ref_type="ledger_entry",
            ref_id=original["id"],
            reference=original["reference"] or "",
            note=reason,
        )
        await audit.record(
            actor,
            "ledger.reversed",
            "dealer",
            dealer_id,
            {"balance_fen": dealer["balance_fen"]},
            {
                "balance_fen": int(dealer["balance_fen"]) + amount,
                "reversed_entry": original["id"],
                "reversed_kind": original["kind"],
                "amount_fen": amount,
                "reason": reason,
            },
            now=now,
        )
        if key_row is not None:
            await FulfilmentKey.update({FulfilmentKey.ledger_entry: entry_id}).where(
                FulfilmentKey.id == key_row.id
            )
    return entry_id


def tolerance_bp(text: str) -> int | None:
    """A tolerance percentage as typed ("5", "2.5", "5%", "" for none) in basis points."""
    return percent_bp(str(text).strip() or "0", zero_ok=True)


def _credit_amount_fen(value: str | Decimal, *, blank_is_zero: bool = False) -> int | None:
    """An amount of credit in fen, 0 to MAX_AMOUNT_FEN, or None when it is not one."""
    if blank_is_zero and not str(value).strip():
        return 0
    fen = amount_fen(value)
    return fen if fen is not None and fen <= MAX_AMOUNT_FEN else None


def _credit_amount_problem(value: str | Decimal) -> str:
    """Why _credit_amount_fen refused a typed amount: negative, too large, or not an amount."""
    try:
        negative = parse_amount(str(value)) < 0
    except ValueError:
        digits = str(value).strip().lstrip("¥￥").strip()
        if re.fullmatch(r"\d{16,}(\.\d{1,2})?", digits):
            return _("The amount is too large.")
        return _("Enter an amount such as 1234.50.")
    return _("The amount cannot be negative.") if negative else _("The amount is too large.")


def tolerance_fields(
    amount: str | Decimal | None,
    percent: str | None,
    fields: tuple[str, str],
    errors: list[FieldError],
) -> tuple[int | None, int | None]:
    """A tolerance over a credit limit as typed (yuan, percent; blank for none) in fen and
    basis points; a field error (named by `fields`) for each that is not one. None in, None
    out (left unchanged)."""
    fen = bp = None
    if amount is not None:
        fen = _credit_amount_fen(amount, blank_is_zero=True)
        if fen is None:
            errors.append(FieldError(fields[0], _credit_amount_problem(amount)))
    if percent is not None:
        bp = tolerance_bp(percent)
        if bp is None:
            errors.append(
                FieldError(fields[1], _("Enter a percentage from 0 to 100, such as 5 or 2.5."))
            )
    return fen, bp


# The dealer's credit settings set_credit_terms writes (and audits, before and after).
CREDIT_TERMS = (
    "credit_limit_fen",
    "payment_terms_days",
    "overdue_policy",
    "over_credit_policy",
    "credit_tolerance_fen",
    "credit_tolerance_bp",
)


async def set_credit_terms(
    actor: Actor,
    dealer_id: int,
    *,
    credit_limit: str | Decimal | None = None,
    payment_terms_days: str | int | None = None,
    overdue_policy: str | None = None,
    over_credit_policy: str | None = None,
    tolerance_amount: str | Decimal | None = None,
    tolerance_percent: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Finance sets a dealer's credit limit, payment terms, overdue policy, over-credit policy
    and tolerance over the limit (audited, before and after).

    The tolerance is an amount (tolerance_amount, in yuan) and a percentage of the limit
    (tolerance_percent); the greater of the two applies (portal.domain.credit). A blank one
    is none. Each setting left None keeps the dealer's current one, so changing the limit
    alone does not restate the terms; with every one None there is nothing to change, which
    is refused (ValidationFailed). Nothing is written unless every field is valid. Returns
    the dealer.
    """
    now = now or datetime.now(UTC)
    _require_finance(actor)
    await dealer_in_scope(actor, dealer_id)
    given = (
        credit_limit,
        payment_terms_days,
        overdue_policy,
        over_credit_policy,
        tolerance_amount,
        tolerance_percent,
    )
    if all(value is None for value in given):
        raise ValidationFailed(_("Nothing to change: send at least one credit setting."))
    errors: list[FieldError] = []
    changes: dict[str, Any] = {}
    if credit_limit is not None:
        limit_fen = _credit_amount_fen(credit_limit)
        if limit_fen is None:
            errors.append(FieldError("credit_limit", _credit_amount_problem(credit_limit)))
        changes["credit_limit_fen"] = limit_fen
    if payment_terms_days is not None:
        try:
            days = int(str(payment_terms_days).strip())
            if not 0 <= days <= MAX_TERMS_DAYS:
                raise ValueError(payment_terms_days)
            changes["payment_terms_days"] = days
        except ValueError:
            errors.append(
                FieldError(
                    "payment_terms_days",
                    _("Enter a number of days from 0 to %(max)s."),
                    {"max": MAX_TERMS_DAYS},
                )
            )
    if overdue_policy is not None:
        changes["overdue_policy"] = str(overdue_policy).strip()
        if changes["overdue_policy"] not in OVERDUE_POLICIES:
            errors.append(
                FieldError("overdue_policy", _("Choose what overdue invoices do to new orders."))
            )
    if over_credit_policy is not None:
        changes["over_credit_policy"] = str(over_credit_policy).strip()
        if changes["over_credit_policy"] not in OVER_CREDIT_POLICIES:
            errors.append(
                FieldError(
                    "over_credit_policy", _("Choose what happens to orders over the credit limit.")
                )
            )
    fen, bp = tolerance_fields(
        tolerance_amount, tolerance_percent, ("tolerance_amount", "tolerance_percent"), errors
    )
    if tolerance_amount is not None:
        changes["credit_tolerance_fen"] = fen
    if tolerance_percent is not None:
        changes["credit_tolerance_bp"] = bp
    if errors:
        raise ValidationFailed(errors=errors)
    async with write_transaction():
        dealer = await lock_dealer(dealer_id)
        before = {name: dealer.get(name) for name in CREDIT_TERMS}
        before["overdue_policy"] = before["overdue_policy"] or "warn"
        before["over_credit_policy"] = before["over_credit_policy"] or "block"
        after = {**before, **changes}
        await Dealer.update({getattr(Dealer, name): after[name] for name in changes}).where(
            Dealer.id == dealer_id
        )
        await audit.record(
            actor, "dealer.credit_terms", "dealer", dealer_id, before, after, now=now
        )
    return await Dealer.select().where(Dealer.id == dealer_id).first()


# --- reading ----------------------------------------------------------------------------


def _view(row: dict) -> EntryView:
    return EntryView(
        id=row["id"],
        kind=row["kind"],
        amount_fen=int(row["amount_fen"]),
        at=row["at"],
        ref_type=row["ref_type"] or "",
        ref_id=row["ref_id"],
        due_on=row["due_on"],
        method=row["method"] or "",
        reference=row["reference"] or "",
        value_date=row["value_date"],
        note=row["note"] or "",
        actor_name=row.get("actor_name") or "",
    )


_COLUMNS = (
    LedgerEntry.id,
    LedgerEntry.kind,
    LedgerEntry.amount_fen,
    LedgerEntry.at,
    LedgerEntry.ref_type,
    LedgerEntry.ref_id,
    LedgerEntry.due_on,
    LedgerEntry.method,
    LedgerEntry.reference,
    LedgerEntry.value_date,
    LedgerEntry.note,
    LedgerEntry.actor.display_name.as_alias("actor_name"),
)


async def _entry(entry_id: int) -> EntryView:
    """One entry with the dealer's balance after it (entries run in (at, id) order, as on a
    statement), so a recorded payment reports where it left the dealer."""
    row = (
        await LedgerEntry.select(*_COLUMNS, LedgerEntry.dealer)
        .where(LedgerEntry.id == entry_id)
        .first()
    )
    view = _view(row)
    upto = await LedgerEntry.raw(
        "SELECT COALESCE(SUM(amount_fen), 0) AS total FROM ledger_entry "
        "WHERE dealer = {} AND (at < {} OR (at = {} AND id <= {}))",
        row["dealer"],
        row["at"],
        row["at"],
        entry_id,
    )
    view.balance_fen = int(upto[0]["total"])
    return view


async def _all_entries(dealer: dict) -> list[EntryView]:
    rows = (
        await LedgerEntry.select(*_COLUMNS)
        .where(LedgerEntry.dealer == dealer["id"])
        .order_by(LedgerEntry.at)
        .order_by(LedgerEntry.id)
    )
    entries = [_view(r) for r in rows]
    if not entries and int(dealer["balance_fen"] or 0) != 0:
        # Not yet touched by the ledger: its balance is its opening entry.
        entries = [
            EntryView(
                id=0,
                kind="opening",
                amount_fen=int(dealer["balance_fen"]),
                at=dealer["created_at"],
                ref_type="",
                ref_id=None,
                due_on=None,
                method="",
                reference="",
                value_date=None,
                note="",
            )
        ]
    return entries


def _settle(entries: list[EntryView], today: date) -> None:
    """Apply payments and credits to the oldest debts first (FIFO); flag overdue invoices.
    A reversal takes its payment or credit back out of what settles debts (it is no debt
    of its own)."""
    credit = -sum(e.amount_fen for e in entries if e.amount_fen < 0)
    credit -= sum(e.amount_fen for e in entries if e.kind == "reversal")
    running = 0
    for e in entries:
        running += e.amount_fen
        e.balance_fen = running
        if e.amount_fen > 0 and e.kind != "reversal":
            paid = min(credit, e.amount_fen)
            credit -= paid
            e.open_fen = e.amount_fen - paid
            e.overdue = bool(e.open_fen and e.due_on is not None and e.due_on < today)


@dataclass(frozen=True)
class StatementLine:
    """One printed line of a statement: the opening balance, an entry, or the closing balance."""

    day: date
    kind_label: str  # msgid
    reference: str
    note: str
    debit_fen: int | None  # raises what the dealer owes
    credit_fen: int | None  # lowers it
    balance_fen: int  # after this line


@dataclass
class Statement:
    """对账单: the dealer's account for a period."""

    dealer: dict
    start: date
    end: date
    opening_fen: int
    entries: list[EntryView]
    closing_fen: int
    invoiced_fen: int
    paid_fen: int
    credited_fen: int
    # A balance carried in from before the portal (an "opening" entry) dated in the period:
    # without it the summary would not add up to the closing balance.
    brought_fen: int
    overdue_fen: int
    overdue: list[EntryView] = field(default_factory=list)

    @property
    def overdue_policy(self) -> str:
        return self.dealer.get("overdue_policy") or "warn"

    @property
    def orders_blocked(self) -> bool:
        """New orders are refused now: the policy blocks and something is overdue."""
        return self.overdue_policy == "block" and self.overdue_fen > 0

    @property
    def debit_fen(self) -> int:
        """What the period added to the balance (invoices and any other debits)."""
        return sum(e.amount_fen for e in self.entries if e.amount_fen > 0)

    @property
    def credit_fen(self) -> int:
        """What the period took off the balance (payments, prepayments, credit notes)."""
        return -sum(e.amount_fen for e in self.entries if e.amount_fen < 0)

    def lines(self) -> list[StatementLine]:
        """Opening balance, each entry with the running balance, closing balance (with the
        period's debit and credit totals): what the PDF and the workbook print."""
        result = [
            StatementLine(self.start, _("Opening balance"), "", "", None, None, self.opening_fen)
        ]
        running = self.opening_fen
        for e in self.entries:
            running += e.amount_fen
            result.append(
                StatementLine(
                    local_day(e.at),
                    e.kind_label,
                    e.reference,
                    e.note,
                    e.amount_fen if e.amount_fen > 0 else None,
                    -e.amount_fen if e.amount_fen < 0 else None,
                    running,
                )
            )
        result.append(
            StatementLine(
                self.end,
                _("Closing balance"),
                "",
                "",
                self.debit_fen,
                self.credit_fen,
                self.closing_fen,
            )
        )
        return result


async def statement(
    actor: Actor,
    dealer_id: int,
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> Statement:
    """The dealer's statement for [start, end] (local days; default: this month so far).

    Visible to the dealer itself and to staff in scope; NotFound otherwise.
    """
    now = now or datetime.now(UTC)
    dealer = await dealer_in_scope(actor, dealer_id)
    today = local_day(now)
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        message = _("The start date must not be after the end date.")
        raise ValidationFailed(message, errors=[FieldError("start", message)])
    entries = await _all_entries(dealer)
    _settle(entries, today)
    before = [e for e in entries if local_day(e.at) < start]
    within = [e for e in entries if start <= local_day(e.at) <= end]
    opening = sum(e.amount_fen for e in before)
    overdue = [e for e in entries if e.overdue]
    reversed_kinds = {e.id: e.kind for e in entries if e.kind in REVERSIBLE}
    return Statement(
        dealer=dealer,
        start=start,
        end=end,
        opening_fen=opening,
        entries=within,
        closing_fen=opening + sum(e.amount_fen for e in within),
        invoiced_fen=sum(e.amount_fen for e in within if e.kind == "invoice"),
        # Net of reversals in the period, so the summary adds up to the closing balance.
        paid_fen=-sum(
            e.amount_fen
            for e in within
            if e.kind in ("payment", "prepayment")
            or (e.kind == "reversal" and reversed_kinds.get(e.ref_id) != "credit_note")
        ),
        credited_fen=-sum(
            e.amount_fen
            for e in within
            if e.kind == "credit_note"
            or (e.kind == "reversal" and reversed_kinds.get(e.ref_id) == "credit_note")
        ),
        brought_fen=sum(e.amount_fen for e in within if e.kind == "opening"),
        overdue_fen=sum(e.open_fen for e in overdue),
        overdue=overdue,
    )


async def overdue_fen(actor: Actor, dealer_id: int, *, now: datetime | None = None) -> int:
    """What the dealer owes past its payment terms (0 when nothing is overdue)."""
    now = now or datetime.now(UTC)
    dealer = await dealer_in_scope(actor, dealer_id)
    return await dealer_overdue_fen(dealer, now=now)


@dataclass(frozen=True)
class OverdueState:
    """What is overdue and what the dealer's policy makes of it (for a home page card)."""

    overdue_fen: int
    policy: str

    @property
    def orders_blocked(self) -> bool:
        return self.policy == "block" and self.overdue_fen > 0


async def overdue_state(
    actor: Actor, dealer_id: int, *, now: datetime | None = None
) -> OverdueState:
    """The dealer's overdue amount and policy; NotFound outside the actor's scope."""
    now = now or datetime.now(UTC)
    dealer = await dealer_in_scope(actor, dealer_id)
    return OverdueState(
        await dealer_overdue_fen(dealer, now=now), dealer.get("overdue_policy") or "warn"
    )


# Debts read per round trip by dealer_overdue_fen.
OVERDUE_PAGE = 50


async def dealer_overdue_fen(dealer: dict, *, now: datetime) -> int:
    """The overdue amount of a dealer row the caller already holds (scope checked by it);
    inside a use case, `dealer` is the locked row, so no payment can slip in between.

    The same figure _settle gives over the whole history, without reading it: payments and
    credits settle the oldest debts first, so what is still open is the newest debts adding
    up to the balance (balance_fen is the sum of the entries; a dealer without entries has
    only its opening balance, which is never due). They are read newest first, a page at a
    time, until the balance is covered: one short query for most dealers, however long
    their history.
    """
    open_left = int(dealer["balance_fen"] or 0)
    today = local_day(now)
    overdue = offset = 0
    while open_left > 0:
        rows = (
            await LedgerEntry.select(LedgerEntry.amount_fen, LedgerEntry.due_on)
            .where(
                (LedgerEntry.dealer == dealer["id"])
                & (LedgerEntry.amount_fen > 0)
                & (LedgerEntry.kind != "reversal")  # not a debt: a payment taken back
            )
            .order_by(LedgerEntry.at, LedgerEntry.id, ascending=False)
            .limit(OVERDUE_PAGE)
            .offset(offset)
        )
        for row in rows:
            still_open = min(int(row["amount_fen"]), open_left)
            open_left -= still_open
            if row["due_on"] is not None and row["due_on"] < today:
                overdue += still_open
            if open_left == 0:
                break
        if len(rows) < OVERDUE_PAGE:
            break
        offset += OVERDUE_PAGE
    return overdue


async def ledger_sum_fen(dealer_id: int) -> int:
    """The sum of the dealer's entries (for checks and tests)."""
    rows = await LedgerEntry.raw(
        "SELECT COALESCE(SUM(amount_fen), 0) AS total FROM ledger_entry WHERE dealer = {}",
        dealer_id,
    )
    return int(rows[0]["total"])


@dataclass
class DealerAccount:
    """One line of finance's dealer list."""

    dealer_id: int
    code: str
    name: str
    credit_limit_fen: int
    balance_fen: int
    open_orders_fen: int
    payment_terms_days: int
    overdue_fen: int
    overdue_policy: str = "warn"

    @property
    def orders_blocked(self) -> bool:
        return self.overdue_policy == "block" and self.overdue_fen > 0

    @property
    def available_fen(self) -> int:
        return self.credit_limit_fen - self.balance_fen - self.open_orders_fen


@dataclass
class AccountsPage:
    """One page of finance's dealer list."""

    items: list[DealerAccount]
    page: int
    per_page: int
    total: int  # dealers matching the search (and the overdue filter) on all pages

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_more(self) -> bool:
        return self.page < self.pages


ACCOUNTS_PER_PAGE = 20
MAX_ACCOUNTS_PER_PAGE = 100


async def dealer_accounts(
    actor: Actor,
    *,
    q: str = "",
    overdue_only: bool = False,
    page: int = 1,
    per_page: int = ACCOUNTS_PER_PAGE,
    now: datetime | None = None,
) -> AccountsPage:
    """Finance's list, by dealer code, searched by name or code: every dealer with limit,
    balance, open orders and what is overdue; one page of it.

    Entries for the listed dealers are read in one query (no query per dealer). With
    `overdue_only`, only dealers with an invoice past its due date are candidates (found in
    SQL); which of them still owe it after payments is worked out on their entries.
    """
    now = now or datetime.now(UTC)
    _require_finance(actor)
    page = max(1, int(page))
    per_page = min(max(1, int(per_page)), MAX_ACCOUNTS_PER_PAGE)
    today = local_day(now)
    where = Dealer.id.is_not_null()
    text = q.replace("%", "").replace("_", "").replace("\\", "").strip()[:50]
    if text:
        like = "like" if is_sqlite(current_engine()) else "ilike"
        pattern = f"%{text}%"
        where = where & (getattr(Dealer.name, like)(pattern) | getattr(Dealer.code, like)(pattern))
    if not overdue_only:
        total = await Dealer.count().where(where)
        dealers = (
            await Dealer.select()
            .where(where)
            .order_by(Dealer.code)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        accounts = await _accounts(dealers, today)
        return AccountsPage(accounts, page, per_page, total)
    late = await LedgerEntry.select(LedgerEntry.dealer).where(
        (LedgerEntry.amount_fen > 0) & (LedgerEntry.due_on < today)
    )
    late_ids = sorted({r["dealer"] for r in late})
    if not late_ids:
        return AccountsPage([], page, per_page, 0)
    dealers = await Dealer.select().where(where & Dealer.id.is_in(late_ids)).order_by(Dealer.code)
    accounts = [a for a in await _accounts(dealers, today) if a.overdue_fen]
    first = (page - 1) * per_page
    return AccountsPage(accounts[first : first + per_page], page, per_page, len(accounts))


async def _accounts(dealers: list[dict], today: date) -> list[DealerAccount]:
    if not dealers:
        return []
    rows = (
        await LedgerEntry.select(*_COLUMNS, LedgerEntry.dealer)
        .where(LedgerEntry.dealer.is_in([d["id"] for d in dealers]))
        .order_by(LedgerEntry.at)
        .order_by(LedgerEntry.id)
    )
    by_dealer: dict[int, list[EntryView]] = {}
    for r in rows:
        by_dealer.setdefault(r["dealer"], []).append(_view(r))
    result = []
    for d in dealers:
        entries = by_dealer.get(d["id"], [])
        _settle(entries, today)
        result.append(
            DealerAccount(
                dealer_id=d["id"],
                code=d["code"],
                name=d["name"],
                credit_limit_fen=int(d["credit_limit_fen"] or 0),
                balance_fen=int(d["balance_fen"] or 0),
                open_orders_fen=int(d["open_orders_fen"] or 0),
                payment_terms_days=int(d["payment_terms_days"] or 0),
                overdue_fen=sum(e.open_fen for e in entries if e.overdue),
                overdue_policy=d.get("overdue_policy") or "warn",
            )
        )
    return result
