"""Return photos: checked by content, re-encoded without EXIF, stored with the return (or not
at all), scoped like the return, at most MAX_PHOTOS per return."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from portal.domain import photos, returns
from portal.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.tables import AuditEntry, ReturnLine, ReturnPhoto, ReturnRequest
from tests import factories as f
from tests.db.test_shipments import NOW, fulfil_world
from tests.db.test_shipments_returns import shipped_order


def picture(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), *, exif: bool = False) -> bytes:
    img = Image.new("RGB" if fmt == "JPEG" else "RGBA", size, (200, 40, 40))
    out = io.BytesIO()
    options = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SecretCam"  # Make
        tags[0x0112] = 6  # Orientation: rotate 90° to show
        options["exif"] = tags.tobytes()
    img.save(out, fmt, **options)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg") -> photos.Upload:
    return photos.Upload(name, data)


async def request(w, o, line, uploads, qty=2):
    return await returns.request_return(
        w.buyer, o["id"], quantities={line["id"]: qty}, reason="破损", uploads=uploads, now=NOW
    )


async def test_photos_are_stored_reencoded_and_served_in_scope(db):
    w = await fulfil_world()
    o, line = await shipped_order(w)
    rma = await request(
        w,
        o,
        line,
        [
            upload(picture("JPEG", (400, 300), exif=True), "a.jpg"),
            upload(picture("PNG"), "b.png"),
            upload(picture("WEBP"), "c.webp"),
        ],
    )
    assert [p.content_type for p in rma.photos] == ["image/jpeg", "image/png", "image/webp"]
    first = rma.photos[0]
    # Turned the way the camera was held (EXIF orientation 6), then the EXIF is gone.
    assert (first.width, first.height) == (300, 400)
    served = await returns.get_photo(w.buyer, rma.id, first.id)
    assert served.content_type == "image/jpeg"
    img = Image.open(io.BytesIO(served.data))
    assert img.format == "JPEG" and img.size == (300, 400)
    assert not img.getexif() and b"SecretCam" not in served.data
    thumb = await returns.get_photo(w.buyer, rma.id, first.id, thumbnail=True)
    assert Image.open(io.BytesIO(thumb.data)).size == (first.thumb_width, first.thumb_height)
    row = await ReturnPhoto.select().where(ReturnPhoto.id == first.id).first()
    assert row["size"] == len(row["data"]) == len(served.data)
    # Staff who see the dealer see the photos; another dealer, a rep without the dealer and a
    # photo of another return are not found.
    assert (await returns.get_photo(w.clerk, rma.id, first.id)).data == served.data
    stranger = f.actor(await f.user("dealer_buyer", await f.dealer(w.tier)))
    rep = f.actor(await f.user("sales_rep"))
    for actor in (stranger, rep):
        with pytest.raises(NotFound):
            await returns.get_photo(actor, rma.id, first.id)
    other = await request(w, o, line, [upload(picture())], qty=1)
    with pytest.raises(NotFound):
        await returns.get_photo(w.buyer, other.id, first.id)
    with pytest.raises(NotFound):
        await returns.get_photo(w.buyer, rma.id, 987_654)


BAD = [
    ("empty", b"", "empty.jpg", "is empty"),
    ("text renamed", b"just some text, not a picture\n" * 10, "damage.jpg", "not a JPEG"),
    ("gif", None, "anim.gif", "not a JPEG"),
    ("too large", b"\xff\xd8\xff" + b"0" * (photos.MAX_BYTES + 1), "big.jpg", "larger than"),
    ("truncated", None, "cut.jpg", "not a JPEG"),
    ("bomb", None, "bomb.png", "too many pixels"),
]


def bad_data(kind: str, data: bytes | None) -> bytes:
    if kind == "gif":
        out = io.BytesIO()
        Image.new("RGB", (8, 8)).save(out, "GIF")
        return out.getvalue()
    if kind == "truncated":
        whole = picture("JPEG", (800, 600))
        return whole[: len(whole) // 2]
    if kind == "bomb":
        # A small file that would decode to more pixels than allowed.
        out = io.BytesIO()
        Image.new("1", (8000, 6000)).save(out, "PNG")
        return out.getvalue()
    assert data is not None
    return data


@pytest.mark.parametrize("kind,data,name,says", BAD, ids=[b[0] for b in BAD])
async def test_a_bad_photo_refuses_the_whole_return(db, kind, data, name, says):
    w = await fulfil_world()
    o, line = await shipped_order(w)
    with pytest.raises(ValidationFailed) as caught:
        await request(w, o, line, [upload(picture()), upload(bad_data(kind, data), name)])
    [error] = caught.value.errors
    assert error.field == "photos" and says in error.message % error.params
    assert name in error.params["name"]
    assert await ReturnRequest.count() == 0
    assert await ReturnLine.count() == 0
    assert await ReturnPhoto.count() == 0


async def test_too_many_photos(db):
    w = await fulfil_world()
    o, line = await shipped_order(w)
    too_many = [upload(picture()) for _ in range(returns.MAX_PHOTOS + 1)]
    with pytest.raises(ValidationFailed) as caught:
        await request(w, o, line, too_many)
    assert caught.value.errors[0].params == {
        "max": returns.MAX_PHOTOS,
        "count": returns.MAX_PHOTOS + 1,
    }
    assert await ReturnRequest.count() == 0 and await ReturnPhoto.count() == 0
    # Up to the limit is fine; adding later counts what is there already.
    rma = await request(w, o, line, [upload(picture()) for _ in range(returns.MAX_PHOTOS - 1)])
    assert not rma.can_decide and rma.can_add_photos
    with pytest.raises(ValidationFailed):
        await returns.add_photos(w.buyer, rma.id, [upload(picture()), upload(picture())])
    assert await ReturnPhoto.count() == returns.MAX_PHOTOS - 1
    full = await returns.add_photos(w.buyer, rma.id, [upload(picture())], now=NOW)
    assert len(full.photos) == returns.MAX_PHOTOS and not full.can_add_photos
    audit = await AuditEntry.select().where(AuditEntry.action == "return.photos_added").first()
    assert audit is not None


async def test_adding_photos_rules(db):
    w = await fulfil_world()
    admin = f.actor(await f.user("admin"))
    o, line = await shipped_order(w)
    rma = await request(w, o, line, [])
    assert rma.photos == []
    with pytest.raises(ValidationFailed):
        await returns.add_photos(w.buyer, rma.id, [])
    with pytest.raises(Forbidden):
        await returns.add_photos(admin, rma.id, [upload(picture())])
    stranger = f.actor(await f.user("dealer_buyer", await f.dealer(w.tier)))
    with pytest.raises(NotFound):
        await returns.add_photos(stranger, rma.id, [upload(picture())])
    with pytest.raises(ValidationFailed):
        await returns.add_photos(w.buyer, rma.id, [upload(b"GIF89a not really", "x.png")])
    assert await ReturnPhoto.count() == 0
    view = await returns.add_photos(w.buyer, rma.id, [upload(picture("PNG"), "p.png")])
    assert len(view.photos) == 1
    await returns.decide_return(admin, rma.id, approve=True, now=NOW)
    with pytest.raises(Conflict):
        await returns.add_photos(w.buyer, rma.id, [upload(picture())])
    assert await ReturnPhoto.count() == 1


@pytest.mark.postgres_only
async def test_parallel_uploads_do_not_pass_the_limit(db):
    w = await fulfil_world()
    o, line = await shipped_order(w)
    rma = await request(w, o, line, [upload(picture()) for _ in range(returns.MAX_PHOTOS - 2)])
    results = await asyncio.gather(
        *[
            returns.add_photos(w.buyer, rma.id, [upload(picture()), upload(picture())])
            for _ in range(4)
        ],
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, ValidationFailed) for r in results if isinstance(r, Exception))
    assert await ReturnPhoto.count() == returns.MAX_PHOTOS
