"""Step: the children around the Deployment (ConfigMap, Service, disruption budget, autoscaler)."""

from __future__ import annotations

from moorage_operator import manifests
from moorage_operator.reconcile.kinds import BY_KIND
from moorage_operator.reconcile.model import Observed, Outcome, Ref, apply_child
from moorage_operator.spec import AppSpec


def plan_supporting(
    app: AppSpec, observed: Observed, owner: manifests.Owner, *, reapply: bool = False
) -> Outcome:
    out = Outcome()
    for desired, seen in (
        (manifests.config_map(app, owner), observed.config_map),
        (manifests.service(owner), observed.service),
        (manifests.disruption_budget(owner), observed.disruption_budget),
    ):
        apply_child(out, desired, seen, reapply=reapply)
    hpa = manifests.autoscaler(app, owner)
    if hpa is not None:
        apply_child(out, hpa, observed.autoscaler, reapply=reapply)
    elif observed.autoscaler is not None:
        kind = BY_KIND["HorizontalPodAutoscaler"]
        out.deletes.append(Ref(kind.api_version, kind.kind, owner.name))
    return out
