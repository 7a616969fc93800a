"""The API server rejects invalid pod controls (issue 11) naming the field, and accepts a full valid set."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .test_cluster_crd import VALID, Mutation, crd_installed, dry_run, spec_set
from .test_examples import platform_instance

__all__ = ["crd_installed"]  # its autouse fixture installs the CRD for this module too

pytestmark = pytest.mark.cluster

FULL: dict[str, Any] = {
    "imagePullSecrets": [{"name": "regcred"}],
    "serviceAccountName": "runtime",
    "nodeSelector": {"pool": "apps"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "apps", "effect": "NoSchedule"},
        {"operator": "Exists"},
        {"key": "spot", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
    ],
    "affinity": {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]
                    },
                }
            ]
        }
    },
    "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
    ],
    "priorityClassName": "business",
    "podAnnotations": {"team": "shop"},
    "podLabels": {"cost-center": "42"},
    "env": [
        {"name": "FEATURE_X", "value": "on"},
        {"name": "PARTNER_TOKEN", "valueFrom": {"secretKeyRef": {"name": "partner", "key": "token"}}},
    ],
    "envFrom": [
        {"secretRef": {"name": "platform"}},
        {"configMapRef": {"name": "platform", "optional": True}},
    ],
    "redis": {"secretRef": {"name": "redis"}},
    "expose": {
        "ingress": {"className": "traefik", "host": "shop.example.com", "tlsSecretName": "shop-tls"},
        "trustedProxies": ["10.244.0.0/16", "10.0.0.1"],
    },
    "networkPolicy": {
        "enabled": True,
        "ingressFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}],
        "databaseCIDRs": ["10.96.0.0/12"],
    },
}
ROUTE = {
    "httpRoute": {"parentRefs": [{"name": "moorage", "namespace": "traefik"}], "hostnames": ["a.example"]}
}

INVALID: list[tuple[str, Mutation, str]] = [
    (
        "pull-secret-bad-name",
        spec_set(imagePullSecrets=[{"name": "Reg_Cred"}]),
        "spec.imagePullSecrets[0].name",
    ),
    ("pull-secret-no-name", spec_set(imagePullSecrets=[{}]), "spec.imagePullSecrets[0].name"),
    ("service-account-bad-name", spec_set(serviceAccountName="Runtime!"), "spec.serviceAccountName"),
    ("node-selector-not-string", spec_set(nodeSelector={"pool": 1}), "spec.nodeSelector.pool"),
    (
        "toleration-bad-operator",
        spec_set(tolerations=[{"key": "a", "operator": "Is"}]),
        "spec.tolerations[0].operator",
    ),
    (
        "toleration-exists-with-value",
        spec_set(tolerations=[{"key": "a", "operator": "Exists", "value": "b"}]),
        "spec.tolerations[0].value",
    ),
    ("toleration-no-key-equal", spec_set(tolerations=[{"value": "b"}]), "spec.tolerations[0].key"),
    (
        "toleration-seconds-without-noexecute",
        spec_set(tolerations=[{"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}]),
        "spec.tolerations[0].tolerationSeconds",
    ),
    ("affinity-unknown-kind", spec_set(affinity={"nodeAffinty": {}}), "spec.affinity.nodeAffinty"),
    (
        "spread-bad-when",
        spec_set(
            topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "z", "whenUnsatisfiable": "Maybe"}]
        ),
        "spec.topologySpreadConstraints[0].whenUnsatisfiable",
    ),
    (
        "spread-skew-zero",
        spec_set(
            topologySpreadConstraints=[
                {"maxSkew": 0, "topologyKey": "z", "whenUnsatisfiable": "DoNotSchedule"}
            ]
        ),
        "spec.topologySpreadConstraints[0].maxSkew",
    ),
    ("priority-bad-name", spec_set(priorityClassName="High Priority"), "spec.priorityClassName"),
    (
        "pod-label-overrides-operator",
        spec_set(podLabels={"app.kubernetes.io/instance": "x"}),
        "spec.podLabels",
    ),
    ("pod-label-owner-prefix", spec_set(podLabels={"apps.moorage.dev/instance": "x"}), "spec.podLabels"),
    ("pod-label-bad-value", spec_set(podLabels={"team": "a b"}), "spec.podLabels.team"),
    (
        "pod-annotation-owner-prefix",
        spec_set(podAnnotations={"apps.moorage.dev/key-ring": "x"}),
        "spec.podAnnotations",
    ),
    ("env-managed-variable", spec_set(env=[{"name": "SECRET_KEY", "value": "x"}]), "spec.env[0].name"),
    ("env-value-and-from", spec_set(env=[{"name": "A", "value": "x", "valueFrom": {}}]), "spec.env[0]"),
    (
        "env-from-both-refs",
        spec_set(
            env=[
                {
                    "name": "A",
                    "valueFrom": {
                        "secretKeyRef": {"name": "s", "key": "k"},
                        "configMapKeyRef": {"name": "c", "key": "k"},
                    },
                }
            ]
        ),
        "spec.env[0].valueFrom",
    ),
    ("envfrom-neither", spec_set(envFrom=[{"prefix": "X_"}]), "spec.envFrom[0]"),
    ("redis-no-name", spec_set(redis={"secretRef": {"key": "url"}}), "spec.redis.secretRef.name"),
    (
        "redis-and-config-redis-url",
        spec_set(redis={"secretRef": {"name": "r"}}, config=[{"name": "REDIS_URL", "value": "redis://x"}]),
        "spec.redis",
    ),
    ("expose-both", spec_set(expose={"ingress": {"host": "a.example"}, **ROUTE}), "spec.expose"),
    ("expose-neither", spec_set(expose={"trustedProxies": ["10.0.0.0/8"]}), "spec.expose"),
    ("ingress-no-host", spec_set(expose={"ingress": {"className": "traefik"}}), "spec.expose.ingress.host"),
    ("ingress-bad-host", spec_set(expose={"ingress": {"host": "Shop Example"}}), "spec.expose.ingress.host"),
    (
        "ingress-relative-path",
        spec_set(expose={"ingress": {"host": "a.example", "path": "api"}}),
        "spec.expose.ingress.path",
    ),
    (
        "ingress-bad-path-type",
        spec_set(expose={"ingress": {"host": "a.example", "pathType": "Glob"}}),
        "spec.expose.ingress.pathType",
    ),
    (
        "route-no-parents",
        spec_set(expose={"httpRoute": {"parentRefs": []}}),
        "spec.expose.httpRoute.parentRefs",
    ),
    (
        "trusted-proxy-not-an-address",
        spec_set(expose={**ROUTE, "trustedProxies": ["everyone"]}),
        "spec.expose.trustedProxies[0]",
    ),
    ("netpol-enabled-missing", spec_set(networkPolicy={"ingressFrom": []}), "spec.networkPolicy.enabled"),
    (
        "netpol-port-zero",
        spec_set(networkPolicy={"enabled": True, "databasePort": 0}),
        "spec.networkPolicy.databasePort",
    ),
]


def test_the_full_set_of_pod_controls_is_accepted() -> None:
    body = copy.deepcopy(VALID)
    body["spec"].update(copy.deepcopy(FULL))
    code, output = dry_run(body)
    assert code == 0, output


@pytest.mark.parametrize(
    ("mutation", "field"), [(m, f) for _, m, f in INVALID], ids=[c for c, _, _ in INVALID]
)
def test_invalid_pod_control_is_rejected_naming_the_field(mutation: Mutation, field: str) -> None:
    body = copy.deepcopy(VALID)
    mutation(body)
    code, output = dry_run(body)
    assert code != 0, f"accepted: {body['spec']}"
    assert field in output, output


def test_the_platform_example_is_accepted() -> None:
    body = platform_instance()
    body["metadata"]["namespace"] = "default"
    code, output = dry_run(body)
    assert code == 0, output
