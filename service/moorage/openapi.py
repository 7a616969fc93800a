"""The served OpenAPI document: FastAPI's, plus what its generator does not know about the wire."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from moorage.api.v1.router import documented_order

DESCRIPTION = """\
Every response carries `X-Request-ID`. Every non-2xx response has the body
`{"error": {"code", "message", "details", "request_id"}}` (the `ErrorEnvelope` schema), whatever
raised it; besides the statuses each operation lists, an unknown path answers `404 not_found` and a
method a path does not serve answers `405 method_not_allowed` with `Allow`.

Protected operations take `Authorization: Bearer <access token>` from `POST /api/v1/auth/token`.
"""

TAGS = [
    {"name": "health", "description": "Probes; never rate limited."},
    {"name": "auth", "description": "Registration and tokens."},
    {"name": "users", "description": "Accounts."},
    {"name": "items", "description": "Items owned by their creator."},
    {"name": "metrics", "description": "Prometheus scrape target; never rate limited."},
]

_REQUEST_ID = {
    "description": "The caller's X-Request-ID when sane (≤ 128 of `[A-Za-z0-9._:-]`), else a new one.",
    "required": True,
    "schema": {"type": "string"},
}


def _complete_error_response(response: dict[str, Any]) -> None:
    content = response.setdefault("content", {})
    # The envelope is JSON even where the success is not: FastAPI files it under the route's media type.
    for media_type in [media_type for media_type in content if media_type != "application/json"]:
        moved = content.pop(media_type)
        content.setdefault("application/json", {}).setdefault("schema", moved.get("schema"))
    # FastAPI drops null values while encoding the document, `details: null` included.
    example = content.get("application/json", {}).get("example", {})
    if isinstance(example.get("error"), dict):
        example["error"].setdefault("details", None)
        example["error"] = {
            key: example["error"][key] for key in ("code", "message", "details", "request_id")
        }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=DESCRIPTION,
        routes=documented_order(app.routes),
        tags=TAGS,
    )
    for path_item in document["paths"].values():
        for operation in path_item.values():
            # No security requirement means "public" only by omission; say it.
            operation.setdefault("security", [])
            operation["responses"] = dict(sorted(operation["responses"].items()))
            for status, response in operation["responses"].items():
                response.setdefault("headers", {})["X-Request-ID"] = _REQUEST_ID
                if int(status) >= 400:
                    _complete_error_response(response)
    app.openapi_schema = document
    return document


def install_openapi(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
