"""The landing page after sign-in (placeholder until the dealer home is built)."""

from litestar import Request, get
from litestar.response import Template

from portal.web.common import page


@get("/", include_in_schema=False)
async def home(request: Request) -> Template:
    return page(request, "home/page.html", {}, active_tab="home")


ROUTES = [home]
