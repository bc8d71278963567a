"""htmx pages, one module per business area; ROUTES gathers them for the app."""

from portal.web import account, home

ROUTES = [*account.ROUTES, *home.ROUTES]
