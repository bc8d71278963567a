"""The installable app: the service worker at the site root and the page it shows offline."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Response, Template

from portal.settings import ROOT
from portal.web.common import page

SERVICE_WORKER = ROOT / "static" / "js" / "sw.js"


@get("/sw.js", include_in_schema=False, sync_to_thread=False)
def service_worker() -> Response[bytes]:
    # Served from the root so its scope is the whole site; revalidated on every check, so a new
    # version (a new cache name) reaches phones at their next visit.
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


@get("/offline", include_in_schema=False)
async def offline(request: Request) -> Template:
    # The service worker keeps this page, so it holds nothing of the user's: no tab bar with its
    # cart badge, no acting-dealer banner, no name.
    anonymous = {
        "actor": None,
        "tabs": [],
        "cart_count": 0,
        "acting": None,
        "show_acting_banner": False,
    }
    response = page(request, "offline.html", anonymous)
    response.headers["Cache-Control"] = "no-cache"
    return response


ROUTES = [service_worker, offline]
