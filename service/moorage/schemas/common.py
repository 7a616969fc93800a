from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

MAX_PAGE_SIZE = 100


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Rows matching the query, across all pages.")
    limit: int
    offset: int


def page_of(model: type[BaseModel], rows: Sequence[object], total: int, limit: int, offset: int) -> Any:
    """A Page[model] of ORM rows."""
    return Page[model](  # type: ignore[valid-type]
        items=[model.model_validate(row) for row in rows], total=total, limit=limit, offset=offset
    )


class Message(BaseModel):
    status: str
