"""The served OpenAPI document: what each operation promises, and real responses that keep the promise.

The fuzz run (test_openapi_fuzz.py) checks every response it provokes against the document; this file
pins the contract itself and covers the responses a fuzzer cannot provoke (rate limit, database down).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from moorage.app import create_app
from moorage.keys import KeyRing
from moorage.resources import resources_of
from moorage.tokens import TokenType, issue_token

from tests.postgres import free_port
from tests.service.conftest import make_settings

ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
BEARER: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}]

# operation id -> (method, path, documented statuses, protected). The ids are the public contract a
# generated client is built from: renaming one breaks its users.
OPERATIONS: dict[str, tuple[str, str, set[int], bool]] = {
    "health-info": ("get", "/api/v1/health", {200, 500}, False),
    "health-live": ("get", "/api/v1/health/live", {200, 500}, False),
    "health-ready": ("get", "/api/v1/health/ready", {200, 500, 503}, False),
    "auth-register": ("post", "/api/v1/auth/register", {201, 400, 409, 422, 429, 500, 503}, False),
    "auth-login": ("post", "/api/v1/auth/token", {200, 400, 401, 422, 429, 500, 503}, False),
    "auth-refresh": ("post", "/api/v1/auth/refresh", {200, 400, 401, 422, 429, 500, 503}, False),
    "users-me-read": ("get", "/api/v1/users/me", {200, 401, 429, 500, 503}, True),
    "users-me-update": ("patch", "/api/v1/users/me", {200, 400, 401, 422, 429, 500, 503}, True),
    "users-me-delete": ("delete", "/api/v1/users/me", {204, 401, 429, 500, 503}, True),
    "users-list": ("get", "/api/v1/users", {200, 401, 403, 422, 429, 500, 503}, True),
    "users-read": ("get", "/api/v1/users/{user_id}", {200, 401, 403, 404, 422, 429, 500, 503}, True),
    "items-create": ("post", "/api/v1/items", {201, 400, 401, 422, 429, 500, 503}, True),
    "items-list": ("get", "/api/v1/items", {200, 401, 422, 429, 500, 503}, True),
    "items-read": ("get", "/api/v1/items/{item_id}", {200, 401, 403, 404, 422, 429, 500, 503}, True),
    "items-update": ("patch", "/api/v1/items/{item_id}", {200, 400, 401, 403, 404, 422, 429, 500, 503}, True),
    "items-delete": ("delete", "/api/v1/items/{item_id}", {204, 401, 403, 404, 422, 429, 500, 503}, True),
    "metrics-scrape": ("get", "/metrics", {200, 500}, False),
}


def unreachable_database_url() -> str:
    """A PostgreSQL URL nobody listens on: building the app never connects, a request that needs it fails."""
    return f"postgresql://moorage:unused@127.0.0.1:{free_port()}/moorage"


@pytest.fixture(scope="module")
def offline_app() -> FastAPI:
    return create_app(
        make_settings(unreachable_database_url(), db_connect_timeout_seconds=1, readiness_timeout_seconds=1),
        configure_logs=False,
    )


@pytest.fixture(scope="module")
def document(offline_app: FastAPI) -> dict[str, Any]:
    return offline_app.openapi()


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method, path, operation)
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
    }


def assert_conforms(document: dict[str, Any], operation_id: str, response: httpx.Response) -> None:
    """The status is documented for the operation, the body matches its schema, required headers are sent."""
    method, path, operation = operations(document)[operation_id]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{operation_id} does not document {response.status_code}"
    for name, header in documented.get("headers", {}).items():
        if header.get("required"):
            assert name in response.headers, f"{operation_id} {response.status_code} lacks {name}"
    schemathesis.openapi.from_dict(document)[path][method.upper()].validate_response(response)


def test_every_operation_has_a_stable_id_and_its_statuses(document: dict[str, Any]) -> None:
    served = operations(document)
    assert set(served) == set(OPERATIONS)
    for operation_id, (method, path, statuses, _) in OPERATIONS.items():
        served_method, served_path, operation = served[operation_id]
        assert (served_method, served_path) == (method, path)
        assert {int(status) for status in operation["responses"]} == statuses, operation_id


def test_every_error_is_the_one_envelope(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert schemas["ErrorEnvelope"]["required"] == ["error"]
    assert schemas["ErrorBody"]["required"] == ["code", "message", "details", "request_id"]
    details = schemas["ErrorBody"]["properties"]["details"]["anyOf"]
    assert {"items": {"$ref": "#/components/schemas/FieldError"}, "type": "array"} in details
    for operation_id, (_, _, operation) in operations(document).items():
        for status, response in operation["responses"].items():
            assert response["headers"]["X-Request-ID"]["required"] is True
            if int(status) < 400:
                continue
            media = response["content"]["application/json"]
            assert media["schema"] == {"$ref": ENVELOPE_REF}, (operation_id, status)
            assert set(media["example"]["error"]) == {"code", "message", "details", "request_id"}


def test_error_examples_match_the_envelope(document: dict[str, Any]) -> None:
    for operation_id, (_, _, operation) in operations(document).items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                example = response["content"]["application/json"]["example"]
                headers = {
                    name: "1" if name in {"Retry-After", "X-RateLimit-Limit"} else "Bearer"
                    for name in response["headers"]
                }
                response = httpx.Response(
                    int(status),
                    json=example,
                    headers=headers,
                    request=httpx.Request("GET", "http://testserver/"),
                )
                response.elapsed = timedelta(0)
                assert_conforms(document, operation_id, response)


def test_security_is_declared_per_operation(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"] == {
        "scopes": {},
        "tokenUrl": "/api/v1/auth/token",
    }
    for operation_id, (_, _, _, protected) in OPERATIONS.items():
        operation = operations(document)[operation_id][2]
        assert operation["security"] == (BEARER if protected else []), operation_id
        if protected:
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True


def test_retry_after_is_documented_where_the_service_sends_it(document: dict[str, Any]) -> None:
    for operation_id, (_, _, operation) in operations(document).items():
        responses = operation["responses"]
        if "429" in responses:
            assert responses["429"]["headers"]["Retry-After"]["required"] is True
        if operation_id == "health-ready":
            # Readiness failing is an answer for the kubelet, not a retry hint for a client.
            assert "Retry-After" not in responses["503"]["headers"]
            example = responses["503"]["content"]["application/json"]["example"]["error"]
            assert example["code"] == "not_ready"
            assert example["details"] == {"check": "database"}
        elif "503" in responses:
            assert responses["503"]["headers"]["Retry-After"]["required"] is True
            assert responses["503"]["content"]["application/json"]["example"]["error"]["code"] == (
                "database_unavailable"
            )
    for probe in ("health-info", "health-live", "health-ready", "metrics-scrape"):
        assert "429" not in operations(document)[probe][2]["responses"]


def test_metrics_and_probes_document_their_bodies(document: dict[str, Any]) -> None:
    metrics = operations(document)["metrics-scrape"][2]["responses"]["200"]
    assert set(metrics["content"]) == {"text/plain"}
    live = operations(document)["health-live"][2]["responses"]["200"]
    assert live["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HealthStatus"}


async def test_protected_operations_refuse_a_missing_token(
    offline_app: FastAPI, document: dict[str, Any]
) -> None:
    async with AsyncClient(transport=ASGITransport(app=offline_app), base_url="http://testserver") as client:
        for operation_id, (method, path, _, protected) in OPERATIONS.items():
            if not protected:
                continue
            url = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)
            body: dict[str, Any] | None = {} if method in {"post", "patch"} else None
            response = await client.request(method.upper(), url, json=body)
            assert response.status_code == 401, (operation_id, response.text)
            assert response.json()["error"]["code"] == "not_authenticated"
            assert_conforms(document, operation_id, response)


async def test_rate_limited_answer_conforms() -> None:
    app = create_app(make_settings(unreachable_database_url(), rate_limit_requests=1), configure_logs=False)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        first = await client.get("/api/v1/items")
        limited = await client.get("/api/v1/items")
        probe = await client.get("/api/v1/health/live")
    await resources_of(app).database.dispose()
    assert first.status_code == 401
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert_conforms(app.openapi(), "items-list", limited)
    assert probe.status_code == 200


async def test_database_down_answers_conform(offline_app: FastAPI, document: dict[str, Any]) -> None:
    settings = resources_of(offline_app).settings
    token = issue_token(
        KeyRing.from_settings(settings),
        user_id=uuid.uuid4(),
        is_superuser=False,
        token_type=TokenType.access,
        ttl_seconds=60,
    )
    auth = {"Authorization": f"Bearer {token}"}
    async with AsyncClient(transport=ASGITransport(app=offline_app), base_url="http://testserver") as client:
        ready = await client.get("/api/v1/health/ready")
        item = await client.get(f"/api/v1/items/{uuid.uuid4()}", headers=auth)
        login = await client.post("/api/v1/auth/token", data={"username": "a@example.com", "password": "x"})
        live = await client.get("/api/v1/health/live")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "not_ready"
    assert_conforms(document, "health-ready", ready)
    for operation_id, response in (("items-read", item), ("auth-login", login)):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "database_unavailable"
        assert_conforms(document, operation_id, response)
    assert live.status_code == 200
    assert_conforms(document, "health-live", live)


async def test_wrong_method_lists_every_method_of_the_path(offline_app: FastAPI) -> None:
    async with AsyncClient(transport=ASGITransport(app=offline_app), base_url="http://testserver") as client:
        collection = await client.put("/api/v1/items")
        one = await client.post(f"/api/v1/items/{uuid.uuid4()}")
        me = await client.put("/api/v1/users/me")
    assert collection.status_code == 405
    assert collection.json()["error"]["code"] == "method_not_allowed"
    # Starlette alone would name only the first route that matched the path.
    assert collection.headers["allow"] == "GET, POST"
    assert one.headers["allow"] == "DELETE, GET, PATCH"
    assert me.headers["allow"] == "DELETE, GET, PATCH"
