"""htmx pages, one module per business area; ROUTES gathers them for the app."""

from litestar import Router

from portal.web import (
    account,
    admin_rules,
    approvals,
    backorders,
    cart,
    catalog,
    catalog_admin,
    categories_admin,
    data_io,
    dealers,
    finance,
    home,
    me,
    notifications,
    orders,
    pictures,
    promotions,
    pwa,
    reports,
    shipments,
    staff,
    statement,
    team,
    tiers_admin,
    visit,
    warehouse,
    warehouses_admin,
    webhooks,
)
from portal.web.common import load_page_chrome

# One router for the pages so every page gets its frame (cart badge, acting-dealer banner).
ROUTES = [
    Router(
        path="/",
        route_handlers=[
            *account.ROUTES,
            *home.ROUTES,
            *catalog.ROUTES,
            *pictures.ROUTES,
            *cart.ROUTES,
            *orders.ROUTES,
            *dealers.ROUTES,
            *me.ROUTES,
            *pwa.ROUTES,
            *warehouse.ROUTES,
            *backorders.ROUTES,
            *shipments.ROUTES,
            *finance.ROUTES,
            *statement.ROUTES,
            *approvals.ROUTES,
            *visit.ROUTES,
            *notifications.ROUTES,
            *admin_rules.ROUTES,
            *team.ROUTES,
            *webhooks.ROUTES,
            *reports.ROUTES,
            *data_io.ROUTES,
            *staff.ROUTES,
            *warehouses_admin.ROUTES,
            *tiers_admin.ROUTES,
            *promotions.ROUTES,
            *catalog_admin.ROUTES,
            *categories_admin.ROUTES,
        ],
        before_request=load_page_chrome,
    )
]
