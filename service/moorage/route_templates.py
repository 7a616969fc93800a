"""Maps a request path to its route template ("/api/v1/items/{item_id}") for metric labels.

Resolved from the app's own routes rather than router internals, which FastAPI has changed
between releases; the answer for a path is cached, bounded.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import compile_path

from moorage.paths import OPERATIONAL_PATHS

UNMATCHED = "unmatched"
_CACHE_SIZE = 2048


class RouteTemplates:
    def __init__(self, app: Any) -> None:
        self._app = app
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None
        self._cache: dict[str, str] = {}

    def _build(self) -> list[tuple[re.Pattern[str], str]]:
        templates = set(self._app.openapi().get("paths", {}))
        templates.update(getattr(route, "path", None) for route in self._app.routes)
        templates.discard(None)
        # Literal paths before parameterised ones, so "/users/me" wins over "/users/{user_id}".
        ordered = sorted(templates, key=lambda t: ("{" in t, -len(t)))
        return [(compile_path(template)[0], template) for template in ordered]

    def resolve(self, path: str) -> str:
        if path in OPERATIONAL_PATHS:
            # Literal routes: a probe never pays for building the OpenAPI document on a cold start.
            return path
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        if self._patterns is None:
            self._patterns = self._build()
        template = next((t for pattern, t in self._patterns if pattern.match(path)), UNMATCHED)
        if len(self._cache) >= _CACHE_SIZE:
            # Oldest first (dicts keep insertion order): a FIFO bound, without an LRU's reordering
            # on every hit.
            del self._cache[next(iter(self._cache))]
        self._cache[path] = template
        return template
