"""The reconcile decisions, driven step by step against a store that plays the API server's part."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from moorage_operator import names
from moorage_operator.conditions import find
from moorage_operator.reconcile import Instance, Observed, Plan, plan
from moorage_operator.reconcile.kinds import CHILDREN
from moorage_operator.reconcile.references import Digests, digests, observe_references, referenced
from moorage_operator.spec import parse_spec

from .conftest import NOW, spec

IMAGE_A = "moorage/service:1"
IMAGE_B = "moorage/service:2"
IMAGE_C = "moorage/service:3"


def job_name(image: str, inputs: str = "db/DATABASE_URL/") -> str:
    return names.migration_job_name("shop", image, inputs)


class World:
    """Objects as the cluster would hold them after each plan; jobs and rollouts are finished by hand."""

    def __init__(self, **overrides: Any) -> None:
        self.spec = spec(**overrides)
        self.status: dict[str, Any] = {}
        self.annotations: dict[str, str] = {}
        self.generation = 1
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.db_present: bool | None = True
        self.failure_message: str | None = None
        self.pods: list[dict[str, Any]] | None = None  # the serving pods, as the handlers read them
        # The user's Secrets and ConfigMaps by (kind, name), as the operator's watch sees them; None:
        # not modelled (only ``db_present`` speaks for the database Secret).
        self.sources: dict[tuple[str, str], dict[str, Any]] | None = None
        self.now = NOW

    def instance(self) -> Instance:
        return Instance(
            name="shop",
            namespace="team-a",
            uid="uid-1",
            generation=self.generation,
            spec=self.spec,
            status=self.status,
            annotations=self.annotations,
        )

    def get(self, kind: str, name: str | None = None) -> dict[str, Any] | None:
        for (k, n), obj in self.objects.items():
            if k == kind and (name is None or n == name):
                return obj
        return None

    def observed(self) -> Observed:
        observed = Observed(
            database_secret_present=self.db_present,
            job_failure_message=self.failure_message,
            server_pods=self.pods,
        )
        for kind in CHILDREN:  # as the handlers fill it: one field per kind of child
            if kind.name is None:
                setattr(
                    observed, kind.field or "", [o for (k, _), o in self.objects.items() if k == kind.kind]
                )
            else:
                setattr(observed, kind.field or "", self.get(kind.kind, kind.name("shop")))
        if self.sources is not None:  # as the handlers do, from the digests their index holds
            sources = self.sources

            def lookup(kind: str, name: str) -> Digests | None:
                body = sources.get((kind, name))
                return None if body is None else digests(body)

            observe_references(observed, "uid-1", referenced(parse_spec(self.spec)), lookup)
        return observed

    def step(self, at: datetime | None = None, *, reapply: bool = False) -> Plan:
        self.now = at or self.now
        result = plan(self.instance(), self.observed(), self.now, reapply=reapply)
        for obj in filter(
            None, [result.secret_create, result.secret_replace, *result.applies, result.job_create]
        ):
            stored = copy.deepcopy(obj)
            previous = self.objects.get((obj["kind"], obj["metadata"]["name"]))
            if previous is not None and "status" in previous:
                stored["status"] = previous["status"]
                if obj["kind"] == "Deployment" and previous["spec"] != stored["spec"]:
                    stored["metadata"]["generation"] = previous["metadata"].get("generation", 1) + 1
            self.objects[(obj["kind"], obj["metadata"]["name"])] = stored
        for ref in result.deletes:
            self.objects.pop((ref.kind, ref.name), None)
        self.status = result.status
        return result

    def finish_job(self, image: str, *, ok: bool, inputs: str = "db/DATABASE_URL/") -> None:
        job = self.get("Job", job_name(image, inputs))
        assert job is not None
        kind = "Complete" if ok else "Failed"
        job["status"] = {"conditions": [{"type": kind, "status": "True", "reason": "BackoffLimitExceeded"}]}
        if not ok:
            job["status"]["failed"] = 4

    def finish_rollout(self) -> None:
        dep = self.get("Deployment")
        assert dep is not None
        replicas = dep["spec"].get("replicas", 1)
        generation = dep["metadata"].setdefault("generation", 1)
        dep["status"] = {
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": replicas,
            "readyReplicas": replicas,
        }

    def condition(self, kind: str) -> dict[str, Any]:
        cond = find(self.status.get("conditions"), kind)
        assert cond is not None
        return dict(cond)

    def deployed_image(self) -> str | None:
        dep = self.get("Deployment")
        return None if dep is None else dep["spec"]["template"]["spec"]["containers"][0]["image"]


def reasons(result: Plan) -> list[str]:
    return [e.reason for e in result.events]


def migrated_world() -> World:
    """A new instance whose first migration succeeded: its Deployment is written, its pods not up yet."""
    world = World(image=IMAGE_A)
    world.step()
    world.finish_job(IMAGE_A, ok=True)
    world.step()
    return world


def ready_world() -> World:
    world = migrated_world()
    world.finish_rollout()
    world.step()
    return world


def test_create_runs_the_first_migration_before_any_deployment() -> None:
    world = World(image=IMAGE_A)
    result = world.step()
    assert result.secret_create is not None
    assert result.job_create is not None
    assert result.job_create["metadata"]["name"] == job_name(IMAGE_A)
    assert world.get("Deployment") is None
    assert {"KeyRingCreated", "MigrationStarted", "Created"} <= set(reasons(result))
    assert world.condition("Ready")["status"] == "False"
    assert world.condition("Progressing")["reason"] == "Migrating"
    assert world.status["observedGeneration"] == 1
    assert world.status["activeKeyId"]


def test_create_reaches_ready_after_migration_and_rollout() -> None:
    world = World(image=IMAGE_A)
    world.step()
    assert world.step().job_create is None  # the Job exists: never a second one
    world.finish_job(IMAGE_A, ok=True)
    result = world.step()
    assert "Migrated" in reasons(result)
    assert world.deployed_image() == IMAGE_A
    assert world.status["migratedImage"] == IMAGE_A
    world.finish_rollout()
    result = world.step()
    assert "RolledOut" in reasons(result)
    assert world.condition("Ready") | {"lastTransitionTime": ""} == world.condition("Ready") | {
        "status": "True",
        "reason": "Available",
        "lastTransitionTime": "",
    }
    assert world.condition("Progressing")["status"] == "False"
    assert world.condition("Degraded")["status"] == "False"
    assert world.status["currentImage"] == IMAGE_A
    # Steady state: nothing to write.
    quiet = world.step()
    assert not quiet.applies
    assert quiet.job_create is None
    assert quiet.secret_replace is None
    assert not quiet.events


def test_upgrade_migrates_first_then_rolls_out() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.generation = 2
    result = world.step()
    assert result.job_create is not None
    assert result.job_create["metadata"]["annotations"][names.ANN_IMAGE] == IMAGE_B
    assert world.deployed_image() == IMAGE_A  # the old image keeps serving
    assert world.condition("Ready")["reason"] == "Migrating"
    world.step()
    assert world.deployed_image() == IMAGE_A
    world.finish_job(IMAGE_B, ok=True)
    world.step()
    assert world.deployed_image() == IMAGE_B
    world.finish_rollout()
    world.step()
    assert world.condition("Ready")["status"] == "True"
    assert world.status["currentImage"] == IMAGE_B
    # The Job for the old image is cleaned away; the one for the running image stays as a record.
    assert world.get("Job", job_name(IMAGE_A)) is None
    assert world.get("Job", job_name(IMAGE_B)) is not None


def test_failed_migration_degrades_and_keeps_the_old_image() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.step()
    world.finish_job(IMAGE_B, ok=False)
    world.failure_message = "alembic: relation already exists\nexit 1"
    result = world.step()
    assert "MigrationFailed" in reasons(result)
    degraded = world.condition("Degraded")
    assert degraded["status"] == "True"
    assert degraded["reason"] == "MigrationFailed"
    assert "relation already exists" in degraded["message"]
    assert world.deployed_image() == IMAGE_A
    assert world.status["migratedImage"] == IMAGE_A
    assert world.status["migration"]["state"] == "Failed"
    # Not recreated, and the warning is not repeated.
    again = world.step()
    assert again.job_create is None
    assert "MigrationFailed" not in reasons(again)


def test_corrected_image_starts_over_with_one_migration_at_a_time() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.step()
    world.finish_job(IMAGE_B, ok=False)
    world.step()
    world.spec = spec(image=IMAGE_C)
    result = world.step()
    # The failed Job has no pods left: it is deleted and the new migration starts at once.
    assert [r.name for r in result.deletes] == [job_name(IMAGE_B)]
    assert result.job_create is not None
    assert result.job_create["metadata"]["name"] == job_name(IMAGE_C)


def test_superseded_running_migration_is_stopped_before_the_next_starts() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.step()
    world.spec = spec(image=IMAGE_C)
    world.objects[("Job", job_name(IMAGE_B))]["metadata"]["deletionTimestamp"] = "x"
    result = world.step()
    assert result.job_create is None  # the old Job still exists while it is being deleted
    assert world.status["migration"]["state"] == "Waiting"


def test_restart_mid_migration_creates_no_second_job() -> None:
    world = World(image=IMAGE_A)
    world.step()
    world.status = {}  # a restarted operator knows nothing but what the cluster holds
    assert world.step().job_create is None


def test_migrations_disabled_roll_out_at_once() -> None:
    world = World(image=IMAGE_A, migrations={"enabled": False})
    result = world.step()
    assert result.job_create is None
    assert world.deployed_image() == IMAGE_A


def test_rotate_annotation_rotates_and_rolls_the_pods() -> None:
    world = ready_world()
    first_key = world.status["activeKeyId"]
    dep = world.get("Deployment")
    assert dep is not None
    before = dep["spec"]["template"]["metadata"]["annotations"][names.ANN_KEY_RING]
    world.annotations = {names.ANN_ROTATE: "2026-01-01"}
    result = world.step(NOW + timedelta(minutes=1))
    assert result.secret_replace is not None
    assert "Rotated" in reasons(result)
    assert world.status["previousKeyId"] == first_key
    assert world.status["activeKeyId"] != first_key
    dep = world.get("Deployment")
    assert dep is not None
    assert dep["spec"]["template"]["metadata"]["annotations"][names.ANN_KEY_RING] != before
    # The same request is answered once.
    assert world.step(NOW + timedelta(minutes=2)).secret_replace is None
    # After the grace (2h) the previous key is dropped and the pods roll again.
    dropped = world.step(NOW + timedelta(hours=2, minutes=2))
    assert "PreviousKeyDropped" in reasons(dropped)
    assert world.status["previousKeyId"] is None


def test_scheduled_rotation_follows_the_secret_timestamps() -> None:
    world = ready_world()
    assert world.status["nextRotationTime"] == "2026-01-31T12:00:00Z"
    assert world.step(NOW + timedelta(hours=719)).secret_replace is None
    result = world.step(NOW + timedelta(hours=720))
    assert "Rotated" in reasons(result)
    assert world.status["lastRotationTime"] == "2026-01-31T12:00:00Z"


def test_invalid_spec_degrades_without_touching_anything() -> None:
    world = World(config={"LOG_LEVEL": "x"})
    result = world.step()
    assert not result.applies
    assert result.job_create is None
    assert result.secret_create is None
    assert world.condition("Degraded")["reason"] == "InvalidConfig"
    assert world.condition("Ready")["status"] == "False"


def test_missing_database_secret_degrades_and_waits() -> None:
    world = World(image=IMAGE_A)
    world.db_present = False
    result = world.step()
    assert result.job_create is None
    assert world.condition("Degraded")["reason"] == "DatabaseSecretMissing"
    world.db_present = True
    assert world.step().job_create is not None


def test_short_grace_is_reported() -> None:
    world = World(image=IMAGE_A, secretRotation={"interval": "720h", "gracePeriod": "10m"})
    world.step()
    assert world.condition("Degraded")["reason"] == "GracePeriodTooShort"


def test_paused_changes_nothing() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_B, paused=True)
    result = world.step()
    assert not result.applies
    assert result.job_create is None
    assert not result.deletes
    assert world.condition("Progressing")["reason"] == "Paused"


def test_switching_autoscaling_off_deletes_the_autoscaler() -> None:
    world = World(image=IMAGE_A, replicas=None, autoscaling={"minReplicas": 2, "maxReplicas": 4})
    del world.spec["replicas"]
    world.step()
    assert world.get("HorizontalPodAutoscaler") is not None
    world.spec = spec(image=IMAGE_A)
    result = world.step()
    assert [(r.kind, r.name) for r in result.deletes] == [("HorizontalPodAutoscaler", "shop")]


def test_retry_annotation_starts_a_fresh_migration_job() -> None:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.step()
    world.finish_job(IMAGE_B, ok=False)
    world.step()
    world.annotations = {names.ANN_RETRY_MIGRATION: "1"}
    result = world.step()
    assert result.job_create is not None
    assert result.job_create["metadata"]["name"] == job_name(IMAGE_B, "db/DATABASE_URL/1")
    assert [r.name for r in result.deletes] == [job_name(IMAGE_B)]


def test_corrected_migration_secret_starts_a_fresh_job() -> None:
    world = ready_world()
    bad = {"secretRef": {"name": "db"}, "migrationSecretRef": {"name": "bad"}}
    world.spec = spec(image=IMAGE_B, database=bad)
    first = world.step().job_create
    assert first is not None
    world.finish_job(IMAGE_B, ok=False, inputs="bad/DATABASE_URL/")
    world.step()
    world.spec = spec(image=IMAGE_B)
    second = world.step().job_create
    assert second is not None
    assert second["metadata"]["name"] != first["metadata"]["name"]


def test_a_child_the_api_server_rejects_degrades_the_instance() -> None:
    world = World(image=IMAGE_A)
    observed = world.observed()
    observed.rejected = "shop: spec.template.spec.containers[0].resources.requests: must be <= memory limit"
    result = plan(world.instance(), observed, NOW)
    degraded = find(result.status["conditions"], "Degraded")
    assert degraded is not None
    assert degraded["reason"] == "ChildRejected"
    assert "memory limit" in degraded["message"]
