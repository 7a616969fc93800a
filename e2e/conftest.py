"""Fixtures for kubectl-driven tests against the kind cluster "moorage" (make cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.tools import find_tool

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTEXT = os.environ.get("MOORAGE_KUBE_CONTEXT", "kind-moorage")
SERVICE_IMAGE = os.environ.get("MOORAGE_SERVICE_IMAGE", "moorage/service:dev")

T = TypeVar("T")


class Kubectl:
    """kubectl bound to the cluster's context, with bounded polling helpers."""

    def __init__(self, binary: str, context: str) -> None:
        self.binary = binary
        self.context = context

    def run(
        self, *args: str, input_text: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        cmd = [self.binary, "--context", self.context, *args]
        proc = subprocess.run(cmd, input=input_text, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, manifest: dict[str, Any] | list[dict[str, Any]], namespace: str | None = None) -> None:
        items = manifest if isinstance(manifest, list) else [manifest]
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
        ns = ["-n", namespace] if namespace else []
        self.run(*ns, "apply", "-f", "-", input_text=doc)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 180, interval: float = 2) -> T:
    """Poll probe() until it returns something other than None/False, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = probe()
            if result is not None and result is not False:
                return result
        except (AssertionError, subprocess.SubprocessError, ValueError, KeyError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def kubectl() -> Kubectl:
    kube = Kubectl(find_tool("kubectl"), CONTEXT)
    probe = kube.run("get", "--raw", "/readyz", check=False, timeout=30)
    if probe.returncode != 0:
        pytest.fail(f"context {CONTEXT} does not answer; run `make cluster` first:\n{probe.stderr}")
    return kube


def dump_namespace(kube: Kubectl, namespace: str) -> str:
    """Everything useful to debug a failed test in a namespace: describe, events, logs."""
    parts = []
    for args in (
        ("get", "all,pvc,events", "-o", "wide"),
        ("describe", "pods,pvc,svc"),
        ("get", "events", "--sort-by=.lastTimestamp"),
    ):
        proc = kube.run("-n", namespace, *args, check=False)
        parts.append(f"$ kubectl -n {namespace} {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    pods = kube.run("-n", namespace, "get", "pods", "-o", "name", check=False).stdout.split()
    for pod in pods:
        proc = kube.run("-n", namespace, "logs", pod, "--all-containers", "--tail=80", check=False)
        parts.append(f"$ kubectl -n {namespace} logs {pod}\n{proc.stdout}{proc.stderr}")
    return "\n".join(parts)


@pytest.fixture
def namespace(kubectl: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace per test; dumped on failure, then deleted."""
    name = f"e2e-{request.node.name.replace('_', '-')[:40].strip('-')}-{uuid.uuid4().hex[:6]}".lower()
    kubectl.run("create", "namespace", name)

    # the default ServiceAccount appears asynchronously; pods need it
    def has_default_sa() -> bool:
        return kubectl.run("-n", name, "get", "sa", "default", check=False).returncode == 0

    wait_for("the default ServiceAccount", has_default_sa, 60, 1)
    yield name
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(dump_namespace(kubectl, name))
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)
