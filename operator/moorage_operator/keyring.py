"""The signing key ring and its rotation, as pure functions of the ring, the clock and the spec.

All rotation state lives on the key-ring Secret (its keys and annotations), so a restarted operator
decides exactly what the previous one would have. Rotation: the new key becomes ``SECRET_KEY``, the old
current one moves to ``SECRET_KEY_PREVIOUS`` and is dropped once the grace period has passed.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from moorage_operator import names
from moorage_operator.durations import format_time, parse_time
from moorage_operator.spec import Rotation

KEY_ID_LENGTH = 16


def key_id(key: str) -> str:
    """The service's key id: the first 16 hex characters of the key's SHA-256 (docs/contract.md)."""
    return hashlib.sha256(key.encode()).hexdigest()[:KEY_ID_LENGTH]


def new_key() -> str:
    return secrets.token_urlsafe(48)  # 64 characters; the service needs at least 32


@dataclass(frozen=True, slots=True)
class KeyRing:
    current: str
    rotated_at: datetime
    previous: str | None = None
    previous_expires_at: datetime | None = None
    rotate_handled: str | None = None  # the last on-demand rotation request this ring answered

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    @property
    def previous_id(self) -> str | None:
        return key_id(self.previous) if self.previous else None

    @property
    def version(self) -> str:
        """Changes with every key change: carried by the pod template so the pods roll."""
        return f"{self.current_id}.{self.previous_id or 'none'}"


class Action(enum.Enum):
    NONE = "none"
    CREATED = "created"
    ROTATED = "rotated"
    DROPPED_PREVIOUS = "dropped-previous"
    DEFERRED = "deferred"


@dataclass(frozen=True, slots=True)
class Decision:
    ring: KeyRing
    action: Action
    message: str = ""


def rotation_due_at(ring: KeyRing, rotation: Rotation) -> datetime:
    """When the next scheduled rotation is due; never before the previous key has expired."""
    due = ring.rotated_at + rotation.interval
    if ring.previous and ring.previous_expires_at and ring.previous_expires_at > due:
        return ring.previous_expires_at
    return due


def plan_rotation(
    ring: KeyRing | None,
    *,
    now: datetime,
    rotation: Rotation,
    requested: str | None,
    make_key: Any = new_key,
) -> Decision:
    """Decide what the key ring should be now.

    ``requested`` is the value of the instance's rotate annotation: a value the ring has not answered
    yet asks for a rotation. A rotation while a previous key is still inside its grace would drop that
    key early and log its users out, so it waits until the grace has ended.
    """
    if ring is None:
        return Decision(KeyRing(current=make_key(), rotated_at=now, rotate_handled=requested), Action.CREATED)

    previous_live = bool(ring.previous) and (
        ring.previous_expires_at is None or now < ring.previous_expires_at
    )
    on_demand = bool(requested) and requested != ring.rotate_handled
    scheduled = now >= ring.rotated_at + rotation.interval

    if on_demand or scheduled:
        if previous_live:
            until = format_time(ring.previous_expires_at) if ring.previous_expires_at else "its expiry"
            return Decision(
                ring,
                Action.DEFERRED,
                f"rotation waits until the previous key {ring.previous_id} expires at {until}",
            )
        rotated = KeyRing(
            current=make_key(),
            rotated_at=now,
            previous=ring.current,
            previous_expires_at=now + rotation.grace_period,
            rotate_handled=requested if on_demand else ring.rotate_handled,
        )
        why = "on demand" if on_demand else "on schedule"
        return Decision(
            rotated,
            Action.ROTATED,
            f"rotated {why}: key {rotated.current_id} is current, {ring.current_id} stays valid until "
            f"{format_time(rotated.previous_expires_at or now)}",
        )

    if ring.previous and not previous_live:
        dropped = replace(ring, previous=None, previous_expires_at=None)
        return Decision(
            dropped, Action.DROPPED_PREVIOUS, f"grace ended: dropped previous key {ring.previous_id}"
        )

    return Decision(ring, Action.NONE)


def _decode(data: Mapping[str, Any], key: str) -> str | None:
    raw = data.get(key)
    if not raw:
        return None
    try:
        return base64.b64decode(raw).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def ring_from_secret(secret: Mapping[str, Any] | None) -> KeyRing | None:
    """Read a ring from its Secret; ``None`` when absent or unusable (then a fresh ring is made)."""
    if not secret:
        return None
    data = secret.get("data") or {}
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    current = _decode(data, names.SECRET_KEY)
    rotated_at = parse_time(annotations.get(names.ANN_ROTATED_AT))
    if not current or rotated_at is None:
        return None
    previous = _decode(data, names.SECRET_KEY_PREVIOUS)
    return KeyRing(
        current=current,
        rotated_at=rotated_at,
        previous=previous,
        previous_expires_at=parse_time(annotations.get(names.ANN_PREVIOUS_EXPIRES_AT)) if previous else None,
        rotate_handled=annotations.get(names.ANN_ROTATE_HANDLED) or None,
    )


def ring_secret_content(ring: KeyRing) -> tuple[dict[str, str], dict[str, str]]:
    """The Secret's ``data`` and the annotations that carry the rotation state."""
    data = {names.SECRET_KEY: base64.b64encode(ring.current.encode()).decode()}
    annotations = {
        names.ANN_ROTATED_AT: format_time(ring.rotated_at),
        names.ANN_KEY_ID: ring.current_id,
    }
    if ring.previous:
        data[names.SECRET_KEY_PREVIOUS] = base64.b64encode(ring.previous.encode()).decode()
        annotations[names.ANN_PREVIOUS_KEY_ID] = ring.previous_id or ""
        if ring.previous_expires_at:
            annotations[names.ANN_PREVIOUS_EXPIRES_AT] = format_time(ring.previous_expires_at)
    if ring.rotate_handled:
        annotations[names.ANN_ROTATE_HANDLED] = ring.rotate_handled
    return data, annotations


def seconds_until(moment: datetime, now: datetime) -> float:
    return max((moment - now) / timedelta(seconds=1), 0.0)
