"""Mail from the outbox to a real SMTP server (aiosmtpd): sent, retried while the server is
down, delivered once it is up; a notification's mail is written in the decision's transaction."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from portal import mail
from portal.tables import MailOutbox
from tests.db.test_orders import NOW


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()


def smtp_server(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


async def queue(to: str = "boss@example.com", link: str = "") -> None:
    await MailOutbox.insert(
        MailOutbox(
            to=to,
            subject="订货通: 订单 SO-20261125-0001 待审批",
            body="请审批",
            link=link,
            attempts=0,
            next_attempt_at=NOW,
            created_at=NOW,
        )
    )


async def test_sends_due_mail_once(db, port):
    controller, inbox = smtp_server(port)
    try:
        await queue()
        settings = mail.MailSettings(host="127.0.0.1", port=port, sender="portal@example.com")
        assert await mail.send_due(settings, now=NOW) == 1
        assert await mail.send_due(settings, now=NOW + timedelta(hours=1)) == 0
    finally:
        controller.stop()
    [message] = inbox.messages
    assert message.rcpt_tos == ["boss@example.com"]
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    assert parsed["Subject"] == "订货通: 订单 SO-20261125-0001 待审批"
    assert parsed.get_content().strip() == "请审批"
    row = await MailOutbox.select().first()
    assert row["sent_at"] is not None and row["attempts"] == 1


async def test_a_mail_about_an_order_ends_with_its_address(db, port):
    """With the portal's public address configured, the approver taps from the mail to the
    order; without it the mail says nothing it cannot link (a bare path opens nothing)."""
    controller, inbox = smtp_server(port)
    try:
        await queue(link="/orders/42")
        await queue(to="other@example.com", link="/orders/42")
        base = mail.MailSettings(host="127.0.0.1", port=port)
        linked = mail.MailSettings(
            host="127.0.0.1", port=port, public_url=mail.public_url("https://dhd.example.com/")
        )
        rows = await MailOutbox.select().order_by(MailOutbox.id)
        await MailOutbox.update({MailOutbox.next_attempt_at: NOW + timedelta(days=1)}).where(
            MailOutbox.id == rows[1]["id"]
        )
        assert await mail.send_due(linked, now=NOW) == 1
        assert await mail.send_due(base, now=NOW + timedelta(days=2)) == 1
    finally:
        controller.stop()
    texts = {
        m.rcpt_tos[0]: email.message_from_bytes(m.content, policy=email.policy.default)
        .get_content()
        .replace("\r\n", "\n")
        .strip()
        for m in inbox.messages
    }
    assert texts == {
        "boss@example.com": "请审批\n\nhttps://dhd.example.com/orders/42",
        "other@example.com": "请审批",
    }


@pytest.mark.parametrize(
    "raw", ["dhd.example.com", "ftp://dhd.example.com", "https://", "https://a.cn/?x=1"]
)
def test_a_public_address_that_is_not_one_is_refused_at_start(raw):
    with pytest.raises(ValueError, match="PORTAL_PUBLIC_URL"):
        mail.MailSettings.from_env({"PORTAL_SMTP_HOST": "smtp", "PORTAL_PUBLIC_URL": raw})
    env = {"PORTAL_SMTP_HOST": "smtp", "PORTAL_PUBLIC_URL": "https://dhd.example.com/portal/"}
    assert mail.MailSettings.from_env(env).public_url == "https://dhd.example.com/portal"


async def test_smtp_down_then_up(db, port):
    await queue()
    settings = mail.MailSettings(host="127.0.0.1", port=port, timeout=2)
    # Down: nothing listens on the port. The row is kept with the error and a later attempt.
    assert await mail.send_due(settings, now=NOW) == 0
    row = await MailOutbox.select().first()
    assert row["sent_at"] is None and row["attempts"] == 1 and row["last_error"]
    assert row["next_attempt_at"] > NOW
    # Not due yet: no attempt.
    assert await mail.send_due(settings, now=NOW + timedelta(seconds=1)) == 0
    assert (await MailOutbox.select().first())["attempts"] == 1
    controller, inbox = smtp_server(port)
    try:
        assert await mail.send_due(settings, now=NOW + timedelta(minutes=2)) == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    row = await MailOutbox.select().first()
    assert row["sent_at"] is not None and row["attempts"] == 2


async def test_the_loop_sends_and_stops(db, port):
    controller, inbox = smtp_server(port)
    try:
        await queue()
        settings = mail.MailSettings(host="127.0.0.1", port=port, interval=0.05)
        sender = mail.start(settings)
        for _ in range(100):
            if inbox.messages:
                break
            await asyncio.sleep(0.05)
        await sender.close()
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    assert sender.task.done()


def test_settings_only_when_a_host_is_set():
    assert mail.MailSettings.from_env({}) is None
    s = mail.MailSettings.from_env(
        {"PORTAL_SMTP_HOST": "smtp.example.com", "PORTAL_SMTP_PORT": "587"}
    )
    assert s is not None and s.port == 587 and s.host == "smtp.example.com"
