from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from moorage.api.deps import CurrentUserDep, DatabaseDep, PageDep, PrincipalDep, SessionDep
from moorage.schemas.common import Page
from moorage.schemas.items import ItemCreate, ItemPublic, ItemUpdate
from moorage.services.items import ItemQueries, ItemService

router = APIRouter(prefix="/items", tags=["items"])


@router.post("", response_model=ItemPublic, status_code=status.HTTP_201_CREATED)
async def create_item(data: ItemCreate, owner: CurrentUserDep, session: SessionDep) -> ItemPublic:
    # The owner is loaded, not taken from the token: a deleted account must not create rows.
    return ItemPublic.model_validate(await ItemService(session).create(owner, data))


@router.get("", response_model=Page[ItemPublic])
async def list_items(principal: PrincipalDep, database: DatabaseDep, page: PageDep) -> Page[ItemPublic]:
    async with database.read() as connection:
        rows, total = await ItemQueries(connection).page(principal, limit=page.limit, offset=page.offset)
    return Page[ItemPublic].of(rows, total=total, limit=page.limit, offset=page.offset)


@router.get("/{item_id}", response_model=ItemPublic)
async def read_item(item_id: uuid.UUID, principal: PrincipalDep, database: DatabaseDep) -> ItemPublic:
    async with database.read() as connection:
        row = await ItemQueries(connection).get(principal, item_id)
    return ItemPublic.model_validate(row)


@router.patch("/{item_id}", response_model=ItemPublic)
async def update_item(
    item_id: uuid.UUID, data: ItemUpdate, principal: PrincipalDep, session: SessionDep
) -> ItemPublic:
    return ItemPublic.model_validate(await ItemService(session).update(principal, item_id, data))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(item_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    await ItemService(session).delete(principal, item_id)
