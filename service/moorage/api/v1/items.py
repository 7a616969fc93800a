from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from starlette.responses import Response

from moorage.api.deps import CurrentUserDep, DatabaseDep, PageDep, PrincipalDep, SessionDep
from moorage.api.rendered import json_response
from moorage.api.responses import NOT_YOUR_ITEM, PROTECTED_ROUTE, errors
from moorage.paths import API_PREFIX
from moorage.resources import request_resources
from moorage.schemas.common import Page
from moorage.schemas.items import ItemCreate, ItemPublic, ItemUpdate
from moorage.services.items import ItemQueries, ItemService

router = APIRouter(prefix=f"{API_PREFIX}/items", tags=["items"], responses=PROTECTED_ROUTE)


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
async def list_items(principal: PrincipalDep, database: DatabaseDep, page: PageDep) -> Page[ItemPublic]:
    async with database.read() as connection:
        rows, total = await ItemQueries(connection).page(principal, limit=page.limit, offset=page.offset)
    return Page[ItemPublic].of(rows, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{item_id}",
    response_model=ItemPublic,
    operation_id="items-read",
    responses=errors(NOT_YOUR_ITEM, 404, 422),
)
async def read_item(item_id: uuid.UUID, principal: PrincipalDep, request: Request) -> Response:
    # The hottest route: the database straight from the app's resources (one dependency level
    # less to resolve) and the response rendered here (one validation less).
    async with request_resources(request).database.read() as connection:
        row = await ItemQueries(connection).get(principal, item_id)
    return json_response(ItemPublic.model_validate(row))


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
