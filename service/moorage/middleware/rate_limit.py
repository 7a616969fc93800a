"""A per-client fixed-window request limit, answered with 429 and Retry-After.

The client is the authenticated user or the address (`moorage.rate_limit.identity`); the counts
live in this process or, with REDIS_URL, in Redis (`moorage.rate_limit.local` / `.shared`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from moorage.errors import envelope
from moorage.middleware.asgi import ASGIApp, Receive, Scope, Send, send_json
from moorage.rate_limit.identity import rate_limit_key
from moorage.rate_limit.local import LocalCounter
from moorage.rate_limit.window import WindowCounter
from moorage.tokens import TokenVerifier


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        window_seconds: int,
        counter: WindowCounter,
        tokens: TokenVerifier,
        exempt_prefixes: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.limit = limit
        self.window = window_seconds
        self.counter = counter
        self._hit_now = counter.hit_now if isinstance(counter, LocalCounter) else None
        self.tokens = tokens
        self.exempt_prefixes = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        key = rate_limit_key(scope, self.tokens)
        hit = self._hit_now(key) if self._hit_now is not None else await self.counter.hit(key)
        if hit.count > self.limit:
            retry_after = max(1, math.ceil(hit.reset_after))
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
