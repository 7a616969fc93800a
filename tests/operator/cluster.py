"""Helpers for the tests against the kind cluster: kubectl, the operator under KopfRunner, waiting.

Everything talks to the real cluster (context ``kind-moorage`` unless MOORAGE_KUBE_CONTEXT says
otherwise). The operator runs in this process through ``kopf.testing.KopfRunner``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kube import CONTEXT, cluster_unreachable_reason, kubectl, temporary_namespace
from tests.tools import find_tool, locate_tool

from .conftest import CRD_PATH, ROOT

SERVICE_IMAGE = os.environ.get("MOORAGE_SERVICE_IMAGE", "moorage/service:dev")
# The same image under another name: kubelet resolves both to the loaded image, so an "upgrade"
# needs no second build.
SERVICE_IMAGE_ALIAS = os.environ.get("MOORAGE_SERVICE_IMAGE_ALIAS", f"docker.io/{SERVICE_IMAGE}")
HERMETIC_POSTGRES = "moorage.local/postgres:15-bookworm"
EXAMPLE = ROOT / "examples" / "appinstance.yaml"
# Small requests: many instances share a two-core machine in the tests and the benchmark.
SMALL = {"requests": {"cpu": "10m", "memory": "96Mi"}, "limits": {"memory": "512Mi"}}


def cluster_available() -> bool:
    return cluster_unreachable_reason() is None


def write_kubeconfig(path: Path) -> None:
    """A kubeconfig whose current context is ours: kopf and kubernetes-asyncio both read KUBECONFIG."""
    path.write_text(kubectl("config", "view", "--minify", "--flatten", "--context", CONTEXT))


def install_crd() -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_PATH))
    kubectl("wait", "--for=condition=Established", "crd/appinstances.apps.moorage.dev", "--timeout=60s")


def get_json(*args: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(kubectl("get", *args, "-o", "json"))
    return loaded


def wait_for(
    what: str,
    probe: Callable[[], Any],
    *,
    timeout: float = 240,
    every: float = 1.0,
    describe: Callable[[], str] | None = None,
) -> Any:
    """Poll until ``probe`` returns something truthy; fail with a description of the state otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            state = describe() if describe else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{state}")
        time.sleep(every)


def postgres_image() -> str:
    """The example's PostgreSQL, or the locally built one on the hermetic path (no registry to pull from)."""
    explicit = os.environ.get("MOORAGE_POSTGRES_IMAGE")
    if explicit:
        return explicit
    docker = locate_tool("docker")
    if docker:
        probe = subprocess.run(
            [docker, "image", "inspect", HERMETIC_POSTGRES], capture_output=True, check=False, timeout=60
        )
        if probe.returncode == 0:
            return HERMETIC_POSTGRES
    return "postgres:17-bookworm"


def example_documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(EXAMPLE.read_text()) if doc]


def database_manifests(namespace: str) -> str:
    """The example's Secret, Service and PostgreSQL, in ``namespace``, with the usable image."""
    docs = []
    for doc in example_documents():
        if doc["kind"] == "AppInstance":
            continue
        doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["containers"][0]["image"] = postgres_image()
        docs.append(doc)
    return yaml.safe_dump_all(docs)


def instance_manifest(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    example = next(doc for doc in example_documents() if doc["kind"] == "AppInstance")
    body: dict[str, Any] = {
        "apiVersion": example["apiVersion"],
        "kind": "AppInstance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {**example["spec"], "replicas": 1, "image": SERVICE_IMAGE, "resources": SMALL, **spec},
    }
    return body


def apply(obj: dict[str, Any] | str) -> None:
    kubectl("apply", "-f", "-", stdin=obj if isinstance(obj, str) else yaml.safe_dump(obj))


def condition(instance: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (instance.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def port_forward(namespace: str, target: str, remote: int) -> Iterator[str]:
    """``kubectl port-forward`` to one pod behind ``target``; yields the local base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            find_tool("kubectl"),
            "--context",
            CONTEXT,
            "-n",
            namespace,
            "port-forward",
            target,
            f"{port}:{remote}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        wait_for(f"port-forward to {target}", listening, timeout=30, every=0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def operator_namespace(
    tmp_path_factory: pytest.TempPathFactory, prefix: str, prepare: Callable[[], None] | None = None
) -> Iterator[str]:
    """A fresh namespace with the CRD installed and the example's PostgreSQL running in it.

    KUBECONFIG points at a kubeconfig for our context meanwhile (kopf and the operator's client read
    it); ``prepare`` runs before the namespace is made, e.g. to install more CRDs.
    """
    if not cluster_available():
        pytest.skip("the kind cluster is not reachable: run make cluster")
    kubeconfig = Path(tmp_path_factory.mktemp("kube")) / "config"
    write_kubeconfig(kubeconfig)
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    try:
        install_crd()
        if prepare is not None:
            prepare()
        with temporary_namespace(prefix) as ns:
            yield ns
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous


def start_database(namespace: str) -> None:
    apply(database_manifests(namespace))
    kubectl("-n", namespace, "rollout", "status", "deployment/example-db", "--timeout=180s", timeout=200)
