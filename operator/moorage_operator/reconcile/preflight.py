"""Step: a bad config never rolls. New settings reach the ConfigMap and the pods only after
``moorage check-config`` passed with them in a preflight Job; until then the running config is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.reconcile.jobs import job_failure_reason, job_named, job_state
from moorage_operator.reconcile.kinds import BY_KIND
from moorage_operator.reconcile.model import (
    NORMAL,
    WARNING,
    Event,
    Instance,
    Observed,
    PreflightOutcome,
    Ref,
    annotations_of,
    truncate,
)
from moorage_operator.spec import AppSpec

JOB = BY_KIND["Job"]
COMPONENT = "preflight"


def is_preflight(job: Mapping[str, Any]) -> bool:
    return ((job.get("metadata") or {}).get("labels") or {}).get(names.LABEL_COMPONENT) == COMPONENT


def preflight_jobs(jobs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [j for j in jobs if is_preflight(j)]


def _running_config_hash(observed: Observed) -> str | None:
    template = ((observed.deployment or {}).get("spec") or {}).get("template") or {}
    value = ((template.get("metadata") or {}).get("annotations") or {}).get(names.ANN_CONFIG_HASH)
    return str(value) if value else None


def _running_image(observed: Observed) -> str | None:
    value = annotations_of(observed.deployment).get(names.ANN_MIGRATED_IMAGE)
    return str(value) if value else None


def _new_image(app: AppSpec, observed: Observed) -> str | None:
    """The running image while a new one waits for its check; with migrations on, their Job checks it."""
    running = _running_image(observed)
    if app.migrations.enabled or running is None or running == app.image:
        return None
    return running


def wanted_preflight(
    instance: Instance, app: AppSpec, observed: Observed, *, trusted: bool = False
) -> str | None:
    """The preflight Job the spec needs now; ``None`` when the pods already run this config and image.

    A new config is checked; so is a new image when no migration Job (which checks first) runs for it.
    ``trusted``: the revision ran here before (a rollback to the last good one), nothing to check.
    """
    running = _running_config_hash(observed)
    wanted = manifests.content_hash(dict(app.config))
    if trusted or observed.deployment is None or running is None:
        return None
    if running == wanted and _new_image(app, observed) is None:
        return None
    return names.preflight_job_name(instance.name, app.image, wanted)


def plan_preflight(
    instance: Instance, app: AppSpec, observed: Observed, owner: manifests.Owner, *, trusted: bool = False
) -> PreflightOutcome:
    out = PreflightOutcome(config=dict(app.config))
    wanted = wanted_preflight(instance, app, observed, trusted=trusted)
    for old in preflight_jobs(observed.jobs):
        meta = old.get("metadata") or {}
        if meta.get("name") != wanted and not meta.get("deletionTimestamp"):
            out.deletes.append(Ref(JOB.api_version, JOB.kind, str(meta.get("name"))))
    if wanted is None:
        out.status["preflight"] = None
        return out
    # The running settings: the ConfigMap's data, even when empty (an empty config is a config too).
    held = (
        dict((observed.config_map or {}).get("data") or {})
        if observed.config_map is not None
        else dict(app.config)
    )
    record: dict[str, Any] = {"jobName": wanted, "state": None, "message": None}
    out.status["preflight"] = record
    job = job_named(observed.jobs, wanted)
    if job is None:
        out.preflight_create = manifests.preflight_job(app, owner, image=app.image)
        out.events.append(
            Event(NORMAL, "PreflightStarted", f"checking the new config in {wanted}", f"Job/{wanted}")
        )
        record["state"] = "Running"
    else:
        record["state"] = job_state(job)
    if record["state"] == "Succeeded":
        return out  # the gate is open: the new config and image go to the ConfigMap and the pods
    out.config = held
    out.hold_image = _new_image(app, observed)
    if record["state"] == "Running":
        out.notes.progressing.append(
            ("CheckingConfig", f"moorage check-config runs with the new settings in {wanted}")
        )
        if out.hold_image:
            out.notes.not_ready.append(
                ("CheckingConfig", f"serving {out.hold_image}; {app.image} is checked first in {wanted}")
            )
        return out
    known = observed.preflight_failure_message
    record["message"] = truncate(known) if known else None  # unknown yet: the handlers read it again
    if known:
        reason = "ConfigInvalid"
        what = "spec.image" if out.hold_image and held == dict(app.config) else "spec.config"
        message = truncate(f"{what} was refused by moorage check-config; nothing rolled: {known}")
    else:
        # No verdict at all: the check never ran (an image that cannot be pulled, a pod never scheduled).
        reason = "PreflightFailed"
        why = job_failure_reason(job) if job is not None else ""
        message = truncate(f"the check-config Job {wanted} failed without a verdict ({why}); nothing rolled")
    previous = instance.status.get("preflight") or {}
    if previous.get("state") != "Failed" or previous.get("jobName") != wanted:
        out.events.append(Event(WARNING, reason, message))
    for notes in (out.notes.degraded, out.notes.not_ready, out.notes.stalled):
        notes.append((reason, message))
    return out
