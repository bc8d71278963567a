"""API stock for warehouse staff: levels by SKU and warehouse, adjustments with a reason,
transfers between warehouses, safety stock per SKU and the SKUs under it, and a
warehouse's pick list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta, Struct, structs

from portal.api.schemas import Id, In, OptionalIdempotencyKey, problems
from portal.domain import picking, safety_stock, stock
from portal.domain.scope import Actor

# Stock rows (a SKU in a warehouse) on one page of GET /api/v1/stock.
MAX_PER_PAGE = 200


class StockOut(Struct):
    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    unit: str
    warehouse_id: int
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int
    safety_stock: int
    under_safety: bool


class GaveWayOut(Struct):
    order_id: int
    order_number: str
    order_line_id: int
    qty: Annotated[int, Meta(description="base units no longer reserved here")]
    waiting: Annotated[
        int,
        Meta(
            description="of them, what waits for stock (backordered): the rest another "
            "warehouse's free stock now holds"
        ),
    ]


class AdjustOut(StockOut):
    gave_way: Annotated[
        list[GaveWayOut],
        Meta(
            description="a count or a loss below what orders held here: the newest orders' "
            "reservations that gave way (their lines now wait for stock)"
        ),
    ] = []


class AdjustIn(In):
    warehouse_id: Id
    sku_id: Id
    reason: Annotated[str, Meta(description="receipt, count or damage")]
    qty: Annotated[
        int, Meta(ge=0, le=10**7, description="received / counted / damaged, base units")
    ]
    note: Annotated[str, Meta(max_length=200)] = ""


def stock_out(row: stock.StockRow) -> StockOut:
    return StockOut(
        sku_id=row.sku_id,
        sku_code=row.sku_code,
        sku_name=row.sku_name,
        barcode=row.barcode,
        unit=row.unit,
        warehouse_id=row.warehouse_id,
        warehouse_code=row.warehouse_code,
        on_hand=row.on_hand,
        reserved=row.reserved,
        available=row.available,
        safety_stock=row.safety_stock,
        under_safety=row.under_safety,
    )


class StockPageOut(Struct):
    items: list[StockOut]
    page: int
    per_page: int
    has_more: Annotated[bool, Meta(description="another page follows")]


@get(
    "/api/v1/stock",
    tags=["stock"],
    summary="Stock by SKU and warehouse (warehouse staff), a page at a time in SKU code order",
    description=(
        "A warehouse user given warehouses reads those only (`available` and `under_safety` "
        "over them too); a `warehouse_id` outside them, or that does not exist, is 404."
    ),
    responses=problems(400, 401, 403, 404),
)
async def list_stock(
    request: Request[Actor, Any, Any],
    q: Annotated[str, QueryParameter(max_length=60, description="code, name or barcode")] = "",
    warehouse_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    sku_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    under_safety: Annotated[bool, QueryParameter()] = False,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE)] = 100,
) -> StockPageOut:
    rows = await stock.list_stock(
        request.user,
        q=q,
        warehouse_id=warehouse_id,
        sku_id=sku_id,
        under_safety=under_safety,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
    )
    return StockPageOut(
        items=[stock_out(r) for r in rows[:per_page]],
        page=page,
        per_page=per_page,
        has_more=len(rows) > per_page,
    )


@post(
    "/api/v1/stock/adjust",
    tags=["stock"],
    summary="Adjust on-hand stock with a reason (audited)",
    description=(
        "A count or a loss that leaves fewer units than orders hold at the warehouse stands "
        "(it is what is on the shelf): the newest orders' reservations there give way and "
        "their lines wait for stock (`gave_way`); units packed in parcels never do, so a "
        "count below them is refused. "
        "Send an Idempotency-Key to make retries safe: the same key and body again change "
        "nothing more and answer with the stock as it is; the same key with another body is "
        "a conflict."
    ),
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def adjust(
    request: Request[Actor, Any, Any],
    data: JSONBody[AdjustIn],
    idempotency_key: OptionalIdempotencyKey = None,
) -> AdjustOut:
    row = await stock.adjust_stock(
        request.user,
        warehouse_id=data.warehouse_id,
        sku_id=data.sku_id,
        reason=data.reason,
        qty=str(data.qty),
        note=data.note,
        idempotency_key=idempotency_key,
    )
    return AdjustOut(
        **structs.asdict(stock_out(row)),
        gave_way=[
            GaveWayOut(
                order_id=g.order_id,
                order_number=g.order_number,
                order_line_id=g.order_line_id,
                qty=g.qty,
                waiting=g.waiting,
            )
            for g in row.gave_way
        ],
    )


class TransferIn(In):
    sku_id: Id
    from_warehouse_id: Id
    to_warehouse_id: Id
    qty: Annotated[int, Meta(ge=1, le=10**7, description="base units to move")]
    note: Annotated[str, Meta(max_length=200)] = ""


class TransferOut(Struct):
    from_stock: Annotated[StockOut, Meta(description="the sending warehouse's row after")]
    to_stock: Annotated[StockOut, Meta(description="the receiving warehouse's row after")]


@post(
    "/api/v1/stock/transfer",
    tags=["stock"],
    summary="Move free stock of a SKU from one warehouse to another (audited)",
    description=(
        "Both sides or neither. Only stock not reserved for orders moves; the receiving "
        "warehouse's oldest backorders of the SKU are reserved first. An Idempotency-Key "
        "makes retries safe, as for adjustments."
    ),
    status_code=200,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def transfer(
    request: Request[Actor, Any, Any],
    data: JSONBody[TransferIn],
    idempotency_key: OptionalIdempotencyKey = None,
) -> TransferOut:
    sent, received = await stock.transfer_stock(
        request.user,
        sku_id=data.sku_id,
        from_warehouse_id=data.from_warehouse_id,
        to_warehouse_id=data.to_warehouse_id,
        qty=str(data.qty),
        note=data.note,
        idempotency_key=idempotency_key,
    )
    return TransferOut(from_stock=stock_out(sent), to_stock=stock_out(received))


# --- safety stock ---------------------------------------------------------------------------


class SafetyStockIn(In):
    safety_stock: Annotated[
        int,
        Meta(
            ge=0,
            le=safety_stock.MAX_SAFETY_STOCK,
            description="base units; 0 turns the alert off",
        ),
    ]


class WarehouseStockOut(Struct):
    warehouse_id: int
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int


class SafetyStockOut(Struct):
    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    unit: str
    safety_stock: Annotated[int, Meta(description="base units")]
    available: Annotated[int, Meta(description="over all active warehouses, base units")]
    under_safety: bool
    shortfall: Annotated[int, Meta(description="safety stock minus available when under it")]
    warehouses: list[WarehouseStockOut]


def safety_out(level: safety_stock.SafetyLevel) -> SafetyStockOut:
    return SafetyStockOut(
        sku_id=level.sku_id,
        sku_code=level.sku_code,
        sku_name=level.sku_name,
        barcode=level.barcode,
        unit=level.unit,
        safety_stock=level.safety_stock,
        available=level.available,
        under_safety=level.under_safety,
        shortfall=level.shortfall,
        warehouses=[
            WarehouseStockOut(
                warehouse_id=w["warehouse"],
                warehouse_code=w["warehouse_code"],
                on_hand=w["on_hand"],
                reserved=w["reserved"],
                available=w["available"],
            )
            for w in level.warehouses
        ],
    )


@put(
    "/api/v1/stock/{sku_id:int}/safety-stock",
    tags=["stock"],
    summary="Set a SKU's safety stock (warehouse staff; audited)",
    responses=problems(400, 401, 403, 404, 422),
)
async def set_safety_stock(
    request: Request[Actor, Any, Any], sku_id: FromPath[int], data: JSONBody[SafetyStockIn]
) -> SafetyStockOut:
    level = await safety_stock.set_safety_stock(request.user, sku_id, data.safety_stock)
    return safety_out(level)


@get(
    "/api/v1/stock/alerts",
    tags=["stock"],
    summary="SKUs whose available stock over all warehouses is below their safety stock",
    description=(
        "Emptiest first (available ÷ safety stock), then by code. `limit` SKUs a page; the "
        "next page follows while a page is full. For a warehouse user given warehouses: the "
        "SKUs stocked there, by what is available there, with those warehouses' figures."
    ),
    responses=problems(400, 401, 403),
)
async def safety_alerts(
    request: Request[Actor, Any, Any],
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = safety_stock.ALERT_LIMIT,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
) -> list[SafetyStockOut]:
    levels = await safety_stock.under_safety(request.user, limit=limit, offset=(page - 1) * limit)
    return [safety_out(level) for level in levels]


# --- pick list -------------------------------------------------------------------------------


class PickOrderQtyOut(Struct):
    order_id: int
    order_number: str
    dealer_name: str
    qty: Annotated[int, Meta(description="base units")]


class PickPackOut(Struct):
    name: str
    factor: Annotated[int, Meta(description="base units in one pack")]
    full_packs: int
    loose: Annotated[int, Meta(description="base units besides the full packs")]


class PickLineOut(Struct):
    sku_id: int
    sku_code: str
    sku_name: str
    barcode: str
    unit: str
    qty: Annotated[int, Meta(description="base units to pick")]
    pack: PickPackOut | None
    orders: list[PickOrderQtyOut]


class PickOrderOut(Struct):
    order_id: int
    number: str
    dealer_name: str
    created_at: datetime
    qty: Annotated[int, Meta(description="base units to pick for this order here")]


class PickListOut(Struct):
    warehouse_id: int
    warehouse_code: str
    warehouse_name: str
    total_qty: int
    orders: list[PickOrderOut]
    lines: list[PickLineOut]


@get(
    "/api/v1/warehouses/{warehouse_id:int}/pick-list",
    tags=["stock"],
    summary="What to pick in a warehouse for the orders waiting to ship (warehouse staff)",
    description=(
        "Per SKU, the quantity reserved in this warehouse for queued (approved or partially "
        "shipped) orders and not yet shipped or packed, with the per-order breakdown. "
        "Repeat `order_id` to limit it to those orders."
    ),
    responses=problems(400, 401, 403, 404),
)
async def pick_list(
    request: Request[Actor, Any, Any],
    warehouse_id: FromPath[int],
    order_id: Annotated[
        list[int] | None,
        QueryParameter(description="limit to these orders (repeatable)"),
    ] = None,
) -> PickListOut:
    plist = await picking.pick_list(request.user, warehouse_id, order_id or [])
    return PickListOut(
        warehouse_id=plist.warehouse["id"],
        warehouse_code=plist.warehouse["code"],
        warehouse_name=plist.warehouse["name"],
        total_qty=plist.total_qty,
        orders=[
            PickOrderOut(o.order_id, o.number, o.dealer_name, o.created_at, o.qty)
            for o in plist.orders
        ],
        lines=[
            PickLineOut(
                sku_id=ln.sku_id,
                sku_code=ln.sku_code,
                sku_name=ln.sku_name,
                barcode=ln.barcode,
                unit=ln.unit,
                qty=ln.qty,
                pack=(
                    PickPackOut(ln.pack_name or "", ln.pack_factor, ln.full_packs, ln.loose)
                    if ln.pack_factor
                    else None
                ),
                orders=[
                    PickOrderQtyOut(p.order_id, p.order_number, p.dealer_name, p.qty)
                    for p in ln.orders
                ],
            )
            for ln in plist.lines
        ],
    )


ROUTES = [list_stock, adjust, transfer, set_safety_stock, safety_alerts, pick_list]
