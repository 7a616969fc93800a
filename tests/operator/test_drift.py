"""Drift: the periodic check re-applies unchanged children; variables added behind the operator's back go."""

from __future__ import annotations

from typing import Any

from moorage_operator.reconcile import plan
from moorage_operator.reconcile.model import Reapply, owned_content

from .conftest import NOW, spec
from .test_planner import IMAGE_A, World, ready_world


def test_the_drift_check_reapplies_every_unchanged_child_quietly() -> None:
    world = ready_world()
    result = plan(world.instance(), world.observed(), NOW, reapply=True)
    assert not result.applies
    assert not result.events
    kinds = sorted(r.desired["kind"] for r in result.reapplies)
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]
    assert not plan(world.instance(), world.observed(), NOW).reapplies


def test_an_added_environment_variable_is_removed_by_name() -> None:
    world = ready_world()
    dep = world.get("Deployment")
    assert dep is not None
    env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
    env.insert(1, {"name": "LOG_LEVEL", "value": "NOPE"})
    env.append({"name": "EXTRA", "value": "1"})
    result = world.step()
    [patch] = result.patches
    assert patch.ref.kind == "Deployment"
    assert patch.ref.name == "shop"
    last = len(env) - 1
    assert patch.operations == [
        {"op": "test", "path": f"/spec/template/spec/containers/0/env/{last}/name", "value": "EXTRA"},
        {"op": "remove", "path": f"/spec/template/spec/containers/0/env/{last}"},
        {"op": "test", "path": "/spec/template/spec/containers/0/env/1/name", "value": "LOG_LEVEL"},
        {"op": "remove", "path": "/spec/template/spec/containers/0/env/1"},
    ]
    assert "EXTRA, LOG_LEVEL" in patch.message
    assert "Deployment shop" in patch.message
    assert "NOPE" not in patch.message  # names only, never values


def test_no_patch_while_the_environment_is_the_operators() -> None:
    assert not ready_world().step().patches


def test_replicas_are_left_to_the_autoscaler() -> None:
    world = World(image=IMAGE_A, autoscaling={"minReplicas": 2, "maxReplicas": 4})
    del world.spec["replicas"]
    world.step()
    world.finish_job(IMAGE_A, ok=True)
    world.step()
    result = plan(world.instance(), world.observed(), NOW, reapply=True)
    [dep] = [r.desired for r in result.reapplies if r.desired["kind"] == "Deployment"]
    assert "replicas" not in dep["spec"]


def test_a_reapply_reverted_something_when_the_content_moved() -> None:
    seen: dict[str, Any] = {
        "metadata": {"resourceVersion": "10", "labels": {"a": "b"}},
        "spec": {"replicas": 4},
    }
    again = Reapply({}, owned_content(seen))
    assert again.reverted(
        {"metadata": {"resourceVersion": "11", "labels": {"a": "b"}}, "spec": {"replicas": 2}}
    )
    # A status update moves the resourceVersion, not the content: no drift.
    status_only = {**seen, "metadata": {**seen["metadata"], "resourceVersion": "12"}, "status": {"x": 1}}
    assert not again.reverted(status_only)


def test_paused_instances_are_not_reapplied() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_A, paused=True)
    assert not plan(world.instance(), world.observed(), NOW, reapply=True).reapplies
