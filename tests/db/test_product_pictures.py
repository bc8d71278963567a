"""Product pictures uploaded by an administrator, on both engines: checked by content, kept
re-encoded without EXIF as the product's cover (its image becomes the portal's own address),
replaced by the next upload, gone with the address; more pictures beside it (at most
MAX_PICTURES: one made the cover keeps the old cover, one removed passes the cover on);
refusals write nothing. Staff see every picture a product has, a dealer's users only those of
products the catalog shows them; an upload's address goes on no other product, typed or
imported."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from portal import i18n
from portal.db import write_transaction
from portal.domain import catalog, catalog_admin, data_io, photos
from portal.domain.catalog_admin import ProductNew, SkuNew
from portal.domain.errors import Forbidden, NotFound, ValidationFailed
from portal.export import csv_bytes
from portal.tables import AuditEntry, Category, Product, ProductPicture, Sku
from tests import factories as f
from tests.db.test_catalog_admin import change
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
        "tier": tier,
        "dealer": dealer,
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
    await catalog_admin.update_sku(shop["admin"], shop["water"]["id"], change(image=""), now=NOW)
    assert await ProductPicture.count() == 0
    again = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("b.jpg", picture()), now=NOW
    )
    assert catalog_admin.own_picture_id(again["image"]) > catalog_admin.own_picture_id(
        first["image"]
    )


@pytest.mark.parametrize("new_image", ["", "https://img.example.com/w550.png"])
async def test_replacing_the_address_removes_the_uploaded_picture(shop, new_image):
    p = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("a.jpg", picture()), now=NOW
    )
    await catalog_admin.update_sku(
        shop["admin"], shop["water"]["id"], change(image=new_image), now=NOW
    )
    assert await image_of(shop["product_id"]) == new_image
    assert await ProductPicture.count() == 0
    with pytest.raises(NotFound):
        await catalog_admin.get_product_picture(
            shop["buyer"], catalog_admin.own_picture_id(p["image"])
        )


async def upload(shop: dict, product_id: int) -> str:
    """A new picture for the product; its address."""
    p = await catalog_admin.upload_product_picture(
        shop["admin"], product_id, photos.Upload("a.jpg", picture()), now=NOW
    )
    return p["image"]


async def test_another_products_picture_typed_as_an_address_is_refused(shop):
    other = await f.sku(code="C330", name="可口可乐 330ml")
    others = await upload(shop, other["product"])
    replaced = await upload(shop, shop["product_id"])
    own = await upload(shop, shop["product_id"])
    before = await state(shop["product_id"])
    # Another product's upload, and this product's own upload that another has replaced.
    for address in (others, replaced):
        with pytest.raises(ValidationFailed) as refused:
            await catalog_admin.update_sku(
                shop["admin"], shop["water"]["id"], change(image=address), now=NOW
            )
        assert [e.field for e in refused.value.errors] == ["image"]
        assert "另一个商品上传的图片" in chinese(refused.value)["image"]
        assert await state(shop["product_id"]) == before
    # A product being added has no upload of its own yet.
    category = (await Category.select(Category.id).first())["id"]
    new_product = ProductNew(name="新品", category_id=category, image=own)
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product(shop["admin"], new_product)
    assert [e.field for e in refused.value.errors] == ["image"]
    new_sku = SkuNew(code="N1", name="新品", base_unit="瓶", base_price="1.00")
    with pytest.raises(ValidationFailed) as refused:
        await catalog_admin.create_product_with_sku(shop["admin"], new_product, new_sku)
    assert [e.field for e in refused.value.errors] == ["product_image"]
    assert await state(shop["product_id"]) == before and await Product.count() == 2
    # Its own picture's address, as the SKU page sends it back, saves.
    await catalog_admin.update_sku(
        shop["admin"], shop["water"]["id"], change(image=own, name="农夫山泉"), now=NOW
    )
    assert await image_of(shop["product_id"]) == own
    assert await image_of(other["product"]) == others
    assert await ProductPicture.count() == 2


async def test_a_picture_is_looked_at_again_as_it_is_written(shop):
    """What was checked before the transaction may be stale by the time it writes: the
    write refuses another product's upload (and any upload for a product being added)."""
    other = await f.sku(code="C330", name="可口可乐 330ml")
    others = await upload(shop, other["product"])
    before = await state(shop["product_id"])
    with pytest.raises(ValidationFailed) as refused:
        async with write_transaction():
            await catalog_admin.write_image(shop["admin"], shop["product_id"], others, NOW)
    assert [e.field for e in refused.value.errors] == ["image"]
    assert await state(shop["product_id"]) == before
    with pytest.raises(ValidationFailed):
        await catalog_admin.refuse_foreign_picture(None, others)
    await catalog_admin.refuse_foreign_picture(None, "https://img.example.com/a.png")


async def test_a_product_showing_another_products_picture_from_before_gives_it_up_alone(shop):
    """Before addresses were checked, a product could show another's upload: removing it from
    the one leaves the other's picture in place."""
    other = await f.sku(code="C330", name="可口可乐 330ml")
    others = await upload(shop, other["product"])
    await Product.update({Product.image: others}).where(Product.id == shop["product_id"])
    # Saved as it is, it stays (nothing to change), and can be removed.
    await catalog_admin.update_sku(
        shop["admin"], shop["water"]["id"], change(image=others), now=NOW
    )
    await catalog_admin.update_sku(shop["admin"], shop["water"]["id"], change(image=""), now=NOW)
    assert await ProductPicture.count() == 1
    assert await image_of(other["product"]) == others
    assert await image_of(shop["product_id"]) == ""


async def sees(actor, picture_id: int) -> bool:
    """Whether the actor gets the picture; its thumbnail answers the same."""
    try:
        await catalog_admin.get_product_picture(actor, picture_id)
    except NotFound:
        with pytest.raises(NotFound):
            await catalog_admin.get_product_picture(actor, picture_id, thumbnail=True)
        return False
    await catalog_admin.get_product_picture(actor, picture_id, thumbnail=True)
    return True


async def test_a_dealer_sees_a_picture_only_where_the_catalog_shows_its_product(shop):
    admin = shop["admin"]
    picture_id = catalog_admin.own_picture_id(await upload(shop, shop["product_id"]))
    other_tier = await f.tier(code="T2", name="二级经销商", rank=2)
    named = await f.dealer(shop["tier"])
    dealers = {
        "buyer": (shop["buyer"], shop["dealer"]),
        "other_tier": (f.actor(await f.user("dealer_admin", d := await f.dealer(other_tier))), d),
        "named": (f.actor(await f.user("dealer_buyer", named)), named),
    }
    # Staff see every product: a rep (assigned or not) shows restricted ones to their dealers.
    rep = await f.user("sales_rep")
    await f.assign(rep, shop["dealer"])
    staff = [f.actor(rep), f.actor(await f.user("sales_rep"))]
    for role in ("sales_manager", "finance", "warehouse"):
        staff.append(f.actor(await f.user(role)))
    staff.append(admin)

    async def seen() -> set[str]:
        for actor in staff:
            assert await sees(actor, picture_id), actor.role
        shown = set()
        for name, (actor, dealer) in dealers.items():
            # The same answer as the product's page in the catalog.
            try:
                await catalog.product_detail(actor, dealer, shop["product_id"])
                in_catalog = True
            except NotFound:
                in_catalog = False
            assert await sees(actor, picture_id) == in_catalog, name
            if in_catalog:
                shown.add(name)
        return shown

    assert await seen() == {"buyer", "other_tier", "named"}
    pid = shop["product_id"]
    await catalog_admin.set_visibility(admin, pid, "restricted", [other_tier["id"]], now=NOW)
    assert await seen() == {"other_tier"}
    await catalog_admin.set_visibility(admin, pid, "restricted", [], [named["code"]], now=NOW)
    assert await seen() == {"named"}
    await catalog_admin.set_visibility(admin, pid, "all", now=NOW)
    await Product.update({Product.active: False}).where(Product.id == pid)
    assert await seen() == set()
    await Product.update({Product.active: True}).where(Product.id == pid)
    await Sku.update({Sku.active: False}).where(Sku.product == pid)
    assert await seen() == set()
    await Sku.update({Sku.active: True}).where(Sku.product == pid)
    assert await seen() == {"buyer", "other_tier", "named"}


async def test_a_picture_is_served_while_its_product_has_it(shop):
    address = await upload(shop, shop["product_id"])
    picture_id = catalog_admin.own_picture_id(address)
    more = (await add(shop))[1]
    # Clearing the cover's address: the product's next picture takes its place.
    await catalog_admin.update_sku(shop["admin"], shop["water"]["id"], change(image=""), now=NOW)
    assert await image_of(shop["product_id"]) == more["address"]
    for actor in (shop["admin"], shop["buyer"]):
        assert not await sees(actor, picture_id)  # the cover that was cleared is gone
        assert await sees(actor, more["id"])
    await ProductPicture.delete().where(ProductPicture.id == more["id"])
    for actor in (shop["admin"], shop["buyer"]):
        assert not await sees(actor, more["id"])


async def test_the_import_takes_a_products_own_upload_only(shop):
    admin = shop["admin"]
    cola = await f.sku(code="C330", name="可口可乐 330ml", product=await tea_product())
    colas = await upload(shop, cola["product"])
    own = await upload(shop, shop["product_id"])
    # Exported, the addresses come back unchanged.
    header, rows = await data_io.export_rows(admin, "products")
    again = await data_io.import_file(admin, "products", "p.csv", csv_bytes(header, rows))
    assert again.unchanged == 2
    before = await state(shop["product_id"])
    columns = ("sku", "category", "product", "name", "unit", "base_price", "image")
    wrong = csv_bytes(
        columns,
        [
            ("W550", "", "", "", "", "", colas),  # an existing SKU, another product's upload
            ("N1", "饮料", "新品", "新品", "瓶", "1.00", own),  # a new product
            ("N2", "茶饮", "可口可乐 330ml", "可乐 2L", "瓶", "6.00", own),  # another product
        ],
    )
    with pytest.raises(ValidationFailed) as refused:
        await data_io.import_file(admin, "products", "p.csv", wrong, now=NOW)
    found = [(e.field, e.message) for e in refused.value.errors]
    assert found == [(f"row {n}", data_io.MSG_IMAGE_OTHER) for n in (2, 3, 4)]
    i18n.set_locale("zh_Hans")
    try:
        assert i18n.field_message(refused.value.errors[0]).startswith("第 2 行：")
    finally:
        i18n.set_locale("en")
    assert await state(shop["product_id"]) == before and await Sku.count() == 2
    # A new SKU of a product that has the upload may name it, as its sibling's row does.
    right = csv_bytes(columns, [("C2L", "茶饮", "可口可乐 330ml", "可乐 2L", "瓶", "6.00", colas)])
    done = await data_io.import_file(admin, "products", "p.csv", right, now=NOW)
    assert done.created == 1
    assert await image_of(cola["product"]) == colas and await ProductPicture.count() == 2


async def tea_product() -> dict:
    """A product in a category of its own name, so that a file can name it by its path."""
    category = await f.category("茶饮")
    row = Product(name="可口可乐 330ml", category=category["id"])
    await Product.insert(row)
    return {"id": row.id}


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


# --- more pictures than the cover ------------------------------------------------------------


async def add(shop, name: str = "more.jpg") -> list[dict]:
    return await catalog_admin.add_product_picture(
        shop["admin"], shop["product_id"], photos.Upload(name, picture()), now=NOW
    )


async def test_more_pictures_the_first_is_the_cover_and_a_dealer_sees_them_all(shop):
    first = await add(shop, "正面.jpg")
    [cover] = first
    assert cover["cover"] and await image_of(shop["product_id"]) == cover["address"]
    pictures = await add(shop, "背面.jpg")
    assert [p["cover"] for p in pictures] == [True, False]
    other = pictures[1]
    # A dealer's user sees every picture of a product the catalog shows them.
    served = await catalog_admin.get_product_picture(shop["buyer"], other["id"])
    assert served.content_type == "image/jpeg"
    assert catalog_admin.picture_addresses(await image_of(shop["product_id"]), pictures) == [
        cover["address"],
        other["address"],
    ]
    # Replacing the cover by an upload keeps the other picture.
    replaced = await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("新.jpg", picture()), now=NOW
    )
    after = await catalog_admin.product_pictures(shop["product_id"])
    assert [p["address"] for p in after] == [replaced["image"], other["address"]]
    actions = [a["action"] for a in await AuditEntry.select().order_by(AuditEntry.id)]
    assert actions.count("product.picture_added") == 2


async def test_make_cover_keeps_the_old_cover_and_remove_passes_the_cover_on(shop):
    await add(shop, "a.jpg")
    await add(shop, "b.jpg")
    a, b = await catalog_admin.product_pictures(shop["product_id"])
    pictures = await catalog_admin.make_cover(shop["admin"], shop["product_id"], b["id"], now=NOW)
    assert [(p["id"], p["cover"]) for p in pictures] == [(b["id"], True), (a["id"], False)]
    assert await image_of(shop["product_id"]) == b["address"]
    # Removing the cover passes it to the next picture; removing the last leaves none.
    pictures = await catalog_admin.remove_product_picture(
        shop["admin"], shop["product_id"], b["id"], now=NOW
    )
    assert [(p["id"], p["cover"]) for p in pictures] == [(a["id"], True)]
    assert await image_of(shop["product_id"]) == a["address"]
    with pytest.raises(NotFound):
        await catalog_admin.get_product_picture(shop["buyer"], b["id"])
    assert (
        await catalog_admin.remove_product_picture(
            shop["admin"], shop["product_id"], a["id"], now=NOW
        )
        == []
    )
    assert await image_of(shop["product_id"]) == ""
    removed = await AuditEntry.count().where(AuditEntry.action == "product.picture_removed")
    assert removed == 2


async def test_picture_limits_scope_and_roles(shop):
    for n in range(catalog_admin.MAX_PICTURES):
        await add(shop, f"{n}.jpg")
    before = await state(shop["product_id"])
    with pytest.raises(ValidationFailed) as exc:
        await add(shop, "one-too-many.jpg")
    assert exc.value.errors[0].field == "picture"
    assert "9" in chinese(exc.value)["picture"]
    assert await state(shop["product_id"]) == before
    # Another product's picture is not this product's to make its cover or to remove.
    other = await f.sku(code="X1", name="别的")
    mine = (await catalog_admin.product_pictures(shop["product_id"]))[1]
    for use in (catalog_admin.make_cover, catalog_admin.remove_product_picture):
        with pytest.raises(NotFound):
            await use(shop["admin"], other["product"], mine["id"], now=NOW)
        with pytest.raises(Forbidden):
            await use(shop["buyer"], shop["product_id"], mine["id"], now=NOW)
    with pytest.raises(Forbidden):
        await catalog_admin.add_product_picture(
            shop["buyer"], shop["product_id"], photos.Upload("x.jpg", picture()), now=NOW
        )
    assert await state(shop["product_id"]) == before


async def test_replacing_the_cover_never_takes_a_product_past_the_limit(shop):
    for n in range(catalog_admin.MAX_PICTURES):
        await add(shop, f"{n}.jpg")
    # An uploaded cover replaced by an upload: one goes, one comes.
    await catalog_admin.upload_product_picture(
        shop["admin"], shop["product_id"], photos.Upload("新封面.jpg", picture()), now=NOW
    )
    assert await ProductPicture.count() == catalog_admin.MAX_PICTURES
    # A cover from another site: an upload in its place would be one more.
    external = change(image="https://img.example.com/w550.png")
    await catalog_admin.update_sku(shop["admin"], shop["water"]["id"], external, now=NOW)
    await add(shop, "again.jpg")
    before = await state(shop["product_id"])
    with pytest.raises(ValidationFailed) as exc:
        await catalog_admin.upload_product_picture(
            shop["admin"], shop["product_id"], photos.Upload("x.jpg", picture()), now=NOW
        )
    assert exc.value.errors[0].field == "picture"
    assert await state(shop["product_id"]) == before
