"""JSON API under /api/v1, one module per area; ROUTES gathers them for the app."""

from portal.api import approvals, auth, catalog, ledger, orders, shipments, stock

ROUTES: list = [
    *auth.ROUTES,
    *catalog.ROUTES,
    *orders.ROUTES,
    *shipments.ROUTES,
    *stock.ROUTES,
    *ledger.ROUTES,
    *approvals.ROUTES,
]
