"""FastAPI dependencies: settings, the key ring, the database, the request's session and its caller.

Every dependency is `async def` although none awaits: FastAPI runs a plain `def` dependency in the
thread pool, and those hops cost more than the work itself on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.api.bearer import bearer_principal
from moorage.config import Settings
from moorage.db.engine import Database
from moorage.db.session import get_session
from moorage.errors import UnauthorizedError
from moorage.keys import KeyRing
from moorage.models import User
from moorage.repositories.users import UserRepository
from moorage.resources import request_resources
from moorage.schemas.common import MAX_PAGE_SIZE
from moorage.tokens import Principal


async def get_settings_dep(request: Request) -> Settings:
    return request_resources(request).settings


async def get_key_ring(request: Request) -> KeyRing:
    return request_resources(request).key_ring


async def get_database(request: Request) -> Database:
    return request_resources(request).database


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
# For handlers that run one statement: `async with database.read() as connection`.
DatabaseDep = Annotated[Database, Depends(get_database)]
# "function" scope: the commit happens, and the pooled connection returns, before the response is sent;
# a failed commit then answers with an error instead of following a 2xx already on the wire.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# The caller behind the access token; also the routes' OpenAPI security requirement.
PrincipalDep = Annotated[Principal, Depends(bearer_principal)]


async def get_current_user(principal: PrincipalDep, session: SessionDep) -> User:
    user = await UserRepository(session).get(principal.user_id)
    if user is None or not user.is_active:
        raise UnauthorizedError("The account behind this token no longer exists.", code="invalid_token")
    return user


CurrentUserDep = Annotated[User, Depends(get_current_user)]


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int


async def get_page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(get_page_params)]
