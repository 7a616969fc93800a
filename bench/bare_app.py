"""The baselines: plain FastAPI serving the same two endpoints, no middleware, no auth, no telemetry.

- `app` — the idiomatic bare app: an ORM session and `session.get` per read, on an engine with
  moorage's own pool settings (size, overflow, recycle, no pre-ping), so the pool is not what
  differs.
- `single_read_app` — the identical single read moorage does: the same Core statement
  (`ItemReader.get`) on an autocommit connection from the same driver, one round trip.
"""

from __future__ import annotations

import os
import uuid

from fastapi import FastAPI, HTTPException
from moorage.config import Settings
from moorage.db.engine import POOL_RECYCLE_SECONDS
from moorage.models import Item
from moorage.repositories.items import ItemReader
from moorage.schemas.items import ItemPublic
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def _default(name: str) -> int:
    """moorage's value for a pool setting: its environment variable, else its default."""
    default: int = Settings.model_fields[name].default
    return int(os.environ.get(name.upper(), default))


def _engine() -> AsyncEngine:
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg")
    return create_async_engine(
        url,
        pool_size=_default("db_pool_size"),
        max_overflow=_default("db_max_overflow"),
        pool_recycle=POOL_RECYCLE_SECONDS,
    )


def _with_live(application: FastAPI) -> FastAPI:
    @application.get("/api/v1/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return application


engine = _engine()
sessions = async_sessionmaker(engine, expire_on_commit=False)
app = _with_live(FastAPI())


@app.get("/api/v1/items/{item_id}", response_model=ItemPublic)
async def read_item(item_id: uuid.UUID) -> ItemPublic:
    async with sessions() as session:
        item = await session.get(Item, item_id)
        if item is None:
            raise HTTPException(status_code=404)
        return ItemPublic.model_validate(item)


autocommit = _engine().execution_options(isolation_level="AUTOCOMMIT")
single_read_app = _with_live(FastAPI())


@single_read_app.get("/api/v1/items/{item_id}", response_model=ItemPublic)
async def read_item_once(item_id: uuid.UUID) -> ItemPublic:
    async with autocommit.connect() as connection:
        row = await ItemReader(connection).get(item_id)
    if row is None:
        raise HTTPException(status_code=404)
    return ItemPublic.model_validate(row)
