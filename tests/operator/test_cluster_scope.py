"""The operator chart's default install watches only its own namespace, on the kind cluster.

Installed with nothing but the image values: its ServiceAccount may touch Secrets only in the release
namespace, and an AppInstance there is reconciled while one in another namespace is left alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from moorage_operator import names

from tests.charts.helm import OPERATOR_CHART, helm
from tests.kube import CONTEXT, apply, kubectl, kubectl_json, wait_for

from .cluster import cluster_available, install_crd, instance_manifest

pytestmark = pytest.mark.cluster

MANAGED = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY}"
OPERATOR_IMAGE = os.environ.get("MOORAGE_OPERATOR_IMAGE", "moorage/operator:dev")


@dataclass(frozen=True)
class Installed:
    namespace: str
    elsewhere: str
    release: str

    @property
    def service_account(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.release}-moorage-operator"


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    assert cluster_available(), "the kind cluster is not reachable: run make cluster"
    install_crd()
    suffix = uuid.uuid4().hex[:6]
    inst = Installed(f"t11-scope-{suffix}", f"t11-elsewhere-{suffix}", f"t11op{suffix}")
    repository, _, tag = OPERATOR_IMAGE.rpartition(":")
    kubectl("create", "namespace", inst.elsewhere)
    try:
        helm(
            "install",
            inst.release,
            str(OPERATOR_CHART),
            "--kube-context",
            CONTEXT,
            "--namespace",
            inst.namespace,
            "--create-namespace",
            "--set",
            f"image.repository={repository}",
            "--set",
            f"image.tag={tag}",
            "--wait",
            "--timeout",
            "5m",
            timeout=400,
        )
        yield inst
    finally:
        # Instances carry the finalizer of the operator that handled them: delete them while it runs.
        kubectl(
            "-n", inst.namespace, "delete", "appinstances", "--all", "--timeout=60s", check=False, timeout=90
        )
        helm("uninstall", inst.release, "--kube-context", CONTEXT, "-n", inst.namespace, check=False)
        for ns in (inst.namespace, inst.elsewhere):
            kubectl("delete", "namespace", ns, "--wait=false", check=False)


def can_i(installed: Installed, verb: str, resource: str, namespace: str) -> bool:
    answer = kubectl(
        "auth", "can-i", verb, resource, "-n", namespace, "--as", installed.service_account, check=False
    )
    return answer.strip() == "yes"


def test_its_service_account_reaches_only_the_release_namespace(installed: Installed) -> None:
    assert can_i(installed, "get", "secrets", installed.namespace)
    assert can_i(installed, "create", "deployments.apps", installed.namespace)
    for namespace in (installed.elsewhere, "kube-system", "default"):
        assert not can_i(installed, "get", "secrets", namespace)
        assert not can_i(installed, "create", "deployments.apps", namespace)
        assert not can_i(installed, "create", "jobs.batch", namespace)
    env = kubectl_json(
        "get", "-n", installed.namespace, "deployment", f"{installed.release}-moorage-operator"
    )
    container = env["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MOORAGE_WATCH_NAMESPACES", "value": installed.namespace} in container["env"]


def test_an_instance_elsewhere_is_left_alone(installed: Installed) -> None:
    # No database Secret in either namespace: the watched instance reports Degraded at once.
    apply(instance_manifest(installed.namespace, "here"))
    apply(instance_manifest(installed.elsewhere, "there"))

    def handled() -> bool:
        status = kubectl_json("get", "-n", installed.namespace, "appinstance", "here").get("status") or {}
        return bool(status.get("conditions"))

    wait_for("the watched instance to get conditions", handled, timeout=180)
    # The watched one was handled after both existed, so the operator had every chance to act on both.
    there = kubectl_json("get", "-n", installed.elsewhere, "appinstance", "there")
    assert "status" not in there or not there["status"].get("conditions")
    assert not there["metadata"].get("finalizers")
    children = kubectl_json("get", "-n", installed.elsewhere, "all,secrets,configmaps", "-l", MANAGED)[
        "items"
    ]
    assert children == []
