from __future__ import annotations

from sqlalchemy import select

from moorage.models import User
from moorage.repositories.base import Reader, Repository


class UserRepository(Repository[User]):
    model = User

    async def get_by_email(self, email: str) -> User | None:
        user: User | None = await self._session.scalar(select(User).where(User.email == email))
        return user


class UserReader(Reader[User]):
    model = User
