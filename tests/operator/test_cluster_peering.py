"""Two operator replicas with kopf peering: the higher priority acts, the other waits and takes over."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kopf.testing import KopfRunner

from tests.images import SERVICE_IMAGE, SERVICE_IMAGE_ALIAS
from tests.kube import apply, condition, kubectl, kubectl_json, wait_established, wait_for

from .cluster import (
    free_port,
    instance_manifest,
    operator_namespace,
    start_database,
)
from .conftest import ROOT

pytestmark = pytest.mark.cluster

PEERING = "moorage-operator"
PEERING_CRDS = ROOT / "charts" / "moorage-operator" / "crds" / "kopf-peering-crds.yaml"


def install_peering_crds() -> None:
    kubectl("apply", "-f", str(PEERING_CRDS))
    wait_established("kopfpeerings.kopf.dev")


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with operator_namespace(tmp_path_factory, "moorage-peer", prepare=install_peering_crds) as ns:
        peering = {
            "apiVersion": "kopf.dev/v1",
            "kind": "KopfPeering",
            "metadata": {"name": PEERING, "namespace": ns},
        }
        apply(peering)
        start_database(ns)
        yield ns


def leader_runner(namespace: str, priority: int) -> KopfRunner:
    args = ["run", "--namespace", namespace, "--peering", PEERING, "--priority", str(priority)]
    return KopfRunner([*args, "-m", "moorage_operator", "--verbose"], timeout=60)


def standby_process(namespace: str, priority: int, log: Path) -> subprocess.Popen[bytes]:
    """The second replica in its own process, so its log is its own."""
    env = {
        **os.environ,
        "MOORAGE_WATCH_NAMESPACES": namespace,
        "MOORAGE_PEERING_NAME": PEERING,
        "MOORAGE_PEERING_PRIORITY": str(priority),
        "MOORAGE_LIVENESS": f"http://127.0.0.1:{free_port()}/healthz",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "moorage_operator", "--verbose"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def ready_on(namespace: str, image: str) -> bool:
    obj = kubectl_json("get", "-n", namespace, "appinstance", "peer")
    return (
        condition(obj, "Ready").get("status") == "True"
        and (obj.get("status") or {}).get("currentImage") == image
    )


def test_only_the_higher_priority_replica_acts_and_the_other_takes_over(
    namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "standby.log"
    standby = standby_process(namespace, 100, log)
    try:
        leader = leader_runner(namespace, 200)
        leader.__enter__()
        try:
            wait_for(
                "the standby to pause",
                lambda: "Pausing operations in favour of" in log.read_text(),
                timeout=60,
            )
            apply(instance_manifest(namespace, "peer"))
            wait_for("peer Ready", lambda: ready_on(namespace, SERVICE_IMAGE), timeout=300)
        finally:
            leader.__exit__(None, None, None)
        # The leader is gone: the standby resumes and carries the next upgrade through alone.
        wait_for("the standby to resume", lambda: "Resuming operations" in log.read_text(), timeout=120)
        patch = f'{{"spec":{{"image":"{SERVICE_IMAGE_ALIAS}"}}}}'
        kubectl("-n", namespace, "patch", "appinstance", "peer", "--type=merge", "-p", patch)
        wait_for(
            "the standby to roll out the upgrade",
            lambda: ready_on(namespace, SERVICE_IMAGE_ALIAS),
            timeout=300,
        )
        kubectl("-n", namespace, "delete", "appinstance", "peer", "--timeout=120s", timeout=150)
    finally:
        standby.terminate()
        standby.wait(timeout=60)
