"""Accepts a sane incoming X-Request-ID or makes one, binds it for logs, echoes it back."""

from __future__ import annotations

import os
import re

from moorage.middleware.asgi import ASGIApp, Message, Receive, Scope, Send, header
from moorage.request_context import bind_request_id, reset_request_id

_HEADER = b"x-request-id"
# Only short, printable ids: anything else could forge log lines or bloat them.
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = header(scope, _HEADER)
        # 128 random bits as 32 hex digits, like uuid4().hex, without building a UUID object (5x the cost).
        request_id = incoming.decode() if incoming and _SANE_ID.match(incoming) else os.urandom(16).hex()
        encoded = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (_HEADER, encoded)]
            await send(message)

        token = bind_request_id(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            reset_request_id(token)
