"""A per-client fixed-window request limit, answered with 429 and Retry-After.

Counts live in this process: with several workers or replicas each enforces its own share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

from moorage.errors import envelope
from moorage.middleware.asgi import ASGIApp, Receive, Scope, Send, send_json


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        window_seconds: int,
        exempt_prefixes: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limit = limit
        self.window = window_seconds
        self.exempt_prefixes = tuple(exempt_prefixes)
        self.clock = clock
        self._window_index = -1
        self._counts: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        now = self.clock()
        index = int(now // self.window)
        if index != self._window_index:
            self._window_index = index
            self._counts = {}
        client = scope.get("client")
        key = client[0] if client else "unknown"
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count > self.limit:
            retry_after = max(1, math.ceil((index + 1) * self.window - now))
            await send_json(
                send,
                429,
                envelope(
                    "rate_limited",
                    "Too many requests; retry later.",
                    {"limit": self.limit, "window_seconds": self.window, "retry_after": retry_after},
                ),
                [
                    (b"retry-after", str(retry_after).encode()),
                    (b"x-ratelimit-limit", str(self.limit).encode()),
                ],
            )
            return
        await self.app(scope, receive, send)
