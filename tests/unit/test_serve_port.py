"""`python -m portal serve` (and so `make run`) on a port another program holds: a message
saying what to do, exit status 1, and no server started."""

from __future__ import annotations

import socket

import pytest

from portal import __main__ as cli


@pytest.fixture(autouse=True)
def own_settings(monkeypatch, tmp_path):
    """Settings of the test's own: nothing read from or written to the checkout's var/."""
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path}/portal.sqlite3")

    async def migrated(settings):  # the database is not what these tests are about
        return ""

    monkeypatch.setattr(cli, "_schema_behind", migrated)


def test_a_taken_port_is_reported_with_what_to_do(monkeypatch, capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("PORTAL_HOST", "127.0.0.1")
        monkeypatch.setenv("PORTAL_PORT", str(port))

        import uvicorn

        def must_not_start(*args, **kwargs):
            raise AssertionError("uvicorn started on a taken port")

        monkeypatch.setattr(uvicorn, "run", must_not_start)
        assert cli.main(["serve"]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and f"PORTAL_PORT={port + 1} make run" in err


def test_a_free_port_starts_the_server(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PORTAL_HOST", "127.0.0.1")
    monkeypatch.setenv("PORTAL_PORT", str(port))
    started = {}

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    assert cli.main(["serve"]) == 0
    assert started["app"] == "portal.asgi:app" and started["port"] == port


def test_port_taken_answers_empty_for_a_free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert cli._port_taken("127.0.0.1", port) == ""


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("PORTAL_SECRET_KEY", "short", "PORTAL_SECRET_KEY"),
        ("PORTAL_PUBLIC_URL", "dhd.example.com", "PORTAL_PUBLIC_URL"),
        ("PORTAL_PORT", "abc", "PORTAL_PORT must be a number"),
        ("PORTAL_WEBHOOK_SECONDS", "five", "PORTAL_WEBHOOK_SECONDS must be a number"),
        ("PORTAL_SMTP_PORT", "smtp", "PORTAL_SMTP_PORT must be a number"),
    ],
)
def test_a_setting_that_cannot_be_used_is_named_without_a_traceback(
    monkeypatch, capsys, name, value, said
):
    monkeypatch.setenv("PORTAL_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv(name, value)

    import uvicorn

    def must_not_start(*args, **kwargs):
        raise AssertionError("uvicorn started with a setting it cannot use")

    monkeypatch.setattr(uvicorn, "run", must_not_start)
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Cannot start: ") and said in err and "Traceback" not in err
