"""JSON API under /api/v1, one module per area; ROUTES gathers them for the app."""

from portal.api import auth, catalog, orders

ROUTES: list = [*auth.ROUTES, *catalog.ROUTES, *orders.ROUTES]
