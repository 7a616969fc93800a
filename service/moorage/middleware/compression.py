"""GZip for clients that ask for it, decided per response: one that declares a small body is sent as is.

Starlette's GZip responder holds back every response start until it has seen the first body chunk
and parses the headers twice on the way; for a response whose Content-Length is already below the
threshold it then sends both messages unchanged. Such responses (most API answers) skip the
responder here; everything else goes through it.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipResponder

from moorage.middleware.asgi import ASGIApp, Message, Receive, Scope, Send, header


def _declared_length(message: Message) -> int | None:
    for name, value in message.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or b"gzip" not in (header(scope, b"accept-encoding") or b""):
            await self.app(scope, receive, send)
            return
        minimum_size = self.minimum_size
        responder: GZipResponder | None = None
        as_is = False

        async def send_compressed(message: Message) -> None:
            nonlocal responder, as_is
            if as_is:
                await send(message)
                return
            if responder is None:
                if message["type"] == "http.response.start":
                    length = _declared_length(message)
                    if length is not None and length < minimum_size:
                        as_is = True
                        await send(message)
                        return
                responder = GZipResponder(self.app, minimum_size)
                responder.send = send
            await responder.send_with_compression(message)

        await self.app(scope, receive, send_compressed)
