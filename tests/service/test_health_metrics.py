from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from moorage import __version__
from moorage.app import create_app
from moorage.resources import resources_of
from moorage.tokens import TokenType, issue_token

from tests.conftest import create_migrated_database
from tests.postgres import PostgresServer
from tests.service.conftest import assert_envelope, auth_headers, make_settings


async def test_live_ready_and_info(client: AsyncClient) -> None:
    assert (await client.get("/api/v1/health/live")).json() == {"status": "ok"}
    assert (await client.get("/api/v1/health/ready")).status_code == 200
    info = (await client.get("/api/v1/health")).json()
    assert info == {"status": "ok", "version": __version__, "environment": "development"}


async def test_metrics_use_route_templates_and_report_the_pool(client: AsyncClient) -> None:
    headers = await auth_headers(client, "metrics@example.com")
    item_id = (await client.post("/api/v1/items", json={"title": "m"}, headers=headers)).json()["id"]
    await client.get(f"/api/v1/items/{item_id}", headers=headers)
    await client.get("/api/v1/health/ready")
    body = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/api/v1/items/{item_id}",status="200"} 1.0' in body
    assert item_id not in body
    assert (
        'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/items/{item_id}"}'
        in body
    )
    assert "moorage_db_pool_size 10.0" in body
    assert "moorage_db_pool_checked_out" in body


@pytest.fixture
async def own_postgres() -> AsyncIterator[PostgresServer]:
    server = PostgresServer()
    await asyncio.to_thread(server.init)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.destroy)


async def test_readiness_follows_the_database(own_postgres: PostgresServer) -> None:
    url = await create_migrated_database(own_postgres, "outage")
    settings = make_settings(url, readiness_timeout_seconds=2, db_connect_timeout_seconds=1)
    app: FastAPI = create_app(settings, configure_logs=False)
    database = resources_of(app).database
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        headers = await auth_headers(client, "outage@example.com")
        item_id = (await client.post("/api/v1/items", json={"title": "o"}, headers=headers)).json()["id"]
        item_url = f"/api/v1/items/{item_id}"
        # Several pooled connections, all of which the restart below will close.
        reads = await asyncio.gather(*(client.get(item_url, headers=headers) for _ in range(8)))
        assert {read.status_code for read in reads} == {200}
        pooled = database.engine.sync_engine.pool.checkedin()  # type: ignore[attr-defined]
        assert pooled >= 2, pooled

        # A restart between two bursts closes every pooled connection. The contract allows one
        # failed request per worker; with no pre-ping round trip the pool still hands out none of
        # the closed connections (asyncpg saw the server close them), so none fails. Without the
        # checkout check the first request of the burst answers 503.
        await asyncio.to_thread(own_postgres.stop)
        await asyncio.to_thread(own_postgres.start)
        burst = await asyncio.gather(*(client.get(item_url, headers=headers) for _ in range(8)))
        assert [read.status_code for read in burst] == [200] * 8
        assert (await client.get("/api/v1/health/ready")).status_code == 200

        await asyncio.to_thread(own_postgres.stop)
        down = await client.get("/api/v1/health/ready")
        error = assert_envelope(down, 503, "not_ready")
        assert error["details"] == {"check": "database"}
        assert (await client.get("/api/v1/health/live")).status_code == 200
        token = issue_token(
            resources_of(app).key_ring,
            user_id=uuid.uuid4(),
            is_superuser=False,
            token_type=TokenType.access,
            ttl_seconds=60,
        )
        item = await client.get(f"/api/v1/items/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"})
        assert_envelope(item, 503, "database_unavailable")
        assert item.headers["retry-after"] == "2"

        await asyncio.to_thread(own_postgres.start)
        after = [(await client.get(item_url, headers=headers)).status_code for _ in range(2 * pooled)]
        failures = [status for status in after if status != 200]
        assert len(failures) <= 1, after
        assert set(failures) <= {503}, after
        assert after[-1] == 200, after
        assert (await client.get("/api/v1/health/ready")).status_code == 200
        assert (await client.get("/api/v1/health/live")).status_code == 200
    await database.dispose()


async def test_a_database_that_never_answers_the_handshake_is_a_503_not_a_500() -> None:
    """asyncpg's connect timeout raises the builtin TimeoutError: it means "unavailable", like a refusal."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections, never speaks: the startup handshake times out
    port = silent.getsockname()[1]
    try:
        settings = make_settings(
            f"postgresql://moorage:unused@127.0.0.1:{port}/moorage",
            db_connect_timeout_seconds=0.5,
            rate_limit_enabled=False,
        )
        app = create_app(settings, configure_logs=False)
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            answer = await client.post(
                "/api/v1/auth/register", json={"email": "silent@example.com", "password": "pw-pw-pw-pw-pw"}
            )
        assert_envelope(answer, 503, "database_unavailable")
        assert answer.headers["retry-after"] == "2"
        await resources_of(app).database.dispose()
    finally:
        silent.close()


async def test_gzip_only_when_asked(client: AsyncClient) -> None:
    headers = await auth_headers(client, "zip@example.com")
    for n in range(30):
        await client.post(
            "/api/v1/items", json={"title": f"item {n}", "description": "y" * 100}, headers=headers
        )
    zipped = await client.get("/api/v1/items?limit=30", headers={**headers, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json()["total"] == 30
    plain = await client.get("/api/v1/items?limit=30", headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
