"""htmx pages, one module per business area; ROUTES gathers them for the app."""

from litestar import Router

from portal.web import account, cart, catalog, dealers, home, me, orders
from portal.web.common import load_page_chrome

# One router for the pages so every page gets its frame (cart badge, acting-dealer banner).
ROUTES = [
    Router(
        path="/",
        route_handlers=[
            *account.ROUTES,
            *home.ROUTES,
            *catalog.ROUTES,
            *cart.ROUTES,
            *orders.ROUTES,
            *dealers.ROUTES,
            *me.ROUTES,
        ],
        before_request=load_page_chrome,
    )
]
