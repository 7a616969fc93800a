from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class LoginForm(BaseModel):
    """The OAuth2 password grant's form (RFC 6749 section 4.3); client_id and client_secret are ignored."""

    grant_type: Literal["password"] = "password"
    username: str = Field(min_length=1, max_length=320, description="The account's email.")
    # No registered password is longer; refusing early spares the hash.
    password: str = Field(min_length=1, max_length=128)
    scope: str = Field(default="", description="Unused: tokens carry no scopes.")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=4096)
