"""The async engine, the write path's session factory and the read path, built once per process.

Two ways to the same pool:
- writes: an ORM session per request, one transaction, committed before the response is sent;
- reads: a connection in autocommit, for handlers that run exactly one statement. PostgreSQL runs
  a lone statement in its own implicit transaction with one snapshot, so BEGIN and COMMIT would
  only add two round trips.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from moorage.config import Settings

POOL_RECYCLE_SECONDS = 1800


@dataclass(slots=True)
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # `async with database.read() as connection:` — one autocommit connection from the pool.
    read: Callable[[], AbstractAsyncContextManager[AsyncConnection]]

    async def dispose(self) -> None:
        await self.engine.dispose()


def _discard_closed(dbapi_connection: Any, _record: object, _proxy: object) -> None:
    """A zero-round-trip pre-ping: asyncpg knows when the server closed the socket.

    After a database restart every pooled connection is closed; raising DisconnectionError makes
    the pool open a fresh one for this checkout instead of handing out a dead one. A connection
    lost silently (no FIN) still fails its first statement, which answers 503 and invalidates the
    pool's older connections.
    """
    driver_connection = getattr(dbapi_connection, "_connection", None)
    if driver_connection is not None and driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_engine(settings: Settings) -> AsyncEngine:
    server_settings = {"application_name": "moorage"}
    if settings.db_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # No pool_pre_ping: with asyncpg it costs three round trips on every checkout.
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "server_settings": server_settings,
        },
    )
    event.listen(engine.sync_engine, "checkout", _discard_closed)
    return engine


def create_database(settings: Settings) -> Database:
    engine = create_engine(settings)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Database(
        engine=engine,
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
        read=autocommit.connect,
    )
