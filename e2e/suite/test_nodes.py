"""Nodes go away under load: a drain for an upgrade, then a worker that dies. Three replicas of the app
chart spread over both workers; the load client and PostgreSQL stay on the worker that is not touched.

Needs two workers (make cluster's default). Nothing else may run on the cluster meanwhile: a drain
evicts every pod of the node. Run: uv run --frozen pytest -m cluster e2e/suite/test_nodes.py
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from e2e.suite.api import Api, service_url
from e2e.suite.conftest import Figures, module_namespace
from e2e.suite.load import Load
from e2e.suite.script_pods import start_toolbox
from tests.charts.helm import APP_CHART, helm_on_cluster, install_release, kind_values_files, values_file
from tests.kube import (
    delete_namespace,
    kubectl,
    kubectl_json,
    kubectl_result,
    node_ready,
    pod_ready,
    pods,
    wait_for,
    worker_nodes,
)
from tests.tools import find_tool

pytestmark = pytest.mark.cluster

RELEASE = "moorage"
SERVER = "app.kubernetes.io/instance=moorage,app.kubernetes.io/component=server"
DATABASE = "app.kubernetes.io/instance=moorage,app.kubernetes.io/component=database"
REPLICAS = 3
# Pods of a lost node are evicted this long after the node is marked unreachable (default: 300 s).
EVICT_AFTER_SECONDS = 10
MIX = "live,me,items-list,items-create"


@dataclass
class Spread:
    namespace: str
    api: Api
    database_node: str  # holds PostgreSQL, the toolbox and the load clients; never disturbed
    other_node: str  # the worker that is drained, then stopped

    def server_pods(self) -> list[dict[str, Any]]:
        return pods(self.namespace, SERVER)

    def ready_by_node(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for pod in self.server_pods():
            if pod_ready(pod):
                counts[pod["spec"]["nodeName"]] = counts.get(pod["spec"]["nodeName"], 0) + 1
        return counts

    def load(self) -> Load:
        return Load(self.namespace, self.api.base, mix=MIX, node=self.database_node).start()


@pytest.fixture(scope="module")
def spread(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spread]:
    workers = worker_nodes()
    if len(workers) < 2:
        pytest.fail(
            f"these scenarios need two workers (make cluster with MOORAGE_WORKERS>=2), found {workers}"
        )
    namespace = module_namespace(request, "nodes")
    tolerations = [
        {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": EVICT_AFTER_SECONDS}
        for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
    ]
    values = {
        "replicaCount": REPLICAS,
        "tolerations": tolerations,
        "config": {"logFormat": "json", "rateLimit": {"enabled": False}},  # the load is one client
    }
    files = [*kind_values_files(), values_file(tmp_path_factory.mktemp("nodes"), "nodes", values)]
    install_release(RELEASE, APP_CHART, namespace, files)
    database_node = pods(namespace, DATABASE)[0]["spec"]["nodeName"]
    other_node = next(w for w in workers if w != database_node)
    start_toolbox(namespace, node=database_node)
    print(f"PostgreSQL on {database_node}; drained and stopped: {other_node}")
    yield Spread(namespace, Api(namespace, service_url(RELEASE, namespace)), database_node, other_node)
    kubectl_result("uncordon", other_node)
    helm_on_cluster("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m", check=False)
    delete_namespace(namespace)


def ready_replicas(spread: Spread) -> dict[str, int] | None:
    """Ready replicas by node, once all REPLICAS are Ready (None until then)."""
    counts = spread.ready_by_node()
    return counts if sum(counts.values()) == REPLICAS else None


def all_off(spread: Spread, node: str) -> dict[str, int] | None:
    """Ready replicas by node, once all are Ready and none of them on ``node``."""
    counts = ready_replicas(spread)
    return counts if counts is not None and node not in counts else None


def respread(spread: Spread) -> dict[str, int]:
    """Every replica Ready and both workers holding some. The soft topology spread usually does it at
    once; when not (or after a drain left all on one), a deleted replica's replacement goes to the
    emptier worker."""
    workers = (spread.database_node, spread.other_node)
    for _ in range(4):
        counts = wait_for(f"{REPLICAS} Ready replicas", lambda: ready_replicas(spread), 180)
        empty = [w for w in workers if w not in counts]
        if not empty:
            return counts
        crowded = next(w for w in workers if w not in empty)
        victim = next(p for p in spread.server_pods() if p["spec"]["nodeName"] == crowded)
        print(f"replicas by node {counts}: deleting {victim['metadata']['name']} so one lands on {empty[0]}")
        kubectl("-n", spread.namespace, "delete", "pod", victim["metadata"]["name"], "--wait=false")
        wait_for("the replacement created", lambda: len(spread.server_pods()) == REPLICAS, 60)
    pytest.fail(f"the replicas never spread over {workers}: {spread.ready_by_node()}")


class ReadyWatch:
    """Samples the Ready server pods every second in a thread: the fewest seen is what the PDB allowed."""

    def __init__(self, spread: Spread) -> None:
        self.spread = spread
        self.fewest = REPLICAS
        self.samples = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                ready = sum(self.spread.ready_by_node().values())
                self.fewest = min(self.fewest, ready)
                self.samples += 1
            except AssertionError:  # a kubectl call that failed: no sample
                pass
            self.stopped.wait(1)

    def __enter__(self) -> ReadyWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)


def test_drain_under_load_honours_the_pdb_and_fails_nothing(spread: Spread, figures: Figures) -> None:
    before = respread(spread)
    print(f"Ready replicas by node before the drain: {before}")
    load = spread.load()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 40, 60, 2)
    try:
        with ReadyWatch(spread) as watch:
            drained = kubectl_result(
                "drain",
                spread.other_node,
                "--ignore-daemonsets",
                "--delete-emptydir-data",
                "--timeout=300s",
                timeout=360,
            )
            after = wait_for(
                f"{REPLICAS} Ready replicas, all off {spread.other_node}",
                lambda: all_off(spread, spread.other_node),
                180,
            )
        time.sleep(5)  # traffic on the moved pods only
    finally:
        result = load.stop()
        figures.add("drain", result)
        kubectl_result("uncordon", spread.other_node)
    print(drained.stdout, drained.stderr)
    assert drained.returncode == 0, drained.stderr
    print(
        f"after the drain: {after}; fewest Ready replicas during it: {watch.fewest} "
        f"({watch.samples} samples); {result}"
    )
    # maxUnavailable 1: the drain never took more than one replica away at a time...
    assert watch.samples > 0 and watch.fewest >= REPLICAS - 1, watch.fewest
    # ...and when the node held two, the eviction API made it wait for the first one's replacement.
    if before[spread.other_node] > 1:
        assert "disruption budget" in drained.stderr + drained.stdout, drained.stderr
    assert result.requests > 0
    assert result.failures == 0, result.summary


def docker(*args: str) -> None:
    subprocess.run([find_tool("docker"), *args], check=True, capture_output=True, text=True, timeout=120)


def node_is_ready(name: str) -> bool:
    return node_ready(kubectl_json("get", "node", name))


def test_losing_a_worker_under_load_keeps_serving_and_loses_nothing(spread: Spread, figures: Figures) -> None:
    before = respread(spread)
    print(f"Ready replicas by node before the loss: {before}")

    token = spread.api.register_and_login(f"kept-{uuid.uuid4().hex[:8]}@moorage.dev")
    kept = {
        spread.api.request("POST", "/api/v1/items", {"title": f"kept {n}"}, token=token).body["id"]
        for n in range(5)
    }
    load = spread.load()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 40, 60, 2)
    stopped = False
    all_ready_after: float | None = None
    try:
        at_stop = load.progress()
        docker("stop", spread.other_node)
        stopped = True
        lost_at = time.monotonic()
        wait_for(f"{spread.other_node} NotReady", lambda: not node_is_ready(spread.other_node), 180, 2)
        not_ready_after = time.monotonic() - lost_at
        wait_for(
            f"{REPLICAS} Ready replicas off {spread.other_node}",
            lambda: all_off(spread, spread.other_node),
            300,
            2,
        )
        all_ready_after = time.monotonic() - lost_at
        at_recovery = load.progress()
        time.sleep(5)
    finally:
        result = load.stop()
        recovered = "never" if all_ready_after is None else f"{all_ready_after:.0f}s"
        figures.add(f"node loss (every replica Ready again after {recovered})", result)
        if stopped:
            docker("start", spread.other_node)
    wait_for(f"{spread.other_node} Ready again", lambda: node_is_ready(spread.other_node), 240, 3)
    back_after = time.monotonic() - lost_at
    served = (at_recovery["requests"] - at_recovery["failures"]) - (at_stop["requests"] - at_stop["failures"])
    print(
        f"node loss: {spread.other_node} NotReady after {not_ready_after:.0f}s, every replica Ready again "
        f"{all_ready_after:.0f}s after the stop, node back {back_after:.0f}s after it; "
        f"{served} requests answered meanwhile; {result}"
    )
    assert served > 0, (at_stop, at_recovery)
    assert result.requests > result.failures

    # Nothing acknowledged was lost: the rows written before and every 201 of the load are there.
    listed = spread.api.request("GET", "/api/v1/items?limit=50", token=token)
    assert listed.status == 200, listed
    assert {i["id"] for i in listed.body["items"]} == kept
    created = int(result.summary["statuses"].get("201", 0))
    load_items = spread.api.request("GET", "/api/v1/items?limit=1", token=load.token)
    assert load_items.status == 200, load_items
    print(f"load client: {created} items acknowledged, {load_items.body['total']} in the database")
    assert created > 0
    assert load_items.body["total"] >= created
