"""The cart: a dealer's draft order, one per (dealer, user), filled fast and priced live.

Quantities are stored in base units. Every write checks the quantity rules first (MOQ,
order multiple, known unit) and names the SKU and the rule when refusing. Prices, stock
and credit shown here are today's; submission re-checks all of them under lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from portal.db import fetch, write_transaction
from portal.domain import catalog, credit, money, orders, pricing, promotions, supplier
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.quantities import (
    MAX_LINE_QTY,
    check_line,
    parse_quick_order,
    to_base_units,
)
from portal.domain.scope import Actor, ordering_dealer
from portal.tables import Address, Cart, CartLine, OrderLine, Sku


@dataclass
class CartLineView:
    sku_id: int
    code: str
    name: str
    unit: str
    pack_name: str | None
    pack_factor: int | None
    qty: int  # base units
    moq: int
    order_multiple: int
    unit_price_fen: int
    list_price_fen: int
    rule: str
    rule_params: dict[str, Any]
    line_total_fen: int
    next_break: pricing.NextBreak | None
    # in_stock | low | out | short (not enough for this quantity) | unavailable (no longer
    # sold to this dealer)
    availability: str
    errors: list[FieldError] = field(default_factory=list)
    available: bool = True  # False: the SKU is no longer visible/active; remove it
    packs: tuple[tuple[str, int], ...] = ()
    image: str = ""
    product_id: int | None = None
    # A staff-set price (a rep's discount): the dealer's own price stays for reference.
    ref_price_fen: int = 0
    overridden: bool = False
    beyond_authority: bool = False  # the order will wait for a sales manager
    backorder_qty: int = 0  # base units the submission will accept as a backorder

    @property
    def rule_label(self) -> str:
        return orders.price_label(self.rule, self.rule_params) if self.available else ""

    @property
    def price_input(self) -> str:
        """The staff-set price as typed into the price box (yuan), or empty."""
        return str(money.from_fen(self.unit_price_fen)) if self.overridden else ""

    @property
    def ref_price_input(self) -> str:
        return str(money.from_fen(self.ref_price_fen))

    @property
    def discount_bp(self) -> int:
        if not self.overridden or not self.ref_price_fen:
            return 0
        return int((self.ref_price_fen - self.unit_price_fen) * 10000 / self.ref_price_fen)

    @property
    def discount_percent(self) -> str:
        """The discount as a rep reads it: a whole percentage where one gives exactly this
        price ("3", typed as 3% off ¥1.55: ¥1.50, not the 3.2% the fen rounding makes of
        it), else to a tenth ("3.2")."""
        bp = self.discount_bp
        if bp <= 0:
            return ""
        for whole in sorted({bp // 100, bp // 100 + 1}, key=lambda w: abs(w * 100 - bp)):
            priced = money.to_fen(money.percent_of(self.ref_price_fen, 10000 - whole * 100))
            if 0 < whole < 100 and priced == self.unit_price_fen:
                return str(whole)
        return f"{bp / 100:.1f}"

    @property
    def next_break_label(self) -> str:
        return pricing.next_break_label(self.next_break) if self.next_break else ""


@dataclass
class CartView:
    dealer_id: int
    lines: list[CartLineView]
    total_fen: int
    list_total_fen: int
    count: int  # number of lines
    address_id: int | None
    addresses: list[dict]
    requested_date: date | None
    note: str
    credit_available_fen: int
    errors: list[FieldError] = field(default_factory=list)
    can_set_prices: bool = False  # staff ordering for the dealer may discount a line
    discount_authority_bp: int = 0  # how far they may go without a manager's approval
    # What the cart earns from promotions (the order gets the same at submission).
    gifts: list[promotions.Gift] = field(default_factory=list)
    saving: promotions.Saving | None = None
    next_saving: promotions.NextSaving | None = None

    @property
    def authority_text(self) -> str:
        return money.percent_text(self.discount_authority_bp)

    @property
    def goods_fen(self) -> int:
        """The lines at their prices, before the saving (total_fen is after it)."""
        return self.total_fen + (self.saving.save_fen if self.saving else 0)

    @property
    def can_submit(self) -> bool:
        return bool(self.lines) and not self.errors and not any(ln.errors for ln in self.lines)


def _now() -> datetime:
    return datetime.now(UTC)


async def _cart_row(dealer_id: int, user_id: int) -> dict | None:
    return await Cart.select().where(Cart.dealer == dealer_id).where(Cart.user == user_id).first()


async def _ensure_cart(dealer_id: int, user_id: int, now: datetime) -> int:
    """The cart's id, creating it if needed (inside the caller's transaction, race-safe)."""
    await fetch(
        'INSERT INTO cart (dealer, "user", address, requested_date, note, updated_at) '
        'VALUES ({}, {}, NULL, NULL, {}, {}) ON CONFLICT (dealer, "user") DO NOTHING',
        dealer_id,
        user_id,
        "",
        now,
    )
    row = await _cart_row(dealer_id, user_id)
    return row["id"]


async def _put_line(cart_id: int, sku_id: int, qty: int, now: datetime) -> None:
    if qty <= 0:
        await CartLine.delete().where((CartLine.cart == cart_id) & (CartLine.sku == sku_id))
        return
    await fetch(
        "INSERT INTO cart_line (cart, sku, qty, added_at) VALUES ({}, {}, {}, {}) "
        "ON CONFLICT (cart, sku) DO UPDATE SET qty = excluded.qty",
        cart_id,
        sku_id,
        qty,
        now,
    )


async def _touch(cart_id: int, now: datetime) -> None:
    await Cart.update({Cart.updated_at: now}).where(Cart.id == cart_id)


async def _current_qty(dealer_id: int, user_id: int) -> dict[int, int]:
    cart = await _cart_row(dealer_id, user_id)
    if cart is None:
        return {}
    rows = await CartLine.select(CartLine.sku, CartLine.qty).where(CartLine.cart == cart["id"])
    return {r["sku"]: r["qty"] for r in rows}


async def _addresses(dealer_id: int) -> list[dict]:
    return (
        await Address.select(
            Address.id,
            Address.label,
            Address.contact,
            Address.phone,
            Address.line,
            Address.is_default,
        )
        .where(Address.dealer == dealer_id)
        .order_by(Address.is_default, ascending=False)
        .order_by(Address.id)
    )


async def _view(actor: Actor, dealer: dict) -> CartView:
    cart = await _cart_row(dealer["id"], actor.user_id)
    rows = []
    if cart is not None:
        rows = (
            await CartLine.select(CartLine.sku, CartLine.qty, CartLine.unit_price_override_fen)
            .where(CartLine.cart == cart["id"])
            .order_by(CartLine.added_at)
            .order_by(CartLine.id)
        )
    quantities = {r["sku"]: r["qty"] for r in rows}
    overrides = {
        r["sku"]: int(r["unit_price_override_fen"])
        for r in rows
        if r["unit_price_override_fen"] is not None and actor.is_staff
    }
    items = (
        await catalog.items_by_ids(actor, dealer, list(quantities), quantities=quantities)
        if quantities
        else {}
    )
    missing = [sku_id for sku_id in quantities if sku_id not in items]
    gone = {}
    if missing:
        gone = {
            r["id"]: r
            for r in await Sku.select(Sku.id, Sku.code, Sku.name, Sku.base_unit).where(
                Sku.id.is_in(missing)
            )
        }
    lines: list[CartLineView] = []
    for r in rows:
        sku_id, qty = r["sku"], r["qty"]
        item = items.get(sku_id)
        if item is None:
            sku = gone.get(sku_id, {"code": f"#{sku_id}", "name": "", "base_unit": ""})
            lines.append(
                CartLineView(
                    sku_id=sku_id,
                    code=sku["code"],
                    name=sku["name"],
                    unit=sku["base_unit"],
                    pack_name=None,
                    pack_factor=None,
                    qty=qty,
                    moq=1,
                    order_multiple=1,
                    unit_price_fen=0,
                    list_price_fen=0,
                    rule="",
                    rule_params={},
                    line_total_fen=0,
                    next_break=None,
                    availability="unavailable",
                    errors=[
                        FieldError(
                            str(sku_id), _("%(sku)s is no longer available."), {"sku": sku["code"]}
                        )
                    ],
                    available=False,
                )
            )
            continue
        quote = item.quote
        errors = check_line(
            item.code, qty, moq=item.moq, order_multiple=item.order_multiple, field=str(sku_id)
        )
        backorder_qty = max(0, qty - item.available_qty) if item.allow_backorder else 0
        if qty > item.available_qty and not item.allow_backorder:
            errors.append(
                FieldError(
                    str(sku_id),
                    _("%(sku)s: not enough stock for this quantity."),
                    {"sku": item.code},
                )
            )
        price, rule, params = quote.unit_price_fen, quote.rule, dict(quote.rule_params)
        override = overrides.get(sku_id)
        overridden = override is not None and override != quote.unit_price_fen
        if overridden:
            price, rule = override, orders.RULE_MANUAL
            params = {"by": actor.name, "ref_price_fen": quote.unit_price_fen}
        lines.append(
            CartLineView(
                sku_id=sku_id,
                code=item.code,
                name=item.name,
                unit=item.unit,
                pack_name=item.pack_name,
                pack_factor=item.pack_factor,
                qty=qty,
                moq=item.moq,
                order_multiple=item.order_multiple,
                unit_price_fen=price,
                list_price_fen=quote.list_price_fen,
                rule=rule,
                rule_params=params,
                line_total_fen=money.line_total_fen(price, qty),
                ref_price_fen=quote.unit_price_fen,
                backorder_qty=backorder_qty,
                overridden=overridden,
                beyond_authority=overridden
                and orders.discount_beyond(
                    orders.PricedLine(price, quote.unit_price_fen, qty),
                    actor.discount_authority_bp,
                ),
                next_break=quote.next_break,
                # Short for this quantity (no backorders): not "in stock" beside the error.
                availability="short"
                if qty > item.available_qty and not item.allow_backorder
                else item.availability,
                errors=errors,
                packs=item.packs,
                image=item.image,
                product_id=item.product_id,
            )
        )
    live = [ln for ln in lines if ln.available]
    won = await promotions.earned_for(
        dealer,
        live,
        promotions.today(),
        in_force=promotions.known_in_force(i.price_inputs for i in items.values()),
    )
    goods = sum(ln.line_total_fen for ln in live)
    total = goods - won.save_fen
    list_total = sum(money.line_total_fen(ln.list_price_fen, ln.qty) for ln in live) + sum(
        money.line_total_fen(g.list_price_fen, g.qty) for g in won.gifts
    )
    addresses = await _addresses(dealer["id"])
    address_ids = {a["id"] for a in addresses}
    address_id = cart["address"] if cart and cart["address"] in address_ids else None
    if address_id is None and addresses:
        address_id = addresses[0]["id"]
    cart_errors: list[FieldError] = []
    if live and not credit.fits(dealer, total, await supplier.credit_tolerance()):
        cart_errors.append(
            FieldError(
                "credit",
                # Under the "approval" policy such an order is not refused: it waits for finance.
                _(
                    "Available credit %(available)s, this order %(total)s: it will wait for "
                    "finance's approval."
                )
                if dealer.get("over_credit_policy") == "approval"
                else _("Available credit %(available)s, this order %(total)s."),
                {
                    "available": money.format_yuan(credit.available_fen(dealer)),
                    "total": money.format_yuan(total),
                },
            )
        )
    if live:
        # A dealer whose orders are on hold for overdue invoices learns it here, before
        # filling a cart that submission would refuse; the same words as the refusal.
        try:
            await credit.check_overdue_policy(dealer, now=_now())
        except credit.OverdueBlocked as held:
            cart_errors.append(FieldError("overdue", held.message, held.params))
    return CartView(
        dealer_id=dealer["id"],
        lines=lines,
        total_fen=total,
        list_total_fen=list_total,
        count=len(lines),
        address_id=address_id,
        addresses=addresses,
        requested_date=cart["requested_date"] if cart else None,
        note=(cart["note"] or "") if cart else "",
        credit_available_fen=credit.available_fen(dealer),
        errors=cart_errors,
        can_set_prices=actor.is_staff,
        discount_authority_bp=actor.discount_authority_bp if actor.is_staff else 0,
        gifts=won.gifts,
        saving=won.saving,
        next_saving=won.next_saving,
    )


async def get_cart(actor: Actor, dealer_id: int | None) -> CartView:
    """The actor's cart for the dealer, priced at today's prices for its quantities."""
    return await _view(actor, await ordering_dealer(actor, dealer_id))


def _refuse(errors: list[FieldError]) -> ValidationFailed:
    first = errors[0]
    return ValidationFailed(first.message, first.params, errors=errors)


async def set_qty(
    actor: Actor, dealer_id: int | None, sku_id: int, qty: int, unit: str | None = None
) -> CartView:
    """Set one line's quantity (in `unit`, default the base unit); 0 removes the line."""
    dealer = await ordering_dealer(actor, dealer_id)
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or qty > MAX_LINE_QTY:
        raise _refuse(
            [
                FieldError(
                    "qty",
                    _("The quantity must be a whole number from 0 to %(max)s."),
                    {"max": MAX_LINE_QTY},
                )
            ]
        )
    now = _now()
    if qty == 0:
        cart = await _cart_row(dealer["id"], actor.user_id)
        if cart is not None:
            async with write_transaction():
                await _put_line(cart["id"], sku_id, 0, now)
                await _touch(cart["id"], now)
        return await _view(actor, dealer)
    items = await catalog.items_by_ids(actor, dealer, [sku_id])
    item = items.get(sku_id)
    if item is None:
        raise NotFound(_("Product not found."))
    qty_base = to_base_units(qty, unit, base_unit=item.unit, packs=dict(item.packs))
    errors = check_line(item.code, qty_base, moq=item.moq, order_multiple=item.order_multiple)
    if errors:
        raise _refuse(errors)
    async with write_transaction():
        cart_id = await _ensure_cart(dealer["id"], actor.user_id, now)
        await _put_line(cart_id, sku_id, qty_base, now)
        await _touch(cart_id, now)
    return await _view(actor, dealer)


async def set_price(
    actor: Actor,
    dealer_id: int | None,
    sku_id: int,
    *,
    unit_price_fen: int | None = None,
    percent_off_bp: int | None = None,
) -> CartView:
    """Staff ordering for a dealer set a line's unit price, or a percentage off the dealer's
    price; neither (or the dealer's own price) removes the override. Dealers never set prices.

    Beyond the actor's discount authority the order will wait for a sales manager (the
    discount_beyond_authority rule); the cart line says so.
    """
    dealer = await ordering_dealer(actor, dealer_id)
    if not actor.is_staff:
        raise Forbidden(_("Only staff may set a price."))
    cart = await _cart_row(dealer["id"], actor.user_id)
    exists = cart is not None and await CartLine.exists().where(
        (CartLine.cart == cart["id"]) & (CartLine.sku == sku_id)
    )
    if not exists:
        raise NotFound(_("Product not found."))
    if percent_off_bp is not None and (
        isinstance(percent_off_bp, bool) or not 0 <= percent_off_bp <= 10000
    ):
        raise _refuse([FieldError("percent_off", _("Enter a percentage from 0 to 100."))])
    if unit_price_fen is not None and (
        isinstance(unit_price_fen, bool)
        or not isinstance(unit_price_fen, int)
        or unit_price_fen < 0
    ):
        raise _refuse([FieldError("unit_price", _("The price must be zero or more."))])
    if percent_off_bp is not None or unit_price_fen is not None:
        qty = (await _current_qty(dealer["id"], actor.user_id)).get(sku_id, 0)
        items = await catalog.items_by_ids(actor, dealer, [sku_id], quantities={sku_id: qty})
        item = items.get(sku_id)
        if item is None:
            raise NotFound(_("Product not found."))
        ref = item.quote_for(qty).unit_price_fen
        if percent_off_bp is not None:
            unit_price_fen = money.to_fen(money.percent_of(ref, 10000 - percent_off_bp))
        elif unit_price_fen is not None and unit_price_fen > ref:
            raise _refuse([orders.above_dealer_price(item.code, ref, "unit_price")])
    now = _now()
    async with write_transaction():
        await CartLine.update({CartLine.unit_price_override_fen: unit_price_fen}).where(
            (CartLine.cart == cart["id"]) & (CartLine.sku == sku_id)
        )
        await _touch(cart["id"], now)
    return await _view(actor, dealer)


async def set_many(actor: Actor, dealer_id: int | None, quantities: dict[int, int]) -> CartView:
    """Set several lines at once (the variant grid), in base units; 0 removes a line.

    All or nothing: any invalid quantity refuses the whole grid, with an error per SKU
    (field = the SKU id as text).
    """
    dealer = await ordering_dealer(actor, dealer_id)
    wanted = {int(k): v for k, v in quantities.items()}
    errors: list[FieldError] = []
    positive = [k for k, v in wanted.items() if isinstance(v, int) and v > 0]
    items = await catalog.items_by_ids(actor, dealer, positive) if positive else {}
    for sku_id, qty in wanted.items():
        fname = str(sku_id)
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or qty > MAX_LINE_QTY:
            errors.append(
                FieldError(
                    fname,
                    _("The quantity must be a whole number from 0 to %(max)s."),
                    {"max": MAX_LINE_QTY},
                )
            )
            continue
        if qty == 0:
            continue
        item = items.get(sku_id)
        if item is None:
            errors.append(FieldError(fname, _("%(sku)s is not available."), {"sku": f"#{sku_id}"}))
            continue
        errors.extend(
            check_line(
                item.code, qty, moq=item.moq, order_multiple=item.order_multiple, field=fname
            )
        )
    if errors:
        raise _refuse(errors)
    now = _now()
    async with write_transaction():
        cart_id = await _ensure_cart(dealer["id"], actor.user_id, now)
        for sku_id in sorted(wanted):
            await _put_line(cart_id, sku_id, wanted[sku_id], now)
        await _touch(cart_id, now)
    return await _view(actor, dealer)


async def quick_add(
    actor: Actor, dealer_id: int | None, text: str
) -> tuple[CartView, list[FieldError]]:
    """Add pasted "SKU qty [unit]" lines; quantities add to what the cart already holds.

    All or nothing: each invalid line is reported (field "line N") and then none is added,
    so that fixing the text and sending it again adds every line once.
    """
    dealer = await ordering_dealer(actor, dealer_id)
    parsed, errors = parse_quick_order(text)
    found = await catalog.find_skus(
        actor, dealer, [code for _n, code, _q, _u in parsed], history=False
    )
    current = await _current_qty(dealer["id"], actor.user_id)
    adds: dict[int, int] = {}
    for line_no, code, qty, unit in parsed:
        fname = f"line {line_no}"
        item = found.get(code.strip())
        if item is None:
            errors.append(
                FieldError(
                    fname,
                    _("Line %(line)s: %(sku)s is not available."),
                    {"line": line_no, "sku": code},
                )
            )
            continue
        try:
            qty_base = to_base_units(qty, unit, base_unit=item.unit, packs=dict(item.packs))
        except ValidationFailed:
            errors.append(
                FieldError(
                    fname,
                    _("Line %(line)s: %(sku)s has no unit %(unit)s."),
                    {"line": line_no, "sku": item.code, "unit": unit},
                )
            )
            continue
        combined = current.get(item.sku_id, 0) + adds.get(item.sku_id, 0) + qty_base
        problems = check_line(
            item.code, combined, moq=item.moq, order_multiple=item.order_multiple, field=fname
        )
        if problems:
            # Said with its line number, as every other line's problem is (a 500-row file).
            errors.extend(
                FieldError(fname, _("Line %(line)s: %(problem)s"), {"line": line_no, "problem": p})
                for p in problems
            )
            continue
        adds[item.sku_id] = adds.get(item.sku_id, 0) + qty_base
    if adds and not errors:
        now = _now()
        async with write_transaction():
            cart_id = await _ensure_cart(dealer["id"], actor.user_id, now)
            for sku_id in sorted(adds):
                await fetch(
                    "INSERT INTO cart_line (cart, sku, qty, added_at) VALUES ({}, {}, {}, {}) "
                    "ON CONFLICT (cart, sku) DO UPDATE SET qty = cart_line.qty + excluded.qty",
                    cart_id,
                    sku_id,
                    adds[sku_id],
                    now,
                )
            await _touch(cart_id, now)
    errors.sort(key=lambda e: int(e.params.get("line", 0) or 0))
    return await _view(actor, dealer), errors


async def reorder(actor: Actor, order_id: int) -> tuple[CartView, list[FieldError]]:
    """Put a past order's lines in the cart at today's prices (adding to what is there).

    SKUs no longer available, or whose quantity no longer meets the rules, are reported.
    """
    row = await orders.order_in_scope(actor, order_id)
    dealer = await ordering_dealer(actor, row["dealer"])
    lines = (
        await OrderLine.select(OrderLine.sku, OrderLine.sku_code, OrderLine.qty)
        .where(OrderLine.order == order_id)
        .where(OrderLine.price_rule != orders.RULE_GIFT)  # gifts come again only if earned
        .order_by(OrderLine.id)
    )
    items = await catalog.items_by_ids(actor, dealer, [ln["sku"] for ln in lines])
    current = await _current_qty(dealer["id"], actor.user_id)
    errors: list[FieldError] = []
    new_qty: dict[int, int] = {}
    for ln in lines:
        item = items.get(ln["sku"])
        if item is None:
            errors.append(
                FieldError(
                    ln["sku_code"], _("%(sku)s is no longer available."), {"sku": ln["sku_code"]}
                )
            )
            continue
        combined = new_qty.get(item.sku_id, current.get(item.sku_id, 0)) + ln["qty"]
        problems = check_line(
            item.code,
            combined,
            moq=item.moq,
            order_multiple=item.order_multiple,
            field=item.code,
        )
        if problems:
            errors.extend(problems)
            continue
        new_qty[item.sku_id] = combined
    if new_qty:
        now = _now()
        async with write_transaction():
            cart_id = await _ensure_cart(dealer["id"], actor.user_id, now)
            for sku_id in sorted(new_qty):
                await _put_line(cart_id, sku_id, new_qty[sku_id], now)
            await _touch(cart_id, now)
    return await _view(actor, dealer), errors


async def update_details(
    actor: Actor,
    dealer_id: int | None,
    *,
    address_id: int | None,
    requested_date: date | None,
    note: str,
    now: datetime | None = None,
) -> CartView:
    """Ship-to address, requested date and note for the coming order."""
    dealer = await ordering_dealer(actor, dealer_id)
    now = now or _now()
    note = (note or "").strip()
    errors = orders.check_details(requested_date, note, now)
    if address_id is not None:
        ok = await Address.exists().where(
            (Address.id == address_id) & (Address.dealer == dealer["id"])
        )
        if not ok:
            errors.append(FieldError("address_id", _("Choose one of the dealer's addresses.")))
    if errors:
        raise _refuse(errors)
    async with write_transaction():
        cart_id = await _ensure_cart(dealer["id"], actor.user_id, now)
        await Cart.update(
            {
                Cart.address: address_id,
                Cart.requested_date: requested_date,
                Cart.note: note,
                Cart.updated_at: now,
            }
        ).where(Cart.id == cart_id)
    return await _view(actor, dealer)


async def clear(actor: Actor, dealer_id: int | None) -> None:
    """Empty the cart and forget its details."""
    dealer = await ordering_dealer(actor, dealer_id)
    cart = await _cart_row(dealer["id"], actor.user_id)
    if cart is None:
        return
    now = _now()
    async with write_transaction():
        await CartLine.delete().where(CartLine.cart == cart["id"])
        await Cart.update(
            {Cart.address: None, Cart.requested_date: None, Cart.note: "", Cart.updated_at: now}
        ).where(Cart.id == cart["id"])
