from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
async def migrated_database_url(postgres: PostgresServer) -> str:
    """A database upgraded to head once for the whole session."""
    from moorage import migrate

    url = await postgres.create_database("moorage_test")
    async_url = url.replace("postgresql://", "postgresql+asyncpg://")
    import anyio

    await anyio.to_thread.run_sync(migrate.upgrade, async_url)
    return url
