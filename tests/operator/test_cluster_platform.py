"""Pod controls, exposure and NetworkPolicy on the three-node cluster (`make cluster`, 9a-cluster).

Needs at least one worker, the ingress controller and an enforcing CNI, which `cluster/up.sh`
describes in the ConfigMap kube-public/moorage-cluster. The operator runs in-process and watches only
this module's namespace. Placement labels and taints one worker for the length of one scheduling
decision and removes them again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kopf.testing import KopfRunner

from tests.images import SERVICE_IMAGE
from tests.kube import apply, kubectl, kubectl_json, wait_for

from .cluster import instance_manifest, operator_namespace, start_database
from .test_cluster_operator import describe, events, server_pods, wait_ready

pytestmark = pytest.mark.cluster

RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
# Connects to the Service and reports; a dropped connection times out (kube-network-policies drop).
PROBE = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], 80), timeout=4).close()\n"
    "    print('connected')\n"
    "except OSError as exc:\n"
    "    print('refused', type(exc).__name__)\n"
)


@pytest.fixture(scope="module")
def cluster_info() -> dict[str, str]:
    found = kubectl("-n", "kube-public", "get", "configmap", "moorage-cluster", "-o", "json", check=False)
    assert found.strip(), (
        "kube-public/moorage-cluster is missing: this needs the cluster of `make cluster` (9a)"
    )
    data: dict[str, str] = json.loads(found)["data"]
    assert int(data.get("workers", "0")) >= 1, data
    return data


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory, cluster_info: dict[str, str]) -> Iterator[str]:
    with operator_namespace(tmp_path_factory, "t11-plat") as ns:
        start_database(ns)
        yield ns


@pytest.fixture(scope="module")
def operator(namespace: str) -> Iterator[None]:
    args = ["run", "--standalone", "--namespace", namespace, "-m", "moorage_operator", "--verbose"]
    with KopfRunner(args, timeout=60):
        yield
        kubectl(
            "-n", namespace, "delete", "appinstances", "--all", "--timeout=120s", check=False, timeout=150
        )


def workers() -> list[str]:
    nodes = kubectl_json("get", "nodes")["items"]
    return sorted(
        n["metadata"]["name"]
        for n in nodes
        if "node-role.kubernetes.io/control-plane" not in (n["metadata"].get("labels") or {})
    )


def probe_pod(namespace: str, name: str, target: str, labels: dict[str, str]) -> str:
    """The probe's verdict from a pod with ``labels``: ``connected`` or ``refused <error>``."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "probe",
                    "image": SERVICE_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", PROBE, target],
                    "securityContext": RESTRICTED,
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"memory": "128Mi"},
                    },
                }
            ],
        },
    }
    apply(pod)

    def finished() -> bool:
        phase = kubectl_json("get", "-n", namespace, "pod", name).get("status", {}).get("phase")
        return phase in ("Succeeded", "Failed")

    wait_for(f"probe {name}", finished, timeout=120)
    return kubectl("-n", namespace, "logs", name).strip()


def test_pull_secret_node_selector_and_tolerations_land_on_the_intended_worker(
    namespace: str, operator: None
) -> None:
    worker = workers()[-1]
    label, taint = "moorage.dev/t11-pool", "moorage.dev/t11-dedicated"
    pull = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "registry", "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": '{"auths": {}}'},
    }
    apply(pull)
    kubectl("label", "node", worker, f"{label}={namespace}", "--overwrite")
    kubectl("taint", "node", worker, f"{taint}={namespace}:NoSchedule", "--overwrite")
    try:
        # The control: the taint keeps out a pod that selects the node without tolerating it.
        untolerated = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "untolerated", "namespace": namespace},
            "spec": {
                "nodeSelector": {label: namespace},
                "containers": [
                    {"name": "c", "image": SERVICE_IMAGE, "command": ["true"], "securityContext": RESTRICTED}
                ],
            },
        }
        apply(untolerated)
        fields: dict[str, Any] = {
            "imagePullSecrets": [{"name": "registry"}],
            "nodeSelector": {label: namespace},
            "tolerations": [{"key": taint, "operator": "Equal", "value": namespace, "effect": "NoSchedule"}],
        }
        apply(instance_manifest(namespace, "placed", **fields))

        def scheduled() -> list[dict[str, Any]]:
            pods = server_pods(namespace, "placed")
            return pods if pods and all(p["spec"].get("nodeName") for p in pods) else []

        pods = wait_for(
            "the placed pod to be scheduled",
            scheduled,
            timeout=300,
            describe=lambda: describe(namespace, "placed"),
        )
        unscheduled = kubectl_json("get", "-n", namespace, "pod", "untolerated")
        conditions = {c["type"]: c for c in unscheduled["status"].get("conditions") or []}
        assert conditions["PodScheduled"]["status"] == "False", unscheduled["status"]
        assert conditions["PodScheduled"]["reason"] == "Unschedulable"
    finally:
        kubectl("taint", "node", worker, f"{taint}-", check=False)
        kubectl("label", "node", worker, f"{label}-", check=False)
        kubectl("-n", namespace, "delete", "pod", "untolerated", "--wait=false", check=False)
    for pod in pods:
        assert pod["spec"]["nodeName"] == worker
        assert pod["spec"]["imagePullSecrets"] == [{"name": "registry"}]
        assert fields["tolerations"][0] in pod["spec"]["tolerations"]
        assert pod["spec"]["serviceAccountName"] == "placed"
        assert pod["spec"]["automountServiceAccountToken"] is False
    account = kubectl_json("get", "-n", namespace, "serviceaccount", "placed")
    assert account["automountServiceAccountToken"] is False
    # The migration Job ran under the same controls: it had to land on the tainted worker too.
    jobs = kubectl_json(
        "get",
        "-n",
        namespace,
        "pods",
        "-l",
        "app.kubernetes.io/component=migration,apps.moorage.dev/instance=placed",
    )
    assert [p["spec"]["nodeName"] for p in jobs["items"]] and {
        p["spec"]["nodeName"] for p in jobs["items"]
    } == {worker}
    kubectl("-n", namespace, "delete", "appinstance", "placed", "--timeout=120s", timeout=150)


def test_exposed_instance_answers_crud_and_its_policy_admits_only_the_controller(
    namespace: str, operator: None, cluster_info: dict[str, str]
) -> None:
    host = f"web.{namespace}.moorage.test"
    controller = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
    }
    fields = {
        "expose": {"ingress": {"className": cluster_info.get("ingressClass", "traefik"), "host": host}},
        "networkPolicy": {"enabled": True, "ingressFrom": [controller]},
    }
    apply(instance_manifest(namespace, "web", **fields))
    obj = wait_ready(namespace, "web", SERVICE_IMAGE)
    assert obj["status"]["url"] == f"http://{host}/"
    assert f"http://{host}/" in kubectl("-n", namespace, "get", "appinstance", "web")  # the URL column
    assert "Exposed" in events(namespace, "web")
    assert kubectl_json("get", "-n", namespace, "ingress", "web")["spec"]["rules"][0]["host"] == host
    pod_env = {
        e["name"]: e.get("value") for e in server_pods(namespace, "web")[0]["spec"]["containers"][0]["env"]
    }
    assert pod_env["FORWARDED_ALLOW_IPS"] == "127.0.0.1,10.244.0.0/16"

    # CRUD through the ingress controller, from the host.
    base = cluster_info["ingressURL"].rstrip("/")
    with httpx.Client(base_url=base, headers={"Host": host}, timeout=15) as client:
        wait_for(
            "the route to answer", lambda: client.get("/api/v1/health/ready").status_code == 200, timeout=120
        )
        user = {"email": "platform@moorage.dev", "password": "correct horse battery"}
        assert client.post("/api/v1/auth/register", json=user).status_code == 201
        form = {"username": user["email"], "password": user["password"]}
        token = client.post("/api/v1/auth/token", data=form).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        created = client.post("/api/v1/items", json={"title": "via ingress"}, headers=auth)
        assert created.status_code == 201, created.text
        item = created.json()["id"]
        assert client.get(f"/api/v1/items/{item}", headers=auth).json()["title"] == "via ingress"
        updated = client.patch(f"/api/v1/items/{item}", json={"title": "renamed"}, headers=auth)
        assert updated.status_code == 200 and updated.json()["title"] == "renamed"
        assert client.get("/api/v1/items", headers=auth).json()["total"] == 1
        assert client.delete(f"/api/v1/items/{item}", headers=auth).status_code == 204
        assert client.get(f"/api/v1/items/{item}", headers=auth).status_code == 404

    # A stranger pod is refused; a pod of the instance itself, same probe, gets through.
    stranger = probe_pod(namespace, "stranger", "web", {"app.kubernetes.io/name": "stranger"})
    assert stranger.startswith("refused"), stranger
    own = {
        "app.kubernetes.io/name": "moorage",
        "app.kubernetes.io/instance": "web",
        "app.kubernetes.io/component": "probe",
    }
    assert probe_pod(namespace, "sibling", "web", own) == "connected"

    # Deleting the instance takes its exposure and policy with it (owner references).
    kubectl("-n", namespace, "delete", "appinstance", "web", "--timeout=120s", timeout=150)
    wait_for(
        "the Ingress and NetworkPolicy to be collected",
        lambda: (
            not kubectl_json(
                "get", "-n", namespace, "ingress,networkpolicy", "-l", "apps.moorage.dev/instance=web"
            )["items"]
        ),
        timeout=120,
    )
