"""The audit log for administrators and finance: who changed what and when, before and after,
filtered by what was changed, the kind of change and the days."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from portal import i18n
from portal.domain import audit, ledger, orders, returns, shipments
from portal.domain.errors import ValidationFailed, _
from portal.web.common import field_errors, page
from portal.web.me import ROLE_LABELS
from portal.web.statement import parse_period

# Where each kind of entry's subject is shown, for those with a page of their own.
ENTITY_PAGES = {
    "order": "/orders/{}",
    "dealer": "/dealers/{}",
    "sku": "/admin/skus/{}",
    "shipment": "/shipments/{}",
    "return": "/returns/{}",
    "user": "/admin/users/{}",
    "warehouse": "/admin/warehouses/{}",
    "tier": "/admin/tiers/{}",
    "category": "/admin/categories/{}",
    "promotion": "/admin/promotions/{}",
    "webhook_endpoint": "/admin/webhooks/{}",
    "approval_rule": "/admin/approval-rules/{}",
    "supplier_settings": "/admin/settings",
    "api_key": "/me/api-keys",
}


# Finance reads the log too, but opens only these pages (the rest are the administrator's).
FINANCE_PAGES = frozenset({"order", "dealer", "shipment", "return"})


def subject_href(role: str, entry: audit.EntryView) -> str | None:
    """Where the entry's subject is shown to this reader, or None (no page, or not theirs)."""
    if not entry.entity_id.isdigit():
        return None
    if entry.entity == "user" and entry.user_dealer_id is not None:
        # A dealer's user is kept on the dealer's pages, by its administrator or an admin.
        if role != "admin":
            return None
        return f"/dealers/{entry.user_dealer_id}/users/{entry.entity_id}"
    href = ENTITY_PAGES.get(entry.entity)
    if href is None or (role != "admin" and entry.entity not in FINANCE_PAGES):
        return None
    return href.format(entry.entity_id)


# What each kind of subject is called on the page (the log keeps the code).
ENTITY_LABELS = {
    "order": _("Sales order"),
    "dealer": _("Dealer"),
    "dealer_address": _("Address"),
    "sku": _("SKU"),
    "tier_price": _("Tier price"),
    "volume_break": _("Volume break"),
    "contract_price": _("Contract price"),
    "product": _("Product"),
    "stock_level": _("Stock"),
    "shipment": _("Shipment"),
    "return": _("Return"),
    "user": _("User"),
    "warehouse": _("Warehouse"),
    "tier": _("Price tier"),
    "category": _("Category"),
    "promotion": _("Promotion"),
    "webhook_endpoint": _("Webhook"),
    "webhook_delivery": _("Webhook delivery"),
    "approval_rule": _("Approval rule"),
    "supplier_settings": _("Supplier settings"),
    "api_key": _("Integration key"),
}


# What each kind of change is called on the page (the log keeps the code, shown beside it).
ACTION_LABELS = {
    "order.submitted": _("Order submitted"),
    "order.approved": _("Order approved"),
    "order.step_approved": _("Approval step passed"),
    "order.rejected": _("Order rejected"),
    "order.returned": _("Order sent back to the dealer"),
    "order.resubmitted": _("Order resubmitted"),
    "order.adjusted": _("Order adjusted"),
    "order.cancelled": _("Order cancelled"),
    "order.remainder_closed": _("Rest of the order closed"),
    "order.backorder_reserved": _("Backorder reserved"),
    "shipment.packed": _("Shipment packed"),
    "shipment.shipped": _("Shipment shipped"),
    "shipment.cancelled": _("Shipment cancelled"),
    "shipment.received": _("Shipment received"),
    "return.requested": _("Return requested"),
    "return.approved": _("Return approved"),
    "return.rejected": _("Return rejected"),
    "return.received": _("Return received"),
    "ledger.payment": _("Payment recorded"),
    "ledger.prepayment": _("Prepayment recorded"),
    "ledger.credit_note": _("Credit note"),
    "ledger.reversed": _("Entry reversed"),
    "dealer.credit_terms": _("Credit terms changed"),
    "dealer.reassigned": _("Dealer reassigned"),
    "dealer.created": _("Dealer added"),
    "dealer.updated": _("Dealer changed"),
    "stock.receipt": _("Stock received"),
    "stock.count": _("Stock counted"),
    "stock.damage": _("Stock written off as damaged"),
    "stock.transfer_out": _("Stock moved out to another warehouse"),
    "stock.transfer_in": _("Stock moved in from another warehouse"),
    "price.saved": _("Price set"),
    "price.removed": _("Price removed"),
    "user.created": _("User added"),
    "user.updated": _("User changed"),
    "user.password_changed": _("Password changed"),
    "user.password_reset": _("Password reset"),
    "user.warehouses": _("Warehouses of a user changed"),
    "address.saved": _("Address saved"),
    "address.deleted": _("Address removed"),
    "api_key.created": _("Integration key made"),
    "api_key.revoked": _("Integration key revoked"),
    "approval_rule.saved": _("Approval rule saved"),
    "category.saved": _("Category saved"),
    "category.deleted": _("Category removed"),
    "tier.deleted": _("Price tier removed"),
    "category.imported": _("Category imported"),
    "dealer.imported": _("Dealer imported"),
    "dealer.review_flag": _("Dealer flagged for review"),
    "order.stock_gave_way": _("Reserved stock gave way"),
    "product.created": _("Product added"),
    "product.saved": _("Product changed"),
    "product.imported": _("Product imported"),
    "product.image": _("Product picture changed"),
    "product.picture_added": _("Product picture added"),
    "product.picture_removed": _("Product picture removed"),
    "product.visibility": _("Product visibility changed"),
    "promotion.created": _("Promotion added"),
    "promotion.updated": _("Promotion changed"),
    "return.photos_added": _("Return photos added"),
    "shipment.delivered": _("Shipment delivered"),
    "shipment.tracking_corrected": _("Carrier or tracking number corrected"),
    "sku.created": _("SKU added"),
    "sku.saved": _("SKU changed"),
    "sku.imported": _("SKU imported"),
    "sku.packs": _("Pack units changed"),
    "sku.safety_stock": _("Safety stock changed"),
    "supplier.settings_saved": _("Supplier settings saved"),
    "tier.saved": _("Price tier saved"),
    "warehouse.saved": _("Warehouse saved"),
    "webhook.saved": _("Webhook saved"),
    "webhook.deleted": _("Webhook removed"),
    "webhook.secret_rotated": _("Webhook secret replaced"),
    "webhook.delivery_retried": _("Webhook delivery sent again"),
}

# What the commonest recorded fields are called on the page (others show their code).
KEY_LABELS = {
    "credit_limit_fen": _("Credit limit"),
    "payment_terms_days": _("Payment terms"),
    "balance_fen": _("Balance"),
    "amount_fen": _("Amount"),
    "total_fen": _("Order total"),
    "price_fen": _("Unit price"),
    "discount_fen": _("Discount"),
    "on_hand": _("On hand"),
    "reserved": _("Reserved"),
    "role": _("Role"),
    "display_name": _("Name"),
    "phone": _("Phone"),
    "active": _("Active"),
    "note": _("Note"),
    "reference": _("Reference"),
    "method": _("Method"),
    "status": _("State"),
    "manager": _("Sales manager"),
    "name": _("Name"),
    "code": _("Code"),
    "barcode": _("Barcode"),
    "base_price_fen": _("Base price"),
    "percent_bp": _("Percentage of the base price"),
    "moq": _("Minimum order"),
    "order_multiple": _("Order multiple"),
    "safety_stock": _("Safety stock"),
    "allow_backorder": _("Backorders accepted"),
    "weight_g": _("Weight (g)"),
    "packs": _("Pack units"),
    "spec": _("Spec"),
    "colour": _("Colour"),
    "brand": _("Brand"),
    "category": _("Category"),
    "description": _("Description"),
    "image": _("Picture"),
    "tier": _("Price tier"),
    "region": _("Region"),
    "contact_phone": _("Phone"),
    "email": _("Email"),
    "username": _("Username"),
    "locale": _("Language"),
    "discount_authority_bp": _("Discount authority"),
    "warehouse_ids": _("Warehouses"),
    "default_warehouse": _("Default warehouse"),
    "credit_tolerance_fen": _("Tolerance over the limit (amount)"),
    "credit_tolerance_bp": _("Tolerance over the limit (percent)"),
    "over_credit_policy": _("Over the credit limit"),
    "overdue_policy": _("Overdue invoices"),
    "carrier": _("Carrier"),
    "tracking_no": _("Tracking number"),
    "qty": _("Quantity"),
    "reason": _("Reason"),
    "label": _("Label"),
    "contact": _("Contact"),
    "line": _("Address"),
    "is_default": _("Default"),
    "priority": _("Priority"),
    "url": _("Address"),
    "events": _("Events"),
    "threshold_fen": _("Threshold"),
    "save_fen": _("Saving"),
    "starts_on": _("Starts on"),
    "ends_on": _("Ends on"),
    "cost_price_fen": _("Cost"),
    "rep": _("Sales rep"),
    "warehouse_id": _("Warehouse"),
    "warehouse": _("Warehouse"),
    "order_id": _("Order"),
    "number": _("Number"),
    "credit_fen": _("Credited"),
    "dealer_balance_fen": _("Dealer's balance"),
    "accepted": _("Accepted"),
    "lines": _("Lines"),
    "reserved_here": _("Reserved here"),
    "backordered": _("Backordered"),
    "backordered_more": _("Backordered more"),
    "delta": _("Change"),
    "reversed_entry": _("Reversed entry"),
    "reversed_kind": _("Reversed"),
    "value_date": _("Value date"),
    "open_orders_fen": _("Open orders"),
    "list_total_fen": _("List total"),
    "dealer_id": _("Dealer"),
    "dealer": _("Dealer"),
    "sku_id": _("SKU"),
    "order_line_id": _("Order line"),
    "approval_steps": _("Approval steps"),
    "dealer_open_orders_fen": _("Dealer's open orders"),
    "over_credit": _("Over the credit limit"),
    "unit_price_fen": _("Unit price"),
    "ref_price_fen": _("Dealer's own price"),
    "decision": _("Decision"),
    "rule_kind": _("Rule"),
    "entry_id": _("Entry"),
}
# A payment's method and a reversed entry's kind, by their labels.
_CODE_LABELS = {**ledger.PAYMENT_METHOD_LABELS, **ledger.KIND_LABELS}
LINE_MAP_KEYS, Names, names_for, _line_map = (
    audit.LINE_MAP_KEYS,
    audit.Names,
    audit.names_for,
    audit.line_map,
)


_YES_NO = {"true": _("Yes"), "false": _("No")}
_WHOLE = re.compile(r"^-?\d{1,18}$")


@dataclass(frozen=True)
class ShownChange:
    label: str
    code: str
    before: str
    after: str


# Whose states a "status" field holds, by what the entry is about.
_STATES = {
    "return": returns.STATUS_LABELS,
    "shipment": shipments.STATUS_LABELS,
    "order": orders.STATUS_LABELS,
}


def _shown_value(key: str, text: str, entity: str = "", names: Names | None = None) -> str:
    """A recorded value as a reader expects it: fen as yuan (¥), basis points as a percentage,
    a role by its name, an order's, shipment's or return's state by its label (as its pill),
    people, warehouses and orders by name and number, order lines by SKU code, a payment's
    method by its label, true and false as yes and no; anything else as recorded."""
    names = names or Names()
    if (named := names.of(key, text)) is not None:
        return named
    if key == "reversed_entry" and text in names.entries:
        kind, amount, at = names.entries[text]
        label = ledger.KIND_LABELS.get(kind, kind)
        return f"{i18n.gettext(label)} {i18n.money(-amount)} · {i18n.local_datetime(at)}"
    if key in LINE_MAP_KEYS and (m := _line_map(text)) is not None:
        return ", ".join(f"{names.lines.get(str(k), '#' + str(k))} × {v}" for k, v in m.items())
    if text in ("[]", "{}"):
        return "—"
    if (items := audit.record_list(text)) is not None:
        return "; ".join(_shown_item(item, names) for item in items)
    if key == "approval_steps" and text.startswith("[["):
        return _shown_steps(text)
    if key in ("method", "reversed_kind") and text in _CODE_LABELS:
        return i18n.gettext(_CODE_LABELS[text])
    if _WHOLE.match(text):
        if key.endswith("_fen"):
            return i18n.money(int(text))
        if key.endswith("_bp"):
            return f"{i18n.number(int(text) / 100)}%"
    if key == "role" and text in ROLE_LABELS:
        return i18n.gettext(ROLE_LABELS[text])
    if key.endswith("status"):  # status, order_status: the same words their pages show
        own = _STATES.get("order" if key == "order_status" else entity)
        state = (own or {}).get(text) or (
            None
            if own
            else orders.STATUS_LABELS.get(text)
            or shipments.STATUS_LABELS.get(text)
            or returns.STATUS_LABELS.get(text)
        )
        if state:
            return i18n.gettext(state)
    if text in _YES_NO:
        return i18n.gettext(_YES_NO[text])
    if text == "null":
        return "—"  # recorded as JSON null: nothing set
    return text


def _shown_item(item: dict[str, Any], names: Names) -> str:
    """One recorded dict of a list (a reservation, a line) as a short phrase: what it is
    about by name or code, quantities as × n, amounts in yuan, other fields labelled."""
    what: list[str] = []  # the SKU, the warehouse: first
    parts: list[str] = []
    qty = ""
    for k, v in item.items():
        if v is None or v == "":
            continue
        if k == "qty":
            qty = f"× {v}"
        elif (named := names.of(k, v)) is not None:
            what.append(named)
        elif k in ("sku_code", "sku", "code"):
            what.append(str(v))
        elif k.endswith("_fen") and isinstance(v, int):
            label = i18n.gettext(KEY_LABELS[k]) if k in KEY_LABELS else k
            parts.append(f"{label} {i18n.money(v)}")
        elif k == "rule":
            parts.append(str(v))
        else:
            label = i18n.gettext(KEY_LABELS[k]) if k in KEY_LABELS else k
            parts.append(f"{label} {v}")
    return " · ".join(what + ([qty] if qty else []) + parts)


def _shown_steps(text: str) -> str:
    """Approval steps recorded as [[role, rule kind], ...]: the roles by name, in order."""
    try:
        steps = json.loads(text)
    except ValueError:
        return text
    shown = []
    for step in steps if isinstance(steps, list) else []:
        role = str(step[0]) if isinstance(step, list) and step else ""
        shown.append(i18n.gettext(ROLE_LABELS[role]) if role in ROLE_LABELS else role)
    return " → ".join(shown) or "—"


def shown_changes(
    changes: list[audit.Change], entity: str = "", names: Names | None = None
) -> list[ShownChange]:
    """The entry's changes as read (`entity`: what it is about, whose states a status has:
    a return's "received" is not a parcel's 已签收; `names`: what recorded ids are called)."""
    return [
        ShownChange(
            label=i18n.gettext(KEY_LABELS[c.key]) if c.key in KEY_LABELS else c.key,
            code=c.key,
            before=_shown_value(c.key, c.before, entity, names) if c.before else "",
            after=_shown_value(c.key, c.after, entity, names) if c.after else "",
        )
        for c in changes
    ]


def _text(raw: str | None, limit: int) -> str:
    return (raw or "").strip()[: limit + 1]  # one over: the domain says it is too long


@get("/admin/audit", include_in_schema=False)
async def audit_log(
    request: Request,
    entity: FromQuery[str | None] = None,
    entity_id: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
    page_no: FromQuery[str | None] = None,
) -> Template:
    audit.require_reader(request.user)  # before the filters: others learn nothing from them
    values = {
        "entity": _text(entity, 30),
        "entity_id": _text(entity_id, 40),
        "action": _text(action, 50),
        "start": _text(start, 10),
        "end": _text(end, 10),
    }
    number = int(page_no) if (page_no or "").isdigit() and 0 < int(page_no) < 100_000 else 1
    errors: dict[str, str] = {}
    result = None
    try:
        first, last = parse_period(values["start"], values["end"])
        log_filter = audit.LogFilter(
            values["entity"], values["entity_id"], values["action"], first, last
        )
        result = await audit.list_entries(request.user, log_filter, page=number)
    except ValidationFailed as exc:
        errors = field_errors(exc)
    query = {k: v for k, v in values.items() if v}
    context = {
        "result": result,
        "values": values,
        "errors": errors,
        "entity_labels": ENTITY_LABELS,
        "shown_changes": shown_changes,
        "names": await names_for(result.items) if result else Names(),
        "subject_href": lambda entry: subject_href(request.user.role, entry),
        "action_labels": ACTION_LABELS,
        "prev_url": "/admin/audit?" + urlencode({**query, "page_no": number - 1}),
        "next_url": "/admin/audit?" + urlencode({**query, "page_no": number + 1}),
        "show_acting_banner": False,
    }
    return page(
        request, "admin/audit.html", context, active_tab="me", status=422 if errors else 200
    )


ROUTES = [audit_log]
