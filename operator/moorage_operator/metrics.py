"""The operator's own Prometheus metrics and the HTTP endpoint that serves them.

The names are part of the contract (docs/contract.md). They live in their own registry, so an
operator running in the same process as something else (the in-process test runner) never mixes its
series with another library's default registry.

- ``moorage_operator_reconciles_total{trigger,outcome}``: one per reconcile; outcome is ``success``,
  ``degraded`` (the instance reported Degraded=True), ``retry`` (a temporary error kopf retries),
  ``error`` or ``cancelled`` (the handler was cancelled, e.g. on shutdown).
- ``moorage_operator_reconcile_errors_total{reason}``: the reconciles that did not succeed, by the
  Degraded reason or the exception class.
- ``moorage_operator_reconcile_duration_seconds{trigger}``: histogram of the reconcile time.
- ``moorage_operator_reconcile_retries_total{trigger}``: reconciles that were kopf retries.
- ``moorage_operator_migrations_total{result}``: migration Jobs ``started``, ``succeeded``, ``failed``.
- ``moorage_operator_key_rotations_total{action}``: ``rotated`` and ``previous_dropped`` key rings.
- ``moorage_operator_events_total{type,reason}``: every Event posted on an AppInstance.
- ``moorage_operator_instances{condition,status}``: instances by the status of each condition.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

from kopf import TemporaryError
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONDITIONS = ("Ready", "Progressing", "Degraded", "Reconciling", "Stalled")
STATUSES = ("True", "False", "Unknown")
MIGRATION_EVENTS = {"MigrationStarted": "started", "Migrated": "succeeded", "MigrationFailed": "failed"}
ROTATION_EVENTS = {"Rotated": "rotated", "PreviousKeyDropped": "previous_dropped"}
# Reconciles take milliseconds when nothing changes and seconds when the API server is loaded.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class InstanceConditions(Collector):
    """The last conditions each instance reported, counted per condition type and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_instance: dict[tuple[str, str], dict[str, str]] = {}
        self._degraded: dict[tuple[str, str], str] = {}

    def record(self, namespace: str, name: str, conditions: Iterable[Mapping[str, Any]] | None) -> None:
        seen: dict[str, str] = {}
        degraded = ""
        for cond in conditions or []:
            seen[str(cond.get("type"))] = str(cond.get("status", "Unknown"))
            if cond.get("type") == "Degraded" and cond.get("status") == "True":
                degraded = str(cond.get("reason") or "Degraded")
        with self._lock:
            self._by_instance[(namespace, name)] = seen
            self._degraded[(namespace, name)] = degraded

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._by_instance.pop((namespace, name), None)
            self._degraded.pop((namespace, name), None)

    def degraded_reason(self, namespace: str, name: str) -> str:
        """The reason of the instance's Degraded=True condition; empty when it is not degraded."""
        with self._lock:
            return self._degraded.get((namespace, name), "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "moorage_operator_instances",
            "AppInstances watched by this operator, by the status of each condition",
            labels=["condition", "status"],
        )
        with self._lock:
            snapshot = list(self._by_instance.values())
        for kind in CONDITIONS:
            for status in STATUSES:
                count = sum(1 for seen in snapshot if seen.get(kind, "Unknown") == status)
                family.add_metric([kind, status], count)
        yield family


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    reconciles: Counter
    errors: Counter
    duration: Histogram
    retries: Counter
    migrations: Counter
    rotations: Counter
    events: Counter
    instances: InstanceConditions


def new_metrics() -> Metrics:
    registry = CollectorRegistry()
    instances = InstanceConditions()
    registry.register(instances)
    return Metrics(
        registry=registry,
        reconciles=Counter(
            "moorage_operator_reconciles",
            "Reconciles of an AppInstance, by trigger and outcome",
            ["trigger", "outcome"],
            registry=registry,
        ),
        errors=Counter(
            "moorage_operator_reconcile_errors",
            "Reconciles that did not succeed, by Degraded reason or exception class",
            ["reason"],
            registry=registry,
        ),
        duration=Histogram(
            "moorage_operator_reconcile_duration_seconds",
            "Time one reconcile took",
            ["trigger"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        ),
        retries=Counter(
            "moorage_operator_reconcile_retries",
            "Reconciles that were kopf retries of a failed one",
            ["trigger"],
            registry=registry,
        ),
        migrations=Counter(
            "moorage_operator_migrations", "Migration Jobs by result", ["result"], registry=registry
        ),
        rotations=Counter(
            "moorage_operator_key_rotations", "Key-ring changes by action", ["action"], registry=registry
        ),
        events=Counter(
            "moorage_operator_events",
            "Events posted on AppInstances, by type and reason",
            ["type", "reason"],
            registry=registry,
        ),
        instances=instances,
    )


METRICS = new_metrics()


@contextlib.contextmanager
def reconciling(
    namespace: str, name: str, trigger: object, retry: int = 0, metrics: Metrics = METRICS
) -> Iterator[None]:
    """Count and time one reconcile; the outcome comes from the exception or the recorded Degraded.

    ``trigger`` is kopf's change reason (an enum: its value is the label) or a plain string.
    """
    trigger = str(getattr(trigger, "value", trigger))
    if retry:
        metrics.retries.labels(trigger).inc()
    started = time.perf_counter()
    outcome, reason = "success", ""
    try:
        yield
    except TemporaryError as exc:
        outcome, reason = "retry", type(exc).__name__
        raise
    except Exception as exc:
        outcome, reason = "error", type(exc).__name__
        raise
    except BaseException:
        outcome = "cancelled"  # the operator stopping or kopf cancelling the handler: not an error
        raise
    finally:
        metrics.duration.labels(trigger).observe(time.perf_counter() - started)
        if outcome == "success":
            reason = metrics.instances.degraded_reason(namespace, name)
            outcome = "degraded" if reason else outcome
        metrics.reconciles.labels(trigger, outcome).inc()
        if reason:
            metrics.errors.labels(reason).inc()


def record_status(
    namespace: str, name: str, conditions: Sequence[Mapping[str, Any]] | None, metrics: Metrics = METRICS
) -> None:
    """The conditions a reconcile computed for an instance."""
    metrics.instances.record(namespace, name, conditions)


def record_event(type_: str, reason: str, metrics: Metrics = METRICS) -> None:
    """An Event posted on an instance; migrations and rotations are counted from theirs."""
    metrics.events.labels(type_, reason).inc()
    if reason in MIGRATION_EVENTS:
        metrics.migrations.labels(MIGRATION_EVENTS[reason]).inc()
    if reason in ROTATION_EVENTS:
        metrics.rotations.labels(ROTATION_EVENTS[reason]).inc()


def forget(namespace: str, name: str, metrics: Metrics = METRICS) -> None:
    metrics.instances.forget(namespace, name)


def serve(port: int, addr: str = "0.0.0.0", metrics: Metrics = METRICS) -> tuple[WSGIServer, int]:
    """Serve ``/metrics`` on a daemon thread; port 0 picks a free one. Returns the server and its port."""
    server, _ = start_http_server(port, addr=addr, registry=metrics.registry)
    return server, int(server.server_port)


def stop(server: WSGIServer) -> None:
    server.shutdown()
    server.server_close()
