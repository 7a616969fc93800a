"""Step: the children a platform team asks for (ServiceAccount, exposure, NetworkPolicies) and ``status.url``.

Each wanted object is applied like every other child (server-side apply, re-applied against drift); an
object of these kinds the spec no longer asks for is deleted (a switch from Ingress to HTTPRoute, a
named ``spec.serviceAccountName``, ``spec.networkPolicy`` turned off).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moorage_operator import exposure, manifests, netpol, podspec
from moorage_operator.reconcile.kinds import BY_KIND, Kind
from moorage_operator.reconcile.model import NORMAL, Event, Observed, Outcome, Ref, apply_child
from moorage_operator.spec import AppSpec

KINDS: tuple[Kind, ...] = tuple(
    BY_KIND[k] for k in ("ServiceAccount", "Ingress", "HTTPRoute", "NetworkPolicy")
)
EXPOSURE_KINDS = frozenset({"Ingress", "HTTPRoute"})


def wanted(app: AppSpec, owner: manifests.Owner) -> list[dict[str, Any]]:
    """The platform children this spec asks for, owned and hashed."""
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


def observed_children(observed: Observed) -> dict[str, tuple[Kind, Mapping[str, Any]]]:
    """``Kind/name`` to the instance's objects of the platform kinds, as the cluster holds them."""
    out: dict[str, tuple[Kind, Mapping[str, Any]]] = {}
    for kind in KINDS:
        held = getattr(observed, kind.field or "")
        for obj in held if kind.name is None else [held]:
            if obj is not None:
                out[f"{kind.kind}/{obj['metadata']['name']}"] = (kind, obj)
    return out


def plan_platform(
    app: AppSpec, observed: Observed, owner: manifests.Owner, *, reapply: bool = False
) -> Outcome:
    out = Outcome()
    seen = observed_children(observed)
    desired = wanted(app, owner)
    where = exposure.url(app.expose)
    out.status["url"] = where  # None deletes it (merge patch)
    for obj in desired:
        held = seen.get(key(obj), (None, None))[1]
        if apply_child(out, obj, held, reapply=reapply) and obj["kind"] in EXPOSURE_KINDS and where:
            out.events.append(Event(NORMAL, "Exposed", f"serving at {where}"))
    keep = {key(obj) for obj in desired}
    for name, (kind, held_obj) in sorted(seen.items(), key=lambda item: item[0]):
        meta = held_obj.get("metadata") or {}
        if name not in keep and not meta.get("deletionTimestamp"):
            out.deletes.append(Ref(kind.api_version, kind.kind, str(meta["name"])))
    return out
