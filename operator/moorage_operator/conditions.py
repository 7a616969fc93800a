"""Status conditions: ``lastTransitionTime`` moves only when the status flips; the rest always updates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moorage_operator.durations import format_time

READY = "Ready"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
# kstatus's abnormal-true pair (sigs.k8s.io/cli-utils/pkg/kstatus): what Flux, kpt and friends wait on.
RECONCILING = "Reconciling"
STALLED = "Stalled"
ORDER = (READY, PROGRESSING, DEGRADED, RECONCILING, STALLED)


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str = ""


def merge_conditions(
    previous: Iterable[Mapping[str, Any]] | None,
    wanted: Iterable[Condition],
    *,
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The new condition list: one entry per wanted type, in a stable order.

    A condition keeps its ``lastTransitionTime`` when its status did not change, so the time tells
    when the state was entered, not when the operator last looked.
    """
    before = {str(c.get("type")): c for c in (previous or []) if isinstance(c, Mapping)}
    merged: list[dict[str, Any]] = []
    for cond in sorted(wanted, key=lambda c: ORDER.index(c.type) if c.type in ORDER else len(ORDER)):
        status = "True" if cond.status else "False"
        old = before.get(cond.type)
        changed = old is None or old.get("status") != status or not old.get("lastTransitionTime")
        merged.append(
            {
                "type": cond.type,
                "status": status,
                "reason": cond.reason,
                "message": cond.message,
                "lastTransitionTime": format_time(now) if changed else old["lastTransitionTime"],  # type: ignore[index]
                "observedGeneration": generation,
            }
        )
    return merged


def find(conditions: Iterable[Mapping[str, Any]] | None, kind: str) -> Mapping[str, Any] | None:
    for cond in conditions or []:
        if cond.get("type") == kind:
            return cond
    return None


def is_true(conditions: Iterable[Mapping[str, Any]] | None, kind: str) -> bool:
    cond = find(conditions, kind)
    return cond is not None and cond.get("status") == "True"
