"""The children added for issue 11 (ServiceAccount, exposure, NetworkPolicy), planned as one group.

``plan_extras`` compares the wanted objects with what the cluster holds for the instance (both keyed
``Kind/name``): it returns the objects to apply and the ones to delete (what the spec no longer asks
for). The planner applies them like its own children.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moorage_operator import exposure, manifests, netpol, podspec
from moorage_operator.spec import AppSpec


@dataclass(frozen=True, slots=True)
class ChildKind:
    api_version: str
    kind: str
    plural: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]


SERVICE_ACCOUNT = ChildKind("v1", "ServiceAccount", "serviceaccounts")
INGRESS = ChildKind("networking.k8s.io/v1", "Ingress", "ingresses")
HTTP_ROUTE = ChildKind("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes")
NETWORK_POLICY = ChildKind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies")
KINDS: tuple[ChildKind, ...] = (SERVICE_ACCOUNT, INGRESS, HTTP_ROUTE, NETWORK_POLICY)
EXPOSURE_KINDS = frozenset({INGRESS.kind, HTTP_ROUTE.kind})


def wanted(app: AppSpec, owner: manifests.Owner) -> list[dict[str, Any]]:
    """The extra children this spec asks for, owned and hashed."""
    out: list[dict[str, Any]] = []
    if app.pod.service_account_name is None:
        out.append(manifests.own(podspec.service_account(owner.name, owner.namespace), owner))
    exposed = exposure.exposure_object(app.expose, owner.name, owner.namespace)
    if exposed is not None:
        out.append(manifests.own(exposed, owner))
    if app.network_policy is not None:
        policy = netpol.network_policy(
            app.network_policy,
            owner.name,
            owner.namespace,
            config=app.config,
            redis=app.pod.redis is not None,
        )
        out.append(manifests.own(policy, owner))
        migration = netpol.migration_network_policy(app.network_policy, owner.name, owner.namespace)
        out.append(manifests.own(migration, owner))
    return out


def key(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def plan_extras(
    app: AppSpec, owner: manifests.Owner, observed: Mapping[str, Mapping[str, Any]]
) -> tuple[list[tuple[dict[str, Any], Mapping[str, Any] | None]], list[tuple[str, str, str]]]:
    """(desired, observed) pairs to apply when changed, and (apiVersion, kind, name) to delete.

    ``observed`` maps ``Kind/name`` to the instance's objects of the extra kinds, as the cluster holds them.
    """
    desired = wanted(app, owner)
    keys = {key(obj) for obj in desired}
    pairs = [(obj, observed.get(key(obj))) for obj in desired]
    deletes = [
        (str(obj["apiVersion"]), str(obj["kind"]), str(obj["metadata"]["name"]))
        for name, obj in sorted(observed.items())
        if name not in keys and not (obj.get("metadata") or {}).get("deletionTimestamp")
    ]
    return pairs, deletes
