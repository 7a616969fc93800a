"""String types safe to store: PostgreSQL text cannot hold NUL characters."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# The validator gives the readable message; the pattern tells the OpenAPI document's readers.
StoredText = Annotated[
    str, AfterValidator(_reject_nul), Field(json_schema_extra={"pattern": "^[^\\u0000]*$"})
]
