"""The notifications page: each user sees only their own; marking them read."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.tables import Notification
from tests import factories as f
from tests.http.conftest import csrf_from, sign_in


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
