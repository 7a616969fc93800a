"""The conditions the merged notes amount to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moorage_operator.conditions import DEGRADED, PROGRESSING, READY, Condition, merge_conditions
from moorage_operator.reconcile.model import Instance, Notes


def conditions(notes: Notes, *, serving: str | None) -> list[Condition]:
    if notes.not_ready:
        ready = Condition(READY, False, *notes.not_ready[0])
    else:
        ready = Condition(READY, True, "Available", f"all replicas run {serving} and are available")
    if notes.progressing:
        progressing = Condition(PROGRESSING, True, *notes.progressing[0])
    else:
        progressing = Condition(PROGRESSING, False, "Reconciled", "the instance matches its spec")
    if notes.degraded:
        degraded = Condition(DEGRADED, True, *notes.degraded[0])
    else:
        degraded = Condition(DEGRADED, False, "AsExpected", "")
    return [ready, progressing, degraded]


def invalid_conditions(reason: str, message: str) -> list[Condition]:
    return [
        Condition(READY, False, reason, message),
        Condition(PROGRESSING, False, reason, "waiting for a corrected spec"),
        Condition(DEGRADED, True, reason, message),
    ]


def finish(
    instance: Instance, status: dict[str, Any], conds: list[Condition], now: datetime
) -> dict[str, Any]:
    status["observedGeneration"] = instance.generation
    status["conditions"] = merge_conditions(
        instance.status.get("conditions"), conds, generation=instance.generation, now=now
    )
    return status
