"""What a counter answers for one request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Hit:
    count: int  # requests in the current window, this one included
    reset_after: float  # seconds until the window ends


class WindowCounter(Protocol):
    async def hit(self, key: str) -> Hit: ...
