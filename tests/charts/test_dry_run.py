"""A server-side dry-run of every rendered manifest against the kind cluster, fields validated strictly.

The only test of this suite that is skipped without a cluster: the offline schema test covers the
same manifests against the 1.34 schemas, this one adds the API server's own admission and defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.charts.helm import APP_CHART, KUBE_VERSION, OPERATOR_CHART, helm, matrix_files, parse
from tests.kube import cluster_unreachable_reason, has_api, kubectl, temporary_namespace, wait_established

UNREACHABLE = cluster_unreachable_reason()
pytestmark = [pytest.mark.cluster, pytest.mark.skipif(UNREACHABLE is not None, reason=UNREACHABLE or "")]

# Kinds whose API comes from a CRD the cluster may not have: checked only when it is served.
OPTIONAL_APIS = {
    "HTTPRoute": "gateway.networking.k8s.io/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}

CASES = [(chart, values) for chart in (APP_CHART, OPERATOR_CHART) for values in [None, *matrix_files(chart)]]


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    with temporary_namespace("charts-dryrun") as name:
        yield name


@pytest.mark.parametrize(
    ("chart", "values"), CASES, ids=[f"{c.name}-{v.name if v else 'default'}" for c, v in CASES]
)
def test_server_side_dry_run(chart: Path, values: Path | None, namespace: str) -> None:
    args = [
        "template",
        "dryrun",
        str(chart),
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSION,
        "--include-crds",
    ]
    if values:
        args += ["-f", str(values)]
    if chart == OPERATOR_CHART and values and values.name.startswith("namespaced"):
        args += ["--set", f"watchNamespaces={{{namespace}}}"]  # Roles in a namespace that exists
    manifests = [
        m
        for m in parse(helm(*args).stdout)
        if m["kind"] not in OPTIONAL_APIS or has_api(OPTIONAL_APIS[m["kind"]])
    ]
    assert manifests
    # Helm creates what crds/ holds before the templates; a dry run alone would not know the kinds
    # those definitions add (the operator chart's KopfPeering), so they are applied for real first.
    crds = [m for m in manifests if m["kind"] == "CustomResourceDefinition"]
    if crds:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=yaml.safe_dump_all(crds))
        wait_established(*(crd["metadata"]["name"] for crd in crds))
    out = kubectl(
        "apply", "--dry-run=server", "--validate=strict", "-f", "-", stdin=yaml.safe_dump_all(manifests)
    )
    assert out.count("(server dry run)") == len(manifests), out
