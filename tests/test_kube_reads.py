"""tests/kube_reads.py: which gets skip the kubectl process, and that their answers are kubectl's."""

from __future__ import annotations

import json
from typing import Any

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
