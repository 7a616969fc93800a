"""One log line per request with method, path, status and duration."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from moorage.middleware.asgi import ASGIApp, Receive, Scope, Send, StatusRecorder

logger = logging.getLogger("moorage.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, skip_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.skip_paths = frozenset(skip_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip_paths:
            await self.app(scope, receive, send)
            return
        response = StatusRecorder(send)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, response.send)
        finally:
            status = response.status
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            client = scope.get("client")
            logger.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                    "client": client[0] if client else None,
                },
            )
