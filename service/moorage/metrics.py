"""Prometheus instruments, kept in a registry per app so tests can build many apps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PoolCollector(Collector):
    """Reads the connection pool's state at scrape time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self._engine.sync_engine.pool
        if not isinstance(pool, QueuePool):
            return
        readings = {
            "size": ("Configured pool size.", pool.size()),
            "checked_out": ("Connections in use.", pool.checkedout()),
            "checked_in": ("Idle connections in the pool.", pool.checkedin()),
            "overflow": ("Connections beyond the pool size.", pool.overflow()),
        }
        for name, (documentation, value) in readings.items():
            yield GaugeMetricFamily(f"moorage_db_pool_{name}", documentation, value=value)


@dataclass(slots=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    in_progress: Gauge
    rate_limit_redis_errors: Counter
    rate_limit_fallbacks: Counter
    rate_limit_shared: Gauge
    # Requests being served, read by `in_progress` at scrape time: a plain int on the event loop's
    # thread instead of two locked gauge updates per request.
    in_flight: int = 0
    # Labelled children cached: labels() takes a lock and validates on every call.
    _children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(default_factory=dict)

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        """Counts the request and observes its latency, both labelled children from one lookup."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


def create_metrics(engine: AsyncEngine) -> Metrics:
    registry = CollectorRegistry(auto_describe=True)
    metrics = Metrics(
        registry=registry,
        requests=Counter(
            "http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        in_progress=Gauge("http_requests_in_progress", "HTTP requests being served.", registry=registry),
        rate_limit_redis_errors=Counter(
            "moorage_rate_limit_redis_errors",
            "Rate limit calls to Redis that failed (REDIS_URL set, Redis unreachable or erroring).",
            registry=registry,
        ),
        rate_limit_fallbacks=Counter(
            "moorage_rate_limit_fallback",
            "Requests counted by this process alone because Redis was unreachable.",
            registry=registry,
        ),
        rate_limit_shared=Gauge(
            "moorage_rate_limit_shared",
            "1 while the rate limit is counted in Redis; 0 without REDIS_URL or while Redis is unreachable.",
            registry=registry,
        ),
    )
    metrics.in_progress.set_function(lambda: metrics.in_flight)
    registry.register(PoolCollector(engine))
    return metrics
