"""A failed migration retries on its own (30 s doubling to 10 min); a new image or annotation at once."""

from __future__ import annotations

from datetime import timedelta

from moorage_operator import names
from moorage_operator.reconcile.migration import backoff

from .conftest import NOW, spec
from .test_planner import IMAGE_B, IMAGE_C, World, job_name, ready_world, reasons


def failed_upgrade() -> World:
    world = ready_world()
    world.spec = spec(image=IMAGE_B)
    world.step()
    world.finish_job(IMAGE_B, ok=False)
    world.step()
    return world


def attempt_job(attempt: int) -> str:
    return job_name(IMAGE_B, f"db/DATABASE_URL/#{attempt}" if attempt else "db/DATABASE_URL/")


def test_backoff_doubles_from_30_seconds_and_caps_at_10_minutes() -> None:
    assert [backoff(n).total_seconds() for n in range(7)] == [30, 60, 120, 240, 480, 600, 600]
    assert backoff(10_000) == timedelta(minutes=10)


def test_the_next_attempt_time_is_in_status_and_the_retry_starts_when_due() -> None:
    world = failed_upgrade()
    migration = world.status["migration"]
    assert migration["nextAttemptTime"] == "2026-01-01T12:00:30Z"
    assert migration["attempt"] == 0
    assert world.step(NOW + timedelta(seconds=29)).job_create is None
    result = world.step(NOW + timedelta(seconds=30))
    assert result.job_create is not None
    assert result.job_create["metadata"]["name"] == attempt_job(1)
    assert result.job_create["metadata"]["annotations"][names.ANN_ATTEMPT] == "1"
    assert [r.name for r in result.deletes] == [attempt_job(0)]
    assert "MigrationStarted" in reasons(result)
    assert world.status["migration"]["attempt"] == 1
    assert world.status["migration"]["nextAttemptTime"] is None
    assert world.condition("Reconciling")["reason"] == "Migrating"
    assert world.deployed_image() != IMAGE_B  # still the old image until a migration succeeds


def test_each_failure_doubles_the_wait_until_one_succeeds() -> None:
    world = failed_upgrade()
    at = NOW
    for attempt in range(1, 4):
        at += backoff(attempt - 1)
        assert world.step(at).job_create is not None
        assert world.get("Job", attempt_job(attempt)) is not None
        world.finish_job(IMAGE_B, ok=False, inputs=f"db/DATABASE_URL/#{attempt}")
        world.step(at)
        assert world.status["migration"]["nextAttemptTime"] is not None
        assert world.step(at + backoff(attempt) - timedelta(seconds=1)).job_create is None
    world.step(at + backoff(3))
    world.finish_job(IMAGE_B, ok=True, inputs="db/DATABASE_URL/#4")
    world.step(at + backoff(3))
    assert world.deployed_image() == IMAGE_B
    world.finish_rollout()
    world.step(at + backoff(3))
    assert world.condition("Ready")["status"] == "True"
    assert world.condition("Degraded")["status"] == "False"


def test_a_new_image_starts_over_at_once() -> None:
    world = failed_upgrade()
    world.spec = spec(image=IMAGE_C)
    result = world.step()
    assert result.job_create is not None
    assert result.job_create["metadata"]["name"] == job_name(IMAGE_C)
    assert world.status["migration"]["attempt"] == 0


def test_a_restart_keeps_counting_from_the_jobs() -> None:
    world = failed_upgrade()
    world.step(NOW + timedelta(seconds=30))
    world.status = {}  # a restarted operator with a lost status still finds attempt 1 on its Job
    assert world.step(NOW + timedelta(seconds=31)).job_create is None
    assert world.status["migration"]["jobName"] == attempt_job(1)
