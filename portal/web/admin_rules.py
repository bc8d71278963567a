"""Approval rules for administrators: list, add, edit, deactivate."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Response, Template

from portal import i18n
from portal.domain import approvals, orders
from portal.domain.errors import ValidationFailed, _
from portal.domain.money import from_fen, parse_amount, to_fen
from portal.web.common import checked, done, field_errors, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _form(rule: dict | None = None, errors: dict[str, str] | None = None, **values: Any) -> dict:
    return {
        "rule": rule,
        "values": values,
        "errors": errors or {},
        "kinds": [(k, approvals.RULE_LABELS[k]) for k in orders.RULE_KINDS],
        "roles": [(r, approvals.ROLE_LABELS[r]) for r in approvals.APPROVER_ROLES],
        "kind_labels": approvals.RULE_LABELS,
        "role_labels": approvals.ROLE_LABELS,
        # Not an ordering page: no "order for which dealer?" banner.
        "show_acting_banner": False,
    }


@get("/admin/approval-rules", include_in_schema=False)
async def rule_list(request: Request) -> Template:
    rules = await approvals.list_rules(request.user)
    context = {"rules": rules, **_form()}
    return page(request, "admin/rules.html", context, active_tab="me")


@get("/admin/approval-rules/{rule_id:int}", include_in_schema=False)
async def rule_edit(request: Request, rule_id: FromPath[int]) -> Template:
    rule = await approvals.get_rule(request.user, rule_id)
    context = _form(
        rule,
        kind=rule["kind"],
        approver_role=rule["approver_role"],
        step_order=rule["step_order"],
        amount=str(from_fen(rule["amount_fen"])) if rule["amount_fen"] else "",
        count=rule["count"] or "",
        active=rule["active"],
    )
    return page(request, "admin/rule_edit.html", context, active_tab="me")


def _parse(data: dict[str, Any]) -> tuple[approvals.RuleInput | None, dict[str, str]]:
    errors: dict[str, str] = {}
    amount_fen = 0
    if str(data.get("amount") or "").strip():
        try:
            amount_fen = to_fen(parse_amount(str(data["amount"])[:20]))
        except ValueError:
            errors["amount"] = i18n.gettext("Enter an amount such as 5000 or 5000.00.")

    def whole(name: str, default: int) -> int:
        raw = str(data.get(name) or "").strip()
        if not raw:
            return default
        if raw.lstrip("-").isdigit() and len(raw) < 6:
            return int(raw)
        errors[name] = i18n.gettext("Enter a whole number.")
        return default

    count = whole("count", 0)
    step_order = whole("step_order", 10)
    if errors:
        return None, errors
    return (
        approvals.RuleInput(
            kind=str(data.get("kind") or ""),
            approver_role=str(data.get("approver_role") or ""),
            step_order=step_order,
            amount_fen=amount_fen,
            count=count,
            active=checked(data, "active"),
        ),
        {},
    )


async def _save(request: Request, rule_id: int | None, data: Form) -> Response:
    values, errors = _parse(data)
    if values is not None:
        try:
            await approvals.save_rule(request.user, rule_id, values)
            return done(
                "/admin/approval-rules", _("Rule added.") if rule_id is None else _("Saved.")
            )
        except ValidationFailed as exc:
            errors = field_errors(exc)
    rule = await approvals.get_rule(request.user, rule_id) if rule_id else None
    shown = {
        k: str(data.get(k) or "")[:30]
        for k in ("kind", "approver_role", "step_order", "amount", "count")
    }
    shown["active"] = checked(data, "active")
    context = _form(rule, errors, **shown)
    if rule_id is None:
        context["rules"] = await approvals.list_rules(request.user)
    template = "admin/rule_edit.html" if rule_id else "admin/rules.html"
    return page(request, template, context, active_tab="me", status=422)


@post("/admin/approval-rules", include_in_schema=False)
async def rule_add(request: Request, data: Form) -> Response:
    return await _save(request, None, data)


@post("/admin/approval-rules/{rule_id:int}", include_in_schema=False)
async def rule_save(request: Request, rule_id: FromPath[int], data: Form) -> Response:
    return await _save(request, rule_id, data)


ROUTES = [rule_list, rule_edit, rule_add, rule_save]
