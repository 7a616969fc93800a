"""The Secrets and ConfigMaps the pods consume by reference, and salted hashes of their data.

The operator watches every Secret and ConfigMap of the namespaces it serves and keeps, per object, a
sha256 of each key's value (``digests``), never the value. ``resolve`` folds the digests of an
instance's references into one hash salted with the instance's uid (so it cannot be compared with
hashes of guessed passwords elsewhere); the pod template carries it, so a changed value rolls the
pods as Reloader does. A missing required reference is reported; a missing optional one counts as
absent, and its appearance later changes the hash too (env is read only when a container starts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from moorage_operator import names
from moorage_operator.reconcile.model import NORMAL, Event, Observed
from moorage_operator.spec import AppSpec, SecretKeyRef

SECRET = "Secret"  # noqa: S105 - a kind, not a secret
CONFIG_MAP = "ConfigMap"

# (kind, name) -> the object's per-key digests, or None when the object does not exist.
Digests = Mapping[str, str]
Lookup = Callable[[str, str], Digests | None]


@dataclass(frozen=True, slots=True)
class Reference:
    kind: str  # SECRET or CONFIG_MAP
    name: str
    key: str | None  # None: every key (envFrom)
    optional: bool
    where: str  # the spec field it comes from, for messages

    def describe(self) -> str:
        key = f" key {self.key!r}" if self.key is not None else ""
        return f"the {self.kind} {self.name!r}{key} ({self.where})"


@dataclass(frozen=True, slots=True)
class Referenced:
    """What an instance consumes by reference: its serving pods, and its migration Job."""

    database: Reference
    migration: Reference
    pods: tuple[Reference, ...]  # spec.env valueFrom, spec.envFrom, spec.redis.secretRef


@dataclass(frozen=True, slots=True)
class Resolved:
    hash: str | None  # None: nothing referenced, or a required reference is missing
    missing: tuple[Reference, ...] = ()


def _secret_ref(ref: SecretKeyRef, where: str) -> Reference:
    return Reference(SECRET, ref.name, ref.key, False, where)


def _pod_references(app: AppSpec) -> tuple[Reference, ...]:
    refs: list[Reference] = []
    if app.pod.redis is not None:
        name, key = app.pod.redis
        refs.append(Reference(SECRET, name, key, False, "spec.redis.secretRef"))
    for i, item in enumerate(app.pod.env):
        source = item.get("valueFrom") or {}
        for field, kind in (("secretKeyRef", SECRET), ("configMapKeyRef", CONFIG_MAP)):
            ref = source.get(field)
            if isinstance(ref, Mapping) and ref.get("name"):
                where = f"spec.env[{i}].valueFrom.{field}"
                refs.append(
                    Reference(kind, str(ref["name"]), str(ref.get("key")), bool(ref.get("optional")), where)
                )
    for i, item in enumerate(app.pod.env_from):
        for field, kind in (("secretRef", SECRET), ("configMapRef", CONFIG_MAP)):
            ref = item.get(field)
            if isinstance(ref, Mapping) and ref.get("name"):
                where = f"spec.envFrom[{i}].{field}"
                refs.append(Reference(kind, str(ref["name"]), None, bool(ref.get("optional")), where))
    return tuple(refs)


def referenced(app: AppSpec) -> Referenced:
    return Referenced(
        database=_secret_ref(app.database, "spec.database.secretRef"),
        migration=_secret_ref(
            app.migration_database,
            "spec.database.migrationSecretRef"
            if app.migration_database != app.database
            else "spec.database.secretRef",
        ),
        pods=_pod_references(app),
    )


def digests(body: Mapping[str, Any]) -> dict[str, str]:
    """A sha256 of each key's value (the stored form: base64 for Secrets), never the value itself."""
    out: dict[str, str] = {}
    for field in ("data", "binaryData"):
        for key, value in (body.get(field) or {}).items():
            out[str(key)] = hashlib.sha256(f"{field}\0{value}".encode()).hexdigest()
    return out


def resolve(salt: str, refs: Iterable[Reference], lookup: Lookup) -> Resolved:
    """One salted hash over the referenced data, independent of the references' order."""
    by_target: dict[tuple[str, str, str], list[Reference]] = {}
    for ref in refs:
        by_target.setdefault((ref.kind, ref.name, "" if ref.key is None else f"={ref.key}"), []).append(ref)
    if not by_target:
        return Resolved(None)
    digest = hashlib.sha256(salt.encode())
    missing: list[Reference] = []
    for kind, name, key in sorted(by_target):
        required = [r for r in by_target[(kind, name, key)] if not r.optional]
        stored = lookup(kind, name)
        if key:
            value = None if stored is None else stored.get(key[1:])
            present = value is not None
            entries = [f"{key}\0{value}"] if present else []
        else:
            present = stored is not None
            entries = [f"{k}\0{v}" for k, v in sorted((stored or {}).items())]
        if not present and required:
            missing.append(required[0])
        digest.update(f"\0{kind}\0{name}\0{key}\0{'present' if present else 'absent'}".encode())
        for entry in entries:
            digest.update(f"\0{entry}".encode())
    if missing:
        return Resolved(None, tuple(missing))
    return Resolved(digest.hexdigest()[:16])


def observe_references(observed: Observed, salt: str, wanted: Referenced, lookup: Lookup) -> None:
    """Fill the observed reference fields from the watched Secrets and ConfigMaps."""
    database = resolve(salt, [wanted.database], lookup)
    observed.database_secret_hash = database.hash
    observed.database_secret_present = database.hash is not None
    pods = resolve(salt, wanted.pods, lookup)
    observed.references_hash = pods.hash
    observed.missing_references = pods.missing
    migration = resolve(salt, [wanted.migration], lookup)
    observed.migration_secret_hash = migration.hash
    observed.migration_secret_present = migration.hash is not None


def _template(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((obj or {}).get("spec") or {}).get("template") or {}


def _consumed(template: Mapping[str, Any]) -> list[Any]:
    """What the pod's containers reference (env and envFrom), to tell a data change from a spec change."""
    containers = (template.get("spec") or {}).get("containers") or []
    return [(c.get("env"), c.get("envFrom")) for c in containers]


def data_changed_events(
    app: AppSpec, running: Mapping[str, Any] | None, desired: Mapping[str, Any]
) -> list[Event]:
    """An event per source whose referenced data changed under an unchanged reference: the pods roll."""
    before, after = _template(running), _template(desired)
    if running is None or _consumed(before) != _consumed(after):
        return []
    was = (before.get("metadata") or {}).get("annotations") or {}
    now = (after.get("metadata") or {}).get("annotations") or {}
    events: list[Event] = []
    if was.get(names.ANN_DATABASE_HASH) and was.get(names.ANN_DATABASE_HASH) != now.get(
        names.ANN_DATABASE_HASH
    ):
        message = f"the data of Secret {app.database.name} changed: rolling the pods"
        events.append(Event(NORMAL, "DatabaseSecretChanged", message))
    if was.get(names.ANN_REFERENCES_HASH) != now.get(names.ANN_REFERENCES_HASH) and now.get(
        names.ANN_REFERENCES_HASH
    ):
        listed = ", ".join(sorted({f"{r.kind} {r.name}" for r in _pod_references(app)}))
        message = f"the referenced data changed ({listed}, from spec.env/envFrom/redis): rolling the pods"
        events.append(Event(NORMAL, "ReferencedDataChanged", message))
    return events
