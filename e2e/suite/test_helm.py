"""The app chart as a platform team meets it: install, CRUD, traces and logs, upgrade under load,
a database outage and the HPA. One release is shared by the module's tests, in file order.

Run: make cluster && uv run --frozen pytest -m cluster e2e/suite/test_helm.py
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e.suite.api import Api, service_url
from e2e.suite.conftest import Figures, module_namespace
from e2e.suite.load import Load
from e2e.suite.otlp import received_spans, start_otlp_receiver
from e2e.suite.script_pods import start_toolbox
from tests.charts.helm import APP_CHART, helm_on_cluster, install_release, kind_values_files, values_file
from tests.images import split_image
from tests.kube import (
    delete_namespace,
    events,
    kubectl,
    kubectl_json,
    kubectl_result,
    pod_ready,
    pods,
    restarts,
    timestamp,
    wait_for,
)

pytestmark = pytest.mark.cluster

RELEASE = "moorage"  # fullname "moorage": Deployment, Service, StatefulSet moorage-postgresql
SERVER = "app.kubernetes.io/instance=moorage,app.kubernetes.io/component=server"
DATABASE = "app.kubernetes.io/instance=moorage,app.kubernetes.io/component=database"


@dataclass
class Release:
    namespace: str
    api: Api
    files: list[Path]

    def upgrade(self, *extra: Path, set_values: dict[str, str] | None = None) -> None:
        install_release(RELEASE, APP_CHART, self.namespace, [*self.files, *extra], set_values)
        self.files += list(extra)

    def server_pods(self) -> list[dict[str, Any]]:
        return pods(self.namespace, SERVER)


@pytest.fixture(scope="module")
def release(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    namespace = module_namespace(request, "helm")
    start_toolbox(namespace)
    otlp = start_otlp_receiver(namespace)
    e2e_values = {
        "replicaCount": 2,
        "config": {
            "logFormat": "json",
            "rateLimit": {"enabled": False},  # the load comes from one pod: one client
            "otel": {"endpoint": otlp, "tracesSamplerArg": "1.0"},
        },
    }
    tmp = tmp_path_factory.mktemp("helm")
    rel = Release(namespace, Api(namespace, service_url(RELEASE, namespace)), [])
    rel.files = [*kind_values_files(), values_file(tmp, "e2e", e2e_values)]
    rel.upgrade()
    rel.api.wait_serving()
    yield rel
    helm_on_cluster("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m", check=False)
    delete_namespace(namespace)


def test_install_serves_crud_traces_and_logs(release: Release) -> None:
    ns = release.namespace
    kubectl("-n", ns, "rollout", "status", f"deploy/{RELEASE}", "--timeout=120s", timeout=150)
    tested = helm_on_cluster("test", RELEASE, "-n", ns, "--timeout", "3m", timeout=240)
    assert "Succeeded" in tested.stdout, tested.stdout

    api = release.api
    token = api.register_and_login(f"crud-{uuid.uuid4().hex[:8]}@moorage.dev")
    me = api.request("GET", "/api/v1/users/me", token=token)
    assert me.status == 200, me
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    created = api.request(
        "POST",
        "/api/v1/items",
        {"title": "first", "description": "e2e"},
        token=token,
        headers={"traceparent": traceparent, "X-Request-ID": "e2e-crud-1"},
    )
    assert created.status == 201, created
    assert created.headers.get("x-request-id", created.headers.get("X-Request-ID")) == "e2e-crud-1"
    item_id = created.body["id"]
    assert api.request("GET", f"/api/v1/items/{item_id}", token=token).body["title"] == "first"
    patched = api.request("PATCH", f"/api/v1/items/{item_id}", {"title": "renamed"}, token=token)
    assert patched.status == 200 and patched.body["title"] == "renamed", patched
    listed = api.request("GET", "/api/v1/items?limit=10&offset=0", token=token)
    assert listed.status == 200 and listed.body["total"] >= 1, listed
    assert any(i["id"] == item_id for i in listed.body["items"])
    assert api.request("DELETE", f"/api/v1/items/{item_id}", token=token).status == 204
    assert api.request("GET", f"/api/v1/items/{item_id}", token=token).status == 404

    # The span of the traced request reaches the in-cluster OTLP receiver (batch export: seconds).
    def traced() -> list[dict[str, Any]] | None:
        spans = [s for s in received_spans(ns) if s["trace_id"] == trace_id]
        return spans or None

    spans = wait_for(f"spans of trace {trace_id} at the receiver", traced, 60, 2)
    print(f"spans received for the traced request: {[s['name'] for s in spans]}")

    # ...and the service's JSON log line for that request carries the same trace id.
    def logged() -> dict[str, Any] | None:
        for pod in release.server_pods():
            log = kubectl_result("-n", ns, "logs", pod["metadata"]["name"], "-c", "moorage").stdout
            for line in log.splitlines():
                if trace_id in line and line.startswith("{"):
                    entry: dict[str, Any] = json.loads(line)
                    if entry.get("trace_id") == trace_id:
                        return entry
        return None

    entry = wait_for("a log line with the trace id", logged, 30, 2)
    assert entry["request_id"] == "e2e-crud-1", entry
    print(f"log line: {entry}")


def test_helm_upgrade_under_load_migrates_first_and_drops_nothing(
    release: Release, service_image_v2: str, figures: Figures
) -> None:
    ns = release.namespace
    repository, tag = split_image(service_image_v2)
    load = Load(ns, release.api.base).start()
    wait_for("load to flow", lambda: load.progress()["requests"] >= 40, 60, 2)
    release.upgrade(set_values={"image.repository": repository, "image.tag": tag})
    kubectl("-n", ns, "rollout", "status", f"deploy/{RELEASE}", "--timeout=180s", timeout=200)
    time.sleep(5)  # traffic on the new pods only
    result = load.stop()
    figures.add("upgrade", result)

    # Every server pod runs the new tag.
    images = {p["spec"]["containers"][0]["image"] for p in release.server_pods()}
    assert images == {service_image_v2}, images
    # The pre-upgrade migration Job completed before the new ReplicaSet (and so its pods) existed.
    job = f"{RELEASE}-migrate"
    completed = [
        e
        for e in events(ns)
        if e["involvedObject"].get("kind") == "Job"
        and e["involvedObject"]["name"] == job
        and e["reason"] == "Completed"
    ]
    assert completed, f"no Completed event for Job {job}"
    job_done = max(timestamp(e.get("lastTimestamp") or e["eventTime"]) for e in completed)
    replica_sets = kubectl_json("-n", ns, "get", "rs", "-l", SERVER)["items"]
    new_rs = [
        rs
        for rs in replica_sets
        if rs["spec"]["template"]["spec"]["containers"][0]["image"] == service_image_v2
    ]
    assert len(new_rs) == 1, [rs["metadata"]["name"] for rs in replica_sets]
    rs_created = timestamp(new_rs[0]["metadata"]["creationTimestamp"])
    print(f"migration Job completed at {job_done:.0f}, new ReplicaSet created at {rs_created:.0f}")
    assert job_done <= rs_created
    assert result.requests > 0
    assert result.failures == 0, result.summary


def test_bad_api_input_gets_4xx_envelopes(release: Release) -> None:
    api = release.api
    token = api.register_and_login(f"bad-{uuid.uuid4().hex[:8]}@moorage.dev")
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/items", {"raw": "{not json", "token": token}),
        ("POST", "/api/v1/items", {"raw": '{"title": 5}', "token": token}),
        ("POST", "/api/v1/items", {"raw": "{}", "token": token}),
        ("POST", "/api/v1/items", {"raw": '{"title": "' + "x" * 300 + '"}', "token": token}),
        ("POST", "/api/v1/items", {"raw": '{"title": "nul\\u0000"}', "token": token}),
        ("POST", "/api/v1/items", {"raw": "[1, 2]", "token": token}),
        ("POST", "/api/v1/items", {"raw": "title=x", "content_type": "text/plain", "token": token}),
        ("GET", "/api/v1/items/not-a-uuid", {"token": token}),
        ("GET", "/api/v1/items?limit=-1", {"token": token}),
        ("GET", "/api/v1/items?limit=abc", {"token": token}),
        ("PATCH", f"/api/v1/items/{uuid.uuid4()}", {"raw": '{"title": null}', "token": token}),
        ("POST", "/api/v1/auth/register", {"raw": '{"email": "not-an-email", "password": "x"}'}),
        ("POST", "/api/v1/auth/register", {"raw": "\xff\xfe"}),
        (
            "POST",
            "/api/v1/auth/token",
            {"raw": "username=", "content_type": "application/x-www-form-urlencoded"},
        ),
        ("POST", "/api/v1/auth/refresh", {"raw": '{"refresh_token": ""}'}),
        ("GET", "/api/v1/users/me", {"token": "not.a.jwt"}),
        ("GET", "/api/v1/users/me", {}),
    ]
    for method, path, options in cases:
        answer = api.request(method, path, **options)
        label = f"{method} {path} {options.get('raw', '')[:40]!r}"
        assert 400 <= answer.status < 500, f"{label}: {answer}"
        error = answer.error
        assert {"code", "message", "request_id"} <= set(error), f"{label}: {error}"
        print(f"{label} -> {answer.status} {error['code']}")


def test_database_outage_turns_pods_not_ready_without_restarts(release: Release) -> None:
    ns = release.namespace
    api = release.api
    token = api.register_and_login(f"outage-{uuid.uuid4().hex[:8]}@moorage.dev")
    ids = set()
    for n in range(5):
        created = api.request("POST", "/api/v1/items", {"title": f"kept {n}"}, token=token)
        assert created.status == 201, created
        ids.add(created.body["id"])
    before = {p["metadata"]["name"]: restarts(p) for p in release.server_pods()}
    assert before and all(pod_ready(p) for p in release.server_pods())

    kubectl("-n", ns, "scale", f"statefulset/{RELEASE}-postgresql", "--replicas=0")
    wait_for("the database pod gone", lambda: not pods(ns, DATABASE, terminating=True), 120, 2)
    wait_for(
        "every server pod NotReady",
        lambda: all(not pod_ready(p) for p in release.server_pods()),
        90,
        2,
    )
    # Liveness never touches the database: stay down across several liveness periods.
    time.sleep(35)
    during = {p["metadata"]["name"]: restarts(p) for p in release.server_pods()}
    assert during == before, f"restarts during the outage: {before} -> {during}"

    kubectl("-n", ns, "scale", f"statefulset/{RELEASE}-postgresql", "--replicas=1")
    wait_for(
        "the database Ready",
        lambda: any(pod_ready(p) for p in pods(ns, DATABASE)),
        180,
        1,
    )
    db_ready = time.monotonic()
    wait_for(
        "every server pod Ready again within 30 s",
        lambda: all(pod_ready(p) for p in release.server_pods()),
        30,
        1,
    )
    print(f"server pods Ready {time.monotonic() - db_ready:.0f}s after the database")
    # Every pod had left the Service's endpoints; they reach each node's proxy a moment after Ready.
    api.wait_serving(30)
    print(f"the Service answers {time.monotonic() - db_ready:.0f}s after the database")
    after = {p["metadata"]["name"]: restarts(p) for p in release.server_pods()}
    assert after == before, f"restarts: {before} -> {after}"

    listed = api.request("GET", "/api/v1/items?limit=50", token=token)
    assert listed.status == 200, listed
    assert {i["id"] for i in listed.body["items"]} >= ids
    assert listed.body["total"] == len(ids)


def test_hpa_scales_up_under_load_and_back_down(
    release: Release, tmp_path_factory: pytest.TempPathFactory, figures: Figures
) -> None:
    ns = release.namespace
    quick = {
        "autoscaling": {
            "enabled": True,
            "minReplicas": 1,
            "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 40,
            "targetMemoryUtilizationPercentage": None,
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Pods", "value": 2, "periodSeconds": 15}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": 15,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                },
            },
        },
        "pdb": {"create": False},
    }
    release.upgrade(values_file(tmp_path_factory.mktemp("hpa"), "hpa", quick))

    def replicas() -> tuple[int, int]:
        hpa = kubectl_json("-n", ns, "get", "hpa", RELEASE)
        status = hpa.get("status") or {}
        return int(status.get("currentReplicas", 0)), int(status.get("desiredReplicas", 0))

    wait_for("the HPA at its minimum", lambda: replicas()[0] == 1, 240, 5)
    load = Load(ns, release.api.base, rate=40, mix="me,items-list,items-create").start()
    try:
        peak = wait_for("the HPA to scale up", lambda: replicas()[1] if replicas()[1] > 1 else None, 300, 5)
        wait_for(
            "the Deployment to scale up",
            lambda: len([p for p in release.server_pods() if pod_ready(p)]) > 1,
            180,
            3,
        )
    finally:
        result = load.stop()
        figures.add("hpa", result)
    print(f"scaled up to {peak} replicas under load ({result})")
    wait_for("the HPA to scale back down", lambda: replicas() == (1, 1), 300, 5)
    print(f"HPA back at 1 replica: {kubectl('-n', ns, 'get', 'hpa', RELEASE)}")
    assert result.requests > 0
