"""API returns (退货): ask to return shipped goods, add photos (multipart), read a return
and its photos. The same domain rules as the pages (portal.domain.returns)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import Meta, Struct

from portal.api.fields import body_paths
from portal.api.schemas import (
    Id,
    IdempotencyKeyHeader,
    In,
    Money,
    money,
    problems,
    qty_by_line,
    upload_operation,
)
from portal.domain import photos, returns
from portal.domain.scope import Actor
from portal.web.shipments import UPLOAD_LIMITS, photo_response

ID = PathParameter(ge=1, le=2**31 - 1)


class ReturnLineIn(In):
    order_line_id: Id
    qty: Annotated[int, Meta(ge=-(10**9), le=10**9, description="base units")]


class ReturnIn(In):
    reason: Annotated[str, Meta(max_length=500)]
    lines: Annotated[list[ReturnLineIn], Meta(min_length=1, max_length=500)]


class ReturnLineOut(Struct):
    order_line_id: int
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: int
    qty_accepted: int


class ReturnPhotoOut(Struct):
    id: int
    content_type: Annotated[str, Meta(description="image/jpeg, image/png or image/webp")]
    size: Annotated[int, Meta(description="bytes")]
    width: int
    height: int
    created_at: datetime
    url: str
    thumbnail_url: str


class ReturnOut(Struct):
    id: int
    number: str
    status: Annotated[str, Meta(description="requested, approved, rejected or received")]
    order_id: int
    order_number: str
    dealer_id: int
    reason: str
    created_at: datetime
    decision_note: str
    inspection_note: str
    credit: Annotated[Money, Meta(description="credited to the dealer when received")]
    lines: list[ReturnLineOut]
    photos: list[ReturnPhotoOut]


def return_out(view: returns.ReturnView) -> ReturnOut:
    base = f"/api/v1/returns/{view.id}/photos"
    return ReturnOut(
        id=view.id,
        number=view.number,
        status=view.status,
        order_id=view.order_id,
        order_number=view.order_number,
        dealer_id=view.dealer_id,
        reason=view.reason,
        created_at=view.created_at,
        decision_note=view.decision_note,
        inspection_note=view.inspection_note,
        credit=money(view.credit_fen),
        lines=[
            ReturnLineOut(
                order_line_id=ln.order_line_id,
                sku_id=ln.sku_id,
                sku_code=ln.sku_code,
                sku_name=ln.sku_name,
                unit=ln.unit,
                qty=ln.qty,
                qty_accepted=ln.qty_accepted,
            )
            for ln in view.lines
        ],
        photos=[
            ReturnPhotoOut(
                id=p.id,
                content_type=p.content_type,
                size=p.size,
                width=p.width,
                height=p.height,
                created_at=p.created_at,
                url=f"{base}/{p.id}",
                thumbnail_url=f"{base}/{p.id}?size=thumb",
            )
            for p in view.photos
        ],
    )


@post(
    "/api/v1/orders/{order_id:int}/returns",
    tags=["returns"],
    summary="The dealer asks to return shipped quantities of an order, with a reason",
    description=(
        "Add photos afterwards with POST /api/v1/returns/{id}/photos (multipart). "
        "A retry with the same Idempotency-Key and body returns the first return with 200; "
        "the same key with another body is a conflict."
    ),
    status_code=201,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def create_return(
    request: Request[Actor, Any, Any],
    order_id: Annotated[int, ID],
    data: JSONBody[ReturnIn],
    idempotency_key: IdempotencyKeyHeader,
) -> Response[ReturnOut]:
    quantities = qty_by_line(data.lines)
    with body_paths(line_ids=[line.order_line_id for line in data.lines]):
        view, created = await returns.request_return_once(
            request.user,
            order_id,
            quantities=quantities,
            reason=data.reason,
            idempotency_key=idempotency_key,
        )
    return Response(return_out(view), status_code=201 if created else 200)


@get(
    "/api/v1/orders/{order_id:int}/returns",
    tags=["returns"],
    summary="An order's returns",
    responses=problems(400, 401, 404),
)
async def list_returns(
    request: Request[Actor, Any, Any], order_id: Annotated[int, ID]
) -> list[ReturnOut]:
    await returns.returnable_lines(request.user, order_id)  # the order, in scope, or 404
    return [return_out(v) for v in await returns.list_for_order(request.user, order_id)]


class ReturnsPageOut(Struct):
    items: list[ReturnOut]
    page: int
    per_page: int
    has_more: Annotated[bool, Meta(description="another page follows")]


@get(
    "/api/v1/returns",
    tags=["returns"],
    summary="Returns the caller may see, newest first, a page at a time, of one state or all",
    responses=problems(400, 401, 422),
)
async def list_all_returns(
    request: Request[Actor, Any, Any],
    status: Annotated[
        str | None,
        QueryParameter(max_length=20, description="one of " + ", ".join(returns.STATUS_LABELS)),
    ] = None,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=returns.LIST_LIMIT)] = 20,
) -> ReturnsPageOut:
    found = await returns.list_returns(
        request.user, status or None, limit=per_page + 1, offset=(page - 1) * per_page
    )
    return ReturnsPageOut(
        items=[return_out(v) for v in found[:per_page]],
        page=page,
        per_page=per_page,
        has_more=len(found) > per_page,
    )


@get(
    "/api/v1/returns/{return_id:int}",
    tags=["returns"],
    summary="One return, with its lines and photos",
    responses=problems(400, 401, 404),
)
async def get_return(request: Request[Actor, Any, Any], return_id: Annotated[int, ID]) -> ReturnOut:
    return return_out(await returns.get_return(request.user, return_id))


@post(
    "/api/v1/returns/{return_id:int}/photos",
    tags=["returns"],
    summary="The dealer adds photos to a return awaiting a decision (multipart/form-data)",
    description=(
        "Send the files as multipart/form-data parts named `photos`. Each must be a JPEG, PNG "
        f"or WebP picture (checked by its content) of at most {photos.MAX_BYTES // 2**20} MB "
        f"and {photos.MAX_PIXELS // 10**6} megapixels; at most {returns.MAX_PHOTOS} photos per "
        "return. Photos are re-encoded without their metadata (EXIF) and scaled down to "
        f"{photos.MAX_SIDE} px. One refused file refuses them all."
    ),
    status_code=201,
    **UPLOAD_LIMITS,
    operation_class=upload_operation(
        "photos", "JPEG, PNG or WebP pictures, each a part named photos", many=True
    ),
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
async def add_photos(request: Request[Actor, Any, Any], return_id: Annotated[int, ID]) -> ReturnOut:
    form = await request.form()
    uploads = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "photos":
                uploads.append(photos.Upload(value.filename or "", await value.read()))
            await value.close()
    return return_out(await returns.add_photos(request.user, return_id, uploads))


@get(
    "/api/v1/returns/{return_id:int}/photos/{photo_id:int}",
    tags=["returns"],
    summary="A photo of a return (its bytes; ?size=thumb for the thumbnail)",
    responses=problems(400, 401, 404),
)
async def get_photo(
    request: Request[Actor, Any, Any],
    return_id: Annotated[int, ID],
    photo_id: Annotated[int, ID],
    size: Annotated[str | None, QueryParameter(name="size", max_length=10)] = None,
) -> Response[bytes]:
    photo = await returns.get_photo(request.user, return_id, photo_id, thumbnail=size == "thumb")
    ext = photos.EXTENSIONS.get(photo.content_type, "bin")
    return photo_response(photo, f"return-{return_id}-{photo_id}.{ext}")


class ReturnDecisionIn(In):
    decision: Annotated[str, Meta(description="approve or reject", pattern="^(approve|reject)$")]
    note: Annotated[str, Meta(max_length=2000, description="required to reject")] = ""


class ReturnReceiveIn(In):
    warehouse_id: Id
    lines: Annotated[
        list[ReturnLineIn],
        Meta(min_length=1, max_length=500, description="accepted quantity per order line"),
    ]
    note: Annotated[str, Meta(max_length=2000)] = ""


@post(
    "/api/v1/returns/{return_id:int}/decision",
    tags=["returns"],
    summary="Staff approve or reject a requested return (a rejection needs a note)",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def decide_return(
    request: Request[Actor, Any, Any],
    return_id: Annotated[int, ID],
    data: JSONBody[ReturnDecisionIn],
) -> ReturnOut:
    view = await returns.decide_return(
        request.user, return_id, approve=data.decision == "approve", note=data.note
    )
    return return_out(view)


@post(
    "/api/v1/returns/{return_id:int}/receive",
    tags=["returns"],
    summary="The warehouse receives an approved return: accepted quantities go back to stock "
    "and their value is credited to the dealer",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def receive_return(
    request: Request[Actor, Any, Any],
    return_id: Annotated[int, ID],
    data: JSONBody[ReturnReceiveIn],
) -> ReturnOut:
    accepted: dict[int, object] = {}
    for line in data.lines:
        accepted[line.order_line_id] = line.qty
    line_ids = [line.order_line_id for line in data.lines]
    with body_paths(line_ids=line_ids, renames={"warehouse": "warehouse_id"}):
        view = await returns.receive_return(
            request.user,
            return_id,
            warehouse_id=data.warehouse_id,
            accepted=accepted,
            note=data.note,
        )
    return return_out(view)


ROUTES = [
    create_return,
    list_returns,
    list_all_returns,
    get_return,
    add_photos,
    get_photo,
    decide_return,
    receive_return,
]
