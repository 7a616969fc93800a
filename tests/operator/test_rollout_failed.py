"""A rollout that misses spec.rollout.progressDeadlineSeconds is RolloutFailed; the old pods keep serving."""

from __future__ import annotations

from .conftest import spec
from .test_planner import IMAGE_A, IMAGE_B, World, ready_world, reasons

DEADLINE = {
    "type": "Progressing",
    "status": "False",
    "reason": "ProgressDeadlineExceeded",
    "message": 'ReplicaSet "shop-abc" has timed out progressing.',
}


def stuck_upgrade(**overrides: object) -> World:
    world = ready_world()
    world.spec = spec(image=IMAGE_B, **overrides)
    world.step()
    world.finish_job(IMAGE_B, ok=True)
    world.step()
    assert world.deployed_image() == IMAGE_B
    dep = world.get("Deployment")
    assert dep is not None
    dep["status"] = {
        **dep["status"],
        "observedGeneration": dep["metadata"]["generation"],
        "conditions": [DEADLINE],
        "updatedReplicas": 1,
        "availableReplicas": 2,
    }
    return world


def test_deadline_goes_into_the_deployment() -> None:
    world = World(image=IMAGE_A, migrations={"enabled": False}, rollout={"progressDeadlineSeconds": 120})
    world.step()
    dep = world.get("Deployment")
    assert dep is not None
    assert dep["spec"]["progressDeadlineSeconds"] == 120
    assert ready_world().get("Deployment")["spec"]["progressDeadlineSeconds"] == 300  # type: ignore[index]


def test_a_missed_deadline_is_rollout_failed_and_stalled() -> None:
    world = stuck_upgrade(rollout={"autoRollback": False})
    result = world.step()
    assert "RolloutFailed" in reasons(result)
    for kind in ("Degraded", "Stalled", "Ready"):
        assert world.condition(kind)["reason"] == "RolloutFailed", kind
    message = world.condition("Degraded")["message"]
    assert "300s" in message
    assert "timed out progressing" in message
    assert world.condition("Reconciling")["status"] == "False"
    assert "RolloutFailed" not in reasons(world.step())  # announced once
    assert world.status["currentImage"] == IMAGE_A  # what every replica ran last
    assert world.deployed_image() == IMAGE_B  # autoRollback is off: nothing goes back
    assert "autoRollback is false" in message


def test_a_verdict_about_an_earlier_template_is_not_a_failure() -> None:
    world = stuck_upgrade(rollout={"autoRollback": False})
    dep = world.get("Deployment")
    assert dep is not None
    dep["status"]["observedGeneration"] = dep["metadata"]["generation"] - 1
    world.step()
    assert world.condition("Degraded")["status"] == "False"
    assert world.condition("Reconciling")["reason"] == "RollingOut"
