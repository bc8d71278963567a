"""Categories (商品分类) for administrators: the tree with product counts, add, edit (rename,
move, re-sort), remove unused."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Response, Template

from portal import i18n
from portal.domain import categories
from portal.domain.errors import Conflict, ValidationFailed, _
from portal.web.common import done, field_errors, in_use_lines, page

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
FIELDS = ("name", "parent", "sort")
NOT_A_CATEGORY = -1  # what a parent that is not a number reads as: refused by the domain


def _whole(text: str, default: int, refused: int) -> int:
    text = text.strip()[:12]
    digits = text.removeprefix("-")
    if not text:
        return default
    return int(text) if digits.isascii() and digits.isdigit() else refused


def _input(data: dict[str, Any]) -> categories.CategoryInput:
    parent = str(data.get("parent") or "").strip()
    return categories.CategoryInput(
        name=str(data.get("name") or "")[:100],
        parent_id=None if not parent else _whole(parent, NOT_A_CATEGORY, NOT_A_CATEGORY),
        sort=_whole(str(data.get("sort") or ""), 0, 10_000),  # 10_000: refused
    )


def _values(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(data.get(k) or "")[:100] for k in FIELDS}


async def _page(request: Request, template: str, status: int = 200, **extra: Any) -> Template:
    context = {
        "errors": {},
        "values": {"sort": 0, "parent": ""},
        # Not an ordering page: no "order for which dealer?" banner.
        "show_acting_banner": False,
        **extra,
    }
    if template == "admin/categories.html":
        context["categories"] = await categories.list_categories(request.user)
        context["parents"] = context["categories"]
    else:
        context["in_use"] = in_use_lines(categories.USES, context["category"])
        context["parents"] = context["category"]["parents"]
    return page(request, template, context, active_tab="me", status=status)


def _edit_values(row: dict[str, Any]) -> dict[str, Any]:
    parent = row["parent"]
    return {
        "name": row["name"],
        "parent": "" if parent is None else str(parent),
        "sort": row["sort"],
    }


@get("/admin/categories", include_in_schema=False)
async def category_list(request: Request) -> Template:
    return await _page(request, "admin/categories.html")


@post("/admin/categories", include_in_schema=False)
async def category_add(request: Request, data: Form) -> Response:
    try:
        await categories.save_category(request.user, None, _input(data))
    except ValidationFailed as exc:
        return await _page(
            request, "admin/categories.html", 422, values=_values(data), errors=field_errors(exc)
        )
    return done("/admin/categories", _("Category added."))


@get("/admin/categories/{category_id:int}", include_in_schema=False)
async def category_edit(request: Request, category_id: FromPath[int]) -> Template:
    row = await categories.get_category(request.user, category_id)
    return await _page(request, "admin/category_edit.html", category=row, values=_edit_values(row))


@post("/admin/categories/{category_id:int}", include_in_schema=False)
async def category_save(request: Request, category_id: FromPath[int], data: Form) -> Response:
    try:
        await categories.save_category(request.user, category_id, _input(data))
    except ValidationFailed as exc:
        row = await categories.get_category(request.user, category_id)  # 404 if unknown
        return await _page(
            request,
            "admin/category_edit.html",
            422,
            category=row,
            values=_values(data),
            errors=field_errors(exc),
        )
    return done("/admin/categories", _("Saved."))


@post("/admin/categories/{category_id:int}/delete", include_in_schema=False)
async def category_delete(request: Request, category_id: FromPath[int]) -> Response:
    try:
        await categories.delete_category(request.user, category_id)
    except Conflict as exc:
        # Something came to use the category since the page was shown: say what, on its page.
        row = await categories.get_category(request.user, category_id)
        return await _page(
            request,
            "admin/category_edit.html",
            409,
            category=row,
            values=_edit_values(row),
            refusal=i18n.error_message(exc),
        )
    return done("/admin/categories", _("Category removed."))


ROUTES = [category_list, category_add, category_edit, category_save, category_delete]
