"""The catalog's rows, each rendered once and kept: the rows of a catalog page were about 40%
of its CPU (some 45 values and ten translations each), and the same row is shown again and
again (the first page of a category, at one tier's prices, with nothing in the cart).

A row's HTML is kept under everything it is made of: the row's own values (its `repr`: the
item with its price, stock figure, favourite and last purchase, the quantity in the cart and
its labels), the language and whether the reader may order. What differs per reader and per
page (the CSRF field, the address to come back to) is rendered as a marker and put in after.
Nothing is ever stale: a change of price, stock or cart makes another row, and another key.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from portal import i18n

ROW_TEMPLATE = "catalog/_sku_row.html"
# Characters of Unicode's private use area: never in a page of the portal's own making.
CSRF_MARK = "\ue000csrf\ue000"
BACK_MARK = "\ue000back\ue000"
LIMIT = 2048  # rows kept per process (about 3 KB each with its key); all dropped when full

_rows: dict[tuple[int, str, bool, str], str] = {}
_modules: dict[tuple[int, str, bool], Any] = {}


def _module(env: Environment, locale: str, can_order: bool) -> Any:
    """The row template's macros for this language, with the markers in place of what
    differs per reader (its labels are translated once, when the module is made)."""
    key = (id(env), locale, can_order)
    module = _modules.get(key)
    if module is None:
        values = {"csrf_input": Markup(CSRF_MARK), "back": BACK_MARK, "can_order": can_order}
        module = _modules[key] = env.get_template(ROW_TEMPLATE).make_module(values)
    return module


@pass_context
def catalog_rows(context: Context, rows: list) -> Markup:
    """Every row as `sku_row` renders it, in this page's language, for this reader."""
    env = context.environment
    locale = i18n.get_locale()
    can_order = bool(context.get("can_order"))
    module = _module(env, locale, can_order)
    parts = []
    for row in rows:
        key = (id(env), locale, can_order, repr(row))
        html = _rows.get(key)
        if html is None:
            if len(_rows) >= LIMIT:
                _rows.clear()
            html = _rows[key] = str(module.sku_row(row))
        parts.append(html)
    page = "".join(parts)
    page = page.replace(CSRF_MARK, str(context.get("csrf_input", "")))
    return Markup(page.replace(BACK_MARK, str(escape(context.get("back", "")))))


def forget() -> None:
    """Drop every kept row (tests; a deploy starts new processes anyway)."""
    _rows.clear()
    _modules.clear()
