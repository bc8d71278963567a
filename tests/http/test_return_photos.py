"""Return photos over HTTP: the dealer's multipart form and the API, refusals in the user's
language with nothing written, the photo route's headers and scope."""

from __future__ import annotations

from portal.domain import photos, returns
from portal.tables import ReturnPhoto, ReturnRequest
from tests import factories as f
from tests.db.test_return_photos import picture
from tests.db.test_shipments import fulfil_world
from tests.db.test_shipments_returns import shipped_order
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer


async def world():
    w = await fulfil_world()
    await f.user("dealer_buyer", w.dealer, username="buyer")
    await f.user("warehouse", username="clerk")
    await f.user("sales_rep", username="lonely_rep")  # no dealers assigned
    await f.user("dealer_buyer", await f.dealer(w.tier), username="stranger")
    o, line = await shipped_order(w)
    return w, o, line


async def open_form(client, order_id: int) -> str:
    form = await client.get(f"/orders/{order_id}/returns/new")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text
    assert 'type="file"' in form.text and 'capture="environment"' in form.text
    return csrf_from(form.text)


def files(*items: tuple[str, bytes, str]) -> list:
    return [("photos", item) for item in items]


async def test_dealer_sends_photos_and_everyone_in_scope_sees_them(client):
    w, o, line = await world()
    await sign_in(client, "buyer")
    token = await open_form(client, o["id"])
    r = await client.post(
        f"/orders/{o['id']}/returns",
        data={"_csrf_token": token, f"qty_{line['id']}": "2", "reason": "外箱破损"},
        files=files(
            ("箱子.jpg", picture("JPEG", (600, 400), exif=True), "image/jpeg"),
            ("side.png", picture("PNG"), "image/png"),
            # An empty second input (the camera one) sends a part without a file.
            ("", b"", "application/octet-stream"),
        ),
    )
    assert r.status_code == 200, r.text
    rma = await ReturnRequest.select().first()
    assert rma is not None and str(rma["id"]) in str(r.url)
    stored = await ReturnPhoto.select(ReturnPhoto.id).order_by(ReturnPhoto.id)
    assert len(stored) == 2
    photo_url = f"/returns/{rma['id']}/photos/{stored[0]['id']}"
    assert f'src="{photo_url}?size=thumb"' in r.text

    full = await client.get(photo_url, headers={"Accept-Encoding": "gzip"})
    assert full.status_code == 200
    assert "content-encoding" not in full.headers  # already compressed images aren't gzipped
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.headers["cache-control"].startswith("private")
    assert b"Exif" not in full.content[:200]
    thumb = await client.get(f"{photo_url}?size=thumb")
    assert thumb.status_code == 200 and len(thumb.content) < len(full.content)

    client.cookies.clear()
    await sign_in(client, "clerk")
    page = await client.get(f"/returns/{rma['id']}")
    assert f'src="{photo_url}?size=thumb"' in page.text and "photos-form" not in page.text
    assert (await client.get(photo_url)).status_code == 200
    for user in ("stranger", "lonely_rep"):
        client.cookies.clear()
        await sign_in(client, user)
        assert (await client.get(photo_url)).status_code == 404
        assert (await client.get(f"/returns/{rma['id']}/photos/987654")).status_code == 404
    client.cookies.clear()
    anonymous = await client.get(photo_url, follow_redirects=False)
    assert anonymous.status_code == 303


async def test_bad_photos_are_refused_in_the_users_language_and_nothing_is_written(client):
    w, o, line = await world()
    await sign_in(client, "buyer")
    token = await open_form(client, o["id"])
    good = ("ok.jpg", picture(), "image/jpeg")
    cases = [
        # (files, what the page must say, in Simplified Chinese, the user's language)
        (
            [good, ("发票.jpg", "这不是图片".encode() * 20, "image/jpeg")],
            "发票.jpg 不是 JPEG、PNG 或 WebP 图片",
        ),
        ([("empty.png", b"", "image/png")], "empty.png 是空文件"),
        (
            [("huge.jpg", b"\xff\xd8\xff" + b"0" * (photos.MAX_BYTES + 1), "image/jpeg")],
            "huge.jpg 超过 5 MB",
        ),
        ([good] * (returns.MAX_PHOTOS + 1), "最多 5 张照片"),
    ]
    for sent, says in cases:
        r = await client.post(
            f"/orders/{o['id']}/returns",
            data={"_csrf_token": token, f"qty_{line['id']}": "2", "reason": "破损"},
            files=files(*sent),
        )
        assert r.status_code == 422, r.text
        assert says in r.text, says
        assert "请重新选择" in r.text  # the files are not kept by the browser
        assert ">破损</textarea>" in r.text  # what was typed is kept
    # More than the upload limit in one request is refused before it is read, in words too.
    chunk = b"\xff\xd8\xff" + b"0" * photos.MAX_BYTES
    over = [("big.jpg", chunk, "image/jpeg")] * (returns.MAX_PHOTOS + 1)
    r = await client.post(
        f"/orders/{o['id']}/returns",
        data={"_csrf_token": token, f"qty_{line['id']}": "2", "reason": "破损"},
        files=files(*over),
    )
    assert r.status_code == 413 and "照片总共太大" in r.text
    assert await ReturnRequest.count() == 0
    assert await ReturnPhoto.count() == 0


async def test_dealer_adds_photos_on_the_return_page(client):
    w, o, line = await world()
    rma = await returns.request_return(w.buyer, o["id"], quantities={line["id"]: 1}, reason="漏液")
    await sign_in(client, "buyer")
    page = await client.get(f"/returns/{rma.id}")
    assert "photos-form" in page.text
    token = csrf_from(page.text)
    bad = await client.post(
        f"/returns/{rma.id}/photos",
        data={"_csrf_token": token},
        files=files(("notes.txt.png", b"hello", "image/png")),
    )
    assert bad.status_code == 422 and "notes.txt.png 不是 JPEG" in bad.text
    assert await ReturnPhoto.count() == 0
    ok = await client.post(
        f"/returns/{rma.id}/photos",
        data={"_csrf_token": token},
        files=files(("a.webp", picture("WEBP"), "image/webp")),
    )
    assert ok.status_code == 200 and "?size=thumb" in ok.text
    assert await ReturnPhoto.count() == 1


async def test_api_photos(client):
    w, o, line = await world()
    headers = {**await bearer(client, "buyer"), **EN}
    created = await client.post(
        f"/api/v1/orders/{o['id']}/returns",
        json={"reason": "broken", "lines": [{"order_line_id": line["id"], "qty": 1}]},
        headers={**headers, "Idempotency-Key": "rma-1"},
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.json()["photos"] == []
    bad = await client.post(
        f"/api/v1/returns/{rid}/photos",
        files=files(("x.jpg", b"not an image", "image/jpeg")),
        headers=headers,
    )
    body = assert_problem(bad, 422, "validation")
    assert body["errors"][0]["field"] == "photos"
    assert "x.jpg is not a JPEG, PNG or WebP picture." == body["errors"][0]["message"]
    none = await client.post(f"/api/v1/returns/{rid}/photos", headers=headers)
    chunk = b"\xff\xd8\xff" + b"0" * photos.MAX_BYTES
    over = [("big.jpg", chunk, "image/jpeg")] * (returns.MAX_PHOTOS + 1)
    huge = await client.post(f"/api/v1/returns/{rid}/photos", files=files(*over), headers=headers)
    assert_problem(huge, 413, "validation")
    assert "too large together" in huge.json()["detail"]
    assert_problem(none, 422, "validation")
    assert await ReturnPhoto.count() == 0
    added = await client.post(
        f"/api/v1/returns/{rid}/photos",
        files=files(("a.png", picture("PNG"), "image/png"), ("b.jpg", picture(), "image/jpeg")),
        headers=headers,
    )
    assert added.status_code == 201, added.text
    listed = (await client.get(f"/api/v1/returns/{rid}", headers=headers)).json()["photos"]
    assert [p["content_type"] for p in listed] == ["image/png", "image/jpeg"]
    photo = await client.get(listed[0]["url"], headers=headers)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.headers["x-content-type-options"] == "nosniff"
    thumb = await client.get(listed[0]["thumbnail_url"], headers=headers)
    assert thumb.status_code == 200
    by_order = await client.get(f"/api/v1/orders/{o['id']}/returns", headers=headers)
    assert [r["id"] for r in by_order.json()] == [rid]

    stranger = {**await bearer(client, "stranger"), **EN}
    assert_problem(await client.get(listed[0]["url"], headers=stranger), 404, "not-found")
    assert_problem(await client.get(f"/api/v1/returns/{rid}", headers=stranger), 404, "not-found")
    refused = await client.post(
        f"/api/v1/returns/{rid}/photos",
        files=files(("c.png", picture("PNG"), "image/png")),
        headers=stranger,
    )
    assert_problem(refused, 404, "not-found")
    clerk = await bearer(client, "clerk")
    assert (await client.get(listed[0]["url"], headers=clerk)).status_code == 200
    staff_add = await client.post(
        f"/api/v1/returns/{rid}/photos",
        files=files(("c.png", picture("PNG"), "image/png")),
        headers=clerk,
    )
    assert_problem(staff_add, 403, "forbidden")
    assert await ReturnPhoto.count() == 2
