"""`moorage`: the one console script — serve, migrate, check-config."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from moorage.config import ConfigurationError, Settings, load_database_settings, load_settings
from moorage.logs import configure_logging

logger = logging.getLogger("moorage.cli")

EXIT_CONFIG_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moorage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (uvicorn)")
    serve.add_argument("--host", help="bind address (default: HOST)")
    serve.add_argument("--port", type=int, help="port (default: PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (default: WORKERS)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")

    migrate = commands.add_parser("migrate", help="upgrade the database to the latest revision")
    migrate.add_argument("--check", action="store_true", help="exit 1 when the database is behind head")

    commands.add_parser("check-config", help="validate the settings and exit")
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    configure_logging(settings.log_level, settings.effective_log_format, settings.secret_values())
    uvicorn.run(
        "moorage.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=None if args.reload else (args.workers or settings.workers),
        reload=args.reload,
        reload_dirs=[__file__.rsplit("/", 1)[0]] if args.reload else None,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.graceful_timeout_seconds,
    )
    return 0


def _migrate(check: bool) -> int:
    from moorage import migrate

    settings = load_database_settings()
    configure_logging(settings.log_level, settings.effective_log_format, settings.secret_values())
    url = settings.async_database_url
    try:
        if check:
            current, heads = migrate.current_revisions(url), migrate.head_revisions(url)
            if current != heads:
                logger.error(
                    "database is behind: at %s, head is %s",
                    ",".join(sorted(current)) or "base",
                    ",".join(sorted(heads)),
                )
                return 1
            logger.info("database is at head %s", ",".join(sorted(heads)))
            return 0
        migrate.upgrade(url)
        logger.info("database upgraded to head %s", ",".join(sorted(migrate.head_revisions(url))))
        return 0
    except Exception as error:
        logger.exception("migration failed")
        migrate.write_termination_message(f"migration failed: {type(error).__name__}: {error}")
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "migrate":
            return _migrate(args.check)
        settings = load_settings()
        if args.command == "check-config":
            print("configuration ok")
            return 0
        return _serve(settings, args)
    except ConfigurationError as error:
        for line in str(error).splitlines():
            print(f"moorage: configuration error: {line}", file=sys.stderr)
        return EXIT_CONFIG_ERROR


if __name__ == "__main__":
    sys.exit(main())
