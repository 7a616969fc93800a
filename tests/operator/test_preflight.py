"""A bad config never rolls: moorage check-config runs in a preflight Job before the ConfigMap or pods."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from moorage_operator import names
from moorage_operator.reconcile import Plan, plan

from .conftest import env, spec
from .test_planner import IMAGE_A, World, ready_world, reasons

REFUSAL = "moorage: configuration error: LOG_LEVEL Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"


def step(world: World) -> Plan:
    """One reconcile; the preflight Job it creates is stored like the others."""
    result = world.step()
    if result.preflight_create is not None:
        job = copy.deepcopy(result.preflight_create)
        world.objects[("Job", job["metadata"]["name"])] = job
    return result


def preflight(world: World) -> dict[str, Any]:
    jobs = [o for (k, _), o in world.objects.items() if k == "Job" and "-preflight-" in o["metadata"]["name"]]
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    return jobs[0]


def finish(job: dict[str, Any], *, ok: bool) -> None:
    kind = "Complete" if ok else "Failed"
    job["status"] = {"conditions": [{"type": kind, "status": "True", "reason": "BackoffLimitExceeded"}]}


def running_config(world: World) -> dict[str, str]:
    cm = world.get("ConfigMap")
    assert cm is not None
    return dict(cm["data"])


def test_a_refused_config_degrades_stalls_and_rolls_nothing() -> None:
    world = ready_world()
    dep_before = copy.deepcopy(world.get("Deployment"))
    world.spec = spec(image=IMAGE_A, config=env(LOG_LEVEL="NOPE", REFRESH_TOKEN_TTL_SECONDS="3600"))
    world.generation = 2
    result = step(world)
    job = preflight(world)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["moorage", "check-config"]
    assert {"name": "LOG_LEVEL", "value": "NOPE"} in container["env"]
    assert "envFrom" not in container  # the new settings inline; the ConfigMap keeps the running ones
    assert not result.applies
    assert "PreflightStarted" in reasons(result)
    assert world.condition("Reconciling")["reason"] == "CheckingConfig"
    assert running_config(world)["LOG_LEVEL"] == "DEBUG"

    finish(job, ok=False)
    world.failure_message = None
    observed = world.observed()
    observed.preflight_failure_message = REFUSAL
    result = plan(world.instance(), observed, world.now)
    world.status = result.status
    assert not result.applies
    assert result.job_create is None
    assert "ConfigInvalid" in reasons(result)
    for kind in ("Degraded", "Stalled", "Ready"):
        cond = world.condition(kind)
        assert cond["reason"] == "ConfigInvalid", kind
    assert "LOG_LEVEL" in world.condition("Degraded")["message"]
    assert "Input should be" in world.condition("Degraded")["message"]
    assert world.get("Deployment") == dep_before
    # The refusal is announced once.
    again = plan(world.instance(), observed, world.now)
    assert "ConfigInvalid" not in reasons(again)
    assert not again.applies


def test_a_passed_check_lets_the_new_config_roll() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_A, config=env(LOG_LEVEL="WARNING", REFRESH_TOKEN_TTL_SECONDS="3600"))
    step(world)
    job = preflight(world)
    finish(job, ok=True)
    result = step(world)
    kinds = [o["kind"] for o in result.applies]
    assert "ConfigMap" in kinds
    assert "Deployment" in kinds
    assert running_config(world)["LOG_LEVEL"] == "WARNING"
    dep = world.get("Deployment")
    assert dep is not None
    assert names.ANN_CONFIG_HASH in dep["spec"]["template"]["metadata"]["annotations"]
    # Once the pods run the config, the preflight record is cleaned away and the migration step left it alone.
    world.finish_rollout()
    result = step(world)
    assert [r.name for r in result.deletes] == [job["metadata"]["name"]]


def test_the_first_rollout_needs_no_preflight() -> None:
    world = World(image=IMAGE_A)
    assert world.step().preflight_create is None


def test_a_new_image_checks_its_settings_in_the_migration_job_first() -> None:
    world = ready_world()
    world.spec = spec(image="moorage/service:2")
    result = world.step()
    assert result.job_create is not None
    [check] = result.job_create["spec"]["template"]["spec"]["initContainers"]
    assert check["command"] == ["moorage", "check-config"]
    assert check["terminationMessagePolicy"] == "FallbackToLogsOnError"
    world.finish_job("moorage/service:2", ok=False)
    world.failure_message = REFUSAL
    result = world.step()
    assert "ConfigInvalid" in reasons(result)
    assert world.condition("Stalled")["reason"] == "ConfigInvalid"
    assert "LOG_LEVEL" in world.condition("Degraded")["message"]
    # Deterministic: no automatic retry, however long it waits; the old image keeps serving.
    assert world.step(world.now + timedelta(hours=1)).job_create is None
    assert world.deployed_image() == IMAGE_A


def test_an_instance_without_config_keeps_its_empty_config_until_checked() -> None:
    world = World(image=IMAGE_A, config=None)
    del world.spec["config"]
    world.step()
    world.finish_job(IMAGE_A, ok=True)
    world.step()
    world.finish_rollout()
    world.step()
    assert running_config(world) == {}
    world.spec = {**world.spec, "config": env(LOG_LEVEL="NOPE")}
    result = step(world)
    assert result.preflight_create is not None
    assert not result.applies
    assert running_config(world) == {}
    assert not step(world).applies  # still held while the check runs


def migrations_off_world() -> World:
    world = World(image=IMAGE_A, migrations={"enabled": False})
    world.step()
    world.finish_rollout()
    world.step()
    assert world.condition("Ready")["status"] == "True"
    return world


def test_with_migrations_off_a_new_image_is_checked_before_any_pod_runs_it() -> None:
    world = migrations_off_world()
    world.spec = spec(image="moorage/service:2", migrations={"enabled": False})
    world.generation = 2
    result = step(world)
    assert result.preflight_create is not None
    [check] = result.preflight_create["spec"]["template"]["spec"]["containers"]
    assert check["image"] == "moorage/service:2"
    assert world.deployed_image() == IMAGE_A
    assert world.condition("Ready")["reason"] == "CheckingConfig"
    assert "serving moorage/service:1" in world.condition("Ready")["message"]
    finish(preflight(world), ok=True)
    step(world)
    assert world.deployed_image() == "moorage/service:2"


def test_a_check_that_never_ran_is_preflight_failed_not_config_invalid() -> None:
    world = migrations_off_world()
    world.spec = spec(image="moorage/service:never-loaded", migrations={"enabled": False})
    world.generation = 2
    step(world)
    job = preflight(world)
    job["status"] = {
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "DeadlineExceeded",
                "message": "Job was active longer than specified deadline",
            }
        ]
    }
    result = step(world)
    assert "PreflightFailed" in reasons(result)
    assert world.condition("Stalled")["reason"] == "PreflightFailed"
    assert "DeadlineExceeded" in world.condition("Degraded")["message"]
    assert world.deployed_image() == IMAGE_A


def test_a_refused_new_image_names_the_image() -> None:
    world = migrations_off_world()
    world.spec = spec(image="moorage/service:2", migrations={"enabled": False})
    world.generation = 2
    step(world)
    finish(preflight(world), ok=False)
    observed = world.observed()
    observed.preflight_failure_message = REFUSAL
    result = plan(world.instance(), observed, world.now)
    assert "ConfigInvalid" in reasons(result)
    world.status = result.status
    assert world.condition("Degraded")["message"].startswith("spec.image was refused")
    assert not [o for o in result.applies if o["kind"] == "Deployment"]
