"""One table's data access: writes through the request's ORM session, reads as single statements.

Reads run on an autocommit connection (`Database.read`) and return Core rows: one statement is one
round trip and one snapshot, with no ORM identity map to fill for a row that is only serialised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from moorage.models import Entity

EntityT = TypeVar("EntityT", bound=Entity)


class Repository(Generic[EntityT]):
    """Loads and stores ORM objects of `model` in the request's transaction."""

    model: type[EntityT]

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, entity_id: uuid.UUID) -> EntityT | None:
        return await self._session.get(self.model, entity_id)

    async def add(self, entity: EntityT) -> EntityT:
        self._session.add(entity)
        return await self.save(entity)

    async def save(self, entity: EntityT) -> EntityT:
        await self._session.flush()
        await self._session.refresh(entity)
        return entity

    async def delete(self, entity: EntityT) -> None:
        await self._session.delete(entity)
        await self._session.flush()


class Reader(Generic[EntityT]):
    """Reads rows of `model` with one statement each, on an autocommit connection."""

    model: type[EntityT]

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    @classmethod
    @cache
    def _by_id(cls) -> Select[Any]:
        # Built once per table: a reused statement skips coercion and memoizes its cache key.
        table = cls.model.__table__
        return select(table).where(table.c.id == bindparam("entity_id"))

    async def get(self, entity_id: uuid.UUID) -> Row[Any] | None:
        result = await self._connection.execute(self._by_id(), {"entity_id": entity_id})
        return result.first()

    async def page(
        self, *where: ColumnElement[bool], limit: int, offset: int
    ) -> tuple[Sequence[Row[Any]], int]:
        """A page in creation order and the total count, from one statement (so one snapshot).

        The count is joined to the page rather than repeated on each row, so a page past the end
        still carries the total (one row of NULL columns).
        """
        table = self.model.__table__
        total = select(func.count().label("total")).select_from(table).where(*where).subquery("total")
        page = (
            select(table)
            .where(*where)
            .order_by(table.c.created_at, table.c.id)
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
        statement = (
            select(total.c.total, page)
            .select_from(total.outerjoin(page, true()))
            .order_by(page.c.created_at, page.c.id)
        )
        rows = (await self._connection.execute(statement)).all()
        count = int(rows[0].total) if rows else 0
        return [row for row in rows if row.id is not None], count
