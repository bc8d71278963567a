"""Products' uploaded pictures (商品图片), served to staff and, where the catalog shows them the
product, to dealers' users (portal.domain.catalog_admin.get_product_picture decides; anything
else is a 404, which the app's default Cache-Control keeps out of every cache). Uploading
one is the administrators' (portal.web.catalog_admin)."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Response

from portal.domain import catalog_admin, photos


def picture_response(picture: catalog_admin.PictureFile, name: str) -> Response:
    """A stored picture. A new upload gets a new id, so what an address serves never changes:
    the viewer's browser may keep it for good (never a shared cache: it is behind sign-in, and
    not every user may see it). Only for a picture found: a refusal must not be kept."""
    return Response(
        content=picture.data,
        media_type=picture.content_type,
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{name}"',
        },
    )


def _name(picture: catalog_admin.PictureFile, picture_id: int, suffix: str = "") -> str:
    ext = photos.EXTENSIONS.get(picture.content_type, "bin")
    return f"product-{picture_id}{suffix}.{ext}"


@get("/pictures/products/{picture_id:int}", include_in_schema=False)
async def product_picture(request: Request, picture_id: FromPath[int]) -> Response:
    picture = await catalog_admin.get_product_picture(request.user, picture_id)
    return picture_response(picture, _name(picture, picture_id))


@get("/pictures/products/{picture_id:int}/thumb", include_in_schema=False)
async def product_picture_thumb(request: Request, picture_id: FromPath[int]) -> Response:
    picture = await catalog_admin.get_product_picture(request.user, picture_id, thumbnail=True)
    return picture_response(picture, _name(picture, picture_id, "-thumb"))


ROUTES = [product_picture, product_picture_thumb]
