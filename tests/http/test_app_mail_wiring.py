"""The app starts the outbox mail sender only when SMTP is configured, and stops it cleanly."""

from __future__ import annotations

from portal.app import create_app
from portal.settings import Settings


async def _run_lifecycle(app) -> object:
    for hook in app.on_startup:
        await hook(app)
    sender = app.state.mail_sender
    for hook in app.on_shutdown:
        await hook(app)
    return sender


async def test_no_smtp_host_means_no_sender(db, database_url, tmp_path):
    settings = Settings.from_env(
        {"PORTAL_DATABASE_URL": database_url, "PORTAL_VAR_DIR": str(tmp_path)}
    )
    assert await _run_lifecycle(create_app(settings, engine=db)) is None


async def test_smtp_host_starts_the_sender_and_shutdown_stops_it(db, database_url, tmp_path):
    settings = Settings.from_env(
        {
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_VAR_DIR": str(tmp_path),
            "PORTAL_SMTP_HOST": "127.0.0.1",
            "PORTAL_SMTP_PORT": "1",  # nothing listens: the loop must still start and stop
        }
    )
    sender = await _run_lifecycle(create_app(settings, engine=db))
    assert sender is not None
    assert sender.task.done()  # shutdown awaited the loop's end
