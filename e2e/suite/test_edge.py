"""The app behind the cluster's ingress controller (Traefik: an Ingress and a Gateway API HTTPRoute) with
the chart's NetworkPolicy closed to everyone but the controller: what is denied really is, what is
allowed really works, and the service sees each client's own address through the proxy.

Run: uv run --frozen pytest -m cluster e2e/suite/test_edge.py (cluster facts from make cluster).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from e2e.suite.api import Api
from e2e.suite.conftest import Figures, module_namespace
from e2e.suite.load import Load
from e2e.suite.otlp import received_spans, start_otlp_receiver
from e2e.suite.script_pods import script_pod, start_toolbox, try_connect, wait_pod_running
from tests.charts.helm import APP_CHART, helm_on_cluster, install_release, kind_values_files, values_file
from tests.kube import (
    apply,
    cluster_facts,
    delete_namespace,
    kubectl,
    kubectl_json,
    pod_ready,
    pods,
    wait_for,
)

pytestmark = pytest.mark.cluster

RELEASE = "moorage"
SERVER = "app.kubernetes.io/instance=moorage,app.kubernetes.io/component=server"
# The controller's pods (CONTRACTS.md, 9a-cluster): the only peers the policy lets in.
TRAEFIK_NAMESPACE = "traefik"
TRAEFIK_LABELS = {"app.kubernetes.io/name": "traefik"}
SPOOFED = "203.0.113.7"  # what a client claims in X-Forwarded-For; the controller must not pass it on
# One replica, so one in-process limiter sees every request; a small budget over a long window, so
# a burst of BURST requests exceeds it even when a window boundary splits the burst in two.
RATE_LIMIT = 30
WINDOW_SECONDS = 600
BURST = 80
QUIET = 10  # requests of the well-behaved client, well under the limit


@dataclass
class Edge:
    namespace: str
    outside: str  # another namespace: an outsider pod and an unrelated server, no allowed labels
    facts: dict[str, str]
    ingress_host: str
    route_host: str
    otlp: str

    @property
    def controller(self) -> str:
        return self.facts.get("ingressInClusterURL", "http://traefik.traefik.svc")

    def through(self, host: str, pod: str = "toolbox") -> Api:
        """Requests from ``pod`` through the ingress controller, matched by ``host``."""
        return Api(self.namespace, self.controller, pod, headers={"Host": host})

    def server_pod(self) -> dict[str, Any]:
        found = wait_for(
            "a Ready server pod", lambda: [p for p in pods(self.namespace, SERVER) if pod_ready(p)], 120
        )
        return found[0]

    def load(self) -> Load:
        """A steady load through the controller, returned once it flows."""
        # Health checks are exempt from the rate limit: steady traffic through the controller that
        # leaves the limiter to the clients under test.
        headers = {"Host": self.ingress_host}
        load = Load(self.namespace, self.controller, mix="live", headers=headers).start()
        wait_for("load to flow through the controller", lambda: load.progress()["requests"] >= 20, 90, 2)
        return load


def chart_sets_trusted_proxies() -> bool:
    """The chart has 13c's trustedProxies block (FORWARDED_ALLOW_IPS set when its ingress/route is on)."""
    values: dict[str, Any] = yaml.safe_load((APP_CHART / "values.yaml").read_text())
    return "trustedProxies" in values


@pytest.fixture(scope="module")
def edge(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    facts = cluster_facts()
    namespace = module_namespace(request, "edge")
    outside = module_namespace(request, "outside")
    start_toolbox(namespace)
    otlp = start_otlp_receiver(namespace)
    for client in ("client-a", "client-b"):
        start_toolbox(namespace, client)
    start_toolbox(outside, "outsider")
    unrelated = script_pod("unrelated", ["-m", "http.server", "8080", "--directory", "/tmp"])  # noqa: S108 - its emptyDir
    apply(unrelated, outside)
    wait_pod_running(outside, "unrelated")

    ingress_host = f"ingress.{namespace}.test"
    route_host = f"route.{namespace}.test"
    controller_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": TRAEFIK_NAMESPACE}},
        "podSelector": {"matchLabels": TRAEFIK_LABELS},
    }
    values: dict[str, Any] = {
        "replicaCount": 1,
        "config": {
            "logFormat": "json",
            "rateLimit": {"enabled": True, "requests": RATE_LIMIT, "windowSeconds": WINDOW_SECONDS},
            "otel": {"endpoint": otlp, "tracesSamplerArg": "1.0"},
        },
        "networkPolicy": {"enabled": True, "allowExternal": False, "ingressFrom": [controller_peer]},
        "ingress": {
            "enabled": True,
            "className": facts.get("ingressClass", "traefik"),
            "hosts": [{"host": ingress_host, "paths": [{"path": "/", "pathType": "Prefix"}]}],
        },
        "httpRoute": {
            "enabled": True,
            "parentRefs": [
                {
                    "name": facts.get("gatewayName", "moorage"),
                    "namespace": facts.get("gatewayNamespace", "traefik"),
                    "sectionName": facts.get("gatewayListener", "web"),
                }
            ],
            "hostnames": [route_host],
        },
    }
    if not chart_sets_trusted_proxies():
        # Until the chart's trustedProxies values (13c-identity) are merged: the same setting through
        # the chart's extra environment, trusting the pod subnet the controller's pods are in.
        subnet = facts.get("podSubnet", "10.244.0.0/16")
        values["extraEnvVars"] = [{"name": "FORWARDED_ALLOW_IPS", "value": f"127.0.0.1,{subnet}"}]
        print(f"chart without trustedProxies: FORWARDED_ALLOW_IPS=127.0.0.1,{subnet} through extraEnvVars")
    files = [*kind_values_files(), values_file(tmp_path_factory.mktemp("edge"), "edge", values)]
    install_release(RELEASE, APP_CHART, namespace, files)
    yield Edge(namespace, outside, facts, ingress_host, route_host, otlp)
    helm_on_cluster("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m", check=False)
    delete_namespace(namespace)
    delete_namespace(outside)


def test_network_policy_denies_what_it_does_not_allow_under_load(edge: Edge, figures: Figures) -> None:
    ns = edge.namespace
    server = edge.server_pod()
    app_ip = server["status"]["podIP"]
    app_port = int(server["spec"]["containers"][0]["ports"][0]["containerPort"])
    service_ip = kubectl_json("-n", ns, "get", "svc", RELEASE)["spec"]["clusterIP"]
    unrelated_ip = kubectl_json("-n", edge.outside, "get", "pod", "unrelated")["status"]["podIP"]
    load = edge.load()
    try:
        # In: an outsider in another namespace, and even a pod of the app's own namespace without the
        # release's labels, cannot open the app port (the packets are dropped)...
        for pod_ns, pod in ((edge.outside, "outsider"), (ns, "toolbox")):
            assert try_connect(pod_ns, pod, app_ip, app_port)["outcome"] == "timeout"
        assert try_connect(edge.outside, "outsider", service_ip, 80)["outcome"] == "timeout"
        # ...while the outsider's network works (it reaches the unrelated server) and the controller
        # reaches the app: readiness answered through the Ingress.
        assert try_connect(edge.outside, "outsider", unrelated_ip, 8080)["outcome"] == "connected"
        ready = edge.through(edge.ingress_host).request("GET", "/api/v1/health/ready")
        assert ready.status == 200, ready

        # Out: the app pod reaches DNS, PostgreSQL and the OTLP endpoint...
        app = server["metadata"]["name"]
        database = try_connect(ns, app, f"{RELEASE}-postgresql", 5432, container="moorage")
        assert database["address"] and database["outcome"] == "connected", database  # resolved: DNS
        otlp_host = edge.otlp.removeprefix("http://").split(":")[0]
        assert try_connect(ns, app, otlp_host, 4318, container="moorage")["outcome"] == "connected"
        # ...and not the Kubernetes API nor an unrelated pod, which a pod without a policy does reach.
        api_server = try_connect(ns, app, "kubernetes.default.svc", 443, container="moorage")
        assert api_server["outcome"] == "timeout", api_server
        assert try_connect(ns, "toolbox", "kubernetes.default.svc", 443)["outcome"] == "connected"
        assert try_connect(ns, app, unrelated_ip, 8080, container="moorage")["outcome"] == "timeout"

        # The egress to OTLP is real use, not only an open port: a traced request's spans arrive.
        trace_id = uuid.uuid4().hex
        traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
        live = edge.through(edge.ingress_host).request(
            "GET", "/api/v1/users/me", headers={"traceparent": traceparent}
        )
        assert live.status == 401, live
        wait_for(
            f"spans of trace {trace_id} at the receiver",
            lambda: [s for s in received_spans(ns) if s["trace_id"] == trace_id],
            60,
            2,
        )
    finally:
        result = load.stop()
        figures.add("network policy", result)
    assert result.requests > 0
    assert result.failures == 0, result.summary


def crud(call: Any, label: str) -> None:
    """Register, log in and create/read/update/list/delete an item through ``call(method, path, ...)``."""
    email = f"edge-{uuid.uuid4().hex[:8]}@moorage.dev"  # the label has spaces: not part of an address
    password = "edge-password-123"
    status, _ = call("POST", "/api/v1/auth/register", json_body={"email": email, "password": password})
    assert status == 201, status
    status, body = call("POST", "/api/v1/auth/token", form={"username": email, "password": password})
    assert status == 200, (status, body)
    token = body["access_token"]
    status, item = call("POST", "/api/v1/items", json_body={"title": label}, token=token)
    assert status == 201, (status, item)
    path = f"/api/v1/items/{item['id']}"
    status, fetched = call("GET", path, token=token)
    assert status == 200 and (fetched["id"], fetched["title"]) == (item["id"], label), fetched
    status, patched = call("PATCH", path, json_body={"title": f"{label} renamed"}, token=token)
    assert status == 200 and patched["title"] == f"{label} renamed", patched
    status, listed = call("GET", "/api/v1/items?limit=10", token=token)
    assert status == 200 and [i["id"] for i in listed["items"]] == [item["id"]], listed
    assert call("DELETE", path, token=token)[0] == 204
    assert call("GET", path, token=token)[0] == 404
    print(f"CRUD through {label}: register, token, create, get, patch, list, delete, 404 after delete")


def host_caller(base: str, host: str) -> Any:
    """call(method, path, ...) from this machine through the controller's loopback port."""

    def call(
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Host": host, **({"Authorization": f"Bearer {token}"} if token else {})}
        answer = httpx.request(method, base + path, json=json_body, data=form, headers=headers, timeout=30)
        return answer.status_code, (answer.json() if answer.content else None)

    return call


def pod_caller(api: Api) -> Any:
    """call(method, path, ...) from a pod inside the cluster."""

    def call(
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        if form is not None:
            raw = "&".join(f"{k}={v}" for k, v in form.items())
            answer = api.request(method, path, raw=raw, content_type="application/x-www-form-urlencoded")
        else:
            answer = api.request(method, path, json_body, token=token)
        return answer.status, answer.body

    return call


def test_crud_through_the_ingress_and_the_httproute_under_load(edge: Edge, figures: Figures) -> None:
    def route_conditions() -> dict[str, str] | None:
        route = kubectl_json("-n", edge.namespace, "get", "httproute", RELEASE)
        parents = (route.get("status") or {}).get("parents") or []
        found = {c["type"]: c["status"] for p in parents for c in p["conditions"]}
        return found if found.get("Accepted") == "True" and found.get("ResolvedRefs") == "True" else None

    conditions = wait_for("the HTTPRoute accepted by the Gateway", route_conditions, 60, 2)
    print(f"HTTPRoute parent conditions: {conditions}")
    load = edge.load()
    try:
        host_url = edge.facts.get("ingressURL", "http://127.0.0.1:18080")
        crud(host_caller(host_url, edge.ingress_host), f"the Ingress from the host ({host_url})")
        crud(pod_caller(edge.through(edge.route_host)), "the HTTPRoute in the cluster")
        # Routing is by host: a name that neither the Ingress nor the route declares is not served.
        stray = edge.through(f"nobody.{edge.namespace}.test").request("GET", "/api/v1/health/live")
        assert stray.status == 404, stray
    finally:
        result = load.stop()
        figures.add("ingress + route CRUD", result)
    assert result.requests > 0
    assert result.failures == 0, result.summary


def test_rate_limit_and_access_log_see_each_client_behind_the_proxy(edge: Edge, figures: Figures) -> None:
    ns = edge.namespace
    clients = {name: edge.through(edge.route_host, name) for name in ("client-a", "client-b")}
    addresses = {name: kubectl_json("-n", ns, "get", "pod", name)["status"]["podIP"] for name in clients}
    selector = ",".join(f"{k}={v}" for k, v in TRAEFIK_LABELS.items())
    controller_ips = {p["status"]["podIP"] for p in pods(TRAEFIK_NAMESPACE, selector)}
    assert set(addresses.values()).isdisjoint(controller_ips)
    tokens = {
        name: api.register_and_login(f"{name}-{uuid.uuid4().hex[:8]}@moorage.dev")
        for name, api in clients.items()
    }
    load = edge.load()
    statuses: dict[str, dict[int, int]] = {}

    def send(name: str, times: int, headers: dict[str, str]) -> None:
        api = clients[name]
        statuses[name] = api.repeat("GET", "/api/v1/users/me", times, token=tokens[name], headers=headers)

    try:
        # Side by side: the noisy client bursts past the limit while the quiet one keeps calling.
        threads = [
            threading.Thread(target=send, args=("client-a", BURST, {})),
            # The quiet one also claims another address: the controller replaces the header.
            threading.Thread(target=send, args=("client-b", QUIET, {"X-Forwarded-For": SPOOFED})),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=280)
    finally:
        result = load.stop()
        figures.add("rate limit behind the proxy", result)
    print(f"statuses by client ({addresses}): {statuses}")
    assert statuses["client-a"].get(429, 0) > 0 and statuses["client-a"].get(200, 0) > 0, statuses
    assert statuses["client-b"] == {200: QUIET}, statuses
    assert result.failures == 0, result.summary

    # The access log names each client's own address, not the controller's.
    log = kubectl("-n", ns, "logs", edge.server_pod()["metadata"]["name"], "-c", "moorage")
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    me = [
        entry
        for entry in lines
        if entry.get("logger") == "moorage.access" and entry.get("path") == "/api/v1/users/me"
    ]
    by_client: dict[str, dict[int, int]] = {}
    for entry in me:
        counts = by_client.setdefault(str(entry.get("client")), {})
        counts[int(entry["status"])] = counts.get(int(entry["status"]), 0) + 1
    print(f"access log, GET /api/v1/users/me by client: {by_client}")
    assert by_client.get(addresses["client-a"], {}).get(429, 0) == statuses["client-a"][429], by_client
    assert by_client.get(addresses["client-b"], {}).get(200, 0) >= QUIET, by_client
    assert not controller_ips & set(by_client), by_client
    assert SPOOFED not in by_client, by_client
