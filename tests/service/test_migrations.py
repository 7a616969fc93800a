from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
from moorage import migrate

from tests.postgres import PostgresServer


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://")


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await connection.close()


def _moorage(*args: str, database_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "text"}
    return subprocess.Popen(
        [sys.executable, "-m", "moorage.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_migrations_are_reversible(postgres: PostgresServer) -> None:
    url = await postgres.create_database("reversible")
    await asyncio.to_thread(migrate.upgrade, _asyncpg_url(url))
    assert {"users", "items", "alembic_version"} <= await _tables(url)
    await asyncio.to_thread(migrate.downgrade, _asyncpg_url(url), "base")
    assert await _tables(url) == {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, _asyncpg_url(url))
    assert {"users", "items"} <= await _tables(url)


async def test_check_before_and_after_and_concurrent_runners(postgres: PostgresServer) -> None:
    url = await postgres.create_database("concurrent")

    behind = _moorage("migrate", "--check", database_url=url)
    out, _ = await asyncio.to_thread(behind.communicate)
    assert behind.returncode == 1, out
    assert "database is behind: at base" in out

    runners = [_moorage("migrate", database_url=url) for _ in range(2)]
    outputs = [await asyncio.to_thread(runner.communicate) for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs

    connection = await asyncpg.connect(url)
    try:
        versions = await connection.fetch("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    assert [row["version_num"] for row in versions] == sorted(migrate.head_revisions(url))

    at_head = _moorage("migrate", "--check", database_url=url)
    out, _ = await asyncio.to_thread(at_head.communicate)
    assert at_head.returncode == 0, out


async def test_failed_migration_exits_nonzero_with_a_clear_line(postgres: PostgresServer) -> None:
    bad_url = postgres.url("database_that_does_not_exist")
    runner = _moorage("migrate", database_url=bad_url)
    out, _ = await asyncio.to_thread(runner.communicate)
    assert runner.returncode == 1
    assert "migration failed" in out
    assert postgres.password not in out
