"""The service's fixed URL paths: one source for routers, middleware, tracing and settings."""

from __future__ import annotations

API_PREFIX = "/api/v1"
HEALTH_PATH = f"{API_PREFIX}/health"
METRICS_PATH = "/metrics"
TOKEN_PATH = f"{API_PREFIX}/auth/token"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"
DOCS_PATH = f"{API_PREFIX}/docs"

# Probes and scrapes: not rate limited, not traced, not access-logged by default. Matched exactly.
OPERATIONAL_PATHS: frozenset[str] = frozenset(
    {HEALTH_PATH, f"{HEALTH_PATH}/live", f"{HEALTH_PATH}/ready", METRICS_PATH}
)


def is_operational(path: str) -> bool:
    return path in OPERATIONAL_PATHS
