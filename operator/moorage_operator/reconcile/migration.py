"""Step: the migration gate. A new image reaches the Deployment only after its migration Job succeeded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.reconcile.jobs import job_failure_reason, job_failures, job_named, job_state
from moorage_operator.reconcile.kinds import BY_KIND
from moorage_operator.reconcile.model import (
    NORMAL,
    WARNING,
    Event,
    Instance,
    MigrationOutcome,
    Observed,
    Ref,
    annotations_of,
    truncate,
)
from moorage_operator.spec import AppSpec, migration_inputs

JOB = BY_KIND["Job"]


def wanted_job_name(instance: Instance, app: AppSpec) -> str:
    inputs = migration_inputs(app, instance.annotations.get(names.ANN_RETRY_MIGRATION))
    return names.migration_job_name(instance.name, app.image, inputs)


def migrated_image(observed: Observed) -> str | None:
    """The image the Deployment was last written with (it only ever gets a migrated one)."""
    return annotations_of(observed.deployment).get(names.ANN_MIGRATED_IMAGE) or None


def _stop_others(out: MigrationOutcome, observed: Observed, wanted: str) -> bool:
    """One migration per instance: Jobs for any other image are stopped and cleaned away.

    Returns whether one of them still runs; a new Job starts only once none does (a finished Job has
    no pods left to overlap with).
    """
    others_running = False
    for other in observed.jobs:
        meta = other.get("metadata") or {}
        job_name = str(meta.get("name"))
        if job_name == wanted:
            continue  # the current migration, or the record of the one the running image went through
        running = job_state(other) == "Running"
        others_running = others_running or running
        if not meta.get("deletionTimestamp"):
            out.deletes.append(Ref(JOB.api_version, JOB.kind, job_name))
            if running:
                out.events.append(
                    Event(NORMAL, "MigrationSuperseded", f"stopped {job_name}: the image changed")
                )
    return others_running


def plan_migration(
    instance: Instance, app: AppSpec, observed: Observed, owner: manifests.Owner, *, db_missing: bool
) -> MigrationOutcome:
    deployed = migrated_image(observed)
    out = MigrationOutcome(target=deployed)
    if deployed:
        out.status["migratedImage"] = deployed
    wanted = wanted_job_name(instance, app)
    others_running = _stop_others(out, observed, wanted)
    if not (app.migrations.enabled and app.image != deployed):
        out.target = app.image
        return out

    # Every key is always present (None when unknown) so a merge patch clears stale ones.
    migration: dict[str, Any] = {
        "jobName": wanted,
        "image": app.image,
        "state": None,
        "failures": None,
        "message": None,
    }
    out.status["migration"] = migration
    job = job_named(observed.jobs, wanted)
    if job is None:
        _start(out, instance, app, owner, migration, others_running=others_running, db_missing=db_missing)
    else:
        _follow(out, instance, app, observed, job, migration)
    return out


def _start(
    out: MigrationOutcome,
    instance: Instance,
    app: AppSpec,
    owner: manifests.Owner,
    migration: dict[str, Any],
    *,
    others_running: bool,
    db_missing: bool,
) -> None:
    wanted = migration["jobName"]
    if others_running:
        migration["state"] = "Waiting"
        out.notes.progressing.append(("Migrating", "waiting for the previous migration Job to stop"))
    elif db_missing:
        migration["state"] = "Blocked"
    else:
        inputs = migration_inputs(app, instance.annotations.get(names.ANN_RETRY_MIGRATION))
        out.job_create = manifests.migration_job(app, owner, image=app.image, inputs=inputs)
        out.events.append(
            Event(NORMAL, "MigrationStarted", f"migrating for {app.image} in {wanted}", f"Job/{wanted}")
        )
        migration["state"] = "Running"
        out.notes.progressing.append(("Migrating", f"migration Job {wanted} started for {app.image}"))
        out.notes.not_ready.append(("Migrating", f"waiting for the migration of {app.image}"))


def _follow(
    out: MigrationOutcome,
    instance: Instance,
    app: AppSpec,
    observed: Observed,
    job: Mapping[str, Any],
    migration: dict[str, Any],
) -> None:
    wanted = migration["jobName"]
    state = job_state(job)
    migration["state"] = state
    failures = job_failures(job)
    log_tail = truncate(observed.job_failure_message or "")
    if state == "Succeeded":
        out.status["migratedImage"] = app.image
        if out.target != app.image:
            out.events.append(Event(NORMAL, "Migrated", f"{wanted} migrated the database for {app.image}"))
        out.target = app.image
        return
    if state == "Failed":
        reason = job_failure_reason(job)
        message = f"migration Job {wanted} for {app.image} failed ({reason})"
        if log_tail:
            message += f"; log tail: {log_tail}"
        migration["message"] = log_tail or reason
        migration["failures"] = failures
        previous = instance.status.get("migration") or {}
        if previous.get("state") != "Failed" or previous.get("jobName") != wanted:
            out.events.append(Event(WARNING, "MigrationFailed", truncate(message)))
        out.notes.degraded.append(("MigrationFailed", truncate(message)))
        out.notes.not_ready.append(("MigrationFailed", truncate(message)))
        out.notes.stalled.append(("MigrationFailed", truncate(message)))
        return
    if failures:
        migration["failures"] = failures
        migration["message"] = log_tail
        out.notes.progressing.append(
            ("MigrationRetrying", truncate(f"{wanted}: {failures} failed attempt(s), retrying; {log_tail}"))
        )
    else:
        out.notes.progressing.append(("Migrating", f"migration Job {wanted} is running for {app.image}"))
    out.notes.not_ready.append(("Migrating", f"waiting for the migration of {app.image}"))
