"""`moorage serve` as a real process on its own freshly migrated database, for black-box API tests."""

from __future__ import annotations

import functools

import anyio
from moorage import migrate

from tests.postgres import PostgresServer
from tests.server_process import ServerProcess
from tests.service.conftest import CURRENT_KEY


async def start_served_app(postgres: PostgresServer, database: str) -> ServerProcess:
    url = await postgres.create_database(database)
    await anyio.to_thread.run_sync(migrate.upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
    server = ServerProcess(
        env={
            "DATABASE_URL": url,
            "SECRET_KEY": CURRENT_KEY,
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    # Generous: on a loaded machine an import-heavy start can take well over the default minute.
    await anyio.to_thread.run_sync(functools.partial(server.start, timeout=180))
    return server
