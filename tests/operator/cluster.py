"""Helpers for the operator tests against the kind cluster: the CRD, the example's database, instances.

Everything talks to the real cluster through tests/kube.py (MOORAGE_KUBE_CONTEXT). The operator runs
in this process through ``kopf.testing.KopfRunner``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.images import SERVICE_IMAGE, postgres_image
from tests.kube import (
    CONTEXT,
    apply,
    cluster_unreachable_reason,
    kubectl,
    temporary_namespace,
    wait_established,
    wait_for,
)
from tests.pod_specs import SERVICE_RESOURCES
from tests.tools import find_tool

from .conftest import CRD_PATH, ROOT

EXAMPLE = ROOT / "examples" / "appinstance.yaml"


def cluster_available() -> bool:
    return cluster_unreachable_reason() is None


def write_kubeconfig(path: Path) -> None:
    """A kubeconfig whose current context is ours: kopf and kubernetes-asyncio both read KUBECONFIG."""
    path.write_text(kubectl("config", "view", "--minify", "--flatten", "--context", CONTEXT))


def install_crd() -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_PATH))
    wait_established("appinstances.apps.moorage.dev")


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
        "spec": {
            **example["spec"],
            "replicas": 1,
            "image": SERVICE_IMAGE,
            "resources": SERVICE_RESOURCES,
            **spec,
        },
    }
    return body


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
    """A fresh namespace with the CRD installed (``namespace_with_database`` adds the example's PostgreSQL).

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


@contextlib.contextmanager
def namespace_with_database(tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Iterator[str]:
    """``operator_namespace`` with the example's PostgreSQL running in it."""
    with operator_namespace(tmp_path_factory, prefix) as ns:
        start_database(ns)
        yield ns
