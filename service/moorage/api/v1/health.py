from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from moorage import __version__
from moorage.api.deps import SettingsDep
from moorage.api.responses import NO_DATABASE_ROUTE, NOT_READY, error_response
from moorage.errors import envelope
from moorage.paths import HEALTH_PATH
from moorage.resources import request_resources
from moorage.schemas.health import HealthStatus, ReadinessStatus, ServiceInfo

if TYPE_CHECKING:  # redis-py is imported only when REDIS_URL is set (moorage.app)
    from redis.asyncio import Redis

router = APIRouter(prefix=HEALTH_PATH, tags=["health"], responses=NO_DATABASE_ROUTE)
logger = logging.getLogger(__name__)


@router.get("", response_model=ServiceInfo, operation_id="health-info")
async def info(settings: SettingsDep) -> ServiceInfo:
    return ServiceInfo(status="ok", version=__version__, environment=settings.environment.value)


_LIVE_BODY = HealthStatus(status="ok").model_dump_json().encode()


@router.get("/live", response_model=HealthStatus, response_class=JSONResponse, operation_id="health-live")
async def live() -> Response:
    # Pre-rendered: the most frequent request skips model validation and serialisation.
    return Response(content=_LIVE_BODY, media_type="application/json")


async def _redis_check(redis: Redis | None, seconds: float) -> dict[str, str]:
    """Reported, never failing: without Redis the rate limit falls back to per-process counts."""
    if redis is None:
        return {}
    try:
        async with asyncio.timeout(seconds):
            await redis.ping()
    except Exception as error:
        logger.warning("readiness: redis unavailable", extra={"reason": type(error).__name__})
        return {"redis": "unavailable"}
    return {"redis": "ok"}


@router.get(
    "/ready",
    response_model=ReadinessStatus,
    operation_id="health-ready",
    responses={503: error_response(NOT_READY)},
)
async def ready(request: Request, settings: SettingsDep) -> ReadinessStatus | JSONResponse:
    resources = request_resources(request)
    database = resources.database

    async def ping() -> None:
        async with database.read() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), timeout=settings.readiness_timeout_seconds)
    except Exception as error:  # any failure means "not ready", never a 500
        logger.warning("readiness check failed", extra={"reason": type(error).__name__})
        return JSONResponse(
            status_code=503,
            content=envelope("not_ready", "The database is unreachable.", {"check": "database"}),
        )
    redis = await _redis_check(resources.redis, settings.readiness_timeout_seconds)
    return ReadinessStatus(status="ok", checks={"database": "ok", **redis})
