"""Cart and order pages: steppers with out-of-band totals, quick order, submit, orders, cancel."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from portal.domain import cart as cart_domain
from portal.tables import (
    ApprovalRule,
    CartLine,
    Dealer,
    Order,
    OrderEvent,
    StockLevel,
    TierPrice,
)
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in

HX = {"HX-Request": "true"}


async def shop(*, credit_limit_fen: int = 10_000_000, b_stock: int = 5) -> SimpleNamespace:
    wh = await f.warehouse()
    tier = await f.tier(name="一级经销商")
    dealer = await f.dealer(tier, credit_limit_fen=credit_limit_fen, default_warehouse=wh)
    buyer = await f.user("dealer_buyer", dealer, username="buyer")
    a = await f.sku(code="A100", name="农夫山泉 550ml", base_price_fen=200)
    b = await f.sku(code="B200", name="可口可乐 330ml", base_price_fen=300)
    await f.stock(a, wh, 1000)
    await f.stock(b, wh, b_stock)
    await f.tier_price(tier, a, price_fen=180)
    return SimpleNamespace(wh=wh, tier=tier, dealer=dealer, buyer=buyer, a=a, b=b)


async def needs_approval() -> None:
    """Every order waits for a manager: a dealer may cancel only before approval."""
    await ApprovalRule.insert(
        ApprovalRule(
            kind="total_at_least",
            approver_role="sales_manager",
            amount_fen=1,
            step_order=10,
            created_at=datetime.now(UTC),
        )
    )


async def csrf(client, path: str = "/me") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def put(s: SimpleNamespace, sku: dict, qty: int) -> None:
    await cart_domain.set_qty(f.actor(s.buyer), s.dealer["id"], sku["id"], qty)


async def cart_qty(s: SimpleNamespace) -> dict[int, int]:
    rows = await CartLine.select(CartLine.sku, CartLine.qty).where(
        CartLine.cart.dealer == s.dealer["id"]
    )
    return {r["sku"]: r["qty"] for r in rows}


def key_from(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "cart page has no idempotency key"
    return match.group(1)


async def submit_cart_page(client, **kw):
    """Open the cart and submit it as its form would (its key and CSRF token): (page, response);
    `kw` go to the POST (headers, follow_redirects)."""
    page = await client.get("/cart")
    response = await client.post(
        "/cart/submit",
        data={"idempotency_key": key_from(page.text), "_csrf_token": csrf_from(page.text)},
        **kw,
    )
    return page, response


async def test_empty_cart_links_to_the_catalog(client):
    await shop()
    await sign_in(client, "buyer")
    page = await client.get("/cart")
    assert page.status_code == 200
    assert 'href="/catalog"' in page.text
    assert 'name="idempotency_key"' not in page.text


async def test_stepper_updates_line_totals_and_badge_out_of_band(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 10)
    await put(s, s.b, 2)
    page = await client.get("/cart")
    assert "¥18.00" in page.text  # 10 × ¥1.80
    assert re.search(r'id="cart-badge"[^>]*>\s*2\s*</span>', page.text)
    token = csrf_from(page.text)
    response = await client.post(
        f"/cart/lines/{s.a['id']}",
        data={"qty": "10", "set": "11", "_csrf_token": token},
        headers=HX,
    )
    assert response.status_code == 200, response.text
    html = response.text
    assert f'id="line-{s.a["id"]}"' in html
    assert "<html" not in html
    assert "¥19.80" in html  # the line: 11 × ¥1.80
    assert re.search(r'id="cart-totals" hx-swap-oob="innerHTML">.*¥25.80', html, re.S)
    assert re.search(r'id="cart-badge" hx-swap-oob="innerHTML">\s*2\s*</span>', html)
    assert (await cart_qty(s))[s.a["id"]] == 11

    # The remove button takes the line out; the badge follows.
    response = await client.post(
        f"/cart/lines/{s.b['id']}", data={"remove": "1", "_csrf_token": token}, headers=HX
    )
    assert response.status_code == 200
    assert f'id="line-{s.b["id"]}"' not in response.text
    assert re.search(r'id="cart-badge" hx-swap-oob="innerHTML">\s*1\s*</span>', response.text)
    assert s.b["id"] not in await cart_qty(s)


async def test_stepper_without_javascript_redirects_back_to_the_cart(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 1)
    token = await csrf(client, "/cart")
    response = await client.post(
        f"/cart/lines/{s.a['id']}",
        data={"qty": "3", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/cart"
    assert (await cart_qty(s))[s.a["id"]] == 3


async def test_bad_quantities_get_a_message_and_change_nothing(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 4)
    token = await csrf(client, "/cart")
    for bad in ("abc", "-1", "1.5", str(10**12), ""):
        response = await client.post(
            f"/cart/lines/{s.a['id']}", data={"qty": bad, "_csrf_token": token}
        )
        assert response.status_code == 422, bad
        assert 'class="field-error"' in response.text, bad
        assert "1,000,000" in response.text, bad
        assert (await cart_qty(s))[s.a["id"]] == 4
    # htmx gets the line back with its error, not a page.
    response = await client.post(
        f"/cart/lines/{s.a['id']}", data={"qty": "x", "_csrf_token": token}, headers=HX
    )
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text and "<html" not in response.text


async def test_quantity_rules_from_the_domain_are_shown_inline(client):
    s = await shop()
    moq = await f.sku(code="C300", moq=6, order_multiple=6)
    await f.stock(moq, s.wh, 100)
    await sign_in(client, "buyer")
    token = await csrf(client, "/cart")
    response = await client.post(
        f"/cart/lines/{moq['id']}", data={"qty": "4", "_csrf_token": token}
    )
    assert response.status_code == 422
    assert "C300" in response.text
    assert moq["id"] not in await cart_qty(s)


async def test_bad_delivery_details_are_refused_inline(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 1)
    token = await csrf(client, "/cart")
    response = await client.post(
        "/cart/details",
        data={"requested_date": "2026-02-30", "note": "下午送货", "_csrf_token": token},
    )
    assert response.status_code == 422
    assert 'id="date-err"' in response.text
    # What was typed stays in the boxes to be fixed (not the cart's stored copy).
    assert "下午送货</textarea>" in response.text and 'value="2026-02-30"' in response.text
    response = await client.post("/cart/details", data={"address_id": "abc", "_csrf_token": token})
    assert response.status_code == 422
    assert 'id="address-err"' in response.text
    response = await client.post("/cart/details", data={"note": "x" * 501, "_csrf_token": token})
    assert response.status_code == 422
    assert 'id="note-err"' in response.text
    view = await cart_domain.get_cart(f.actor(s.buyer), s.dealer["id"])
    assert view.requested_date is None and view.note == ""


async def test_quick_order_with_bad_lines_lists_them_and_adds_nothing(client):
    s = await shop()
    await sign_in(client, "buyer")
    token = await csrf(client, "/cart")
    response = await client.post(
        "/cart/quick",
        data={"text": "A100 12\nNOPE 3\nB200 abc", "_csrf_token": token},
        headers=HX,
    )
    assert response.status_code == 422
    html = response.text
    assert 'id="quick-errors"' in html
    assert "NOPE" in html and "abc" in html and "未加入任何商品" in html
    # The box keeps every line, to be fixed and sent again; the cart is as it was.
    box = re.search(r'<textarea id="quick-text"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert "A100 12" in box and "NOPE 3" in box
    assert await cart_qty(s) == {}
    response = await client.post(
        "/cart/quick", data={"text": "A100 12", "_csrf_token": token}, headers=HX
    )
    assert response.status_code == 200
    assert await cart_qty(s) == {s.a["id"]: 12}
    assert re.search(r'id="cart-badge" hx-swap-oob="innerHTML">\s*1\s*</span>', response.text)


async def test_submit_twice_with_one_key_makes_one_order(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 24)
    page = await client.get("/cart")
    token, key = csrf_from(page.text), key_from(page.text)
    # The plain form carries the details: the retry brings them again, for the order placed.
    form = {"idempotency_key": key, "_csrf_token": token, "note": "周五前送达", "address_id": ""}
    first = await client.post("/cart/submit", data=form, follow_redirects=False)
    second = await client.post("/cart/submit", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await Order.count() == 1
    order = await Order.select().first()
    assert order["note"] == "周五前送达"
    # ... and they do not wait in the emptied cart for the next order.
    view = await cart_domain.get_cart(f.actor(s.buyer), s.dealer["id"])
    assert view.note == "" and view.requested_date is None
    assert first.headers["location"] == f"/orders/{order['id']}"
    detail = await client.get(first.headers["location"])
    assert order["number"] in detail.text
    assert 'class="alert alert-ok"' in detail.text  # "order placed"
    assert await cart_qty(s) == {}


async def test_htmx_submit_redirects_with_a_header(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 2)
    page, response = await submit_cart_page(client, headers=HX)
    assert response.status_code == 200
    order = await Order.select().first()
    assert response.headers["HX-Redirect"] == f"/orders/{order['id']}"


async def test_credit_refusal_shows_the_figures_and_keeps_the_cart(client):
    s = await shop(credit_limit_fen=1_000)  # ¥10.00
    await sign_in(client, "buyer")
    await put(s, s.a, 24)  # 24 × ¥1.80 = ¥43.20
    page, response = await submit_cart_page(client)
    assert response.status_code == 422
    error = re.search(r'id="submit-error">(.*?)</div>', response.text, re.S).group(1)
    assert "10.00" in error and "43.20" in error
    assert "B200" not in error  # nothing short: the credit alone
    assert await Order.count() == 0
    assert await cart_qty(s) == {s.a["id"]: 24}
    # A fresh key for the next attempt.
    assert key_from(response.text) != key_from(page.text)

    # Short of stock as well: the same refusal names the short line, to fix both at once.
    await put(s, s.b, 5)
    await StockLevel.update({StockLevel.reserved: 3}).where(StockLevel.sku == s.b["id"])
    page, response = await submit_cart_page(client)
    assert response.status_code == 422
    error = re.search(r'id="submit-error">(.*?)</div>', response.text, re.S).group(1)
    assert "10.00" in error and "B200" in error and "A100" not in error
    assert await Order.count() == 0


async def test_stock_shortage_names_the_short_line(client):
    s = await shop(b_stock=5)
    await sign_in(client, "buyer")
    await put(s, s.a, 1)
    await put(s, s.b, 5)
    # Someone else takes stock after the line went in.
    await StockLevel.update({StockLevel.reserved: 3}).where(StockLevel.sku == s.b["id"])
    page, response = await submit_cart_page(client, headers=HX)
    assert response.status_code == 422
    error = re.search(r'id="submit-error">(.*?)</div>', response.text, re.S).group(1)
    assert "B200" in error and "A100" not in error
    assert await Order.count() == 0
    assert await cart_qty(s) == {s.a["id"]: 1, s.b["id"]: 5}


async def test_submit_with_a_bad_key_is_refused(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 1)
    token = await csrf(client, "/cart")
    response = await client.post(
        "/cart/submit", data={"idempotency_key": "x", "_csrf_token": token}
    )
    assert response.status_code == 400
    assert await Order.count() == 0


# A delivery day a month ahead (a date is refused more than a year ahead).
SOON = date.today() + timedelta(days=30)


async def test_submit_carries_the_delivery_details_of_a_plain_form(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 1)
    page = await client.get("/cart")
    response = await client.post(
        "/cart/submit",
        data={
            "idempotency_key": key_from(page.text),
            "_csrf_token": csrf_from(page.text),
            "requested_date": SOON.isoformat(),
            "note": "请走后门",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    order = await Order.select().first()
    assert order["note"] == "请走后门"
    assert order["requested_date"] == SOON


async def place(client, s: SimpleNamespace, sku: dict, qty: int) -> dict:
    await put(s, sku, qty)
    page, response = await submit_cart_page(client, follow_redirects=False)
    assert response.status_code == 303, response.text
    order_id = int(response.headers["location"].rsplit("/", 1)[1])
    return await Order.select().where(Order.id == order_id).first()


async def test_orders_list_filters_by_status_and_searches(client):
    s = await shop()
    await needs_approval()
    await sign_in(client, "buyer")
    kept = await place(client, s, s.a, 2)
    dropped = await place(client, s, s.a, 3)
    token = await csrf(client)
    await client.post(f"/orders/{dropped['id']}/cancel", data={"_csrf_token": token})
    everything = await client.get("/orders")
    assert kept["number"] in everything.text and dropped["number"] in everything.text
    cancelled = await client.get("/orders?status=cancelled")
    assert dropped["number"] in cancelled.text and kept["number"] not in cancelled.text
    waiting = await client.get("/orders?status=pending_approval", headers=HX)
    assert kept["number"] in waiting.text and dropped["number"] not in waiting.text
    assert "<html" not in waiting.text
    found = await client.get(f"/orders?q={kept['number'][-4:]}")
    assert kept["number"] in found.text and dropped["number"] not in found.text
    # The dealer's code, as the list shows it, finds its orders; a wildcard alone finds none.
    by_code = await client.get("/orders", params={"q": s.dealer["code"].lower()})
    assert kept["number"] in by_code.text and dropped["number"] in by_code.text
    wild = await client.get("/orders", params={"q": "%"})
    assert kept["number"] not in wild.text and dropped["number"] not in wild.text
    bad = await client.get("/orders?status=nonsense")
    assert bad.status_code == 400 and kept["number"] in bad.text


async def test_orders_list_loads_more(client):
    s = await shop()
    await sign_in(client, "buyer")
    for _ in range(21):
        await place(client, s, s.a, 1)
    first = await client.get("/orders")
    assert first.text.count('class="card order-row"') == 20
    assert "page=2" in first.text
    more = await client.get("/orders?page=2", headers=HX)
    assert more.text.count('class="card order-row"') == 1
    assert "page=3" not in more.text


async def test_order_detail_shows_lines_and_timeline(client):
    s = await shop()
    await sign_in(client, "buyer")
    order = await place(client, s, s.a, 24)
    detail = await client.get(f"/orders/{order['id']}")
    assert detail.status_code == 200
    html = detail.text
    assert order["number"] in html
    assert "A100" in html and "¥43.20" in html
    assert 'class="timeline"' in html
    events = await OrderEvent.count().where(OrderEvent.order == order["id"])
    assert html.count('class="timeline-item"') == events >= 1
    assert s.buyer["display_name"] in html
    # Approved on submission: no cancel button for the dealer, a word on whom to ask.
    assert f'href="/orders/{order["id"]}/cancel"' not in html
    assert 'id="cancel-hint"' in html and "业务员" in html


async def test_cancel_confirms_then_cancels_and_releases(client):
    s = await shop()
    await needs_approval()
    await sign_in(client, "buyer")
    order = await place(client, s, s.a, 24)
    dealer = await Dealer.select().where(Dealer.id == s.dealer["id"]).first()
    assert dealer["open_orders_fen"] == 4320
    confirm = await client.get(f"/orders/{order['id']}/cancel")
    assert confirm.status_code == 200
    assert f'action="/orders/{order["id"]}/cancel"' in confirm.text
    panel = await client.get(f"/orders/{order['id']}/cancel", headers=HX)
    assert "<html" not in panel.text and 'name="reason"' in panel.text
    response = await client.post(
        f"/orders/{order['id']}/cancel",
        data={"reason": "订错了", "_csrf_token": csrf_from(confirm.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (await Order.select().where(Order.id == order["id"]).first())["status"] == "cancelled"
    dealer = await Dealer.select().where(Dealer.id == s.dealer["id"]).first()
    assert dealer["open_orders_fen"] == 0
    level = await StockLevel.select().where(StockLevel.sku == s.a["id"]).first()
    assert level["reserved"] == 0
    detail = await client.get(response.headers["location"])
    assert "订错了" in detail.text
    assert f'href="/orders/{order["id"]}/cancel"' not in detail.text
    # Cancelling again is refused with a message, not an error page.
    again = await client.post(
        f"/orders/{order['id']}/cancel", data={"_csrf_token": csrf_from(detail.text)}
    )
    assert again.status_code == 409
    assert 'id="cancel-error"' in again.text


async def test_reorder_fills_the_cart(client):
    s = await shop()
    await sign_in(client, "buyer")
    order = await place(client, s, s.a, 24)
    token = await csrf(client)
    response = await client.post(
        f"/orders/{order['id']}/reorder", data={"_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/cart"
    assert await cart_qty(s) == {s.a["id"]: 24}
    page = await client.get("/cart")
    assert 'class="alert alert-ok"' in page.text
    # The flash shows once.
    assert 'class="alert alert-ok"' not in (await client.get("/cart")).text


async def test_another_dealers_order_is_not_found(client):
    s = await shop()
    other_dealer = await f.dealer(s.tier, default_warehouse=s.wh)
    other = await f.user("dealer_buyer", other_dealer, username="other")
    await cart_domain.set_qty(f.actor(other), other_dealer["id"], s.a["id"], 2)
    await sign_in(client, "other")
    theirs = await place(
        client, SimpleNamespace(**{**vars(s), "buyer": other, "dealer": other_dealer}), s.a, 2
    )
    client.cookies.clear()
    await sign_in(client, "buyer")
    token = await csrf(client)
    assert (await client.get(f"/orders/{theirs['id']}")).status_code == 404
    assert (await client.get(f"/orders/{theirs['id']}/cancel")).status_code == 404
    assert (await client.get("/orders/999999")).status_code == 404
    response = await client.post(f"/orders/{theirs['id']}/cancel", data={"_csrf_token": token})
    assert response.status_code == 404
    response = await client.post(f"/orders/{theirs['id']}/reorder", data={"_csrf_token": token})
    assert response.status_code == 404
    assert theirs["number"] not in (await client.get("/orders")).text
    assert (await Order.select().where(Order.id == theirs["id"]).first())["status"] == "approved"


async def test_post_without_csrf_is_forbidden(client):
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 1)
    response = await client.post(f"/cart/lines/{s.a['id']}", data={"qty": "5"})
    assert response.status_code == 403
    response = await client.post("/cart/submit", data={"idempotency_key": "abcdefgh1234"})
    assert response.status_code == 403
    assert await cart_qty(s) == {s.a["id"]: 1}
    assert await Order.count() == 0


async def test_me_page_offers_language_and_sign_out(client):
    s = await shop()
    await sign_in(client, "buyer")
    page = await client.get("/me")
    assert page.status_code == 200
    assert s.buyer["display_name"] in page.text and s.dealer["name"] in page.text
    assert 'action="/lang"' in page.text and 'action="/logout"' in page.text
    response = await client.post(
        "/lang",
        data={"locale": "en", "next": "/me", "_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    english = await client.get("/me")
    assert "Sign out" in english.text


async def test_a_total_that_changed_since_the_cart_was_shown_is_not_placed(client):
    """The buyer taps "Submit · ¥3.60": if a price changed meanwhile (an administrator, an
    offer ending at midnight) the order is not placed at another amount without a word."""
    s = await shop()
    await sign_in(client, "buyer")
    await put(s, s.a, 2)  # 2 × ¥1.80
    page = await client.get("/cart")
    assert 'name="expected_total" value="360"' in page.text
    await TierPrice.update({TierPrice.price_fen: 190}).where(TierPrice.sku == s.a["id"])
    form = {"idempotency_key": key_from(page.text), "_csrf_token": csrf_from(page.text)}
    refused = await client.post("/cart/submit", data={**form, "expected_total": "360"})
    assert refused.status_code == 409
    assert "¥3.80" in refused.text and "¥3.60" in refused.text
    assert await Order.count() == 0 and await cart_qty(s) == {s.a["id"]: 2}
    # The cart shown again carries the new total: submitting it places the order.
    assert 'name="expected_total" value="380"' in refused.text
    placed = await client.post(
        "/cart/submit",
        data={**form, "idempotency_key": key_from(refused.text), "expected_total": "380"},
        follow_redirects=False,
    )
    assert placed.status_code == 303
    assert (await Order.select(Order.total_fen).first())["total_fen"] == 380


async def test_the_sample_order_file_has_codes_the_dealer_can_order_and_adds_cleanly(client):
    s = await shop()
    await sign_in(client, "buyer")
    sample = await client.get("/cart/order-sample.csv")
    assert sample.status_code == 200 and sample.headers["content-type"].startswith("text/csv")
    rows = [r.split(",") for r in sample.content.decode("utf-8-sig").strip().splitlines()]
    assert rows[0] == ["SKU", "数量", "单位"]
    assert {r[0] for r in rows[1:]} <= {"A100", "B200"} and len(rows) > 1
    page = await client.get("/cart")
    assert 'href="/cart/order-sample.csv"' in page.text
    uploaded = await client.post(
        "/cart/upload",
        files={"file": ("order.csv", sample.content, "text/csv")},
        data={"_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert uploaded.status_code in (200, 303), uploaded.text[-500:]
    assert set(await cart_qty(s)) == {
        sku["id"] for sku in (s.a, s.b) if sku["code"] in {r[0] for r in rows[1:]}
    }
