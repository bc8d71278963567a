"""API: the dealers the caller may see with their credit, finance's credit settings, and which
rep looks after a dealer (moving it to another: managers, administrators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import UNSET, Meta, Struct, UnsetType

from portal.api.schemas import Id, In, Money, money, problems
from portal.domain import credit, dealers, ledger, supplier
from portal.domain.money import percent_text
from portal.domain.scope import Actor, dealer_in_scope
from portal.tables import RepAssignment, Tier

DealerId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class Rep(Struct):
    id: int
    name: str


class DealerRepOut(Struct):
    dealer_id: int
    rep: Rep | None
    assignable: Annotated[list[Rep], Meta(description="the reps the caller may choose")]


class DealerRepIn(In):
    rep_id: Annotated[
        Annotated[int, Meta(ge=1, le=2**31 - 1)] | None,
        Meta(description="null: no rep (administrators)"),
    ]


async def _out(actor: Actor, dealer_id: int) -> DealerRepOut:
    current = (
        await RepAssignment.select(
            RepAssignment.rep, RepAssignment.rep.display_name.as_alias("name")
        )
        .where(RepAssignment.dealer == dealer_id)
        .first()
    )
    return DealerRepOut(
        dealer_id=dealer_id,
        rep=Rep(id=current["rep"], name=current["name"]) if current else None,
        assignable=[
            Rep(id=r["id"], name=r["display_name"]) for r in await dealers.assignable_reps(actor)
        ],
    )


@get(
    "/api/v1/dealers/{dealer_id:int}/rep",
    tags=["dealers"],
    summary="The dealer's rep, and the reps the caller may move it to",
    responses=problems(401, 404),
)
async def get_dealer_rep(request: Request[Actor, Any, Any], dealer_id: DealerId) -> DealerRepOut:
    await dealer_in_scope(request.user, dealer_id)
    return await _out(request.user, dealer_id)


@put(
    "/api/v1/dealers/{dealer_id:int}/rep",
    tags=["dealers"],
    summary="Move the dealer to another rep (a manager among their reps; an administrator any)",
    description="The dealer leaves the old rep's scope at once. Audited.",
    responses=problems(401, 403, 404, 422),
)
async def set_dealer_rep(
    request: Request[Actor, Any, Any], dealer_id: DealerId, data: JSONBody[DealerRepIn]
) -> DealerRepOut:
    await dealers.reassign(request.user, dealer_id, data.rep_id, now=datetime.now(UTC))
    return await _out(request.user, dealer_id)


# --- the dealers and their credit ---------------------------------------------------------


class DealerOut(Struct):
    id: int
    code: str
    name: str
    region: str
    tier: str
    credit_limit: Money
    available_credit: Annotated[
        Money, Meta(description="credit limit - exposure (negative when over the limit)")
    ]
    last_ordered_at: Annotated[
        datetime | None, Meta(description="when the caller last placed an order for it")
    ]
    active: Annotated[bool, Meta(description="only administrators see inactive dealers")]


class DealersPageOut(Struct):
    items: list[DealerOut]
    page: int
    per_page: int
    has_more: bool


class DealerDetailOut(Struct):
    """A dealer and its credit, as finance, its rep and its own users see it."""

    id: int
    code: str
    name: str
    region: str
    tier: str
    tier_id: int
    contact_phone: str
    default_warehouse_id: Annotated[
        int | None, Meta(description="the warehouse its orders reserve from first")
    ]
    active: bool
    credit_limit: Money
    balance: Annotated[Money, Meta(description="owed on the ledger (invoices less payments)")]
    open_orders: Annotated[Money, Meta(description="open orders not yet invoiced")]
    exposure: Annotated[Money, Meta(description="balance + open_orders")]
    available_credit: Annotated[
        Money, Meta(description="credit_limit - exposure (negative when over the limit)")
    ]
    tolerance: Annotated[
        Money,
        Meta(
            description="how far an order may take the exposure over the limit: the greater "
            "of tolerance_amount and tolerance_percent of the limit"
        ),
    ]
    tolerance_amount: Money
    tolerance_percent: Annotated[str, Meta(examples=["5", "2.5", "0"])]
    over_credit_policy: Annotated[
        str,
        Meta(
            description="block (an order over the limit and tolerance is refused) or approval "
            "(it waits for finance)"
        ),
    ]
    payment_terms_days: int
    overdue: Annotated[Money, Meta(description="owed past the payment terms")]
    overdue_policy: Annotated[
        str, Meta(description="warn (overdue invoices are flagged) or block (new orders refused)")
    ]
    orders_blocked: Annotated[
        bool, Meta(description="block policy and something overdue: submissions are refused")
    ]
    flagged_for_review: bool


def _text(n: int) -> Any:
    return Annotated[str, Meta(max_length=n)]


class CreditTermsIn(In):
    """Every field is optional: one left out (or null) keeps the dealer's setting; at least
    one must be sent."""

    credit_limit: Annotated[
        _text(20) | None,
        Meta(examples=["50000.00"], description="yuan; null or absent: unchanged"),
    ] = None
    payment_terms_days: Annotated[
        int | None, Meta(description="0 to 365; null or absent: unchanged")
    ] = None
    overdue_policy: Annotated[
        _text(20) | None, Meta(description="warn or block; null or absent: unchanged")
    ] = None
    over_credit_policy: Annotated[
        _text(20) | None, Meta(description="block or approval; null or absent: unchanged")
    ] = None
    tolerance_amount: Annotated[
        _text(20) | None,
        Meta(
            examples=["2000.00"], description='yuan; "" or "0" for none; null or absent: unchanged'
        ),
    ] = None
    tolerance_percent: Annotated[
        _text(8) | None,
        Meta(
            examples=["5"],
            description='0 to 100 (up to two decimals); "" or "0" for none; null or absent: '
            "unchanged",
        ),
    ] = None


async def _detail_out(dealer: dict) -> DealerDetailOut:
    tier = await Tier.select(Tier.name).where(Tier.id == dealer["tier"]).first()
    overdue = await ledger.dealer_overdue_fen(dealer, now=datetime.now(UTC))
    overdue_policy = dealer.get("overdue_policy") or "warn"
    return DealerDetailOut(
        id=dealer["id"],
        code=dealer["code"],
        name=dealer["name"],
        region=dealer["region"] or "",
        tier=tier["name"] if tier else "",
        tier_id=dealer["tier"],
        contact_phone=dealer["contact_phone"] or "",
        default_warehouse_id=dealer["default_warehouse"],
        active=bool(dealer["active"]),
        credit_limit=money(int(dealer["credit_limit_fen"] or 0)),
        balance=money(int(dealer["balance_fen"] or 0)),
        open_orders=money(int(dealer["open_orders_fen"] or 0)),
        exposure=money(credit.exposure_fen(dealer)),
        available_credit=money(credit.available_fen(dealer)),
        tolerance=money(credit.tolerance_fen(dealer, await supplier.credit_tolerance())),
        tolerance_amount=money(int(dealer.get("credit_tolerance_fen") or 0)),
        tolerance_percent=percent_text(int(dealer.get("credit_tolerance_bp") or 0)),
        over_credit_policy=dealer.get("over_credit_policy") or "block",
        payment_terms_days=int(dealer["payment_terms_days"] or 0),
        overdue=money(overdue),
        overdue_policy=overdue_policy,
        orders_blocked=overdue_policy == "block" and overdue > 0,
        flagged_for_review=bool(dealer.get("flagged_for_review")),
    )


@get(
    "/api/v1/dealers",
    tags=["dealers"],
    summary="The active dealers the caller may see, with their credit",
    description=(
        "A dealer's users see their own dealer; a rep the dealers assigned to them; a manager "
        "their reps' dealers; finance and administrators every dealer. Warehouse staff see no "
        "dealer's account: 403. q searches name, code and region. The dealers the caller "
        "ordered for most recently come first, then the rest by name."
    ),
    responses=problems(401, 403),
)
async def list_dealers(
    request: Request[Actor, Any, Any],
    q: Annotated[str, QueryParameter(max_length=50)] = "",
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=dealers.MAX_PER_PAGE)] = 30,
) -> DealersPageOut:
    found = await dealers.list_page(request.user, q=q, page=page, per_page=per_page)
    return DealersPageOut(
        items=[
            DealerOut(
                id=c.id,
                code=c.code,
                name=c.name,
                region=c.region,
                tier=c.tier_name,
                credit_limit=money(c.credit_limit_fen),
                available_credit=money(c.available_credit_fen),
                last_ordered_at=c.last_ordered_at,
                active=c.active,
            )
            for c in found.items
        ],
        page=page,
        per_page=per_page,
        has_more=found.has_more,
    )


class DealerIn(In):
    name: Annotated[str, Meta(max_length=100)]
    tier_id: Id
    region: Annotated[str, Meta(max_length=50)] = ""
    contact_phone: Annotated[str, Meta(max_length=32)] = ""
    default_warehouse_id: Annotated[
        Id | None, Meta(description="the warehouse its orders reserve from first")
    ] = None
    active: bool = True


class NewDealerIn(DealerIn, kw_only=True):
    code: Annotated[str, Meta(max_length=20, description="1-20 letters, digits, - or _; for good")]


class DealerChangeIn(In):
    """A change of a dealer: the fields sent change, a field left out keeps its value (so
    deactivating a dealer is {"active": false}, not a restatement of all it is)."""

    name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    tier_id: Id | UnsetType = UNSET
    region: Annotated[str, Meta(max_length=50)] | UnsetType = UNSET
    contact_phone: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    default_warehouse_id: Annotated[
        Id | None | UnsetType, Meta(description="the warehouse its orders reserve from first")
    ] = UNSET
    active: bool | UnsetType = UNSET


def _kept(value: Any, current: Any) -> Any:
    """A field of a change: what was sent, or the current value when it was left out."""
    return current if value is UNSET else value


def _dealer_input(data: DealerIn, code: str = "") -> dealers.DealerInput:
    return dealers.DealerInput(
        code=code,
        name=data.name,
        tier_id=data.tier_id,
        region=data.region,
        contact_phone=data.contact_phone,
        default_warehouse_id=data.default_warehouse_id,
        active=data.active,
    )


@post(
    "/api/v1/dealers",
    tags=["dealers"],
    summary="Add a dealer (administrators)",
    description=(
        "It has no credit until finance sets a limit (PUT /dealers/{id}/credit); its users "
        "and addresses come next (/dealers/{id}/users, /dealers/{id}/addresses). A code "
        "another dealer has is a validation problem. Audited."
    ),
    status_code=201,
    responses=problems(400, 401, 403, 422),
)
async def add_dealer(
    request: Request[Actor, Any, Any], data: JSONBody[NewDealerIn]
) -> DealerDetailOut:
    row = await dealers.save_dealer(
        request.user, None, _dealer_input(data, data.code), now=datetime.now(UTC)
    )
    return await _detail_out(row)


@put(
    "/api/v1/dealers/{dealer_id:int}",
    tags=["dealers"],
    summary="Change a dealer's name, tier, region, phone, default warehouse, active (admins)",
    description="The fields sent change; a field left out keeps its value. The code stays. "
    "An inactive dealer's users still sign in; nobody can order for it. Audited before and "
    "after.",
    responses=problems(400, 401, 403, 404, 422),
)
async def save_dealer(
    request: Request[Actor, Any, Any], dealer_id: DealerId, data: JSONBody[DealerChangeIn]
) -> DealerDetailOut:
    current = await dealers.editable_dealer(request.user, dealer_id)
    assert current is not None  # an id was given
    change = dealers.DealerInput(
        code="",
        name=_kept(data.name, current["name"]),
        tier_id=_kept(data.tier_id, current["tier"]),
        region=_kept(data.region, current["region"] or ""),
        contact_phone=_kept(data.contact_phone, current["contact_phone"] or ""),
        default_warehouse_id=_kept(data.default_warehouse_id, current["default_warehouse"]),
        active=_kept(data.active, current["active"]),
    )
    row = await dealers.save_dealer(request.user, dealer_id, change, now=datetime.now(UTC))
    return await _detail_out(row)


@get(
    "/api/v1/dealers/{dealer_id:int}",
    tags=["dealers"],
    summary="One dealer and its credit: limit, exposure, available, tolerance and policies",
    responses=problems(401, 404),
)
async def get_dealer(request: Request[Actor, Any, Any], dealer_id: DealerId) -> DealerDetailOut:
    return await _detail_out(await dealer_in_scope(request.user, dealer_id))


@put(
    "/api/v1/dealers/{dealer_id:int}/credit",
    tags=["dealers"],
    summary="Set a dealer's credit settings (finance, administrators)",
    description=(
        "Send the settings that change: the credit limit, the payment terms, the overdue "
        "policy, the policy for orders over the limit and the tolerance over it are each kept "
        "when left out (or null), so changing the limit alone does not restate the terms. A "
        "body with none of them is a validation problem (422, nothing to change). Nothing is "
        "written unless every field is valid. Audited, before and after."
    ),
    responses=problems(401, 403, 404, 422),
)
async def set_dealer_credit(
    request: Request[Actor, Any, Any], dealer_id: DealerId, data: JSONBody[CreditTermsIn]
) -> DealerDetailOut:
    dealer = await ledger.set_credit_terms(
        request.user,
        dealer_id,
        credit_limit=data.credit_limit,
        payment_terms_days=data.payment_terms_days,
        overdue_policy=data.overdue_policy,
        over_credit_policy=data.over_credit_policy,
        tolerance_amount=data.tolerance_amount,
        tolerance_percent=data.tolerance_percent,
    )
    return await _detail_out(dealer)


ROUTES = [
    list_dealers,
    add_dealer,
    get_dealer,
    save_dealer,
    set_dealer_credit,
    get_dealer_rep,
    set_dealer_rep,
]
