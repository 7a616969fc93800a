"""The helm that cluster/tools.sh builds knows its version and a current default Kubernetes version.

`helm template` without `--kube-version` (what a newcomer and Argo CD's repo server run) checks the
chart's kubeVersion against helm's built-in default, which a plain `go install` leaves at v1.20.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.charts.helm import APP_CHART, helm, parse

ROOT = Path(__file__).resolve().parents[2]


def pinned(name: str) -> str:
    match = re.search(rf"^{name}=(\S+)$", (ROOT / "cluster" / "versions.env").read_text(), re.M)
    assert match, f"{name} not in cluster/versions.env"
    return match.group(1)


def test_helm_reports_the_pinned_version() -> None:
    assert helm("version", "--template", "{{ .Version }}").stdout.strip() == pinned("HELM_VERSION")


def test_default_kubernetes_version_is_not_helms_fallback(tmp_path: Path) -> None:
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.0.1\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\n"
        "data:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
    )
    kube = parse(helm("template", "probe", str(chart)).stdout)[0]["data"]["kube"]
    match = re.fullmatch(r"v1\.(\d+)\.0", kube)
    assert match, kube
    # helm 3.19 is built against client-go 0.34: its default must be at least the chart's minimum.
    assert int(match.group(1)) >= 30, kube


def test_chart_renders_without_kube_version() -> None:
    result = helm("template", "demo", str(APP_CHART), "--namespace", "moorage", check=False)
    assert result.returncode == 0, result.stderr
    assert any(m["kind"] == "Deployment" for m in parse(result.stdout))
