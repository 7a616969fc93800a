"""The operator's /metrics on the kind cluster: a clean exposition that counts the reconciles we caused.

The operator runs in-process (KopfRunner) watching only this test's namespace, with its metrics
endpoint on a free local port. The counters are process-wide, so every check is a difference between
two scrapes around what the test did.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from kopf.testing import KopfRunner

from tests.kube import apply, kubectl, kubectl_json, wait_for

from .cluster import free_port, instance_manifest, operator_namespace
from .exposition import lint, samples, value

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with operator_namespace(tmp_path_factory, "t11-metrics") as ns:
        yield ns


@pytest.fixture(scope="module")
def metrics_url(namespace: str) -> Iterator[str]:
    port = free_port()
    previous = os.environ.get("MOORAGE_METRICS_PORT")
    os.environ["MOORAGE_METRICS_PORT"] = str(port)
    args = ["run", "--standalone", "--namespace", namespace, "-m", "moorage_operator", "--verbose"]
    try:
        with KopfRunner(args, timeout=60) as runner:
            url = f"http://127.0.0.1:{port}/metrics"
            wait_for("the metrics endpoint", lambda: _get(url) is not None, timeout=60, every=0.5)
            yield url
            kubectl(
                "-n", namespace, "delete", "appinstances", "--all", "--timeout=60s", check=False, timeout=90
            )
        assert runner.exit_code == 0, runner.output
    finally:
        if previous is None:
            os.environ.pop("MOORAGE_METRICS_PORT", None)
        else:
            os.environ["MOORAGE_METRICS_PORT"] = previous


def _get(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def scrape(url: str) -> str:
    text = _get(url)
    assert text is not None, f"{url} did not answer"
    return text


def test_metrics_lint_clean_and_count_the_reconciles_we_caused(namespace: str, metrics_url: str) -> None:
    before = samples(scrape(metrics_url))
    # No database Secret: each instance is reconciled straight to Degraded (DatabaseSecretMissing).
    for name in ("m1", "m2"):
        apply(instance_manifest(namespace, name))

    def degraded_both() -> bool:
        items = kubectl_json("get", "-n", namespace, "appinstances")["items"]
        reasons = [
            c.get("reason")
            for item in items
            for c in (item.get("status") or {}).get("conditions") or []
            if c.get("type") == "Degraded" and c.get("status") == "True"
        ]
        return reasons == ["DatabaseSecretMissing", "DatabaseSecretMissing"]

    wait_for("both instances Degraded", degraded_both, timeout=120)
    # The status patch the operator wrote is seen by the metrics once its reconcile has finished.
    wait_for(
        "the instance gauge to count both",
        lambda: (
            value(
                samples(scrape(metrics_url)),
                "moorage_operator_instances",
                condition="Degraded",
                status="True",
            )
            >= 2
        ),
        timeout=60,
    )
    text = scrape(metrics_url)
    assert lint(text) == []
    after = samples(text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("moorage_operator_reconciles_total", trigger="create") == 2
    assert delta("moorage_operator_reconciles_total", outcome="degraded") >= 2
    assert delta("moorage_operator_reconcile_errors_total", reason="DatabaseSecretMissing") >= 2
    assert delta("moorage_operator_reconcile_duration_seconds_count") == delta(
        "moorage_operator_reconciles_total"
    )
    assert value(after, "moorage_operator_instances", condition="Degraded", status="True") == 2
    assert value(after, "moorage_operator_instances", condition="Ready", status="False") == 2

    # Deleting one removes it from the gauge.
    kubectl("-n", namespace, "delete", "appinstance", "m2", "--timeout=60s", timeout=90)
    wait_for(
        "the gauge to drop the deleted instance",
        lambda: (
            value(
                samples(scrape(metrics_url)),
                "moorage_operator_instances",
                condition="Degraded",
                status="True",
            )
            == 1
        ),
        timeout=60,
    )
