"""Configuration from the environment, with safe defaults for the embedded SQLite set-up."""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.mail import MailSettings, public_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = ROOT / "var"


def _secret_from_file(var_dir: Path) -> str:
    """The embedded default: generate 48 random bytes once, keep them in var/ with 0600.

    Several workers may start at once: each writes a complete candidate file and links it
    into place atomically; whoever loses reads the winner's key, never a half-written file.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret_key"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=var_dir, prefix=".secret_key.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def _number(env: dict[str, str], name: str, default: str, kind: type = int) -> Any:
    """A numeric setting, or a ValueError naming the variable (not a traceback about int())."""
    raw = env.get(name, default)
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    secure_cookies: bool = False
    # A page session ends this long after the last request (portal.auth.session renews it).
    session_minutes: int = 120
    api_token_minutes: int = 60
    default_locale: str = "zh_Hans"
    timezone: str = "Asia/Shanghai"
    show_stock_numbers: bool = False
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    var_dir: Path = field(default=DEFAULT_VAR_DIR)
    debug: bool = False
    # SMTP for notifications (PORTAL_SMTP_*); None: mail waits in the outbox, unsent.
    mail: MailSettings | None = None
    # Unconfirmed shipments count as received this many days after shipping (0: never).
    auto_receive_days: int = 7
    # How often each server process runs housekeeping (auto-receipt); 0 turns it off.
    housekeeping_seconds: int = 3600
    # How often each server process sends due webhook deliveries; 0 turns sending off.
    webhook_seconds: float = 5.0
    # Webhook receivers on this machine or a private network (localhost, 10.x, 192.168.x,
    # 169.254.x, ...): off unless PORTAL_WEBHOOK_PRIVATE=1, so that an administrator's key
    # cannot make the portal probe internal services (SSRF). A test set-up turns it on.
    webhook_private_addresses: bool = False
    # uvicorn's line per request; off by default (the reverse proxy in front logs requests).
    access_log: bool = False
    # Where people open the portal (PORTAL_PUBLIC_URL, https://dhd.example.com): links that
    # leave it (a delivery note's QR code, a mail) use it, not the address a request came by.
    public_url: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        var_dir = Path(env.get("PORTAL_VAR_DIR", str(DEFAULT_VAR_DIR)))
        database_url = env.get("PORTAL_DATABASE_URL") or f"sqlite:///{var_dir / 'portal.sqlite3'}"
        secret = env.get("PORTAL_SECRET_KEY") or _secret_from_file(var_dir)
        if len(secret.encode()) < 32:
            raise ValueError("PORTAL_SECRET_KEY must be at least 32 bytes")
        return cls(
            database_url=database_url,
            secret_key=secret,
            host=env.get("PORTAL_HOST", "127.0.0.1"),
            port=_number(env, "PORTAL_PORT", "8000"),
            workers=_number(env, "PORTAL_WORKERS", "1"),
            secure_cookies=env.get("PORTAL_SECURE_COOKIES", "0") == "1",
            session_minutes=_number(env, "PORTAL_SESSION_MINUTES", "120"),
            show_stock_numbers=env.get("PORTAL_SHOW_STOCK_NUMBERS", "0") == "1",
            var_dir=var_dir,
            debug=env.get("PORTAL_DEBUG", "0") == "1",
            mail=MailSettings.from_env(env),
            auto_receive_days=_number(env, "PORTAL_AUTO_RECEIVE_DAYS", "7"),
            housekeeping_seconds=_number(env, "PORTAL_HOUSEKEEPING_SECONDS", "3600"),
            webhook_seconds=_number(env, "PORTAL_WEBHOOK_SECONDS", "5", float),
            webhook_private_addresses=env.get("PORTAL_WEBHOOK_PRIVATE", "0") == "1",
            access_log=env.get("PORTAL_ACCESS_LOG", "0") == "1",
            public_url=public_url(env.get("PORTAL_PUBLIC_URL") or ""),
        )
