"""Fixed windows counted in this process: each worker and replica enforces its own share."""

from __future__ import annotations

import time
from collections.abc import Callable

from moorage.rate_limit.window import Hit


class LocalCounter:
    """Windows aligned on multiples of the window length, on this process's monotonic clock."""

    def __init__(self, window_seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window_seconds
        self.clock = clock
        self._window_index = -1
        self._counts: dict[str, int] = {}

    async def hit(self, key: str) -> Hit:
        return self.hit_now(key)

    def hit_now(self, key: str) -> Hit:
        """`hit` without a coroutine: nothing here waits (the middleware calls it directly)."""
        now = self.clock()
        index = int(now // self.window)
        if index != self._window_index:
            self._window_index = index
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return Hit(count=count, reset_after=(index + 1) * self.window - now)
