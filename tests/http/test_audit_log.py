"""The audit log as administrators and finance read it (page and API): newest first, filtered by
what changed, the kind of change and the days; the changed keys before and after; nobody else
reads it, and bad filters are clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.domain import audit, ledger
from portal.domain.errors import Forbidden, ValidationFailed
from portal.tables import User
from tests import factories as f
from tests.http.conftest import sign_in
from tests.http.test_api_auth import EN, assert_problem, bearer

AT = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai on the 20th


@pytest.fixture
async def world(db) -> dict:
    tier = await f.tier()
    a = await f.dealer(tier, name="甲经销商", credit_limit_fen=100_000)
    b = await f.dealer(tier, name="乙经销商")
    fin = await f.user("finance", username="fin")
    await User.update({User.display_name: "钱会计"}).where(User.id == fin["id"])
    await f.user("admin", username="adm")
    await f.user("sales_rep", username="rep")
    actor = f.actor(fin)
    await ledger.set_credit_terms(
        actor, a["id"], credit_limit="2000", payment_terms_days="45", now=AT
    )
    await ledger.set_credit_terms(
        actor, b["id"], credit_limit="500", payment_terms_days="30", now=AT.replace(day=22)
    )
    await audit.record(None, "order.submitted", "order", 7, {}, {"total_fen": 100}, now=AT)
    return {"a": a, "b": b}


async def test_entries_are_read_newest_first_with_what_changed(world):
    admin = f.actor(await f.user("admin"))
    page = await audit.list_entries(admin, audit.LogFilter())
    assert [(e.action, e.entity_id) for e in page.items] == [
        ("dealer.credit_terms", str(world["b"]["id"])),
        ("order.submitted", "7"),
        ("dealer.credit_terms", str(world["a"]["id"])),  # same time: the later entry first
    ]
    first_a = next(e for e in page.items if e.entity_id == str(world["a"]["id"]))
    assert first_a.actor_name == "钱会计"
    changed = {c.key: (c.before, c.after) for c in first_a.changes}
    assert changed["credit_limit_fen"] == ("100000", "200000")
    assert changed["payment_terms_days"] == ("30", "45")
    assert "overdue_policy" not in changed  # unchanged keys are left out

    only_a = await audit.list_entries(
        admin, audit.LogFilter(entity="dealer", entity_id=str(world["a"]["id"]))
    )
    assert [e.entity_id for e in only_a.items] == [str(world["a"]["id"])]
    orders = await audit.list_entries(admin, audit.LogFilter(action="order."))
    assert [e.action for e in orders.items] == ["order.submitted"]
    assert orders.items[0].actor_name == ""  # the system
    # Shanghai days: the 22nd's change only.
    day = AT.replace(day=22).date()
    on_22 = await audit.list_entries(admin, audit.LogFilter(start=day, end=day))
    assert [e.entity_id for e in on_22.items] == [str(world["b"]["id"])]
    two = await audit.list_entries(admin, audit.LogFilter(), per_page=2)
    rest = await audit.list_entries(admin, audit.LogFilter(), page=2, per_page=2)
    assert two.has_more and not rest.has_more and len(rest.items) == 1

    with pytest.raises(ValidationFailed):
        await audit.list_entries(admin, audit.LogFilter(start=day, end=day.replace(day=21)))
    for role in ("sales_rep", "sales_manager", "warehouse", "dealer_admin"):
        user = await f.user(role, world["a"] if role == "dealer_admin" else None)
        with pytest.raises(Forbidden):
            await audit.list_entries(f.actor(user), audit.LogFilter())


async def test_the_audit_log_page_and_api(client, world):
    await sign_in(client, "fin")
    me = await client.get("/me")
    assert 'href="/admin/audit"' in me.text
    card = await client.get(f"/dealers/{world['a']['id']}")
    link = f"/admin/audit?entity=dealer&amp;entity_id={world['a']['id']}"
    assert link in card.text
    page = await client.get(
        "/admin/audit", params={"entity": "dealer", "entity_id": str(world["a"]["id"])}
    )
    assert page.status_code == 200
    assert "dealer.credit_terms" in page.text and "钱会计" in page.text
    assert "<strong>信用条件已修改</strong>" in page.text  # the kind of change, named
    # Fen read as yuan, the field by its name (its code on hover).
    assert '<dt title="credit_limit_fen">信用额度</dt>' in page.text
    assert "<del>¥1,000.00</del> → <ins>¥2,000.00</ins>" in page.text
    assert f'href="/dealers/{world["a"]["id"]}"' in page.text
    bad = await client.get("/admin/audit", params={"start": "2026-13-01", "end": "2026-11-01"})
    assert bad.status_code == 422 and "请输入日期，例如 2026-11-25。" in bad.text
    later = await client.get("/admin/audit", params={"start": "2026-11-25", "end": "2026-11-01"})
    assert later.status_code == 422 and "起始日期不能晚于截止日期" in later.text

    api = {**await bearer(client, "adm"), **EN}
    r = await client.get("/api/v1/audit", params={"action": "dealer.", "per_page": 1}, headers=api)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["has_more"] is True and body["items"][0]["entity_id"] == str(world["b"]["id"])
    keys = {c["key"] for c in body["items"][0]["changes"]}
    assert keys == {"credit_limit_fen"}  # its terms stayed 30 days
    assert_problem(
        await client.get("/api/v1/audit", params={"start": "2026-13-01"}, headers=api),
        400,
        "validation",
    )
    assert_problem(
        await client.get("/api/v1/audit", headers=await bearer(client, "rep")), 403, "forbidden"
    )


async def test_an_orders_page_links_finance_to_its_entries_and_not_the_dealer(client, world):
    from portal.domain import orders
    from portal.domain.quantities import LineRequest

    wh = await f.warehouse()
    sku = await f.sku(code="W550", base_price_fen=100)
    await f.stock(sku, wh, on_hand=100)
    buyer = await f.user("dealer_buyer", world["a"], username="buyer")
    placed = await orders.submit_order(
        f.actor(buyer), None, [LineRequest(qty=5, sku_id=sku["id"])], idempotency_key="k"
    )
    link = f"/admin/audit?entity=order&amp;entity_id={placed.order.id}"
    await sign_in(client, "buyer")
    assert link not in (await client.get(f"/orders/{placed.order.id}")).text
    client.cookies.clear()
    await sign_in(client, "fin")
    assert link in (await client.get(f"/orders/{placed.order.id}")).text
    entries = await client.get(link.replace("&amp;", "&"))
    assert "order.submitted" in entries.text


def test_recorded_values_read_as_money_percent_and_names():
    from portal import i18n
    from portal.domain.audit import Change
    from portal.web.audit import shown_changes

    i18n.set_locale("en")
    try:
        shown = shown_changes(
            [
                Change("credit_limit_fen", "2000000", "1234550"),
                Change("credit_tolerance_bp", "", "250"),
                Change("role", "sales_rep", "sales_manager"),
                Change("lines", "[1, 2]", ""),
                Change("active", "true", "false"),
                Change("percent_bp", "8550", "null"),
                Change("base_price_fen", "450", "480"),
            ]
        )
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)
    assert [(c.label, c.before, c.after) for c in shown] == [
        ("Credit limit", "¥20,000.00", "¥12,345.50"),
        ("Tolerance over the limit (percent)", "", "2.5%"),
        ("Role", "Sales representative", "Sales manager"),
        ("Lines", "[1, 2]", ""),
        ("Active", "Yes", "No"),
        ("Percentage of the base price", "85.5%", "—"),
        ("Base price", "¥4.50", "¥4.80"),
    ]


async def test_subjects_link_to_pages_the_reader_may_open(client, world):
    """A dealer's user links to the dealer's user page (the staff page would not know them);
    finance gets no links to the administrator's pages, which would refuse them."""
    buyer = await f.user("dealer_buyer", world["a"], username="buyer-x")
    staff = await f.user("warehouse", username="clerk-x")
    for user in (buyer, staff):
        await audit.record(None, "user.updated", "user", user["id"], {}, {"active": True}, now=AT)
    await audit.record(None, "sku.saved", "sku", 5, {}, {"base_price_fen": 100}, now=AT)

    await sign_in(client, "adm")
    page = await client.get("/admin/audit")
    assert f'href="/dealers/{world["a"]["id"]}/users/{buyer["id"]}"' in page.text
    assert f'href="/admin/users/{staff["id"]}"' in page.text
    assert f'href="/admin/users/{buyer["id"]}"' not in page.text
    assert 'href="/admin/skus/5"' in page.text

    client.cookies.clear()
    await sign_in(client, "fin")
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    assert "/users/" not in page.text and 'href="/admin/skus/5"' not in page.text
    assert f'href="/dealers/{world["a"]["id"]}"' in page.text


async def test_recorded_ids_read_as_names_numbers_and_codes(db):
    """A rep, a warehouse, an order and order lines recorded by id read as who and what
    they are (one query per kind for the page); a payment's method by its label."""
    from datetime import UTC, datetime

    from portal import i18n
    from portal.domain import orders
    from portal.domain.audit import Change, EntryView, names_for
    from portal.domain.quantities import LineRequest
    from portal.web.audit import shown_changes

    wh = await f.warehouse(code="SH", name="上海仓")
    dealer = await f.dealer(await f.tier(), default_warehouse=wh)
    sku = await f.sku(code="A100")
    await f.stock(sku, wh, 100)
    buyer = f.actor(await f.user("dealer_buyer", dealer))
    placed = await orders.submit_order(
        buyer, None, [LineRequest(qty=4, sku_id=sku["id"])], idempotency_key="k"
    )
    line = placed.order.lines[0].id
    rep_a = await f.user("sales_rep", display_name="张伟")
    rep_b = await f.user("sales_rep", display_name="李娜")
    changes = [
        Change("rep", str(rep_a["id"]), str(rep_b["id"])),
        Change("warehouse_id", "", str(wh["id"])),
        Change("order_id", "", str(placed.order.id)),
        Change("accepted", "", f'{{"{line}": 4}}'),
        Change("method", "", "bank"),
    ]
    entry = EntryView(1, datetime.now(UTC), None, "", "x", "dealer", "1", changes)
    names = await names_for([entry])
    i18n.set_locale("en")
    try:
        shown = shown_changes(changes, "dealer", names)
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)
    assert [(c.label, c.before, c.after) for c in shown] == [
        ("Sales rep", "张伟", "李娜"),
        ("Warehouse", "", "上海仓"),
        ("Order", "", placed.order.number),
        ("Accepted", "", "A100 × 4"),
        ("Method", "", "Bank transfer"),
    ]


async def test_an_orders_entries_read_by_number_dealer_and_codes(client, db):
    """order.submitted's recorded reservations and lines, its dealer and approval steps read
    as a person reads them, and the entry is headed by the order's number."""
    from portal.domain import orders
    from portal.domain.quantities import LineRequest

    wh = await f.warehouse(code="SH", name="上海仓")
    dealer = await f.dealer(await f.tier(), name="杭州永盛", default_warehouse=wh)
    sku = await f.sku(code="A100")
    await f.stock(sku, wh, 100)
    buyer = f.actor(await f.user("dealer_buyer", dealer))
    placed = await orders.submit_order(
        buyer, None, [LineRequest(qty=4, sku_id=sku["id"])], idempotency_key="k"
    )
    await f.user("admin", username="root")
    await sign_in(client, "root")
    page = await client.get(
        "/admin/audit", params={"entity": "order", "entity_id": str(placed.order.id)}
    )
    assert page.status_code == 200
    text = page.text
    assert f"订单 {placed.order.number}</a>" in text
    assert "杭州永盛" in text and "上海仓" in text and "A100" in text
    assert '"sku_id"' not in text and '"warehouse_id"' not in text and ">dealer_id<" not in text
