from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, Self, TypeVar

from pydantic import BaseModel, Field

MAX_PAGE_SIZE = 100


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Rows matching the query, across all pages.")
    limit: int
    offset: int

    @classmethod
    def of(cls, rows: Iterable[object], *, total: int, limit: int, offset: int) -> Self:
        """`Page[Model].of(rows, ...)`: each row (an ORM object or a Core row) validated as Model."""
        return cls.model_validate(
            {"items": rows, "total": total, "limit": limit, "offset": offset}, from_attributes=True
        )
