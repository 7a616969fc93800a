"""`helm lint --strict` on both charts, with their defaults and every matrix values file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.helm import APP_CHART, KUBE_VERSION, OPERATOR_CHART, helm, matrix_files

CASES = [(chart, values) for chart in (APP_CHART, OPERATOR_CHART) for values in [None, *matrix_files(chart)]]


@pytest.mark.parametrize(
    ("chart", "values"), CASES, ids=[f"{c.name}-{v.name if v else 'default'}" for c, v in CASES]
)
def test_helm_lint_strict(chart: Path, values: Path | None) -> None:
    args = ["lint", "--strict", str(chart), "--kube-version", KUBE_VERSION]
    if values:
        args += ["-f", str(values)]
    result = helm(*args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout
