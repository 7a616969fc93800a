"""The one table of kinds the operator touches: it drives the indexes, observation, plural names and RBAC.

A test renders the operator chart and checks its rules against this table, so adding a child here and
forgetting the chart fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from moorage_operator import names

WRITE = ("get", "list", "watch", "create", "update", "patch", "delete")
READ = ("get", "list")
WATCH = ("get", "list", "watch")


def _same(instance: str) -> str:
    return instance


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str
    api_version: str
    plural: str
    verbs: tuple[str, ...]
    # The attribute of ``Observed`` that holds the child, and the child's name for an instance
    # (``None``: any number of children, e.g. one Job per migration); for a referenced kind, only the
    # name of its index.
    field: str | None = None
    name: Callable[[str], str] | None = None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def index(self) -> str:
        """The kopf index (and handler id) fed by the watch stream of this kind."""
        return f"{self.field}_idx"


CHILDREN: tuple[Kind, ...] = (
    Kind("Secret", "v1", "secrets", WRITE, "keyring", names.keyring_name),
    Kind("ConfigMap", "v1", "configmaps", WRITE, "config_map", names.config_name),
    Kind("Service", "v1", "services", WRITE, "service", _same),
    Kind("Deployment", "apps/v1", "deployments", WRITE, "deployment", _same),
    Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers", WRITE, "autoscaler", _same),
    Kind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets", WRITE, "disruption_budget", _same),
    Kind("Job", "batch/v1", "jobs", WRITE, "jobs"),
    # The pods' identity, the exposure and the NetworkPolicies (the serving pods' and the Jobs').
    Kind("ServiceAccount", "v1", "serviceaccounts", WRITE, "service_account", _same),
    Kind("Ingress", "networking.k8s.io/v1", "ingresses", WRITE, "ingress", _same),
    Kind("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes", WRITE, "http_route", _same),
    Kind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", WRITE, "network_policies"),
)
# Read, never owned: the migration pods' termination messages.
READ_ONLY: tuple[Kind, ...] = (Kind("Pod", "v1", "pods", READ),)
# Watched, never owned: the user's Secrets and ConfigMaps the pods consume by reference (the database
# Secret, spec.env/envFrom, spec.redis). Their indexes hold per-key digests, never values.
REFERENCED: tuple[Kind, ...] = (
    Kind("Secret", "v1", "secrets", WATCH, "referenced_secret"),
    Kind("ConfigMap", "v1", "configmaps", WATCH, "referenced_config_map"),
)
INSTANCE = Kind(names.KIND, f"{names.GROUP}/{names.VERSION}", names.PLURAL, ())

PLURALS: dict[str, str] = {k.kind: k.plural for k in (*CHILDREN, *READ_ONLY, INSTANCE)}
BY_KIND: dict[str, Kind] = {k.kind: k for k in CHILDREN}
REFERENCED_BY_KIND: dict[str, Kind] = {k.kind: k for k in REFERENCED}
