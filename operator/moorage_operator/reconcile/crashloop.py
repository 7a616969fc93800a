"""Reading the new pods of a rollout: does one of them crash-loop or fail to start?

Only the pods of the Deployment's current template count (the old ones keep serving). The verdict names
the pod, the container, the kubelet's reason and the tail of the termination message, with anything
that looks like a credential blanked out: a crash's traceback can print a database URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moorage_operator import names
from moorage_operator.reconcile.redaction import blank

# Waiting reasons that mean the container cannot start as it is: no back-off makes them pass.
CANNOT_START = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
# Exit codes of a container the kubelet killed (SIGKILL, SIGTERM), e.g. after failed probes.
KILLED = frozenset({137, 143})
# Restarts after such kills that make a crash loop rather than a slow start.
KILL_LIMIT = 3
TAIL_LIMIT = 400


@dataclass(frozen=True, slots=True)
class Crash:
    pod: str
    container: str
    reason: str  # CrashLoopBackOff, ImagePullBackOff, Error, OOMKilled, …
    detail: str  # exit code and the termination message's tail, scrubbed

    def describe(self) -> str:
        text = f"container {self.container} of pod {self.pod}: {self.reason}"
        return f"{text}: {self.detail}" if self.detail else text


def _template(dep: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((dep.get("spec") or {}).get("template")) or {}


def _images(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(c.get("name")): str(c.get("image")) for c in (obj.get("containers") or [])}


def is_current(pod: Mapping[str, Any], dep: Mapping[str, Any]) -> bool:
    """The pod was made from the Deployment's current template (same images, same rolling annotations)."""
    template = _template(dep)
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return False
    wanted = (template.get("metadata") or {}).get("annotations") or {}
    have = meta.get("annotations") or {}
    ours = {k: v for k, v in wanted.items() if k.startswith(f"{names.GROUP}/")}
    if any(have.get(k) != v for k, v in ours.items()):
        return False
    return _images(pod.get("spec") or {}) == _images(template.get("spec") or {})


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` blanked (``redaction.blank``), folded onto one line, its last ``TAIL_LIMIT`` characters."""
    text = blank(text, secrets)
    text = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= TAIL_LIMIT else "…" + text[-TAIL_LIMIT:]


def _terminated(status: Mapping[str, Any]) -> Mapping[str, Any]:
    state = status.get("state") or {}
    return state.get("terminated") or (status.get("lastState") or {}).get("terminated") or {}


def _detail(status: Mapping[str, Any], secrets: Sequence[str]) -> tuple[str, str]:
    """(reason, detail) of a failing container: its last exit and message, or why it cannot start."""
    waiting = (status.get("state") or {}).get("waiting") or {}
    term = _terminated(status)
    restarts = int(status.get("restartCount") or 0)
    if term:
        parts = [f"exit code {term.get('exitCode')}"]
        if term.get("reason") and term.get("reason") != "Error":
            parts[0] += f" ({term['reason']})"
        if restarts:
            parts.append(f"{restarts} restart(s)")
        message = scrub(str(term.get("message") or ""), secrets)
        detail = ", ".join(parts) + (f"; last output: {message}" if message else "")
    else:
        detail = scrub(str(waiting.get("message") or ""), secrets)
    return str(waiting.get("reason") or term.get("reason") or "Error"), detail


def _failing(status: Mapping[str, Any]) -> bool:
    """Cannot start, exited with an error and was restarted, or killed again and again.

    A kill (137/143 without OOMKilled) is the kubelet's answer to a failed startup or liveness probe: on
    a loaded node a slow start looks the same once, so only repeated kills count.
    """
    waiting = (status.get("state") or {}).get("waiting") or {}
    if waiting.get("reason") in CANNOT_START:
        return True
    restarts = int(status.get("restartCount") or 0)
    term = _terminated(status)
    code = int(term.get("exitCode") or 0)
    if code == 0 or restarts == 0:
        return False
    killed = code in KILLED and term.get("reason") != "OOMKilled"
    return restarts >= KILL_LIMIT if killed else True


def crash_loop(
    dep: Mapping[str, Any] | None, pods: Sequence[Mapping[str, Any]] | None, secrets: Sequence[str] = ()
) -> Crash | None:
    """The first failing container among the current template's pods (``None``: none fails, or unread)."""
    if not dep or not pods:
        return None
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name"))):
        if not is_current(pod, dep):
            continue
        pod_status = pod.get("status") or {}
        statuses = [
            *(pod_status.get("initContainerStatuses") or []),
            *(pod_status.get("containerStatuses") or []),
        ]
        for status in statuses:
            if _failing(status):
                reason, detail = _detail(status, secrets)
                name = str((pod.get("metadata") or {}).get("name"))
                return Crash(name, str(status.get("name")), reason, detail)
    return None
