"""JSON API under /api/v1, one module per area; ROUTES gathers them for the app."""

from portal.api import (
    approvals,
    auth,
    backorders,
    catalog,
    data_io,
    dealers,
    ledger,
    orders,
    reports,
    returns,
    shipments,
    staff,
    stock,
    team,
    warehouses,
    webhooks,
)

ROUTES: list = [
    *auth.ROUTES,
    *catalog.ROUTES,
    *orders.ROUTES,
    *shipments.ROUTES,
    *returns.ROUTES,
    *stock.ROUTES,
    *backorders.ROUTES,
    *ledger.ROUTES,
    *approvals.ROUTES,
    *team.ROUTES,
    *webhooks.ROUTES,
    *reports.ROUTES,
    *dealers.ROUTES,
    *data_io.ROUTES,
    *staff.ROUTES,
    *warehouses.ROUTES,
]
