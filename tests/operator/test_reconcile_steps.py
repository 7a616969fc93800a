"""Each reconcile step on its own, and the merge that folds their outcomes."""

from __future__ import annotations

from typing import Any

from moorage_operator import manifests, names
from moorage_operator.conditions import find
from moorage_operator.reconcile import Event, Instance, Observed, Outcome, Plan, merge, reads, rejected_status
from moorage_operator.reconcile.checks import check
from moorage_operator.reconcile.keys import plan_keyring
from moorage_operator.reconcile.migration import plan_migration, wanted_job_name
from moorage_operator.reconcile.pipeline import failure_message_to_fetch
from moorage_operator.reconcile.rollout import observe_rollout, plan_deployment
from moorage_operator.reconcile.supporting import plan_supporting
from moorage_operator.spec import parse_spec

from .conftest import NOW, spec

OWNER = manifests.Owner("shop", "team-a", "uid-1", {})


def instance(**overrides: Any) -> Instance:
    fields: dict[str, Any] = {
        "name": "shop",
        "namespace": "team-a",
        "uid": "uid-1",
        "generation": 1,
        "spec": spec(),
        "status": {},
    }
    fields.update(overrides)
    return Instance(**fields)


def test_keyring_step_creates_a_ring_and_reports_its_ids() -> None:
    out = plan_keyring(instance(), parse_spec(spec()), Observed(), OWNER, NOW)
    assert out.secret_create is not None
    assert out.status["activeKeyId"] == out.ring.current_id
    assert [e.reason for e in out.events] == ["KeyRingCreated"]


def test_checks_step_flags_a_missing_database_secret_as_stalled() -> None:
    out = check(parse_spec(spec()), Observed(database_secret_present=False))
    assert out.notes.degraded[0][0] == "DatabaseSecretMissing"
    assert out.notes.stalled[0][0] == "DatabaseSecretMissing"
    assert not out.applies
    assert not check(parse_spec(spec()), Observed(database_secret_present=None)).notes.degraded


def test_supporting_step_writes_only_what_changed() -> None:
    app = parse_spec(spec())
    first = plan_supporting(app, Observed(), OWNER)
    assert [o["kind"] for o in first.applies] == ["ConfigMap", "Service", "PodDisruptionBudget"]
    held = {o["kind"]: o for o in first.applies}
    again = plan_supporting(
        app,
        Observed(
            config_map=held["ConfigMap"],
            service=held["Service"],
            disruption_budget=held["PodDisruptionBudget"],
        ),
        OWNER,
    )
    assert not again.applies
    assert not again.events


def test_migration_step_holds_the_old_image_until_the_job_succeeds() -> None:
    app = parse_spec(spec(image="moorage/service:2"))
    running = manifests.deployment(parse_spec(spec()), OWNER, image="moorage/service:1", ring=_ring())
    out = plan_migration(
        instance(spec=spec(image="moorage/service:2")),
        app,
        Observed(deployment=running),
        OWNER,
        NOW,
        blocked=False,
    )
    assert out.target == "moorage/service:1"
    assert out.job_create is not None
    assert out.status["migration"]["state"] == "Running"
    blocked = plan_migration(instance(), parse_spec(spec()), Observed(), OWNER, NOW, blocked=True)
    assert blocked.job_create is None
    assert blocked.status["migration"]["state"] == "Blocked"
    assert blocked.target is None


def test_deployment_and_rollout_steps() -> None:
    app = parse_spec(spec())
    out = plan_deployment(app, Observed(), OWNER, _ring(), target="moorage/service:1", blocked=False)
    assert out.pending is not None
    assert [e.reason for e in out.events] == ["Created"]
    state = observe_rollout(
        instance(), app, Observed(deployment=out.pending), target="moorage/service:1", pending=out.pending
    )
    assert not state.complete
    assert state.notes.not_ready[0][0] == "RollingOut"
    nothing = plan_deployment(app, Observed(), OWNER, _ring(), target=None, blocked=False)
    assert nothing.pending is None
    assert not nothing.applies


def test_merge_keeps_step_order_first_note_wins_last_status_wins() -> None:
    a, b = Outcome(), Outcome()
    a.events.append(Event("Normal", "A", "a"))
    b.events.append(Event("Normal", "B", "b"))
    a.notes.not_ready.append(("First", "one"))
    b.notes.not_ready.append(("Second", "two"))
    a.status["replicas"] = 1
    b.status["replicas"] = 2
    result = merge(instance(status={"kept": "yes"}), [a, b], NOW, serving=None)
    assert [e.reason for e in result.events] == ["A", "B"]
    assert result.status["replicas"] == 2
    assert result.status["kept"] == "yes"
    ready = find(result.status["conditions"], "Ready")
    assert ready is not None
    assert ready["reason"] == "First"


def test_reads_names_the_references_and_the_migration_job() -> None:
    wanted = reads(instance(), Observed())
    assert wanted.references is not None
    assert (wanted.references.database.name, wanted.references.database.key) == ("db", "DATABASE_URL")
    assert wanted.references.migration == wanted.references.database
    assert wanted.migration_job == wanted_job_name(instance(), parse_spec(spec()))
    # Read on every reconcile, Ready or not: the watch keeps them current at no cost.
    ready = [{"type": "Ready", "status": "True"}]
    assert reads(instance(status={"observedGeneration": 1, "conditions": ready}), Observed()).references
    assert reads(instance(spec={"image": ""}), Observed()).migration_job is None
    assert reads(instance(spec={"image": ""}), Observed()).references is None


def test_failure_message_is_read_once_per_failure_count() -> None:
    name = wanted_job_name(instance(), parse_spec(spec()))
    job = {"metadata": {"name": name}, "status": {"failed": 2}}
    assert failure_message_to_fetch(instance(), Observed(jobs=[job]), name) == (None, True)
    seen = {"migration": {"jobName": name, "failures": 2, "message": "boom"}}
    assert failure_message_to_fetch(instance(status=seen), Observed(jobs=[job]), name) == ("boom", False)
    assert failure_message_to_fetch(instance(), Observed(jobs=[]), name) == (None, False)


def test_rejected_status_puts_the_refusal_first() -> None:
    result = Plan(status={"replicas": 0})
    result.notes.progressing.append(("RollingOut", "rolling"))
    status = rejected_status(instance(), result, "shop: limits below requests", NOW)
    for kind, reason in (
        ("Ready", "ChildRejected"),
        ("Degraded", "ChildRejected"),
        ("Progressing", "ChildRejected"),
        ("Stalled", "ChildRejected"),
    ):
        cond = find(status["conditions"], kind)
        assert cond is not None
        assert cond["reason"] == reason
    assert status["replicas"] == 0


def _ring() -> Any:
    out = plan_keyring(instance(), parse_spec(spec()), Observed(), OWNER, NOW)
    return out.ring


def test_deployment_carries_the_migrated_image() -> None:
    dep = manifests.deployment(parse_spec(spec()), OWNER, image="moorage/service:1", ring=_ring())
    assert dep["metadata"]["annotations"][names.ANN_MIGRATED_IMAGE] == "moorage/service:1"
