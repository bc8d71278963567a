"""Uploading a product's picture from the SKU page (a phone's camera or gallery) and through
the API; the picture served with a long private cache to staff and to the dealers the catalog
shows its product (others get a 404 no cache keeps), its thumbnail in the dealers' catalog;
bad files, and another product's upload typed as an address, refused in Chinese with nothing
changed; who may upload."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from portal.domain import catalog_admin, photos
from portal.tables import ProductPicture
from tests import factories as f
from tests.db.test_product_pictures import image_of, picture, state
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer

CACHE = "private, max-age=31536000, immutable"


@pytest.fixture
async def shop(db) -> dict:
    tier = await f.tier(code="T1", name="一级经销商", rank=1)
    wh = await f.warehouse()
    dealer = await f.dealer(tier, name="上海恒通", default_warehouse=wh)
    water = await f.sku(code="BV-0010-550", name="农夫山泉 550ml", base_price_fen=200)
    await f.stock(water, wh, on_hand=100)
    await f.user("admin", username="root")  # reads the pages in the default, 简体中文
    await f.user("warehouse", username="clerk")
    await f.user("sales_rep", username="rep")
    await f.user("dealer_admin", dealer, username="boss1")
    await f.user("dealer_buyer", dealer, username="buyer1")
    return {"water": water, "product_id": water["product"]}


async def as_user(client, username: str) -> str:
    """Sign the client in as this user (only), and the CSRF token of its pages."""
    client.cookies.clear()
    signed = await sign_in(client, username)
    assert signed.status_code == 303, signed.text
    return csrf_from((await client.get("/me")).text)


async def upload_page(client, shop: dict, token: str, name: str, data: bytes, **kw):
    return await client.post(
        f"/admin/products/{shop['product_id']}/picture",
        data={"_csrf_token": token, "sku": str(shop["water"]["id"])},
        files={"picture": (name, data, "image/jpeg")},
        follow_redirects=False,
        **kw,
    )


def picture_error(html: str) -> str:
    match = re.search(r'id="picture-err-picture">([^<]*)<', html)
    return match.group(1) if match else ""


async def test_upload_from_the_sku_page_shows_in_the_dealers_catalog(client, shop):
    token = await as_user(client, "root")
    page = await client.get(f"/admin/skus/{shop['water']['id']}")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert (
        '<input id="picture-file" name="picture" type="file" '
        'accept="image/jpeg,image/png,image/webp"' in page.text
    )
    response = await upload_page(client, shop, token, "货架.jpg", picture(exif=True))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/admin/skus/{shop['water']['id']}#picture"
    image = await image_of(shop["product_id"])
    assert re.fullmatch(r"/pictures/products/\d+", image)
    back = await client.get(response.headers["location"])
    assert "图片已上传" in back.text
    assert f'src="{image}/thumb"' in back.text  # the current picture, small
    assert f'value="{image}"' in back.text  # the address field holds our own path

    await as_user(client, "buyer1")
    catalog = await client.get("/catalog")
    assert catalog.status_code == 200
    assert f'<img src="{image}/thumb" alt="" width="64" height="64"' in catalog.text
    gzip_ok = {"Accept-Encoding": "gzip"}
    full = await client.get(image, headers=gzip_ok)
    thumb = await client.get(f"{image}/thumb", headers=gzip_ok)
    for response in (full, thumb):
        assert response.status_code == 200
        assert "content-encoding" not in response.headers  # JPEG: gzip would save nothing
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == CACHE
        assert response.headers["x-content-type-options"] == "nosniff"
        assert b"SecretCam" not in response.content
        assert not Image.open(io.BytesIO(response.content)).getexif()
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= photos.THUMB_SIDE
    assert len(thumb.content) < len(full.content)


async def test_a_png_replaces_the_jpeg_and_the_old_address_is_gone(client, shop):
    token = await as_user(client, "root")
    assert (await upload_page(client, shop, token, "a.jpg", picture())).status_code == 303
    first = await image_of(shop["product_id"])
    assert (await upload_page(client, shop, token, "b.png", picture("PNG"))).status_code == 303
    second = await image_of(shop["product_id"])
    assert second != first
    assert await ProductPicture.count() == 1
    await as_user(client, "buyer1")
    assert (await client.get(first)).status_code == 404
    assert (await client.get(f"{first}/thumb")).status_code == 404
    served = await client.get(second)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("货单.jpg", "这不是图片，只是文字。".encode(), "不是 JPEG、PNG 或 WebP"),
        ("empty.jpg", b"", "空"),
        ("huge.jpg", None, "5 MB"),
    ],
)
async def test_a_bad_file_is_refused_on_the_page_in_chinese(client, shop, name, data, words):
    token = await as_user(client, "root")
    before = await state(shop["product_id"])
    if data is None:  # just over the limit for a photo, still under the limit for a body
        data = picture() + b"\0" * (photos.MAX_BYTES + 1 - len(picture()))
    response = await upload_page(client, shop, token, name, data)
    assert response.status_code == 422
    message = picture_error(response.text)
    assert words in message, message
    assert 'id="picture-file"' in response.text and 'aria-invalid="true"' in response.text
    assert await state(shop["product_id"]) == before


async def test_a_body_far_over_the_limit_is_refused_unread(client, shop):
    token = await as_user(client, "root")
    before = await state(shop["product_id"])
    response = await upload_page(client, shop, token, "big.jpg", b"\xff" * (6 * 1024 * 1024))
    assert response.status_code == 413
    assert "图片超过 5 MB" in response.text
    assert await state(shop["product_id"]) == before


async def test_only_an_administrator_uploads_on_the_page(client, shop):
    before = await state(shop["product_id"])
    for username in ("buyer1", "boss1", "rep", "clerk"):
        token = await as_user(client, username)
        response = await upload_page(client, shop, token, "a.jpg", picture())
        assert response.status_code == 403, username
    token = await as_user(client, "root")
    response = await client.post(
        "/admin/products/987654/picture",
        data={"_csrf_token": token},
        files={"picture": ("a.jpg", picture(), "image/jpeg")},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert await state(shop["product_id"]) == before


async def test_pictures_are_for_signed_in_users(client, shop):
    token = await as_user(client, "root")
    assert (await upload_page(client, shop, token, "a.jpg", picture())).status_code == 303
    image = await image_of(shop["product_id"])
    client.cookies.clear()
    for url in (image, f"{image}/thumb"):
        response = await client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    await as_user(client, "clerk")
    assert (await client.get(image)).status_code == 200
    assert (await client.get("/pictures/products/987654")).status_code == 404
    assert (await client.get("/pictures/products/987654/thumb")).status_code == 404


async def test_api_upload(client, shop):
    headers = await bearer(client, "root")
    url = f"/api/v1/admin/products/{shop['product_id']}/picture"
    response = await client.put(
        url, files={"file": ("a.webp", picture("WEBP"), "image/webp")}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == shop["product_id"]
    assert re.fullmatch(r"/pictures/products/\d+", body["image"])
    assert body["image"] == await image_of(shop["product_id"])
    assert body["visibility"]["visibility"] == "all" and body["name"] == "农夫山泉 550ml"
    served = await client.get(body["image"], headers=await bearer(client, "buyer1"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"


async def test_api_refusals(client, shop):
    admin = await bearer(client, "root")
    url = f"/api/v1/admin/products/{shop['product_id']}/picture"
    before = await state(shop["product_id"])
    text = {"file": ("货单.jpg", b"not a picture at all", "image/jpeg")}
    bad = await client.put(url, files=text, headers=admin)
    body = assert_problem(bad, 422, "validation")
    assert body["errors"][0]["field"] == "picture"
    assert "不是 JPEG、PNG 或 WebP" in body["errors"][0]["message"]
    empty = await client.put(url, files={"file": ("e.jpg", b"", "image/jpeg")}, headers=admin)
    assert assert_problem(empty, 422, "validation")["errors"][0]["field"] == "picture"
    huge = {"file": ("h.jpg", b"\xff" * (6 * 1024 * 1024), "image/jpeg")}
    assert_problem(await client.put(url, files=huge, headers=admin), 413, "validation")
    good = {"file": ("a.jpg", picture(), "image/jpeg")}
    missing = "/api/v1/admin/products/987654/picture"
    assert_problem(await client.put(missing, files=good, headers=admin), 404, "not-found")
    for username in ("buyer1", "clerk"):
        refused = await client.put(url, files=good, headers=await bearer(client, username))
        assert_problem(refused, 403, "forbidden")
    assert (await client.put(url, files=good)).status_code == 401
    assert await state(shop["product_id"]) == before


async def test_a_restricted_products_picture_is_not_found_for_other_dealers(client, shop):
    """Foreign reads like missing: 404, the same body, and never kept by the browser."""
    admin = f.actor(await f.user("admin"))
    other_tier = await f.tier(code="T2", name="二级经销商", rank=2)
    await f.user("dealer_buyer", await f.dealer(other_tier), username="buyer2")
    p = await catalog_admin.upload_product_picture(
        admin, shop["product_id"], photos.Upload("a.jpg", picture())
    )
    image = p["image"]
    await catalog_admin.set_visibility(admin, shop["product_id"], "restricted", [other_tier["id"]])
    for username in ("buyer1", "boss1"):
        await as_user(client, username)
        missing = await client.get("/pictures/products/987654")
        for url in (image, f"{image}/thumb"):
            hidden = await client.get(url)
            assert hidden.status_code == 404, (username, url)
            assert hidden.headers["cache-control"] == "private, no-store"
            assert hidden.headers["content-type"] == missing.headers["content-type"]
            assert hidden.text == missing.text
    client.cookies.clear()
    api = await client.get(image, headers=await bearer(client, "buyer1"))
    assert api.status_code == 404
    # The tier it is shown to, and staff (the rep, the warehouse) see it.
    for username in ("buyer2", "rep", "clerk"):
        await as_user(client, username)
        for url in (image, f"{image}/thumb"):
            shown = await client.get(url)
            assert shown.status_code == 200, (username, url)
            assert shown.headers["cache-control"] == CACHE


async def test_another_products_picture_is_refused_as_an_address(client, shop):
    admin = f.actor(await f.user("admin"))
    cola = await f.sku(code="C330", name="可口可乐 330ml")
    others = await catalog_admin.upload_product_picture(
        admin, cola["product"], photos.Upload("a.jpg", picture())
    )
    before = await state(shop["product_id"])
    token = await as_user(client, "root")
    form = {
        "name": "农夫山泉 550ml",
        "barcode": "",
        "base_price": "2.00",
        "moq": "1",
        "order_multiple": "1",
        "safety_stock": "0",
        "active": "1",
        "image": others["image"],
        "_csrf_token": token,
    }
    page = await client.post(f"/admin/skus/{shop['water']['id']}", data=form)
    assert page.status_code == 422
    match = re.search(r'id="sku-err-image">([^<]*)<', page.text)
    assert match and "另一个商品上传的图片" in match.group(1), page.text
    client.cookies.clear()
    api = await client.put(
        f"/api/v1/admin/skus/{shop['water']['id']}",
        json={
            **{k: v for k, v in form.items() if k not in ("_csrf_token", "active")},
            "moq": 1,
            "order_multiple": 1,
            "safety_stock": 0,
            "allow_backorder": False,
            "active": True,
        },
        headers={**await bearer(client, "root"), "Accept-Language": "zh-CN"},
    )
    errors = assert_problem(api, 422, "validation")["errors"]
    assert [e["field"] for e in errors] == ["image"]
    assert "另一个商品上传的图片" in errors[0]["message"]
    assert await state(shop["product_id"]) == before
    assert await image_of(cola["product"]) == others["image"]


# --- more pictures ----------------------------------------------------------------------------


async def test_more_pictures_from_the_sku_page_and_the_dealers_gallery(client, shop):
    token = await as_user(client, "root")
    sku_page = f"/admin/skus/{shop['water']['id']}"
    base = f"/admin/products/{shop['product_id']}/pictures"
    form = {"_csrf_token": token, "sku": str(shop["water"]["id"])}
    for name in ("正面.jpg", "背面.jpg"):
        added = await client.post(
            base,
            data=form,
            files={"picture": (name, picture(), "image/jpeg")},
            follow_redirects=False,
        )
        assert added.status_code == 303
        assert added.headers["location"] == f"{sku_page}#more-pictures"
    first, second = await catalog_admin.product_pictures(shop["product_id"])
    page = (await client.get(sku_page)).text
    assert "图片已添加。" in page and "更多图片" in page
    assert f"{first['address']}/thumb" in page and f"{second['address']}/thumb" in page
    assert f"{base}/{second['id']}/cover" in page and f"{base}/{first['id']}/cover" not in page
    # The dealer's product page shows both, the cover first, to swipe through.
    await as_user(client, "buyer1")
    product = (await client.get(f"/products/{shop['product_id']}")).text
    gallery = re.search(r'<div class="product-gallery".*?</div>', product, re.S).group(0)
    assert re.findall(r'src="([^"]+)"', gallery) == [first["address"], second["address"]]
    assert "共 2 张图片" in product
    served = await client.get(second["address"])
    assert served.status_code == 200 and served.headers["cache-control"] == CACHE
    # Make the second the cover, then remove it: the first is the cover again.
    token = await as_user(client, "root")
    form["_csrf_token"] = token
    moved = await client.post(f"{base}/{second['id']}/cover", data=form, follow_redirects=False)
    assert moved.status_code == 303 and await image_of(shop["product_id"]) == second["address"]
    gone = await client.post(f"{base}/{second['id']}/remove", data=form, follow_redirects=False)
    assert gone.status_code == 303 and await image_of(shop["product_id"]) == first["address"]
    assert "图片已删除。" in (await client.get(sku_page)).text
    await as_user(client, "buyer1")
    product = (await client.get(f"/products/{shop['product_id']}")).text
    assert 'class="product-gallery"' not in product and f'src="{first["address"]}"' in product
    assert (await client.get(second["address"])).status_code == 404


async def test_more_pictures_refusals_on_the_page(client, shop):
    token = await as_user(client, "root")
    base = f"/admin/products/{shop['product_id']}/pictures"
    form = {"_csrf_token": token, "sku": str(shop["water"]["id"])}
    before = await state(shop["product_id"])
    refused = await client.post(
        base, data=form, files={"picture": ("a.jpg", b"not a picture", "image/jpeg")}
    )
    assert refused.status_code == 422
    assert re.search(r'id="more-picture-err">[^<]+<', refused.text)
    assert await state(shop["product_id"]) == before
    # Another product's picture is not found through this product.
    other = await f.sku(code="X-1", name="别的商品")
    theirs = await catalog_admin.add_product_picture(
        f.actor(await f.user("admin", username="root2")),
        other["product"],
        photos.Upload("x.jpg", picture()),
    )
    response = await client.post(f"{base}/{theirs[0]['id']}/remove", data=form)
    assert response.status_code == 404
    assert await ProductPicture.count().where(ProductPicture.id == theirs[0]["id"]) == 1
    # Only an administrator.
    token = await as_user(client, "clerk")
    denied = await client.post(
        base,
        data={**form, "_csrf_token": token},
        files={"picture": ("a.jpg", picture(), "image/jpeg")},
    )
    assert denied.status_code == 403
    assert await ProductPicture.count().where(ProductPicture.product == shop["product_id"]) == 0


async def test_more_pictures_through_the_api(client, shop):
    admin = await bearer(client, "root")
    base = f"/api/v1/admin/products/{shop['product_id']}/pictures"
    first = await client.post(
        base, files={"file": ("a.jpg", picture(), "image/jpeg")}, headers=admin
    )
    assert first.status_code == 201, first.text
    [cover] = first.json()
    assert cover["cover"] and cover["address"] == await image_of(shop["product_id"])
    second = await client.post(
        base, files={"file": ("b.png", picture("PNG"), "image/png")}, headers=admin
    )
    more = second.json()[1]
    assert [p["cover"] for p in second.json()] == [True, False]
    listed = await client.get(base, headers=admin)
    assert listed.json() == second.json()
    # The dealer's catalog API lists every picture, the cover first.
    buyer = await bearer(client, "buyer1")
    product = await client.get(f"/api/v1/catalog/products/{shop['product_id']}", headers=buyer)
    assert product.json()["images"] == [p["address"] for p in second.json()]
    assert product.json()["image"] == cover["address"]
    made = await client.post(f"{base}/{more['id']}/cover", headers=admin)
    assert made.status_code == 200 and made.json()[0]["id"] == more["id"]
    removed = await client.delete(f"{base}/{cover['id']}", headers=admin)
    assert removed.status_code == 204
    assert [p["id"] for p in (await client.get(base, headers=admin)).json()] == [more["id"]]
    assert_problem(await client.delete(f"{base}/{cover['id']}", headers=admin), 404, "not-found")
    assert_problem(await client.get(base, headers=buyer), 403, "forbidden")
    # The tenth is one too many.
    for n in range(catalog_admin.MAX_PICTURES - 1):
        ok = await client.post(
            base, files={"file": (f"{n}.jpg", picture(), "image/jpeg")}, headers=admin
        )
        assert ok.status_code == 201
    problem = assert_problem(
        await client.post(base, files={"file": ("x.jpg", picture(), "image/jpeg")}, headers=admin),
        422,
        "validation",
    )
    assert problem["errors"][0]["field"] == "picture"
