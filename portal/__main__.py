"""Command line: python -m portal migrate | demo | serve | setup."""

from __future__ import annotations

import argparse
import asyncio
import sys

from portal.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the Piccolo migrations")
    sub.add_parser("demo", help="load the demo supplier if the database is empty")
    sub.add_parser("serve", help="serve the portal with uvicorn")
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
