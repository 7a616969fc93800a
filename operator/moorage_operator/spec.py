"""The ``AppInstance`` spec as typed values, with the defaults the CRD also declares.

The API server validates the schema; this module re-checks what the operator relies on and adds the
rules a schema cannot express, raising ``InvalidSpec`` with a reason for the Degraded condition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from moorage_operator.durations import parse_duration
from moorage_operator.exposure import Exposure, parse_exposure
from moorage_operator.netpol import NetworkPolicySpec, parse_network_policy
from moorage_operator.podspec import PodControls, parse_pod_controls

DEFAULT_REPLICAS = 2
DEFAULT_ROTATION_INTERVAL = "720h"
DEFAULT_GRACE_PERIOD = "25h"
DEFAULT_MIGRATION_TIMEOUT = 600
DEFAULT_BACKOFF_LIMIT = 3
# Sized for this service: a cold start on a loaded node, the 10 s preStop pause and a surge pod per replica.
DEFAULT_PROGRESS_DEADLINE = 300
# The service's defaults (docs/contract.md): the grace period must outlive every token.
DEFAULT_TOKEN_TTLS = {"ACCESS_TOKEN_TTL_SECONDS": 900, "REFRESH_TOKEN_TTL_SECONDS": 86400}
RESERVED_ENV = frozenset({"DATABASE_URL", "SECRET_KEY", "SECRET_KEY_PREVIOUS", "PORT", "HOST"})
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class InvalidSpec(ValueError):
    """A spec the operator cannot act on; ``reason`` goes into the Degraded condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True, slots=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    target_cpu: int


@dataclass(frozen=True, slots=True)
class Migrations:
    enabled: bool = True
    timeout_seconds: int = DEFAULT_MIGRATION_TIMEOUT
    backoff_limit: int = DEFAULT_BACKOFF_LIMIT


@dataclass(frozen=True, slots=True)
class Rollout:
    progress_deadline_seconds: int = DEFAULT_PROGRESS_DEADLINE
    auto_rollback: bool = True


@dataclass(frozen=True, slots=True)
class Rotation:
    interval: timedelta
    grace_period: timedelta


@dataclass(frozen=True, slots=True)
class AppSpec:
    image: str
    database: SecretKeyRef
    migration_database: SecretKeyRef
    replicas: int = DEFAULT_REPLICAS
    autoscaling: Autoscaling | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)
    migrations: Migrations = Migrations()
    rotation: Rotation = Rotation(
        parse_duration(DEFAULT_ROTATION_INTERVAL), parse_duration(DEFAULT_GRACE_PERIOD)
    )
    paused: bool = False
    image_pull_policy: str = "IfNotPresent"
    rollout: Rollout = Rollout()
    pod: PodControls = field(default_factory=PodControls)
    expose: Exposure | None = None
    network_policy: NetworkPolicySpec | None = None


def migration_inputs(app: AppSpec, retry: str | None) -> str:
    """What besides the image decides a migration's outcome; part of the Job's name."""
    ref = app.migration_database
    return f"{ref.name}/{ref.key}/{retry or ''}"


def _ref(raw: Any, where: str) -> SecretKeyRef:
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise InvalidSpec("InvalidSpec", f"{where}.name is required")
    return SecretKeyRef(name=str(raw["name"]), key=str(raw.get("key") or "DATABASE_URL"))


def _duration(raw: Any, default: str, where: str) -> timedelta:
    try:
        return parse_duration(str(raw if raw is not None else default))
    except ValueError as exc:
        raise InvalidSpec("InvalidSpec", f"{where}: {exc}") from exc


def _config(raw: Any) -> dict[str, str]:
    """``[{name, value}]`` (the CRD's form) into a mapping; later duplicates win, as with env."""
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) and "name" in item for item in raw):
        raise InvalidSpec("InvalidConfig", "spec.config must be a list of {name, value}")
    return {str(item["name"]): str(item.get("value", "")) for item in raw}


def parse_spec(spec: Mapping[str, Any]) -> AppSpec:
    image = spec.get("image")
    if not isinstance(image, str) or not image:
        raise InvalidSpec("InvalidSpec", "spec.image is required")
    database = spec.get("database") or {}
    db_ref = _ref(database.get("secretRef"), "spec.database.secretRef")
    migration_ref = (
        _ref(database["migrationSecretRef"], "spec.database.migrationSecretRef")
        if database.get("migrationSecretRef")
        else db_ref
    )

    autoscaling = None
    raw_auto = spec.get("autoscaling")
    if raw_auto:
        autoscaling = Autoscaling(
            min_replicas=int(raw_auto.get("minReplicas", 1)),
            max_replicas=int(raw_auto.get("maxReplicas", 1)),
            target_cpu=int(raw_auto.get("targetCPUUtilizationPercentage", 80)),
        )
        if autoscaling.min_replicas > autoscaling.max_replicas:
            raise InvalidSpec("InvalidSpec", "spec.autoscaling.minReplicas must be <= maxReplicas")

    config = _config(spec.get("config"))
    for name in config:
        if not _ENV_NAME.match(name):
            raise InvalidSpec("InvalidConfig", f"spec.config.{name} is not an environment variable name")
        if name in RESERVED_ENV:
            raise InvalidSpec("InvalidConfig", f"spec.config.{name} is managed by the operator")

    raw_mig = spec.get("migrations") or {}
    migrations = Migrations(
        enabled=bool(raw_mig.get("enabled", True)),
        timeout_seconds=int(raw_mig.get("timeoutSeconds", DEFAULT_MIGRATION_TIMEOUT)),
        backoff_limit=int(raw_mig.get("backoffLimit", DEFAULT_BACKOFF_LIMIT)),
    )

    raw_rollout = spec.get("rollout") or {}
    raw_rot = spec.get("secretRotation") or {}
    rotation = Rotation(
        interval=_duration(
            raw_rot.get("interval"), DEFAULT_ROTATION_INTERVAL, "spec.secretRotation.interval"
        ),
        grace_period=_duration(
            raw_rot.get("gracePeriod"), DEFAULT_GRACE_PERIOD, "spec.secretRotation.gracePeriod"
        ),
    )
    if rotation.grace_period >= rotation.interval:
        raise InvalidSpec("InvalidSpec", "spec.secretRotation.gracePeriod must be shorter than interval")

    try:
        pod = parse_pod_controls(spec, frozenset(config))
        expose = parse_exposure(spec.get("expose"))
        network_policy = parse_network_policy(spec.get("networkPolicy"))
    except ValueError as exc:
        raise InvalidSpec("InvalidSpec", str(exc)) from exc

    return AppSpec(
        image=image,
        database=db_ref,
        migration_database=migration_ref,
        replicas=int(spec.get("replicas", DEFAULT_REPLICAS)),
        autoscaling=autoscaling,
        config=config,
        resources=dict(spec.get("resources") or {}),
        migrations=migrations,
        rotation=rotation,
        paused=bool(spec.get("paused", False)),
        image_pull_policy=str(spec.get("imagePullPolicy", "IfNotPresent")),
        rollout=Rollout(
            progress_deadline_seconds=int(
                raw_rollout.get("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE)
            ),
            auto_rollback=bool(raw_rollout.get("autoRollback", True)),
        ),
        pod=pod,
        expose=expose,
        network_policy=network_policy,
    )


def longest_token_lifetime(config: Mapping[str, str]) -> timedelta:
    """The longest token lifetime the service will issue under this config."""
    longest = 0
    for name, default in DEFAULT_TOKEN_TTLS.items():
        try:
            longest = max(longest, int(config.get(name, default)))
        except ValueError:
            longest = max(longest, default)
    return timedelta(seconds=longest)


def grace_problem(app: AppSpec) -> str | None:
    """A warning when the grace period would log users out: it must cover the longest token lifetime."""
    longest = longest_token_lifetime(app.config)
    if app.rotation.grace_period < longest:
        return (
            f"spec.secretRotation.gracePeriod ({int(app.rotation.grace_period.total_seconds())}s) is shorter "
            f"than the longest token lifetime ({int(longest.total_seconds())}s): tokens issued before a "
            "rotation would be rejected early"
        )
    return None
