"""Issue 10 on the kind cluster: drift undone, a bad config never rolls, a rotated database Secret rolls
the pods, a migration that failed on a stopped database heals on its own, and kstatus / Argo CD read the
real objects. One instance walks through the scenarios in order; the operator watches only this
namespace. Each scenario prints its time to detect and time to recover.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moorage_operator import manifests, names

from tests.images import SERVICE_IMAGE, SERVICE_IMAGE_ALIAS
from tests.kube import apply, condition, kubectl, kubectl_json, wait_for

from .cluster import instance_manifest, namespace_with_database
from .health import argocd_health, kstatus, kstatus_binary
from .test_cluster_operator import Operator, describe, instance, running_operator, server_pods, wait_ready

pytestmark = pytest.mark.cluster

NAME = "sturdy"
DB_VALUE = "example-only-password"
PLATFORM_SECRET = "sturdy-platform"


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with namespace_with_database(tmp_path_factory, "t10-resilience") as ns:
        yield ns


@pytest.fixture(scope="module")
def operator(namespace: str) -> Iterator[Operator]:
    with running_operator(namespace) as op:
        yield op


@pytest.fixture(scope="module")
def kstatus_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kstatus_binary(tmp_path_factory.mktemp("kstatus"))


@pytest.fixture(scope="module")
def ready(namespace: str, operator: Operator) -> dict[str, Any]:
    apply(instance_manifest(namespace, NAME))
    return wait_ready(namespace, NAME, SERVICE_IMAGE)


def event_list(namespace: str) -> list[dict[str, Any]]:
    listed = kubectl_json("get", "-n", namespace, "events", "--field-selector", f"involvedObject.name={NAME}")
    items: list[dict[str, Any]] = sorted(listed["items"], key=lambda e: e["metadata"]["creationTimestamp"])
    return items


def messages(namespace: str, reason: str) -> list[str]:
    return [str(e.get("message")) for e in event_list(namespace) if e.get("reason") == reason]


def report(scenario: str, **seconds: float) -> None:
    figures = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in seconds.items())
    # kopf's runner swaps sys.stdout while the operator runs: write where pytest -s shows it.
    print(f"\n[issue-10] {scenario}: {figures}", file=sys.__stdout__, flush=True)


def patch_instance(namespace: str, body: dict[str, Any]) -> None:
    kubectl("-n", namespace, "patch", "appinstance", NAME, "--type=merge", "-p", json.dumps(body))


def test_ready_instance_is_current_and_healthy(ready: dict[str, Any], kstatus_bin: Path) -> None:
    assert condition(ready, "Reconciling")["status"] == "False"
    assert condition(ready, "Stalled")["status"] == "False"
    assert condition(ready, "Progressing")["message"] == "the instance matches its spec"
    assert kstatus(kstatus_bin, ready)[0] == "Current"
    assert argocd_health(ready)[0] == "Healthy"


def test_drift_is_reverted(namespace: str, ready: dict[str, Any]) -> None:
    start = time.monotonic()
    kubectl("-n", namespace, "patch", "deployment", NAME, "--type=merge", "-p", '{"spec":{"replicas":3}}')
    kubectl("-n", namespace, "set", "env", f"deployment/{NAME}", "SMUGGLED=1")

    def reverted() -> bool:
        dep = kubectl_json("get", "-n", namespace, "deployment", NAME)
        env = dep["spec"]["template"]["spec"]["containers"][0].get("env") or []
        return dep["spec"]["replicas"] == 1 and all(e["name"] != "SMUGGLED" for e in env)

    # The drift interval is 30 s; the promise is one resync interval (60 s) on a busy node.
    wait_for("the drift reverted", reverted, timeout=90, every=1, describe=lambda: describe(namespace, NAME))
    reverted_after = time.monotonic() - start
    drift = messages(namespace, "DriftReverted")
    assert any(f"Deployment {NAME}" in m for m in drift), drift
    assert any("SMUGGLED" in m for m in drift), drift
    obj = wait_ready(namespace, NAME, SERVICE_IMAGE)
    report(
        "drift (replicas 3 + set env)", time_to_revert=reverted_after, time_to_ready=time.monotonic() - start
    )
    assert condition(obj, "Progressing")["reason"] == "Reconciled"


def test_invalid_config_is_refused_and_nothing_rolls(
    namespace: str, ready: dict[str, Any], kstatus_bin: Path
) -> None:
    pods_before = sorted(p["metadata"]["uid"] for p in server_pods(namespace, NAME))
    template_before = kubectl_json("get", "-n", namespace, "deployment", NAME)["spec"]["template"]
    kept = [entry for entry in ready["spec"].get("config", []) if entry["name"] != "LOG_LEVEL"]
    config = [*kept, {"name": "LOG_LEVEL", "value": "NOPE"}]
    start = time.monotonic()
    patch_instance(namespace, {"spec": {"config": config}})

    def refused() -> dict[str, Any] | None:
        obj = instance(namespace, NAME)
        return obj if condition(obj, "Degraded").get("reason") == "ConfigInvalid" else None

    obj = wait_for("ConfigInvalid", refused, timeout=180, describe=lambda: describe(namespace, NAME))
    detected = time.monotonic() - start
    message = condition(obj, "Degraded")["message"]
    assert "LOG_LEVEL" in message, message
    assert condition(obj, "Stalled")["reason"] == "ConfigInvalid"
    assert any("LOG_LEVEL" in m for m in messages(namespace, "ConfigInvalid"))
    assert kstatus(kstatus_bin, obj)[0] == "Failed"
    assert argocd_health(obj)[0] == "Degraded"
    time.sleep(10)  # let a wrong rollout show itself, were there one
    assert kubectl_json("get", "-n", namespace, "deployment", NAME)["spec"]["template"] == template_before
    assert sorted(p["metadata"]["uid"] for p in server_pods(namespace, NAME)) == pods_before
    cm = kubectl_json("get", "-n", namespace, "configmap", names.config_name(NAME))
    assert cm["data"].get("LOG_LEVEL") != "NOPE"
    # The corrected spec starts over and settles.
    patch_instance(namespace, {"spec": {"config": ready["spec"].get("config", [])}})
    fixed = time.monotonic()
    obj = wait_ready(namespace, NAME, SERVICE_IMAGE)
    report("invalid config", time_to_detect=detected, time_to_recover_after_fix=time.monotonic() - fixed)
    assert condition(obj, "Stalled")["status"] == "False"


def test_a_rotated_database_secret_rolls_the_pods(
    namespace: str, ready: dict[str, Any], kstatus_bin: Path
) -> None:
    pods_before = {p["metadata"]["uid"] for p in server_pods(namespace, NAME)}
    url = f"postgresql://moorage:{DB_VALUE}@example-db.{namespace}.svc:5432/moorage"
    start = time.monotonic()
    kubectl(
        "-n",
        namespace,
        "patch",
        "secret",
        "example-db",
        "--type=merge",
        "-p",
        json.dumps({"stringData": {"DATABASE_URL": url}}),
    )

    def rolling() -> dict[str, Any] | None:
        obj = instance(namespace, NAME)
        return obj if condition(obj, "Reconciling").get("status") == "True" else None

    during = wait_for(
        "the rollout to start", rolling, timeout=120, every=0.5, describe=lambda: describe(namespace, NAME)
    )
    detected = time.monotonic() - start
    assert kstatus(kstatus_bin, during)[0] == "InProgress"
    assert argocd_health(during)[0] == "Progressing"

    def rolled() -> bool:
        now = {p["metadata"]["uid"] for p in server_pods(namespace, NAME)}
        return bool(now) and not (now & pods_before)

    wait_for("new pods", rolled, timeout=300, every=2, describe=lambda: describe(namespace, NAME))
    wait_ready(namespace, NAME, SERVICE_IMAGE)
    report("database Secret rotated", time_to_detect=detected, time_to_rolled=time.monotonic() - start)
    assert messages(namespace, "DatabaseSecretChanged")
    every_event = json.dumps(event_list(namespace))
    assert DB_VALUE not in every_event
    template = kubectl_json("get", "-n", namespace, "deployment", NAME)["spec"]["template"]
    assert DB_VALUE not in json.dumps(template)
    assert template["metadata"]["annotations"][names.ANN_DATABASE_HASH]


class Records(logging.Handler):
    """Every log record of this process meanwhile (the operator runs in a thread here), formatted."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + json.dumps(getattr(record, "k8s_ref", None), default=str))


def platform_secret(namespace: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": PLATFORM_SECRET, "namespace": namespace},
        "stringData": {"PLATFORM_GREETING": value},
    }


def replica_sets(namespace: str) -> set[str]:
    listed = kubectl_json("get", "-n", namespace, "replicasets", "-l", f"{names.LABEL_OWNER}={NAME}")
    return {rs["metadata"]["name"] for rs in listed["items"]}


def greeting_in_pods(namespace: str) -> set[str]:
    seen = set()
    for pod in server_pods(namespace, NAME):
        if pod["status"].get("phase") != "Running":
            continue
        printed = kubectl(
            "-n",
            namespace,
            "exec",
            pod["metadata"]["name"],
            "-c",
            manifests.CONTAINER,
            "--",
            "python",
            "-c",
            "import os; print(os.environ.get('PLATFORM_GREETING', '-'))",
            check=False,
        )
        seen.add(printed.strip())
    return seen


def test_a_changed_envfrom_secret_rolls_the_pods_without_its_value_anywhere(
    namespace: str, ready: dict[str, Any]
) -> None:
    first, second = f"h11-first-{uuid.uuid4().hex}", f"h11-second-{uuid.uuid4().hex}"
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        apply(platform_secret(namespace, first))
        patch_instance(namespace, {"spec": {"envFrom": [{"secretRef": {"name": PLATFORM_SECRET}}]}})
        wait_ready(namespace, NAME, SERVICE_IMAGE)
        wait_for("the first value in the pods", lambda: greeting_in_pods(namespace) == {first}, timeout=120)
        sets_before = replica_sets(namespace)
        pods_before = {p["metadata"]["uid"] for p in server_pods(namespace, NAME)}
        start = time.monotonic()
        apply(platform_secret(namespace, second))

        def rolled() -> bool:
            now = {p["metadata"]["uid"] for p in server_pods(namespace, NAME)}
            return bool(now) and not (now & pods_before) and greeting_in_pods(namespace) == {second}

        wait_for(
            "pods with the new value",
            rolled,
            timeout=300,
            every=2,
            describe=lambda: describe(namespace, NAME),
        )
        report("envFrom Secret changed", time_to_rolled=time.monotonic() - start)
        wait_ready(namespace, NAME, SERVICE_IMAGE)
    finally:
        logging.getLogger().removeHandler(records)
    assert replica_sets(namespace) - sets_before, "no new ReplicaSet"
    changed = messages(namespace, "ReferencedDataChanged")
    assert any(f"Secret {PLATFORM_SECRET}" in m for m in changed), changed
    every_event = json.dumps(kubectl_json("get", "-n", namespace, "events"))
    operator_log = "\n".join(records.lines)
    assert "reconciled: applied" in operator_log  # the operator's log was captured
    template = kubectl_json("get", "-n", namespace, "deployment", NAME)["spec"]["template"]
    assert template["metadata"]["annotations"][names.ANN_REFERENCES_HASH]
    for value in (first, second):
        encoded = base64.b64encode(value.encode()).decode()
        for where, text in (("an event", every_event), ("the operator's log", operator_log)):
            assert value not in text and encoded not in text, where
        assert value not in json.dumps(template)


def test_a_migration_on_a_stopped_database_heals_on_its_own(namespace: str, ready: dict[str, Any]) -> None:
    kubectl("-n", namespace, "scale", "deployment/example-db", "--replicas=0")
    wait_for(
        "the database to stop",
        lambda: (
            not kubectl_json("get", "-n", namespace, "pods", "-l", "app.kubernetes.io/name=example-db")[
                "items"
            ]
        ),
        timeout=120,
    )
    start = time.monotonic()
    patch_instance(
        namespace,
        {"spec": {"image": SERVICE_IMAGE_ALIAS, "migrations": {"backoffLimit": 0, "timeoutSeconds": 60}}},
    )

    def failed() -> dict[str, Any] | None:
        obj = instance(namespace, NAME)
        migration = (obj.get("status") or {}).get("migration") or {}
        return obj if migration.get("state") == "Failed" and migration.get("nextAttemptTime") else None

    obj = wait_for("the migration to fail", failed, timeout=240, describe=lambda: describe(namespace, NAME))
    detected = time.monotonic() - start
    assert condition(obj, "Degraded")["reason"] == "MigrationFailed"
    assert condition(obj, "Reconciling")["reason"] == "MigrationBackoff"
    kubectl("-n", namespace, "scale", "deployment/example-db", "--replicas=1")
    back = time.monotonic()
    obj = wait_ready(namespace, NAME, SERVICE_IMAGE_ALIAS)
    report(
        "migration on a stopped database",
        time_to_detect=detected,
        time_to_ready_after_db_back=time.monotonic() - back,
    )
    assert names.ANN_RETRY_MIGRATION not in (obj["metadata"].get("annotations") or {})
    assert obj["status"]["migration"]["attempt"] >= 1
    assert condition(obj, "Degraded")["status"] == "False"
