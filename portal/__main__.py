"""Command line: python -m portal migrate | demo | serve | setup."""

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
    receive.add_argument("--days", type=int, default=None, help="days after shipping")
    args = parser.parse_args(argv)
    settings = Settings.from_env()

    if args.command == "migrate":
        from portal.migrate import run_migrations

        run_migrations(settings.database_url)
        return 0
    if args.command == "demo":
        from portal.demo import load_demo_if_empty

        asyncio.run(load_demo_if_empty(settings))
        return 0
    if args.command == "auto-receive":
        from portal.db import bind_tables, engine_from_url, start, stop
        from portal.domain import shipments

        async def run() -> int:
            engine = engine_from_url(settings.database_url)
            bind_tables(engine)
            await start(engine)
            try:
                days = args.days if args.days is not None else shipments.AUTO_RECEIVE_DAYS
                return await shipments.auto_receive(datetime.now(UTC), days=days)
            finally:
                await stop(engine)

        print(f"auto-received {asyncio.run(run())} shipment(s)")
        return 0
    if args.command == "serve":
        import uvicorn

        uvicorn.run(
            "portal.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            proxy_headers=True,
            log_level="info",
        )
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
