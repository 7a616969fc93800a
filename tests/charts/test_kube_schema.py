"""Every rendered manifest against the Kubernetes 1.34 OpenAPI schemas, offline, unknown fields rejected.

The schemas ship inside the kubernetes-validate package (the `charts` dependency group), so nothing is
fetched at test time. Kinds from CRDs that are not part of Kubernetes (Gateway API, Prometheus
Operator) have no schema there; they are listed explicitly and checked by the server-side dry-run.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

try:  # the `charts` dependency group: uv sync --group charts
    import kubernetes_validate
except ImportError:  # fail each test with the fix, rather than the whole collection
    kubernetes_validate = None

from tests.charts.helm import APP_CHART, OPERATOR_CHART, Manifest, find, matrix_files, render

KUBERNETES = "1.34"
NOT_IN_KUBERNETES = {"HTTPRoute", "ServiceMonitor", "PrometheusRule", "KopfPeering", "ClusterKopfPeering"}
CRD_FILE = OPERATOR_CHART / "crds" / "appinstances.apps.moorage.dev.yaml"


@pytest.fixture(autouse=True)
def _schemas_installed() -> None:
    if kubernetes_validate is None:
        pytest.fail("kubernetes-validate is missing: uv sync --frozen --group charts")


def validate(manifest: Manifest) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


CASES = [(chart, values) for chart in (APP_CHART, OPERATOR_CHART) for values in [None, *matrix_files(chart)]]


@pytest.mark.parametrize(
    ("chart", "values"), CASES, ids=[f"{c.name}-{v.name if v else 'default'}" for c, v in CASES]
)
def test_rendered_manifests_match_the_kubernetes_schemas(chart: Path, values: Path | None) -> None:
    manifests = render(chart, values_files=[values] if values else [], extra=["--include-crds"])
    checked = 0
    for manifest in manifests:
        if manifest["kind"] in NOT_IN_KUBERNETES:
            continue
        try:
            validate(manifest)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']}: {exc.message} at {path}")
        checked += 1
    assert checked >= 3


def test_the_crd_file_is_a_valid_custom_resource_definition() -> None:
    validate(yaml.safe_load(CRD_FILE.read_text()))


def test_an_unknown_field_is_rejected() -> None:
    deployment = find(render(), "Deployment")
    validate(deployment)
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessProbes"):
        validate(broken)
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong_type)
