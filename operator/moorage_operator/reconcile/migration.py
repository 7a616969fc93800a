"""Step: the migration gate. A new image reaches the Deployment only after its migration Job succeeded.

A Job that failed for good is retried on its own with capped exponential back-off (30 s doubling to
10 min): each retry is a fresh Job under the next attempt's name. The attempt count belongs to the
image and the migration inputs, so a new image, a corrected migration Secret or a new value of the
retry annotation starts over at once. A failed Job whose migration Secret's data changed since it started
(the hash on the Job) is retried at once too; that Secret never rolls the serving pods.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.durations import format_time, parse_time
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
from moorage_operator.reconcile.preflight import is_preflight
from moorage_operator.spec import AppSpec, migration_inputs

JOB = BY_KIND["Job"]
CONFIG_REFUSAL = "configuration error"  # what moorage check-config prints before the variable and rule
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=10)


def backoff(attempt: int) -> timedelta:
    """The wait after attempt ``attempt`` (0-based) failed: 30 s, 60 s, 120 s, … capped at 10 min."""
    wait: timedelta = FIRST_BACKOFF * 2 ** min(attempt, 16)
    return min(wait, MAX_BACKOFF)


def _inputs(instance: Instance, app: AppSpec) -> str:
    return migration_inputs(app, instance.annotations.get(names.ANN_RETRY_MIGRATION))


def attempt_key(instance: Instance, app: AppSpec) -> str:
    """What the attempts count for: the image and the inputs (a change to either starts over)."""
    return hashlib.sha256(f"{app.image}\0{_inputs(instance, app)}".encode()).hexdigest()[:12]


def current_attempt(instance: Instance, app: AppSpec, jobs: Any = ()) -> int:
    """The highest attempt recorded for this key, in the status or on a Job (whichever is ahead)."""
    key = attempt_key(instance, app)
    seen = instance.status.get("migration") or {}
    attempt = int(seen.get("attempt") or 0) if seen.get("attemptKey") == key else 0
    for job in jobs:
        ann = annotations_of(job)
        if ann.get(names.ANN_ATTEMPT_KEY) == key and str(ann.get(names.ANN_ATTEMPT, "")).isdigit():
            attempt = max(attempt, int(ann[names.ANN_ATTEMPT]))
    return attempt


def _job_name(instance: Instance, app: AppSpec, attempt: int) -> str:
    inputs = _inputs(instance, app)
    return names.migration_job_name(instance.name, app.image, f"{inputs}#{attempt}" if attempt else inputs)


def wanted_job_name(instance: Instance, app: AppSpec, jobs: Any = ()) -> str:
    return _job_name(instance, app, current_attempt(instance, app, jobs))


def migrated_image(observed: Observed) -> str | None:
    """The image the Deployment was last written with (it only ever gets a migrated one)."""
    return annotations_of(observed.deployment).get(names.ANN_MIGRATED_IMAGE) or None


def migration_jobs(observed: Observed) -> list[Mapping[str, Any]]:
    return [j for j in observed.jobs if not is_preflight(j)]


def _stop_others(out: MigrationOutcome, observed: Observed, wanted: str) -> bool:
    """One migration per instance: Jobs for any other image are stopped and cleaned away.

    Returns whether one of them still runs; a new Job starts only once none does (a finished Job has
    no pods left to overlap with).
    """
    others_running = False
    for other in migration_jobs(observed):
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
    instance: Instance,
    app: AppSpec,
    observed: Observed,
    owner: manifests.Owner,
    now: datetime,
    *,
    blocked: bool,
) -> MigrationOutcome:
    deployed = migrated_image(observed)
    out = MigrationOutcome(target=deployed)
    if deployed:
        out.status["migratedImage"] = deployed
    attempt = current_attempt(instance, app, migration_jobs(observed))
    wanted = _job_name(instance, app, attempt)
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
        "attempt": attempt,
        "attemptKey": attempt_key(instance, app),
        "nextAttemptTime": None,
    }
    out.status["migration"] = migration
    job = job_named(migration_jobs(observed), wanted)
    if job is None:
        _start(
            out,
            instance,
            app,
            owner,
            migration,
            others_running=others_running,
            blocked=blocked,
            secret_hash=observed.migration_secret_hash,
        )
    else:
        _follow(out, instance, app, observed, owner, job, migration, now)
    return out


def _start(
    out: MigrationOutcome,
    instance: Instance,
    app: AppSpec,
    owner: manifests.Owner,
    migration: dict[str, Any],
    *,
    others_running: bool,
    blocked: bool,
    secret_hash: str | None,
) -> None:
    wanted = migration["jobName"]
    if others_running:
        migration["state"] = "Waiting"
        out.notes.progressing.append(("Migrating", "waiting for the previous migration Job to stop"))
    elif blocked:
        migration["state"] = "Blocked"
    else:
        attempt = int(migration["attempt"])
        inputs = _inputs(instance, app)
        out.job_create = manifests.migration_job(
            app,
            owner,
            image=app.image,
            inputs=f"{inputs}#{attempt}" if attempt else inputs,
            attempt=attempt,
            attempt_key=str(migration["attemptKey"]),
            secret_hash=secret_hash,
        )
        retry = f" (automatic retry {attempt})" if attempt else ""
        out.events.append(
            Event(
                NORMAL, "MigrationStarted", f"migrating for {app.image} in {wanted}{retry}", f"Job/{wanted}"
            )
        )
        migration["state"] = "Running"
        out.notes.progressing.append(("Migrating", f"migration Job {wanted} started for {app.image}"))
        out.notes.not_ready.append(("Migrating", f"waiting for the migration of {app.image}"))


def _failed_at(job: Mapping[str, Any], now: datetime) -> datetime:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime")) or now
    return now


def _follow(
    out: MigrationOutcome,
    instance: Instance,
    app: AppSpec,
    observed: Observed,
    owner: manifests.Owner,
    job: Mapping[str, Any],
    migration: dict[str, Any],
    now: datetime,
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
        _failed(
            out, instance, app, owner, job, migration, log_tail, failures, now, observed.migration_secret_hash
        )
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


def _refused(
    out: MigrationOutcome,
    instance: Instance,
    app: AppSpec,
    migration: dict[str, Any],
    log_tail: str,
    failures: int,
) -> None:
    """The new image refused the settings before migrating: retrying cannot help, a spec change can."""
    message = truncate(f"{app.image} refused the settings (moorage check-config); nothing rolled: {log_tail}")
    migration.update(message=log_tail, failures=failures)
    previous = instance.status.get("migration") or {}
    if previous.get("state") != "Failed" or previous.get("jobName") != migration["jobName"]:
        out.events.append(Event(WARNING, "ConfigInvalid", message))
    for notes in (out.notes.degraded, out.notes.not_ready, out.notes.stalled):
        notes.append(("ConfigInvalid", message))


def _failed(
    out: MigrationOutcome,
    instance: Instance,
    app: AppSpec,
    owner: manifests.Owner,
    job: Mapping[str, Any],
    migration: dict[str, Any],
    log_tail: str,
    failures: int,
    now: datetime,
    secret_hash: str | None,
) -> None:
    wanted = migration["jobName"]
    attempt = int(migration["attempt"])
    previous = instance.status.get("migration") or {}
    # The Job's Failed time decides; a status that already named the time keeps it (no drifting clock).
    recorded = parse_time(previous.get("nextAttemptTime")) if previous.get("jobName") == wanted else None
    due = recorded or _failed_at(job, now) + backoff(attempt)
    # A changed migration Secret (a corrected password) is a new input: retry at once, refused or not.
    started_with = annotations_of(job).get(names.ANN_MIGRATION_SECRET_HASH)
    secret_changed = bool(started_with and secret_hash and started_with != secret_hash)
    if secret_changed:
        out.events.append(
            Event(
                NORMAL,
                "MigrationSecretChanged",
                f"the data of Secret {app.migration_database.name} changed: retrying the migration now",
            )
        )
    elif CONFIG_REFUSAL in log_tail:
        _refused(out, instance, app, migration, log_tail, failures)
        return
    if secret_changed or now >= due:
        # The back-off is over: a fresh Job under the next attempt's name; the failed one goes.
        out.deletes.append(Ref(JOB.api_version, JOB.kind, wanted))
        migration.update(attempt=attempt + 1, jobName=_job_name(instance, app, attempt + 1))
        _start(
            out, instance, app, owner, migration, others_running=False, blocked=False, secret_hash=secret_hash
        )
        return
    reason = job_failure_reason(job)
    message = f"migration Job {wanted} for {app.image} failed ({reason})"
    if log_tail:
        message += f"; log tail: {log_tail}"
    migration["message"] = log_tail or reason
    migration["failures"] = failures
    migration["nextAttemptTime"] = format_time(due)
    if previous.get("state") != "Failed" or previous.get("jobName") != wanted:
        out.events.append(
            Event(WARNING, "MigrationFailed", truncate(f"{message}; next attempt at {format_time(due)}"))
        )
    out.notes.degraded.append(("MigrationFailed", truncate(message)))
    out.notes.not_ready.append(("MigrationFailed", truncate(message)))
    out.notes.progressing.append(
        ("MigrationBackoff", f"attempt {attempt + 1} failed; the next one starts at {format_time(due)}")
    )
