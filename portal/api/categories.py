"""API: the category tree (商品分类), kept by administrators."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter
from msgspec import Meta, Struct

from portal.api.schemas import In, change_of, kept, problems
from portal.domain import categories
from portal.domain.scope import Actor

CategoryId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class CategoryIn(In):
    name: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=categories.NAME_MAX,
            examples=["饮料"],
            description="unique among the categories under the same parent, ignoring case",
        ),
    ]
    parent_id: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=2**31 - 1,
                description="the category it sits under; null: the top level. Never itself "
                "or one of its sub-categories",
            ),
        ]
        | None
    ) = None
    sort: Annotated[
        int,
        Meta(
            ge=-categories.SORT_LIMIT,
            le=categories.SORT_LIMIT,
            description="lower is listed first among its siblings",
        ),
    ] = 0


# A change sends what changes: a rename keeps the category where it is (a PUT of the name
# alone had moved it to the top level and reset its sort).
CategoryChangeIn = change_of(CategoryIn, "CategoryChangeIn")


class CategoryOut(Struct):
    id: int
    name: str
    parent_id: int | None
    sort: int
    depth: Annotated[int, Meta(description="0: a top-level category")]
    path: Annotated[list[str], Meta(description="names from the top level down to this one")]
    children: Annotated[int, Meta(description="sub-categories directly under it")]
    products: Annotated[int, Meta(description="products directly in it")]
    products_in_tree: Annotated[int, Meta(description="products in it and its sub-categories")]


def _out(row: dict[str, Any]) -> CategoryOut:
    return CategoryOut(
        id=row["id"],
        name=row["name"],
        parent_id=row["parent"],
        sort=row["sort"],
        depth=row["depth"],
        path=row["path"],
        children=row["children"],
        products=row["products"],
        products_in_tree=row["products_in_tree"],
    )


def _input(data: CategoryIn) -> categories.CategoryInput:
    return categories.CategoryInput(name=data.name, parent_id=data.parent_id, sort=data.sort)


@get(
    "/api/v1/admin/categories",
    tags=["catalog"],
    summary="The category tree, depth first (each category after its parent, by sort then name)",
    responses=problems(401, 403),
)
async def list_categories(request: Request[Actor, Any, Any]) -> list[CategoryOut]:
    return [_out(r) for r in await categories.list_categories(request.user)]


@post(
    "/api/v1/admin/categories",
    tags=["catalog"],
    summary="Add a category",
    status_code=201,
    responses=problems(401, 403, 422),
)
async def create_category(
    request: Request[Actor, Any, Any], data: JSONBody[CategoryIn]
) -> CategoryOut:
    return _out(await categories.save_category(request.user, None, _input(data)))


@get(
    "/api/v1/admin/categories/{category_id:int}",
    tags=["catalog"],
    summary="A category",
    responses=problems(401, 403, 404),
)
async def get_category(request: Request[Actor, Any, Any], category_id: CategoryId) -> CategoryOut:
    return _out(await categories.get_category(request.user, category_id))


@put(
    "/api/v1/admin/categories/{category_id:int}",
    tags=["catalog"],
    summary="Rename, move or re-sort a category (its sub-categories and products move with it)",
    description="Send what changes: a field left out keeps its value; `parent_id: null` moves "
    "the category to the top level.",
    responses=problems(401, 403, 404, 422),
)
async def update_category(
    request: Request[Actor, Any, Any], category_id: CategoryId, data: JSONBody[CategoryChangeIn]
) -> CategoryOut:
    row = await categories.get_category(request.user, category_id)
    current = CategoryIn(name=row["name"], parent_id=row["parent"], sort=row["sort"])
    full = kept(data, current, CategoryIn)
    return _out(await categories.save_category(request.user, category_id, _input(full)))


@delete(
    "/api/v1/admin/categories/{category_id:int}",
    tags=["catalog"],
    summary="Remove a category nothing uses (409 says what still uses it)",
    status_code=204,
    responses=problems(401, 403, 404, 409),
)
async def delete_category(request: Request[Actor, Any, Any], category_id: CategoryId) -> None:
    await categories.delete_category(request.user, category_id)


ROUTES = [list_categories, create_category, get_category, update_category, delete_category]
