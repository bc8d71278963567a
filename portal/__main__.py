"""Command line: python -m portal migrate | demo | serve | auto-receive | createadmin."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from portal.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the Piccolo migrations")
    sub.add_parser("demo", help="load the demo supplier if the database is empty")
    sub.add_parser("serve", help="serve the portal with uvicorn")
    receive = sub.add_parser(
        "auto-receive",
        help="confirm receipt of shipments the dealer left unconfirmed (run daily, e.g. cron)",
    )
    receive.add_argument(
        "--days",
        type=int,
        default=None,
        help="days after shipping (default: the supplier's setting)",
    )
    admin = sub.add_parser(
        "createadmin",
        help="create the first administrator (password from PORTAL_ADMIN_PASSWORD or asked)",
    )
    admin.add_argument("username")
    admin.add_argument("--name", default="", help="display name (default: the username)")
    admin.add_argument(
        "--reset-password", action="store_true", help="set a new password on an existing admin"
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        # A setting that cannot be used (a short secret key, a public address that is not
        # one): say which, without a traceback.
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2

    if args.command == "migrate":
        from portal.migrate import run_migrations

        run_migrations(settings.database_url)
        return 0
    if args.command == "demo":
        from portal.demo import load_demo_if_empty

        asyncio.run(load_demo_if_empty(settings))
        return 0
    if args.command == "auto-receive":
        from portal import housekeeping
        from portal.db import bind_tables, engine_from_url, start, stop
        from portal.domain import supplier

        async def run() -> int:
            engine = engine_from_url(settings.database_url)
            bind_tables(engine)
            await start(engine)
            try:
                defaults = supplier.Defaults.of(settings)
                return await housekeeping.run_once(defaults, days=args.days)
            finally:
                await stop(engine)

        print(f"auto-received {asyncio.run(run())} shipment(s)")
        return 0
    if args.command == "createadmin":
        return _create_admin(settings, args.username, args.name, args.reset_password)
    if args.command == "serve":
        import uvicorn

        behind = asyncio.run(_schema_behind(settings))
        if behind:
            print(behind, file=sys.stderr)
            return 1
        taken = _port_taken(settings.host, settings.port)
        if taken:
            print(
                f"Cannot listen on {settings.host}:{settings.port}: {taken}. Another program "
                "(perhaps a portal started earlier) is using it: stop it, or choose another "
                f"port, e.g. PORTAL_PORT={settings.port + 1} make run",
                file=sys.stderr,
            )
            return 1
        uvicorn.run(
            "portal.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            proxy_headers=True,
            log_level="info",
            access_log=settings.access_log,
        )
        return 0
    return 2


async def _schema_behind(settings: Settings) -> str:
    """Why the server should not start on this database ("" when it may): never migrated,
    or behind the code's migrations. A database that cannot be reached is no reason to stop
    (the server waits for it, and /health/ready says not ready meanwhile)."""
    from portal.db import SchemaBehind, bind_tables, engine_from_url, ping, start, stop

    engine = engine_from_url(settings.database_url)
    bind_tables(engine)
    try:
        await start(engine)
        await ping()
    except SchemaBehind:
        return (
            "The database is not migrated to this version of the portal: run "
            "`python -m portal migrate` (or `make migrate`) first, then serve again."
        )
    except Exception:  # not reachable now: serve, and wait for it
        return ""
    finally:
        try:
            await stop(engine)
        except Exception:  # noqa: S110 - closing what may never have opened
            pass
    return ""


def _port_taken(host: str, port: int) -> str:
    """Why host:port cannot be listened on ("" if it can): checked before uvicorn starts, so
    that `make run` says what to do instead of ending in a traceback after printing a URL
    that another program answers."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: SO_REUSEADDR, so a port left in TIME_WAIT counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def _create_admin(settings: Settings, username: str, name: str, reset: bool) -> int:
    import getpass
    import os

    from portal.auth.passwords import hash_password
    from portal.db import bind_tables, engine_from_url, start, stop, write_transaction
    from portal.domain import audit
    from portal.domain.codes import row_by_code
    from portal.domain.pinyin import with_keys
    from portal.domain.team import check_new_password
    from portal.tables.users import User

    username = username.strip()
    if not username or len(username) > 64:
        print("username: 1 to 64 characters", file=sys.stderr)
        return 2
    password = os.environ.get("PORTAL_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    # The same rules as a password set on the pages (long enough, not easy to guess).
    refused = check_new_password(password, username=username)
    if refused:
        print(f"password: {refused[0].message % refused[0].params}", file=sys.stderr)
        return 2

    async def run() -> int:
        engine = engine_from_url(settings.database_url)
        bind_tables(engine)
        await start(engine)
        now = datetime.now(UTC)
        try:
            # A username is one in any letter case: Admin names the user admin.
            existing = await row_by_code(User, username, User.role, code_column=User.username)
            if existing and not reset:
                print(
                    f"{existing['username']} exists; use --reset-password to change it",
                    file=sys.stderr,
                )
                return 1
            if existing:
                if existing["role"] != "admin":
                    print(f"{existing['username']} is not an administrator", file=sys.stderr)
                    return 1
                async with write_transaction():
                    await User.update(
                        {
                            User.password_hash: hash_password(password),
                            User.token_version: User.token_version + 1,
                            User.active: True,
                        }
                    ).where(User.id == existing["id"])
                    # Audited as the system (no one signed in): who ran it is the server's log.
                    await audit.record(
                        None, "user.password_reset", "user", existing["id"], {}, {}, now=now
                    )
                print(f"password of {existing['username']} changed; its sessions are signed out")
                return 0
            async with write_transaction():
                admin = User(
                    **with_keys(
                        User,
                        {
                            "username": username,
                            "display_name": name or username,
                            "password_hash": hash_password(password),
                            "role": "admin",
                            "locale": settings.default_locale,
                            "created_at": now,
                        },
                    )
                )
                await User.insert(admin)
                await audit.record(
                    None,
                    "user.created",
                    "user",
                    admin.id,
                    {},
                    {"username": username, "display_name": name or username, "role": "admin"},
                    now=now,
                )
            print(f"administrator {username} created")
            return 0
        finally:
            await stop(engine)

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
