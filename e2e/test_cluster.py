"""The kind cluster from `make cluster` works: nodes, DNS, our image, privileges, metrics, storage.

Run: make cluster && uv run --frozen pytest e2e/test_cluster.py
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.images import SERVICE_IMAGE
from tests.kube import apply, dump_namespace, kubectl, kubectl_json, kubectl_result, wait_for
from tests.pod_specs import RESTRICTED

pytestmark = pytest.mark.cluster

REPO_ROOT = Path(__file__).resolve().parents[1]

# Liveness never touches the database, but the settings require both variables.
SERVICE_ENV = [
    {"name": "DATABASE_URL", "value": "postgresql://moorage:unused@127.0.0.1:5432/moorage"},
    {"name": "SECRET_KEY", "value": "e2e-secret-key-that-is-long-enough-0123456789"},
    {"name": "ENVIRONMENT", "value": "development"},
]
TMP = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - the only writable path in our image
WARM_RECREATE_LIMIT_SECONDS = 180


def python_pod(name: str, code: str, **spec: Any) -> dict[str, Any]:
    """A run-once pod executing `python -c code` in our service image."""
    container: dict[str, Any] = {
        "name": "main",
        "image": SERVICE_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-c", code],
        "securityContext": spec.pop("securityContext", RESTRICTED),
        "volumeMounts": [dict(TMP)],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            **spec,
        },
    }


def wait_pod_succeeded(namespace: str, name: str, timeout: float = 180) -> str:
    """Wait until the pod has run to completion; return its log. Fails fast if it failed."""

    def phase() -> str | None:
        pod = kubectl_json("-n", namespace, "get", "pod", name)
        current = pod["status"].get("phase")
        if current == "Failed":
            log = kubectl_result("-n", namespace, "logs", name).stdout
            pytest.fail(f"pod {name} failed:\n{log}")
        return "done" if current == "Succeeded" else None

    wait_for(f"pod {namespace}/{name} to succeed", phase, timeout)
    return kubectl("-n", namespace, "logs", name)


def test_every_node_is_ready() -> None:
    def all_ready() -> list[str] | None:
        nodes = kubectl_json("get", "nodes")["items"]
        names = []
        for node in nodes:
            conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
            if conditions.get("Ready") != "True":
                return None
            names.append(node["metadata"]["name"])
        return names or None

    names = wait_for("every node Ready", all_ready, 180)
    print(f"ready nodes: {names}")


def test_coredns_resolves_a_service_name(namespace: str) -> None:
    apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "dns-target"},
            "spec": {"selector": {"app": "nothing"}, "ports": [{"port": 80}]},
        },
        namespace,
    )
    cluster_ip = kubectl_json("-n", namespace, "get", "svc", "dns-target")["spec"]["clusterIP"]
    # retry inside the pod: CoreDNS picks up new Services within seconds
    code = (
        "import socket, time\n"
        "for _ in range(30):\n"
        "    try:\n"
        f"        print(socket.gethostbyname('dns-target.{namespace}.svc.cluster.local')); break\n"
        "    except OSError as e:\n"
        "        print('retry', e, flush=True); time.sleep(2)\n"
        "else:\n"
        "    raise SystemExit(1)\n"
        "print(socket.gethostbyname('dns-target'))\n"
    )
    apply(python_pod("resolver", code), namespace)
    log = wait_pod_succeeded(namespace, "resolver")
    assert log.strip().splitlines()[-2:] == [cluster_ip, cluster_ip], log


def test_service_image_answers_liveness_through_a_service(namespace: str) -> None:
    labels = {"app": "moorage-e2e"}
    apply(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "moorage"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "moorage",
                                    "image": SERVICE_IMAGE,
                                    "imagePullPolicy": "IfNotPresent",
                                    "env": SERVICE_ENV,
                                    "ports": [{"containerPort": 8000, "name": "http"}],
                                    "securityContext": RESTRICTED,
                                    "volumeMounts": [dict(TMP)],
                                    "readinessProbe": {
                                        "httpGet": {"path": "/api/v1/health/live", "port": "http"},
                                        "periodSeconds": 2,
                                    },
                                }
                            ],
                            "volumes": [{"name": "tmp", "emptyDir": {}}],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "moorage"},
                "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
            },
        ],
        namespace,
    )
    kubectl("-n", namespace, "rollout", "status", "deploy/moorage", "--timeout=180s", timeout=200)
    code = (
        "import json, time, urllib.request\n"
        "for _ in range(30):\n"
        "    try:\n"
        f"        url = 'http://moorage.{namespace}.svc/api/v1/health/live'\n"
        "        r = urllib.request.urlopen(url, timeout=5)\n"
        "        print(json.dumps({'status': r.status, 'body': json.loads(r.read())})); break\n"
        "    except OSError as e:\n"
        "        print('retry', e, flush=True); time.sleep(2)\n"
        "else:\n"
        "    raise SystemExit(1)\n"
    )
    apply(python_pod("client", code), namespace)
    log = wait_pod_succeeded(namespace, "client")
    answer = json.loads(log.strip().splitlines()[-1])
    assert answer == {"status": 200, "body": {"status": "ok"}}, log


def test_privileged_and_host_network_pods_run(namespace: str) -> None:
    privileged = python_pod(
        "privileged",
        # a privileged container sees the node's devices and may write sysctls
        "import os; print(len(os.listdir('/dev'))); open('/proc/sys/net/ipv4/ip_forward').read()",
        securityContext={"privileged": True, "runAsUser": 0},
    )
    host_network = python_pod(
        "host-network",
        "import socket; print(socket.gethostname())",
        hostNetwork=True,
    )
    apply([privileged, host_network], namespace)
    wait_pod_succeeded(namespace, "privileged")
    hostname = wait_pod_succeeded(namespace, "host-network").strip()
    pod = kubectl_json("-n", namespace, "get", "pod", "host-network")
    node = kubectl_json("get", "node", pod["spec"]["nodeName"])
    node_ips = {a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"}
    assert pod["status"]["podIP"] in node_ips, (pod["status"]["podIP"], node_ips)
    assert hostname == pod["spec"]["nodeName"]


def test_kubectl_top_pods_returns_figures() -> None:
    figures = re.compile(r"^\S+\s+\d+m\s+\d+Mi\s*$", re.MULTILINE)
    last: list[str] = []

    def top() -> str | None:
        proc = kubectl_result("top", "pods", "-n", "kube-system")
        last[:] = [proc.stdout, proc.stderr]
        return proc.stdout if proc.returncode == 0 and figures.search(proc.stdout) else None

    try:
        out = wait_for("kubectl top pods to report figures", top, 240, 5)
    except AssertionError:
        print("last kubectl top output:", *last, sep="\n")
        for args in (
            ("get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "yaml"),
            ("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods"),
            ("-n", "kube-system", "logs", "deploy/metrics-server", "--tail=60"),
        ):
            proc = kubectl_result(*args)
            print(f"$ kubectl {' '.join(args)}", proc.stdout, proc.stderr, sep="\n")
        print(dump_namespace("kube-system"))
        raise
    print(out)


def test_a_pvc_binds(namespace: str) -> None:
    apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
        },
        namespace,
    )
    # the default class binds on first use, so a pod writes to the volume
    code = "open('/data/hello', 'w').write('moorage'); print(open('/data/hello').read())"
    writer = python_pod("writer", code)
    writer["spec"]["securityContext"] = {"fsGroup": 10001}
    writer["spec"]["containers"][0]["volumeMounts"].append({"name": "data", "mountPath": "/data"})
    writer["spec"]["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "data"}})
    apply(writer, namespace)
    assert wait_pod_succeeded(namespace, "writer").strip() == "moorage"
    pvc = kubectl_json("-n", namespace, "get", "pvc", "data")
    assert pvc["status"]["phase"] == "Bound"


def test_recreating_the_cluster_warm() -> None:
    """Last on purpose: deletes and re-creates the cluster from the warm cache."""
    started = time.monotonic()
    for script in ("down.sh", "up.sh"):
        proc = subprocess.run(
            [str(REPO_ROOT / "cluster" / script)], capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, f"cluster/{script} failed:\n{proc.stdout}\n{proc.stderr}"
    seconds = time.monotonic() - started
    print(f"warm delete + re-create of the cluster: {seconds:.0f}s (limit {WARM_RECREATE_LIMIT_SECONDS}s)")
    print(proc.stderr)
    kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=60s", timeout=90)
    if seconds > WARM_RECREATE_LIMIT_SECONDS:
        print(dump_namespace("kube-system"))
    assert seconds <= WARM_RECREATE_LIMIT_SECONDS
