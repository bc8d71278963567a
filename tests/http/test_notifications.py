"""The notifications page: each user sees only their own; marking them read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portal.tables import Notification, Order
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in
from tests.http.test_api_auth import assert_problem, bearer


async def test_own_notifications_only_and_mark_read(client, db):
    t = await f.tier()
    d = await f.dealer(t)
    me = await f.user("dealer_buyer", d, username="me")
    other = await f.user("dealer_buyer", d, username="other")
    now = datetime.now(UTC)
    await Notification.insert(
        Notification(user=me["id"], kind="approved", note="好的", created_at=now),
        Notification(user=other["id"], kind="rejected", note="别人的", created_at=now),
    )
    await sign_in(client, "me")
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "好的" in page.text and "别人的" not in page.text and "notice-unread" in page.text
    done = await client.post("/notifications/read", data={"_csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "notice-unread" not in done.text
    rows = {r["user"]: r["read_at"] for r in await Notification.select()}
    assert rows[me["id"]] is not None and rows[other["id"]] is None


async def test_notifications_through_the_api(client, db):
    """A decision reaches the dealer's buyer as a notification in the API; they mark one
    read, then all; nobody reads or marks another user's."""
    t = await f.tier()
    wh = await f.warehouse()
    d = await f.dealer(t, default_warehouse=wh)
    water = await f.sku(code="W550", base_price_fen=100)
    await f.stock(water, wh, on_hand=100)
    await f.user("dealer_buyer", d, username="me")
    other = await f.user("dealer_buyer", d, username="other")
    manager = await f.user("sales_manager", username="mgr")
    await f.assign(await f.user("sales_rep", username="rep", manager=manager), d)
    await f.approval_rule("total_at_least", "sales_manager", amount_fen=1)
    me = await bearer(client, "me")
    placed = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_code": "W550", "qty": 10}]},
        headers={**me, "Idempotency-Key": "n1"},
    )
    number = placed.json()["number"]
    r = await client.post(
        f"/api/v1/orders/{placed.json()['id']}/approve", headers=await bearer(client, "mgr")
    )
    assert r.status_code == 200, r.text
    await Notification.insert(
        Notification(user=other["id"], kind="rejected", note="别人的", created_at=datetime.now(UTC))
    )

    got = (await client.get("/api/v1/notifications", headers=me)).json()
    approved = next(n for n in got["items"] if n["kind"] == "approved")
    assert approved["order_number"] == number and number in approved["text"]
    assert approved["read"] is False and got["unread"] == len(got["items"]) >= 1
    assert all(n["note"] != "别人的" for n in got["items"])

    r = await client.post("/api/v1/notifications/read", json={"id": approved["id"]}, headers=me)
    assert r.json() == {"unread": got["unread"] - 1}
    theirs = await Notification.select(Notification.id).where(Notification.user == other["id"])
    r = await client.post("/api/v1/notifications/read", json={"id": theirs[0]["id"]}, headers=me)
    assert_problem(r, 404, "not-found")
    assert (await client.post("/api/v1/notifications/read", headers=me)).json() == {"unread": 0}
    assert all(
        n["read"] for n in (await client.get("/api/v1/notifications", headers=me)).json()["items"]
    )
    rows = await Notification.select().where(Notification.user == other["id"])
    assert rows[0]["read_at"] is None


async def test_a_rep_no_longer_reads_about_a_dealer_given_to_another_rep(client, db):
    """Scope is what the rep may see now: after a reassignment the old notifications about the
    dealer's orders (their numbers, a rejection's reason) leave the rep's list and count."""
    from portal.domain import dealers
    from tests.http.test_api_auth import bearer

    t = await f.tier()
    mine, theirs = await f.dealer(t), await f.dealer(t)
    rep = await f.user("sales_rep", username="rep-n")
    other_rep = await f.user("sales_rep", username="rep-m")
    await f.assign(rep, mine)
    await f.assign(rep, theirs)
    now = datetime.now(UTC)
    buyer = await f.user("dealer_buyer", mine)

    async def order(dealer: dict, number: str) -> dict:
        return await f._insert(
            Order,
            number=number,
            dealer=dealer["id"],
            placed_by=buyer["id"],
            status="approved",
            created_at=now,
            updated_at=now,
        )

    kept, gone = await order(mine, "SO-KEPT-1"), await order(theirs, "SO-GONE-1")
    await Notification.insert(
        Notification(
            user=rep["id"], order=kept["id"], kind="approved", note="留下", created_at=now
        ),
        Notification(
            user=rep["id"], order=gone["id"], kind="rejected", note="移走", created_at=now
        ),
        Notification(user=rep["id"], kind="approved", note="无订单", created_at=now),
    )
    await sign_in(client, "rep-n")
    headers = await bearer(client, "rep-n")
    api = await client.get("/api/v1/notifications", headers=headers)
    assert api.json()["unread"] == 3 and "移走" in api.text
    admin = await f.user("admin", username="admin-n")
    await dealers.reassign(f.actor(admin), theirs["id"], other_rep["id"], now=now)
    # Counted before the page is opened (opening it reads them).
    api = await client.get("/api/v1/notifications", headers=headers)
    assert api.status_code == 200, api.text
    # The kept order's two and the news that the other dealer went to another rep.
    assert api.json()["unread"] == 3 and "已改派给其他业务员" in api.text
    assert "移走" not in api.text
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "留下" in page.text and "无订单" in page.text
    assert "移走" not in page.text and gone["number"] not in page.text
    # Whose order it is, for a rep with many dealers; the whole entry opens the order.
    entry = re.search(r"<li[^>]*>(?:(?!</li>).)*SO-KEPT-1(?:(?!</li>).)*</li>", page.text, re.S)
    assert entry and mine["name"] in entry.group(0) and 'class="notice-link"' in entry.group(0)
    # The other dealer is named once more, in the news that it went to another rep.
    assert page.text.count(theirs["name"]) == 1 and "已改派给其他业务员" in page.text


async def test_the_bell_on_every_page_counts_what_is_unread(client, db):
    """Every page carries a bell to the notifications with the unread count, so a dealer
    sees a decision without looking under 我的; none when all are read."""
    t = await f.tier()
    d = await f.dealer(t)
    me = await f.user("dealer_buyer", d, username="me")
    other = await f.user("dealer_buyer", d, username="other")
    now = datetime.now(UTC)
    await Notification.insert(
        Notification(user=me["id"], kind="approved", created_at=now),
        Notification(user=me["id"], kind="rejected", note="太贵", created_at=now),
        Notification(user=other["id"], kind="rejected", created_at=now),
    )
    await sign_in(client, "me")
    home = await client.get("/")
    bell = re.search(r'<a class="topbar-bell" href="/notifications"[^>]*>.*?</a>', home.text, re.S)
    assert bell, home.text[:2000]
    assert re.search(r'class="badge"[^>]*>2</span>', bell.group(0)), bell.group(0)
    # Opening the list shows what was new and reads it: the bell counts none from then on.
    page = await client.get("/notifications")
    assert page.text.count("notice-unread") == 2 and "太贵" in page.text
    for seen in (page.text, (await client.get("/orders")).text):
        bell = re.search(r'<a class="topbar-bell".*?</a>', seen, re.S)
        assert bell and re.search(r'class="badge"[^>]*></span>', bell.group(0)), bell
    rows = {r["user"]: r["read_at"] for r in await Notification.select()}
    assert rows[other["id"]] is None  # another user's stay unread


async def test_both_reps_hear_of_a_dealer_given_from_one_to_the_other(client, db):
    from portal.domain import dealers

    t = await f.tier()
    dealer = await f.dealer(t, name="济南益丰便利店")
    old = await f.user("sales_rep", username="old-rep")
    new = await f.user("sales_rep", username="new-rep")
    await f.assign(old, dealer)
    admin = f.actor(await f.user("admin"))
    await dealers.reassign(admin, dealer["id"], new["id"], now=datetime.now(UTC))
    kinds = {
        (r["user"], r["kind"])
        for r in await Notification.select(Notification.user, Notification.kind)
    }
    assert kinds == {(new["id"], "dealer_given"), (old["id"], "dealer_taken")}
    await sign_in(client, "new-rep")
    page = await client.get("/notifications")
    assert f"济南益丰便利店 ({dealer['code']}) 现由您负责。" in page.text
    assert page.text.count("济南益丰便利店") == 1  # said once, not again as a note


async def test_a_long_list_pages_and_only_what_was_shown_is_read(client, db):
    """Opening the list reads what it shows, not the older ones a page further on (they
    stayed out of sight and the bell said nothing of them)."""
    d = await f.dealer(await f.tier())
    me = await f.user("dealer_buyer", d, username="me")
    now = datetime.now(UTC)
    await Notification.insert(
        *[
            Notification(user=me["id"], kind="approved", note=f"第{n}条", created_at=now)
            for n in range(1, 61)
        ]
    )
    await sign_in(client, "me")
    first = await client.get("/notifications")
    assert first.text.count("notice-unread") == 50 and "第60条" in first.text
    assert "第10条" not in first.text
    unread = await Notification.count().where(Notification.read_at.is_null())
    assert unread == 10
    older = re.search(r'href="(/notifications\?before=\d+)" rel="next"', first.text).group(1)
    second = await client.get(older)
    assert "第10条" in second.text and "第60条" not in second.text
    assert second.text.count("notice-unread") == 10 and 'rel="next"' not in second.text
    assert await Notification.count().where(Notification.read_at.is_null()) == 0
