"""JSON API under /api/v1, one module per area; ROUTES gathers them for the app."""

ROUTES: list = []
