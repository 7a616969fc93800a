"""kubectl against the project's kind cluster (context kind-moorage)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from tests.charts.helm import find_tool

CONTEXT = os.environ.get("MOORAGE_KUBE_CONTEXT", "kind-moorage")


def kubectl(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 300) -> str:
    proc = subprocess.run(
        [find_tool("kubectl"), "--context", CONTEXT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def kubectl_json(*args: str) -> Any:
    return json.loads(kubectl(*args, "-o", "json"))


def cluster_unreachable_reason() -> str | None:
    """None when the cluster answers, else why not."""
    try:
        proc = subprocess.run(
            [
                find_tool("kubectl"),
                "--context",
                CONTEXT,
                "get",
                "--raw",
                "/readyz",
                "--request-timeout",
                "5s",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"kind cluster not reachable: {exc}"
    if proc.returncode != 0:
        return f"kind cluster {CONTEXT!r} not reachable (make cluster): {proc.stderr.strip()[:200]}"
    return None


def node_images() -> set[str]:
    nodes = kubectl_json("get", "nodes")
    return {
        name
        for node in nodes["items"]
        for image in node["status"].get("images", [])
        for name in image.get("names", [])
    }


def missing_node_images(wanted: list[str], timeout: float = 180) -> tuple[list[str], set[str]]:
    """The wanted images that no node reports, after waiting for them; and every name reported.

    The kubelet refreshes its image list about every 30 s, so images loaded by a `make cluster`
    that just re-created the cluster show up in the node status only a little later.
    """
    deadline = time.monotonic() + timeout
    while True:
        loaded = node_images()
        missing = [image for image in wanted if not any(name.endswith(image) for name in loaded)]
        if not missing or time.monotonic() > deadline:
            return missing, loaded
        time.sleep(5)


def has_api(group_version: str) -> bool:
    return kubectl("get", "--raw", f"/apis/{group_version}", check=False) != ""
