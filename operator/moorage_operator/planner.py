"""The reconcile decision: what the cluster holds in, what to change and what status to report out.

Pure and level-based. The inputs are the instance and its children as observed in the cluster; the
output is a plan the handlers carry out. Nothing is remembered between calls, so a restarted operator
reaches the same decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.conditions import DEGRADED, PROGRESSING, READY, Condition, merge_conditions
from moorage_operator.durations import format_time
from moorage_operator.exposure import url
from moorage_operator.extras import EXPOSURE_KINDS, plan_extras
from moorage_operator.keyring import Action, KeyRing, plan_rotation, ring_from_secret, rotation_due_at
from moorage_operator.spec import AppSpec, InvalidSpec, grace_problem, migration_inputs, parse_spec

NORMAL = "Normal"
WARNING = "Warning"
MESSAGE_LIMIT = 1024


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
    """The instance's children as the cluster holds them (``None`` when absent)."""

    keyring: Mapping[str, Any] | None = None
    config_map: Mapping[str, Any] | None = None
    service: Mapping[str, Any] | None = None
    deployment: Mapping[str, Any] | None = None
    autoscaler: Mapping[str, Any] | None = None
    disruption_budget: Mapping[str, Any] | None = None
    jobs: Sequence[Mapping[str, Any]] = ()
    database_secret_present: bool | None = None  # None: not checked
    rejected: str | None = None  # the API server refused a child the spec produced (e.g. limits < requests)
    job_failure_message: str | None = None
    extras: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # "Kind/name" -> object (extras.py)


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
class Plan:
    secret_create: dict[str, Any] | None = None
    secret_replace: dict[str, Any] | None = None
    applies: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[Ref] = field(default_factory=list)
    job_create: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)


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


def _annotations(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    return ((obj or {}).get("metadata") or {}).get("annotations") or {}


def _needs_apply(observed: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    return _annotations(observed).get(names.ANN_APPLIED_HASH) != _annotations(desired)[names.ANN_APPLIED_HASH]


def rollout_complete(dep: Mapping[str, Any] | None) -> bool:
    """Every replica runs the current template and is available; no old pods are left."""
    if not dep:
        return False
    meta = dep.get("metadata") or {}
    spec = dep.get("spec") or {}
    st = dep.get("status") or {}
    want = int(spec.get("replicas", 1))
    return (
        int(st.get("observedGeneration", -1)) >= int(meta.get("generation", 0))
        and int(st.get("updatedReplicas", 0)) >= want
        and int(st.get("availableReplicas", 0)) >= want
        and int(st.get("replicas", 0)) == int(st.get("updatedReplicas", 0))
        and want >= 1
    )


def _truncate(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MESSAGE_LIMIT else "…" + text[-MESSAGE_LIMIT:]


class _Status:
    """Collects the condition outcomes while planning; the first reason recorded for each wins."""

    def __init__(self) -> None:
        self.degraded: list[tuple[str, str]] = []
        self.progressing: list[tuple[str, str]] = []
        self.not_ready: list[tuple[str, str]] = []


def plan(instance: Instance, observed: Observed, now: datetime) -> Plan:
    result = Plan()
    status = dict(instance.status)
    status.pop("conditions", None)
    try:
        app = parse_spec(instance.spec)
    except InvalidSpec as exc:
        conds = [
            Condition(READY, False, exc.reason, exc.message),
            Condition(PROGRESSING, False, exc.reason, "waiting for a corrected spec"),
            Condition(DEGRADED, True, exc.reason, exc.message),
        ]
        result.status = _finish(instance, status, conds, now)
        return result

    owner = manifests.Owner(instance.name, instance.namespace, instance.uid, dict(instance.labels))
    notes = _Status()
    if app.paused:
        notes.progressing.append(("Paused", "spec.paused is set: the operator changes nothing"))
        ring = ring_from_secret(observed.keyring)
        if ring is not None:
            _ring_status(status, ring, app)
        _report(instance, app, observed, status, notes, result, now, target=None)
        return result

    ring = _plan_keyring(instance, app, observed, owner, now, result, notes)
    _ring_status(status, ring, app)
    status["url"] = url(app.expose)  # None deletes it (merge patch)

    if observed.rejected:
        notes.degraded.append(("ChildRejected", _truncate(observed.rejected)))
        notes.not_ready.append(("ChildRejected", _truncate(observed.rejected)))
    problem = grace_problem(app)
    if problem:
        notes.degraded.append(("GracePeriodTooShort", problem))
    db_missing = observed.database_secret_present is False
    if db_missing:
        message = (
            f"the Secret {app.database.name!r} with key {app.database.key!r} "
            f"(or the migration Secret {app.migration_database.name!r}) is missing"
        )
        notes.degraded.append(("DatabaseSecretMissing", message))
        notes.not_ready.append(("DatabaseSecretMissing", message))

    for desired, seen in (
        (manifests.config_map(app, owner), observed.config_map),
        (manifests.service(owner), observed.service),
        (manifests.disruption_budget(owner), observed.disruption_budget),
    ):
        _apply(result, desired, seen)
    extra_applies, extra_deletes = plan_extras(app, owner, observed.extras)
    for desired, seen in extra_applies:
        if _apply(result, desired, seen) and desired["kind"] in EXPOSURE_KINDS and url(app.expose):
            result.events.append(Event(NORMAL, "Exposed", f"serving at {url(app.expose)}"))
    result.deletes += [Ref(*ref) for ref in extra_deletes]
    hpa = manifests.autoscaler(app, owner)
    if hpa is not None:
        _apply(result, hpa, observed.autoscaler)
    elif observed.autoscaler is not None:
        result.deletes.append(Ref("autoscaling/v2", "HorizontalPodAutoscaler", instance.name))

    target = _plan_migration(instance, app, observed, owner, status, result, notes, db_missing)

    if target is not None and not (db_missing and observed.deployment is None):
        desired_dep = manifests.deployment(app, owner, image=target, ring=ring)
        if _apply(result, desired_dep, observed.deployment):
            if observed.deployment is not None:
                result.events.append(
                    Event(NORMAL, "RollingOut", f"rolling out {target} (key ring {ring.version})")
                )
            notes.progressing.append(("RollingOut", f"rolling out {target}"))
        _report(instance, app, observed, status, notes, result, now, target=target, pending=desired_dep)
    else:
        _report(instance, app, observed, status, notes, result, now, target=target)
    return result


def _apply(result: Plan, desired: dict[str, Any], seen: Mapping[str, Any] | None) -> bool:
    if not _needs_apply(seen, desired):
        return False
    result.applies.append(desired)
    if seen is None:
        meta = desired["metadata"]
        kind = desired["kind"]
        result.events.append(
            Event(NORMAL, "Created", f"created {kind} {meta['name']}", f"{kind}/{meta['name']}")
        )
    return True


def _plan_keyring(
    instance: Instance,
    app: AppSpec,
    observed: Observed,
    owner: manifests.Owner,
    now: datetime,
    result: Plan,
    notes: _Status,
) -> KeyRing:
    seen = ring_from_secret(observed.keyring)
    requested = instance.annotations.get(names.ANN_ROTATE) or None
    decision = plan_rotation(seen, now=now, rotation=app.rotation, requested=requested)
    ring = decision.ring
    version = ((observed.keyring or {}).get("metadata") or {}).get("resourceVersion")
    if decision.action is Action.CREATED:
        if observed.keyring is None:
            result.secret_create = manifests.keyring_secret(ring, owner)
            result.events.append(
                Event(
                    NORMAL,
                    "KeyRingCreated",
                    f"signing key {ring.current_id} created",
                    f"Secret/{names.keyring_name(instance.name)}",
                )
            )
        else:
            result.secret_replace = manifests.keyring_secret(ring, owner, resource_version=version)
            result.events.append(
                Event(WARNING, "KeyRingReset", f"the key-ring Secret was unusable; new key {ring.current_id}")
            )
    elif decision.action in (Action.ROTATED, Action.DROPPED_PREVIOUS):
        result.secret_replace = manifests.keyring_secret(ring, owner, resource_version=version)
        reason = "Rotated" if decision.action is Action.ROTATED else "PreviousKeyDropped"
        result.events.append(Event(NORMAL, reason, decision.message))
    elif decision.action is Action.DEFERRED:
        notes.progressing.append(("RotationDeferred", decision.message))
    return ring


def _ring_status(status: dict[str, Any], ring: KeyRing, app: AppSpec) -> None:
    status["activeKeyId"] = ring.current_id
    status["previousKeyId"] = ring.previous_id
    status["previousKeyExpiresAt"] = (
        format_time(ring.previous_expires_at) if ring.previous_expires_at else None
    )
    status["lastRotationTime"] = format_time(ring.rotated_at)
    status["nextRotationTime"] = format_time(rotation_due_at(ring, app.rotation))


def _plan_migration(
    instance: Instance,
    app: AppSpec,
    observed: Observed,
    owner: manifests.Owner,
    status: dict[str, Any],
    result: Plan,
    notes: _Status,
    db_missing: bool,
) -> str | None:
    """The image the Deployment may run now. A new image runs only after its migration succeeded."""
    deployed = _annotations(observed.deployment).get(names.ANN_MIGRATED_IMAGE) or None
    if deployed:
        status["migratedImage"] = deployed
    inputs = migration_inputs(app, instance.annotations.get(names.ANN_RETRY_MIGRATION))
    wanted_job = names.migration_job_name(instance.name, app.image, inputs)
    needs_migration = app.migrations.enabled and app.image != deployed

    # One migration per instance: Jobs for any other image are stopped and cleaned away, and a new
    # one starts only once no other is running (a finished Job has no pods left to overlap with).
    others_running = False
    for other in observed.jobs:
        job_name = str((other.get("metadata") or {}).get("name"))
        if job_name == wanted_job:
            continue  # the current migration, or the record of the one the running image went through
        running = job_state(other) == "Running"
        others_running = others_running or running
        if not (other.get("metadata") or {}).get("deletionTimestamp"):
            result.deletes.append(Ref("batch/v1", "Job", job_name))
            if running:
                result.events.append(
                    Event(NORMAL, "MigrationSuperseded", f"stopped {job_name}: the image changed")
                )

    if not needs_migration:
        return app.image

    job: Mapping[str, Any] | None = next(
        (j for j in observed.jobs if (j.get("metadata") or {}).get("name") == wanted_job), None
    )
    # Every key is always present (None when unknown) so a merge patch clears stale ones.
    migration: dict[str, Any] = {
        "jobName": wanted_job,
        "image": app.image,
        "state": None,
        "failures": None,
        "message": None,
    }
    if job is None:
        if others_running:
            migration["state"] = "Waiting"
            notes.progressing.append(("Migrating", "waiting for the previous migration Job to stop"))
        elif db_missing:
            migration["state"] = "Blocked"
        else:
            result.job_create = manifests.migration_job(app, owner, image=app.image, inputs=inputs)
            result.events.append(
                Event(
                    NORMAL,
                    "MigrationStarted",
                    f"migrating for {app.image} in {wanted_job}",
                    f"Job/{wanted_job}",
                )
            )
            migration["state"] = "Running"
            notes.progressing.append(("Migrating", f"migration Job {wanted_job} started for {app.image}"))
            notes.not_ready.append(("Migrating", f"waiting for the migration of {app.image}"))
        status["migration"] = migration
        return deployed

    state = job_state(job)
    migration["state"] = state
    failures = int((job.get("status") or {}).get("failed", 0))
    log_tail = _truncate(observed.job_failure_message or "")
    if state == "Succeeded":
        status["migration"] = migration
        status["migratedImage"] = app.image
        if deployed != app.image:
            result.events.append(
                Event(NORMAL, "Migrated", f"{wanted_job} migrated the database for {app.image}")
            )
        return app.image
    if state == "Failed":
        reason = job_failure_reason(job)
        message = f"migration Job {wanted_job} for {app.image} failed ({reason})"
        if log_tail:
            message += f"; log tail: {log_tail}"
        migration["message"] = log_tail or reason
        migration["failures"] = failures
        previous = instance.status.get("migration") or {}
        if previous.get("state") != "Failed" or previous.get("jobName") != wanted_job:
            result.events.append(Event(WARNING, "MigrationFailed", _truncate(message)))
        notes.degraded.append(("MigrationFailed", _truncate(message)))
        notes.not_ready.append(("MigrationFailed", _truncate(message)))
        status["migration"] = migration
        return deployed
    if failures:
        migration["failures"] = failures
        migration["message"] = log_tail
        notes.progressing.append(
            (
                "MigrationRetrying",
                _truncate(f"{wanted_job}: {failures} failed attempt(s), retrying; {log_tail}"),
            )
        )
    else:
        notes.progressing.append(("Migrating", f"migration Job {wanted_job} is running for {app.image}"))
    notes.not_ready.append(("Migrating", f"waiting for the migration of {app.image}"))
    status["migration"] = migration
    return deployed


def _report(
    instance: Instance,
    app: AppSpec,
    observed: Observed,
    status: dict[str, Any],
    notes: _Status,
    result: Plan,
    now: datetime,
    *,
    target: str | None,
    pending: Mapping[str, Any] | None = None,
) -> None:
    dep = observed.deployment
    dep_status = (dep or {}).get("status") or {}
    status["replicas"] = int(dep_status.get("replicas", 0))
    status["readyReplicas"] = int(dep_status.get("readyReplicas", 0))
    applying = pending is not None and _needs_apply(dep, pending)
    complete = rollout_complete(dep) and not applying
    running_image = _annotations(dep).get(names.ANN_MIGRATED_IMAGE)

    if complete and running_image:
        if instance.status.get("currentImage") != running_image:
            result.events.append(Event(NORMAL, "RolledOut", f"all replicas run {running_image}"))
        status["currentImage"] = running_image
    if dep is None and target is None and not notes.not_ready:
        notes.not_ready.append(("Migrating", "waiting for the first migration"))
    if dep is not None and not complete:
        notes.progressing.append(
            ("RollingOut", "waiting for the Deployment's replicas to be updated and available")
        )
        if not notes.not_ready:
            available = int(dep_status.get("availableReplicas", 0))
            notes.not_ready.append(("RollingOut", f"{available} replica(s) available, rollout in progress"))
    if target is not None and target != app.image and not notes.not_ready:
        notes.not_ready.append(("Migrating", f"serving {target}; {app.image} is not migrated yet"))

    if notes.not_ready:
        ready = Condition(READY, False, *notes.not_ready[0])
    else:
        ready = Condition(READY, True, "Available", f"all replicas run {running_image} and are available")
    if notes.progressing:
        progressing = Condition(PROGRESSING, True, *notes.progressing[0])
    else:
        progressing = Condition(PROGRESSING, False, "Reconciled", "the instance matches its spec")
    if notes.degraded:
        degraded = Condition(DEGRADED, True, *notes.degraded[0])
    else:
        degraded = Condition(DEGRADED, False, "AsExpected", "")
    result.status = _finish(instance, status, [ready, progressing, degraded], now)


def _finish(
    instance: Instance, status: dict[str, Any], conds: list[Condition], now: datetime
) -> dict[str, Any]:
    status["observedGeneration"] = instance.generation
    status["conditions"] = merge_conditions(
        instance.status.get("conditions"), conds, generation=instance.generation, now=now
    )
    return status
