"""The error envelope as the OpenAPI document describes it; `moorage.errors.envelope` renders it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="Where the bad value is, e.g. `body.email` or `query.limit`.")
    message: str
    type: str | None = Field(description="The validator's error type, e.g. `missing` or `value_error`.")


class ErrorBody(BaseModel):
    code: str = Field(description="Stable snake_case code, e.g. `not_found` or `rate_limited`.")
    message: str = Field(description="A sentence for humans; do not parse it.")
    details: list[FieldError] | dict[str, Any] | None = Field(
        description=(
            "The invalid fields for `validation_error`; an object of context for `rate_limited` "
            "(`limit`, `window_seconds`, `retry_after`) and `not_ready` (`check`); otherwise null."
        )
    )
    request_id: str = Field(description="Equals the response's `X-Request-ID` header.")


class ErrorEnvelope(BaseModel):
    """Every non-2xx response of the service has this body."""

    error: ErrorBody
