"""kubectl against the project's kind cluster (context kind-moorage unless MOORAGE_KUBE_CONTEXT says)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

from tests.tools import find_tool

CONTEXT = os.environ.get("MOORAGE_KUBE_CONTEXT", "kind-moorage")


def kubectl_result(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_tool("kubectl"), "--context", CONTEXT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kubectl(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 300) -> str:
    proc = kubectl_result(*args, stdin=stdin, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def kubectl_json(*args: str) -> Any:
    return json.loads(kubectl(*args, "-o", "json"))


def cluster_unreachable_reason() -> str | None:
    """None when the cluster answers, else why not."""
    try:
        proc = kubectl_result("get", "--raw", "/readyz", "--request-timeout", "5s", timeout=20)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"kind cluster not reachable: {exc}"
    if proc.returncode != 0:
        return f"kind cluster {CONTEXT!r} not reachable (make cluster): {proc.stderr.strip()[:200]}"
    return None


def node_images() -> set[str]:
    """Every image tag in the nodes' containerd, asked through `crictl` in each kind node container.

    The node status is no substitute: the kubelet reports at most five names per image, and an image
    loaded under several tags (skaffold, e2e aliases) may not show the one we look for.
    """
    names: set[str] = set()
    for node in kubectl_json("get", "nodes")["items"]:
        proc = subprocess.run(
            [find_tool("docker"), "exec", node["metadata"]["name"], "crictl", "images", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        for image in json.loads(proc.stdout)["images"]:
            names.update(image.get("repoTags") or [])
    return names


def missing_node_images(wanted: list[str], timeout: float = 60) -> tuple[list[str], set[str]]:
    """The wanted images that no node holds, after waiting a little for a load in flight; and all tags."""
    deadline = time.monotonic() + timeout
    while True:
        loaded = node_images()
        missing = [image for image in wanted if not any(name.endswith(image) for name in loaded)]
        if not missing or time.monotonic() > deadline:
            return missing, loaded
        time.sleep(5)


def has_api(group_version: str) -> bool:
    return kubectl("get", "--raw", f"/apis/{group_version}", check=False) != ""


@contextlib.contextmanager
def temporary_namespace(prefix: str) -> Iterator[str]:
    """A namespace with a random suffix, deleted (without waiting) afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=false", check=False)
