"""With REDIS_URL, two real `moorage serve` processes enforce one limit; Redis down, they serve on.

Clients are told apart by source address (every 127.0.0.0/8 address is this host's loopback).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest

from tests.conftest import create_migrated_database
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer
from tests.server_process import ServerProcess
from tests.service.conftest import CURRENT_KEY

LIMIT = 5
PATH = "/api/v1/openapi.json"  # rate limited, answered without the database


@pytest.fixture
async def servers(postgres: PostgresServer, redis_server: RedisServer) -> AsyncIterator[list[ServerProcess]]:
    database_url = await create_migrated_database(postgres, "rate_limit_redis")
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": CURRENT_KEY,
        "ENVIRONMENT": "production",
        "REDIS_URL": redis_server.url,
        "RATE_LIMIT_REQUESTS": str(LIMIT),
        "RATE_LIMIT_WINDOW_SECONDS": "86400",  # one window for the whole test
        "OTEL_SDK_DISABLED": "true",
        "PYTHONUNBUFFERED": "1",
    }
    processes = [ServerProcess(env=env), ServerProcess(env=env)]
    try:
        for process in processes:
            await anyio.to_thread.run_sync(process.start)
        yield processes
    finally:
        for process in processes:
            process.kill()


@pytest.fixture
def clients(servers: list[ServerProcess]) -> Iterator[dict[str, list[httpx.Client]]]:
    """Per source address, one client for each server."""
    opened: dict[str, list[httpx.Client]] = {}
    for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.9"):
        opened[address] = [
            httpx.Client(
                transport=httpx.HTTPTransport(local_address=address), base_url=server.base_url, timeout=10
            )
            for server in servers
        ]
    yield opened
    for pair in opened.values():
        for client in pair:
            client.close()


def _spread(pair: list[httpx.Client], count: int) -> list[int]:
    """`count` requests alternating between the two servers; their statuses."""
    return [pair[n % 2].get(PATH).status_code for n in range(count)]


def _metric(server: ServerProcess, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", httpx.get(f"{server.base_url}/metrics").text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


def test_one_limit_across_processes_served_on_through_an_outage(
    servers: list[ServerProcess], clients: dict[str, list[httpx.Client]], redis_server: RedisServer
) -> None:
    ready = httpx.get(f"{servers[0].base_url}/api/v1/health/ready")
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    # Shared: 12 requests over two processes admit exactly LIMIT, wherever they land.
    statuses = _spread(clients["127.0.0.2"], 2 * LIMIT + 2)
    assert statuses.count(200) == LIMIT and statuses[:LIMIT] == [200] * LIMIT, statuses
    assert set(statuses[LIMIT:]) == {429}
    assert _spread(clients["127.0.0.3"], 1) == [200], "another client has its own bucket"
    for server in servers:
        assert _metric(server, "moorage_rate_limit_shared") == 1
        assert _metric(server, "moorage_rate_limit_redis_errors_total") == 0

    redis_server.stop()
    # Redis down: still served, each process counting on its own (LIMIT per process, documented).
    statuses = _spread(clients["127.0.0.4"], 2 * LIMIT + 2)
    assert statuses == [200] * (2 * LIMIT) + [429, 429], statuses
    for server in servers:
        ready = httpx.get(f"{server.base_url}/api/v1/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "unavailable"}
        assert _metric(server, "moorage_rate_limit_shared") == 0
        assert _metric(server, "moorage_rate_limit_redis_errors_total") >= 1
        assert _metric(server, "moorage_rate_limit_fallback_total") >= LIMIT
        warnings = [line for line in server.output().splitlines() if "rate limit store unavailable" in line]
        assert len(warnings) == 1, warnings  # once per outage, not once per request

    redis_server.start()
    # Each process tries Redis again at most a second after its last failure.
    deadline = time.monotonic() + 30
    probe = clients["127.0.0.9"]
    while any(_metric(server, "moorage_rate_limit_shared") == 0 for server in servers):
        assert time.monotonic() < deadline, "the limit never became shared again"
        _spread(probe, 2)
        time.sleep(0.2)
    for server in servers:
        assert "rate limit store answers again" in server.output()
    statuses = _spread(clients["127.0.0.5"], 2 * LIMIT + 2)
    assert statuses == [200] * LIMIT + [429] * (LIMIT + 2), statuses
