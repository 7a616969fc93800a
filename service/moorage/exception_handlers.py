"""Renders every handled error as the envelope; unhandled ones are caught by CatchAllMiddleware."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from moorage.errors import AppError, code_for_status, envelope


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


async def handle_http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    message = error.detail if isinstance(error.detail, str) else "The request failed."
    return JSONResponse(
        status_code=error.status_code,
        content=envelope(code_for_status(error.status_code), message),
        headers=getattr(error, "headers", None),
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
