"""`moorage migrate`: upgrade to head (serialised by an advisory lock) or check we are there."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
TERMINATION_LOG = Path("/dev/termination-log")


def alembic_config(database_url: URL | str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: URL | str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: URL | str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revisions(database_url: URL | str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


async def _current_revisions(database_url: URL | str) -> set[str]:
    engine = create_async_engine(database_url)

    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def current_revisions(database_url: URL | str) -> set[str]:
    return asyncio.run(_current_revisions(database_url))


def write_termination_message(message: str, path: Path = TERMINATION_LOG) -> None:
    """Kubernetes shows this file's content as the container's termination message."""
    try:
        with path.open("w") as handle:
            handle.write(message[-4000:])
    except OSError:
        pass
