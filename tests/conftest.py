from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
from moorage import migrate

from tests.postgres import PostgresServer
from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh Redis per test: the tests stop and restart it."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


async def create_migrated_database(postgres: PostgresServer, name: str) -> str:
    """A new database upgraded to head; returns its postgresql:// URL."""
    url = await postgres.create_database(name)
    await anyio.to_thread.run_sync(migrate.upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
    return url


@pytest.fixture(scope="session")
async def migrated_database_url(postgres: PostgresServer) -> str:
    """Shared by tests that roll back their transaction; servers in other processes get their own."""
    return await create_migrated_database(postgres, "moorage_test")
