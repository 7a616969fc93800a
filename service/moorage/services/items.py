from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from moorage.errors import ForbiddenError, NotFoundError
from moorage.models import Item, User
from moorage.repositories.items import ItemReader, ItemRepository
from moorage.schemas.items import ItemCreate, ItemUpdate
from moorage.tokens import Principal


def _check_visible(principal: Principal, owner_id: uuid.UUID) -> None:
    if owner_id != principal.user_id and not principal.is_superuser:
        raise ForbiddenError("This item belongs to another user.")


class ItemService:
    """Changes to items, in the request's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._items = ItemRepository(session)

    async def create(self, owner: User, data: ItemCreate) -> Item:
        return await self._items.add(Item(owner_id=owner.id, **data.model_dump()))

    async def get(self, principal: Principal, item_id: uuid.UUID) -> Item:
        item = await self._items.get(item_id)
        if item is None:
            raise NotFoundError("Item not found.")
        _check_visible(principal, item.owner_id)
        return item

    async def update(self, principal: Principal, item_id: uuid.UUID, data: ItemUpdate) -> Item:
        item = await self.get(principal, item_id)
        for field, value in data.model_dump(exclude_unset=True).items():
            if field == "title" and value is None:
                continue
            setattr(item, field, value)
        return await self._items.save(item)

    async def delete(self, principal: Principal, item_id: uuid.UUID) -> None:
        await self._items.delete(await self.get(principal, item_id))


class ItemQueries:
    """Reads of items, one statement each, on an autocommit connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._items = ItemReader(connection)

    async def get(self, principal: Principal, item_id: uuid.UUID) -> Row[Any]:
        row = await self._items.get(item_id)
        if row is None:
            raise NotFoundError("Item not found.")
        _check_visible(principal, row.owner_id)
        return row

    async def page(self, principal: Principal, *, limit: int, offset: int) -> tuple[Sequence[Row[Any]], int]:
        if principal.is_superuser:
            return await self._items.page(limit=limit, offset=offset)
        return await self._items.page(Item.owner_id == principal.user_id, limit=limit, offset=offset)
