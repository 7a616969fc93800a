"""tests/kube_reads.py: which gets skip the kubectl process, and that their answers are kubectl's."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import kube, kube_reads


@pytest.mark.parametrize(
    ("args", "path", "query"),
    [
        (("get", "nodes"), "/api/v1/nodes", {}),
        (("-n", "ns", "get", "pods", "-l", "a=b"), "/api/v1/namespaces/ns/pods", {"labelSelector": "a=b"}),
        (("get", "-n", "ns", "deploy", "web"), "/apis/apps/v1/namespaces/ns/deployments/web", {}),
        (
            ("--namespace=ns", "get", "rs", "--selector=x"),
            "/apis/apps/v1/namespaces/ns/replicasets",
            {"labelSelector": "x"},
        ),
        (
            ("-n", "ns", "get", "events", "--field-selector", "involvedObject.name=a"),
            "/api/v1/namespaces/ns/events",
            {"fieldSelector": "involvedObject.name=a"},
        ),
        (
            ("get", "appinstance", "app"),
            "/apis/apps.moorage.dev/v1alpha1/namespaces/default/appinstances/app",
            {},
        ),
        (("get", "node", "n1"), "/api/v1/nodes/n1", {}),
    ],
)
def test_a_plain_get_becomes_one_request(args: tuple[str, ...], path: str, query: dict[str, str]) -> None:
    assert kube_reads.parse_get(args) == (path, query)


@pytest.mark.parametrize(
    "args",
    [
        ("get", "all,secrets", "-l", "x"),  # several kinds
        ("get", "pods", "--sort-by=.metadata.name"),  # a flag it does not know
        ("get", "helmreleases.helm.toolkit.fluxcd.io", "r"),  # a resource not in READABLE
        ("get", "pods", "a", "-l", "x"),  # kubectl refuses a name with a selector
        ("describe", "pods"),
        ("get",),
    ],
)
def test_anything_else_is_left_to_kubectl(args: tuple[str, ...]) -> None:
    assert kube_reads.parse_get(args) is None


def test_a_list_is_shaped_as_kubectl_prints_it() -> None:
    body = {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "9"},
        "items": [{"metadata": {}}],
    }
    assert kube_reads.as_kubectl_prints(body) == {
        "apiVersion": "v1",
        "kind": "List",
        "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {}}],
        "metadata": {"resourceVersion": ""},
    }
    single = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"}}
    assert kube_reads.as_kubectl_prints(single) is single


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [
        (429, "1", 1.0),
        (503, "2", 2.0),
        (429, "3600", kube_reads.MAX_RETRY_AFTER),
        (429, None, None),  # client-go waits only when told how long
        (429, "soon", None),
        (404, "1", None),
        (200, "1", None),
    ],
)
def test_a_busy_answer_is_asked_again_as_client_go_does(
    status: int, header: str | None, wait: float | None
) -> None:
    assert kube_reads.retry_after(status, header) == wait


class _PlainReader(kube_reads.Reader):
    """A Reader on a plain-HTTP server, for the retry loop without certificates."""

    def __init__(self, server: str) -> None:
        self._server = server

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self._server, timeout=5)


@pytest.fixture
def busy_then_ready() -> Iterator[tuple[str, list[str]]]:
    """A server that answers 429 "storage is (re)initializing" twice, then 200; and the paths it served."""
    served: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.append(self.path)
            busy = len(served) <= 2
            body = b'{"reason":"TooManyRequests"}' if busy else b'{"kind":"PodList","items":[]}'
            self.send_response(429 if busy else 200)
            if busy:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def test_the_reader_waits_out_a_busy_api_server(busy_then_ready: tuple[str, list[str]]) -> None:
    url, served = busy_then_ready
    status, body = _PlainReader(url).get("/api/v1/pods", {"labelSelector": "a=b"})
    assert (status, json.loads(body)["kind"]) == (200, "PodList")
    assert served == ["/api/v1/pods?labelSelector=a%3Db"] * 3


@pytest.mark.cluster
@pytest.mark.parametrize(
    "args",
    [
        ("get", "nodes"),
        ("-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns"),
        ("-n", "kube-public", "get", "configmap", "moorage-cluster"),
        ("get", "-n", "kube-system", "deployment", "coredns"),
        ("-n", "kube-system", "get", "rs", "-l", "k8s-app=kube-dns"),
        ("-n", "default", "get", "sa", "default"),
    ],
)
def test_the_api_server_answers_what_kubectl_prints(args: tuple[str, ...]) -> None:
    assert kube_reads.parse_get(args) is not None
    fast = kube.kubectl_json(*args)
    printed = json.loads(kube.kubectl(*args, "-o", "json"))

    def identity(obj: dict[str, Any]) -> object:
        if obj.get("kind") == "List":
            return sorted((i["kind"], i["apiVersion"], i["metadata"]["name"]) for i in obj["items"])
        return (obj["kind"], obj["apiVersion"], obj["metadata"]["name"], sorted(obj))

    assert identity(fast) == identity(printed)


@pytest.mark.cluster
def test_a_missing_object_fails_like_kubectl() -> None:
    with pytest.raises(AssertionError, match="HTTP 404"):
        kube.kubectl_json("-n", "default", "get", "pod", "no-such-pod")
