"""kubectl against the project's kind cluster, waiting, and namespaces: the one wrapper every test uses.

The context is MOORAGE_KUBE_CONTEXT (default ``kind-moorage``); the kind cluster's name (for
`kind load` and the node containers) is MOORAGE_CLUSTER_NAME, by default the context without its
``kind-`` prefix.
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from tests import kube_reads
from tests.tools import find_tool

CONTEXT = os.environ.get("MOORAGE_KUBE_CONTEXT", "kind-moorage")
CLUSTER_NAME = os.environ.get("MOORAGE_CLUSTER_NAME", CONTEXT.removeprefix("kind-"))

T = TypeVar("T")
Manifest = dict[str, Any]


def kubectl_result(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """kubectl on our context, whatever its exit code."""
    return subprocess.run(
        [find_tool("kubectl"), "--context", CONTEXT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kubectl(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 300) -> str:
    """kubectl's stdout; a non-zero exit fails the test (unless check=False)."""
    proc = kubectl_result(*args, stdin=stdin, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr}"
        )
    return proc.stdout


def kubectl_json(*args: str) -> Any:
    """`kubectl ARGS -o json`, parsed; a plain get goes straight to the API server (tests/kube_reads.py)."""
    read = kube_reads.parse_get(args)
    reader = _reader() if read else None
    status, body = reader.get(*read) if reader and read else (0, "")
    if status in (0, 401):  # not a plain get, no reader, unreachable, or new certificates (a re-create)
        if reader:
            _reader.cache_clear()
        return json.loads(kubectl(*args, "-o", "json"))
    if status != 200:
        raise AssertionError(f"kubectl {' '.join(args)} failed (HTTP {status}):\n{body[-2000:]}")
    return kube_reads.as_kubectl_prints(json.loads(body))


@functools.cache
def _reader() -> kube_reads.Reader | None:
    return kube_reads.reader_for(find_tool("kubectl"), CONTEXT)


def apply(manifests: Manifest | list[Manifest] | str, namespace: str | None = None) -> None:
    """`kubectl apply` of one object, a list of objects or YAML/JSON text."""
    if isinstance(manifests, str):
        text = manifests
    else:
        items = manifests if isinstance(manifests, list) else [manifests]
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    kubectl(*(["-n", namespace] if namespace else []), "apply", "-f", "-", stdin=text)


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float = 180,
    every: float = 1.0,
    *,
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy and return that; fail after ``timeout`` seconds.

    A probe that raises AssertionError (a failed kubectl), a subprocess error, ValueError or KeyError
    (an object not there yet, a status field not filled in) is retried; the last error is reported.
    pytest.fail inside a probe ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = probe()
            if result:
                return result
        except (AssertionError, subprocess.SubprocessError, ValueError, KeyError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            state = f"\n{describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}{state}")
        time.sleep(every)


def wait_established(*crds: str, timeout: float = 60) -> None:
    """Wait until each CustomResourceDefinition (by name) is Established. `kubectl wait` is not used:
    on a definition created a moment ago it fails at once (no status.conditions yet) instead of waiting."""

    def established(crd: str) -> bool:
        return condition(kubectl_json("get", "crd", crd), "Established").get("status") == "True"

    for crd in crds:
        wait_for(f"CRD {crd} Established", functools.partial(established, crd), timeout)


def cluster_unreachable_reason() -> str | None:
    """None when the cluster answers, else why not."""
    try:
        proc = kubectl_result("get", "--raw", "/readyz", "--request-timeout", "5s", timeout=20)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"kind cluster not reachable: {exc}"
    if proc.returncode != 0:
        return f"kind cluster {CONTEXT!r} not reachable (make cluster): {proc.stderr.strip()[:200]}"
    return None


def has_api(group_version: str) -> bool:
    return kubectl("get", "--raw", f"/apis/{group_version}", check=False) != ""


# ---- namespaces ---------------------------------------------------------------------------------


def create_namespace(prefix: str) -> str:
    """A new namespace ``<prefix>-<random>``, returned once its default ServiceAccount exists."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}".lower()
    kubectl("create", "namespace", name)
    # The default ServiceAccount appears asynchronously; pods are refused until it does.
    wait_for(
        f"the default ServiceAccount of {name}",
        lambda: kubectl_result("-n", name, "get", "sa", "default").returncode == 0,
        60,
    )
    return name


def delete_namespace(name: str) -> None:
    kubectl("delete", "namespace", name, "--wait=false", check=False)


@contextlib.contextmanager
def temporary_namespace(prefix: str) -> Iterator[str]:
    """A namespace from create_namespace, deleted (without waiting) afterwards."""
    name = create_namespace(prefix)
    try:
        yield name
    finally:
        delete_namespace(name)


def dump_namespace(namespace: str) -> str:
    """Everything useful to debug a failed test in a namespace: objects, descriptions, events, logs."""
    parts = []
    for args in (
        ("get", "all,pvc,networkpolicy,ingress,pdb", "-o", "wide"),
        ("describe", "pods,pvc,svc"),
        ("get", "events", "--sort-by=.lastTimestamp"),
    ):
        proc = kubectl_result("-n", namespace, *args)
        parts.append(f"$ kubectl -n {namespace} {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    for pod in kubectl_result("-n", namespace, "get", "pods", "-o", "name").stdout.split():
        proc = kubectl_result("-n", namespace, "logs", pod, "--all-containers", "--tail=80")
        parts.append(f"$ kubectl -n {namespace} logs {pod}\n{proc.stdout}{proc.stderr}")
    return "\n".join(parts)


# ---- reading pods and nodes ---------------------------------------------------------------------


def pods(namespace: str, selector: str, *, terminating: bool = False) -> list[Manifest]:
    """The pods matching ``selector``; terminating ones only when asked for."""
    items: list[Manifest] = kubectl_json("-n", namespace, "get", "pods", "-l", selector)["items"]
    return [p for p in items if terminating or not p["metadata"].get("deletionTimestamp")]


def pod_ready(pod: Manifest) -> bool:
    conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions") or []}
    return conditions.get("Ready") == "True"


def restarts(pod: Manifest) -> int:
    return sum(int(c.get("restartCount", 0)) for c in pod["status"].get("containerStatuses") or [])


def events(namespace: str) -> list[Manifest]:
    items: list[Manifest] = kubectl_json("-n", namespace, "get", "events")["items"]
    return items


def condition(obj: Manifest, kind: str) -> Manifest:
    """The status condition of type ``kind`` of any object (an empty dict when it has none)."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def node_ready(node: Manifest) -> bool:
    conditions = {c["type"]: c["status"] for c in node["status"].get("conditions") or []}
    return conditions.get("Ready") == "True"


def worker_nodes() -> list[str]:
    """The nodes without the control-plane role, by name."""
    nodes = kubectl_json("get", "nodes")["items"]
    return sorted(
        n["metadata"]["name"]
        for n in nodes
        if "node-role.kubernetes.io/control-plane" not in n["metadata"].get("labels", {})
    )


def cluster_facts() -> dict[str, str]:
    """What cluster/up.sh recorded about this cluster (ConfigMap kube-public/moorage-cluster): the
    worker count, the path, the pod subnet, the ingress URLs and the Gateway's names."""
    data: dict[str, str] = (
        kubectl_json("-n", "kube-public", "get", "configmap", "moorage-cluster").get("data") or {}
    )
    return data


def timestamp(value: str) -> float:
    """Seconds since the epoch of a Kubernetes timestamp (UTC, second precision)."""
    return float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))
