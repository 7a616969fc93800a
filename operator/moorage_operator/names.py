"""Names, labels and annotation keys shared by the builders, the reconcile steps and the handlers."""

from __future__ import annotations

import hashlib
import re

GROUP = "apps.moorage.dev"
VERSION = "v1alpha1"
PLURAL = "appinstances"
KIND = "AppInstance"
FIELD_MANAGER = "moorage-operator"
KOPF_PREFIX = "operator.moorage.dev"  # kopf's finalizer and bookkeeping annotations

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_OWNER = f"{GROUP}/instance"
MANAGED_BY = "moorage-operator"

ANN_ROTATE = f"{GROUP}/rotate"  # on the AppInstance: a new value asks for a rotation
ANN_RETRY_MIGRATION = f"{GROUP}/retry-migration"  # on the AppInstance: a new value retries a failed migration
ANN_APPLIED_HASH = f"{GROUP}/applied-hash"
ANN_IMAGE = f"{GROUP}/image"
ANN_MIGRATED_IMAGE = f"{GROUP}/migrated-image"
ANN_ATTEMPT = f"{GROUP}/attempt"  # on a migration Job: which automatic retry it is (0: the first run)
ANN_ATTEMPT_KEY = f"{GROUP}/attempt-key"  # on a migration Job: the image and inputs its attempts count for
ANN_KEY_RING = f"{GROUP}/key-ring"  # on the pod template: rolls the pods when the ring changes
ANN_CONFIG_HASH = f"{GROUP}/config-hash"
# On the pod template: salted hashes of the data the pods consume by reference, so a rotated password
# or a changed platform Secret/ConfigMap rolls the pods (the values never appear anywhere). One per
# source, like the chart's checksum/* annotations: the database Secret, and spec.env/envFrom/redis.
ANN_DATABASE_HASH = f"{GROUP}/database-secret-hash"
ANN_REFERENCES_HASH = f"{GROUP}/references-hash"
# On a migration Job: the salted hash of the migration Secret's data it started with; a failed Job
# whose hash is no longer current is retried at once (a corrected password).
ANN_MIGRATION_SECRET_HASH = f"{GROUP}/migration-secret-hash"
ANN_ROTATED_AT = f"{GROUP}/rotated-at"
ANN_PREVIOUS_EXPIRES_AT = f"{GROUP}/previous-expires-at"
ANN_ROTATE_HANDLED = f"{GROUP}/rotate-handled"
ANN_KEY_ID = f"{GROUP}/key-id"
ANN_PREVIOUS_KEY_ID = f"{GROUP}/previous-key-id"

SECRET_KEY = "SECRET_KEY"  # noqa: S105 - a key name, not a secret
SECRET_KEY_PREVIOUS = "SECRET_KEY_PREVIOUS"  # noqa: S105

MAX_NAME = 63
_DNS_UNSAFE = re.compile(r"[^a-z0-9-]+")


def selector_labels(instance: str) -> dict[str, str]:
    """The labels that select an instance's serving pods (never change them: selectors are immutable).

    The component keeps migration pods out of the Service and the disruption budget.
    """
    return {LABEL_NAME: "moorage", LABEL_INSTANCE: instance, LABEL_COMPONENT: "server"}


def child_labels(instance: str, component: str = "server") -> dict[str, str]:
    return {
        LABEL_NAME: "moorage",
        LABEL_INSTANCE: instance,
        LABEL_COMPONENT: component,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_OWNER: instance,
    }


def keyring_name(instance: str) -> str:
    return _bounded(f"{instance}-keys")


def config_name(instance: str) -> str:
    return _bounded(f"{instance}-config")


def _bounded(name: str) -> str:
    """Instance names are ≤ 63 characters by the CRD; suffixed names are hashed to stay within bounds."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"


def migration_job_name(instance: str, image: str, inputs: str = "") -> str:
    """A Job name derived from the instance and the image: a retry finds the same Job, never a second one.

    ``inputs`` holds whatever else decides the migration's outcome (its database Secret, the retry
    annotation), so correcting those starts a fresh Job too. DNS-1123 label safe and at most 63
    characters; the image contributes a hash and the instance part is truncated when needed.
    """
    digest = hashlib.sha256(f"{instance}\0{image}\0{inputs}".encode()).hexdigest()[:10]
    suffix = f"-migrate-{digest}"
    head = _DNS_UNSAFE.sub("-", instance.lower()).strip("-")[: MAX_NAME - len(suffix)].rstrip("-")
    return f"{head or 'app'}{suffix}"


def preflight_job_name(instance: str, image: str, config_hash: str) -> str:
    """The ``moorage check-config`` Job for one image and config: the same inputs find the same Job."""
    digest = hashlib.sha256(f"{instance}\0{image}\0{config_hash}".encode()).hexdigest()[:10]
    suffix = f"-preflight-{digest}"
    head = _DNS_UNSAFE.sub("-", instance.lower()).strip("-")[: MAX_NAME - len(suffix)].rstrip("-")
    return f"{head or 'app'}{suffix}"
