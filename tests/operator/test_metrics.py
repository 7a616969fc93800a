"""The operator's metrics: what each hook counts, and /metrics over HTTP passes the exposition lint."""

from __future__ import annotations

import asyncio
import urllib.request

import kopf
import pytest
from moorage_operator import metrics
from moorage_operator.metrics import Metrics, new_metrics
from prometheus_client import generate_latest

from tests.operator.exposition import lint, samples, value

DEGRADED = [
    {"type": "Ready", "status": "False"},
    {"type": "Progressing", "status": "False"},
    {"type": "Degraded", "status": "True", "reason": "DatabaseSecretMissing"},
]
READY = [
    {"type": "Ready", "status": "True"},
    {"type": "Progressing", "status": "False"},
    {"type": "Degraded", "status": "False"},
]


def scrape(m: Metrics) -> str:
    return generate_latest(m.registry).decode()


def test_reconciles_are_counted_by_trigger_and_outcome() -> None:
    m = new_metrics()
    with metrics.reconciling("ns", "a", kopf.Reason.CREATE, metrics=m):
        metrics.record_status("ns", "a", READY, metrics=m)
    with metrics.reconciling("ns", "b", "timer", metrics=m):
        metrics.record_status("ns", "b", DEGRADED, metrics=m)
    with pytest.raises(kopf.TemporaryError), metrics.reconciling("ns", "a", "timer", retry=2, metrics=m):
        raise kopf.TemporaryError("not cached yet")
    with pytest.raises(RuntimeError), metrics.reconciling("ns", "a", "timer", metrics=m):
        raise RuntimeError("boom")
    with pytest.raises(asyncio.CancelledError), metrics.reconciling("ns", "a", "timer", metrics=m):
        raise asyncio.CancelledError
    parsed = samples(scrape(m))
    assert value(parsed, "moorage_operator_reconciles_total", trigger="timer", outcome="cancelled") == 1
    assert value(parsed, "moorage_operator_reconciles_total", trigger="create", outcome="success") == 1
    assert value(parsed, "moorage_operator_reconciles_total", trigger="timer", outcome="degraded") == 1
    assert value(parsed, "moorage_operator_reconciles_total", trigger="timer", outcome="retry") == 1
    assert value(parsed, "moorage_operator_reconciles_total", trigger="timer", outcome="error") == 1
    assert value(parsed, "moorage_operator_reconciles_total") == 5
    assert value(parsed, "moorage_operator_reconcile_errors_total", reason="DatabaseSecretMissing") == 1
    assert value(parsed, "moorage_operator_reconcile_errors_total", reason="TemporaryError") == 1
    assert value(parsed, "moorage_operator_reconcile_errors_total", reason="RuntimeError") == 1
    assert value(parsed, "moorage_operator_reconcile_retries_total", trigger="timer") == 1
    assert value(parsed, "moorage_operator_reconcile_duration_seconds_count", trigger="timer") == 4
    assert value(parsed, "moorage_operator_reconcile_duration_seconds_count", trigger="create") == 1


def test_instances_are_gauged_by_condition_and_forgotten_on_delete() -> None:
    m = new_metrics()
    metrics.record_status("ns", "a", READY, metrics=m)
    metrics.record_status("ns", "b", DEGRADED, metrics=m)
    metrics.record_status("ns", "b", DEGRADED, metrics=m)  # the last report counts, once
    parsed = samples(scrape(m))
    assert value(parsed, "moorage_operator_instances", condition="Ready", status="True") == 1
    assert value(parsed, "moorage_operator_instances", condition="Ready", status="False") == 1
    assert value(parsed, "moorage_operator_instances", condition="Degraded", status="True") == 1
    assert value(parsed, "moorage_operator_instances", condition="Ready", status="Unknown") == 0
    metrics.forget("ns", "b", metrics=m)
    parsed = samples(scrape(m))
    assert value(parsed, "moorage_operator_instances", condition="Degraded", status="True") == 0
    assert value(parsed, "moorage_operator_instances", condition="Ready") == 1


def test_migrations_and_rotations_are_counted_from_the_events() -> None:
    m = new_metrics()
    for reason in (
        "Created",
        "MigrationStarted",
        "Migrated",
        "MigrationStarted",
        "Rotated",
        "PreviousKeyDropped",
    ):
        metrics.record_event("Normal", reason, metrics=m)
    metrics.record_event("Warning", "MigrationFailed", metrics=m)
    parsed = samples(scrape(m))
    assert value(parsed, "moorage_operator_migrations_total", result="started") == 2
    assert value(parsed, "moorage_operator_migrations_total", result="succeeded") == 1
    assert value(parsed, "moorage_operator_migrations_total", result="failed") == 1
    assert value(parsed, "moorage_operator_key_rotations_total", action="rotated") == 1
    assert value(parsed, "moorage_operator_key_rotations_total", action="previous_dropped") == 1
    assert value(parsed, "moorage_operator_events_total", type="Warning", reason="MigrationFailed") == 1
    assert value(parsed, "moorage_operator_events_total") == 7


def test_the_endpoint_serves_a_clean_exposition() -> None:
    m = new_metrics()
    with metrics.reconciling("ns", "a", "timer", metrics=m):
        metrics.record_status("ns", "a", READY, metrics=m)
    server, port = metrics.serve(0, addr="127.0.0.1", metrics=m)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = response.read().decode()
    finally:
        metrics.stop(server)
    assert lint(text) == []
    assert value(samples(text), "moorage_operator_reconciles_total", outcome="success") == 1


def test_the_lint_finds_what_promtool_would() -> None:
    broken = (
        "# HELP x_total things\n# TYPE x_total counter\nx_total 1\nx_total 2\n"
        '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 3\nh_count 3\nh_sum 1\n'
    )
    problems = lint(broken)
    assert any("duplicate series" in p for p in problems)
    assert any("h: no HELP" in p for p in problems)
    assert any("not cumulative" in p for p in problems)
    assert lint("# HELP up ok\n# TYPE up gauge\nup 1\n") == []
