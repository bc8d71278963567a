"""Languages, widths and accessibility of the pages: English counts in the singular and the
plural, the unit inside its sentence, no Chinese glosses in English labels, amounts and
numbers kept whole, a focus ring seen on the top bar, and app icons fit for any launcher."""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image

from portal import i18n
from portal.tables import User
from portal.web.audit import _shown_value
from tests import factories as f
from tests.db.test_shipments import approved_order, fulfil_world
from tests.http.conftest import sign_in

CJK = re.compile(r"[\u3400-\u9fff]")


async def english(username: str, role: str, dealer: dict | None = None) -> dict:
    u = await f.user(role, dealer, username=username)
    await User.update({User.locale: "en"}).where(User.id == u["id"])
    return u


def text_of(html: str) -> str:
    """The page's words, one space between them (tags and line breaks dropped)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_english_counts_are_singular_for_one_and_plural_for_more(db, client):
    w = await fulfil_world()
    one = await approved_order(w, qty=1, key="one")
    await english("clerk", "warehouse")
    await sign_in(client, "clerk")
    queue = text_of((await client.get("/warehouse")).text)
    assert "1 line, 1 unit to ship" in queue
    picked = text_of((await client.get(f"/warehouse/pick-list?order={one['id']}")).text)
    assert "1 order chosen: 1 product, 1 unit." in picked
    assert "Chosen orders" not in picked and "1 orders" not in picked

    await approved_order(w, qty=3, qty2=4, key="two")
    queue = text_of((await client.get("/warehouse")).text)
    assert "2 lines, 7 units to ship" in queue
    every = text_of((await client.get("/warehouse/pick-list")).text)
    assert "Every order waiting to ship: 2 orders, 2 products, 8 units." in every
    for wrong in ("1 lines", "1 units", "1 orders", "1 products"):
        assert wrong not in queue and wrong not in every


async def test_the_unit_sits_inside_the_sentence(db, client):
    w = await fulfil_world()
    order = await approved_order(w, qty=2)
    await english("clerk", "warehouse")
    await sign_in(client, "clerk")
    page = text_of((await client.get(f"/warehouse/orders/{order['id']}")).text)
    unit = w.sku["base_unit"]
    # Each language puts the unit where it belongs; English no longer ends on a bare "瓶".
    assert re.search(rf"Ordered 2 {unit}, shipped 0, packed 0; .* can ship \d+ {unit}", page)
    assert not re.search(rf"can ship \d+ {unit} {unit}", page)


async def test_a_one_day_report_compares_with_the_day_before(db, client):
    await english("boss", "sales_manager")
    await sign_in(client, "boss")
    one = text_of((await client.get("/reports?start=2026-11-03&end=2026-11-03")).text)
    assert "Against the day before: ¥0.00 in 0 orders." in one
    two = text_of((await client.get("/reports?start=2026-11-03&end=2026-11-04")).text)
    assert "Against the 2 days before: ¥0.00 in 0 orders." in two


async def test_a_negative_amount_stays_whole_and_stands_out(db, client):
    over = await f.dealer(name="超额商行", credit_limit_fen=100_000, balance_fen=150_000)
    fine = await f.dealer(name="正常商行", credit_limit_fen=100_000, balance_fen=0)
    await english("fin", "finance")
    await sign_in(client, "fin")
    page = (await client.get("/finance")).text
    # The amount is one unbreakable piece, red and bold where the dealer is over its limit.
    assert '<strong class="money negative">-¥500.00</strong>' in page
    assert '<span class="money">¥1,000.00</span>' in page  # the other dealer's, plain
    assert page.count("money negative") == 1
    detail = (await client.get(f"/finance/dealers/{over['id']}")).text
    assert '<dd class="money negative">-¥500.00</dd>' in detail
    detail = (await client.get(f"/finance/dealers/{fine['id']}")).text
    assert '<dd class="money">¥1,000.00</dd>' in detail
    css = (await client.get("/static/css/app.css")).text
    assert ".money { white-space: nowrap; }" in css
    assert ".ident { white-space: nowrap; }" in css


async def test_numbers_and_codes_are_kept_whole(db, client):
    w = await fulfil_world()
    order = await approved_order(w, qty=2)
    await english("clerk", "warehouse")
    await sign_in(client, "clerk")
    page = (await client.get(f"/warehouse/orders/{order['id']}")).text
    number = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
    assert re.fullmatch(r'<span class="ident">SO-\d{8}-\d{4}</span>', number), number
    assert '<span class="muted ident">A100</span>' in page


async def test_the_focus_ring_shows_on_the_blue_top_bar(db, client):
    css = (await client.get("/static/css/app.css")).text
    # The general ring is brand blue, the top bar's background: inside it the ring is white.
    assert ":focus-visible { outline: 3px solid var(--brand)" in css
    assert re.search(r"\.topbar :focus-visible \{ outline-color: #fff;", css)


async def test_english_labels_carry_no_chinese_gloss(db, client):
    dealer = await f.dealer()
    await english("boss", "admin")
    await sign_in(client, "boss")
    promotions = text_of((await client.get("/admin/promotions")).text)
    assert "Spend and save" in promotions and "Buy and get free" in promotions
    assert "满减" not in promotions and "买赠" not in promotions
    assert "(bottles, not cases)" in promotions
    addresses = text_of((await client.get(f"/dealers/{dealer['id']}/addresses")).text)
    assert "Label (optional, e.g. Main warehouse)" in addresses
    assert "e.g. 总仓" not in addresses  # the dealer's own address may be called 总仓: data


@pytest.mark.parametrize(
    ("locale", "key", "value", "shown"),
    [
        ("en", "status", "pending_approval", "Awaiting approval"),
        ("en", "order_status", "partially_shipped", "Partially shipped"),
        ("en", "status", "packed", "Packed"),
        ("zh_Hans", "status", "approved", "已审核"),
        ("en", "note", "approved", "approved"),  # a note that says "approved" stays as written
        ("en", "status", "something_new", "something_new"),
    ],
)
def test_the_audit_log_shows_states_by_their_labels(locale, key, value, shown):
    i18n.set_locale(locale)
    try:
        assert _shown_value(key, value) == shown
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)


def _png(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGBA")


async def test_the_app_icons_suit_any_launcher(client):
    manifest = json.loads((await client.get("/manifest.webmanifest?lang=en")).text)
    icons = manifest["icons"]
    # One purpose per file: "any maskable" crops the "any" picture or boxes the maskable one.
    assert {i["purpose"] for i in icons} == {"any", "maskable"}
    for purpose in ("any", "maskable"):
        sizes = {i["sizes"] for i in icons if i["purpose"] == purpose and i["type"] == "image/png"}
        assert sizes == {"192x192", "512x512"}, purpose
    for icon in (i for i in icons if i["type"] == "image/png"):
        response = await client.get(icon["src"])
        assert response.status_code == 200, icon
        picture = _png(response.content)
        size = picture.width
        assert f"{size}x{picture.height}" == icon["sizes"]
        corners = [(0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)]
        blue = (26, 86, 219)
        if icon["purpose"] == "any":
            # Transparent corners: no white square on a dark launcher or task switcher.
            assert all(picture.getpixel(c)[3] == 0 for c in corners), icon
            assert picture.getpixel((size // 2, 2))[:3] == blue
        else:
            # Blue to the edges, and every white pixel of the cart inside the 80% safe zone.
            assert all(picture.getpixel(c) == (*blue, 255) for c in corners), icon
            centre, radius = (size - 1) / 2, 0.4 * size
            white = [
                (x, y)
                for x in range(0, size, 2)
                for y in range(0, size, 2)
                if min(picture.getpixel((x, y))[:3]) > 200
            ]
            assert white, "the cart is drawn"
            assert all((x - centre) ** 2 + (y - centre) ** 2 < radius**2 for x, y in white)
    # The only manifest is the route's, named in the page's language: no stale copy in /static/.
    assert (await client.get("/static/manifest.webmanifest")).status_code == 404
