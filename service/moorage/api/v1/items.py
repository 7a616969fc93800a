from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from moorage.api.deps import CurrentUserDep, PageDep, PrincipalDep, SessionDep
from moorage.api.responses import NOT_YOUR_ITEM, PROTECTED_ROUTE, errors
from moorage.schemas.common import Page, page_of
from moorage.schemas.items import ItemCreate, ItemPublic, ItemUpdate
from moorage.services.items import ItemService

router = APIRouter(prefix="/items", tags=["items"], responses=PROTECTED_ROUTE)


@router.post(
    "",
    response_model=ItemPublic,
    status_code=status.HTTP_201_CREATED,
    operation_id="items-create",
    responses=errors(400, 422),
)
async def create_item(data: ItemCreate, owner: CurrentUserDep, session: SessionDep) -> ItemPublic:
    # The owner is loaded, not taken from the token: a deleted account must not create rows.
    return ItemPublic.model_validate(await ItemService(session).create(owner, data))


@router.get("", response_model=Page[ItemPublic], operation_id="items-list", responses=errors(422))
async def list_items(principal: PrincipalDep, session: SessionDep, page: PageDep) -> Page[ItemPublic]:
    items, total = await ItemService(session).page(principal, limit=page.limit, offset=page.offset)
    result: Page[ItemPublic] = page_of(ItemPublic, items, total, page.limit, page.offset)
    return result


@router.get(
    "/{item_id}",
    response_model=ItemPublic,
    operation_id="items-read",
    responses=errors(NOT_YOUR_ITEM, 404, 422),
)
async def read_item(item_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> ItemPublic:
    return ItemPublic.model_validate(await ItemService(session).get(principal, item_id))


@router.patch(
    "/{item_id}",
    response_model=ItemPublic,
    operation_id="items-update",
    responses=errors(400, NOT_YOUR_ITEM, 404, 422),
)
async def update_item(
    item_id: uuid.UUID, data: ItemUpdate, principal: PrincipalDep, session: SessionDep
) -> ItemPublic:
    return ItemPublic.model_validate(await ItemService(session).update(principal, item_id, data))


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="items-delete",
    responses=errors(NOT_YOUR_ITEM, 404, 422),
)
async def delete_item(item_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    await ItemService(session).delete(principal, item_id)
