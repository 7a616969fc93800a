from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.models import Item


class ItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, item_id: uuid.UUID) -> Item | None:
        return await self._session.get(Item, item_id)

    async def add(self, item: Item) -> Item:
        self._session.add(item)
        await self._session.flush()
        await self._session.refresh(item)
        return item

    async def save(self, item: Item) -> Item:
        await self._session.flush()
        await self._session.refresh(item)
        return item

    async def delete(self, item: Item) -> None:
        await self._session.delete(item)
        await self._session.flush()

    async def page(self, *, owner_id: uuid.UUID | None, limit: int, offset: int) -> tuple[list[Item], int]:
        count = select(func.count()).select_from(Item)
        query = select(Item).order_by(Item.created_at, Item.id).limit(limit).offset(offset)
        if owner_id is not None:
            count = count.where(Item.owner_id == owner_id)
            query = query.where(Item.owner_id == owner_id)
        total = await self._session.scalar(count) or 0
        return list(await self._session.scalars(query)), total
