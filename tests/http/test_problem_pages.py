"""The pages a problem's `type` leads to: /problems/<type> for every type the API answers with,
public, in the reader's language, saying what the type means and what its members are."""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
from pathlib import Path

import msgspec

import portal.domain
from portal import i18n
from portal.api.schemas import Problem
from portal.domain.errors import DomainError
from portal.web.problems import BY_NAME, PROBLEM_TYPES, STANDARD_MEMBERS
from tests import factories as f
from tests.http.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]


def text_of(page: str) -> str:
    return html.unescape(page)


def types_in_the_code() -> set[str]:
    """Every problem type the app can answer with: the domain's error classes, and what
    portal.app writes itself."""
    for module in pkgutil.iter_modules(portal.domain.__path__):
        importlib.import_module(f"portal.domain.{module.name}")
    found: set[str] = set()
    todo = [DomainError]
    while todo:
        kind = todo.pop()
        found.add(kind.type)
        todo.extend(kind.__subclasses__())
    app = (ROOT / "portal" / "app.py").read_text()
    found |= set(re.findall(r'problem\(\s*request,\s*[\w.]+,\s*"([a-z-]+)"', app))
    found |= set(re.findall(r'\.type = "([a-z-]+)"', app))
    return found


def test_every_type_the_api_answers_with_is_documented():
    assert types_in_the_code() == set(BY_NAME)


def test_every_member_of_a_problem_is_documented():
    standard = {name for name, _meaning in STANDARD_MEMBERS}
    documented = {name for t in PROBLEM_TYPES for name, _meaning in t.members}
    members = {f.encode_name for f in msgspec.structs.fields(Problem)}
    assert members - standard - documented == set()
    assert documented - members == set(), "documented members the OpenAPI Problem lacks"


def test_every_text_is_translated():
    for locale in ("zh_Hans", "zh_Hant"):
        catalog = i18n.translations(locale)
        texts = [m for t in PROBLEM_TYPES for m in (t.title, t.meaning)]
        texts += [m for t in PROBLEM_TYPES for _name, m in (*t.members, *t.headers)]
        texts += [m for _name, m in STANDARD_MEMBERS]
        untranslated = [m for m in texts if catalog.gettext(m) == m]
        assert not untranslated, (locale, untranslated)


async def test_the_list_and_every_type_are_public_pages(client, db):
    listed = await client.get("/problems")
    assert listed.status_code == 200 and listed.url.path == "/problems"
    assert listed.headers["content-type"].startswith("text/html")
    for t in PROBLEM_TYPES:
        assert f'href="/problems/{t.name}?lang=zh_Hans"' in listed.text
        response = await client.get(f"/problems/{t.name}")
        assert response.status_code == 200, (t.name, response.status_code)
        assert response.url.path == f"/problems/{t.name}"  # not sent to sign in
        page = text_of(response.text)
        # Simplified Chinese unless the reader says otherwise.
        assert i18n.translations("zh_Hans").gettext(t.meaning) in page
        for name, _meaning in (*STANDARD_MEMBERS, *t.members, *t.headers):
            assert f"<code>{name}</code>" in page, (t.name, name)


async def test_the_credit_exceeded_page_names_its_figures_in_english(client, db):
    for headers, query in (({}, "?lang=en"), ({"Accept-Language": "en-US,en;q=0.9"}, "")):
        response = await client.get(f"/problems/credit-exceeded{query}", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-language"] == "en"
        page = text_of(response.text)
        assert "Not enough available credit." in page
        assert '<html lang="en">' in page
        for member in ("available", "order_total", "credit_limit", "exposure", "tolerance"):
            assert f"<code>{member}</code>" in page
    chinese = text_of((await client.get("/problems/credit-exceeded")).text)
    assert i18n.translations("zh_Hans").gettext("Not enough available credit.") in chinese
    traditional = await client.get("/problems/insufficient-stock?lang=zh_Hant")
    assert traditional.headers["content-language"] == "zh-Hant"


async def test_an_unknown_type_is_not_found(client, db):
    response = await client.get("/problems/no-such-problem")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


async def test_a_signed_in_reader_gets_the_page_in_the_language_they_chose(client, db):
    await f.user("admin", username="adm")
    assert (await sign_in(client, "adm")).status_code == 303
    client.cookies.set("lang", "en")  # as the language links of the pages leave it
    response = await client.get("/problems/validation", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200
    assert "Some of the input is not valid." in text_of(response.text)


async def test_a_problem_type_from_the_api_resolves(client, db):
    refused = await client.get("/api/v1/orders", headers={"Authorization": "Bearer nonsense"})
    assert refused.status_code == 401
    documented = await client.get(refused.json()["type"])
    assert documented.status_code == 200
    assert "WWW-Authenticate" in documented.text
