"""The conditions the merged notes amount to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moorage_operator.conditions import (
    DEGRADED,
    PROGRESSING,
    READY,
    RECONCILING,
    STALLED,
    Condition,
    merge_conditions,
)
from moorage_operator.reconcile.model import Instance, Notes

# Progressing notes that are no work under way (kstatus: neither Reconciling nor Stalled).
IDLE = frozenset({"Paused"})


def conditions(notes: Notes, *, serving: str | None) -> list[Condition]:
    """Ready/Progressing/Degraded for people, Reconciling/Stalled for kstatus; never both of the latter.

    Stalled wins: work that cannot finish without a change is not "under way". Progressing=False says
    "the instance matches its spec" only when nothing is pending, failing or waiting.
    """
    stalled = notes.stalled[0] if notes.stalled else None
    first = notes.progressing[0] if notes.progressing and stalled is None else None
    working = first if first is not None and first[0] not in IDLE else None
    if notes.not_ready:
        ready = Condition(READY, False, *notes.not_ready[0])
    else:
        ready = Condition(READY, True, "Available", f"all replicas run {serving} and are available")
    if first is not None:
        progressing = Condition(PROGRESSING, True, *first)
    elif stalled is not None:
        progressing = Condition(PROGRESSING, False, stalled[0], f"waiting for a change: {stalled[1]}")
    elif notes.not_ready:
        progressing = Condition(PROGRESSING, False, *notes.not_ready[0])
    else:
        progressing = Condition(PROGRESSING, False, "Reconciled", "the instance matches its spec")
    if notes.degraded:
        degraded = Condition(DEGRADED, True, *notes.degraded[0])
    else:
        degraded = Condition(DEGRADED, False, "AsExpected", "")
    if working is not None:
        reconciling = Condition(RECONCILING, True, *working)
    else:
        reconciling = Condition(RECONCILING, False, progressing.reason, "no work under way")
    if stalled is not None:
        stall = Condition(STALLED, True, *stalled)
    else:
        stall = Condition(STALLED, False, "AsExpected", "")
    return [ready, progressing, degraded, reconciling, stall]


def invalid_conditions(reason: str, message: str) -> list[Condition]:
    return [
        Condition(READY, False, reason, message),
        Condition(PROGRESSING, False, reason, "waiting for a corrected spec"),
        Condition(DEGRADED, True, reason, message),
        Condition(RECONCILING, False, reason, "waiting for a corrected spec"),
        Condition(STALLED, True, reason, message),
    ]


def finish(
    instance: Instance, status: dict[str, Any], conds: list[Condition], now: datetime
) -> dict[str, Any]:
    status["observedGeneration"] = instance.generation
    status["conditions"] = merge_conditions(
        instance.status.get("conditions"), conds, generation=instance.generation, now=now
    )
    return status
