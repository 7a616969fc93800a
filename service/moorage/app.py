"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from moorage import __version__
from moorage.api.v1.router import include_api
from moorage.config import Settings, get_settings
from moorage.db.engine import create_database
from moorage.exception_handlers import install_exception_handlers
from moorage.keys import KeyRing
from moorage.logs import configure_logging
from moorage.metrics import create_metrics
from moorage.middleware.access_log import AccessLogMiddleware
from moorage.middleware.catch_all import CatchAllMiddleware
from moorage.middleware.compression import CompressionMiddleware
from moorage.middleware.metrics import MetricsMiddleware
from moorage.middleware.rate_limit import RateLimitMiddleware
from moorage.middleware.request_id import RequestIdMiddleware
from moorage.rate_limit.local import LocalCounter
from moorage.rate_limit.shared import SharedCounter, create_redis
from moorage.rate_limit.window import WindowCounter
from moorage.route_templates import RouteTemplates
from moorage.telemetry import setup_tracing

logger = logging.getLogger("moorage")

RATE_LIMIT_EXEMPT = ("/api/v1/health", "/metrics")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    logger.info(
        "moorage %s starting",
        __version__,
        extra={"environment": settings.environment.value, "key_id": app.state.key_ring.current_id},
    )
    try:
        yield
    finally:
        if app.state.tracing is not None:
            app.state.tracing.shutdown()
        if app.state.redis is not None:
            await app.state.redis.aclose()
        await app.state.database.dispose()
        logger.info("moorage stopped; connection pool disposed")


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.effective_log_format, settings.secret_values())

    app = FastAPI(
        title="moorage",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    database = create_database(settings)
    app.state.settings = settings
    app.state.key_ring = KeyRing.from_settings(settings)
    app.state.database = database
    app.state.metrics = metrics = create_metrics(database.engine)
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    app.state.redis = redis = create_redis(redis_url, settings.redis_timeout_seconds) if redis_url else None

    include_api(app)
    install_exception_handlers(app)

    if settings.metrics_enabled:

        @app.get("/metrics", include_in_schema=False)
        async def prometheus_metrics(_: Request) -> Response:
            return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # add_middleware wraps: the last added runs first. Outermost to innermost:
    # request id -> access log -> metrics -> catch-all 500 -> CORS -> GZip -> rate limit -> routes.
    if settings.rate_limit_enabled:
        window = settings.rate_limit_window_seconds
        counter: WindowCounter = (
            SharedCounter(
                redis,
                window,
                errors=metrics.rate_limit_redis_errors,
                fallbacks=metrics.rate_limit_fallbacks,
                shared=metrics.rate_limit_shared,
            )
            if redis is not None
            else LocalCounter(window)
        )
        app.add_middleware(
            RateLimitMiddleware,
            limit=settings.rate_limit_requests,
            window_seconds=window,
            counter=counter,
            key_ring=app.state.key_ring,
            exempt_prefixes=RATE_LIMIT_EXEMPT,
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
    app.add_middleware(CatchAllMiddleware)
    if settings.metrics_enabled:
        app.add_middleware(MetricsMiddleware, metrics=metrics, templates=RouteTemplates(app))
    app.add_middleware(AccessLogMiddleware, skip_paths=settings.access_log_skip_paths)
    app.add_middleware(RequestIdMiddleware)

    app.state.tracing = setup_tracing(app, database.engine, settings)
    return app
