"""`moorage serve` believes X-Forwarded-For / -Proto from FORWARDED_ALLOW_IPS peers only.

Every 127.0.0.0/8 address is this host's loopback, so the test connects from 127.0.0.2 (the
trusted proxy) and 127.0.0.3 / 127.0.0.4 (any other peer) to one real server process.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import create_migrated_database
from tests.postgres import PostgresServer
from tests.server_process import ServerProcess
from tests.service.conftest import CURRENT_KEY

PROXY = "127.0.0.2"
STRANGER = "127.0.0.3"
OTHER_STRANGER = "127.0.0.4"
LIMIT = 3
# Windows are aligned on multiples of their length: a day-long one puts every request here into one.
WINDOW_SECONDS = 86_400


@pytest.fixture(scope="module")
async def server(postgres: PostgresServer) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(
        env={
            "DATABASE_URL": await create_migrated_database(postgres, "trusted_proxies"),
            "SECRET_KEY": CURRENT_KEY,
            "ENVIRONMENT": "production",
            "FORWARDED_ALLOW_IPS": f"{PROXY}/32,10.0.0.0/8",
            "RATE_LIMIT_REQUESTS": str(LIMIT),
            "RATE_LIMIT_WINDOW_SECONDS": str(WINDOW_SECONDS),
            "OTEL_SDK_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    await anyio.to_thread.run_sync(process.start)
    yield process
    process.kill()


def _get(server: ServerProcess, source: str, path: str, **headers: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=server.base_url, timeout=10) as client:
        return client.get(path, headers=headers)


def _access_log(server: ServerProcess, request_id: str) -> dict[str, Any]:
    # The line is written once the response is sent, so it may trail the response a little.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in server.output().splitlines():
            if line.startswith("{"):
                record: dict[str, Any] = json.loads(line)
                if record.get("logger") == "moorage.access" and record.get("request_id") == request_id:
                    return record
        time.sleep(0.05)
    raise AssertionError(f"no access log line for {request_id}:\n{server.output()}")


def test_a_trusted_proxy_is_believed_and_any_other_peer_is_not(server: ServerProcess) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}

    # The trusted proxy: the access log shows the client it forwards for, redirects keep its scheme.
    via_proxy = _get(server, PROXY, "/api/v1/items/", **forwarded, **{"X-Request-ID": "via-proxy"})
    assert via_proxy.status_code == 307, via_proxy.text
    assert via_proxy.headers["location"].startswith("https://"), via_proxy.headers["location"]
    assert _access_log(server, "via-proxy")["client"] == "203.0.113.7"

    # Another peer sending the same headers: its own address, its own scheme.
    spoofed = _get(server, STRANGER, "/api/v1/items/", **forwarded, **{"X-Request-ID": "spoofed"})
    assert spoofed.status_code == 307
    assert spoofed.headers["location"].startswith("http://"), spoofed.headers["location"]
    assert _access_log(server, "spoofed")["client"] == STRANGER


def test_the_rate_limit_counts_the_forwarded_client_only_from_a_trusted_proxy(server: ServerProcess) -> None:
    # Two clients behind the proxy get a bucket each (one used up, the other untouched).
    first = [_get(server, PROXY, "/api/v1/nowhere", **{"X-Forwarded-For": "198.51.100.1"}) for _ in range(4)]
    assert [r.status_code for r in first] == [404, 404, 404, 429]
    other = _get(server, PROXY, "/api/v1/nowhere", **{"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 404
    # A proxy chain: the right-most untrusted hop is the client (10.0.0.0/8 is trusted too).
    chained = _get(server, PROXY, "/api/v1/nowhere", **{"X-Forwarded-For": "198.51.100.1, 10.1.2.3"})
    assert chained.status_code == 429

    # An untrusted peer cannot escape its bucket by inventing a new X-Forwarded-For each time.
    statuses = [
        _get(server, OTHER_STRANGER, "/api/v1/nowhere", **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code
        for n in range(LIMIT + 1)
    ]
    assert statuses == [404] * LIMIT + [429]
