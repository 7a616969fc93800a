"""String types safe to store: PostgreSQL text cannot hold NUL characters."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


StoredText = Annotated[str, AfterValidator(_reject_nul)]
