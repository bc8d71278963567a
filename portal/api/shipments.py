"""API shipments: create (idempotent) and list an order's shipments, ship, correct the carrier
and tracking number, unpack, confirm receipt, and the delivery note as a PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import Meta, Struct

from portal.api.fields import body_paths
from portal.api.schemas import (
    Id,
    IdempotencyKeyHeader,
    In,
    Money,
    file_operation,
    money,
    problems,
    qty_by_line,
)
from portal.domain import shipments
from portal.domain.scope import Actor
from portal.export import delivery_note_document
from portal.http_files import document_response, page_address, supplier_now

ID = PathParameter(ge=1, le=2**31 - 1)
Text50 = Annotated[str, Meta(max_length=50)]


class ShipmentLineIn(In):
    order_line_id: Id
    qty: Annotated[int, Meta(ge=-(10**9), le=10**9, description="base units")]


class ShipmentIn(In):
    warehouse_id: Id
    lines: Annotated[list[ShipmentLineIn], Meta(min_length=1, max_length=500)]
    carrier: Text50 = ""
    tracking_no: Text50 = ""


class ShipIn(In):
    carrier: (
        Annotated[Text50, Meta(description="empty or absent: as recorded at packing")] | None
    ) = None
    tracking_no: (
        Annotated[Text50, Meta(description="empty or absent: as recorded at packing")] | None
    ) = None


class TrackingIn(In):
    carrier: Annotated[Text50, Meta(description="absent: unchanged")] | None = None
    tracking_no: (
        Annotated[Text50, Meta(description='absent: unchanged; "" when the carrier gives none')]
        | None
    ) = None


class ReceiptIn(In):
    discrepancy: bool = False
    note: Annotated[str, Meta(max_length=500)] = ""


class ShipmentLineOut(Struct):
    order_line_id: int
    sku_id: int
    sku_code: str
    sku_name: str
    unit: str
    qty: int


class ShipmentOut(Struct):
    id: int
    number: str
    status: Annotated[
        str,
        Meta(
            description="packed, shipped, delivered (marked by the warehouse or a carrier; "
            "may be skipped), received (the dealer's 签收) or cancelled"
        ),
    ]
    order_id: int
    order_number: str
    dealer_id: int
    warehouse_id: int
    warehouse_name: str
    carrier: str
    tracking_no: str
    value: Annotated[Money, Meta(description="the invoice posted when shipped")]
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    received_at: datetime | None
    discrepancy: bool
    receipt_note: str
    auto_received: bool
    lines: list[ShipmentLineOut]


def shipment_out(view: shipments.ShipmentView) -> ShipmentOut:
    return ShipmentOut(
        id=view.id,
        number=view.number,
        status=view.status,
        order_id=view.order_id,
        order_number=view.order_number,
        dealer_id=view.dealer_id,
        warehouse_id=view.warehouse_id,
        warehouse_name=view.warehouse_name,
        carrier=view.carrier,
        tracking_no=view.tracking_no,
        value=money(view.value_fen),
        created_at=view.created_at,
        shipped_at=view.shipped_at,
        delivered_at=view.delivered_at,
        received_at=view.received_at,
        discrepancy=view.discrepancy,
        receipt_note=view.receipt_note,
        auto_received=view.auto_received,
        lines=[
            ShipmentLineOut(
                order_line_id=ln.order_line_id,
                sku_id=ln.sku_id,
                sku_code=ln.sku_code,
                sku_name=ln.sku_name,
                unit=ln.unit,
                qty=ln.qty,
            )
            for ln in view.lines
        ],
    )


@post(
    "/api/v1/orders/{order_id:int}/shipments",
    tags=["shipments"],
    summary="Pack a shipment of an order from one warehouse (warehouse staff)",
    description=(
        "Quantities per order line, each no more than what remains unshipped and what the "
        "warehouse holds. The shipment is packed; ship it with POST /shipments/{id}/ship. "
        "A retry with the same Idempotency-Key and body returns the first shipment with 200."
    ),
    status_code=201,
    responses={
        200: ResponseSpec(data_container=ShipmentOut, description="Replay"),
        **problems(400, 401, 403, 404, 409, 422),
    },
)
async def create_shipment(
    request: Request[Actor, Any, Any],
    order_id: Annotated[int, ID],
    data: JSONBody[ShipmentIn],
    idempotency_key: IdempotencyKeyHeader,
) -> Response[ShipmentOut]:
    quantities = qty_by_line(data.lines)
    line_ids = [line.order_line_id for line in data.lines]
    with body_paths(line_ids=line_ids, renames={"warehouse": "warehouse_id"}):
        result = await shipments.create_shipment(
            request.user,
            order_id,
            warehouse_id=data.warehouse_id,
            quantities=quantities,
            carrier=data.carrier,
            tracking_no=data.tracking_no,
            idempotency_key=idempotency_key,
        )
    return Response(shipment_out(result.shipment), status_code=201 if result.created else 200)


@get(
    "/api/v1/orders/{order_id:int}/shipments",
    tags=["shipments"],
    summary="An order's shipments",
    responses=problems(400, 401, 404),
)
async def list_shipments(
    request: Request[Actor, Any, Any], order_id: Annotated[int, ID]
) -> list[ShipmentOut]:
    return [shipment_out(v) for v in await shipments.list_for_order(request.user, order_id)]


class ShipmentsPageOut(Struct):
    items: list[ShipmentOut]
    page: int
    per_page: int
    has_more: Annotated[bool, Meta(description="another page follows")]


@get(
    "/api/v1/shipments",
    tags=["shipments"],
    summary="Shipments the caller may see, newest first, a page at a time",
    description="A dealer sees its own, a rep its dealers', warehouse staff their warehouses'. "
    "Filter by status (packed, shipped, received, cancelled) and warehouse.",
    responses=problems(400, 401, 422),
)
async def list_all_shipments(
    request: Request[Actor, Any, Any],
    status: Annotated[
        str | None,
        QueryParameter(max_length=20, description="one of " + ", ".join(shipments.STATUS_LABELS)),
    ] = None,
    warehouse_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
) -> ShipmentsPageOut:
    found = await shipments.list_shipments(
        request.user,
        status=status or None,
        warehouse_id=warehouse_id,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
    )
    return ShipmentsPageOut(
        items=[shipment_out(v) for v in found[:per_page]],
        page=page,
        per_page=per_page,
        has_more=len(found) > per_page,
    )


@get(
    "/api/v1/shipments/{shipment_id:int}",
    tags=["shipments"],
    summary="One shipment",
    responses=problems(400, 401, 404),
)
async def get_shipment(
    request: Request[Actor, Any, Any], shipment_id: Annotated[int, ID]
) -> ShipmentOut:
    return shipment_out(await shipments.get_shipment(request.user, shipment_id))


@post(
    "/api/v1/shipments/{shipment_id:int}/ship",
    tags=["shipments"],
    summary="Ship a packed shipment: stock out, order state, invoice to the dealer's ledger",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def ship(
    request: Request[Actor, Any, Any],
    shipment_id: Annotated[int, ID],
    data: JSONBody[ShipIn | None] = None,
) -> ShipmentOut:
    view = await shipments.ship(
        request.user,
        shipment_id,
        carrier=data.carrier if data else None,
        tracking_no=data.tracking_no if data else None,
    )
    return shipment_out(view)


@patch(
    "/api/v1/shipments/{shipment_id:int}",
    tags=["shipments"],
    summary="Correct the carrier and tracking number of a parcel on its way (warehouse staff)",
    description=(
        "For a shipped or delivered shipment not yet received (409 otherwise): the fields "
        "given replace what was recorded, absent ones stay. Audited before and after, and "
        "noted on the order's timeline (webhook event `shipment.tracking_changed`)."
    ),
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def correct_tracking(
    request: Request[Actor, Any, Any],
    shipment_id: Annotated[int, ID],
    data: JSONBody[TrackingIn],
) -> ShipmentOut:
    view = await shipments.correct_tracking(
        request.user, shipment_id, carrier=data.carrier, tracking_no=data.tracking_no
    )
    return shipment_out(view)


@post(
    "/api/v1/shipments/{shipment_id:int}/deliver",
    tags=["shipments"],
    summary="Mark a shipped parcel delivered (送达): the dealer is asked to confirm receipt",
    description="For the warehouse or a carrier's system (a warehouse or admin token). "
    "Optional: the dealer may confirm receipt of a shipped parcel without it. 409 unless the "
    "shipment is shipped.",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def deliver(
    request: Request[Actor, Any, Any], shipment_id: Annotated[int, ID]
) -> ShipmentOut:
    return shipment_out(await shipments.mark_delivered(request.user, shipment_id))


@post(
    "/api/v1/shipments/{shipment_id:int}/receipt",
    tags=["shipments"],
    summary="The dealer confirms receipt (签收), or reports a discrepancy with a note",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def receipt(
    request: Request[Actor, Any, Any],
    shipment_id: Annotated[int, ID],
    data: JSONBody[ReceiptIn | None] = None,
) -> ShipmentOut:
    view = await shipments.confirm_receipt(
        request.user,
        shipment_id,
        discrepancy=data.discrepancy if data else False,
        note=data.note if data else "",
    )
    return shipment_out(view)


@post(
    "/api/v1/shipments/{shipment_id:int}/cancel",
    tags=["shipments"],
    summary="Unpack a shipment not yet shipped (warehouse staff): its quantities are open again",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def cancel(request: Request[Actor, Any, Any], shipment_id: Annotated[int, ID]) -> ShipmentOut:
    return shipment_out(await shipments.cancel_shipment(request.user, shipment_id))


@get(
    "/api/v1/shipments/{shipment_id:int}/delivery-note",
    tags=["shipments"],
    summary="The shipment's delivery note (发货单) and packing list as a PDF",
    description=(
        "Shipment number as a QR code (leading to the shipment's page), warehouse, carrier "
        "and tracking number, ship-to address and every line with its quantity. Whoever may "
        "see the shipment may print it; a cancelled (unpacked) shipment has none: 409."
    ),
    operation_class=file_operation(
        "The delivery note and packing list, in the caller's language", "application/pdf"
    ),
    responses=problems(400, 401, 404, 409),
)
async def delivery_note(
    request: Request[Actor, Any, Any], shipment_id: Annotated[int, ID]
) -> Response[bytes]:
    view = await shipments.printable_shipment(request.user, shipment_id)
    page_url = page_address(request, f"/shipments/{view.id}")
    doc = delivery_note_document(view, page_url=page_url, issuer=await supplier_now(request))
    return document_response(doc)


ROUTES = [
    create_shipment,
    list_shipments,
    list_all_shipments,
    get_shipment,
    correct_tracking,
    ship,
    deliver,
    receipt,
    cancel,
    delivery_note,
]
