"""The chart's PrometheusRule and Grafana dashboard read only series the service really exports.

Every alert and panel expression is parsed by Prometheus's own PromQL parser (a small Go program,
tests/charts/promql, built from the Prometheus Go module and cached), and every metric, label and
route/bucket value it selects is looked up in a live `/metrics` scrape of a real `moorage serve`
on a real PostgreSQL. The one exception: pod restarts come from kube-state-metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.charts.helm import Manifest, find, render
from tests.conftest import create_migrated_database
from tests.postgres import PostgresServer
from tests.server_process import ServerProcess

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("MOORAGE_CACHE", Path.home() / ".cache" / "moorage"))
# Series that are not the service's own, each with where it comes from.
FOREIGN_SERIES = {"kube_pod_container_status_restarts_total": "kube-state-metrics"}
# Labels Prometheus attaches to every scraped series from the target (ServiceMonitor), not the service.
TARGET_LABELS = {"namespace", "job", "pod", "container", "service", "endpoint", "instance"}
# Grafana's variables, replaced by something PromQL accepts before parsing.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": "moorage", "$job": "demo-moorage"}
ENABLED = {"metrics.prometheusRule.enabled": "true", "metrics.grafanaDashboard.enabled": "true"}


def promql_checker() -> Path:
    """The Go helper, built once per source version into the shared cache (GOTOOLCHAIN=local)."""
    sources = [HERE / "promql" / name for name in ("main.go", "go.mod", "go.sum")]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    binary = CACHE / "tools" / f"promql-check-{key}" / "promql-check"
    if binary.exists():
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = {
        **os.environ,
        "GOCACHE": str(CACHE / "go" / "build"),
        "GOMODCACHE": str(CACHE / "go" / "mod"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-buildvcs=false",
        "CGO_ENABLED": "0",
    }
    binary.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["nice", "-n", "10", go, "build", "-trimpath", "-o", str(binary), "."],
        cwd=HERE / "promql",
        env=env,
        check=True,
        timeout=900,
    )
    return binary


def parse_promql(exprs: list[str]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(promql_checker())],
        input=json.dumps(exprs),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return results


def rendered() -> list[Manifest]:
    return render(set_values=ENABLED)


def alert_expressions(manifests: list[Manifest]) -> dict[str, str]:
    rule = find(manifests, "PrometheusRule")
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


def dashboard(manifests: list[Manifest]) -> dict[str, Any]:
    config_map = find(manifests, "ConfigMap", "demo-moorage-dashboard")
    board: dict[str, Any] = json.loads(config_map["data"]["moorage.json"])
    return board


def panel_expressions(board: dict[str, Any]) -> dict[str, list[str]]:
    found = {p["title"]: [t["expr"] for t in p["targets"]] for p in board["panels"]}
    # label_values(SELECTOR, LABEL): the selector is PromQL.
    found["(variables)"] = [
        re.fullmatch(r"label_values\((.+), *\w+\)", v["query"]["query"]).group(1)  # type: ignore[union-attr]
        for v in board["templating"]["list"]
        if v["type"] == "query"
    ]
    return found


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


# ---- the live service -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def scrape(postgres: PostgresServer) -> dict[str, dict[str, set[str]]]:
    """metric sample name -> label name -> values seen, after a realistic mix of requests."""
    database_url = await create_migrated_database(postgres, "observability")
    server = ServerProcess(
        env={
            "DATABASE_URL": database_url,
            "SECRET_KEY": "observability-test-signing-key-0123456789",
            "ENVIRONMENT": "production",
            "RATE_LIMIT_REQUESTS": "30",
            "OTEL_SDK_DISABLED": "true",
        }
    )
    await anyio.to_thread.run_sync(server.start)
    try:
        text = await anyio.to_thread.run_sync(drive, server.base_url)
    finally:
        server.kill()
    samples: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = samples[sample.name]
            for label, value in sample.labels.items():
                labels[label].add(value)
    return samples


def drive(base: str) -> str:
    """Registration, login, CRUD, probes, a 404 and enough requests to be rate limited (429); the scrape."""
    with httpx.Client(base_url=base, timeout=10) as client:
        email, password = "metrics@example.com", "a-long-enough-password"
        assert (
            client.post("/api/v1/auth/register", json={"email": email, "password": password}).status_code
            == 201
        )
        token = client.post("/api/v1/auth/token", data={"username": email, "password": password}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert client.post("/api/v1/items", json={"title": "one"}, headers=headers).status_code == 201
        assert client.get(
            "/api/v1/items/00000000-0000-0000-0000-000000000000", headers=headers
        ).status_code in (
            404,
            422,
        )
        statuses = set()
        for _ in range(40):
            statuses.add(client.get("/api/v1/users/me", headers=headers).status_code)
            client.get("/api/v1/health/ready")
            client.get("/api/v1/health/live")
        assert 429 in statuses, statuses
        return client.get("/metrics").text


# ---- the checks -------------------------------------------------------------------------------


def test_alerts_and_panels_are_the_documented_ones() -> None:
    manifests = rendered()
    assert set(alert_expressions(manifests)) == {
        "MoorageErrorBudgetBurnFast",
        "MoorageErrorBudgetBurnSlow",
        "MoorageLatencyBudgetBurnFast",
        "MoorageLatencyBudgetBurnSlow",
        "MoorageReadinessFlapping",
        "MoorageDatabasePoolSaturated",
        "MoorageRateLimitSurge",
    }
    board = dashboard(manifests)
    assert [p["title"] for p in board["panels"]] == [
        "Request rate by route",
        "Error ratio (5xx) and rate-limited ratio (429)",
        "p50 latency by route",
        "p95 latency by route",
        "p99 latency by route",
        "Database pool use",
        "In-flight requests",
        "Pod restarts",
    ]
    config_map = find(manifests, "ConfigMap", "demo-moorage-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert not [
        m for m in render() if m["kind"] == "PrometheusRule" or m["metadata"]["name"].endswith("-dashboard")
    ]


def problems_of(
    named: dict[str, str], scrape: dict[str, dict[str, set[str]]]
) -> tuple[list[str], dict[str, set[str]]]:
    """What is wrong with these expressions against this scrape; and where each metric is used."""
    results = dict(zip(named, parse_promql(list(named.values())), strict=True))
    problems: list[str] = []
    used: dict[str, set[str]] = defaultdict(set)
    for where, result in results.items():
        if result.get("error"):
            problems.append(f"{where}: {result['error']}")
            continue
        if not result["metrics"]:
            problems.append(f"{where} selects no metric by name")
        for metric in result["metrics"]:
            used[metric].add(where)
            if metric not in FOREIGN_SERIES and metric not in scrape:
                problems.append(f"{where}: {metric} is not exported by the service")
        for m in result["matchers"]:
            metric, label = m["metric"], m["label"]
            if metric in FOREIGN_SERIES or label in TARGET_LABELS:
                continue
            seen = scrape.get(metric, {})
            if label not in seen:
                problems.append(f"{where}: {metric} has no label {label}")
            # Route templates and bucket bounds are fixed by the code; statuses depend on the traffic.
            elif m["type"] == "=" and label in {"route", "le"} and m["value"] not in seen[label]:
                problems.append(
                    f"{where}: {metric}{{{label}={m['value']!r}}} never appears ({sorted(seen[label])})"
                )
    return problems, used


def test_every_expression_parses_and_reads_exported_series(scrape: dict[str, dict[str, set[str]]]) -> None:
    manifests = rendered()
    named = {f"alert {k}": v for k, v in alert_expressions(manifests).items()}
    for title, exprs in panel_expressions(dashboard(manifests)).items():
        for i, expr in enumerate(exprs):
            named[f"panel {title} #{i}"] = grafana_to_promql(expr)
    problems, used = problems_of(named, scrape)
    assert not problems, "\n".join(problems)
    assert set(used) - set(FOREIGN_SERIES) <= set(scrape)
    print("series used:", {metric: sorted(places) for metric, places in sorted(used.items())})


def test_wrong_names_are_caught(scrape: dict[str, dict[str, set[str]]]) -> None:
    """The check itself: a misspelt metric, a label the metric lacks and an unknown route all fail it."""
    wrong = {
        "metric": "sum(rate(http_request_total[5m]))",
        "label": 'sum(moorage_db_pool_size{route="/api/v1/items"})',
        "route": 'sum(rate(http_requests_total{route="/api/v1/item"}[5m]))',
        "bucket": 'sum(rate(http_request_duration_seconds_bucket{le="0.3"}[5m]))',
    }
    problems, _ = problems_of(wrong, scrape)
    assert len(problems) == 4, problems
    assert all(any(p.startswith(where) for p in problems) for where in wrong), problems


def test_a_broken_expression_is_caught() -> None:
    """The checker itself: a syntax error and an unknown function are reported, not passed."""
    results = parse_promql(["sum(rate(http_requests_total[5m])", "no_such_function(up)", "up"])
    assert results[0]["error"] and results[1]["error"]
    assert not results[2].get("error") and results[2]["metrics"] == ["up"]
