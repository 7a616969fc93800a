from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from moorage.schemas.text import StoredText


class ItemCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Mooring line", "description": "12 m, braided"}]},
    )

    title: StoredText = Field(min_length=1, max_length=200)
    description: StoredText | None = Field(default=None, max_length=10_000)


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"title": "Bow line"}]})

    title: StoredText | None = Field(default=None, min_length=1, max_length=200)
    description: StoredText | None = Field(default=None, max_length=10_000)


class ItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
