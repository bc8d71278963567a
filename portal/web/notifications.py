"""The notifications list: what happened to my orders (submitted, approved, rejected, returned)."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request, get, post
from litestar.response import Redirect, Template

from portal.domain import notifications
from portal.web.common import page


@get("/notifications", include_in_schema=False)
async def notification_list(request: Request) -> Template:
    items = await notifications.list_for(request.user)
    context: dict = {"items": items}
    if any(not n.read for n in items):
        # Seen is read: the list still marks what was new, and the bell counts none from here
        # on (a reader who had looked at them kept seeing the count until they found the
        # "mark all read" button).
        await notifications.mark_read(request.user, None, now=datetime.now(UTC))
        context["unread_count"] = 0
    return page(request, "notifications/list.html", context, active_tab="notifications")


@post("/notifications/read", include_in_schema=False)
async def mark_all_read(request: Request) -> Redirect:
    await notifications.mark_read(request.user, None, now=datetime.now(UTC))
    return Redirect("/notifications", status_code=303)


ROUTES = [notification_list, mark_all_read]
