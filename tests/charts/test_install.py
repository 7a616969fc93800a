"""Both charts installed for real on the kind cluster: `helm install --wait`, `helm test`, an upgrade
that keeps the generated secrets and rolls the pods, and an uninstall that keeps them.

Needs `make cluster` (context MOORAGE_KUBE_CONTEXT, default kind-moorage; images moorage/service:dev,
moorage/operator:dev and, on the hermetic path, the Debian PostgreSQL image loaded). Each run uses
fresh namespaces and release names, so it never touches what `make up` installed; the operator it
installs watches only its own test namespace.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.charts.helm import APP_CHART, OPERATOR_CHART, helm_on_cluster, kind_values_files
from tests.images import OPERATOR_IMAGE, SERVICE_IMAGE, missing_node_images
from tests.kube import cluster_unreachable_reason, kubectl, kubectl_json

pytestmark = pytest.mark.cluster

IMAGES = [SERVICE_IMAGE, OPERATOR_IMAGE]
TIMEOUT = "10m"


@dataclass
class Install:
    namespace: str
    operator_namespace: str
    release: str
    operator_release: str
    app_values: list[str]
    seconds: dict[str, float]
    notes: str = ""

    @property
    def fullname(self) -> str:
        return f"{self.release}-moorage"


def timed(seconds: dict[str, float], label: str, *args: str) -> str:
    start = time.monotonic()
    out = helm_on_cluster(*args, timeout=900).stdout
    seconds[label] = round(time.monotonic() - start, 1)
    print(f"{label}: {seconds[label]} s")
    return out


def secret_data(namespace: str, name: str) -> dict[str, str]:
    data = kubectl_json("-n", namespace, "get", "secret", name)["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


@pytest.fixture(scope="module")
def installed() -> Iterator[Install]:
    reason = cluster_unreachable_reason()
    assert reason is None, reason
    missing = missing_node_images(IMAGES)
    assert not missing, f"images not loaded into the kind nodes (make cluster): {missing}"
    app_values = [arg for path in kind_values_files() for arg in ("-f", str(path))]
    suffix = uuid.uuid4().hex[:6]
    inst = Install(
        f"charts-it-{suffix}", f"charts-it-op-{suffix}", f"it{suffix}", f"itop{suffix}", app_values, {}
    )
    try:
        kubectl("create", "namespace", inst.namespace)  # the operator's Role goes there
        timed(
            inst.seconds,
            "operator install --wait",
            "install",
            inst.operator_release,
            str(OPERATOR_CHART),
            "--namespace",
            inst.operator_namespace,
            "--create-namespace",
            "-f",
            str(OPERATOR_CHART / "ci" / "kind-values.yaml"),
            "--set",
            f"watchNamespaces={{{inst.namespace}}}",
            "--set",
            "peering.enabled=true",
            "--wait",
            "--timeout",
            TIMEOUT,
        )
        inst.notes = timed(
            inst.seconds,
            "app install --wait",
            "install",
            inst.release,
            str(APP_CHART),
            "--namespace",
            inst.namespace,
            *inst.app_values,
            "--wait",
            "--timeout",
            TIMEOUT,
        )
        yield inst
    finally:
        for release, namespace in (
            (inst.release, inst.namespace),
            (inst.operator_release, inst.operator_namespace),
        ):
            helm_on_cluster("uninstall", release, "--namespace", namespace, "--wait", check=False)
            kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_notes_explain_the_next_steps(installed: Install) -> None:
    assert "NOTES:" in installed.notes
    assert f"helm test {installed.release}" in installed.notes
    assert "embedded PostgreSQL" in installed.notes


def test_helm_test_passes(installed: Install) -> None:
    out = timed(
        installed.seconds,
        "app helm test",
        "test",
        installed.release,
        "--namespace",
        installed.namespace,
        "--timeout",
        "5m",
    )
    assert "Phase:          Succeeded" in out, out


def test_pods_run_hardened_and_ready(installed: Install) -> None:
    pods = kubectl_json(
        "-n",
        installed.namespace,
        "get",
        "pods",
        "-l",
        f"app.kubernetes.io/instance={installed.release},app.kubernetes.io/component=server",
    )
    assert pods["items"]
    for pod in pods["items"]:
        conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert conditions["Ready"] == "True"
        assert pod["spec"]["securityContext"]["runAsUser"] == 10001
        inits = {s["name"]: s["state"] for s in pod["status"]["initContainerStatuses"]}
        assert inits["migrate"]["terminated"]["exitCode"] == 0  # the first install migrated here


def test_operator_is_ready_with_namespaced_rbac(installed: Install) -> None:
    deployment = kubectl_json(
        "-n",
        installed.operator_namespace,
        "get",
        "deployment",
        f"{installed.operator_release}-moorage-operator",
    )
    assert deployment["status"]["readyReplicas"] == 1
    assert kubectl("get", "crd", "appinstances.apps.moorage.dev", "-o", "name").strip()
    account = (
        f"system:serviceaccount:{installed.operator_namespace}:{installed.operator_release}-moorage-operator"
    )

    def can(verb: str, resource: str, namespace: str) -> bool:
        out = kubectl("auth", "can-i", verb, resource, "--as", account, "-n", namespace, check=False)
        return out.strip() == "yes"

    assert can("create", "deployments.apps", installed.namespace)
    assert can("patch", "appinstances.apps.moorage.dev", installed.namespace)
    assert not can("create", "deployments.apps", "default")
    assert not can("delete", "nodes", installed.namespace)
    logs = kubectl(
        "-n",
        installed.operator_namespace,
        "logs",
        f"deployment/{installed.operator_release}-moorage-operator",
    )
    assert "Forbidden" not in logs, logs[-2000:]


def test_operator_joins_the_peering_the_chart_created(installed: Install) -> None:
    def members() -> dict[str, object]:
        peering = kubectl_json("-n", installed.namespace, "get", "kopfpeering", "moorage-operator")
        status: dict[str, object] = peering.get("status") or {}
        return status

    deadline = time.monotonic() + 120
    while not members() and time.monotonic() < deadline:
        time.sleep(2)
    assert members(), "the operator never recorded itself in the KopfPeering the chart created"


def test_upgrade_keeps_generated_secrets_and_rolls_on_config_change(installed: Install) -> None:
    generated_before = secret_data(installed.namespace, f"{installed.fullname}-generated")
    assert set(generated_before) == {"SECRET_KEY", "POSTGRES_PASSWORD"}
    template_before = kubectl_json("-n", installed.namespace, "get", "deployment", installed.fullname)
    checksum_before = template_before["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    timed(
        installed.seconds,
        "app upgrade --wait (pre-upgrade migration Job)",
        "upgrade",
        installed.release,
        str(APP_CHART),
        "--namespace",
        installed.namespace,
        *installed.app_values,
        "--set",
        "config.logLevel=DEBUG",
        "--wait",
        "--timeout",
        TIMEOUT,
    )

    assert secret_data(installed.namespace, f"{installed.fullname}-generated") == generated_before
    after = kubectl_json("-n", installed.namespace, "get", "deployment", installed.fullname)
    assert after["spec"]["template"]["metadata"]["annotations"]["checksum/config"] != checksum_before
    assert after["status"]["updatedReplicas"] == after["status"]["readyReplicas"] == after["spec"]["replicas"]
    # The migration hook succeeded, so its delete policy removed it.
    jobs = kubectl_json("-n", installed.namespace, "get", "jobs")
    assert not [j for j in jobs["items"] if j["metadata"]["name"] == f"{installed.fullname}-migrate"]
    helm_on_cluster("test", installed.release, "--namespace", installed.namespace)


def test_uninstall_keeps_the_secrets(installed: Install) -> None:
    helm_on_cluster(
        "uninstall",
        installed.release,
        "--namespace",
        installed.namespace,
        "--wait",
    )
    names = kubectl("-n", installed.namespace, "get", "secrets", "-o", "name").split()
    assert f"secret/{installed.fullname}" in names  # hook: not part of the release
    assert f"secret/{installed.fullname}-generated" in names  # created by the generator Job
    print("measured:", installed.seconds)
