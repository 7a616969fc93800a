"""Go-style durations (``90s``, ``1h30m``, ``720h``): the format Kubernetes CEL's ``duration()`` reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> timedelta:
    """Parse ``1h30m`` into a timedelta; raise ``ValueError`` on anything else."""
    if not text:
        raise ValueError("empty duration")
    position = 0
    seconds = 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 25h, 1h30m)")
    return timedelta(seconds=seconds)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, to the second: the form Kubernetes uses for timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
