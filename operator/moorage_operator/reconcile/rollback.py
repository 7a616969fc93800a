"""Step: a failed rollout goes back to the last good image and config, until the spec changes.

The last revision whose every replica was available is kept in ``status.lastGood``. When the new pods
of the spec's own revision crash-loop, cannot pull their image or miss the progress deadline, the
rollout failed; unless ``spec.rollout.autoRollback`` is false the Deployment and the ConfigMap go back
to the last good revision, recorded in ``status.rollback`` for this generation. Every later step then
plans from that revision (so drift revert re-applies it, never the failed one); a new generation
clears the record and tries its spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.conditions import find
from moorage_operator.durations import format_time
from moorage_operator.reconcile.crashloop import crash_loop
from moorage_operator.reconcile.model import WARNING, Event, Instance, Observed, RollbackOutcome, truncate
from moorage_operator.reconcile.redaction import secret_values
from moorage_operator.spec import AppSpec


@dataclass(frozen=True, slots=True)
class Revision:
    """What a rollback restores: the image and the settings the pods ran."""

    image: str
    config: Mapping[str, str]

    @property
    def config_hash(self) -> str:
        return manifests.content_hash(dict(self.config))

    def record(self, now: datetime) -> dict[str, Any]:
        return {
            "image": self.image,
            "config": [{"name": k, "value": v} for k, v in sorted(self.config.items())],
            "configHash": self.config_hash,
            "recordedAt": format_time(now),
        }

    @staticmethod
    def from_status(raw: Any) -> Revision | None:
        if not isinstance(raw, Mapping) or not raw.get("image"):
            return None
        config = {str(e.get("name")): str(e.get("value", "")) for e in raw.get("config") or []}
        return Revision(str(raw["image"]), config)


def last_good(instance: Instance) -> Revision | None:
    return Revision.from_status(instance.status.get("lastGood"))


def active_rollback(instance: Instance) -> Mapping[str, Any] | None:
    """The rollback in force: one recorded for the spec's current generation."""
    record = instance.status.get("rollback")
    if isinstance(record, Mapping) and record.get("generation") == instance.generation:
        return record
    return None


def rollback_app(instance: Instance, app: AppSpec) -> AppSpec:
    """The spec as the steps realise it: the last good image and config while a rollback is in force."""
    good = last_good(instance)
    if active_rollback(instance) is None or good is None:
        return app
    return replace(app, image=good.image, config=dict(good.config))


def _revision_of(dep: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(image, config hash) the Deployment's template was written with."""
    image = ((dep.get("metadata") or {}).get("annotations") or {}).get(names.ANN_MIGRATED_IMAGE)
    template = (dep.get("spec") or {}).get("template") or {}
    config = ((template.get("metadata") or {}).get("annotations") or {}).get(names.ANN_CONFIG_HASH)
    return image, config


def _deadline_exceeded(dep: Mapping[str, Any]) -> str | None:
    """The Deployment controller's verdict on its current template: the progress deadline passed."""
    meta, dep_status = dep.get("metadata") or {}, dep.get("status") or {}
    if int(dep_status.get("observedGeneration", -1)) < int(meta.get("generation", 0)):
        return None  # the verdict is about an earlier template
    for cond in dep_status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return str(cond.get("message") or "ProgressDeadlineExceeded")
    return None


def rollout_failure(app: AppSpec, observed: Observed) -> tuple[str, str] | None:
    """(reason, what failed) when the Deployment's current template cannot roll out."""
    dep = observed.deployment
    if dep is None:
        return None
    crash = crash_loop(dep, observed.server_pods, secret_values(observed.keyring))
    if crash is not None:
        return crash.reason, crash.describe()
    late = _deadline_exceeded(dep)
    if late is not None:
        limit = app.rollout.progress_deadline_seconds
        return "ProgressDeadlineExceeded", (
            f"not Ready within spec.rollout.progressDeadlineSeconds ({limit}s): {late}"
        )
    return None


def _belongs_to_spec(app: AppSpec, dep: Mapping[str, Any]) -> bool:
    """The Deployment runs exactly the spec's image and config (a failure of an older one is moot)."""
    return _revision_of(dep) == (app.image, manifests.content_hash(dict(app.config)))


def plan_rollback(instance: Instance, app: AppSpec, observed: Observed, now: datetime) -> RollbackOutcome:
    out = RollbackOutcome(app=app)
    good = last_good(instance)
    record = active_rollback(instance)
    if instance.status.get("rollback") and record is None:
        out.status["rollback"] = None  # a new generation: its spec gets a fresh try
    if record is not None and good is not None:
        _hold(out, app, good, str(record.get("message") or "rolled back"))
        still = rollout_failure(app, observed)
        if still is not None and _revision_of(observed.deployment or {}) == (good.image, good.config_hash):
            worse = truncate(f"the rolled-back revision fails too: {still[1]}")
            out.notes.degraded.insert(0, ("RolloutFailed", worse))
        return out
    dep = observed.deployment
    failure = rollout_failure(app, observed) if dep is not None and _belongs_to_spec(app, dep) else None
    if failure is None:
        return out
    reason, what = failure
    message = f"the new pods of {app.image} failed: {what}"
    failing = Revision(app.image, app.config)
    same = good is not None and (good.image, good.config_hash) == (failing.image, failing.config_hash)
    if app.rollout.auto_rollback and good is not None and not same:
        said = truncate(
            f"{message}; rolled back to {good.image} (config {good.config_hash}), which serves until the "
            "spec changes"
        )
        out.status["rollback"] = {
            "generation": instance.generation,
            "fromImage": failing.image,
            "fromConfigHash": failing.config_hash,
            "toImage": good.image,
            "toConfigHash": good.config_hash,
            "reason": reason,
            "message": said,
            "time": format_time(now),
        }
        out.events.append(Event(WARNING, "RolloutFailed", truncate(message)))
        went = f"rolled back from {failing.image} (config {failing.config_hash}) to {good.image} "
        out.events.append(Event(WARNING, "RolledBack", f"{went}(config {good.config_hash}): {reason}"))
        _hold(out, app, good, said)
        return out
    if not app.rollout.auto_rollback:
        why = "spec.rollout.autoRollback is false"
    elif good is None:
        why = "no earlier revision was fully Ready"
    else:
        why = "the last good image and config are the failing ones"
    said = truncate(f"{message}; not rolled back ({why}): waiting for a spec change")
    before = find(instance.status.get("conditions"), "Degraded") or {}
    if before.get("reason") != "RolloutFailed":
        out.events.append(Event(WARNING, "RolloutFailed", said))
    for notes in (out.notes.degraded, out.notes.not_ready, out.notes.stalled):
        notes.append(("RolloutFailed", said))
    return out


def _hold(out: RollbackOutcome, app: AppSpec, good: Revision, message: str) -> None:
    """Every later step plans from the last good revision: the Deployment, the ConfigMap, drift revert."""
    out.app = replace(app, image=good.image, config=dict(good.config))
    for notes in (out.notes.degraded, out.notes.not_ready, out.notes.stalled):
        notes.append(("RolledBack", message))
