"""The error responses each route declares in the OpenAPI document, all with the one envelope body.

A route lists the statuses it can answer with beyond its success; the routers add the statuses
every route under them shares (auth, rate limit, database, the catch-all 500).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from moorage.schemas.errors import ErrorEnvelope

Responses = dict[int | str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    status: int
    description: str
    code: str
    message: str
    details: Any = None
    headers: tuple[tuple[str, str, bool], ...] = ()  # (name, description, required)


_RETRY_AFTER = ("Retry-After", "Seconds to wait before retrying.", True)
_INTEGER_HEADERS = {"Retry-After", "X-RateLimit-Limit"}

_GENERIC = (
    ErrorResponse(
        400,
        "The body could not be parsed at all, e.g. it is not UTF-8 (`bad_request`).",
        "bad_request",
        "There was an error parsing the body",
    ),
    ErrorResponse(
        401,
        "No valid access token: codes `not_authenticated` (none sent), `invalid_token`, "
        "`token_expired`, `unknown_key` (signed with a key no longer in the ring).",
        "not_authenticated",
        "Not authenticated.",
        headers=(("WWW-Authenticate", "Always `Bearer`.", True),),
    ),
    ErrorResponse(403, "The caller may not act on this resource (`forbidden`).", "forbidden", "Forbidden."),
    ErrorResponse(404, "No such resource (`not_found`).", "not_found", "Item not found."),
    ErrorResponse(409, "The request conflicts with existing data.", "conflict", "Conflict."),
    ErrorResponse(
        422,
        "The request is invalid (`validation_error`); `details` lists each bad field.",
        "validation_error",
        "The request is invalid.",
        [{"field": "body.title", "message": "Field required", "type": "missing"}],
    ),
    ErrorResponse(
        429,
        "Too many requests from this client in the current window (`rate_limited`).",
        "rate_limited",
        "Too many requests; retry later.",
        {"limit": 100, "window_seconds": 60, "retry_after": 12},
        headers=(_RETRY_AFTER, ("X-RateLimit-Limit", "Requests allowed per window.", False)),
    ),
    ErrorResponse(
        500,
        "An unexpected error (`internal_error`); details are in the service's log only.",
        "internal_error",
        "An unexpected error occurred.",
    ),
    ErrorResponse(
        503,
        "The database cannot be reached (`database_unavailable`); retry after `Retry-After` seconds.",
        "database_unavailable",
        "The database is unavailable; retry shortly.",
        headers=(_RETRY_AFTER,),
    ),
)
ERRORS: dict[int, ErrorResponse] = {error.status: error for error in _GENERIC}


NOT_READY = ErrorResponse(
    503,
    "The database did not answer the bounded `SELECT 1` in time (`not_ready`).",
    "not_ready",
    "The database is unreachable.",
    {"check": "database"},
)


def error_response(error: ErrorResponse) -> dict[str, Any]:
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
        "description": error.description,
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


def errors(*statuses: int | ErrorResponse) -> Responses:
    """`responses=` for these statuses, each the generic one or a route's own ErrorResponse."""
    chosen = [ERRORS[status] if isinstance(status, int) else status for status in statuses]
    return {error.status: error_response(error) for error in chosen}


def _variant(status: int, description: str, code: str, message: str) -> ErrorResponse:
    return replace(ERRORS[status], description=description, code=code, message=message)


EMAIL_TAKEN = _variant(
    409,
    "The email is already registered (`email_taken`).",
    "email_taken",
    "A user with this email already exists.",
)
LOGIN_REFUSED = _variant(
    401,
    "Wrong email or password (`invalid_credentials`) or a disabled account (`inactive_user`).",
    "invalid_credentials",
    "Incorrect email or password.",
)
REFRESH_REFUSED = _variant(
    401,
    "The refresh token is malformed, of the wrong type, expired or signed with an unknown key "
    "(`invalid_token`, `token_expired`, `unknown_key`), or its account is gone.",
    "token_expired",
    "The token has expired.",
)
NOT_SUPERUSER = _variant(
    403,
    "Listing users requires a superuser (`forbidden`).",
    "forbidden",
    "Listing users requires a superuser.",
)
NOT_YOUR_ACCOUNT = _variant(
    403,
    "Only superusers may read other accounts (`forbidden`).",
    "forbidden",
    "You may only read your own account.",
)
NOT_YOUR_ITEM = _variant(
    403, "The item belongs to another user (`forbidden`).", "forbidden", "This item belongs to another user."
)
USER_NOT_FOUND = _variant(404, "No such user (`not_found`).", "not_found", "User not found.")

# Shared by every route of a router.
PUBLIC_DATABASE_ROUTE = errors(429, 500, 503)
PROTECTED_ROUTE = errors(401, 429, 500, 503)
NO_DATABASE_ROUTE = errors(500)
METRICS_ROUTE: Responses = {200: {"description": "Prometheus text exposition format."}, **errors(500)}
