"""The installable app: its manifest, the service worker at the root and the offline page."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Response, Template

from portal import i18n
from portal.domain.errors import _
from portal.settings import ROOT
from portal.web.common import page

SERVICE_WORKER = ROOT / "static" / "js" / "sw.js"
# What the home screen shows under the icon, in the user's language.
APP_NAME = _("Dealer ordering")
APP_SHORT_NAME = _("Ordering")
APP_DESCRIPTION = _("Order from your supplier at your prices, on your phone.")
# The manifest but for its words, which _manifest() fills in per language. Each icon has one
# purpose: the "any" ones a rounded square with transparent corners, the maskable ones blue to
# the edges with the cart inside the safe zone (the launcher cuts its own shape).
ICONS = "/static/icons/"
MANIFEST: dict[str, Any] = {
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#f3f4f6",
    "theme_color": "#1a56db",
    "icons": [
        {"src": f"{ICONS}{name}", "sizes": sizes, "type": kind, "purpose": purpose}
        for name, sizes, kind, purpose in (
            ("icon-192.png", "192x192", "image/png", "any"),
            ("icon-512.png", "512x512", "image/png", "any"),
            ("icon.svg", "any", "image/svg+xml", "any"),
            ("icon-maskable-192.png", "192x192", "image/png", "maskable"),
            ("icon-maskable-512.png", "512x512", "image/png", "maskable"),
        )
    ],
}


@get("/sw.js", include_in_schema=False, sync_to_thread=False)
def service_worker() -> Response[bytes]:
    # Served from the root so its scope is the whole site; revalidated on every check, so a new
    # version (a new cache name) reaches phones at their next visit.
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


@cache
def _manifest(locale: str) -> bytes:
    i18n.set_locale(locale)
    manifest = {
        "name": i18n.gettext(APP_NAME),
        "short_name": i18n.gettext(APP_SHORT_NAME),
        "description": i18n.gettext(APP_DESCRIPTION),
        "lang": locale.replace("_", "-"),
        **MANIFEST,
    }
    return json.dumps(manifest, ensure_ascii=False, indent=2).encode()


@get("/manifest.webmanifest", include_in_schema=False)
async def manifest(request: Request, lang: FromQuery[str | None] = None) -> Response[bytes]:
    # A browser fetches the manifest without cookies, so the page names its language in the
    # link; the app installed from an English page is named in English.
    locale = lang if lang in i18n.LOCALES else i18n.get_locale()
    body = _manifest(locale)
    i18n.set_locale(locale)
    return Response(
        body,
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
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


ROUTES = [service_worker, manifest, offline]
