"""The Argo CD Lua check and the real kstatus library read the planner's status the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import spec
from .health import argocd_health, kstatus, kstatus_binary
from .test_planner import IMAGE_A, IMAGE_B, World, ready_world
from .test_rollback import crash, upgrade


@pytest.fixture(scope="module")
def kstatus_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kstatus_binary(tmp_path_factory.mktemp("kstatus"))


def as_object(world: World) -> dict[str, Any]:
    return {
        "apiVersion": "apps.moorage.dev/v1alpha1",
        "kind": "AppInstance",
        "metadata": {"name": "shop", "namespace": "team-a", "generation": world.generation},
        "spec": world.spec,
        "status": world.status,
    }


def migrating() -> World:
    world = World(image=IMAGE_A)
    world.step()
    return world


def failed_migration() -> World:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.step()
    world.finish_job(IMAGE_B, ok=False)
    world.step()
    return world


def missing_database_secret() -> World:
    world = World(image=IMAGE_A)
    world.db_present = False
    world.step()
    return world


def invalid() -> World:
    world = World(config={"LOG_LEVEL": "x"})
    world.step()
    return world


def rolled_back() -> World:
    world = ready_world()
    upgrade(world)
    crash(world)
    world.step()
    world.pods = None
    world.finish_rollout()  # the last good revision serves again
    world.step()
    return world


def rollout_failed() -> World:
    world = ready_world()
    upgrade(world, rollout={"autoRollback": False})
    crash(world)
    world.step()
    return world


CASES = {
    "ready": (ready_world, "Healthy", "Current"),
    "migrating": (migrating, "Progressing", "InProgress"),
    "failed-migration": (failed_migration, "Degraded", "InProgress"),  # retried on its own
    "missing-database-secret": (missing_database_secret, "Degraded", "Failed"),
    "invalid-spec": (invalid, "Degraded", "Failed"),
    "rolled-back": (rolled_back, "Degraded", "Failed"),  # serving, but the spec needs a change
    "rollout-failed": (rollout_failed, "Degraded", "Failed"),
}


@pytest.mark.parametrize("case", CASES)
def test_argocd_and_kstatus_agree_with_the_conditions(case: str, kstatus_bin: Path) -> None:
    make, argo_status, kstatus_status = CASES[case]
    obj = as_object(make())
    assert argocd_health(obj)[0] == argo_status
    assert kstatus(kstatus_bin, obj)[0] == kstatus_status


def test_a_status_older_than_the_spec_is_progressing(kstatus_bin: Path) -> None:
    world = ready_world()
    world.generation = 2  # the spec changed; the operator has not reported on it yet
    obj = as_object(world)
    assert argocd_health(obj)[0] == "Progressing"
    assert kstatus(kstatus_bin, obj)[0] == "InProgress"


def test_argocd_message_names_the_reason() -> None:
    status, message = argocd_health(as_object(failed_migration()))
    assert status == "Degraded"
    assert message.startswith("MigrationFailed: migration Job")
    assert argocd_health({"apiVersion": "x", "kind": "AppInstance", "metadata": {}})[0] == "Progressing"


def test_argocd_message_says_what_was_rolled_back() -> None:
    status, message = argocd_health(as_object(rolled_back()))
    assert status == "Degraded"
    assert message.startswith(f"RolledBack: the new pods of {IMAGE_B} failed")
    assert f"rolled back to {IMAGE_A}" in message


def test_paused_ready_instance_is_suspended() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_A, paused=True)
    world.step()
    assert argocd_health(as_object(world))[0] == "Suspended"


def test_messages_survive_the_trip_into_lua() -> None:
    world = failed_migration()
    text = '…log tail 12\\n"quoted" ünïcode'
    for cond in world.status["conditions"]:
        if cond["type"] == "Degraded":
            cond["message"] = text
    assert argocd_health(as_object(world)) == ("Degraded", f"MigrationFailed: {text}")
