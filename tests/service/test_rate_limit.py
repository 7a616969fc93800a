from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from moorage.app import create_app
from moorage.resources import resources_of

from tests.service.conftest import assert_envelope, make_settings


@pytest.fixture
async def limited_app(migrated_database_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(migrated_database_url, rate_limit_requests=3, rate_limit_window_seconds=60)
    application = create_app(settings, configure_logs=False)
    yield application
    await resources_of(application).database.dispose()


async def test_requests_over_the_limit_get_429_with_retry_after(limited_app: FastAPI) -> None:
    async with AsyncClient(transport=ASGITransport(app=limited_app), base_url="http://testserver") as client:
        statuses = [(await client.get("/api/v1/nowhere")).status_code for _ in range(3)]
        assert statuses == [404, 404, 404]
        limited = await client.get("/api/v1/nowhere")
        error = assert_envelope(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert error["details"]["limit"] == 3


async def test_health_and_metrics_are_exempt(limited_app: FastAPI) -> None:
    async with AsyncClient(transport=ASGITransport(app=limited_app), base_url="http://testserver") as client:
        for _ in range(10):
            assert (await client.get("/api/v1/health/live")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


async def test_window_resets() -> None:
    from moorage.middleware.rate_limit import RateLimitMiddleware

    now = [0.0]
    seen: list[int] = []

    async def app(scope: object, receive: object, send: object) -> None:
        seen.append(1)

    async def send(message: object) -> None:
        return None

    async def receive() -> dict[str, object]:
        return {}

    limiter = RateLimitMiddleware(app, limit=1, window_seconds=10, clock=lambda: now[0])
    scope = {"type": "http", "path": "/x", "client": ("1.2.3.4", 1)}
    await limiter(scope, receive, send)
    await limiter(scope, receive, send)
    assert len(seen) == 1
    now[0] = 10.0
    await limiter(scope, receive, send)
    assert len(seen) == 2
