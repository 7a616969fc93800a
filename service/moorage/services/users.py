from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from moorage.errors import ForbiddenError, NotFoundError
from moorage.models import User
from moorage.passwords import hash_password
from moorage.repositories.users import UserRepository
from moorage.schemas.users import UserUpdate
from moorage.tokens import Principal


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self._users = UserRepository(session)

    async def get_visible(self, principal: Principal, user_id: uuid.UUID) -> User:
        if user_id != principal.user_id and not principal.is_superuser:
            raise ForbiddenError("You may only read your own account.")
        user = await self._users.get(user_id)
        if user is None:
            raise NotFoundError("User not found.")
        return user

    async def page(self, principal: Principal, *, limit: int, offset: int) -> tuple[list[User], int]:
        if not principal.is_superuser:
            raise ForbiddenError("Listing users requires a superuser.")
        return await self._users.page(limit=limit, offset=offset)

    async def update(self, user: User, data: UserUpdate) -> User:
        changes = data.model_dump(exclude_unset=True)
        if "full_name" in changes:
            user.full_name = changes["full_name"]
        if changes.get("password") is not None:
            user.hashed_password = await hash_password(changes["password"])
        return await self._users.save(user)

    async def delete(self, user: User) -> None:
        await self._users.delete(user)
