"""Property-based run over the OpenAPI schema against a real server: no input may cause a 5xx."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.postgres import PostgresServer
from tests.server_process import ServerProcess
from tests.service.conftest import CURRENT_KEY


@pytest.fixture
async def fuzz_server(postgres: PostgresServer) -> AsyncIterator[ServerProcess]:
    import anyio
    from moorage import migrate

    url = await postgres.create_database("fuzz")
    await anyio.to_thread.run_sync(migrate.upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
    server = ServerProcess(
        env={
            "DATABASE_URL": url,
            "SECRET_KEY": CURRENT_KEY,
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    await anyio.to_thread.run_sync(server.start)
    yield server
    server.kill()


async def test_no_input_causes_a_server_error(fuzz_server: ServerProcess) -> None:
    import anyio

    base = fuzz_server.base_url
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await client.post(
            "/api/v1/auth/register", json={"email": "fuzz@example.com", "password": "fuzzing-pass"}
        )
        token = (
            await client.post(
                "/api/v1/auth/token", data={"username": "fuzz@example.com", "password": "fuzzing-pass"}
            )
        ).json()["access_token"]
        item = await client.post(
            "/api/v1/items", json={"title": "seed"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert item.status_code == 201

    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [
        executable,
        "run",
        f"{base}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        os.environ.get("MOORAGE_FUZZ_EXAMPLES", "30"),
        "--seed",
        "20261125",
        "--header",
        f"Authorization: Bearer {token}",
        "--request-timeout",
        "30",
        # DELETE /users/me would end the session early and starve every other operation.
        "--exclude-method",
        "DELETE",
    ]
    result = await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    )
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "5xx" not in result.stdout.lower() or "no issues found" in result.stdout.lower()
