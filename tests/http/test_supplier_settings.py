"""The supplier's settings through the page and the API, and where they take effect."""

from __future__ import annotations

import io

from pypdf import PdfReader

from portal.tables import AuditEntry, Dealer, SupplierSettings, User
from tests import factories as f
from tests.db.test_shipments import approved_order, fulfil_world
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer
from tests.http.test_pages_catalog import world  # noqa: F401  (the catalog's fixture)

ZH = {"Accept-Language": "zh-CN"}
GOOD = {
    "name": "Runchuan Foods Co.",
    "address": "1888 Xihanggang Ave, Chengdu",
    "phone": "028-8566 1888",
    "show_stock_numbers": True,
    "auto_receive_days": 10,
    "credit_tolerance_amount": "2000.00",
    "credit_tolerance_percent": "5",
}


async def test_an_administrator_sets_them_on_the_phone_and_dealers_see_figures(
    client,
    world,  # noqa: F811
):
    await f.user("admin", username="root")
    await sign_in(client, "root")
    me = await client.get("/me", headers=ZH)
    assert 'href="/admin/settings"' in me.text and "系统设置" in me.text
    page = await client.get("/admin/settings", headers=ZH)
    assert page.status_code == 200 and 'id="acting-banner"' not in page.text
    assert 'name="auto_receive_days" type="text" value="7"' in page.text  # the default
    token = csrf_from(page.text)

    bad = await client.post(
        "/admin/settings",
        data={"name": " ", "phone": "call us", "auto_receive_days": "abc", "_csrf_token": token},
        headers=ZH,
    )
    assert bad.status_code == 422
    assert "请输入名称" in bad.text and "请填写由数字组成的电话号码" in bad.text
    assert "请输入 0 到 90 之间的整数" in bad.text
    assert 'value="call us"' in bad.text  # what was typed stays
    assert await SupplierSettings.count() == 0

    done = await client.post(
        "/admin/settings",
        data={
            "name": "润川食品饮料有限公司",
            "address": "成都市双流区",
            "phone": "028-8566 1888",
            "show_stock_numbers": "1",
            "auto_receive_days": "10",
            "_csrf_token": token,
        },
        headers=ZH,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/settings?saved=1"
    shown = await client.get(done.headers["location"], headers=ZH)
    assert "已保存" in shown.text and 'value="润川食品饮料有限公司"' in shown.text
    assert 'name="show_stock_numbers" value="1" aria-describedby="stock-hint" checked' in shown.text
    assert await AuditEntry.count().where(AuditEntry.action == "supplier.settings_saved") == 1
    log = await client.get("/admin/audit", params={"entity": "supplier_settings"}, headers=ZH)
    assert '<a href="/admin/settings">系统设置 #1</a>' in log.text

    assert '<span class="brand">润川食品饮料有限公司</span>' in shown.text  # the top bar

    client.cookies.clear()
    login = await client.get("/login", headers=ZH)
    assert '<span class="brand">经销商订货平台</span>' in login.text  # nobody signed in yet
    await sign_in(client, "buyer_a")
    catalog = await client.get("/catalog", params={"q": "NF550"}, headers=ZH)
    assert "有货 · 1,000 瓶" in catalog.text
    assert '<span class="brand">润川食品饮料有限公司</span>' in catalog.text
    missing = await client.get("/orders/987654", headers=ZH)  # an error page is the portal's
    assert missing.status_code == 404
    assert '<span class="brand">润川食品饮料有限公司</span>' in missing.text
    me = await client.get("/me", headers=ZH)  # whom the dealer buys from, a tap to call
    assert "您的供应商" in me.text and "成都市双流区" in me.text
    assert '<a class="btn btn-block" href="tel:028-85661888">拨打 028-8566 1888</a>' in me.text
    buyer = await bearer(client, "buyer_a")
    api = await client.get("/api/v1/catalog/skus", params={"q": "NF550"}, headers=buyer)
    assert api.json()["items"][0]["available_qty"] == 1000


async def test_the_api_reads_and_changes_them_for_administrators_only(client, db):
    dealer = await f.dealer()
    await f.user("admin", username="root")
    await f.user("finance", username="cfo")
    await f.user("dealer_admin", dealer, username="boss")
    root = {**await bearer(client, "root"), **EN}
    first = await client.get("/api/v1/settings", headers=root)
    assert first.status_code == 200
    assert first.json() == {
        "name": "",
        "address": "",
        "phone": "",
        "show_stock_numbers": False,
        "auto_receive_days": 7,
        "credit_tolerance_amount": "",
        "credit_tolerance_percent": "",
        "saved": False,
    }
    done = await client.put("/api/v1/settings", json=GOOD, headers=root)
    assert done.status_code == 200 and done.json() == {**GOOD, "saved": True}
    assert (await client.get("/api/v1/settings", headers=root)).json()["auto_receive_days"] == 10

    refused = await client.put(
        "/api/v1/settings", json={**GOOD, "phone": "call us", "name": " "}, headers=root
    )
    assert_problem(refused, 422, "validation")
    assert {e["field"] for e in refused.json()["errors"]} == {"phone", "name"}
    out_of_range = await client.put(
        "/api/v1/settings", json={**GOOD, "auto_receive_days": 91}, headers=root
    )
    assert out_of_range.status_code == 400
    bad_tolerance = await client.put(
        "/api/v1/settings",
        json={**GOOD, "credit_tolerance_amount": "lots", "credit_tolerance_percent": "150"},
        headers={**root, **ZH},
    )
    assert_problem(bad_tolerance, 422, "validation")
    messages = {e["field"]: e["message"] for e in bad_tolerance.json()["errors"]}
    assert set(messages) == {"credit_tolerance_amount", "credit_tolerance_percent"}
    assert "金额" in messages["credit_tolerance_amount"]
    row = await SupplierSettings.select().first()
    assert row["phone"] == "028-8566 1888" and row["auto_receive_days"] == 10
    assert (row["credit_tolerance_fen"], row["credit_tolerance_bp"]) == (200_000, 500)

    for who in ("cfo", "boss"):
        headers = await bearer(client, who)
        assert_problem(await client.get("/api/v1/settings", headers=headers), 403, "forbidden")
        put = await client.put("/api/v1/settings", json=GOOD, headers=headers)
        assert_problem(put, 403, "forbidden")


async def test_delivery_notes_and_statements_carry_the_letterhead(client, db):
    w = await fulfil_world()
    await f.user("admin", username="root")
    await f.user("warehouse", username="clerk")
    await f.user("dealer_buyer", w.dealer, username="buyer")
    o = await approved_order(w, qty=4)
    clerk = await bearer(client, "clerk")
    made = await client.post(
        f"/api/v1/orders/{o['id']}/shipments",
        json={
            "warehouse_id": w.wh1["id"],
            "lines": [{"order_line_id": o["lines"][0]["id"], "qty": 2}],
        },
        headers={**clerk, "Idempotency-Key": "lh-1"},
    )
    shipment_id = made.json()["id"]

    async def texts() -> tuple[str, str]:
        note = await client.get(f"/api/v1/shipments/{shipment_id}/delivery-note", headers=clerk)
        statement = await client.get(
            f"/api/v1/dealers/{w.dealer['id']}/statement",
            params={"format": "pdf"},
            headers=await bearer(client, "buyer"),
        )
        assert note.status_code == 200 and statement.status_code == 200, statement.text
        read = lambda r: "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)  # noqa: E731
        return read(note), read(statement)

    note, statement = await texts()
    assert "Runchuan" not in note and "Runchuan" not in statement  # no name yet: no letterhead
    root = await bearer(client, "root")
    assert (await client.put("/api/v1/settings", json=GOOD, headers=root)).status_code == 200
    note, statement = await texts()
    for text in (note, statement):
        assert "Runchuan Foods Co." in text and "028-8566 1888" in text
        assert "·" not in text  # the PDFs' CJK font draws a box for it
    assert note.count("Runchuan Foods Co.") == 2  # the delivery note and the packing list


async def test_a_supplier_tolerance_set_on_the_phone_lets_any_dealer_go_over(client, db):
    w = await fulfil_world()
    await Dealer.update({Dealer.credit_limit_fen: 10_000}).where(Dealer.id == w.dealer["id"])
    buyer_row = await User.select().where(User.id == w.buyer.user_id).first()
    await f.user("admin", username="root")
    await f.user("finance", username="cfo")
    order = {"lines": [{"sku_id": w.sku2["id"], "qty": 11}]}  # ¥110.00 on a ¥100.00 limit
    buyer = await bearer(client, buyer_row["username"])
    refused = await client.post(
        "/api/v1/orders", json=order, headers={**buyer, "Idempotency-Key": "over-1"}
    )
    assert_problem(refused, 422, "credit-exceeded")

    await sign_in(client, "root")
    page = await client.get("/admin/settings", headers=ZH)
    assert 'name="credit_tolerance_percent"' in page.text
    form = {"name": "润川", "auto_receive_days": "7", "_csrf_token": csrf_from(page.text)}
    bad = await client.post(
        "/admin/settings", data={**form, "credit_tolerance_percent": "abc"}, headers=ZH
    )
    assert bad.status_code == 422 and "请输入 0 到 100 之间的百分比" in bad.text
    assert await SupplierSettings.count() == 0
    done = await client.post(
        "/admin/settings",
        data={**form, "credit_tolerance_percent": "10"},
        headers=ZH,
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = await client.get(done.headers["location"], headers=ZH)
    assert 'name="credit_tolerance_percent" type="text" value="10"' in shown.text

    placed = await client.post(
        "/api/v1/orders", json=order, headers={**buyer, "Idempotency-Key": "over-2"}
    )
    assert placed.status_code == 201 and placed.json()["status"] == "approved"

    client.cookies.clear()
    await sign_in(client, "cfo")
    finance = await client.get(f"/finance/dealers/{w.dealer['id']}", headers=ZH)
    assert 'id="tolerance">¥10.00<' in finance.text and 'id="supplier-tolerance"' in finance.text
    # Only a percentage set: the note says the percentage, not "¥0.00 or 10%".
    note = finance.text.split('id="supplier-tolerance">')[1].split("</p>")[0]
    assert "10%" in note and "¥0.00" not in note
    cfo = await bearer(client, "cfo")
    dealer = await client.get(f"/api/v1/dealers/{w.dealer['id']}", headers=cfo)
    assert dealer.json()["tolerance"] == "10.00" and dealer.json()["tolerance_percent"] == "0"


async def test_a_settings_change_keeps_what_it_leaves_out(client, db):
    await f.user("admin", username="root")
    root = await bearer(client, "root")
    assert (await client.put("/api/v1/settings", json=GOOD, headers=root)).status_code == 200
    # Turning the stock figures off once also reset the credit tolerance and the days after
    # which a shipment counts as received.
    done = await client.put("/api/v1/settings", json={"show_stock_numbers": False}, headers=root)
    assert done.status_code == 200, done.text
    assert done.json() == {**GOOD, "show_stock_numbers": False, "saved": True}
