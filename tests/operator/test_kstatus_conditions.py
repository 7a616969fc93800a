"""kstatus's Reconciling/Stalled next to Ready/Progressing/Degraded, on the in-memory world."""

from __future__ import annotations

from .conftest import spec
from .test_planner import IMAGE_A, IMAGE_B, World, ready_world


def states(world: World) -> dict[str, str]:
    return {c["type"]: c["status"] for c in world.status["conditions"]}


def test_ready_instance_is_neither_reconciling_nor_stalled() -> None:
    world = ready_world()
    assert states(world) == {
        "Ready": "True",
        "Progressing": "False",
        "Degraded": "False",
        "Reconciling": "False",
        "Stalled": "False",
    }
    assert world.condition("Progressing")["message"] == "the instance matches its spec"
    assert world.condition("Reconciling")["observedGeneration"] == world.generation


def test_migration_and_rollout_are_reconciling() -> None:
    world = World(image=IMAGE_A)
    world.step()
    assert world.condition("Reconciling") | {"lastTransitionTime": ""} == {
        "type": "Reconciling",
        "status": "True",
        "reason": "Migrating",
        "message": world.condition("Progressing")["message"],
        "lastTransitionTime": "",
        "observedGeneration": 1,
    }
    world.finish_job(IMAGE_A, ok=True)
    world.step()
    assert world.condition("Reconciling")["reason"] == "RollingOut"
    assert world.condition("Stalled")["status"] == "False"


def test_a_failed_migration_in_backoff_is_degraded_and_reconciling_never_matched() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.step()
    world.finish_job(IMAGE_B, ok=False)
    world.step()
    assert world.condition("Degraded")["reason"] == "MigrationFailed"
    assert world.condition("Stalled")["status"] == "False"
    assert world.condition("Reconciling")["reason"] == "MigrationBackoff"
    progressing = world.condition("Progressing")
    assert progressing["status"] == "True"
    assert "matches its spec" not in progressing["message"]


def test_an_invalid_spec_stalls() -> None:
    world = World(config={"LOG_LEVEL": "x"})
    world.step()
    assert world.condition("Stalled")["reason"] == "InvalidConfig"
    assert states(world)["Reconciling"] == "False"


def test_a_missing_database_secret_stalls_until_it_appears() -> None:
    world = World(image=IMAGE_A)
    world.db_present = False
    world.step()
    assert world.condition("Stalled")["reason"] == "DatabaseSecretMissing"
    world.db_present = True
    world.step()
    assert world.condition("Stalled")["status"] == "False"
    assert world.condition("Reconciling")["status"] == "True"
