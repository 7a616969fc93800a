from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from moorage.errors import ForbiddenError, NotFoundError
from moorage.models import Item, User
from moorage.repositories.items import ItemRepository
from moorage.schemas.items import ItemCreate, ItemUpdate
from moorage.tokens import Principal


class ItemService:
    def __init__(self, session: AsyncSession) -> None:
        self._items = ItemRepository(session)

    async def create(self, owner: User, data: ItemCreate) -> Item:
        return await self._items.add(Item(owner_id=owner.id, **data.model_dump()))

    async def get(self, principal: Principal, item_id: uuid.UUID) -> Item:
        item = await self._items.get(item_id)
        if item is None:
            raise NotFoundError("Item not found.")
        if item.owner_id != principal.user_id and not principal.is_superuser:
            raise ForbiddenError("This item belongs to another user.")
        return item

    async def page(self, principal: Principal, *, limit: int, offset: int) -> tuple[list[Item], int]:
        owner = None if principal.is_superuser else principal.user_id
        return await self._items.page(owner_id=owner, limit=limit, offset=offset)

    async def update(self, principal: Principal, item_id: uuid.UUID, data: ItemUpdate) -> Item:
        item = await self.get(principal, item_id)
        for field, value in data.model_dump(exclude_unset=True).items():
            if field == "title" and value is None:
                continue
            setattr(item, field, value)
        return await self._items.save(item)

    async def delete(self, principal: Principal, item_id: uuid.UUID) -> None:
        await self._items.delete(await self.get(principal, item_id))
