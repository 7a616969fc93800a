"""Builders for the objects an ``AppInstance`` owns. Pure: dictionaries in, dictionaries out.

The pod defaults (probes, security context, preStop) are the app chart's defaults; a test renders
``charts/moorage`` and compares them with ``deployment()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import kopf

from moorage_operator import names
from moorage_operator.exposure import forwarded_env
from moorage_operator.keyring import KeyRing, ring_secret_content
from moorage_operator.podspec import apply_pod_controls
from moorage_operator.spec import AppSpec

PORT = 8000
SERVICE_PORT = 80
UID = 10001
CONTAINER = "moorage"
LIVE_PATH = "/api/v1/health/live"
READY_PATH = "/api/v1/health/ready"
PRESTOP_SLEEP_SECONDS = 10
TERMINATION_GRACE_SECONDS = 40  # covers the preStop pause and the service's 20 s drain
DEFAULT_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "100m", "memory": "192Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}


@dataclass(frozen=True, slots=True)
class Owner:
    """The identity of the ``AppInstance`` its children point back to."""

    name: str
    namespace: str
    uid: str
    labels: Mapping[str, str]

    def body(self) -> dict[str, Any]:
        return {
            "apiVersion": f"{names.GROUP}/{names.VERSION}",
            "kind": names.KIND,
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": self.uid,
                "labels": dict(self.labels),
            },
        }


def content_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _owned(obj: dict[str, Any], owner: Owner, *, nested: str | None = None) -> dict[str, Any]:
    """Owner reference, namespace and labels, then a hash of the whole: unchanged objects are not re-sent."""
    kopf.adopt(obj, owner=cast(kopf.Body, owner.body()), nested=nested)
    obj["metadata"].setdefault("annotations", {})[names.ANN_APPLIED_HASH] = content_hash(obj)
    return obj


def own(obj: dict[str, Any], owner: Owner) -> dict[str, Any]:
    """Owner reference, namespace and applied-hash for a child built elsewhere (``reconcile.platform``)."""
    return _owned(obj, owner)


def _meta(name: str, owner: Owner, component: str = "server") -> dict[str, Any]:
    return {"name": name, "namespace": owner.namespace, "labels": names.child_labels(owner.name, component)}


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _probe(path: str, *, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "initialDelaySeconds": 0,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
        "successThreshold": 1,
    }


def probes() -> dict[str, Any]:
    """Startup gives a slow first boot room; liveness never touches the database; readiness does."""
    return {
        "startupProbe": _probe(LIVE_PATH, period=2, timeout=2, failures=30),
        "livenessProbe": _probe(LIVE_PATH, period=10, timeout=2, failures=3),
        "readinessProbe": _probe(READY_PATH, period=5, timeout=3, failures=3),
    }


def lifecycle() -> dict[str, Any]:
    # Endpoints are removed asynchronously; a short pause before SIGTERM lets them catch up.
    return {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}}


def env(app: AppSpec, owner: Owner, *, migration: bool = False) -> list[dict[str, Any]]:
    ring = names.keyring_name(owner.name)
    db = app.migration_database if migration else app.database
    return [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": db.name, "key": db.key}}},
        {"name": names.SECRET_KEY, "valueFrom": {"secretKeyRef": {"name": ring, "key": names.SECRET_KEY}}},
        {
            "name": names.SECRET_KEY_PREVIOUS,
            "valueFrom": {"secretKeyRef": {"name": ring, "key": names.SECRET_KEY_PREVIOUS, "optional": True}},
        },
    ]


def _volumes() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # The root filesystem is read-only; /tmp is the one writable place (docs/contract.md).
    return [{"name": "tmp", "emptyDir": {}}], [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108


def keyring_secret(ring: KeyRing, owner: Owner, *, resource_version: str | None = None) -> dict[str, Any]:
    data, annotations = ring_secret_content(ring)
    meta = _meta(names.keyring_name(owner.name), owner, "keyring")
    meta["annotations"] = annotations
    if resource_version:
        meta["resourceVersion"] = resource_version  # optimistic concurrency: a stale ring never wins
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta, "data": data}
    kopf.adopt(secret, owner=cast(kopf.Body, owner.body()))
    return secret


def config_map(app: AppSpec, owner: Owner) -> dict[str, Any]:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(names.config_name(owner.name), owner),
        "data": dict(sorted(app.config.items())),
    }
    return _owned(obj, owner)


def service(owner: Owner) -> dict[str, Any]:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(owner.name, owner),
        "spec": {
            "type": "ClusterIP",
            "selector": names.selector_labels(owner.name),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return _owned(obj, owner)


def deployment(
    app: AppSpec,
    owner: Owner,
    *,
    image: str,
    ring: KeyRing,
    database_hash: str | None = None,
    references_hash: str | None = None,
) -> dict[str, Any]:
    volumes, mounts = _volumes()
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": app.image_pull_policy,
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": env(app, owner),
        "envFrom": [{"configMapRef": {"name": names.config_name(owner.name)}}],
        **probes(),
        "lifecycle": lifecycle(),
        "securityContext": container_security_context(),
        "resources": dict(app.resources) or DEFAULT_RESOURCES,
        # A crash leaves its last output in the termination message: the operator's RolloutFailed reads it.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
    }
    spec: dict[str, Any] = {
        "revisionHistoryLimit": 5,
        # The Deployment controller marks a rollout that missed it (ProgressDeadlineExceeded).
        "progressDeadlineSeconds": app.rollout.progress_deadline_seconds,
        "selector": {"matchLabels": names.selector_labels(owner.name)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {
                "labels": names.child_labels(owner.name),
                "annotations": {
                    names.ANN_KEY_RING: ring.version,
                    names.ANN_CONFIG_HASH: content_hash(dict(app.config)),
                },
            },
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": pod_security_context(),
                "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
    for annotation, value in (
        (names.ANN_DATABASE_HASH, database_hash),
        (names.ANN_REFERENCES_HASH, references_hash),
    ):
        if value:
            spec["template"]["metadata"]["annotations"][annotation] = value
    more_env = forwarded_env(app.expose, app.config)
    apply_pod_controls(spec["template"], app.pod, owner.name, server=True, more_env=more_env)
    if app.autoscaling is None:
        spec["replicas"] = app.replicas  # with an HPA the field is left to the autoscaler
    meta = _meta(owner.name, owner)
    meta["annotations"] = {names.ANN_MIGRATED_IMAGE: image}
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}
    return _owned(obj, owner, nested="spec.template")


def autoscaler(app: AppSpec, owner: Owner) -> dict[str, Any] | None:
    if app.autoscaling is None:
        return None
    obj = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(owner.name, owner),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": owner.name},
            "minReplicas": app.autoscaling.min_replicas,
            "maxReplicas": app.autoscaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": app.autoscaling.target_cpu},
                    },
                }
            ],
        },
    }
    return _owned(obj, owner)


def disruption_budget(owner: Owner) -> dict[str, Any]:
    obj = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(owner.name, owner),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": names.selector_labels(owner.name)}},
    }
    return _owned(obj, owner)


def migration_job(
    app: AppSpec,
    owner: Owner,
    *,
    image: str,
    inputs: str = "",
    attempt: int = 0,
    attempt_key: str = "",
    secret_hash: str | None = None,
) -> dict[str, Any]:
    """``moorage migrate`` for one image; its log tail lands in the termination message on failure."""
    volumes, mounts = _volumes()
    meta = _meta(names.migration_job_name(owner.name, image, inputs), owner, "migration")
    meta["annotations"] = {names.ANN_IMAGE: image}
    if attempt_key:
        meta["annotations"] |= {names.ANN_ATTEMPT: str(attempt), names.ANN_ATTEMPT_KEY: attempt_key}
    if secret_hash:
        meta["annotations"][names.ANN_MIGRATION_SECRET_HASH] = secret_hash
    pod_labels = names.child_labels(owner.name, "migration")
    obj: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": app.migrations.backoff_limit,
            "activeDeadlineSeconds": app.migrations.timeout_seconds,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    # A new image checks its settings before it touches the database or any pod.
                    "initContainers": [
                        {
                            "name": "check-config",
                            "image": image,
                            "imagePullPolicy": app.image_pull_policy,
                            "command": ["moorage", "check-config"],
                            "env": env(app, owner),
                            "envFrom": [{"configMapRef": {"name": names.config_name(owner.name)}}],
                            "securityContext": container_security_context(),
                            "resources": dict(app.resources) or DEFAULT_RESOURCES,
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "volumeMounts": mounts,
                        }
                    ],
                    "containers": [
                        {
                            "name": "migrate",
                            "image": image,
                            "imagePullPolicy": app.image_pull_policy,
                            "command": ["moorage", "migrate"],
                            "env": env(app, owner, migration=True),
                            "envFrom": [{"configMapRef": {"name": names.config_name(owner.name)}}],
                            "securityContext": container_security_context(),
                            "resources": dict(app.resources) or DEFAULT_RESOURCES,
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
    apply_pod_controls(obj["spec"]["template"], app.pod, owner.name, server=False)
    return _owned(obj, owner)


PREFLIGHT_DEADLINE_SECONDS = 120


def preflight_job(app: AppSpec, owner: Owner, *, image: str) -> dict[str, Any]:
    """``moorage check-config`` with the new settings inline, before any serving pod may get them.

    The config goes in as plain env values, not through the ConfigMap: that keeps the old settings
    until this Job passed. One try (the check is deterministic); the refusal lands in the termination
    message (the service prints the variable and the rule on stderr).
    """
    volumes, mounts = _volumes()
    config_hash = content_hash(dict(app.config))
    meta = _meta(names.preflight_job_name(owner.name, image, config_hash), owner, "preflight")
    meta["annotations"] = {names.ANN_IMAGE: image, names.ANN_CONFIG_HASH: config_hash}
    inline = [{"name": k, "value": v} for k, v in sorted(app.config.items())]
    obj: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": PREFLIGHT_DEADLINE_SECONDS,
            "template": {
                "metadata": {"labels": names.child_labels(owner.name, "preflight")},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    "containers": [
                        {
                            "name": "check-config",
                            "image": image,
                            "imagePullPolicy": app.image_pull_policy,
                            "command": ["moorage", "check-config"],
                            "env": env(app, owner) + inline,
                            "securityContext": container_security_context(),
                            "resources": dict(app.resources) or DEFAULT_RESOURCES,
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
    # The serving pods' identity, pull secrets, scheduling and env: the check sees what they would get.
    more_env = forwarded_env(app.expose, app.config)
    apply_pod_controls(obj["spec"]["template"], app.pod, owner.name, server=False, more_env=more_env)
    return _owned(obj, owner)
