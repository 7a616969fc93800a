from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

MAX_PAGE_SIZE = 100


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Rows matching the query, across all pages.")
    limit: int
    offset: int


class Message(BaseModel):
    status: str
