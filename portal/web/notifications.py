"""The notifications list: what happened to my orders (submitted, approved, rejected, returned)."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from portal.domain import notifications
from portal.web.common import page


@get("/notifications", include_in_schema=False)
async def notification_list(request: Request, before: FromQuery[str | None] = None) -> Template:
    older = int(before) if (before or "").isdigit() and len(before or "") < 12 else None
    items = await notifications.list_for(request.user, before=older)
    context: dict = {
        "items": items,
        "older_url": f"/notifications?before={items[-1].id}"
        if len(items) == notifications.PAGE_SIZE
        else "",
    }
    unseen = [n.id for n in items if not n.read]
    if unseen:
        # Seen is read: the list still marks what was new, and the bell counts only what this
        # page did not show (older ones, a page further on), not what the reader just saw.
        await notifications.mark_seen(request.user, unseen, now=datetime.now(UTC))
        context["unread_count"] = await notifications.unread_count(request.user)
    return page(request, "notifications/list.html", context, active_tab="notifications")


@post("/notifications/read", include_in_schema=False)
async def mark_all_read(request: Request) -> Redirect:
    await notifications.mark_read(request.user, None, now=datetime.now(UTC))
    return Redirect("/notifications", status_code=303)


ROUTES = [notification_list, mark_all_read]
