"""What one app instance holds for its lifetime, typed, instead of loose `app.state` attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from moorage.config import Settings
from moorage.db.engine import Database
from moorage.keys import KeyRing
from moorage.tokens import TokenVerifier

if TYPE_CHECKING:  # tracing is imported only when it is switched on
    from fastapi import FastAPI
    from redis.asyncio import Redis

    from moorage.telemetry import Tracing


@dataclass(slots=True)
class Resources:
    settings: Settings
    key_ring: KeyRing
    tokens: TokenVerifier
    database: Database
    tracing: Tracing | None = None
    redis: Redis | None = None


def resources_of(app: FastAPI) -> Resources:
    resources: Resources = app.state.resources
    return resources


def request_resources(request: HTTPConnection) -> Resources:
    resources: Resources = request.app.state.resources
    return resources
