"""Links that leave the portal (a delivery note's QR code) use PORTAL_PUBLIC_URL when it is
set, not the address the printing request came by."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal.http_files import page_address
from portal.settings import Settings


def request(base_url: str, public_url: str = "") -> SimpleNamespace:
    settings = SimpleNamespace(public_url=public_url)
    state = {"settings": settings}
    return SimpleNamespace(app=SimpleNamespace(state=state), base_url=base_url)


def test_the_public_address_wins_over_the_one_the_request_came_by():
    internal = request("http://192.168.1.20:8000/", "https://dhd.example.com")
    assert page_address(internal, "/shipments/7") == "https://dhd.example.com/shipments/7"
    assert page_address(request("http://192.168.1.20:8000/"), "/shipments/7") == (
        "http://192.168.1.20:8000/shipments/7"
    )


def test_the_setting_is_read_and_checked():
    base = {"PORTAL_SECRET_KEY": "x" * 40, "PORTAL_VAR_DIR": "/tmp/portal-test-settings"}
    settings = Settings.from_env({**base, "PORTAL_PUBLIC_URL": "https://dhd.example.com/"})
    assert settings.public_url == "https://dhd.example.com"
    assert Settings.from_env(base).public_url == ""
    with pytest.raises(ValueError):
        Settings.from_env({**base, "PORTAL_PUBLIC_URL": "dhd.example.com"})
