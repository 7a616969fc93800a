"""The operator path: the operator chart, then AppInstances; upgrades, a failing migration, a key
rotation and a crash-looping config rolled back, each under in-cluster load. The operator watches this
module's namespace only.

Run: make cluster && uv run --frozen pytest -m cluster e2e/suite/test_operator.py
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from e2e.suite.api import Api, service_url
from e2e.suite.conftest import Figures, module_namespace
from e2e.suite.load import Load
from e2e.suite.script_pods import start_toolbox
from tests.charts.helm import OPERATOR_CHART, ROOT, helm_on_cluster, install_operator
from tests.images import SERVICE_IMAGE, postgres_image
from tests.kube import (
    apply,
    condition,
    delete_namespace,
    kubectl,
    kubectl_json,
    kubectl_result,
    pod_ready,
    timestamp,
    wait_for,
)
from tests.operator.health import argocd_health, kstatus, kstatus_binary
from tests.pod_specs import SERVICE_RESOURCES

pytestmark = pytest.mark.cluster

EXAMPLE = ROOT / "examples" / "appinstance.yaml"
CRD_FILE = "appinstances.apps.moorage.dev.yaml"
READY_TIMEOUT = 300


@dataclass
class Operated:
    namespace: str

    def instance(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = kubectl_json("-n", self.namespace, "get", "appinstance", name)
        return found

    def describe(self, name: str) -> str:
        return kubectl_result("-n", self.namespace, "get", f"appinstance/{name}", "-o", "yaml").stdout

    def wait_ready(self, name: str, image: str) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            obj = self.instance(name)
            status = obj.get("status") or {}
            if (
                condition(obj, "Ready").get("status") == "True"
                and status.get("currentImage") == image
                and status.get("observedGeneration") == obj["metadata"]["generation"]
            ):
                return obj
            return None

        try:
            found: dict[str, Any] = wait_for(f"{name} Ready on {image}", ready, READY_TIMEOUT, 2)
        except AssertionError:
            print(self.describe(name))
            raise
        return found

    def patch(self, name: str, patch: dict[str, Any]) -> None:
        kubectl("-n", self.namespace, "patch", "appinstance", name, "--type=merge", "-p", json.dumps(patch))

    def all_server_pods(self, name: str) -> list[dict[str, Any]]:
        """Every server pod of the instance, terminating ones included (they serve during preStop)."""
        selector = f"app.kubernetes.io/instance={name},app.kubernetes.io/component=server"
        pods: dict[str, Any] = kubectl_json("-n", self.namespace, "get", "pods", "-l", selector)
        items: list[dict[str, Any]] = pods["items"]
        return items

    def server_pods(self, name: str) -> list[dict[str, Any]]:
        return [p for p in self.all_server_pods(name) if not p["metadata"].get("deletionTimestamp")]

    def rolled(self, name: str, ring: str | None = None) -> bool:
        """The Deployment's rollout is complete (on the given key ring when one is given)."""
        deploy = kubectl_json("-n", self.namespace, "get", "deployment", name)
        annotations = deploy["spec"]["template"]["metadata"].get("annotations") or {}
        status = deploy["status"]
        return (
            (ring is None or annotations.get("apps.moorage.dev/key-ring") == ring)
            and status.get("observedGeneration") == deploy["metadata"]["generation"]
            and status.get("updatedReplicas") == status.get("replicas") == status.get("readyReplicas")
        )


def example(kind: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d and d["kind"] == kind]


def instance_manifest(name: str, **spec: Any) -> dict[str, Any]:
    base = example("AppInstance")[0]
    config = [
        {"name": "ENVIRONMENT", "value": "staging"},
        {"name": "RATE_LIMIT_ENABLED", "value": "false"},  # all load comes from one pod
    ]
    return {
        "apiVersion": base["apiVersion"],
        "kind": "AppInstance",
        "metadata": {"name": name},
        "spec": {
            **base["spec"],
            "image": SERVICE_IMAGE,
            "replicas": 2,
            "resources": SERVICE_RESOURCES,
            "config": config,
            **spec,
        },
    }


@pytest.fixture(scope="module")
def operated(request: pytest.FixtureRequest) -> Iterator[Operated]:
    namespace = module_namespace(request, "operator")
    # Helm leaves an existing CRD alone: the schema under test must be the one the status is pruned by.
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(OPERATOR_CHART / "crds" / CRD_FILE))
    release = install_operator(namespace, watched=namespace)
    # The example's throwaway PostgreSQL, with an image this cluster has.
    database = example("Secret") + example("Service") + example("Deployment")
    database[2]["spec"]["template"]["spec"]["containers"][0]["image"] = postgres_image()
    apply(database, namespace)
    start_toolbox(namespace)
    kubectl("-n", namespace, "rollout", "status", "deploy/example-db", "--timeout=180s", timeout=200)
    yield Operated(namespace)
    # Instances carry the operator's finalizer: delete them while the operator still runs.
    kubectl_result("-n", namespace, "delete", "appinstances", "--all", "--timeout=120s", timeout=150)
    helm_on_cluster("uninstall", release, "-n", namespace, "--wait", check=False)
    delete_namespace(namespace)


def test_appinstance_ready_then_image_change_under_load(
    operated: Operated, service_image_v2: str, figures: Figures
) -> None:
    ns = operated.namespace
    apply(instance_manifest("app"), ns)
    operated.wait_ready("app", SERVICE_IMAGE)

    load = Load(ns, service_url("app", ns)).start()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 40, 60, 2)
    operated.patch("app", {"spec": {"image": service_image_v2}})
    obj = operated.wait_ready("app", service_image_v2)
    kubectl("-n", ns, "rollout", "status", "deploy/app", "--timeout=180s", timeout=200)
    time.sleep(5)
    result = load.stop()
    figures.add("image change", result)

    # The migration Job of the new image finished before the Deployment moved to it.
    job_name = obj["status"]["migration"]["jobName"]
    job = kubectl_json("-n", ns, "get", "job", job_name)
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == service_image_v2
    job_done = timestamp(job["status"]["completionTime"])
    replica_sets = kubectl_json("-n", ns, "get", "rs", "-l", "app.kubernetes.io/instance=app")["items"]
    new_rs = [
        rs
        for rs in replica_sets
        if rs["spec"]["template"]["spec"]["containers"][0]["image"] == service_image_v2
    ]
    assert len(new_rs) == 1
    rs_created = timestamp(new_rs[0]["metadata"]["creationTimestamp"])
    print(f"migration {job_name} completed at {job_done:.0f}; new ReplicaSet at {rs_created:.0f}")
    assert job_done <= rs_created
    assert {p["spec"]["containers"][0]["image"] for p in operated.server_pods("app")} == {service_image_v2}
    assert result.requests > 0
    assert result.failures == 0, result.summary


def test_failing_migration_degrades_while_the_old_version_serves(
    operated: Operated, service_image_v2: str, figures: Figures
) -> None:
    ns = operated.namespace
    obj = operated.wait_ready("app", service_image_v2)
    pods_before = sorted(p["metadata"]["uid"] for p in operated.server_pods("app"))
    bad_url = "postgresql://moorage:wrong-password@example-db:5432/moorage"
    kubectl("-n", ns, "create", "secret", "generic", "bad-db", f"--from-literal=DATABASE_URL={bad_url}")
    load = Load(ns, service_url("app", ns)).start()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 40, 60, 2)
    # Another image whose migration cannot succeed: its Job uses a wrong database password.
    database = {**obj["spec"]["database"], "migrationSecretRef": {"name": "bad-db"}}
    operated.patch(
        "app",
        {
            "spec": {
                "image": SERVICE_IMAGE,
                "database": database,
                "migrations": {"backoffLimit": 0, "timeoutSeconds": 120},
            }
        },
    )

    def degraded() -> dict[str, Any] | None:
        current = operated.instance("app")
        return current if condition(current, "Degraded").get("reason") == "MigrationFailed" else None

    try:
        failed = wait_for("app Degraded (MigrationFailed)", degraded, READY_TIMEOUT, 2)
    finally:
        time.sleep(10)  # a wrong rollout would show itself by now
        result = load.stop()
        figures.add("failed migration", result)
    message = condition(failed, "Degraded")["message"]
    print(f"Degraded: {message}")
    assert "password" in message.lower() or "authentication" in message.lower(), message
    assert failed["status"]["currentImage"] == service_image_v2
    deployment = kubectl_json("-n", ns, "get", "deployment", "app")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == service_image_v2
    assert sorted(p["metadata"]["uid"] for p in operated.server_pods("app")) == pods_before
    assert result.requests > 0
    assert result.failures == 0, result.summary


def test_secret_rotation_under_load(operated: Operated, figures: Figures) -> None:
    ns = operated.namespace
    # Tokens outlive the grace on purpose, so its end shows: an unexpired old token is then refused.
    # (The operator flags such a grace as Degraded/GracePeriodTooShort, and stays Ready.)
    rotation = {"interval": "1h", "gracePeriod": "120s"}
    apply(instance_manifest("rot", secretRotation=rotation), ns)
    first = operated.wait_ready("rot", SERVICE_IMAGE)["status"]["activeKeyId"]
    api = Api(ns, service_url("rot", ns))

    load = Load(ns, api.base).start()
    old_token = load.token  # obtained before the rotation; the load keeps using it throughout
    wait_for("load to flow", lambda: load.progress()["requests"] >= 40, 60, 2)
    kubectl(
        "-n",
        ns,
        "annotate",
        "appinstance",
        "rot",
        f"apps.moorage.dev/rotate={time.time():.0f}",
        "--overwrite",
    )

    def rotated() -> str | None:
        status = operated.instance("rot").get("status") or {}
        active = status.get("activeKeyId")
        return active if active != first and status.get("previousKeyId") == first else None

    try:
        new = wait_for("a new key id", rotated, 120, 1)
        ring = f"{new}.{first}"

        wait_for(f"pods rolled to key ring {ring}", lambda: operated.rolled("rot", ring), 240, 2)
        assert all(pod_ready(p) for p in operated.server_pods("rot"))
        still = api.request("GET", "/api/v1/users/me", token=old_token)
        assert still.status == 200, f"pre-rotation token refused after the rollout: {still}"
    finally:
        result = load.stop()
        figures.add("rotation", result)
    assert result.requests > 0
    assert result.failures == 0, result.summary

    # Once the grace ends the previous key is dropped, the pods roll again and the old token is refused.
    def dropped() -> bool:
        status = operated.instance("rot").get("status") or {}
        return (
            not status.get("previousKeyId")
            and operated.rolled("rot")
            and not operated.rolled("rot", ring)
            # A terminating pod still answers during its preStop pause, with the old ring.
            and all(not p["metadata"].get("deletionTimestamp") for p in operated.all_server_pods("rot"))
        )

    wait_for("the previous key dropped and the old pods gone", dropped, 300, 3)
    answers = [api.request("GET", "/api/v1/users/me", token=old_token).status for _ in range(4)]
    assert answers == [401] * 4, f"pre-rotation token after the grace: {answers}"
    fresh = api.register_and_login(f"after-{uuid.uuid4().hex[:8]}@moorage.dev")
    assert api.request("GET", "/api/v1/users/me", token=fresh).status == 200


# Settings `moorage check-config` accepts (the tracing SDK reads them, not the service's settings) that
# make `moorage serve` exit at start-up: the SDK refuses a batch size of 0.
CRASHING_CONFIG = [
    {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://127.0.0.1:4318"},
    {"name": "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "value": "0"},
]


def test_crash_looping_config_is_rolled_back_under_load(
    operated: Operated, figures: Figures, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ns, name = operated.namespace, "crash"
    apply(instance_manifest(name), ns)
    good = operated.wait_ready(name, SERVICE_IMAGE)
    assert good["status"]["lastGood"]["image"] == SERVICE_IMAGE
    template_before = kubectl_json("-n", ns, "get", "deployment", name)["spec"]["template"]
    load = Load(ns, service_url(name, ns)).start()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 40, 60, 2)
    patched = time.time()
    operated.patch(name, {"spec": {"config": good["spec"]["config"] + CRASHING_CONFIG}})

    def rolled_back() -> dict[str, Any] | None:
        obj = operated.instance(name)
        return obj if condition(obj, "Degraded").get("reason") == "RolledBack" else None

    try:
        failed = wait_for(f"{name} RolledBack", rolled_back, READY_TIMEOUT, 1)
        detected = time.time()
        wait_for("the good pods back", lambda: operated.rolled(name), READY_TIMEOUT, 0.5)
        recovered = time.time()
        time.sleep(5)  # a second rollout, were there one, would show itself by now
    finally:
        result = load.stop()
    record = failed["status"]["rollback"]
    new_rs = [
        rs
        for rs in kubectl_json("-n", ns, "get", "rs", "-l", f"app.kubernetes.io/instance={name}")["items"]
        if (rs["spec"]["template"]["metadata"].get("annotations") or {}).get("apps.moorage.dev/config-hash")
        == record["fromConfigHash"]
    ]
    assert len(new_rs) == 1, [rs["metadata"]["name"] for rs in new_rs]
    crashing_since = timestamp(new_rs[0]["metadata"]["creationTimestamp"])
    to_detect = timestamp(record["time"]) - crashing_since
    print(
        f"\n[issue-10] crash-looping config: time to detect {to_detect:.0f} s "
        f"after the new ReplicaSet ({detected - patched:.0f} s after the patch, check-config preflight "
        f"included), time to recover {recovered - detected:.1f} s after the rollback; load: {result}"
    )
    label = f"crash-looping config (detect {to_detect:.0f}s, recover {recovered - detected:.1f}s)"
    figures.add(label, result)
    message = condition(failed, "Degraded")["message"]
    print(f"Degraded: {message}")
    assert "max_export_batch_size must be a positive integer" in message, message
    assert record["reason"] in ("CrashLoopBackOff", "Error"), record
    assert record["fromImage"] == record["toImage"] == SERVICE_IMAGE
    assert condition(failed, "Stalled")["reason"] == "RolledBack"
    events = kubectl_json("-n", ns, "get", "events", "--field-selector", f"involvedObject.name={name}")
    rolled = [e["message"] for e in events["items"] if e.get("reason") == "RolledBack"]
    assert len(rolled) == 1, rolled
    assert record["fromConfigHash"] in rolled[0] and record["toConfigHash"] in rolled[0], rolled
    # The old version serves again: the pods, the Deployment and the ConfigMap are the good revision.
    assert kubectl_json("-n", ns, "get", "deployment", name)["spec"]["template"] == template_before
    config = kubectl_json("-n", ns, "get", "configmap", f"{name}-config")["data"]
    assert "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" not in config
    assert all(pod_ready(p) for p in operated.server_pods(name))
    table = kubectl("-n", ns, "get", "appinstance", name)
    assert "ROLLED BACK" in table, table
    # kstatus (what Flux waits on) and Argo CD read it as failed: it needs a spec change.
    kstatus_bin = kstatus_binary(tmp_path_factory.mktemp("kstatus"))
    assert kstatus(kstatus_bin, operated.instance(name))[0] == "Failed"
    assert argocd_health(operated.instance(name))[0] == "Degraded"
    assert result.requests > 0
    assert result.failures == 0, result.summary
