"""`moorage serve` as a real process: JSON logs, OTLP export, SIGTERM drain."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest

from tests.conftest import create_migrated_database
from tests.otlp_receiver import OtlpReceiver
from tests.postgres import PostgresServer
from tests.server_process import ServerProcess
from tests.service.conftest import CURRENT_KEY

PASSWORD = "a-password-that-must-stay-secret"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
async def server(postgres: PostgresServer, receiver: OtlpReceiver) -> AsyncIterator[ServerProcess]:
    database_url = await create_migrated_database(postgres, "serve")
    process = ServerProcess(
        env={
            "DATABASE_URL": database_url,
            "SECRET_KEY": CURRENT_KEY,
            "ENVIRONMENT": "production",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_TRACES_SAMPLER": "always_on",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_SERVICE_NAME": "moorage-test",
        }
    )
    await anyio.to_thread.run_sync(process.start)
    yield process
    process.kill()


def _wait_for_in_flight(base_url: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{base_url}/metrics").text
        gauge = next(line for line in metrics.splitlines() if line.startswith("http_requests_in_progress "))
        if float(gauge.split()[1]) >= count:
            return
        time.sleep(0.05)
    raise TimeoutError("the slow request never reached the app")


def _register(base_url: str, email: str) -> int:
    response = httpx.post(
        f"{base_url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=30
    )
    return response.status_code


def test_logs_traces_and_graceful_shutdown(server: ServerProcess, receiver: OtlpReceiver) -> None:
    base = server.base_url
    assert _register(base, "serve@example.com") == 201
    tokens = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "serve@example.com", "password": PASSWORD}
    ).json()
    me = httpx.get(
        f"{base}/api/v1/users/me",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "me-request"},
    )
    assert me.status_code == 200
    assert httpx.get(f"{base}/api/v1/health/ready").status_code == 200

    # A request in flight when SIGTERM arrives still completes: its body is sent only afterwards.
    body = json.dumps({"email": "drain@example.com", "password": PASSWORD}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        _wait_for_in_flight(base, 2)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.process.poll() is None, "exited with a request in flight"
        conn.sendall(body[10:])
        response = conn.recv(65536).decode()
    assert response.startswith("HTTP/1.1 201"), response
    # uvicorn re-raises the captured SIGTERM after its graceful shutdown.
    assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)

    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    assert lines, server.output()
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "request_id", "trace_id", "span_id"} <= line.keys()
    (me_line,) = [line for line in lines if line.get("path") == "/api/v1/users/me"]
    assert me_line["request_id"] == "me-request"
    assert me_line["status"] == 200 and me_line["duration_ms"] > 0
    assert len(me_line["trace_id"]) == 32
    assert not [line for line in lines if str(line.get("path", "")).startswith("/api/v1/health")]
    assert any("connection pool disposed" in line["message"] for line in lines[-3:]), lines[-3:]

    raw = server.output()
    for secret in (
        PASSWORD,
        CURRENT_KEY,
        tokens["access_token"],
        tokens["refresh_token"],
        "moorage-test-password",
    ):
        assert secret not in raw

    deadline = time.monotonic() + 10
    while not receiver.spans and time.monotonic() < deadline:
        time.sleep(0.1)
    names = {span.name for span in receiver.spans}
    assert "GET /api/v1/users/me" in names, names
    assert not [name for name in names if "health" in name or "metrics" in name]
    assert not [name for name in names if name.endswith(("http send", "http receive"))]
    me_spans = [span for span in receiver.spans if span.name == "GET /api/v1/users/me"]
    assert me_spans[0].trace_id.hex() == me_line["trace_id"]
    db_spans = [
        span
        for span in receiver.spans
        if span.trace_id == me_spans[0].trace_id and span.name != me_spans[0].name
    ]
    assert db_spans, [(s.name, s.trace_id.hex()) for s in receiver.spans]
