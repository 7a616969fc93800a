"""Steps: write the Deployment for the image the migration gate allows, then read how its rollout goes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.keyring import KeyRing
from moorage_operator.reconcile.model import (
    NORMAL,
    Event,
    Instance,
    JsonPatch,
    Observed,
    Ref,
    RolloutOutcome,
    RolloutState,
    annotations_of,
    apply_child,
    needs_apply,
)
from moorage_operator.reconcile.references import data_changed_events
from moorage_operator.reconcile.rollback import Revision, last_good
from moorage_operator.spec import AppSpec


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


def plan_deployment(
    app: AppSpec,
    observed: Observed,
    owner: manifests.Owner,
    ring: KeyRing,
    *,
    target: str | None,
    blocked: bool,
    reapply: bool = False,
) -> RolloutOutcome:
    out = RolloutOutcome()
    if target is None or blocked:  # blocked: a referenced Secret/ConfigMap is missing, nothing rolls
        return out
    running = _template_annotations(observed.deployment).get(names.ANN_DATABASE_HASH)
    database_hash = observed.database_secret_hash or running
    desired = manifests.deployment(
        app,
        owner,
        image=target,
        ring=ring,
        database_hash=database_hash,
        references_hash=observed.references_hash,
    )
    out.pending = desired
    out.events.extend(data_changed_events(app, observed.deployment, desired))
    if observed.deployment is not None:
        patch = foreign_env(observed.deployment, desired)
        if patch is not None:
            out.patches.append(patch)
    if apply_child(out, desired, observed.deployment, reapply=reapply):
        if observed.deployment is not None:
            out.events.append(Event(NORMAL, "RollingOut", f"rolling out {target} (key ring {ring.version})"))
        out.notes.progressing.append(("RollingOut", f"rolling out {target}"))
    return out


def _template_annotations(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    template = ((obj or {}).get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("annotations") or {}


def _containers(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])


def foreign_env(seen: Mapping[str, Any], desired: Mapping[str, Any]) -> JsonPatch | None:
    """Environment variables someone else added to the operator's containers (``kubectl set env``).

    Server-side apply keeps entries another manager owns, and an added variable can mask the spec's
    config, so they are removed by index, each guarded by a test of its name.
    """
    wanted = {
        str(c.get("name")): {str(e.get("name")) for e in c.get("env") or []} for c in _containers(desired)
    }
    operations: list[dict[str, Any]] = []
    removed: list[str] = []
    for ci, container in enumerate(_containers(seen)):
        ours = wanted.get(str(container.get("name")))
        if ours is None:
            continue
        for ei, entry in reversed(list(enumerate(container.get("env") or []))):
            name = str(entry.get("name"))
            if name not in ours:
                path = f"/spec/template/spec/containers/{ci}/env/{ei}"
                operations += [
                    {"op": "test", "path": f"{path}/name", "value": name},
                    {"op": "remove", "path": path},
                ]
                removed.append(name)
    if not operations:
        return None
    name = str((seen.get("metadata") or {}).get("name"))
    listed = ", ".join(sorted(removed))
    return JsonPatch(
        Ref("apps/v1", "Deployment", name),
        operations,
        f"removed environment variable(s) {listed} from Deployment {name}: not in spec.config",
    )


def observe_rollout(
    instance: Instance,
    app: AppSpec,
    observed: Observed,
    *,
    target: str | None,
    pending: Mapping[str, Any] | None,
    now: datetime | None = None,
    config: Mapping[str, str] | None = None,
) -> RolloutState:
    """Replica counts, the image every replica runs once complete, and the notes while it is not.

    ``config`` (the settings the pods got) with ``now``: a complete rollout becomes ``status.lastGood``,
    what a failed rollout later goes back to.
    """
    out = RolloutState()
    dep = observed.deployment
    dep_status = (dep or {}).get("status") or {}
    out.status["replicas"] = int(dep_status.get("replicas", 0))
    out.status["readyReplicas"] = int(dep_status.get("readyReplicas", 0))
    applying = pending is not None and needs_apply(dep, pending)
    complete = rollout_complete(dep) and not applying
    running_image = annotations_of(dep).get(names.ANN_MIGRATED_IMAGE)
    out.running_image, out.complete = running_image, complete
    notes = out.notes
    if complete and running_image:
        if instance.status.get("currentImage") != running_image:
            out.events.append(Event(NORMAL, "RolledOut", f"all replicas run {running_image}"))
        out.status["currentImage"] = running_image
        if config is not None and now is not None:
            _record_last_good(out, instance, Revision(running_image, config), now)
    # Later steps' not-ready notes only count when no earlier step gave one (the first wins).
    if dep is None and target is None:
        notes.not_ready.append(("Migrating", "waiting for the first migration"))
    if dep is not None and not complete:
        notes.progressing.append(
            ("RollingOut", "waiting for the Deployment's replicas to be updated and available")
        )
        available = int(dep_status.get("availableReplicas", 0))
        notes.not_ready.append(("RollingOut", f"{available} replica(s) available, rollout in progress"))
    if target is not None and target != app.image:
        notes.not_ready.append(("Migrating", f"serving {target}; {app.image} is not migrated yet"))
    return out


def _record_last_good(out: RolloutState, instance: Instance, good: Revision, now: datetime) -> None:
    """Every replica of this revision is available: it is what a later failed rollout goes back to."""
    seen = last_good(instance)
    if seen is None or (seen.image, seen.config_hash) != (good.image, good.config_hash):
        out.status["lastGood"] = good.record(now)
