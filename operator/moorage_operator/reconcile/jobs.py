"""Reading a Job's outcome from its status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def job_state(job: Mapping[str, Any]) -> str:
    """``Succeeded``, ``Failed`` or ``Running`` from the Job's terminal conditions."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") == "Complete":
            return "Succeeded"
        if cond.get("status") == "True" and cond.get("type") == "Failed":
            return "Failed"
    return "Running"


def job_failure_reason(job: Mapping[str, Any]) -> str:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            return f"{cond.get('reason', 'Failed')}: {cond.get('message', '')}".strip()
    return ""


def job_failures(job: Mapping[str, Any]) -> int:
    return int((job.get("status") or {}).get("failed", 0))


def job_named(jobs: Any, name: str) -> Mapping[str, Any] | None:
    return next((j for j in jobs if (j.get("metadata") or {}).get("name") == name), None)
