"""Run the helm binary: render and parse the charts, or install them on the kind cluster."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.images import OPERATOR_IMAGE, hermetic, split_image
from tests.kube import CONTEXT
from tests.tools import find_tool

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
APP_CHART = CHARTS / "moorage"
OPERATOR_CHART = CHARTS / "moorage-operator"
NAMESPACE = "moorage"
KUBE_VERSION = "1.34.0"

Manifest = dict[str, Any]


@dataclass
class HelmResult:
    returncode: int
    stdout: str
    stderr: str


def helm(*args: str, check: bool = True, timeout: float = 600) -> HelmResult:
    proc = subprocess.run(
        [find_tool("helm"), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return HelmResult(proc.returncode, proc.stdout, proc.stderr)


def helm_on_cluster(*args: str, check: bool = True, timeout: float = 600) -> HelmResult:
    """helm against the kind cluster's context (MOORAGE_KUBE_CONTEXT)."""
    return helm("--kube-context", CONTEXT, *args, check=check, timeout=timeout)


def kind_values_files() -> list[Path]:
    """The app chart's values for this kind cluster: ci/kind-values.yaml, plus the hermetic images."""
    files = [APP_CHART / "ci" / "kind-values.yaml"]
    if hermetic():
        files.append(APP_CHART / "ci" / "kind-hermetic-values.yaml")
    return files


def values_file(directory: Path, name: str, values: Mapping[str, Any]) -> Path:
    """``values`` written as a new values file in ``directory``."""
    path = directory / f"{name}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(dict(values)))
    return path


def value_args(
    values_files: Iterable[Path] = (),
    set_values: Mapping[str, str] | None = None,
    *,
    set_strings: Mapping[str, str] | None = None,
) -> list[str]:
    args: list[str] = []
    for path in values_files:
        args += ["-f", str(path)]
    for key, value in (set_values or {}).items():
        args += ["--set", f"{key}={value}"]
    for key, value in (set_strings or {}).items():
        args += ["--set-string", f"{key}={value}"]
    return args


def install_release(
    release: str,
    chart: Path,
    namespace: str,
    values_files: Iterable[Path] = (),
    set_values: Mapping[str, str] | None = None,
    *,
    set_strings: Mapping[str, str] | None = None,
    wait: str = "8m",
) -> HelmResult:
    """`helm upgrade --install … --wait` on the kind cluster: installs or upgrades, then waits for Ready."""
    return helm_on_cluster(
        "upgrade",
        "--install",
        release,
        str(chart),
        "-n",
        namespace,
        *value_args(values_files, set_values, set_strings=set_strings),
        "--wait",
        "--timeout",
        wait,
    )


def install_operator(namespace: str, watched: str) -> str:
    """The operator chart released in ``namespace`` with this run's image, watching only ``watched``.

    Returns the release name.
    """
    # Its own release name: the chart's cluster-scoped objects are named after the release, and
    # `make up` or `skaffold run` may have a "moorage-operator" release in the cluster already.
    release = f"moorage-operator-{namespace.rsplit('-', 1)[-1]}"
    repository, tag = split_image(OPERATOR_IMAGE)
    values = {"image.repository": repository, "image.tag": tag, "watchNamespaces": f"{{{watched}}}"}
    kind_values = OPERATOR_CHART / "ci" / "kind-values.yaml"
    install_release(release, OPERATOR_CHART, namespace, [kind_values], values, wait="5m")
    return release


def render(
    chart: Path = APP_CHART,
    values_files: Sequence[Path] = (),
    set_values: Mapping[str, str] | None = None,
    *,
    release: str = "demo",
    namespace: str = NAMESPACE,
    show_only: str | None = None,
    extra: Sequence[str] = (),
) -> list[Manifest]:
    """`helm template` (tests included) parsed into a list of manifests."""
    args = [
        "template",
        release,
        str(chart),
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSION,
        *value_args(values_files, set_values),
    ]
    if show_only:
        args += ["--show-only", show_only]
    return parse(helm(*args, *extra).stdout)


def render_error(
    chart: Path = APP_CHART,
    values_files: Sequence[Path] = (),
    set_values: Mapping[str, str] | None = None,
) -> str:
    """The error of a `helm template` that must fail."""
    args = [
        "template",
        "demo",
        str(chart),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
        *value_args(values_files, set_values),
    ]
    result = helm(*args, check=False)
    assert result.returncode != 0, f"helm template succeeded unexpectedly with {set_values}"
    return result.stderr


def parse(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(manifests: Iterable[Manifest], kind: str, name: str | None = None) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def kinds(manifests: Iterable[Manifest]) -> list[str]:
    return sorted(m["kind"] for m in manifests)


def container(pod_spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    for item in [*pod_spec.get("initContainers", []), *pod_spec["containers"]]:
        if item["name"] == name:
            return dict(item)
    raise AssertionError(f"no container {name}")


def matrix_files(chart: Path) -> list[Path]:
    """The chart's ci/*-values.yaml files (the chart-testing convention)."""
    return sorted((chart / "ci").glob("*-values.yaml"))
