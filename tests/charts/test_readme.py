"""Each chart README lists every value of its values.yaml, with the current defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.helm import APP_CHART, OPERATOR_CHART
from tests.charts.readme_values import documented_keys, rendered_readme, undocumented

CHARTS = [APP_CHART, OPERATOR_CHART]


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.name)
def test_every_value_is_documented_in_values_yaml(chart: Path) -> None:
    assert undocumented(chart) == []


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.name)
def test_readme_values_table_is_in_sync(chart: Path) -> None:
    readme = (chart / "README.md").read_text()
    assert readme == rendered_readme(chart), "stale README: run `uv run python -m tests.charts.readme_values`"
    for doc in documented_keys((chart / "values.yaml").read_text()):
        assert f"| `{doc.path}` |" in readme


def test_the_parser_sees_nested_and_opaque_keys() -> None:
    text = "a:\n  # -- b doc\n  b: 1\n# -- c doc\nc:\n  # -- ignored inside a documented key\n  d: 2\n"
    assert [(d.path, d.description) for d in documented_keys(text)] == [("a.b", "b doc"), ("c", "c doc")]
