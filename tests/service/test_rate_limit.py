from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from moorage.app import create_app
from moorage.rate_limit.local import LocalCounter
from moorage.resources import resources_of

from tests.service.conftest import assert_envelope, auth_headers, make_settings, rolled_back


@pytest.fixture
async def limited_app(migrated_database_url: str) -> AsyncIterator[FastAPI]:
    # Windows are aligned on multiples of their length: in an hour-long one, no boundary splits the burst.
    settings = make_settings(migrated_database_url, rate_limit_requests=3, rate_limit_window_seconds=3600)
    application = create_app(settings, configure_logs=False)
    async with rolled_back(application):  # accounts registered here stay out of other tests
        yield application
    await resources_of(application).database.dispose()


def _client(app: FastAPI, address: str = "192.0.2.10") -> AsyncClient:
    return AsyncClient(
        transport=ASGITransport(app=app, client=(address, 40000)), base_url="http://testserver"
    )


async def test_requests_over_the_limit_get_429_with_retry_after(limited_app: FastAPI) -> None:
    async with _client(limited_app) as client:
        statuses = [(await client.get("/api/v1/nowhere")).status_code for _ in range(3)]
        assert statuses == [404, 404, 404]
        limited = await client.get("/api/v1/nowhere")
        error = assert_envelope(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 3600
        assert error["details"]["limit"] == 3
    async with _client(limited_app, "192.0.2.11") as other:
        assert (await other.get("/api/v1/nowhere")).status_code == 404, "each address has its own bucket"


async def test_health_and_metrics_are_exempt(limited_app: FastAPI) -> None:
    async with _client(limited_app) as client:
        for _ in range(10):
            assert (await client.get("/api/v1/health/live")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


async def test_a_valid_token_counts_against_its_user_not_the_address(limited_app: FastAPI) -> None:
    shared_address = "198.51.100.20"
    async with _client(limited_app, "198.51.100.99") as setup:
        # register + login for two users: 4 requests from another address, under its own bucket
        alice = await auth_headers(setup, "limit-alice@example.com")
    async with _client(limited_app, "198.51.100.98") as setup:
        bob = await auth_headers(setup, "limit-bob@example.com")
    async with _client(limited_app, shared_address) as client:
        alice_statuses = [(await client.get("/api/v1/items", headers=alice)).status_code for _ in range(4)]
        assert alice_statuses == [200, 200, 200, 429]
        # Same address, another user: a bucket of its own.
        assert (await client.get("/api/v1/items", headers=bob)).status_code == 200
        # No token, the address's bucket is still untouched by the users' requests.
        assert (await client.get("/api/v1/nowhere")).status_code == 404
        # An invented or tampered token buys no bucket: it counts against the address.
        forged = {"Authorization": alice["Authorization"][:-4] + "AAAA"}
        statuses = [(await client.get("/api/v1/items", headers=forged)).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]


async def test_window_resets() -> None:
    now = [0.0]
    counter = LocalCounter(window_seconds=10, clock=lambda: now[0])
    assert (await counter.hit("ip:1.2.3.4")).count == 1
    second = await counter.hit("ip:1.2.3.4")
    assert second.count == 2 and second.reset_after == 10.0
    now[0] = 10.0
    assert (await counter.hit("ip:1.2.3.4")).count == 1


async def test_the_limiter_and_the_auth_dependency_verify_a_token_once(
    limited_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moorage.tokens

    async with _client(limited_app, "198.51.100.97") as setup:
        headers = await auth_headers(setup, "limit-once@example.com")
    calls: list[str] = []
    original = moorage.tokens._verify

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("verify")
        return original(*args, **kwargs)

    monkeypatch.setattr(moorage.tokens, "_verify", counted)
    async with _client(limited_app, "198.51.100.96") as client:
        assert (await client.get("/api/v1/items", headers=headers)).status_code == 200
    assert calls == ["verify"]
