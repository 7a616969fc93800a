"""How Argo CD orders a rendered chart: its hook mapping and sync waves, as its sync engine does it.

Argo CD renders with `helm template` and applies in steps ordered by phase (PreSync, Sync, PostSync),
then wave, then kind, then name. A resource's phase comes from `argocd.argoproj.io/hook` when present,
else from `helm.sh/hook` (pre-install and pre-upgrade -> PreSync, post-* -> PostSync; test hooks are
skipped). Its wave comes from `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`, else 0.
Facts from Argo CD's Helm and sync-waves documentation and gitops-engine's sync task ordering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Manifest = dict[str, Any]

PHASES = ("PreSync", "Sync", "PostSync")
HELM_PHASES = {
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
}
# The kind order of Argo CD's sync engine (taken from Helm's install order); unknown kinds go last.
KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
    "APIService",
]
HELM_DELETE_POLICIES = {
    "before-hook-creation": "BeforeHookCreation",
    "hook-succeeded": "HookSucceeded",
    "hook-failed": "HookFailed",
}


def annotations_of(obj: Manifest) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def hook_phases(obj: Manifest) -> list[str]:
    """The Argo CD hook phases of a resource ([] for a regular resource, ["Skip"] for an ignored hook)."""
    ann = annotations_of(obj)
    if "argocd.argoproj.io/hook" in ann:
        return csv(ann["argocd.argoproj.io/hook"])
    if "helm.sh/hook" in ann:
        mapped = [HELM_PHASES[h] for h in csv(ann["helm.sh/hook"]) if h in HELM_PHASES]
        return sorted(set(mapped), key=PHASES.index) or ["Skip"]  # test hooks: not supported
    return []


def wave(obj: Manifest) -> int:
    ann = annotations_of(obj)
    for key in ("argocd.argoproj.io/sync-wave", "helm.sh/hook-weight"):
        if key in ann:
            try:
                return int(ann[key])
            except ValueError:
                continue
    return 0


def delete_policies(obj: Manifest) -> list[str]:
    ann = annotations_of(obj)
    if "argocd.argoproj.io/hook" in ann:
        return csv(ann.get("argocd.argoproj.io/hook-delete-policy", "BeforeHookCreation"))
    helm = csv(ann.get("helm.sh/hook-delete-policy", ""))
    return [HELM_DELETE_POLICIES[p] for p in helm if p in HELM_DELETE_POLICIES] or ["BeforeHookCreation"]


def kind_rank(obj: Manifest) -> int:
    kind = obj["kind"]
    return KIND_ORDER.index(kind) - len(KIND_ORDER) if kind in KIND_ORDER else 0


@dataclass
class Step:
    """One (phase, wave) step: Argo CD applies its resources, then waits until they are healthy."""

    phase: str
    wave: int
    objects: list[Manifest] = field(default_factory=list)

    def names(self) -> list[str]:
        return [f"{o['kind']}/{o['metadata']['name']}" for o in self.objects]


def plan(manifests: list[Manifest]) -> list[Step]:
    """The steps of one Argo CD sync of these manifests, in order."""
    tasks: list[tuple[str, Manifest]] = []
    for obj in manifests:
        phases = hook_phases(obj)
        if phases == ["Skip"]:
            continue
        for phase in phases or ["Sync"]:
            if phase in PHASES:
                tasks.append((phase, obj))
    tasks.sort(key=lambda t: (PHASES.index(t[0]), wave(t[1]), kind_rank(t[1]), t[1]["metadata"]["name"]))
    steps: list[Step] = []
    for phase, obj in tasks:
        if not steps or steps[-1].phase != phase or steps[-1].wave != wave(obj):
            steps.append(Step(phase, wave(obj)))
        steps[-1].objects.append(obj)
    return steps


def is_hook(obj: Manifest) -> bool:
    return bool(hook_phases(obj))
