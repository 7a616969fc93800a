"""The operator's Deployment keeps the app chart's pod defaults: probes, security context, preStop."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from moorage_operator import manifests
from moorage_operator.keyring import KeyRing
from moorage_operator.spec import parse_spec

from tests.tools import locate_tool

from .conftest import ROOT

COMPARED_CONTAINER_FIELDS = (
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
    "lifecycle",
    "securityContext",
    "ports",
)


@pytest.fixture(scope="module")
def chart_pod() -> dict[str, Any]:
    helm = locate_tool("helm")
    if helm is None:
        pytest.skip("helm is not installed: run cluster/tools.sh")
    rendered = subprocess.run(
        [helm, "template", "parity", str(ROOT / "charts" / "moorage"), "--kube-version", "1.34.0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    for doc in yaml.safe_load_all(rendered):
        if doc and doc.get("kind") == "Deployment":
            pod: dict[str, Any] = doc["spec"]["template"]["spec"]
            return pod
    raise AssertionError("the app chart rendered no Deployment")


@pytest.fixture(scope="module")
def operator_pod() -> dict[str, Any]:
    app = parse_spec({"image": "moorage/service:dev", "database": {"secretRef": {"name": "db"}}})
    owner = manifests.Owner("parity", "default", "uid", {})
    ring = KeyRing(current="k" * 40, rotated_at=datetime.now(UTC))
    pod: dict[str, Any] = manifests.deployment(app, owner, image=app.image, ring=ring)["spec"]["template"][
        "spec"
    ]
    return pod


def _server(pod: dict[str, Any]) -> dict[str, Any]:
    containers = [c for c in pod["containers"] if c.get("ports")]
    assert len(containers) == 1, [c["name"] for c in pod["containers"]]
    found: dict[str, Any] = containers[0]
    return found


@pytest.mark.parametrize("field", COMPARED_CONTAINER_FIELDS)
def test_container_defaults_match_the_chart(
    chart_pod: dict[str, Any], operator_pod: dict[str, Any], field: str
) -> None:
    assert _server(operator_pod).get(field) == _server(chart_pod).get(field)


def test_pod_security_context_matches_the_chart(
    chart_pod: dict[str, Any], operator_pod: dict[str, Any]
) -> None:
    assert operator_pod["securityContext"] == chart_pod["securityContext"]


def test_termination_grace_matches_the_chart(chart_pod: dict[str, Any], operator_pod: dict[str, Any]) -> None:
    assert operator_pod["terminationGracePeriodSeconds"] == chart_pod["terminationGracePeriodSeconds"]


def test_tmp_is_a_writable_empty_dir_in_both(chart_pod: dict[str, Any], operator_pod: dict[str, Any]) -> None:
    for pod in (chart_pod, operator_pod):
        mounts = {m["mountPath"]: m["name"] for m in _server(pod)["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
