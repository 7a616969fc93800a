"""Pods running the e2e scripts (e2e/load/*.py, mounted from a ConfigMap at /load) in the service image.

All traffic to the service comes from such pods inside the cluster: the "toolbox" for single calls
(e2e/suite/api.py), load clients (e2e/suite/load.py), the OTLP receiver (e2e/suite/otlp.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.images import SERVICE_IMAGE
from tests.kube import apply, kubectl, kubectl_json, kubectl_result, wait_for
from tests.pod_specs import RESTRICTED, SCRIPT_RESOURCES

LOAD_DIR = Path(__file__).resolve().parents[1] / "load"


def scripts_configmap(namespace: str) -> None:
    data = {p.name: p.read_text() for p in sorted(LOAD_DIR.glob("*.py")) if p.name != "__init__.py"}
    apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e2e-scripts"}, "data": data},
        namespace,
    )


def script_pod(
    name: str, args: list[str], labels: dict[str, str] | None = None, *, node: str | None = None
) -> dict[str, Any]:
    """A pod running python with our scripts at /load, as the service image's unprivileged user.

    ``node`` pins it to one node (a client that must outlive a drain or a node loss).
    """
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 1,
        "containers": [
            {
                "name": "main",
                "image": SERVICE_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["python", *args],
                "securityContext": RESTRICTED,
                "resources": SCRIPT_RESOURCES,
                "volumeMounts": [
                    {"name": "scripts", "mountPath": "/load", "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
                ],
            }
        ],
        "volumes": [
            {"name": "scripts", "configMap": {"name": "e2e-scripts"}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "e2e", **(labels or {})}},
        "spec": spec,
    }


def wait_pod_running(namespace: str, name: str, timeout: float = 120) -> None:
    def running() -> bool:
        pod = kubectl_json("-n", namespace, "get", "pod", name)
        phase = pod["status"].get("phase")
        if phase in ("Failed", "Succeeded"):
            log = kubectl_result("-n", namespace, "logs", name).stdout
            pytest.fail(f"pod {name} ended ({phase}) before it should:\n{log}")
        return bool(phase == "Running")

    wait_for(f"pod {namespace}/{name} running", running, timeout)


def start_toolbox(
    namespace: str, name: str = "toolbox", *, labels: dict[str, str] | None = None, node: str | None = None
) -> str:
    """An idle script pod to `kubectl exec` single calls from; returns its name."""
    scripts_configmap(namespace)
    apply(script_pod(name, ["-c", "import time; time.sleep(86400)"], labels, node=node), namespace)
    wait_pod_running(namespace, name)
    return name


def try_connect(
    namespace: str, pod: str, host: str, port: int, *, container: str | None = None, timeout: float = 3
) -> dict[str, Any]:
    """One TCP connection attempt from inside ``pod`` (any pod with python: ours or the service's).

    Returns e2e/load/connect.py's answer: the resolved address and connected/timeout/refused/….
    """
    source = (LOAD_DIR / "connect.py").read_text()
    target = ["-c", container] if container else []
    out = kubectl(
        "-n",
        namespace,
        "exec",
        pod,
        *target,
        "--",
        "python",
        "-c",
        source,
        host,
        str(port),
        "--timeout",
        str(timeout),
        timeout=60,
    )
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(f"connect from {namespace}/{pod} to {host}:{port}: {answer['outcome']} ({answer['address']})")
    return answer
