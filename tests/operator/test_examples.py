"""The examples parse into the objects they promise (the API server's view is in test_cluster_crd_pod)."""

from __future__ import annotations

from typing import Any

import yaml
from moorage_operator import manifests
from moorage_operator.reconcile import platform
from moorage_operator.spec import parse_spec

from .conftest import ROOT

PLATFORM = ROOT / "examples" / "appinstance-platform.yaml"


def platform_instance() -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(PLATFORM.read_text()) if d]
    instance: dict[str, Any] = next(d for d in docs if d["kind"] == "AppInstance")
    return instance


def test_the_platform_example_builds_exposure_policy_and_its_own_service_account() -> None:
    instance = platform_instance()
    app = parse_spec(instance["spec"])
    owner = manifests.Owner(instance["metadata"]["name"], "default", "uid", {})
    built = platform.wanted(app, owner)
    assert sorted(platform.key(o) for o in built) == [
        "Ingress/platform",
        "NetworkPolicy/platform",
        "NetworkPolicy/platform-migrate",
        "ServiceAccount/platform",
    ]
    kinds = {obj["kind"]: obj for obj in built}  # the last NetworkPolicy is the migration's
    kinds["NetworkPolicy"] = next(o for o in built if platform.key(o) == "NetworkPolicy/platform")
    assert kinds["Ingress"]["spec"]["ingressClassName"] == "traefik"
    peers = kinds["NetworkPolicy"]["spec"]["ingress"][0]["from"]
    assert any(p.get("namespaceSelector") for p in peers)  # the ingress controller is admitted
    assert app.pod.image_pull_secrets == ("platform-registry",)
    # The database Secret it names is the one examples/appinstance.yaml creates.
    assert app.database.name == "example-db"
