"""The API server rejects invalid AppInstances, each with a message that names the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.kube import kubectl_result

from .cluster import cluster_available, install_crd

pytestmark = pytest.mark.cluster

VALID: dict[str, Any] = {
    "apiVersion": "apps.moorage.dev/v1alpha1",
    "kind": "AppInstance",
    "metadata": {"name": "valid", "namespace": "default"},
    "spec": {
        "image": "moorage/service:dev",
        "replicas": 2,
        "database": {"secretRef": {"name": "db", "key": "DATABASE_URL"}},
        "config": [{"name": "LOG_LEVEL", "value": "INFO"}],
        "secretRotation": {"interval": "720h", "gracePeriod": "25h"},
    },
}

Mutation = Callable[[dict[str, Any]], object]


def spec_set(**values: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body["spec"].update(values)

    return mutate


def spec_drop(key: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        del body["spec"][key]

    return mutate


def rename(name: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body["metadata"]["name"] = name

    return mutate


# (case id, mutation, text the API server's message must contain)
INVALID: list[tuple[str, Mutation, str]] = [
    ("image-missing", spec_drop("image"), "spec.image"),
    ("image-empty", spec_set(image=""), "spec.image"),
    ("image-with-spaces", spec_set(image="moorage/service: dev"), "spec.image"),
    ("database-missing", spec_drop("database"), "spec.database"),
    (
        "secret-ref-name-missing",
        spec_set(database={"secretRef": {"key": "URL"}}),
        "spec.database.secretRef.name",
    ),
    (
        "secret-ref-name-invalid",
        spec_set(database={"secretRef": {"name": "Bad_Name"}}),
        "spec.database.secretRef.name",
    ),
    ("replicas-negative", spec_set(replicas=-1), "spec.replicas"),
    ("replicas-too-many", spec_set(replicas=1000), "spec.replicas"),
    ("replicas-not-integer", spec_set(replicas="two"), "spec.replicas"),
    (
        "replicas-and-autoscaling",
        spec_set(autoscaling={"minReplicas": 2, "maxReplicas": 4}),
        "spec.replicas",
    ),
    (
        "autoscaling-min-above-max",
        lambda b: (
            b["spec"].pop("replicas"),
            b["spec"].update(autoscaling={"minReplicas": 5, "maxReplicas": 2}),
        ),
        "spec.autoscaling.minReplicas",
    ),
    (
        "autoscaling-max-missing",
        lambda b: (b["spec"].pop("replicas"), b["spec"].update(autoscaling={"minReplicas": 2})),
        "spec.autoscaling.maxReplicas",
    ),
    (
        "autoscaling-cpu-target-zero",
        lambda b: (
            b["spec"].pop("replicas"),
            b["spec"].update(autoscaling={"maxReplicas": 3, "targetCPUUtilizationPercentage": 0}),
        ),
        "spec.autoscaling.targetCPUUtilizationPercentage",
    ),
    ("pull-policy-unknown", spec_set(imagePullPolicy="Sometimes"), "spec.imagePullPolicy"),
    (
        "rollout-deadline-too-short",
        spec_set(rollout={"progressDeadlineSeconds": 5}),
        "spec.rollout.progressDeadlineSeconds",
    ),
    ("rotation-interval-days", spec_set(secretRotation={"interval": "30d"}), "spec.secretRotation.interval"),
    (
        "rotation-grace-not-below-interval",
        spec_set(secretRotation={"interval": "1h", "gracePeriod": "2h"}),
        "spec.secretRotation.gracePeriod",
    ),
    (
        "rotation-interval-too-short",
        spec_set(secretRotation={"interval": "30s", "gracePeriod": "10s"}),
        "spec.secretRotation.interval",
    ),
    (
        "migration-timeout-too-short",
        spec_set(migrations={"timeoutSeconds": 5}),
        "spec.migrations.timeoutSeconds",
    ),
    (
        "migration-backoff-too-high",
        spec_set(migrations={"backoffLimit": 100}),
        "spec.migrations.backoffLimit",
    ),
    (
        "config-name-lower-case",
        spec_set(config=[{"name": "log_level", "value": "INFO"}]),
        "spec.config[0].name",
    ),
    (
        "config-sets-managed-variable",
        spec_set(config=[{"name": "DATABASE_URL", "value": "x"}]),
        "spec.config[0].name",
    ),
    ("config-value-not-string", spec_set(config=[{"name": "WORKERS", "value": 2}]), "spec.config[0].value"),
    ("config-value-missing", spec_set(config=[{"name": "WORKERS"}]), "spec.config[0].value"),
    (
        "config-duplicate-name",
        spec_set(config=[{"name": "WORKERS", "value": "1"}, {"name": "WORKERS", "value": "2"}]),
        "spec.config[1]",
    ),
    ("config-not-a-list", spec_set(config={"LOG_LEVEL": "INFO"}), "spec.config"),
    ("resources-unknown-name", spec_set(resources={"requests": {"gpu": "1"}}), "spec.resources.requests.gpu"),
    (
        "resources-bad-quantity",
        spec_set(resources={"limits": {"memory": "lots"}}),
        "spec.resources.limits.memory",
    ),
    ("paused-not-boolean", spec_set(paused="yes"), "spec.paused"),
    ("unknown-field", spec_set(replica=2), "spec.replica"),
    ("name-too-long", rename("a" * 60), "metadata.name"),
]


@pytest.fixture(scope="module", autouse=True)
def crd_installed() -> None:
    if not cluster_available():
        pytest.skip("the kind cluster is not reachable: run make cluster")
    install_crd()


def dry_run(body: dict[str, Any]) -> tuple[int, str]:
    proc = kubectl_result("apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(body))
    return proc.returncode, proc.stdout + proc.stderr


def test_the_valid_manifest_is_accepted() -> None:
    code, output = dry_run(copy.deepcopy(VALID))
    assert code == 0, output


def test_at_least_fifteen_cases() -> None:
    assert len(INVALID) >= 15


@pytest.mark.parametrize(
    ("mutation", "field"), [(m, f) for _, m, f in INVALID], ids=[c for c, _, _ in INVALID]
)
def test_invalid_manifest_is_rejected_naming_the_field(mutation: Mutation, field: str) -> None:
    body = copy.deepcopy(VALID)
    mutation(body)
    code, output = dry_run(body)
    assert code != 0, f"accepted: {body}"
    assert field in output, output
