"""The templates' quick gettext gives what jinja2.ext.i18n's newstyle gettext gives: the same
text in every language, variables escaped, %% as %, plural forms by number."""

from __future__ import annotations

import pytest
from jinja2 import Environment

from portal import i18n
from portal.app import configure_jinja

TEMPLATES = [
    "{{ _('Catalog') }}",
    "{{ gettext('Catalog') }}",
    "{{ _('Quantity of %(name)s in %(unit)s', name='<b>冰红茶</b>', unit='瓶') }}",
    "{{ _('More than %(num)s products', num=1000) }}",
    "{{ _('Percentage of the limit (%%)') }}",
    "{{ _('Your discount authority: %(percent)s%% off the dealer price', percent='5') }}",
    "{{ ngettext('%(num)s product', '%(num)s products', 1) }}",
    "{{ ngettext('%(num)s product', '%(num)s products', 25) }}",
    "{{ _('not in the catalogs, <kept> & escaped') }}",
]


def environments() -> tuple[Environment, Environment]:
    ours = Environment(autoescape=True)
    configure_jinja(ours)
    jinja = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    jinja.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return ours, jinja


@pytest.mark.parametrize("locale", sorted(i18n.LOCALES))
@pytest.mark.parametrize("source", TEMPLATES)
def test_the_quick_gettext_renders_as_jinjas_own(locale, source):
    ours, jinja = environments()
    i18n.set_locale(locale)
    try:
        expected = jinja.from_string(source).render()
        assert ours.from_string(source).render() == expected
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)


def test_it_translates_and_escapes():
    ours, _jinja = environments()
    i18n.set_locale("zh_Hans")
    try:
        html = ours.from_string(TEMPLATES[2]).render()
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)
    assert "&lt;b&gt;冰红茶&lt;/b&gt;" in html and "<b>" not in html
    assert html != "Quantity of &lt;b&gt;冰红茶&lt;/b&gt; in 瓶"  # translated
