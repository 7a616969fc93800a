"""``spec.networkPolicy``: one NetworkPolicy for the instance's serving pods, shaped like the app chart's.

Ingress: only the app port, only from the instance's own pods and the listed peers (the ingress
controller among them when exposed). Egress: DNS, the database port, the OTLP port when an endpoint
is configured, the Redis port when spec.redis is set, and any extra rules. Kubelet probes are not
subject to NetworkPolicy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moorage_operator import names

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


@dataclass(frozen=True, slots=True)
class NetworkPolicySpec:
    ingress_from: tuple[Mapping[str, Any], ...] = ()
    database_port: int = 5432
    database_cidrs: tuple[str, ...] = ()
    otlp_port: int = 4318
    otlp_cidrs: tuple[str, ...] = ()
    redis_port: int = 6379
    extra_egress: tuple[Mapping[str, Any], ...] = ()


def parse_network_policy(raw: Any) -> NetworkPolicySpec | None:
    if not raw or not raw.get("enabled"):
        return None
    return NetworkPolicySpec(
        ingress_from=tuple(dict(p) for p in raw.get("ingressFrom") or ()),
        database_port=int(raw.get("databasePort", 5432)),
        database_cidrs=tuple(str(c) for c in raw.get("databaseCIDRs") or ()),
        otlp_port=int(raw.get("otlpPort", 4318)),
        otlp_cidrs=tuple(str(c) for c in raw.get("otlpCIDRs") or ()),
        redis_port=int(raw.get("redisPort", 6379)),
        extra_egress=tuple(dict(r) for r in raw.get("extraEgress") or ()),
    )


def _port_rule(port: int, cidrs: tuple[str, ...]) -> dict[str, Any]:
    rule: dict[str, Any] = {"ports": [{"port": port, "protocol": "TCP"}]}
    if cidrs:
        rule["to"] = [{"ipBlock": {"cidr": c}} for c in cidrs]
    return rule


def network_policy(
    policy: NetworkPolicySpec,
    instance: str,
    namespace: str,
    *,
    config: Mapping[str, str],
    redis: bool,
) -> dict[str, Any]:
    own = {"podSelector": {"matchLabels": {names.LABEL_NAME: "moorage", names.LABEL_INSTANCE: instance}}}
    egress: list[dict[str, Any]] = [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        _port_rule(policy.database_port, policy.database_cidrs),
    ]
    if config.get(OTLP_ENDPOINT_ENV):
        egress.append(_port_rule(policy.otlp_port, policy.otlp_cidrs))
    if redis:
        egress.append(_port_rule(policy.redis_port, ()))
    egress += [dict(rule) for rule in policy.extra_egress]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": instance, "namespace": namespace, "labels": names.child_labels(instance)},
        "spec": {
            "podSelector": {"matchLabels": names.selector_labels(instance)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "ports": [{"port": "http", "protocol": "TCP"}],
                    "from": [own, *[dict(peer) for peer in policy.ingress_from]],
                }
            ],
            "egress": egress,
        },
    }


def migration_network_policy(policy: NetworkPolicySpec, instance: str, namespace: str) -> dict[str, Any]:
    """The migration Job's pods: nothing in, DNS and the database out (the app chart's ``-migrate``)."""
    name = f"{instance}-migrate"  # instance names are at most 48 characters (CRD): this fits in 63
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": names.child_labels(instance, "migration"),
        },
        "spec": {
            "podSelector": {
                "matchLabels": {**names.selector_labels(instance), names.LABEL_COMPONENT: "migration"}
            },
            "policyTypes": ["Ingress", "Egress"],
            "egress": [
                {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                _port_rule(policy.database_port, policy.database_cidrs),
            ],
        },
    }
