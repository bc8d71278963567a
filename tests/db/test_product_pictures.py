"""Product pictures uploaded by an administrator, on both engines: checked by content, kept
re-encoded without EXIF as the product's one picture (its image becomes the portal's own
address), replaced by the next upload, gone with the address; refusals write nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from portal import i18n
from portal.domain import catalog_admin, photos
from portal.domain.catalog_admin import SkuChange
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import AuditEntry, Product, ProductPicture, Sku
from tests import factories as f
from tests.db.test_return_photos import picture as return_photo

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def picture(fmt: str = "JPEG", size: tuple[int, int] = (400, 300), *, exif: bool = False) -> bytes:
    return return_photo(fmt, size, exif=exif)


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier()
    dealer = await f.dealer(tier)
    water = await f.sku(code="W550", name="农夫山泉 550ml")
    return {
        "admin": f.actor(await f.user("admin")),
        "buyer": f.actor(await f.user("dealer_buyer", dealer)),
        "water": water,
        "product_id": water["product"],
    }


async def image_of(product_id: int) -> str:
    row = await Product.select(Product.image).where(Product.id == product_id).first()
    return row["image"]


async def state(product_id: int) -> tuple:
    rows = await ProductPicture.select(ProductPicture.id).order_by(ProductPicture.id)
    return (await image_of(product_id), [r["id"] for r in rows], await AuditEntry.count())


def chinese(exc: ValidationFailed) -> dict[str, str]:
    i18n.set_locale("zh_Hans")
    try:
        return {e.field: i18n.field_message(e) for e in exc.errors}
    finally:
        i18n.set_locale("en")


async def test_a_jpeg_is_kept_without_exif_as_the_products_picture(shop):
    p = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("货架.jpg", picture(exif=True)), now=NOW
    )
    rows = await ProductPicture.select()
    assert len(rows) == 1
    row = rows[0]
    assert p["image"] == f"/pictures/products/{row['id']}" == await image_of(shop["product_id"])
    assert row["product"] == shop["product_id"] and row["content_type"] == "image/jpeg"
    stored = Image.open(io.BytesIO(bytes(row["data"])))
    assert stored.format == "JPEG"
    assert not stored.getexif() and b"SecretCam" not in bytes(row["data"])
    assert stored.size == (300, 400)  # turned the way the camera was held, then EXIF dropped
    thumb = Image.open(io.BytesIO(bytes(row["thumb"])))
    assert max(thumb.size) <= photos.THUMB_SIDE
    # Any signed-in user reads it (dealers see pictures in the catalog), the thumb as well.
    served = await catalog_admin.get_product_picture(shop["buyer"], row["id"])
    small = await catalog_admin.get_product_picture(shop["buyer"], row["id"], thumbnail=True)
    assert served.data == bytes(row["data"]) and small.data == bytes(row["thumb"])
    assert served.content_type == small.content_type == "image/jpeg"
    audit = await AuditEntry.select().where(AuditEntry.action == "product.image").first()
    assert audit is not None and audit["entity_id"] == str(shop["product_id"])


async def test_a_second_upload_replaces_the_first(shop):
    first = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("a.jpg", picture()), now=NOW
    )
    second = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("b.png", picture("PNG")), now=NOW
    )
    old_id = catalog_admin.own_picture_id(first["image"])
    new_id = catalog_admin.own_picture_id(second["image"])
    assert old_id is not None and new_id is not None and new_id != old_id
    rows = await ProductPicture.select(ProductPicture.id, ProductPicture.content_type)
    assert rows == [{"id": new_id, "content_type": "image/png"}]
    with pytest.raises(NotFound):
        await catalog_admin.get_product_picture(shop["buyer"], old_id)


async def test_ids_are_never_reused_so_an_address_never_changes_content(shop):
    """Browsers keep a picture's address for good: a removed picture's id never comes back."""
    first = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("a.jpg", picture()), now=NOW
    )
    await catalog_admin.update_sku(shop["admin"], shop["water"]["id"], _change(image=""), now=NOW)
    assert await ProductPicture.count() == 0
    again = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("b.jpg", picture()), now=NOW
    )
    assert catalog_admin.own_picture_id(again["image"]) > catalog_admin.own_picture_id(
        first["image"]
    )


def _change(**values) -> SkuChange:
    base = {
        "name": "农夫山泉 550ml",
        "barcode": "6900000000017",
        "base_price": "2.00",
        "moq": "1",
        "order_multiple": "1",
        "safety_stock": "0",
        "allow_backorder": False,
        "active": True,
    }
    return SkuChange(**{**base, **values})


@pytest.mark.parametrize("new_image", ["", "https://img.example.com/w550.png"])
async def test_replacing_the_address_removes_the_uploaded_picture(shop, new_image):
    p = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("a.jpg", picture()), now=NOW
    )
    await catalog_admin.update_sku(
        shop["admin"], shop["water"]["id"], _change(image=new_image), now=NOW
    )
    assert await image_of(shop["product_id"]) == new_image
    assert await ProductPicture.count() == 0
    with pytest.raises(NotFound):
        await catalog_admin.get_product_picture(
            shop["buyer"], catalog_admin.own_picture_id(p["image"])
        )


async def test_another_products_picture_typed_as_an_address_is_not_removed(shop):
    other = await f.sku(code="C330", name="可口可乐 330ml")
    p = await catalog_admin.upload_product_picture(
        shop["admin"], other["product"], photos.Upload("a.jpg", picture()), now=NOW
    )
    await catalog_admin.update_sku(
        shop["admin"], shop["water"]["id"], _change(image=p["image"]), now=NOW
    )
    await catalog_admin.update_sku(shop["admin"], shop["water"]["id"], _change(image=""), now=NOW)
    assert await ProductPicture.count() == 1
    assert await image_of(other["product"]) == p["image"]


def test_check_image_takes_the_portals_own_picture_paths():
    assert catalog_admin.check_image("/pictures/products/12") == "/pictures/products/12"
    for bad in (
        "/pictures/products/",
        "/pictures/products/abc",
        "/pictures/products/1/../../x",
        "/pictures/products/12/thumb",
        "/pictures/other/12",
        "http://example.com/a.png",
    ):
        assert catalog_admin.check_image(bad) is None, bad


def _oversized_jpeg() -> bytes:
    # A valid picture padded past the limit (bytes after the JPEG end marker).
    return picture() + b"\0" * (photos.MAX_BYTES + 1 - len(picture()))


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("货单.jpg", "这不是图片，只是文字。".encode(), "不是"),
        ("empty.jpg", b"", "空"),
        ("huge.jpg", None, "MB"),
        ("", b"", "请选择"),
    ],
)
async def test_a_bad_file_is_refused_in_chinese_and_nothing_is_written(shop, name, data, words):
    await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("keep.png", picture("PNG")), now=NOW
    )
    before = await state(shop["product_id"])
    data = _oversized_jpeg() if data is None else data
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.upload_product_picture(
            shop["admin"], shop["product_id"], photos.Upload(name, data), now=NOW
        )
    messages = chinese(refused.value)
    assert list(messages) == ["picture"]
    assert words in messages["picture"], messages
    assert await state(shop["product_id"]) == before


async def test_too_many_pixels_is_refused(shop):
    before = await state(shop["product_id"])
    # 8000 × 6000 = 48 megapixels, a few kilobytes as PNG of one colour.
    data = picture("PNG", (8000, 6000))
    assert len(data) < photos.MAX_BYTES
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.upload_product_picture(
            shop["admin"], shop["product_id"], photos.Upload("big.png", data), now=NOW
        )
    assert "40" in chinese(refused.value)["picture"]
    assert await state(shop["product_id"]) == before


async def test_only_an_administrator_uploads_and_an_unknown_product_is_not_found(shop):
    before = await state(shop["product_id"])
    upload = photos.Upload("a.jpg", picture())
    for role in ("dealer_admin", "dealer_buyer", "sales_rep", "finance", "warehouse"):
        dealer = await f.dealer(await f.tier()) if role.startswith("dealer") else None
        actor = f.actor(await f.user(role, dealer) if dealer else await f.user(role))
        with pytest.raises(Forbidden):
            await catalog_admin.upload_product_picture(actor, shop["product_id"], upload)
    with pytest.raises(NotFound):
        await catalog_admin.upload_product_picture(shop["admin"], 987_654, upload)
    assert await state(shop["product_id"]) == before
    with pytest.raises(NotFound):
        await catalog_admin.get_product_picture(shop["buyer"], 987_654)


async def test_a_removed_product_takes_its_picture_along(shop):
    extra = await f.sku(code="X1", name="临时商品", pack=None)
    await catalog_admin.upload_product_picture(
        shop["admin"], extra["product"], photos.Upload("a.jpg", picture()), now=NOW
    )
    await Sku.delete().where(Sku.id == extra["id"])
    await Product.delete().where(Product.id == extra["product"])
    assert await ProductPicture.count() == 0
