"""The baseline: plain FastAPI with the same two endpoints, no middleware, no telemetry.

It uses the same engine settings as moorage, so the comparison isolates what moorage adds
on top of the data access itself (middleware, auth, logging, metrics, tracing).
"""

from __future__ import annotations

import os
import uuid

from fastapi import FastAPI, HTTPException
from moorage.models import Item
from moorage.schemas.items import ItemPublic
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

_url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg")
engine = create_async_engine(_url, pool_size=5, max_overflow=10, pool_pre_ping=True)
sessions = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


@app.get("/api/v1/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/items/{item_id}", response_model=ItemPublic)
async def read_item(item_id: uuid.UUID) -> ItemPublic:
    async with sessions() as session:
        item = await session.get(Item, item_id)
        if item is None:
            raise HTTPException(status_code=404)
        return ItemPublic.model_validate(item)
