"""Two operator replicas with kopf peering: the higher priority acts, the other waits and takes over."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kopf.testing import KopfRunner

from .cluster import (
    SERVICE_IMAGE,
    SERVICE_IMAGE_ALIAS,
    apply,
    cluster_available,
    condition,
    database_manifests,
    get_json,
    install_crd,
    instance_manifest,
    kubectl,
    wait_for,
    write_kubeconfig,
)
from .conftest import ROOT

pytestmark = pytest.mark.cluster

PEERING = "moorage-operator"
PEERING_CRDS = ROOT / "operator" / "deploy" / "kopf-peering-crds.yaml"


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not cluster_available():
        pytest.skip("the kind cluster is not reachable: run make cluster")
    kubeconfig = Path(tmp_path_factory.mktemp("kube")) / "config"
    write_kubeconfig(kubeconfig)
    os.environ["KUBECONFIG"] = str(kubeconfig)
    install_crd()
    kubectl("apply", "-f", str(PEERING_CRDS))
    kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=60s")
    ns = f"moorage-peer-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    apply(
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": PEERING, "namespace": ns}}
    )
    apply(database_manifests(ns))
    kubectl("-n", ns, "rollout", "status", "deployment/example-db", "--timeout=180s", timeout=200)
    yield ns
    kubectl("delete", "namespace", ns, "--wait=false", check=False)


def runner(namespace: str, priority: int) -> KopfRunner:
    args = ["run", "--namespace", namespace, "--peering", PEERING, "--priority", str(priority)]
    return KopfRunner([*args, "-m", "moorage_operator", "--verbose"], timeout=60)


def ready_on(namespace: str, image: str) -> bool:
    obj = get_json("-n", namespace, "appinstance", "peer")
    return (
        condition(obj, "Ready").get("status") == "True"
        and (obj.get("status") or {}).get("currentImage") == image
    )


def test_only_the_higher_priority_replica_acts_and_the_other_takes_over(namespace: str) -> None:
    leader, standby = runner(namespace, 200), runner(namespace, 100)
    standby.__enter__()
    leader.__enter__()
    try:
        apply(instance_manifest(namespace, "peer"))
        wait_for("peer Ready", lambda: ready_on(namespace, SERVICE_IMAGE), timeout=300)
    finally:
        leader.__exit__(None, None, None)
    # The leader is gone: the standby resumes and carries the next upgrade through.
    try:
        kubectl(
            "-n",
            namespace,
            "patch",
            "appinstance",
            "peer",
            "--type=merge",
            "-p",
            f'{{"spec":{{"image":"{SERVICE_IMAGE_ALIAS}"}}}}',
        )
        wait_for(
            "the standby to roll out the upgrade",
            lambda: ready_on(namespace, SERVICE_IMAGE_ALIAS),
            timeout=300,
        )
        kubectl("-n", namespace, "delete", "appinstance", "peer", "--timeout=120s", timeout=150)
    finally:
        standby.__exit__(None, None, None)
    assert "Pausing operations in favour of" in standby.output
    assert "Resuming operations after the pause" in standby.output
    assert "Pausing operations" not in leader.output
