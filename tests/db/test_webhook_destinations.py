"""Webhook receivers on the portal's own machine or a private network are refused unless the
installation allows them: an administrator's key must not make the portal call internal
services (cloud metadata, a database's HTTP port) and read their answers (SSRF)."""

from __future__ import annotations

import pytest

from portal import webhooks as sender
from portal.domain import webhooks
from portal.domain.errors import ValidationFailed
from portal.tables import WebhookEndpoint
from tests import factories as f


@pytest.fixture
def default_policy():
    webhooks.private_addresses_allowed = False
    yield
    webhooks.private_addresses_allowed = True


@pytest.mark.parametrize(
    "ip, internal",
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.9", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("::ffff:10.0.0.1", True),
        ("224.0.0.1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("not-an-ip", False),
    ],
)
def test_which_addresses_are_internal(ip, internal):
    assert webhooks.internal_address(ip) is internal


async def test_an_internal_receiver_is_refused_by_default(db, default_policy):
    admin = f.actor(await f.user("admin"))
    for url in (
        "http://localhost:8080/h",
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://api.localhost/h",
        "https://127.1/h",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://017700000001/",
    ):
        with pytest.raises(ValidationFailed) as refused:
            await webhooks.save_endpoint(admin, None, webhooks.EndpointInput(url=url))
        assert refused.value.errors[0].field == "url", url
        assert refused.value.errors[0].message == webhooks.MSG_PRIVATE
    assert await WebhookEndpoint.count() == 0
    saved = await webhooks.save_endpoint(
        admin, None, webhooks.EndpointInput(url="https://erp.example.com/hooks")
    )
    assert saved.endpoint["url"] == "https://erp.example.com/hooks"


async def test_the_sender_checks_what_a_name_resolves_to(default_policy):
    # "localhost." and an IP literal are refused without a look-up; a name is looked up.
    assert "internal" in await sender._refused_destination("http://localhost./x")
    assert "internal" in await sender._refused_destination("http://10.0.0.8/x")
    webhooks.private_addresses_allowed = True
    assert await sender._refused_destination("http://127.0.0.1:9/x") == ""


async def test_one_receiver_per_address(db):
    """A second endpoint at the same address would get every event twice (a refreshed page
    that showed the new secret sent the form again)."""
    admin = f.actor(await f.user("admin"))
    url = "https://erp.example.com/hooks"
    await webhooks.save_endpoint(admin, None, webhooks.EndpointInput(url=url))
    with pytest.raises(ValidationFailed) as refused:
        await webhooks.save_endpoint(admin, None, webhooks.EndpointInput(url=url))
    assert refused.value.errors[0].field == "url"
    assert await WebhookEndpoint.count() == 1
