from __future__ import annotations

from pydantic import BaseModel


class HealthStatus(BaseModel):
    status: str


class ReadinessStatus(HealthStatus):
    checks: dict[str, str]  # "database": "ok"; with REDIS_URL "redis": "ok" or "unavailable"


class ServiceInfo(BaseModel):
    status: str
    version: str
    environment: str
