from __future__ import annotations

import uuid

from httpx import AsyncClient
from moorage.models import User
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.service.conftest import assert_envelope, auth_headers, login


async def test_item_crud(client: AsyncClient) -> None:
    headers = await auth_headers(client, "owner@example.com")
    created = await client.post(
        "/api/v1/items", json={"title": "boat", "description": "a small one"}, headers=headers
    )
    assert created.status_code == 201
    item_id = created.json()["id"]
    fetched = await client.get(f"/api/v1/items/{item_id}", headers=headers)
    assert fetched.json()["title"] == "boat"
    patched = await client.patch(f"/api/v1/items/{item_id}", json={"title": "ship"}, headers=headers)
    assert patched.status_code == 200 and patched.json()["title"] == "ship"
    assert patched.json()["description"] == "a small one"
    assert (await client.delete(f"/api/v1/items/{item_id}", headers=headers)).status_code == 204
    assert_envelope(await client.get(f"/api/v1/items/{item_id}", headers=headers), 404, "not_found")


async def test_items_pagination_reports_total(client: AsyncClient) -> None:
    headers = await auth_headers(client, "pager@example.com")
    for number in range(7):
        await client.post("/api/v1/items", json={"title": f"item {number}"}, headers=headers)
    page = (await client.get("/api/v1/items?limit=3&offset=3", headers=headers)).json()
    assert page["total"] == 7
    assert page["limit"] == 3 and page["offset"] == 3
    assert [item["title"] for item in page["items"]] == ["item 3", "item 4", "item 5"]


async def test_page_size_is_capped(client: AsyncClient) -> None:
    headers = await auth_headers(client, "greedy@example.com")
    error = assert_envelope(
        await client.get("/api/v1/items?limit=101", headers=headers), 422, "validation_error"
    )
    assert error["details"][0]["field"] == "query.limit"


async def test_other_users_item_is_forbidden(client: AsyncClient) -> None:
    alice = await auth_headers(client, "alice@example.com")
    mallory = await auth_headers(client, "mallory@example.com")
    item_id = (await client.post("/api/v1/items", json={"title": "private"}, headers=alice)).json()["id"]
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/v1/items/{item_id}",
            headers=mallory,
            json={"title": "x"} if method == "PATCH" else None,
        )
        assert_envelope(response, 403, "forbidden")
    listing = (await client.get("/api/v1/items", headers=mallory)).json()
    assert listing["total"] == 0


async def test_missing_and_malformed_item_ids(client: AsyncClient) -> None:
    headers = await auth_headers(client, "looker@example.com")
    assert_envelope(await client.get(f"/api/v1/items/{uuid.uuid4()}", headers=headers), 404, "not_found")
    assert_envelope(await client.get("/api/v1/items/not-a-uuid", headers=headers), 422, "validation_error")


async def test_users_me_update_and_password_change(client: AsyncClient) -> None:
    headers = await auth_headers(client, "me@example.com")
    updated = await client.patch(
        "/api/v1/users/me", json={"full_name": "Me Myself", "password": "a brand new secret"}, headers=headers
    )
    assert updated.status_code == 200 and updated.json()["full_name"] == "Me Myself"
    await login(client, "me@example.com", "a brand new secret")


async def test_user_visibility_and_listing(client: AsyncClient, connection: AsyncConnection) -> None:
    alice = await auth_headers(client, "a@example.com")
    bob = await auth_headers(client, "b@example.com")
    bob_id = (await client.get("/api/v1/users/me", headers=bob)).json()["id"]
    assert_envelope(await client.get(f"/api/v1/users/{bob_id}", headers=alice), 403, "forbidden")
    assert (await client.get(f"/api/v1/users/{bob_id}", headers=bob)).status_code == 200
    assert_envelope(await client.get("/api/v1/users", headers=alice), 403, "forbidden")

    await connection.execute(update(User).where(User.email == "a@example.com").values(is_superuser=True))
    admin_tokens = await login(client, "a@example.com")
    admin = {"Authorization": f"Bearer {admin_tokens['access_token']}"}
    listing = (await client.get("/api/v1/users?limit=1", headers=admin)).json()
    assert listing["total"] == 2 and len(listing["items"]) == 1
    assert (await client.get(f"/api/v1/users/{bob_id}", headers=admin)).status_code == 200
    assert_envelope(await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=admin), 404, "not_found")
