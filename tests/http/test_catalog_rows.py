"""Catalog rows kept once rendered (portal/web/catalog_rows.py): every page shows exactly what
the row template renders for that reader, in that language, with that cart; never another
reader's CSRF field, another page's way back or an old quantity."""

from __future__ import annotations

import re

import pytest
from jinja2 import pass_context
from markupsafe import Markup

from portal.web import catalog_rows
from tests.http import test_pages_catalog as catalog_pages
from tests.http.conftest import csrf_from, shared_app, sign_in
from tests.http.test_pages_languages import in_language

HX = {"HX-Request": "true"}
world = catalog_pages.world  # the fixture: two dealers at one tier, water, cola and chips
_row, _token = catalog_pages._row, catalog_pages._token


@pass_context
def rendered_each_time(context, rows) -> Markup:
    """The rows as the template's macro renders them in this very context, nothing kept."""
    template = context.environment.get_template(catalog_rows.ROW_TEMPLATE)
    module = template.make_module(dict(context.get_all()))
    return Markup("".join(str(module.sku_row(row)) for row in rows))


@pytest.fixture
def kept_or_not(client, settings, db):
    """Switch the app between kept rows and rows rendered each time."""
    env = shared_app(settings, db).template_engine.engine
    catalog_rows.forget()

    def use(kept: bool) -> None:
        env.globals["catalog_rows"] = catalog_rows.catalog_rows if kept else rendered_each_time

    yield use
    use(True)
    catalog_rows.forget()


async def pages(client, path: str, use, **kwargs) -> tuple[str, str, str]:
    use(False)
    reference = (await client.get(path, **kwargs)).text
    use(True)
    first = (await client.get(path, **kwargs)).text  # rendered, then kept
    again = (await client.get(path, **kwargs)).text  # from what was kept
    return reference, first, again


async def test_kept_rows_are_what_the_template_renders(client, world, kept_or_not):
    # One language after the other, with rows kept from the first.
    for locale in ("zh_Hans", "en", "zh_Hant"):
        await in_language(client, "buyer_a", locale)
        token = await _token(client)
        await client.post(
            f"/catalog/qty/{world['cola']['id']}", data={"qty": "12", "_csrf_token": token}
        )
        await client.post(f"/catalog/favourite/{world['water']['id']}", data={"_csrf_token": token})
        for path, headers in [("/catalog", {}), ("/catalog?q=农夫&sort=price_asc", HX)]:
            reference, first, again = await pages(client, path, kept_or_not, headers=headers)
            assert 'class="sku-row' in reference
            assert first == reference and again == reference, (locale, path)


async def test_each_reader_gets_their_own_csrf_field_and_way_back(client, world, kept_or_not):
    tokens = {}
    for username in ("buyer_a", "buyer_b"):
        client.cookies.clear()
        await sign_in(client, username)
        page = (await client.get("/catalog?q=乐事")).text
        tokens[username] = csrf_from(page)
        row = _row(page, world["chips"])
        assert row.count(f'value="{tokens[username]}"') == 2  # the favourite and the stepper
        assert row.count('name="next" value="/catalog?q=%E4%B9%90%E4%BA%8B"') == 2
        assert catalog_rows.CSRF_MARK not in page and catalog_rows.BACK_MARK not in page
    assert tokens["buyer_a"] != tokens["buyer_b"]
    # The same row, kept once: buyer_a's page again carries buyer_a's field, not buyer_b's.
    client.cookies.clear()
    await sign_in(client, "buyer_a")
    page = (await client.get("/catalog?q=乐事")).text
    assert tokens["buyer_b"] not in page and csrf_from(page) in _row(page, world["chips"])


async def test_a_row_follows_the_cart(client, world, kept_or_not):
    await sign_in(client, "buyer_a")
    token = await _token(client)
    before = _row((await client.get("/catalog")).text, world["chips"])
    assert 'value="0"' in before
    await client.post(
        f"/catalog/qty/{world['chips']['id']}", data={"qty": "3", "_csrf_token": token}
    )
    after = _row((await client.get("/catalog")).text, world["chips"])
    assert re.search(r'class="qty" name="qty" value="3"', after), after
