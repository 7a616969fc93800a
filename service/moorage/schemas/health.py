from __future__ import annotations

from pydantic import BaseModel


class HealthStatus(BaseModel):
    status: str


class ServiceInfo(BaseModel):
    status: str
    version: str
    environment: str
