"""API money: record payments (idempotent), read a dealer's ledger and statement, and
download the statement (对账单) as PDF or Excel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import Meta, Struct

from portal.api.schemas import Id, IdempotencyKeyHeader, In, Money, file_operation, money, problems
from portal.domain import ledger
from portal.domain.scope import Actor
from portal.export import XLSX_MEDIA_TYPE, statement_document
from portal.http_files import document_response, supplier_now


class PaymentIn(In):
    dealer_id: Id
    amount: Annotated[str, Meta(max_length=20, examples=["1234.50"])]
    method: Annotated[str, Meta(description="bank, cash, cheque or other")]
    reference: Annotated[str, Meta(max_length=60)] = ""
    value_date: date | None = None
    note: Annotated[str, Meta(max_length=500)] = ""
    prepayment: bool = False


class CreditNoteIn(In):
    dealer_id: Id
    amount: Annotated[str, Meta(max_length=20, examples=["120.00"])]
    note: Annotated[str, Meta(max_length=500, description="why the dealer is credited")]


class ReversalIn(In):
    reason: Annotated[str, Meta(min_length=1, max_length=500, description="why it is reversed")]


class EntryOut(Struct):
    id: int
    kind: Annotated[
        str,
        Meta(
            description="opening, invoice, payment, prepayment, credit_note or reversal (a "
            "payment or credit note taken back: ref_type ledger_entry, ref_id the entry)"
        ),
    ]
    amount: Annotated[Money, Meta(description="+ owed, − paid")]
    at: datetime
    ref_type: str
    ref_id: int | None
    due_on: date | None
    method: str
    reference: str
    value_date: date | None
    note: str
    balance: Money
    overdue: bool
    open_amount: Annotated[Money, Meta(description="invoices: what is still unpaid")]


class LedgerOut(Struct):
    dealer_id: int
    start: date
    end: date
    opening_balance: Money
    closing_balance: Money
    invoiced: Money
    paid: Money
    credited: Money
    brought_forward: Annotated[
        Money,
        Meta(
            description="a balance carried in from before the portal (an opening entry) in "
            "the period; opening_balance + brought_forward + invoiced - paid - credited = "
            "closing_balance"
        ),
    ]
    overdue: Money
    overdue_policy: Annotated[
        str,
        Meta(description="warn (overdue invoices are flagged) or block (new orders refused)"),
    ]
    orders_blocked: Annotated[
        bool, Meta(description="block policy and something overdue: submissions are refused")
    ]
    entries: list[EntryOut]


def entry_out(e: ledger.EntryView) -> EntryOut:
    return EntryOut(
        id=e.id,
        kind=e.kind,
        amount=money(e.amount_fen),
        at=e.at,
        ref_type=e.ref_type,
        ref_id=e.ref_id,
        due_on=e.due_on,
        method=e.method,
        reference=e.reference,
        value_date=e.value_date,
        note=e.note,
        balance=money(e.balance_fen),
        overdue=e.overdue,
        open_amount=money(e.open_fen),
    )


@post(
    "/api/v1/payments",
    tags=["money"],
    summary="Record a payment from a dealer (finance)",
    description="A retry with the same Idempotency-Key and body returns the first entry (200).",
    status_code=201,
    responses={
        200: ResponseSpec(data_container=EntryOut, description="Replay"),
        **problems(400, 401, 403, 404, 409, 422),
    },
)
async def record_payment(
    request: Request[Actor, Any, Any],
    data: JSONBody[PaymentIn],
    idempotency_key: IdempotencyKeyHeader,
) -> Response[EntryOut]:
    entry = await ledger.record_payment(
        request.user,
        data.dealer_id,
        amount=data.amount,
        method=data.method,
        reference=data.reference,
        value_date=data.value_date,
        note=data.note,
        prepayment=data.prepayment,
        idempotency_key=idempotency_key,
    )
    return Response(entry_out(entry), status_code=200 if entry.replayed else 201)


@post(
    "/api/v1/credit-notes",
    tags=["money"],
    summary="Credit a dealer: a credit note on the ledger (finance)",
    description="A retry with the same Idempotency-Key and body returns the first entry (200).",
    status_code=201,
    responses={
        200: ResponseSpec(data_container=EntryOut, description="Replay"),
        **problems(400, 401, 403, 404, 409, 422),
    },
)
async def record_credit_note(
    request: Request[Actor, Any, Any],
    data: JSONBody[CreditNoteIn],
    idempotency_key: IdempotencyKeyHeader,
) -> Response[EntryOut]:
    entry = await ledger.record_credit_note(
        request.user,
        data.dealer_id,
        amount=data.amount,
        note=data.note,
        idempotency_key=idempotency_key,
    )
    return Response(entry_out(entry), status_code=200 if entry.replayed else 201)


@post(
    "/api/v1/dealers/{dealer_id:int}/ledger/{entry_id:int}/reverse",
    tags=["money"],
    summary="Reverse a payment or credit note entered in error (finance)",
    description=(
        "Takes the entry back with an entry of the same amount the other way (kind reversal, "
        "ref_id the entry), with the reason; both stay on the statement. Once per entry "
        "(again: 409 conflict); an invoice, a return's credit note or a reversal: 409. A retry "
        "with the same Idempotency-Key and body returns the first reversal (200)."
    ),
    status_code=201,
    responses={
        200: ResponseSpec(data_container=EntryOut, description="Replay"),
        **problems(400, 401, 403, 404, 409, 422),
    },
)
async def reverse_entry(
    request: Request[Actor, Any, Any],
    dealer_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
    entry_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
    data: JSONBody[ReversalIn],
    idempotency_key: IdempotencyKeyHeader,
) -> Response[EntryOut]:
    entry = await ledger.reverse_entry(
        request.user, dealer_id, entry_id, reason=data.reason, idempotency_key=idempotency_key
    )
    return Response(entry_out(entry), status_code=200 if entry.replayed else 201)


@get(
    "/api/v1/dealers/{dealer_id:int}/ledger",
    tags=["money"],
    summary="A dealer's ledger and statement for a period (default: this month)",
    responses=problems(400, 401, 404, 422),
)
async def dealer_ledger(
    request: Request[Actor, Any, Any],
    dealer_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
    start: Annotated[date | None, QueryParameter()] = None,
    end: Annotated[date | None, QueryParameter()] = None,
) -> LedgerOut:
    st = await ledger.statement(request.user, dealer_id, start=start, end=end)
    return LedgerOut(
        dealer_id=dealer_id,
        start=st.start,
        end=st.end,
        opening_balance=money(st.opening_fen),
        closing_balance=money(st.closing_fen),
        invoiced=money(st.invoiced_fen),
        paid=money(st.paid_fen),
        credited=money(st.credited_fen),
        brought_forward=money(st.brought_fen),
        overdue=money(st.overdue_fen),
        overdue_policy=st.overdue_policy,
        orders_blocked=st.orders_blocked,
        entries=[entry_out(e) for e in st.entries],
    )


@get(
    "/api/v1/dealers/{dealer_id:int}/statement",
    tags=["money"],
    summary="A dealer's statement (对账单) for a period as PDF or Excel",
    description=(
        "`format=pdf` (the default) answers application/pdf; `format=xlsx` answers an Excel "
        "workbook whose amounts are numbers with a ¥ format and whose text cells are never "
        "evaluated as formulas. Without `format`, an Accept header naming the Excel media type "
        "picks xlsx. The period is `start`..`end` in Asia/Shanghai days (default: this month "
        "so far); `start` after `end` is a validation problem (422), a malformed date a 400. "
        "A dealer outside the caller's scope answers 404."
    ),
    operation_class=file_operation(
        "The statement: opening balance, every entry (date, type, reference, debit, credit, "
        "running balance) and closing balance, headed in the caller's language "
        "(Accept-Language).",
        "application/pdf",
        XLSX_MEDIA_TYPE,
    ),
    responses=problems(400, 401, 404, 422),
)
async def dealer_statement_file(
    request: Request[Actor, Any, Any],
    dealer_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
    start: Annotated[date | None, QueryParameter()] = None,
    end: Annotated[date | None, QueryParameter()] = None,
    fmt: Annotated[
        Literal["pdf", "xlsx"] | None,
        QueryParameter(name="format", description="pdf (default) or xlsx"),
    ] = None,
) -> Response[bytes]:
    if fmt is None:
        fmt = "xlsx" if XLSX_MEDIA_TYPE in (request.headers.get("accept") or "") else "pdf"
    st = await ledger.statement(request.user, dealer_id, start=start, end=end)
    doc = statement_document(st, fmt, now=datetime.now(UTC), issuer=await supplier_now(request))
    return document_response(doc)


ROUTES = [record_payment, record_credit_note, reverse_entry, dealer_ledger, dealer_statement_file]
