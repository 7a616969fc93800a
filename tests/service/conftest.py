from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from moorage.app import create_app
from moorage.config import Settings
from moorage.resources import resources_of
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

CURRENT_KEY = "current-signing-key-0123456789abcdef0123"
PREVIOUS_KEY = "previous-signing-key-0123456789abcdef012"
UNKNOWN_KEY = "unknown-signing-key-0123456789abcdef0123"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": CURRENT_KEY,
        "secret_key_previous": PREVIOUS_KEY,
        "environment": "development",
        "rate_limit_requests": 100_000,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(migrated_database_url: str) -> Settings:
    return make_settings(migrated_database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, configure_logs=False)
    yield application
    await resources_of(application).database.dispose()


@asynccontextmanager
async def rolled_back(app: FastAPI) -> AsyncIterator[AsyncConnection]:
    """The app's writes and reads go through one transaction that is rolled back at the end."""
    database = resources_of(app).database
    async with database.engine.connect() as conn:
        transaction = await conn.begin()
        database.sessionmaker = async_sessionmaker(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )

        @asynccontextmanager
        async def read_in_test_transaction() -> AsyncIterator[AsyncConnection]:
            yield conn

        database.read = read_in_test_transaction
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
async def connection(app: FastAPI) -> AsyncIterator[AsyncConnection]:
    """Every test runs inside one transaction that is rolled back at the end; reads share it."""
    async with rolled_back(app) as conn:
        yield conn


@pytest.fixture
async def client(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


async def register(
    client: AsyncClient, email: str, password: str = "correct horse battery"
) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: AsyncClient, email: str, password: str = "correct horse battery") -> dict[str, Any]:
    response = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def auth_headers(client: AsyncClient, email: str) -> dict[str, str]:
    await register(client, email)
    tokens = await login(client, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert "details" in error
    assert error["request_id"] == response.headers["x-request-id"]
    return error
