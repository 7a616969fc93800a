"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response

from moorage import __version__
from moorage.api.responses import METRICS_ROUTE
from moorage.api.v1.router import include_api
from moorage.config import Settings, get_settings
from moorage.db.engine import create_database
from moorage.exception_handlers import install_exception_handlers
from moorage.keys import KeyRing
from moorage.logs import configure_logging
from moorage.metrics import Metrics, create_metrics
from moorage.middleware.compression import CompressionMiddleware
from moorage.middleware.observe import MetricsRecorder, RequestObserver
from moorage.middleware.rate_limit import RateLimitMiddleware
from moorage.openapi import install_openapi
from moorage.paths import DOCS_PATH, METRICS_PATH, OPENAPI_PATH, OPERATIONAL_PATHS
from moorage.rate_limit.local import LocalCounter
from moorage.rate_limit.window import WindowCounter
from moorage.resources import Resources, resources_of
from moorage.route_templates import RouteTemplates
from moorage.telemetry import setup_tracing, tracing_requested
from moorage.tokens import TokenVerifier

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("moorage")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    resources = resources_of(app)
    logger.info(
        "moorage %s starting",
        __version__,
        extra={
            "environment": resources.settings.environment.value,
            "key_id": resources.key_ring.current_id,
        },
    )
    try:
        yield
    finally:
        if resources.tracing is not None:
            resources.tracing.shutdown()
        if resources.redis is not None:
            await resources.redis.aclose()
        await resources.database.dispose()
        logger.info("moorage stopped; connection pool disposed")


def _window_counter(redis: Redis | None, window: int, metrics: Metrics) -> WindowCounter:
    if redis is None:
        return LocalCounter(window)
    from moorage.rate_limit.shared import SharedCounter

    return SharedCounter(
        redis,
        window,
        errors=metrics.rate_limit_redis_errors,
        fallbacks=metrics.rate_limit_fallbacks,
        shared=metrics.rate_limit_shared,
    )


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.effective_log_format, settings.secret_values())

    app = FastAPI(
        title="moorage",
        version=__version__,
        lifespan=lifespan,
        openapi_url=OPENAPI_PATH,
        docs_url=DOCS_PATH,
        redoc_url=None,
    )
    database = create_database(settings)
    key_ring = KeyRing.from_settings(settings)
    redis: Redis | None = None
    if settings.redis_url is not None:
        # Here, not at the top: redis-py (and the OTel SDK it pulls in) is a sixth of the import
        # time, for a store that is optional.
        from moorage.rate_limit.shared import create_redis

        redis = create_redis(settings.redis_url.get_secret_value(), settings.redis_timeout_seconds)
    resources = Resources(settings, key_ring, TokenVerifier(key_ring), database, redis=redis)
    app.state.resources = resources
    metrics = create_metrics(database.engine)

    include_api(app)
    install_exception_handlers(app)
    install_openapi(app)

    if settings.metrics_enabled:

        @app.get(
            METRICS_PATH,
            tags=["metrics"],
            operation_id="metrics-scrape",
            response_class=PlainTextResponse,
            responses=METRICS_ROUTE,
        )
        async def prometheus_metrics(_: Request) -> Response:
            return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # add_middleware wraps: the last added runs first. Outermost to innermost:
    # observer (request id, catch-all 500, metrics, access log) -> CORS -> GZip -> rate limit -> routes.
    if settings.rate_limit_enabled:
        window = settings.rate_limit_window_seconds
        counter = _window_counter(redis, window, metrics)
        app.add_middleware(
            RateLimitMiddleware,
            limit=settings.rate_limit_requests,
            window_seconds=window,
            counter=counter,
            tokens=resources.tokens,
            exempt_prefixes=tuple(sorted(OPERATIONAL_PATHS)),
        )
    app.add_middleware(CompressionMiddleware, minimum_size=1024)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(
        RequestObserver,
        metrics=MetricsRecorder(metrics, RouteTemplates(app)) if settings.metrics_enabled else None,
        access_log_skip_paths=settings.access_log_skip_paths,
    )

    if tracing_requested():
        resources.tracing = setup_tracing(app, database.engine, settings)
    return app
