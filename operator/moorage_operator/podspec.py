"""The pod controls a platform team sets on an ``AppInstance``: scheduling, identity, pull secrets, env.

``parse_pod_controls`` reads them from the spec; ``apply_pod_controls`` writes them into a pod template
the builders in ``manifests`` made. The defaults are the app chart's: a per-instance ServiceAccount
without a token, and a soft spread over hosts and zones (a test compares the two).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moorage_operator import names

# Set by the operator on every pod; spec.env and spec.config may not shadow them.
RESERVED_ENV = frozenset({"DATABASE_URL", "SECRET_KEY", "SECRET_KEY_PREVIOUS", "PORT", "HOST"})
REDIS_ENV = "REDIS_URL"
DEFAULT_REDIS_KEY = "REDIS_URL"
SPREAD_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
_OWN_LABELS = frozenset(
    {names.LABEL_NAME, names.LABEL_INSTANCE, names.LABEL_COMPONENT, names.LABEL_MANAGED_BY}
)
_OWN_PREFIX = f"{names.GROUP}/"
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True, slots=True)
class PodControls:
    image_pull_secrets: tuple[str, ...] = ()
    service_account_name: str | None = None  # None: the operator's per-instance ServiceAccount
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    affinity: Mapping[str, Any] = field(default_factory=dict)
    topology_spread: tuple[Mapping[str, Any], ...] | None = None  # None: the chart's soft spread
    priority_class_name: str | None = None
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple[Mapping[str, Any], ...] = ()
    env_from: tuple[Mapping[str, Any], ...] = ()
    redis: tuple[str, str] | None = None  # (Secret name, key)


def _list(raw: Any, where: str) -> tuple[Mapping[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise ValueError(f"{where} must be a list of objects")
    return tuple(dict(item) for item in raw)


def _strings(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a map of strings")
    return {str(k): str(v) for k, v in raw.items()}


def _own_label(key: str) -> bool:
    return key in _OWN_LABELS or key.startswith(_OWN_PREFIX)


def parse_pod_controls(spec: Mapping[str, Any], config_names: frozenset[str] = frozenset()) -> PodControls:
    """The pod controls of a spec; ``ValueError`` names the field the schema should have caught."""
    pull = _list(spec.get("imagePullSecrets"), "spec.imagePullSecrets")
    labels = _strings(spec.get("podLabels"), "spec.podLabels")
    if [k for k in labels if _own_label(k)]:
        raise ValueError("spec.podLabels must not set the operator's own labels")
    annotations = _strings(spec.get("podAnnotations"), "spec.podAnnotations")
    if [k for k in annotations if k.startswith(_OWN_PREFIX)]:
        raise ValueError(f"spec.podAnnotations must not use the {_OWN_PREFIX} prefix")
    env = _list(spec.get("env"), "spec.env")
    for item in env:
        name = str(item.get("name", ""))
        if not _ENV_NAME.match(name) or name in RESERVED_ENV:
            raise ValueError(f"spec.env: {name!r} is not a variable the service may be given")
        if ("value" in item) == ("valueFrom" in item):
            raise ValueError(f"spec.env.{name}: set exactly one of value and valueFrom")
    redis = None
    raw_redis = spec.get("redis")
    if raw_redis:
        ref = (raw_redis or {}).get("secretRef") or {}
        if not ref.get("name"):
            raise ValueError("spec.redis.secretRef.name is required")
        redis = (str(ref["name"]), str(ref.get("key") or DEFAULT_REDIS_KEY))
        if REDIS_ENV in config_names or any(item.get("name") == REDIS_ENV for item in env):
            raise ValueError(
                "REDIS_URL comes from spec.redis.secretRef: do not set it in spec.config or spec.env"
            )
    spread = spec.get("topologySpreadConstraints")
    return PodControls(
        image_pull_secrets=tuple(str(item["name"]) for item in pull if item.get("name")),
        service_account_name=str(spec["serviceAccountName"]) if spec.get("serviceAccountName") else None,
        node_selector=_strings(spec.get("nodeSelector"), "spec.nodeSelector"),
        tolerations=_list(spec.get("tolerations"), "spec.tolerations"),
        affinity=dict(spec.get("affinity") or {}),
        topology_spread=None if spread is None else _list(spread, "spec.topologySpreadConstraints"),
        priority_class_name=str(spec["priorityClassName"]) if spec.get("priorityClassName") else None,
        pod_annotations=annotations,
        pod_labels=labels,
        env=env,
        env_from=_list(spec.get("envFrom"), "spec.envFrom"),
        redis=redis,
    )


def service_account_name(controls: PodControls, instance: str) -> str:
    return controls.service_account_name or instance


def default_spread(instance: str) -> list[dict[str, Any]]:
    """The app chart's default: at most one pod more per host and per zone, never blocking scheduling."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": names.selector_labels(instance)},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in SPREAD_KEYS
    ]


def _spread(controls: PodControls, instance: str) -> list[dict[str, Any]]:
    if controls.topology_spread is None:
        return default_spread(instance)
    selector = {"matchLabels": names.selector_labels(instance)}
    return [{"labelSelector": selector, **dict(item)} for item in controls.topology_spread]


def extra_env(controls: PodControls) -> list[dict[str, Any]]:
    """REDIS_URL from its Secret, then the platform's own variables."""
    out: list[dict[str, Any]] = []
    if controls.redis is not None:
        name, key = controls.redis
        out.append({"name": REDIS_ENV, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}})
    out += [dict(item) for item in controls.env]
    return out


def apply_pod_controls(
    template: dict[str, Any],
    controls: PodControls,
    instance: str,
    *,
    server: bool,
    more_env: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Write the controls into a pod template in place (and return it).

    Scheduling, identity, pull secrets and env apply to the service and the migration Job alike; pod
    labels, annotations, priority and spreading only to the service's pods, as in the app chart. The
    operator's own labels and annotations always win over the spec's.
    """
    meta = template.setdefault("metadata", {})
    pod = template["spec"]
    pod["serviceAccountName"] = service_account_name(controls, instance)
    pod["automountServiceAccountToken"] = False
    if controls.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in controls.image_pull_secrets]
    if controls.node_selector:
        pod["nodeSelector"] = dict(controls.node_selector)
    if controls.tolerations:
        pod["tolerations"] = [dict(t) for t in controls.tolerations]
    if controls.affinity:
        pod["affinity"] = dict(controls.affinity)
    if server:
        meta["labels"] = {**controls.pod_labels, **(meta.get("labels") or {})}
        if controls.pod_annotations:
            meta["annotations"] = {**controls.pod_annotations, **(meta.get("annotations") or {})}
        if controls.priority_class_name:
            pod["priorityClassName"] = controls.priority_class_name
        spread = _spread(controls, instance)
        if spread:
            pod["topologySpreadConstraints"] = spread
    extra = [*(dict(e) for e in more_env), *extra_env(controls)]
    for container in pod["containers"]:
        taken = {e["name"] for e in container.get("env") or []}
        container["env"] = [*(container.get("env") or []), *[e for e in extra if e["name"] not in taken]]
        if controls.env_from:
            container["envFrom"] = [*(container.get("envFrom") or []), *[dict(e) for e in controls.env_from]]
    return template


def service_account(instance: str, namespace: str) -> dict[str, Any]:
    """The per-instance ServiceAccount: the pods never call the API server, so no token is mounted."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": instance, "namespace": namespace, "labels": names.child_labels(instance)},
        "automountServiceAccountToken": False,
    }
