"""Renders every handled error as the envelope; unhandled ones are caught by `RequestObserver`."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route, compile_path

from moorage.errors import AppError, code_for_status, envelope

logger = logging.getLogger("moorage.errors")
DATABASE_RETRY_AFTER_SECONDS = 2


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


async def handle_app_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return JSONResponse(
        status_code=error.status_code,
        content=envelope(error.code, error.message, error.details),
        headers=error.headers,
    )


async def handle_validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = [
        {"field": _field_path(item.get("loc", ())), "message": item.get("msg", ""), "type": item.get("type")}
        for item in error.errors()
    ]
    return JSONResponse(
        status_code=422,
        content=envelope("validation_error", "The request is invalid.", fields),
    )


def _allowed_methods(request: Request) -> str:
    """Every method the path serves: Starlette's own 405 names only the first route that matched.

    Read from the app's OpenAPI paths (FastAPI's included routers are internal) plus its plain routes.
    """
    path = request.scope["path"]
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(path):
            methods |= {method.upper() for method in operations}
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def handle_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    message = error.detail if isinstance(error.detail, str) else "The request failed."
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return JSONResponse(
        status_code=error.status_code,
        content=envelope(code_for_status(error.status_code), message),
        headers=headers or None,
    )


def _database_unreachable(error: Exception) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    # asyncpg's connect timeout (DB_CONNECT_TIMEOUT_SECONDS) raises the builtin TimeoutError, which
    # SQLAlchemy passes through unwrapped; a slow name lookup or handshake on a busy node is enough.
    if isinstance(error, TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return isinstance(
        error, ConnectionError | asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError
    )


async def handle_database_error(_: Request, error: Exception) -> JSONResponse:
    """A database that cannot be reached is a 503 the client may retry, not a bug."""
    if not _database_unreachable(error):
        raise error
    logger.warning("database unavailable: %s", type(error).__name__)
    return JSONResponse(
        status_code=503,
        content=envelope("database_unavailable", "The database is unavailable; retry shortly."),
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    for database_error in (
        sa_exc.TimeoutError,
        sa_exc.DBAPIError,
        ConnectionError,
        TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
    ):
        app.add_exception_handler(database_error, handle_database_error)
