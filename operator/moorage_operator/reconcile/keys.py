"""Step: the signing key ring (create, rotate, drop the previous key) and its status fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.durations import format_time
from moorage_operator.keyring import Action, KeyRing, plan_rotation, ring_from_secret, rotation_due_at
from moorage_operator.reconcile.model import (
    NORMAL,
    WARNING,
    Event,
    Instance,
    KeyRingOutcome,
    Observed,
    Outcome,
)
from moorage_operator.spec import AppSpec


def ring_status(ring: KeyRing, app: AppSpec) -> dict[str, Any]:
    return {
        "activeKeyId": ring.current_id,
        "previousKeyId": ring.previous_id,
        "previousKeyExpiresAt": format_time(ring.previous_expires_at) if ring.previous_expires_at else None,
        "lastRotationTime": format_time(ring.rotated_at),
        "nextRotationTime": format_time(rotation_due_at(ring, app.rotation)),
    }


def observe_keyring(app: AppSpec, observed: Observed) -> Outcome:
    """Paused: report the ring as it is, change nothing."""
    ring = ring_from_secret(observed.keyring)
    return Outcome(status=ring_status(ring, app) if ring is not None else {})


def plan_keyring(
    instance: Instance, app: AppSpec, observed: Observed, owner: manifests.Owner, now: datetime
) -> KeyRingOutcome:
    seen = ring_from_secret(observed.keyring)
    requested = instance.annotations.get(names.ANN_ROTATE) or None
    decision = plan_rotation(seen, now=now, rotation=app.rotation, requested=requested)
    ring = decision.ring
    out = KeyRingOutcome(ring=ring, status=ring_status(ring, app))
    version = ((observed.keyring or {}).get("metadata") or {}).get("resourceVersion")
    if decision.action is Action.CREATED:
        if observed.keyring is None:
            out.secret_create = manifests.keyring_secret(ring, owner)
            out.events.append(
                Event(
                    NORMAL,
                    "KeyRingCreated",
                    f"signing key {ring.current_id} created",
                    f"Secret/{names.keyring_name(instance.name)}",
                )
            )
        else:
            out.secret_replace = manifests.keyring_secret(ring, owner, resource_version=version)
            out.events.append(
                Event(WARNING, "KeyRingReset", f"the key-ring Secret was unusable; new key {ring.current_id}")
            )
    elif decision.action in (Action.ROTATED, Action.DROPPED_PREVIOUS):
        out.secret_replace = manifests.keyring_secret(ring, owner, resource_version=version)
        reason = "Rotated" if decision.action is Action.ROTATED else "PreviousKeyDropped"
        out.events.append(Event(NORMAL, reason, decision.message))
    elif decision.action is Action.DEFERRED:
        out.notes.progressing.append(("RotationDeferred", decision.message))
    return out
