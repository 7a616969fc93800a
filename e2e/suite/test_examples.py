"""examples/appinstance.yaml as a newcomer uses it: applied verbatim into a namespace that enforces the
"restricted" Pod Security Standard, on the cluster `make cluster` builds (either path), until Ready.

Run: make cluster && uv run --frozen pytest -m cluster e2e/suite/test_examples.py
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from e2e.suite.conftest import module_namespace
from tests.charts.helm import ROOT, helm_on_cluster, install_operator
from tests.images import SERVICE_IMAGE
from tests.kube import delete_namespace, kubectl, kubectl_json, kubectl_result, wait_for

pytestmark = pytest.mark.cluster

EXAMPLE = ROOT / "examples" / "appinstance.yaml"


@pytest.fixture(scope="module")
def restricted(request: pytest.FixtureRequest) -> Iterator[str]:
    """A restricted namespace watched by an operator running in a namespace of its own."""
    namespace = module_namespace(request, "example")
    for mode in ("enforce", "warn"):
        kubectl("label", "namespace", namespace, f"pod-security.kubernetes.io/{mode}=restricted")
    operator_ns = module_namespace(request, "example-op")
    release = install_operator(operator_ns, watched=namespace)
    yield namespace
    kubectl_result("-n", namespace, "delete", "appinstances", "--all", "--timeout=120s", timeout=150)
    helm_on_cluster("uninstall", release, "-n", operator_ns, "--wait", check=False)
    delete_namespace(namespace)
    delete_namespace(operator_ns)


def test_example_appinstance_is_ready_in_a_restricted_namespace(restricted: str) -> None:
    docs = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    instance = next(d for d in docs if d["kind"] == "AppInstance")
    assert instance["spec"]["image"] == SERVICE_IMAGE, "the example names the image make up loads"

    applied = kubectl_result("-n", restricted, "apply", "-f", str(EXAMPLE))
    assert applied.returncode == 0 and "PodSecurity" not in applied.stderr, applied.stderr
    kubectl("-n", restricted, "rollout", "status", "deploy/example-db", "--timeout=240s", timeout=260)

    name = instance["metadata"]["name"]

    def ready() -> dict[str, Any] | None:
        obj: dict[str, Any] = kubectl_json("-n", restricted, "get", "appinstance", name)
        conditions = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
        if conditions.get("Ready", {}).get("status") == "True":
            return obj
        return None

    try:
        obj = wait_for(f"AppInstance {name} Ready", ready, 360, 3)
    except AssertionError:
        print(kubectl_result("-n", restricted, "get", "appinstance", name, "-o", "yaml").stdout)
        raise
    print(f"example Ready: {obj['status'].get('conditions')}")
    # Every pod in the namespace was admitted under "restricted" and runs.
    pods = kubectl_json("-n", restricted, "get", "pods")["items"]
    running = [p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Running"]
    assert any(n.startswith("example-db") for n in running), running
    assert any(n.startswith(f"{name}-") and "migrat" not in n for n in running), running
