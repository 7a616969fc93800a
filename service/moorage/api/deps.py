"""FastAPI dependencies: settings, the key ring, the request's session and its caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.config import Settings
from moorage.db.session import get_session
from moorage.errors import UnauthorizedError
from moorage.keys import KeyRing
from moorage.models import User
from moorage.repositories.users import UserRepository
from moorage.schemas.common import MAX_PAGE_SIZE
from moorage.tokens import Principal, TokenType, verify_token

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_key_ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_principal(ring: KeyRingDep, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    """Authorises from the access token alone: no database round trip on the hot path."""
    if not token:
        raise UnauthorizedError("Not authenticated.")
    return verify_token(ring, token, expected_type=TokenType.access)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: PrincipalDep, session: SessionDep) -> User:
    user = await UserRepository(session).get(principal.user_id)
    if user is None or not user.is_active:
        raise UnauthorizedError("The account behind this token no longer exists.", code="invalid_token")
    return user


CurrentUserDep = Annotated[User, Depends(get_current_user)]


class PageParams:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip.")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[PageParams, Depends()]
