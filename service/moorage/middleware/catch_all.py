"""Turns any unhandled exception into a 500 envelope; the traceback goes to the log only."""

from __future__ import annotations

import logging

from moorage.errors import envelope
from moorage.middleware.asgi import ASGIApp, Receive, Scope, Send, StatusRecorder, send_json

logger = logging.getLogger("moorage.errors")


class CatchAllMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorder = StatusRecorder(send)
        try:
            await self.app(scope, receive, recorder.send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not recorder.started:
                await send_json(send, 500, envelope("internal_error", "An unexpected error occurred."))
