"""The web app manifest: installable from any page, named in the language of the page."""

from __future__ import annotations

import json
import re

import pytest

from tests import factories as f
from tests.http.conftest import sign_in


@pytest.mark.parametrize(
    ("lang", "name", "short"),
    [
        ("zh_Hans", "经销商订货", "订货"),
        ("zh_Hant", "經銷商訂貨", "訂貨"),
        ("en", "Dealer ordering", "Ordering"),
    ],
)
async def test_the_manifest_names_the_app_in_the_pages_language(client, lang, name, short):
    page = await client.get(f"/login?lang={lang}")
    href = re.search(r'<link rel="manifest" href="([^"]+)"', page.text).group(1)
    assert href == f"/manifest.webmanifest?lang={lang}"
    response = await client.get(href)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    assert manifest["name"] == name and manifest["short_name"] == short
    assert manifest["lang"] == lang.replace("_", "-")
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone" and manifest["theme_color"] == "#1a56db"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert (await client.get(icon["src"])).status_code == 200


async def test_a_signed_in_page_links_the_manifest_in_the_users_language(client):
    from portal.tables import User

    d = await f.dealer()
    u = await f.user("dealer_buyer", d, username="installer")
    await User.update({User.locale: "en"}).where(User.id == u["id"])
    await sign_in(client, "installer")
    home = await client.get("/")
    assert 'href="/manifest.webmanifest?lang=en"' in home.text


@pytest.mark.parametrize("lang", ["", "xx", "zh_Hans%00", "../../etc"])
async def test_an_unknown_language_falls_back(client, lang):
    response = await client.get(f"/manifest.webmanifest?lang={lang}")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert json.loads(response.text)["start_url"] == "/"
