from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from moorage.errors import ForbiddenError, NotFoundError, UnauthorizedError
from moorage.models import User
from moorage.passwords import hash_password
from moorage.repositories.users import UserReader, UserRepository
from moorage.schemas.users import UserUpdate
from moorage.tokens import Principal


class UserService:
    """Changes to accounts, in the request's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._users = UserRepository(session)

    async def update(self, user: User, data: UserUpdate) -> User:
        changes = data.model_dump(exclude_unset=True)
        if "full_name" in changes:
            user.full_name = changes["full_name"]
        if changes.get("password") is not None:
            user.hashed_password = await hash_password(changes["password"])
        return await self._users.save(user)

    async def delete(self, user: User) -> None:
        await self._users.delete(user)


class UserQueries:
    """Reads of accounts, one statement each, on an autocommit connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._users = UserReader(connection)

    async def me(self, principal: Principal) -> Row[Any]:
        row = await self._users.get(principal.user_id)
        if row is None or not row.is_active:
            raise UnauthorizedError("The account behind this token no longer exists.", code="invalid_token")
        return row

    async def get_visible(self, principal: Principal, user_id: uuid.UUID) -> Row[Any]:
        if user_id != principal.user_id and not principal.is_superuser:
            raise ForbiddenError("You may only read your own account.")
        row = await self._users.get(user_id)
        if row is None:
            raise NotFoundError("User not found.")
        return row

    async def page(self, principal: Principal, *, limit: int, offset: int) -> tuple[Sequence[Row[Any]], int]:
        if not principal.is_superuser:
            raise ForbiddenError("Listing users requires a superuser.")
        return await self._users.page(limit=limit, offset=offset)
