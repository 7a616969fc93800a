"""Bad input is refused up front, naming the field: invalid AppInstances at the API server, invalid
values at `helm install`. (Malformed API bodies: test_helm.py, against the running service.)

Run: make cluster && uv run --frozen pytest -m cluster e2e/suite/test_bad_input.py
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.suite.conftest import module_namespace
from tests.charts.helm import APP_CHART, OPERATOR_CHART, helm_on_cluster, kind_values_files
from tests.images import SERVICE_IMAGE
from tests.kube import delete_namespace, kubectl, kubectl_json, kubectl_result, wait_established

pytestmark = pytest.mark.cluster

CRD = OPERATOR_CHART / "crds" / "appinstances.apps.moorage.dev.yaml"
VALID_SPEC: dict[str, Any] = {
    "image": SERVICE_IMAGE,
    "replicas": 1,
    "database": {"secretRef": {"name": "db", "key": "DATABASE_URL"}},
}


@pytest.fixture(scope="module")
def bad_ns(request: pytest.FixtureRequest) -> Iterator[str]:
    if kubectl_result("get", "crd", "appinstances.apps.moorage.dev").returncode != 0:
        kubectl("apply", "--server-side", "-f", str(CRD))
    wait_established("appinstances.apps.moorage.dev")
    namespace = module_namespace(request, "bad")
    yield namespace
    delete_namespace(namespace)


INVALID_INSTANCES = [
    ("too-many", {**VALID_SPEC, "replicas": 500}, "spec.replicas"),
    ("no-db", {"image": SERVICE_IMAGE, "replicas": 1}, "spec.database"),
    ("bad-image", {**VALID_SPEC, "image": "Not An Image"}, "spec.image"),
    ("both", {**VALID_SPEC, "autoscaling": {"maxReplicas": 3}}, "spec.replicas and spec.autoscaling"),
    ("bad-rotation", {**VALID_SPEC, "secretRotation": {"interval": "soon"}}, "spec.secretRotation"),
    ("Upper_Case", VALID_SPEC, "metadata.name"),
]


@pytest.mark.parametrize(("name", "spec", "field"), INVALID_INSTANCES, ids=[c[0] for c in INVALID_INSTANCES])
def test_invalid_appinstance_is_refused_naming_the_field(
    bad_ns: str, name: str, spec: dict[str, Any], field: str
) -> None:
    body = {"apiVersion": "apps.moorage.dev/v1alpha1", "kind": "AppInstance", "metadata": {"name": name}}
    body["spec"] = spec
    proc = kubectl_result("-n", bad_ns, "create", "-f", "-", stdin=json.dumps(body))
    print(proc.stderr.strip())
    assert proc.returncode != 0, f"accepted: {body}"
    assert field in proc.stderr, proc.stderr
    listed = kubectl_json("-n", bad_ns, "get", "appinstances")["items"]
    assert listed == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"config.logFormat": "xml"}, "/config/logFormat"),
        ({"replicaCount": "-1"}, "/replicaCount"),
        ({"secret.secretKey": "too-short"}, "/secret/secretKey"),
        ({"postgresql.enabled": "false"}, "externalDatabase.url"),
        ({"service.port": "http"}, "/service/port"),
    ],
    ids=["logFormat", "replicaCount", "secretKey", "externalDatabase", "servicePort"],
)
def test_invalid_helm_values_are_refused_naming_the_field(
    bad_ns: str, values: dict[str, str], field: str
) -> None:
    files = [arg for path in kind_values_files() for arg in ("-f", str(path))]
    sets = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    proc = helm_on_cluster("install", "refused", str(APP_CHART), "-n", bad_ns, *files, *sets, check=False)
    print(proc.stderr.strip())
    assert proc.returncode != 0, proc.stdout
    assert field in proc.stderr, proc.stderr
    assert helm_on_cluster("status", "refused", "-n", bad_ns, check=False).returncode != 0
    assert kubectl("-n", bad_ns, "get", "all", "-o", "name").strip() == ""
