from __future__ import annotations

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from tests.service.conftest import assert_envelope


async def test_unknown_route_is_404_envelope(client: AsyncClient) -> None:
    assert_envelope(await client.get("/api/v1/nowhere"), 404, "not_found")


async def test_wrong_method_is_405_envelope(client: AsyncClient) -> None:
    assert_envelope(await client.put("/api/v1/health/live"), 405, "method_not_allowed")


async def test_validation_error_lists_each_field(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", json={"email": "not-an-email", "password": "short"})
    error = assert_envelope(response, 422, "validation_error")
    fields = {item["field"] for item in error["details"]}
    assert fields == {"body.email", "body.password"}
    assert all(item["message"] for item in error["details"])


async def test_malformed_json_is_422(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_envelope(response, 422, "validation_error")


async def test_unexpected_field_is_rejected(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "x@example.com", "password": "long enough", "is_superuser": True},
    )
    error = assert_envelope(response, 422, "validation_error")
    assert error["details"][0]["field"] == "body.is_superuser"


async def test_unhandled_exception_is_generic_500(app: FastAPI, connection: object) -> None:
    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals that must not leak")

    app.middleware_stack = None  # rebuild with the new route
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/api/v1/boom", headers={"X-Request-ID": "trace-me-500"})
    error = assert_envelope(response, 500, "internal_error")
    assert error["request_id"] == "trace-me-500"
    assert "secret internals" not in response.text


async def test_request_id_is_echoed_or_generated(client: AsyncClient) -> None:
    echoed = await client.get("/api/v1/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/api/v1/health/live")
    assert len(generated.headers["x-request-id"]) == 32


async def test_insane_request_id_is_replaced(client: AsyncClient) -> None:
    response = await client.get(
        "/api/v1/nowhere", headers={"X-Request-ID": "evil\tid with spaces" + "x" * 200}
    )
    error = assert_envelope(response, 404, "not_found")
    assert error["request_id"] != "evil"
    assert " " not in response.headers["x-request-id"]


async def test_nul_characters_are_rejected_not_500(client: AsyncClient) -> None:
    from tests.service.conftest import auth_headers

    headers = await auth_headers(client, "nul@example.com")
    response = await client.post("/api/v1/items", json={"title": "a\u0000b"}, headers=headers)
    assert_envelope(response, 422, "validation_error")
    login = await client.post(
        "/api/v1/auth/token", data={"username": "x\u0000@example.com", "password": "whatever1"}
    )
    assert_envelope(login, 401, "invalid_credentials")


async def test_cors_follows_settings(migrated_database_url: str) -> None:
    from moorage.app import create_app
    from moorage.resources import resources_of

    from tests.service.conftest import make_settings

    app = create_app(
        make_settings(migrated_database_url, cors_origins="https://app.example"), configure_logs=False
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        preflight = await client.options(
            "/api/v1/items",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        foreign = await client.get("/api/v1/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers
    await resources_of(app).database.dispose()
