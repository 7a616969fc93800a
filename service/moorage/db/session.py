"""One session per request: committed when the handler succeeds, rolled back when it raises."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.resources import request_resources


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request_resources(request).database.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
