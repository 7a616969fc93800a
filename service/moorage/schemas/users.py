from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from moorage.schemas.text import StoredText

NormalisedEmail = Annotated[EmailStr, AfterValidator(lambda value: value.lower())]
Password = Annotated[str, Field(min_length=8, max_length=128)]


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "skipper@example.com",
                    "password": "correct horse battery",
                    "full_name": "Ann Skipper",
                }
            ]
        },
    )

    email: NormalisedEmail
    password: Password
    full_name: StoredText | None = Field(default=None, max_length=200)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: StoredText | None = Field(default=None, max_length=200)
    password: Password | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime
