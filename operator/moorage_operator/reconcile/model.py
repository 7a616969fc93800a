"""What the reconcile steps read and what they hand back.

Each step returns an ``Outcome``: the writes it wants, the events it announces, the status fields it
sets and its notes for the conditions. ``pipeline.merge`` folds them, in step order, into one ``Plan``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moorage_operator import names
from moorage_operator.keyring import KeyRing
from moorage_operator.spec import AppSpec

if TYPE_CHECKING:
    from moorage_operator.reconcile.references import Reference, Referenced

NORMAL = "Normal"
WARNING = "Warning"
MESSAGE_LIMIT = 1024

# (reason, message) for a condition; the first one recorded for a condition wins.
Reason = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Instance:
    name: str
    namespace: str
    uid: str
    generation: int
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Observed:
    """The instance's children as the cluster holds them (``None`` when absent).

    The single-object fields are named by ``kinds.CHILDREN`` (``Kind.field``).
    """

    keyring: Mapping[str, Any] | None = None
    config_map: Mapping[str, Any] | None = None
    service: Mapping[str, Any] | None = None
    deployment: Mapping[str, Any] | None = None
    autoscaler: Mapping[str, Any] | None = None
    disruption_budget: Mapping[str, Any] | None = None
    jobs: Sequence[Mapping[str, Any]] = ()
    service_account: Mapping[str, Any] | None = None
    ingress: Mapping[str, Any] | None = None
    http_route: Mapping[str, Any] | None = None
    network_policies: Sequence[Mapping[str, Any]] = ()
    # The referenced data (see ``references``): salted hashes, never values.
    database_secret_present: bool | None = None  # None: not checked
    database_secret_hash: str | None = None  # None: not read (the pods keep the one they have)
    references_hash: str | None = None  # spec.env/envFrom/redis; None: none referenced, or one missing
    missing_references: tuple[Reference, ...] = ()  # required ones the pods cannot start without
    migration_secret_present: bool | None = None  # None: not checked
    migration_secret_hash: str | None = None
    rejected: str | None = None  # the API server refused a child the spec produced (e.g. limits < requests)
    job_failure_message: str | None = None
    preflight_failure_message: str | None = None
    # The serving pods (old and new), read while a rollout is under way; ``None``: not read.
    server_pods: Sequence[Mapping[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class Ref:
    api_version: str
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    reason: str
    message: str
    # "Kind/name" of an object this event announces the creation of: posted only if this call created it
    # (a stale cache can plan a creation twice; the second one finds the object already there).
    creates: str | None = None


@dataclass(slots=True)
class Notes:
    """Condition notes; for each condition the first recorded reason wins."""

    degraded: list[Reason] = field(default_factory=list)
    progressing: list[Reason] = field(default_factory=list)
    not_ready: list[Reason] = field(default_factory=list)
    stalled: list[Reason] = field(default_factory=list)

    def extend(self, other: Notes) -> None:
        self.degraded.extend(other.degraded)
        self.progressing.extend(other.progressing)
        self.not_ready.extend(other.not_ready)
        self.stalled.extend(other.stalled)


def owned_content(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an object an apply can change (never its status or bookkeeping)."""
    meta = obj.get("metadata") or {}
    return {
        "spec": obj.get("spec"),
        "data": obj.get("data"),
        "labels": meta.get("labels"),
        "annotations": meta.get("annotations"),
    }


@dataclass(frozen=True, slots=True)
class Reapply:
    """An apply of an unchanged object, to undo manual edits: it did undo one when the content moved.

    Content, not ``resourceVersion``: status updates (an HPA's, a Deployment's) move that all the time.
    """

    desired: dict[str, Any]
    before: dict[str, Any]

    def reverted(self, stored: Mapping[str, Any]) -> bool:
        return owned_content(stored) != self.before


@dataclass(frozen=True, slots=True)
class JsonPatch:
    """Removes what server-side apply leaves alone: entries another field manager added to our lists."""

    ref: Ref
    operations: list[dict[str, Any]]
    message: str


@dataclass(slots=True)
class Outcome:
    """What one step decided."""

    applies: list[dict[str, Any]] = field(default_factory=list)
    reapplies: list[Reapply] = field(default_factory=list)
    patches: list[JsonPatch] = field(default_factory=list)
    deletes: list[Ref] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    secret_create: dict[str, Any] | None = None
    secret_replace: dict[str, Any] | None = None
    job_create: dict[str, Any] | None = None
    preflight_create: dict[str, Any] | None = None
    status: dict[str, Any] = field(default_factory=dict)
    notes: Notes = field(default_factory=Notes)


@dataclass(slots=True, kw_only=True)
class KeyRingOutcome(Outcome):
    ring: KeyRing


@dataclass(slots=True, kw_only=True)
class PreflightOutcome(Outcome):
    # The config the ConfigMap and the pods get now: the new one once checked, else the running one.
    config: dict[str, str]
    # The running image, kept while a new image (with migrations off) waits for its check.
    hold_image: str | None = None


@dataclass(slots=True, kw_only=True)
class RollbackOutcome(Outcome):
    # The spec as the later steps must realise it: the last good image and config while rolled back.
    app: AppSpec


@dataclass(slots=True)
class MigrationOutcome(Outcome):
    # The image the Deployment may run now (``None``: none yet, the first migration is pending).
    target: str | None = None


@dataclass(slots=True)
class RolloutOutcome(Outcome):
    # The Deployment as this reconcile wants it (``None`` when none is wanted yet).
    pending: dict[str, Any] | None = None


@dataclass(slots=True)
class RolloutState(Outcome):
    running_image: str | None = None  # the image the Deployment's replicas were written with
    complete: bool = False  # every replica runs the current template and is available


@dataclass(slots=True)
class Plan:
    secret_create: dict[str, Any] | None = None
    secret_replace: dict[str, Any] | None = None
    applies: list[dict[str, Any]] = field(default_factory=list)
    reapplies: list[Reapply] = field(default_factory=list)
    patches: list[JsonPatch] = field(default_factory=list)
    deletes: list[Ref] = field(default_factory=list)
    job_create: dict[str, Any] | None = None
    preflight_create: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    notes: Notes = field(default_factory=Notes)


@dataclass(frozen=True, slots=True)
class Reads:
    """What the handlers must fetch beyond the watched children before planning."""

    # The Secrets and ConfigMaps the pods and the migration consume (None: the spec cannot be planned).
    references: Referenced | None = None
    # The migration Job whose pods' termination message to read when it has failures.
    migration_job: str | None = None
    # The preflight Job whose refusal to read when it failed.
    preflight_job: str | None = None
    # The serving pods, to catch a crash-looping rollout before its deadline.
    server_pods: bool = False


def annotations_of(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    return ((obj or {}).get("metadata") or {}).get("annotations") or {}


def needs_apply(observed: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    return (
        annotations_of(observed).get(names.ANN_APPLIED_HASH)
        != annotations_of(desired)[names.ANN_APPLIED_HASH]
    )


def truncate(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MESSAGE_LIMIT else "…" + text[-MESSAGE_LIMIT:]


def apply_child(
    out: Outcome, desired: dict[str, Any], seen: Mapping[str, Any] | None, *, reapply: bool = False
) -> bool:
    """Queue ``desired`` when it differs from what the cluster holds; announce a creation.

    ``reapply`` (the periodic drift check) re-sends an unchanged object too: server-side apply with
    force takes back every field the operator sets and leaves the others alone.
    """
    if not needs_apply(seen, desired):
        if reapply and seen is not None:
            out.reapplies.append(Reapply(desired, owned_content(seen)))
        return False
    out.applies.append(desired)
    if seen is None:
        meta = desired["metadata"]
        kind = desired["kind"]
        out.events.append(
            Event(NORMAL, "Created", f"created {kind} {meta['name']}", f"{kind}/{meta['name']}")
        )
    return True
