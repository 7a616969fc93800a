from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from moorage.keys import KeyRing, key_id
from moorage.tokens import TokenType, issue_token

from tests.service.conftest import (
    CURRENT_KEY,
    PREVIOUS_KEY,
    UNKNOWN_KEY,
    assert_envelope,
    login,
    register,
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_login_and_me(client: AsyncClient) -> None:
    user = await register(client, "Ada@Example.com")
    assert user["email"] == "ada@example.com"
    assert "hashed_password" not in user and "password" not in user
    tokens = await login(client, "ada@example.com")
    assert tokens["token_type"] == "bearer"
    me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


async def test_duplicate_email_conflicts(client: AsyncClient) -> None:
    await register(client, "dup@example.com")
    response = await client.post(
        "/api/v1/auth/register", json={"email": "DUP@example.com", "password": "another password"}
    )
    assert_envelope(response, 409, "email_taken")


async def test_wrong_password_and_unknown_user(client: AsyncClient) -> None:
    await register(client, "bob@example.com")
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": "bob@example.com", "password": "nope-nope"}
    )
    assert_envelope(wrong, 401, "invalid_credentials")
    missing = await client.post(
        "/api/v1/auth/token", data={"username": "ghost@example.com", "password": "whatever1"}
    )
    assert_envelope(missing, 401, "invalid_credentials")


async def test_missing_token(client: AsyncClient) -> None:
    response = await client.get("/api/v1/users/me")
    error = assert_envelope(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    assert error["details"] is None


async def test_tampered_token(client: AsyncClient) -> None:
    await register(client, "eve@example.com")
    token = (await login(client, "eve@example.com"))["access_token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert_envelope(await client.get("/api/v1/users/me", headers=bearer(tampered)), 401, "invalid_token")
    assert_envelope(await client.get("/api/v1/users/me", headers=bearer("not-a-jwt")), 401, "invalid_token")


async def test_token_signed_with_previous_key_verifies(client: AsyncClient) -> None:
    user = await register(client, "rotated@example.com")
    old_ring = KeyRing.from_secrets(PREVIOUS_KEY)
    token = issue_token(
        old_ring,
        user_id=uuid.UUID(user["id"]),
        is_superuser=False,
        token_type=TokenType.access,
        ttl_seconds=60,
    )
    response = await client.get("/api/v1/users/me", headers=bearer(token))
    assert response.status_code == 200, response.text


async def test_token_signed_with_unknown_key_is_rejected(client: AsyncClient) -> None:
    user = await register(client, "stranger@example.com")
    token = issue_token(
        KeyRing.from_secrets(UNKNOWN_KEY),
        user_id=uuid.UUID(user["id"]),
        is_superuser=False,
        token_type=TokenType.access,
        ttl_seconds=60,
    )
    assert_envelope(await client.get("/api/v1/users/me", headers=bearer(token)), 401, "unknown_key")


async def test_expired_token_is_rejected(client: AsyncClient) -> None:
    user = await register(client, "late@example.com")
    token = issue_token(
        KeyRing.from_secrets(CURRENT_KEY),
        user_id=uuid.UUID(user["id"]),
        is_superuser=False,
        token_type=TokenType.access,
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    assert_envelope(await client.get("/api/v1/users/me", headers=bearer(token)), 401, "token_expired")


async def test_tokens_carry_current_key_id(client: AsyncClient) -> None:
    import jwt

    await register(client, "kid@example.com")
    tokens = await login(client, "kid@example.com")
    assert jwt.get_unverified_header(tokens["access_token"])["kid"] == key_id(CURRENT_KEY)


async def test_refresh_issues_new_pair_and_types_are_not_interchangeable(client: AsyncClient) -> None:
    await register(client, "fresh@example.com")
    tokens = await login(client, "fresh@example.com")
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != tokens["access_token"]
    as_access = await client.get("/api/v1/users/me", headers=bearer(tokens["refresh_token"]))
    assert_envelope(as_access, 401, "invalid_token")
    as_refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert_envelope(as_refresh, 401, "invalid_token")


async def test_token_for_deleted_user_is_rejected_on_account_routes(client: AsyncClient) -> None:
    await register(client, "gone@example.com")
    tokens = await login(client, "gone@example.com")
    assert (
        await client.delete("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 204
    assert_envelope(
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"])), 401, "invalid_token"
    )
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_envelope(refresh, 401, "invalid_token")
