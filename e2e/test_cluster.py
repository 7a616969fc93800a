"""The kind cluster from `make cluster` works: nodes, DNS, our images on every node, privileges,
metrics, storage, pod traffic across nodes, NetworkPolicy, the ingress controller, reuse.

Run: make cluster && uv run --frozen pytest e2e/test_cluster.py
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.images import OPERATOR_IMAGE, SERVICE_IMAGE
from tests.kube import (
    CLUSTER_NAME,
    apply,
    cluster_facts,
    dump_namespace,
    kubectl,
    kubectl_json,
    kubectl_result,
    wait_for,
)
from tests.pod_specs import RESTRICTED
from tests.tools import find_tool

pytestmark = pytest.mark.cluster

REPO_ROOT = Path(__file__).resolve().parents[1]

# Liveness never touches the database, but the settings require both variables.
SERVICE_ENV = [
    {"name": "DATABASE_URL", "value": "postgresql://moorage:unused@127.0.0.1:5432/moorage"},
    {"name": "SECRET_KEY", "value": "e2e-secret-key-that-is-long-enough-0123456789"},
    {"name": "ENVIRONMENT", "value": "development"},
]
TMP = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - the only writable path in our image
WARM_RECREATE_BUDGET_SECONDS = 180
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
# Runs on the control plane too (kind taints it when there are workers).
ANY_NODE = [{"key": CONTROL_PLANE_LABEL, "operator": "Exists", "effect": "NoSchedule"}]

# A tiny HTTP server in our image answering with the peer address it saw.
ECHO_SERVER = (
    "import http.server, json\n"
    "class Echo(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = json.dumps({'peer': self.client_address[0],\n"
    "                           'forwarded_for': self.headers.get('X-Forwarded-For')}).encode()\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "http.server.ThreadingHTTPServer(('', 8080), Echo).serve_forever()\n"
)


def http_client_code(url: str, until: str, attempts: int = 30) -> str:
    """Python for a pod: GET url until `until` ("ok" or "blocked") holds for 3 tries running.

    Each try prints one JSON line: {"ok": true, "body": ...} or {"ok": false, "error": kind}.
    A try is "blocked" when the connection times out (NetworkPolicy drops packets).
    """
    return (
        "import json, socket, time, urllib.request, urllib.error\n"
        "streak = 0\n"
        f"for _ in range({attempts}):\n"
        "    try:\n"
        f"        r = urllib.request.urlopen({url!r}, timeout=3)\n"
        "        line = {'ok': True, 'body': json.loads(r.read())}\n"
        "    except (socket.timeout, TimeoutError) as e:\n"
        "        line = {'ok': False, 'error': 'timeout'}\n"
        "    except urllib.error.URLError as e:\n"
        "        timeout = isinstance(e.reason, (socket.timeout, TimeoutError))\n"
        "        line = {'ok': False, 'error': 'timeout' if timeout else repr(e.reason)}\n"
        "    print(json.dumps(line), flush=True)\n"
        f"    hit = line['ok'] if {until!r} == 'ok' else line.get('error') == 'timeout'\n"
        "    streak = streak + 1 if hit else 0\n"
        "    if streak == 3:\n"
        "        break\n"
        "    time.sleep(1)\n"
    )


def python_pod(name: str, code: str, **spec: Any) -> dict[str, Any]:
    """A run-once pod executing `python -c code` in our service image."""
    container: dict[str, Any] = {
        "name": "main",
        "image": SERVICE_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-c", code],
        "securityContext": spec.pop("securityContext", RESTRICTED),
        "volumeMounts": [dict(TMP)],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            **spec,
        },
    }


def wait_pod_succeeded(namespace: str, name: str, timeout: float = 180) -> str:
    """Wait until the pod has run to completion; return its log. Fails fast if it failed."""

    def phase() -> str | None:
        pod = kubectl_json("-n", namespace, "get", "pod", name)
        current = pod["status"].get("phase")
        if current == "Failed":
            log = kubectl_result("-n", namespace, "logs", name).stdout
            pytest.fail(f"pod {name} failed:\n{log}")
        return "done" if current == "Succeeded" else None

    wait_for(f"pod {namespace}/{name} to succeed", phase, timeout)
    return kubectl("-n", namespace, "logs", name)


def node_names() -> list[str]:
    return sorted(n["metadata"]["name"] for n in kubectl_json("get", "nodes")["items"])


def two_nodes() -> tuple[str, str]:
    """Two distinct nodes, workers first."""
    nodes = kubectl_json("get", "nodes")["items"]
    ordered = sorted(
        nodes, key=lambda n: (CONTROL_PLANE_LABEL in n["metadata"]["labels"], n["metadata"]["name"])
    )
    names = [n["metadata"]["name"] for n in ordered]
    assert len(names) >= 2, f"cross-node tests need two nodes, the cluster has {names}"
    return names[0], names[1]


def pin(pod: dict[str, Any], node: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the pod on that node (the scheduler is bypassed: nodeName), with these labels."""
    pod["spec"]["nodeName"] = node
    pod["spec"]["tolerations"] = ANY_NODE
    if labels:
        pod["metadata"]["labels"] = labels
    return pod


def start_echo_server(namespace: str, node: str, labels: dict[str, str]) -> str:
    """An echo server pod on `node` behind Service "echo"; returns the pod's IP once it is Ready."""
    pod = pin(python_pod("echo", ECHO_SERVER), node, labels)
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": 8080, "name": "http"}]
    pod["spec"]["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "echo"},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http", "name": "http"}]},
    }
    apply([pod, service], namespace)
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/echo", "--timeout=120s", timeout=150)
    ip: str = kubectl_json("-n", namespace, "get", "pod", "echo")["status"]["podIP"]
    return ip


def run_client(namespace: str, name: str, node: str, url: str, until: str, **labels: str) -> list[Any]:
    """Run a client pod on `node` (see http_client_code); return its JSON lines."""
    pod = pin(python_pod(name, http_client_code(url, until)), node, labels or None)
    apply(pod, namespace)
    log = wait_pod_succeeded(namespace, name, timeout=240)
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_every_node_is_ready() -> None:
    def all_ready() -> list[str] | None:
        nodes = kubectl_json("get", "nodes")["items"]
        names = []
        for node in nodes:
            conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
            if conditions.get("Ready") != "True":
                return None
            names.append(node["metadata"]["name"])
        return names or None

    names = wait_for("every node Ready", all_ready, 180)
    print(f"ready nodes: {names}")
    workers = int(cluster_facts()["workers"])
    assert len(names) == 1 + workers, f"want 1 control plane + {workers} workers, have {names}"


def test_our_images_are_on_every_node() -> None:
    """kind load puts our images on every node; the hermetic node image preloads the rest."""
    wanted = {docker_ref(SERVICE_IMAGE), docker_ref(OPERATOR_IMAGE)}
    if cluster_facts()["path"] == "hermetic":
        traefik = kubectl_json("-n", "traefik", "get", "deploy", "traefik")
        wanted.add(traefik["spec"]["template"]["spec"]["containers"][0]["image"])
        wanted.add("moorage.local/postgres:15-bookworm")
    docker = find_tool("docker")
    names = node_names()
    for node in names:
        cmd = [docker, "exec", node, "crictl", "images", "-o", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        tags = {tag for image in json.loads(proc.stdout)["images"] for tag in image.get("repoTags") or []}
        missing = wanted - tags
        assert not missing, f"node {node} lacks {sorted(missing)}"
    print(f"{sorted(wanted)} on each of {names}")


def docker_ref(image: str) -> str:
    """The name containerd gives an image loaded from Docker (docker.io/... for short names)."""
    first = image.split("/", 1)[0]
    if "/" not in image:
        return f"docker.io/library/{image}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{image}"
    return image


def test_a_pod_reaches_a_pod_on_another_node(namespace: str) -> None:
    server_node, client_node = two_nodes()
    server_ip = start_echo_server(namespace, server_node, {"app": "echo"})
    lines = run_client(namespace, "client", client_node, f"http://{server_ip}:8080/", "ok")
    assert lines and lines[-1]["ok"], lines
    client_ip = kubectl_json("-n", namespace, "get", "pod", "client")["status"]["podIP"]
    # no SNAT between pods: NetworkPolicy and access logs see the real peer
    assert lines[-1]["body"]["peer"] == client_ip, (lines[-1], client_ip)
    print(f"{client_node} ({client_ip}) -> {server_node} ({server_ip}): {lines[-1]}")


def test_a_network_policy_denies_and_allows(namespace: str) -> None:
    server_node, client_node = two_nodes()
    start_echo_server(namespace, server_node, {"app": "echo"})
    url = f"http://echo.{namespace}.svc/"
    before = run_client(namespace, "before", client_node, url, "ok")
    assert before[-1]["ok"], f"without a policy the server must answer: {before}"
    apply(
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "deny-all"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            },
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "friends-only"},
                "spec": {
                    "podSelector": {"matchLabels": {"app": "echo"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [{"podSelector": {"matchLabels": {"role": "friend"}}}],
                            "ports": [{"port": 8080}],
                        }
                    ],
                },
            },
        ],
        namespace,
    )
    stranger = run_client(namespace, "stranger", client_node, url, "blocked")
    assert [line.get("error") for line in stranger[-3:]] == ["timeout"] * 3, stranger
    # the same path still carries allowed traffic: the policy, not a broken network, blocked it
    friend = run_client(namespace, "friend", client_node, url, "ok", role="friend")
    assert friend[-1]["ok"], friend
    # and on the server's own node
    neighbour = run_client(namespace, "neighbour", server_node, url, "blocked")
    assert [line.get("error") for line in neighbour[-3:]] == ["timeout"] * 3, neighbour
    print(f"before: {before[-1]}; stranger: {stranger[-3:]}; friend: {friend[-1]}")
    print(f"neighbour on the server's node: {neighbour[-3:]}")


def host_get(url: str, host: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 - our loopback URL
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our loopback URL
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:  # not listening yet
        return 0, None


def test_the_ingress_controller_serves_an_ingress_and_an_httproute_from_the_host(namespace: str) -> None:
    facts = cluster_facts()
    node, _ = two_nodes()
    start_echo_server(namespace, node, {"app": "echo"})
    ingress_host, route_host = f"{namespace}.ingress.test", f"{namespace}.route.test"
    backend = {"service": {"name": "echo", "port": {"number": 80}}}
    apply(
        [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "echo"},
                "spec": {
                    "ingressClassName": facts["ingressClass"],
                    "rules": [
                        {
                            "host": ingress_host,
                            "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                        }
                    ],
                },
            },
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": "echo"},
                "spec": {
                    "parentRefs": [
                        {
                            "name": facts["gatewayName"],
                            "namespace": facts["gatewayNamespace"],
                            "sectionName": facts["gatewayListener"],
                        }
                    ],
                    "hostnames": [route_host],
                    "rules": [{"backendRefs": [{"name": "echo", "port": 80}]}],
                },
            },
        ],
        namespace,
    )
    url = facts["ingressURL"] + "/"
    for host in (ingress_host, route_host):
        status, body = wait_for(f"{host} through {url}", functools.partial(answered, url, host), 90, 1)
        print(f"{host} via {url}: {status} {body}")
        assert body["forwarded_for"], body  # Traefik names the client
    traefik_ips = {p["status"].get("podIP") for p in kubectl_json("-n", "traefik", "get", "pods")["items"]}
    assert body["peer"] in traefik_ips, (body, traefik_ips)
    # an unknown host is Traefik's own 404, not some other listener
    assert host_get(url, f"nobody.{namespace}.test")[0] == 404


def answered(url: str, host: str) -> tuple[int, Any] | None:
    answer = host_get(url, host)
    return answer if answer[0] == 200 else None


def cluster_env() -> dict[str, str]:
    """The environment that makes cluster/up.sh want this very cluster (name, workers, ingress)."""
    facts = cluster_facts()
    address, port = facts["ingressURL"].removeprefix("http://").rsplit(":", 1)
    return {
        **os.environ,
        "MOORAGE_CLUSTER_NAME": CLUSTER_NAME,
        "MOORAGE_WORKERS": facts["workers"],
        "MOORAGE_INGRESS_ADDRESS": address,
        "MOORAGE_INGRESS_PORT": port,
    }


def up_check(**env: str) -> str:
    """cluster/up.sh --check: "reuse", or why the cluster would be re-created."""
    proc = subprocess.run(
        [str(REPO_ROOT / "cluster" / "up.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**cluster_env(), **env},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_up_reuses_a_cluster_of_the_same_shape_only() -> None:
    env = cluster_env()
    workers = int(env["MOORAGE_WORKERS"])
    assert up_check() == "reuse"
    other = up_check(MOORAGE_WORKERS=str(workers + 1))
    assert other == f"re-create: it has {workers + 1} nodes, want {workers + 2}", other
    # same node count, another config (here: another ingress port)
    moved = up_check(MOORAGE_INGRESS_PORT=str(int(env["MOORAGE_INGRESS_PORT"]) + 1))
    assert moved.startswith("re-create: its config differs"), moved


def test_coredns_resolves_a_service_name(namespace: str) -> None:
    apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "dns-target"},
            "spec": {"selector": {"app": "nothing"}, "ports": [{"port": 80}]},
        },
        namespace,
    )
    cluster_ip = kubectl_json("-n", namespace, "get", "svc", "dns-target")["spec"]["clusterIP"]
    # retry inside the pod: CoreDNS picks up new Services within seconds
    code = (
        "import socket, time\n"
        "for _ in range(30):\n"
        "    try:\n"
        f"        print(socket.gethostbyname('dns-target.{namespace}.svc.cluster.local')); break\n"
        "    except OSError as e:\n"
        "        print('retry', e, flush=True); time.sleep(2)\n"
        "else:\n"
        "    raise SystemExit(1)\n"
        "print(socket.gethostbyname('dns-target'))\n"
    )
    apply(python_pod("resolver", code), namespace)
    log = wait_pod_succeeded(namespace, "resolver")
    assert log.strip().splitlines()[-2:] == [cluster_ip, cluster_ip], log


def test_service_image_answers_liveness_through_a_service(namespace: str) -> None:
    labels = {"app": "moorage-e2e"}
    apply(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "moorage"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "moorage",
                                    "image": SERVICE_IMAGE,
                                    "imagePullPolicy": "IfNotPresent",
                                    "env": SERVICE_ENV,
                                    "ports": [{"containerPort": 8000, "name": "http"}],
                                    "securityContext": RESTRICTED,
                                    "volumeMounts": [dict(TMP)],
                                    "readinessProbe": {
                                        "httpGet": {"path": "/api/v1/health/live", "port": "http"},
                                        "periodSeconds": 2,
                                    },
                                }
                            ],
                            "volumes": [{"name": "tmp", "emptyDir": {}}],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "moorage"},
                "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
            },
        ],
        namespace,
    )
    kubectl("-n", namespace, "rollout", "status", "deploy/moorage", "--timeout=180s", timeout=200)
    code = (
        "import json, time, urllib.request\n"
        "for _ in range(30):\n"
        "    try:\n"
        f"        url = 'http://moorage.{namespace}.svc/api/v1/health/live'\n"
        "        r = urllib.request.urlopen(url, timeout=5)\n"
        "        print(json.dumps({'status': r.status, 'body': json.loads(r.read())})); break\n"
        "    except OSError as e:\n"
        "        print('retry', e, flush=True); time.sleep(2)\n"
        "else:\n"
        "    raise SystemExit(1)\n"
    )
    apply(python_pod("client", code), namespace)
    log = wait_pod_succeeded(namespace, "client")
    answer = json.loads(log.strip().splitlines()[-1])
    assert answer == {"status": 200, "body": {"status": "ok"}}, log


def test_privileged_and_host_network_pods_run(namespace: str) -> None:
    privileged = python_pod(
        "privileged",
        # a privileged container sees the node's devices and may write sysctls
        "import os; print(len(os.listdir('/dev'))); open('/proc/sys/net/ipv4/ip_forward').read()",
        securityContext={"privileged": True, "runAsUser": 0},
    )
    host_network = python_pod(
        "host-network",
        "import socket; print(socket.gethostname())",
        hostNetwork=True,
    )
    apply([privileged, host_network], namespace)
    wait_pod_succeeded(namespace, "privileged")
    hostname = wait_pod_succeeded(namespace, "host-network").strip()
    pod = kubectl_json("-n", namespace, "get", "pod", "host-network")
    node = kubectl_json("get", "node", pod["spec"]["nodeName"])
    node_ips = {a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"}
    assert pod["status"]["podIP"] in node_ips, (pod["status"]["podIP"], node_ips)
    assert hostname == pod["spec"]["nodeName"]


def test_kubectl_top_pods_returns_figures() -> None:
    figures = re.compile(r"^\S+\s+\d+m\s+\d+Mi\s*$", re.MULTILINE)
    last: list[str] = []

    def top() -> str | None:
        proc = kubectl_result("top", "pods", "-n", "kube-system")
        last[:] = [proc.stdout, proc.stderr]
        return proc.stdout if proc.returncode == 0 and figures.search(proc.stdout) else None

    try:
        out = wait_for("kubectl top pods to report figures", top, 240, 5)
    except AssertionError:
        print("last kubectl top output:", *last, sep="\n")
        for args in (
            ("get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "yaml"),
            ("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods"),
            ("-n", "kube-system", "logs", "deploy/metrics-server", "--tail=60"),
        ):
            proc = kubectl_result(*args)
            print(f"$ kubectl {' '.join(args)}", proc.stdout, proc.stderr, sep="\n")
        print(dump_namespace("kube-system"))
        raise
    print(out)


def test_a_pvc_binds(namespace: str) -> None:
    apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
        },
        namespace,
    )
    # the default class binds on first use, so a pod writes to the volume
    code = "open('/data/hello', 'w').write('moorage'); print(open('/data/hello').read())"
    writer = python_pod("writer", code)
    writer["spec"]["securityContext"] = {"fsGroup": 10001}
    writer["spec"]["containers"][0]["volumeMounts"].append({"name": "data", "mountPath": "/data"})
    writer["spec"]["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "data"}})
    apply(writer, namespace)
    assert wait_pod_succeeded(namespace, "writer").strip() == "moorage"
    pvc = kubectl_json("-n", namespace, "get", "pvc", "data")
    assert pvc["status"]["phase"] == "Bound"


def test_recreating_the_cluster_warm() -> None:
    """Deletes and re-creates the cluster from the warm cache; `make test` runs it alone, before the
    tests that use the cluster (the other tests here then check the re-created one)."""
    env = cluster_env()
    started = time.monotonic()
    for script in ("down.sh", "up.sh"):
        proc = subprocess.run(
            [str(REPO_ROOT / "cluster" / script)], capture_output=True, text=True, timeout=900, env=env
        )
        assert proc.returncode == 0, f"cluster/{script} failed:\n{proc.stdout}\n{proc.stderr}"
    seconds = time.monotonic() - started
    # A figure, not an assert: the budget is for a quiet machine, and `make test` runs this beside
    # the tests that need no cluster.
    print(f"warm delete + re-create of the cluster: {seconds:.0f}s (budget {WARM_RECREATE_BUDGET_SECONDS}s)")
    print(proc.stderr)
    kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=60s", timeout=90)
    assert up_check() == "reuse", "the re-created cluster is not the one cluster/up.sh wants"
