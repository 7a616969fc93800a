"""The reconcile as a pipeline: each step decides one thing and returns an outcome; ``merge`` folds them.

Pure and level-based. The inputs are the instance and its children as observed in the cluster; the
output is a plan the handlers carry out. Nothing is remembered between calls, so a restarted operator
reaches the same decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from moorage_operator import manifests
from moorage_operator.reconcile import report
from moorage_operator.reconcile.checks import check, migration_blocked, serving_blocked
from moorage_operator.reconcile.jobs import job_failures, job_named, job_state
from moorage_operator.reconcile.keys import observe_keyring, plan_keyring
from moorage_operator.reconcile.migration import plan_migration, wanted_job_name
from moorage_operator.reconcile.model import (
    Instance,
    MigrationOutcome,
    Notes,
    Observed,
    Outcome,
    Plan,
    Reads,
    truncate,
)
from moorage_operator.reconcile.platform import plan_platform
from moorage_operator.reconcile.preflight import plan_preflight, wanted_preflight
from moorage_operator.reconcile.references import referenced
from moorage_operator.reconcile.rollback import plan_rollback, rollback_app
from moorage_operator.reconcile.rollout import observe_rollout, plan_deployment, rollout_complete
from moorage_operator.reconcile.supporting import plan_supporting
from moorage_operator.spec import AppSpec, InvalidSpec, parse_spec


def merge(instance: Instance, steps: Sequence[Outcome], now: datetime, *, serving: str | None) -> Plan:
    """One plan from the steps' outcomes, in step order: later status fields win, earlier notes win."""
    result = Plan()
    status = dict(instance.status)
    status.pop("conditions", None)
    for out in steps:
        result.applies.extend(out.applies)
        result.reapplies.extend(out.reapplies)
        result.patches.extend(out.patches)
        result.deletes.extend(out.deletes)
        result.events.extend(out.events)
        result.secret_create = out.secret_create or result.secret_create
        result.secret_replace = out.secret_replace or result.secret_replace
        result.job_create = out.job_create or result.job_create
        result.preflight_create = out.preflight_create or result.preflight_create
        status.update(out.status)
        result.notes.extend(out.notes)
    result.status = report.finish(instance, status, report.conditions(result.notes, serving=serving), now)
    return result


def _owner(instance: Instance) -> manifests.Owner:
    return manifests.Owner(instance.name, instance.namespace, instance.uid, dict(instance.labels))


def plan(instance: Instance, observed: Observed, now: datetime, *, reapply: bool = False) -> Plan:
    """The plan for now; ``reapply`` re-sends unchanged children to undo manual edits (drift)."""
    try:
        app = parse_spec(instance.spec)
    except InvalidSpec as exc:
        status = {k: v for k, v in instance.status.items() if k != "conditions"}
        return Plan(
            status=report.finish(instance, status, report.invalid_conditions(exc.reason, exc.message), now)
        )
    if app.paused:
        return _paused(instance, app, observed, now)

    owner = _owner(instance)
    keys = plan_keyring(instance, app, observed, owner, now)
    checked = check(app, observed)
    blocked = serving_blocked(observed)
    # A failed rollout of this generation: every later step realises the last good image and config.
    rollback = plan_rollback(instance, app, observed, now)
    wanted = rollback.app
    rolled_back = wanted is not app  # that revision ran here before: no check, no migration for it
    preflight = plan_preflight(instance, wanted, observed, owner, trusted=rolled_back)
    held = replace(wanted, config=preflight.config)  # what the ConfigMap and the pods may get now
    # Before the Deployment and the Jobs: their pods run as the ServiceAccount this applies.
    platform = plan_platform(held, observed, owner, reapply=reapply)
    supporting = plan_supporting(held, observed, owner, reapply=reapply)
    migration = (
        MigrationOutcome(target=wanted.image)
        if rolled_back
        else plan_migration(instance, wanted, observed, owner, now, blocked=migration_blocked(observed))
    )
    target = preflight.hold_image or migration.target
    deployment = plan_deployment(
        held, observed, owner, keys.ring, target=target, blocked=blocked, reapply=reapply
    )
    rollout = observe_rollout(
        instance,
        wanted,
        observed,
        target=target,
        pending=deployment.pending,
        now=now,
        config=None if rolled_back else held.config,
    )
    steps = (keys, checked, rollback, preflight, platform, supporting, migration, deployment, rollout)
    return merge(instance, steps, now, serving=rollout.running_image)


def _paused(instance: Instance, app: AppSpec, observed: Observed, now: datetime) -> Plan:
    paused = Outcome()
    paused.notes.progressing.append(("Paused", "spec.paused is set: the operator changes nothing"))
    rollout = observe_rollout(instance, app, observed, target=None, pending=None)
    steps = (paused, observe_keyring(app, observed), rollout)
    return merge(instance, steps, now, serving=rollout.running_image)


def reads(instance: Instance, observed: Observed) -> Reads:
    """What to look up besides the watched children; nothing for a spec that cannot be planned."""
    try:
        app = parse_spec(instance.spec)
    except InvalidSpec:
        return Reads()
    wanted = rollback_app(instance, app)
    return Reads(
        references=referenced(app),
        migration_job=wanted_job_name(instance, wanted, observed.jobs),
        preflight_job=wanted_preflight(instance, wanted, observed, trusted=wanted is not app),
        server_pods=observed.deployment is not None and not rollout_complete(observed.deployment),
    )


def failure_message_to_fetch(
    instance: Instance, observed: Observed, wanted: str | None
) -> tuple[str | None, bool]:
    """The migration Job's log tail: ``(known, fetch)``; the status keeps it once read for a failure count."""
    job = job_named(observed.jobs, wanted) if wanted else None
    if job is None or not (job_state(job) == "Failed" or job_failures(job)):
        return None, False
    seen = instance.status.get("migration") or {}
    if seen.get("jobName") == wanted and seen.get("failures") == job_failures(job) and seen.get("message"):
        return str(seen["message"]), False
    return None, True


def rejected_status(instance: Instance, result: Plan, message: str, now: datetime) -> dict[str, Any]:
    """The plan's status when the API server refused one of its writes: the refusal comes first."""
    why = ("ChildRejected", truncate(message))
    notes = Notes(
        degraded=[why, *result.notes.degraded],
        progressing=list(result.notes.progressing),
        not_ready=[why, *result.notes.not_ready],
        stalled=[why, *result.notes.stalled],
    )
    status = {k: v for k, v in result.status.items() if k != "conditions"}
    return report.finish(instance, status, report.conditions(notes, serving=None), now)
