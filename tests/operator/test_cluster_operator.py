"""The operator against the real kind cluster, run in-process with kopf's KopfRunner.

One namespace holds a PostgreSQL (the example's) and one AppInstance per scenario; the operator
watches only that namespace. Run after `make cluster`; the images moorage/service:dev is loaded.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from kopf.testing import KopfRunner
from moorage_operator import names

from tests.images import SERVICE_IMAGE, SERVICE_IMAGE_ALIAS
from tests.kube import apply, condition, kubectl, kubectl_json, wait_for

from .cluster import (
    instance_manifest,
    namespace_with_database,
    port_forward,
)

pytestmark = pytest.mark.cluster

READY_TIMEOUT = 300


class Operator:
    """The operator in a thread of this process, watching one namespace; stoppable and restartable."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.runner: KopfRunner | None = None

    def start(self) -> None:
        args = ["run", "--standalone", "--namespace", self.namespace, "-m", "moorage_operator", "--verbose"]
        self.runner = KopfRunner(args, timeout=60)
        self.runner.__enter__()

    def stop(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            runner.__exit__(None, None, None)


@contextlib.contextmanager
def running_operator(namespace: str) -> Iterator[Operator]:
    """The operator, started; at the end it deletes the instances, then stops.

    A test may leave it stopped: it is started again first, since the instances carry its finalizer.
    """
    op = Operator(namespace)
    op.start()
    try:
        yield op
    finally:
        if op.runner is None:
            op.start()
        kubectl(
            "-n", namespace, "delete", "appinstances", "--all", "--timeout=120s", check=False, timeout=150
        )
        op.stop()


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with namespace_with_database(tmp_path_factory, "moorage-op") as ns:
        yield ns


@pytest.fixture(scope="module")
def operator(namespace: str) -> Iterator[Operator]:
    with running_operator(namespace) as op:
        yield op


def instance(namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = kubectl_json("get", "-n", namespace, "appinstance", name)
    return found


def describe(namespace: str, name: str) -> str:
    return kubectl("-n", namespace, "get", "appinstance", name, "-o", "yaml", check=False) + kubectl(
        "-n", namespace, "get", "jobs,pods,deployments", "-o", "wide", check=False
    )


def wait_ready(namespace: str, name: str, image: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        obj = instance(namespace, name)
        status = obj.get("status") or {}
        meta = obj["metadata"]
        if (
            condition(obj, "Ready").get("status") == "True"
            and status.get("currentImage") == image
            and status.get("observedGeneration") == meta["generation"]
        ):
            return obj
        return None

    found: dict[str, Any] = wait_for(
        f"{name} Ready on {image}", ready, timeout=READY_TIMEOUT, describe=lambda: describe(namespace, name)
    )
    return found


def owned(namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kubectl_json(
        "get", "-n", namespace, kind, "-l", f"{names.LABEL_OWNER}={name}"
    )["items"]
    return items


def server_pods(namespace: str, name: str) -> list[dict[str, Any]]:
    return [
        p
        for p in owned(namespace, "pods", name)
        if p["metadata"]["labels"].get(names.LABEL_COMPONENT) == "server"
        and not p["metadata"].get("deletionTimestamp")
    ]


def ring_secret(namespace: str, name: str) -> dict[str, str]:
    secret = kubectl_json("get", "-n", namespace, "secret", names.keyring_name(name))
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def kid(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def events(namespace: str, name: str) -> list[str]:
    listed = kubectl_json("get", "-n", namespace, "events", "--field-selector", f"involvedObject.name={name}")
    return [e["reason"] for e in sorted(listed["items"], key=lambda e: e["metadata"]["creationTimestamp"])]


def test_create_becomes_ready(namespace: str, operator: Operator) -> None:
    apply(instance_manifest(namespace, "alpha"))
    obj = wait_ready(namespace, "alpha", SERVICE_IMAGE)
    status = obj["status"]
    assert status["migratedImage"] == SERVICE_IMAGE
    assert condition(obj, "Degraded")["status"] == "False"
    assert condition(obj, "Ready")["observedGeneration"] == obj["metadata"]["generation"]
    assert status["activeKeyId"] == kid(ring_secret(namespace, "alpha")["SECRET_KEY"])
    for kind in (
        "deployment",
        "service",
        "configmap",
        "secret",
        "poddisruptionbudget",
        "job",
        "serviceaccount",
    ):
        children = owned(namespace, kind, "alpha")
        assert children, kind
        assert all(c["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"] for c in children)
    reasons = events(namespace, "alpha")
    assert "MigrationStarted" in reasons
    assert "Migrated" in reasons
    assert "RolledOut" in reasons


def test_upgrade_migrates_first_then_rolls_out(namespace: str, operator: Operator) -> None:
    kubectl(
        "-n",
        namespace,
        "patch",
        "appinstance",
        "alpha",
        "--type=merge",
        "-p",
        f'{{"spec":{{"image":"{SERVICE_IMAGE_ALIAS}"}}}}',
    )
    wait_ready(namespace, "alpha", SERVICE_IMAGE_ALIAS)
    jobs = [
        j
        for j in owned(namespace, "jobs", "alpha")
        if j["metadata"]["annotations"][names.ANN_IMAGE] == SERVICE_IMAGE_ALIAS
    ]
    assert len(jobs) == 1
    migrated_at = jobs[0]["status"]["completionTime"]
    replica_sets = [
        rs
        for rs in owned(namespace, "replicasets", "alpha")
        if rs["spec"]["template"]["spec"]["containers"][0]["image"] == SERVICE_IMAGE_ALIAS
    ]
    assert len(replica_sets) == 1
    # RFC 3339 UTC timestamps compare as strings: the new pods were not even planned before the migration.
    assert replica_sets[0]["metadata"]["creationTimestamp"] >= migrated_at
    reasons = events(namespace, "alpha")
    assert reasons.index("MigrationStarted") < reasons.index("RollingOut")


def test_failed_migration_degrades_and_old_pods_keep_serving(namespace: str, operator: Operator) -> None:
    apply(instance_manifest(namespace, "beta"))
    wait_ready(namespace, "beta", SERVICE_IMAGE)
    pods_before = sorted(p["metadata"]["uid"] for p in server_pods(namespace, "beta"))
    bad_url = "postgresql://moorage:wrong-password@example-db:5432/moorage"
    kubectl(
        "-n", namespace, "create", "secret", "generic", "bad-db", f"--from-literal=DATABASE_URL={bad_url}"
    )
    patch = {
        "spec": {
            "image": SERVICE_IMAGE_ALIAS,
            "database": {
                "secretRef": {"name": "example-db", "key": "DATABASE_URL"},
                "migrationSecretRef": {"name": "bad-db"},
            },
            "migrations": {"backoffLimit": 0, "timeoutSeconds": 120},
        }
    }
    kubectl("-n", namespace, "patch", "appinstance", "beta", "--type=merge", "-p", json.dumps(patch))

    def degraded() -> dict[str, Any] | None:
        obj = instance(namespace, "beta")
        return obj if condition(obj, "Degraded").get("reason") == "MigrationFailed" else None

    obj = wait_for(
        "beta Degraded", degraded, timeout=READY_TIMEOUT, describe=lambda: describe(namespace, "beta")
    )
    message = condition(obj, "Degraded")["message"]
    assert "password" in message.lower() or "authentication" in message.lower(), message
    # The Job's output is quoted with its credentials blanked (redaction.blank), here and in events.
    assert "wrong-password" not in json.dumps(obj["status"]), message
    listed = kubectl_json("get", "-n", namespace, "events", "--field-selector", "involvedObject.name=beta")
    assert not [e for e in listed["items"] if "wrong-password" in (e.get("message") or "")]
    assert obj["status"]["migratedImage"] == SERVICE_IMAGE
    deployment = kubectl_json("get", "-n", namespace, "deployment", "beta")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == SERVICE_IMAGE
    time.sleep(10)  # let a wrong rollout show itself, were there one
    assert sorted(p["metadata"]["uid"] for p in server_pods(namespace, "beta")) == pods_before
    assert "MigrationFailed" in events(namespace, "beta")
    # Correcting the migration Secret's data (the right password) retries at once: no waiting for the
    # back-off, and the upgrade goes through.
    good = kubectl_json("get", "-n", namespace, "secret", "example-db")["data"]["DATABASE_URL"]
    kubectl(
        "-n",
        namespace,
        "patch",
        "secret",
        "bad-db",
        "--type=merge",
        "-p",
        json.dumps({"data": {"DATABASE_URL": good}}),
    )
    obj = wait_ready(namespace, "beta", SERVICE_IMAGE_ALIAS)
    assert condition(obj, "Degraded")["status"] == "False"
    reasons = events(namespace, "beta")
    assert "MigrationSecretChanged" in reasons, reasons
    assert reasons.index("MigrationSecretChanged") > reasons.index("MigrationFailed")
    assert "wrong-password" not in json.dumps(kubectl_json("get", "-n", namespace, "events"))


def test_rotation_keeps_old_tokens_valid_until_the_grace_ends(namespace: str, operator: Operator) -> None:
    # Tokens outlive the grace on purpose here, so the end of the grace is visible: the operator flags
    # it (GracePeriodTooShort) and an unexpired token signed with the dropped key is then refused.
    config = [
        {"name": "ENVIRONMENT", "value": "staging"},
        {"name": "ACCESS_TOKEN_TTL_SECONDS", "value": "900"},
    ]
    rotation = {"interval": "1h", "gracePeriod": "120s"}
    apply(instance_manifest(namespace, "gamma", config=config, secretRotation=rotation))
    obj = wait_ready(namespace, "gamma", SERVICE_IMAGE)
    assert condition(obj, "Degraded")["reason"] == "GracePeriodTooShort"
    first_key = obj["status"]["activeKeyId"]
    user = {"email": "rotation@moorage.dev", "password": "correct horse battery"}
    form = {"username": user["email"], "password": user["password"]}
    with port_forward(namespace, "service/gamma", 80) as base:
        assert httpx.post(f"{base}/api/v1/auth/register", json=user, timeout=10).status_code == 201
        old = httpx.post(f"{base}/api/v1/auth/token", data=form, timeout=10).json()["access_token"]
    assert jwt.get_unverified_header(old)["kid"] == first_key

    kubectl("-n", namespace, "annotate", "appinstance", "gamma", f"{names.ANN_ROTATE}=now-1", "--overwrite")

    def rolled(previous: str | None) -> dict[str, Any] | None:
        current = instance(namespace, "gamma")
        st = current.get("status") or {}
        if st.get("activeKeyId") == first_key or st.get("previousKeyId") != previous:
            return None
        ring = f"{st['activeKeyId']}.{previous or 'none'}"
        pods = server_pods(namespace, "gamma")
        settled = pods and all(p["metadata"]["annotations"].get(names.ANN_KEY_RING) == ring for p in pods)
        return current if settled and condition(current, "Ready").get("status") == "True" else None

    obj = wait_for(
        "the rotation to roll out",
        lambda: rolled(first_key),
        timeout=300,
        describe=lambda: describe(namespace, "gamma"),
    )
    second_key = obj["status"]["activeKeyId"]
    assert kid(ring_secret(namespace, "gamma")["SECRET_KEY_PREVIOUS"]) == first_key
    pod = server_pods(namespace, "gamma")[0]["metadata"]["name"]
    with port_forward(namespace, f"pod/{pod}", 8000) as base:
        me = httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {old}"}, timeout=10)
        assert me.status_code == 200, me.text  # signed before the rotation, verified by the new pods
        new = httpx.post(f"{base}/api/v1/auth/token", data=form, timeout=10).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == second_key
    assert "Rotated" in events(namespace, "gamma")

    # After the grace the previous key is dropped and the pods roll again.
    wait_for(
        "the previous key to be dropped",
        lambda: rolled(None),
        timeout=300,
        describe=lambda: describe(namespace, "gamma"),
    )
    assert "SECRET_KEY_PREVIOUS" not in ring_secret(namespace, "gamma")
    pod = server_pods(namespace, "gamma")[0]["metadata"]["name"]
    with port_forward(namespace, f"pod/{pod}", 8000) as base:
        refused = httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {old}"}, timeout=10)
        accepted = httpx.get(
            f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {new}"}, timeout=10
        )
    assert refused.status_code == 401
    assert accepted.status_code == 200
    assert "PreviousKeyDropped" in events(namespace, "gamma")


def test_restart_mid_migration_creates_no_second_job(namespace: str, operator: Operator) -> None:
    apply(instance_manifest(namespace, "delta"))
    job_name = names.migration_job_name("delta", SERVICE_IMAGE, "example-db/DATABASE_URL/")

    def job_created() -> dict[str, Any] | None:
        jobs = owned(namespace, "jobs", "delta")
        return jobs[0] if jobs else None

    job = wait_for("the migration Job", job_created, timeout=60, every=0.2)
    assert job["metadata"]["name"] == job_name
    operator.stop()  # the Job's pod is still starting: the migration is under way
    operator.start()
    wait_ready(namespace, "delta", SERVICE_IMAGE)
    jobs = owned(namespace, "jobs", "delta")
    assert [j["metadata"]["uid"] for j in jobs] == [job["metadata"]["uid"]]
    assert jobs[0]["status"].get("succeeded") == 1


def test_a_spec_the_api_server_rejects_degrades_without_crashing(namespace: str, operator: Operator) -> None:
    resources = {"requests": {"cpu": "10m", "memory": "1Gi"}, "limits": {"memory": "256Mi"}}
    apply(instance_manifest(namespace, "epsilon", resources=resources))

    def rejected() -> dict[str, Any] | None:
        obj = instance(namespace, "epsilon")
        return obj if condition(obj, "Degraded").get("reason") == "ChildRejected" else None

    obj = wait_for("epsilon Degraded", rejected, timeout=120, describe=lambda: describe(namespace, "epsilon"))
    assert "memory" in condition(obj, "Degraded")["message"]
    assert condition(obj, "Ready")["status"] == "False"
    # Fixing the spec clears it.
    kubectl(
        "-n",
        namespace,
        "patch",
        "appinstance",
        "epsilon",
        "--type=merge",
        "-p",
        '{"spec":{"resources":{"requests":{"memory":"96Mi"}}}}',
    )
    obj = wait_ready(namespace, "epsilon", SERVICE_IMAGE)
    assert condition(obj, "Degraded")["status"] == "False"


def test_delete_removes_the_children(namespace: str, operator: Operator) -> None:
    kubectl("-n", namespace, "delete", "appinstance", "alpha", "--timeout=120s", timeout=150)

    def gone() -> bool:
        return all(
            not owned(namespace, kind, "alpha")
            for kind in ("deployments", "services", "configmaps", "secrets", "jobs", "poddisruptionbudgets")
        )

    wait_for("the children of alpha to be garbage-collected", gone, timeout=120)
