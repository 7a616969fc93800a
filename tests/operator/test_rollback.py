"""A crash-looping rollout is caught at once and goes back to the last good image and config."""

from __future__ import annotations

import base64
import copy
from typing import Any

from moorage_operator import names
from moorage_operator.reconcile.crashloop import TAIL_LIMIT, crash_loop, scrub

from .conftest import env, spec
from .test_planner import IMAGE_A, IMAGE_B, IMAGE_C, World, migrated_world, ready_world, reasons
from .test_preflight import finish, preflight, running_config, step

CRASH_OUTPUT = (
    "Traceback (most recent call last):\n"
    '  File "/app/moorage/app.py", line 80, in create_app\n'
    "sqlalchemy: postgresql://moorage:hunter2-secret@db:5432/moorage unreachable\n"
    "ValueError: max_export_batch_size must be a positive integer.\n"
)


def pod(dep: dict[str, Any], name: str, status: dict[str, Any]) -> dict[str, Any]:
    """A pod made from the Deployment's current template, with one container status."""
    template = copy.deepcopy(dep["spec"]["template"])
    return {
        "metadata": {"name": name, **template["metadata"]},
        "spec": template["spec"],
        "status": {"containerStatuses": [{"name": "moorage", **status}]},
    }


def crash_looping(restarts: int = 3, message: str = CRASH_OUTPUT) -> dict[str, Any]:
    return {
        "restartCount": restarts,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": message}},
    }


def pull_failing() -> dict[str, Any]:
    return {
        "restartCount": 0,
        "state": {
            "waiting": {
                "reason": "ImagePullBackOff",
                "message": 'Back-off pulling image "moorage/service:2"',
            }
        },
    }


def deployment(world: World) -> dict[str, Any]:
    dep = world.get("Deployment")
    assert dep is not None
    return dep


def upgrade(world: World, image: str = IMAGE_B, **overrides: Any) -> None:
    """A new generation with a new image, migrated and written to the Deployment, its pods not up yet."""
    world.spec = spec(image=image, **overrides)
    world.generation += 1
    world.step()
    world.finish_job(image, ok=True)
    world.step()
    assert world.deployed_image() == image


def crash(world: World, status: dict[str, Any] | None = None) -> None:
    """The new ReplicaSet's pod crash-loops; the old pods keep serving."""
    dep = deployment(world)
    old = copy.deepcopy(dep)
    old["spec"]["template"]["spec"]["containers"][0]["image"] = IMAGE_A
    healthy = {"restartCount": 0, "state": {"running": {}}, "ready": True}
    world.pods = [
        pod(old, "shop-old-1", healthy),
        pod(old, "shop-old-2", healthy),
        pod(dep, "shop-new-1", status or crash_looping()),
    ]
    dep["status"] = {**dep["status"], "updatedReplicas": 1, "availableReplicas": 2, "replicas": 3}


def test_a_crash_loop_is_rollout_failed_before_the_deadline_without_autorollback() -> None:
    world = ready_world()
    upgrade(world, rollout={"autoRollback": False})
    crash(world)
    result = world.step()
    assert "RolloutFailed" in reasons(result)
    for kind in ("Degraded", "Stalled", "Ready"):
        assert world.condition(kind)["reason"] == "RolloutFailed", kind
    message = world.condition("Degraded")["message"]
    assert "container moorage of pod shop-new-1: CrashLoopBackOff" in message
    assert "exit code 1, 3 restart(s)" in message
    assert "max_export_batch_size must be a positive integer" in message
    assert "hunter2" not in message
    assert "autoRollback is false" in message
    assert world.condition("Reconciling")["status"] == "False"
    # Nothing goes back, and the failure is announced once.
    assert world.deployed_image() == IMAGE_B
    assert "rollback" not in world.status
    again = world.step()
    assert "RolloutFailed" not in reasons(again)
    assert not again.applies
    assert world.condition("Stalled")["reason"] == "RolloutFailed"


def test_a_crash_loop_rolls_back_to_the_last_good_image() -> None:
    world = ready_world()
    good_template = copy.deepcopy(deployment(world)["spec"]["template"])
    upgrade(world)
    crash(world)
    result = world.step()
    assert reasons(result).count("RolloutFailed") == 1
    [rolled] = [e for e in result.events if e.reason == "RolledBack"]
    assert rolled.type == "Warning"
    assert IMAGE_A in rolled.message
    assert IMAGE_B in rolled.message
    assert world.deployed_image() == IMAGE_A
    assert deployment(world)["spec"]["template"] == good_template
    record = world.status["rollback"]
    assert record | {"time": "", "message": ""} == {
        "generation": 2,
        "fromImage": IMAGE_B,
        "fromConfigHash": record["toConfigHash"],  # only the image changed
        "toImage": IMAGE_A,
        "toConfigHash": world.status["lastGood"]["configHash"],
        "reason": "CrashLoopBackOff",
        "time": "",
        "message": "",
    }
    assert world.condition("Degraded")["reason"] == "RolledBack"
    assert world.condition("Stalled")["reason"] == "RolledBack"
    assert world.condition("Reconciling")["status"] == "False"
    message = world.condition("Degraded")["message"]
    assert f"rolled back to {IMAGE_A}" in message
    assert "CrashLoopBackOff" in message

    # The old pods finish the way back; the rollback holds, quietly, and the last good one stays.
    world.pods = None
    world.finish_rollout()
    quiet = world.step()
    assert not quiet.applies
    assert not [e for e in quiet.events if e.reason in ("RolledBack", "RolloutFailed")]
    assert world.condition("Stalled")["reason"] == "RolledBack"
    assert world.status["currentImage"] == IMAGE_A
    assert world.status["lastGood"]["image"] == IMAGE_A
    assert world.status["migratedImage"] == IMAGE_B  # the database stays migrated for B


def test_drift_revert_reapplies_the_rolled_back_deployment() -> None:
    world = ready_world()
    upgrade(world)
    crash(world)
    world.step()
    world.pods = None
    world.finish_rollout()
    result = world.step(reapply=True)
    assert not result.applies
    [again] = [r for r in result.reapplies if r.desired["kind"] == "Deployment"]
    assert again.desired["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE_A


def test_a_pull_failure_rolls_back_at_once() -> None:
    world = ready_world()
    upgrade(world)
    crash(world, pull_failing())
    world.step()
    assert world.deployed_image() == IMAGE_A
    assert world.status["rollback"]["reason"] == "ImagePullBackOff"
    assert 'Back-off pulling image "moorage/service:2"' in world.condition("Degraded")["message"]


def test_a_missed_deadline_rolls_back_too() -> None:
    world = ready_world()
    upgrade(world)
    dep = deployment(world)
    dep["status"] = {
        **dep["status"],
        "observedGeneration": dep["metadata"]["generation"],
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
    }
    world.step()
    assert world.deployed_image() == IMAGE_A
    assert world.status["rollback"]["reason"] == "ProgressDeadlineExceeded"


def test_a_crashing_config_goes_back_to_the_last_good_config() -> None:
    world = ready_world()
    good = running_config(world)
    bad = env(
        LOG_LEVEL="DEBUG",
        REFRESH_TOKEN_TTL_SECONDS="3600",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="0",
    )
    world.spec = spec(image=IMAGE_A, config=bad)
    world.generation = 2
    step(world)
    finish(preflight(world), ok=True)  # check-config knows nothing of the SDK's variables
    step(world)
    assert running_config(world)["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] == "0"
    crash(world)
    result = step(world)
    assert "RolledBack" in reasons(result)
    assert running_config(world) == good
    annotations = deployment(world)["spec"]["template"]["metadata"]["annotations"]
    assert annotations[names.ANN_CONFIG_HASH] == world.status["lastGood"]["configHash"]
    assert world.status["rollback"]["fromImage"] == world.status["rollback"]["toImage"] == IMAGE_A
    assert world.status["rollback"]["fromConfigHash"] != world.status["rollback"]["toConfigHash"]
    # No preflight is wanted for the config in force, and none runs again for the refused one.
    world.pods = None
    world.finish_rollout()
    assert step(world).preflight_create is None
    assert world.condition("Stalled")["reason"] == "RolledBack"


def test_a_new_spec_after_a_rollback_starts_over() -> None:
    world = ready_world()
    upgrade(world)
    crash(world)
    world.step()
    world.pods = None
    world.finish_rollout()
    world.step()
    upgrade(world, IMAGE_C)
    assert world.status.get("rollback") is None
    assert world.condition("Stalled")["status"] == "False"
    assert world.condition("Reconciling")["reason"] == "RollingOut"
    world.finish_rollout()
    world.step()
    assert world.condition("Ready")["status"] == "True"
    assert world.status["lastGood"]["image"] == IMAGE_C


def test_the_last_good_revision_is_recorded_only_once_every_replica_is_available() -> None:
    world = migrated_world()
    assert "lastGood" not in world.status  # the first rollout is under way
    world.finish_rollout()
    world.step()
    first = world.status["lastGood"]
    assert first["image"] == IMAGE_A
    assert {"name": "LOG_LEVEL", "value": "DEBUG"} in first["config"]
    world.step()
    assert world.status["lastGood"] == first  # unchanged: not re-stamped on every reconcile
    upgrade(world)
    assert world.status["lastGood"] == first  # B rolls; A is still the last good one
    world.finish_rollout()
    world.step()
    assert world.status["lastGood"]["image"] == IMAGE_B


def test_a_first_rollout_that_crashes_has_nothing_to_go_back_to() -> None:
    world = migrated_world()
    dep = deployment(world)
    world.pods = [pod(dep, "shop-new-1", crash_looping())]
    world.step()
    assert world.condition("Stalled")["reason"] == "RolloutFailed"
    assert "no earlier revision was fully Ready" in world.condition("Degraded")["message"]
    assert world.deployed_image() == IMAGE_A


def test_old_pods_crashing_do_not_fail_the_new_rollout() -> None:
    world = ready_world()
    upgrade(world)
    dep = deployment(world)
    old = copy.deepcopy(dep)
    old["spec"]["template"]["spec"]["containers"][0]["image"] = IMAGE_A
    world.pods = [pod(old, "shop-old-1", crash_looping())]
    world.step()
    assert world.condition("Degraded")["status"] == "False"
    assert world.deployed_image() == IMAGE_B


def test_a_crash_of_a_revision_the_spec_no_longer_wants_is_moot() -> None:
    world = ready_world()
    upgrade(world)
    crash(world)
    world.spec = spec(image=IMAGE_C)  # changed before the operator looked
    world.generation += 1
    world.step()
    assert "rollback" not in world.status
    assert world.condition("Degraded")["status"] == "False"


def test_the_verdict_names_the_failure_and_never_a_secret() -> None:
    ring = {"data": {"SECRET_KEY": base64.b64encode(b"k" * 40).decode()}}
    long_output = "x" * 5000 + "\nSECRET_KEY=" + "k" * 40 + " DB_PASSWORD=swordfish redis://:pw@r:6379/0"
    dep = {
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "moorage", "image": "i"}]}}}
    }
    pods = [pod(dep, "p", crash_looping(message=long_output))]
    found = crash_loop(dep, pods, ["k" * 40])
    assert found is not None
    text = found.describe()
    assert "k" * 40 not in text
    assert "swordfish" not in text
    assert ":pw@" not in text
    assert len(found.detail) < TAIL_LIMIT + 100
    assert scrub("postgresql://u:p@h/db") == "postgresql://u:***@h/db"
    assert ring  # the handlers pass the key ring's decoded values as the secrets


def test_one_restart_after_an_error_exit_is_a_crash_loop() -> None:
    dep = {
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "moorage", "image": "i"}]}}}
    }
    running = {"restartCount": 1, "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 0}}}
    assert crash_loop(dep, [pod(dep, "p", running)]) is None
    errored = {**running, "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}}}
    found = crash_loop(dep, [pod(dep, "p", errored)])
    assert found is not None
    assert found.reason == "Error"
    assert "exit code 3" in found.detail


def test_a_slow_start_killed_by_its_probe_needs_repeated_kills() -> None:
    dep = {
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "moorage", "image": "i"}]}}}
    }

    def killed(restarts: int, reason: str = "Error") -> dict[str, Any]:
        return {
            "restartCount": restarts,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": reason}},
        }

    assert crash_loop(dep, [pod(dep, "p", killed(1))]) is None  # a loaded node can be that slow once
    assert crash_loop(dep, [pod(dep, "p", killed(2))]) is None
    again = crash_loop(dep, [pod(dep, "p", killed(3))])
    assert again is not None
    assert again.reason == "CrashLoopBackOff"
    assert "exit code 137, 3 restart(s)" in again.detail
    oom = crash_loop(dep, [pod(dep, "p", killed(1, "OOMKilled"))])
    assert oom is not None
    assert "exit code 137 (OOMKilled)" in oom.detail
