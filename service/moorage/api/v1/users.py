from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from moorage.api.deps import CurrentUserDep, DatabaseDep, PageDep, PrincipalDep, SessionDep
from moorage.api.responses import NOT_SUPERUSER, NOT_YOUR_ACCOUNT, PROTECTED_ROUTE, USER_NOT_FOUND, errors
from moorage.paths import API_PREFIX
from moorage.schemas.common import Page
from moorage.schemas.users import UserPublic, UserUpdate
from moorage.services.users import UserQueries, UserService

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"], responses=PROTECTED_ROUTE)


@router.get("/me", response_model=UserPublic, operation_id="users-me-read")
async def read_me(principal: PrincipalDep, database: DatabaseDep) -> UserPublic:
    async with database.read() as connection:
        row = await UserQueries(connection).me(principal)
    return UserPublic.model_validate(row)


@router.patch("/me", response_model=UserPublic, operation_id="users-me-update", responses=errors(400, 422))
async def update_me(data: UserUpdate, user: CurrentUserDep, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(await UserService(session).update(user, data))


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, operation_id="users-me-delete")
async def delete_me(user: CurrentUserDep, session: SessionDep) -> None:
    await UserService(session).delete(user)


@router.get(
    "",
    response_model=Page[UserPublic],
    operation_id="users-list",
    responses=errors(NOT_SUPERUSER, 422),
)
async def list_users(principal: PrincipalDep, database: DatabaseDep, page: PageDep) -> Page[UserPublic]:
    async with database.read() as connection:
        rows, total = await UserQueries(connection).page(principal, limit=page.limit, offset=page.offset)
    return Page[UserPublic].of(rows, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    operation_id="users-read",
    responses=errors(NOT_YOUR_ACCOUNT, USER_NOT_FOUND, 422),
)
async def read_user(user_id: uuid.UUID, principal: PrincipalDep, database: DatabaseDep) -> UserPublic:
    async with database.read() as connection:
        row = await UserQueries(connection).get_visible(principal, user_id)
    return UserPublic.model_validate(row)
