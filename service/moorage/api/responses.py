"""The error responses each route declares in the OpenAPI document, all with the one envelope body.

A route lists the statuses it can answer with beyond its success; the routers add the statuses
every route under them shares (auth, rate limit, database, the catch-all 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moorage.schemas.errors import ErrorEnvelope

Responses = dict[int | str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    description: str
    code: str
    message: str
    details: Any = None
    headers: tuple[tuple[str, str, bool], ...] = ()  # (name, description, required)


_RETRY_AFTER = ("Retry-After", "Seconds to wait before retrying.", True)
_INTEGER_HEADERS = {"Retry-After", "X-RateLimit-Limit"}

ERRORS: dict[int, ErrorResponse] = {
    400: ErrorResponse(
        "The body could not be parsed at all, e.g. it is not UTF-8 (`bad_request`).",
        "bad_request",
        "There was an error parsing the body",
    ),
    401: ErrorResponse(
        "No valid access token: codes `not_authenticated` (none sent), `invalid_token`, "
        "`token_expired`, `unknown_key` (signed with a key no longer in the ring).",
        "not_authenticated",
        "Not authenticated.",
        headers=(("WWW-Authenticate", "Always `Bearer`.", True),),
    ),
    403: ErrorResponse("The caller may not act on this resource (`forbidden`).", "forbidden", "Forbidden."),
    404: ErrorResponse("No such resource (`not_found`).", "not_found", "Item not found."),
    409: ErrorResponse("The request conflicts with existing data.", "conflict", "Conflict."),
    422: ErrorResponse(
        "The request is invalid (`validation_error`); `details` lists each bad field.",
        "validation_error",
        "The request is invalid.",
        [{"field": "body.title", "message": "Field required", "type": "missing"}],
    ),
    429: ErrorResponse(
        "Too many requests from this client in the current window (`rate_limited`).",
        "rate_limited",
        "Too many requests; retry later.",
        {"limit": 100, "window_seconds": 60, "retry_after": 12},
        headers=(_RETRY_AFTER, ("X-RateLimit-Limit", "Requests allowed per window.", False)),
    ),
    500: ErrorResponse(
        "An unexpected error (`internal_error`); details are in the service's log only.",
        "internal_error",
        "An unexpected error occurred.",
    ),
    503: ErrorResponse(
        "The database cannot be reached (`database_unavailable`); retry after `Retry-After` seconds.",
        "database_unavailable",
        "The database is unavailable; retry shortly.",
        headers=(_RETRY_AFTER,),
    ),
}


NOT_READY = ErrorResponse(
    "The database did not answer the bounded `SELECT 1` in time (`not_ready`).",
    "not_ready",
    "The database is unreachable.",
    {"check": "database"},
)


def error_response(error: ErrorResponse, description: str | None = None) -> dict[str, Any]:
    example = {
        "error": {
            "code": error.code,
            "message": error.message,
            "details": error.details,
            "request_id": "4f0c2b1e9d6a4c3b8e7f6a5d4c3b2a19",
        }
    }
    response: dict[str, Any] = {
        "model": ErrorEnvelope,
        "description": description or error.description,
        "content": {"application/json": {"example": example}},
    }
    if error.headers:
        response["headers"] = {
            name: {
                "description": text,
                "required": required,
                "schema": {"type": "integer", "minimum": 1}
                if name in _INTEGER_HEADERS
                else {"type": "string"},
            }
            for name, text, required in error.headers
        }
    return response


def errors(*statuses: int, described: dict[int, str] | None = None) -> Responses:
    """`responses=` for these statuses; `described` replaces a status's generic description."""
    described = described or {}
    return {status: error_response(ERRORS[status], described.get(status)) for status in statuses}


# Shared by every route of a router.
PUBLIC_DATABASE_ROUTE = errors(429, 500, 503)
PROTECTED_ROUTE = errors(401, 429, 500, 503)
NO_DATABASE_ROUTE = errors(500)
METRICS_ROUTE: Responses = {200: {"description": "Prometheus text exposition format."}, **errors(500)}
