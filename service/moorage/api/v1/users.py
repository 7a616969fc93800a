from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from moorage.api.deps import CurrentUserDep, PageDep, PrincipalDep, SessionDep
from moorage.api.responses import NOT_SUPERUSER, NOT_YOUR_ACCOUNT, PROTECTED_ROUTE, USER_NOT_FOUND, errors
from moorage.schemas.common import Page, page_of
from moorage.schemas.users import UserPublic, UserUpdate
from moorage.services.users import UserService

router = APIRouter(prefix="/users", tags=["users"], responses=PROTECTED_ROUTE)


@router.get("/me", response_model=UserPublic, operation_id="users-me-read")
async def read_me(user: CurrentUserDep) -> UserPublic:
    return UserPublic.model_validate(user)


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
async def list_users(principal: PrincipalDep, session: SessionDep, page: PageDep) -> Page[UserPublic]:
    users, total = await UserService(session).page(principal, limit=page.limit, offset=page.offset)
    result: Page[UserPublic] = page_of(UserPublic, users, total, page.limit, page.offset)
    return result


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    operation_id="users-read",
    responses=errors(NOT_YOUR_ACCOUNT, USER_NOT_FOUND, 422),
)
async def read_user(user_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(await UserService(session).get_visible(principal, user_id))
