"""Reps and managers: the dealer picker, acting for a dealer, the banner, ordering for them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portal.tables import CartLine, Dealer, Order
from portal.web.common import ACTING_DEALER_COOKIE
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in

HX = {"HX-Request": "true"}


async def setting():
    wh = await f.warehouse()
    tier = await f.tier(name="二级经销商")
    rep = await f.user("sales_rep", username="rep")
    mine = await f.dealer(tier, name="杭州甲商贸", default_warehouse=wh, credit_limit_fen=500_000)
    second = await f.dealer(tier, name="安徽乙批发", default_warehouse=wh)
    theirs = await f.dealer(tier, name="别人的经销商", default_warehouse=wh)
    await f.assign(rep, mine)
    await f.assign(rep, second)
    await f.assign(await f.user("sales_rep"), theirs)
    sku = await f.sku(code="A100", base_price_fen=200)
    await f.stock(sku, wh, 100)
    return rep, mine, second, theirs, sku


async def test_picker_lists_assigned_dealers_with_credit_and_searches(client):
    rep, mine, second, theirs, _sku = await setting()
    response = await sign_in(client, "rep")
    assert response.headers["location"] == "/dealers"
    page = await client.get("/dealers")
    assert page.status_code == 200
    assert mine["name"] in page.text and second["name"] in page.text
    assert theirs["name"] not in page.text
    assert "二级经销商" in page.text and "华东" in page.text
    assert "¥5,000.00" in page.text
    # No dealer chosen yet: other pages' banner asks for one (the picker needs no banner).
    assert 'id="acting-banner"' not in page.text
    me = await client.get("/me")
    assert re.search(r'id="acting-banner".*?href="/dealers"', me.text, re.S)
    # Nor a dealer's card, whose first button orders for that dealer.
    card = await client.get(f"/dealers/{mine['id']}")
    assert card.status_code == 200 and mine["name"] in card.text
    assert 'id="acting-banner"' not in card.text
    # A manager or administrator is not prompted on every page (they seldom order).
    await f.user("sales_manager", username="boss")
    await sign_in(client, "boss")
    assert 'id="acting-banner"' not in (await client.get("/me")).text
    await sign_in(client, "rep")
    found = await client.get("/dealers?q=乙批", headers=HX)
    assert "<html" not in found.text
    assert second["name"] in found.text and mine["name"] not in found.text
    assert theirs["name"] not in (await client.get("/dealers?q=别人")).text


async def test_rep_acts_for_a_dealer_and_orders_for_them(client):
    rep, mine, _second, _theirs, sku = await setting()
    await sign_in(client, "rep")
    page = await client.get("/dealers")
    response = await client.post(
        f"/dealers/{mine['id']}/act",
        data={"_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/catalog"
    cookie = response.headers["set-cookie"]
    assert f"{ACTING_DEALER_COOKIE}={mine['id']}" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    # Every page now carries the banner with the dealer and its available credit.
    me = await client.get("/me")
    banner = re.search(r'id="acting-banner".*?</div>', me.text, re.S).group(0)
    assert mine["name"] in banner and "¥5,000.00" in banner
    token = csrf_from(me.text)
    await client.post(f"/cart/lines/{sku['id']}", data={"qty": "10", "_csrf_token": token})
    cart = await client.get("/cart")
    assert re.search(r'id="cart-badge"[^>]*>\s*1\s*</span>', cart.text)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', cart.text).group(1)
    response = await client.post(
        "/cart/submit",
        data={"idempotency_key": key, "_csrf_token": csrf_from(cart.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    order = await Order.select().first()
    assert order["dealer"] == mine["id"]
    assert order["placed_by"] == rep["id"] and order["rep"] == rep["id"]
    detail = await client.get(response.headers["location"])
    assert rep["display_name"] in detail.text and mine["name"] in detail.text
    # The picker now lists the dealer ordered for first.
    picker = await client.get("/dealers")
    assert picker.text.index(mine["name"]) < picker.text.index("安徽乙批发")


async def test_rep_cannot_act_for_an_unassigned_dealer(client):
    _rep, _mine, _second, theirs, sku = await setting()
    await sign_in(client, "rep")
    page = await client.get("/dealers")
    token = csrf_from(page.text)
    response = await client.post(
        f"/dealers/{theirs['id']}/act", data={"_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 404
    assert ACTING_DEALER_COOKIE not in response.headers.get("set-cookie", "")
    missing = await client.post("/dealers/999999/act", data={"_csrf_token": token})
    assert missing.status_code == 404
    # A forged cookie does not open the dealer's cart either.
    client.cookies.set(ACTING_DEALER_COOKIE, str(theirs["id"]))
    response = await client.get("/cart", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dealers"
    me = await client.get("/me")
    assert theirs["name"] not in me.text
    response = await client.post(
        f"/cart/lines/{sku['id']}", data={"qty": "1", "_csrf_token": token}
    )
    assert response.status_code == 404


async def test_staff_without_a_dealer_go_to_the_picker(client):
    await setting()
    await sign_in(client, "rep")
    response = await client.get("/cart", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dealers"


async def test_act_without_csrf_is_forbidden(client):
    _rep, mine, *_ = await setting()
    await sign_in(client, "rep")
    response = await client.post(f"/dealers/{mine['id']}/act", follow_redirects=False)
    assert response.status_code == 403


async def test_pages_keep_the_security_headers(client):
    await setting()
    await sign_in(client, "rep")
    page = await client.get("/dealers")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "HX-Request" in page.headers["vary"]


async def test_dealer_users_have_no_picker(client):
    await setting()
    d = await f.dealer()
    await f.user("dealer_buyer", d, username="buyer")
    await sign_in(client, "buyer")
    response = await client.get("/dealers", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_an_administrator_adds_a_dealer_and_changes_it_on_the_phone(client):
    tier = await f.tier(name="一级经销商")
    wh = await f.warehouse(name="华北仓")
    await f.user("admin", username="adm")
    await sign_in(client, "adm")
    picker = await client.get("/dealers")
    assert 'href="/admin/dealers/new"' in picker.text
    form = await client.get("/admin/dealers/new")
    assert form.status_code == 200 and "华北仓" in form.text and "一级经销商" in form.text
    token = csrf_from(form.text)
    fields = {
        "_csrf_token": token,
        "code": "D-WEB",
        "name": "北京新开商行",
        "tier": str(tier["id"]),
        "region": "华北",
        "contact_phone": "13800000002",
        "default_warehouse": str(wh["id"]),
    }
    bad = await client.post("/admin/dealers", data={**fields, "code": "有 空格", "tier": ""})
    assert bad.status_code == 422
    assert 'id="err-code"' in bad.text and 'id="err-tier"' in bad.text
    assert 'value="北京新开商行"' in bad.text  # what was typed stays
    r = await client.post("/admin/dealers", data=fields, follow_redirects=False)
    assert r.status_code == 303
    card = await client.get(r.headers["location"])
    assert "北京新开商行" in card.text and "已添加经销商" in card.text
    dealer_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert f'href="/admin/dealers/{dealer_id}"' in card.text
    # The card tells a rep what an order past the limit does, and any tolerance.
    assert "超额订单" in card.text and "拒绝超出信用额度的订单" in card.text
    assert "超额容差" not in card.text
    await Dealer.update({Dealer.credit_tolerance_fen: 50_000}).where(Dealer.id == dealer_id)
    card = await client.get(f"/dealers/{dealer_id}")
    assert '超额容差</dt><dd class="money">¥500.00' in card.text

    edit = await client.get(f"/admin/dealers/{dealer_id}")
    assert 'value="北京新开商行"' in edit.text and "D-WEB" in edit.text
    r = await client.post(
        f"/admin/dealers/{dealer_id}",
        data={**fields, "_csrf_token": csrf_from(edit.text), "name": "北京新开商行（停用）"},
        follow_redirects=False,
    )  # "active" left unticked: deactivated
    assert r.status_code == 303
    found = await client.get("/dealers", params={"q": "D-WEB"})
    assert "北京新开商行（停用）" in found.text and "已停用" in found.text
    card = await client.get(f"/dealers/{dealer_id}")
    assert "该经销商账户已停用" in card.text
    assert f'action="/dealers/{dealer_id}/act"' not in card.text


async def test_only_administrators_add_or_change_dealers(client):
    rep, mine, *_ = await setting()
    await sign_in(client, "rep")
    assert (await client.get("/admin/dealers/new")).status_code == 403
    assert (await client.get(f"/admin/dealers/{mine['id']}")).status_code == 403
    page = await client.get("/dealers")
    assert 'href="/admin/dealers/new"' not in page.text


async def test_visit_card_orders_a_top_product_in_one_tap(client):
    rep, mine, _second, theirs, sku = await setting()
    await sign_in(client, "rep")
    page = await client.get("/dealers")
    await client.post(f"/dealers/{mine['id']}/act", data={"_csrf_token": csrf_from(page.text)})
    token = csrf_from((await client.get("/cart")).text)
    await client.post(f"/cart/lines/{sku['id']}", data={"qty": "10", "_csrf_token": token})
    cart = await client.get("/cart")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', cart.text).group(1)
    await client.post(
        "/cart/submit", data={"idempotency_key": key, "_csrf_token": csrf_from(cart.text)}
    )
    card = await client.get(f"/dealers/{mine['id']}")
    top = re.search(r'id="top-h".*?</section>', card.text, re.S).group(0)
    assert f'action="/dealers/{mine["id"]}/act"' in top and 'name="q" value="A100"' in top
    # The stock at the door (DESIGN: the rep sees the dealer's stock during a visit):
    # 100 on hand, 10 of them now this order's.
    assert "库存 90 瓶" in top
    response = await client.post(
        f"/dealers/{mine['id']}/act",
        data={"q": "A100", "_csrf_token": csrf_from(card.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/catalog?q=A100"
    assert f"{ACTING_DEALER_COOKIE}={mine['id']}" in response.headers["set-cookie"]
    found = await client.get(response.headers["location"])
    assert "A100" in found.text and 'aria-label="增加"' in found.text
    # The text is only a search: spaces folded, cut to the search box's length, encoded.
    response = await client.post(
        f"/dealers/{mine['id']}/act",
        data={"q": "  a&b=1   c" + "x" * 80, "_csrf_token": csrf_from(card.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/catalog?q=a%26b%3D1+c" + "x" * 43
    # Another rep's dealer stays out of reach with a product named.
    response = await client.post(
        f"/dealers/{theirs['id']}/act",
        data={"q": "A100", "_csrf_token": csrf_from(card.text)},
        follow_redirects=False,
    )
    assert response.status_code == 404


async def test_finance_reads_a_dealer_card_without_an_order_button(client):
    _rep, mine, *_ = await setting()
    await f.user("finance", username="cfo")
    await sign_in(client, "cfo")
    card = await client.get(f"/dealers/{mine['id']}")
    assert card.status_code == 200 and mine["name"] in card.text
    # Finance does not order for dealers: no button that would lead nowhere.
    assert f'action="/dealers/{mine["id"]}/act"' not in card.text


async def test_a_page_drawn_for_one_dealer_never_acts_for_the_next(client):
    """Two tabs: the cart open for 杭州甲商贸 while the rep has switched to 安徽乙批发. The old
    tab's stepper and submit change nothing and place nothing; the rep is told and shown the
    cart of the dealer now chosen."""
    rep, mine, second, _theirs, sku = await setting()
    await sign_in(client, "rep")
    token = csrf_from((await client.get("/dealers")).text)
    await client.post(f"/dealers/{mine['id']}/act", data={"_csrf_token": token})
    await client.post(f"/cart/lines/{sku['id']}", data={"qty": "10", "_csrf_token": token})
    old_tab = await client.get("/cart")
    assert f'"x-for-dealer": "{mine["id"]}"' in old_tab.text
    assert f'name="for_dealer" value="{mine["id"]}"' in old_tab.text
    await client.post(f"/dealers/{second['id']}/act", data={"_csrf_token": token})
    form = {
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', old_tab.text)[1],
        "_csrf_token": csrf_from(old_tab.text),
        "for_dealer": str(mine["id"]),
    }
    stale = await client.post("/cart/submit", data=form, follow_redirects=False)
    assert stale.status_code == 303 and stale.headers["location"] == "/cart"
    stepped = await client.post(
        f"/cart/lines/{sku['id']}",
        data={"qty": "99", "_csrf_token": token},
        headers={"HX-Request": "true", "x-for-dealer": str(mine["id"])},
    )
    assert stepped.headers.get("HX-Redirect") == "/cart"
    assert await Order.count() == 0
    assert await CartLine.count() == 1  # mine's line, untouched; nothing in second's cart
    shown = await client.get("/cart")
    assert "安徽乙批发" in shown.text and "那个页面" not in shown.text
    assert "刚才的页面是为另一家经销商打开的" in shown.text


async def test_a_rep_whose_dealer_was_given_away_mid_visit_is_told_and_sent_to_the_picker(
    client,
):
    from portal.domain import dealers as dealer_domain

    rep, mine, _second, _theirs, sku = await setting()
    other = await f.user("sales_rep", username="other")
    admin = f.actor(await f.user("admin"))
    await sign_in(client, "rep")
    token = csrf_from((await client.get("/dealers")).text)
    await client.post(f"/dealers/{mine['id']}/act", data={"_csrf_token": token})
    await client.get("/cart")
    await dealer_domain.reassign(admin, mine["id"], other["id"], now=datetime.now(UTC))
    tapped = await client.post(
        f"/cart/lines/{sku['id']}",
        data={"qty": "3", "_csrf_token": token},
        headers={"HX-Request": "true", "x-for-dealer": str(mine["id"])},
    )
    assert tapped.status_code == 200 and tapped.headers["HX-Redirect"] == "/dealers"
    picker = await client.get("/dealers")
    assert "您已不能再为该经销商下单" in picker.text
    assert await CartLine.count() == 0


async def test_a_dealer_paused_while_chosen_sends_the_rep_to_the_picker(client):
    rep, mine, _second, _theirs, _sku = await setting()
    await sign_in(client, "rep")
    token = csrf_from((await client.get("/dealers")).text)
    await client.post(f"/dealers/{mine['id']}/act", data={"_csrf_token": token})
    await Dealer.update({Dealer.active: False}).where(Dealer.id == mine["id"])
    for path in ("/catalog", "/cart"):
        sent = await client.get(path, follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == "/dealers", path
    picker = await client.get("/dealers")
    assert "杭州甲商贸 已暂停" in picker.text
