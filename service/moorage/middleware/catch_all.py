"""Turns any unhandled exception into a 500 envelope; the traceback goes to the log only."""

from __future__ import annotations

import logging

from moorage.errors import envelope
from moorage.middleware.asgi import ASGIApp, Message, Receive, Scope, Send, send_json

logger = logging.getLogger("moorage.errors")


class CatchAllMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not response_started:
                await send_json(send, 500, envelope("internal_error", "An unexpected error occurred."))
