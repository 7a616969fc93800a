"""Request count and latency per route template (never the raw path: bounded cardinality)."""

from __future__ import annotations

import time

from moorage.metrics import Metrics
from moorage.middleware.asgi import ASGIApp, Receive, Scope, Send, StatusRecorder
from moorage.route_templates import RouteTemplates


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, templates: RouteTemplates) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = StatusRecorder(send)
        started = time.perf_counter()
        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, response.send)
        finally:
            self.metrics.in_progress.dec()
            template = self.templates.resolve(scope["path"])
            method = scope["method"]
            self.metrics.count(method, template, response.status)
            self.metrics.observe(method, template, time.perf_counter() - started)
