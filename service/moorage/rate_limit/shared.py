"""Fixed windows counted in Redis: one limit for every worker and replica.

While Redis does not answer, each process counts on its own (the limit then holds per process,
as without REDIS_URL): requests keep being served, never refused for the store's sake. The
outage is logged once, counted in `moorage_rate_limit_redis_errors_total` and
`moorage_rate_limit_fallback_total`, shown by `moorage_rate_limit_shared` dropping to 0, and Redis
is tried again after `RETRY_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from moorage.rate_limit.local import LocalCounter
from moorage.rate_limit.window import Hit

logger = logging.getLogger("moorage.rate_limit")

KEY_PREFIX = "moorage:ratelimit:"
RETRY_SECONDS = 1.0

# One round trip, atomic: the first hit of a window starts its expiry; a key that somehow lost its
# TTL gets one back. Redis owns the window, so replicas agree on it whatever their clocks say.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


def create_redis(url: str, timeout_seconds: float) -> Redis:
    # No client-side retries: a slow or absent store must cost a request one bounded attempt.
    return Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
    )


class SharedCounter:
    def __init__(
        self,
        client: Redis,
        window_seconds: int,
        *,
        errors: Counter,
        fallbacks: Counter,
        shared: Gauge,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._script = client.register_script(_HIT_SCRIPT)
        self._window_ms = window_seconds * 1000
        self._fallback = LocalCounter(window_seconds, clock)
        self._errors = errors
        self._fallbacks = fallbacks
        self._shared_gauge = shared
        self._clock = clock
        self._retry_at = 0.0
        self._shared: bool | None = None  # None until the first call to Redis

    async def hit(self, key: str) -> Hit:
        if self._shared is False and self._clock() < self._retry_at:
            return await self._local_hit(key)
        try:
            count, ttl_ms = await self._script(keys=[KEY_PREFIX + key], args=[self._window_ms])
        except (RedisError, OSError) as error:
            self._errors.inc()
            self._retry_at = self._clock() + RETRY_SECONDS
            if self._shared is not False:
                self._shared = False
                self._shared_gauge.set(0)
                logger.warning(
                    "rate limit store unavailable; counting in this process until it answers",
                    extra={"reason": type(error).__name__},
                )
            return await self._local_hit(key)
        if self._shared is not True:
            if self._shared is False:
                logger.info("rate limit store answers again; the limit is shared")
            self._shared = True
            self._shared_gauge.set(1)
        return Hit(count=int(count), reset_after=int(ttl_ms) / 1000)

    async def _local_hit(self, key: str) -> Hit:
        self._fallbacks.inc()
        return await self._fallback.hit(key)
