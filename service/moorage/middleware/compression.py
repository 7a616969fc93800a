"""GZip for clients that ask for it; everyone else skips the compression layer entirely."""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware

from moorage.middleware.asgi import ASGIApp, Receive, Scope, Send, header


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and b"gzip" in (header(scope, b"accept-encoding") or b""):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
