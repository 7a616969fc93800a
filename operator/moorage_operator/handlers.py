"""The kopf wiring: settings, indexes of the children, and one reconcile behind every trigger.

Run with ``kopf run -m moorage_operator.handlers`` (or ``python -m moorage_operator``). The children are
kept in kopf indexes fed by watch streams, and so are digests of every Secret and ConfigMap an instance
may reference, so each reconcile reads the cluster's state without extra GET requests; the
create/update/resume handlers react at once, the timer re-checks every few seconds (rotation due-times,
migration Jobs, rollouts, changed referenced data).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import kopf

from moorage_operator import metrics, names
from moorage_operator.conditions import find
from moorage_operator.kube import Kube, Rejected
from moorage_operator.reconcile import (
    Instance,
    Observed,
    Plan,
    failure_message_to_fetch,
    job_state,
    plan,
    reads,
    rejected_status,
)
from moorage_operator.reconcile.kinds import CHILDREN, REFERENCED, REFERENCED_BY_KIND, Kind
from moorage_operator.reconcile.redaction import blank, secret_values
from moorage_operator.reconcile.references import Digests, digests, observe_references

RESOURCE = (names.GROUP, names.VERSION, names.PLURAL)
MANAGED: dict[str, Any] = {
    names.LABEL_MANAGED_BY: names.MANAGED_BY,
    names.LABEL_OWNER: kopf.PRESENT,
}
RESYNC_SECONDS = float(os.environ.get("MOORAGE_RESYNC_SECONDS", "3"))
# How often unchanged children are re-applied to undo manual edits (drift); at most a minute.
DRIFT_SECONDS = min(float(os.environ.get("MOORAGE_DRIFT_SECONDS", "30")), 60.0)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.peering.name = os.environ.get("MOORAGE_PEERING_NAME", "moorage-operator")
    settings.peering.mandatory = os.environ.get("MOORAGE_PEERING_MANDATORY", "false") == "true"
    settings.peering.stealth = True
    if os.environ.get("MOORAGE_PEERING_PRIORITY"):
        settings.peering.priority = int(os.environ["MOORAGE_PEERING_PRIORITY"])
    elif settings.peering.priority == 0:
        # Equal priorities make every replica freeze; distinct ones let exactly one act at a time.
        settings.peering.priority = random.randint(1, 1_000_000)  # noqa: S311 - not security relevant
    settings.posting.reporting_component = names.MANAGED_BY
    settings.posting.level = logging.INFO
    # kopf's own bookkeeping gets its own prefix: kopf ignores every annotation under a prefix it
    # stores state in, and our apps.moorage.dev/rotate must count as a change.
    settings.persistence.finalizer = f"{names.KOPF_PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=names.KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=names.KOPF_PREFIX, key="last-handled-configuration"
    )
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.networking.error_backoffs = [1, 2, 5, 10, 20, 30]
    settings.execution.max_workers = 4
    memo["kube"] = await Kube.connect(settings)
    if os.environ.get("MOORAGE_METRICS_PORT"):
        memo["metrics"], port = metrics.serve(int(os.environ["MOORAGE_METRICS_PORT"]))
        logging.getLogger(__name__).info("metrics on :%d/metrics", port)
    # Mutual exclusion between the change handlers and the timer of one instance; nothing else.
    memo["locks"] = {}
    memo["reapplied"] = {}  # (namespace, name) -> monotonic time of the last drift check


@kopf.on.cleanup()
async def disconnect(memo: kopf.Memo, **_: Any) -> None:
    kube = memo.get("kube")
    if isinstance(kube, Kube):
        await kube.close()
    if memo.get("metrics") is not None:
        await asyncio.to_thread(metrics.stop, memo["metrics"])


@kopf.on.probe(id="instances")
def count_instances(memo: kopf.Memo, **_: Any) -> int:
    return len(memo.get("locks") or {})


def _slim(body: Mapping[str, Any]) -> dict[str, Any]:
    """A plain copy of a watched object without the bulky bookkeeping."""
    obj = {key: value for key, value in body.items()}
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    obj["metadata"] = meta
    return obj


def _key(namespace: str | None, labels: Mapping[str, str]) -> tuple[str, str]:
    return (namespace or "", labels[names.LABEL_OWNER])


def _indexer(kind: Kind) -> Any:
    async def index(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
        return {_key(namespace, labels): _slim(body)}

    index.__name__ = kind.index
    return index


# One index per kind of child, keyed by (namespace, instance name), fed by watch streams.
for _kind in CHILDREN:
    kopf.index(_kind.group or None, _kind.version, _kind.plural, id=_kind.index, labels=MANAGED)(
        _indexer(_kind)
    )


def _digester(kind: Kind) -> Any:
    async def index(namespace: str | None, name: str | None, body: kopf.Body, **_: Any) -> Any:
        return {(namespace or "", name or ""): digests(body)}

    index.__name__ = kind.index
    return index


# The Secrets and ConfigMaps instances may reference, keyed by (namespace, name): per-key digests only.
# The watch keeps them current, so the next resync (every few seconds) sees a changed value.
for _kind in REFERENCED:
    kopf.index(_kind.group or None, _kind.version, _kind.plural, id=_kind.index)(_digester(_kind))


def _one(index: Any, key: tuple[str, str], name: str) -> Mapping[str, Any] | None:
    for obj in index.get(key, []):
        if (obj.get("metadata") or {}).get("name") == name:
            return dict(obj)
    return None


async def _job_failure_message(kube: Kube, namespace: str, name: str, secrets: Sequence[str]) -> str | None:
    """The newest termination message of the Job's pods (the log tail ``FallbackToLogsOnError`` keeps),
    credentials blanked: it is quoted in events and status."""
    pods = await kube.list("v1", "Pod", namespace, f"batch.kubernetes.io/job-name={name}")
    finished: list[tuple[str, str]] = []
    for pod in pods:
        pod_status = pod.get("status") or {}
        statuses = [
            *(pod_status.get("initContainerStatuses") or []),
            *(pod_status.get("containerStatuses") or []),
        ]
        for status in statuses:
            for state in (status.get("state") or {}, status.get("lastState") or {}):
                term = state.get("terminated") or {}
                if term.get("exitCode", 0) != 0 and term.get("message"):
                    finished.append((str(term.get("finishedAt") or ""), str(term["message"])))
    return blank(max(finished)[1], secrets) if finished else None


async def _observe(kube: Kube, instance: Instance, indexes: Mapping[str, Any]) -> Observed:
    key = (instance.namespace, instance.name)
    observed = Observed()
    for kind in CHILDREN:
        if kind.name is None:
            setattr(observed, kind.field or "", [dict(o) for o in indexes[kind.index].get(key, [])])
        else:
            setattr(observed, kind.field or "", _one(indexes[kind.index], key, kind.name(instance.name)))
    wanted = reads(instance, observed)
    if wanted.references is not None:

        def lookup(kind: str, name: str) -> Digests | None:
            found = indexes[REFERENCED_BY_KIND[kind].index].get((instance.namespace, name), [])
            return next(iter(found), None)

        observe_references(observed, instance.uid, wanted.references, lookup)
    if wanted.server_pods:
        selector = ",".join(f"{k}={v}" for k, v in names.selector_labels(instance.name).items())
        observed.server_pods = await kube.list("v1", "Pod", instance.namespace, selector)
    known, fetch = failure_message_to_fetch(instance, observed, wanted.migration_job)
    observed.job_failure_message = known
    if fetch and wanted.migration_job:
        observed.job_failure_message = await _job_failure_message(
            kube, instance.namespace, wanted.migration_job, secret_values(observed.keyring)
        )
    if wanted.preflight_job:
        job = next((j for j in observed.jobs if j["metadata"]["name"] == wanted.preflight_job), None)
        seen = instance.status.get("preflight") or {}
        if job is not None and job_state(job) == "Failed":
            if seen.get("jobName") == wanted.preflight_job and seen.get("message"):
                observed.preflight_failure_message = str(seen["message"])
            else:
                observed.preflight_failure_message = await _job_failure_message(
                    kube, instance.namespace, wanted.preflight_job, secret_values(observed.keyring)
                )
    return observed


def _post(body: kopf.Body, type_: str, reason: str, message: str) -> None:
    """An Event on the instance, counted in the operator's metrics."""
    kopf.event(body, type=type_, reason=reason, message=message)
    metrics.record_event(type_, reason)


async def _execute(kube: Kube, body: kopf.Body, namespace: str, result: Plan) -> None:
    created: set[str] = set()

    def key(obj: Mapping[str, Any]) -> str:
        return f"{obj['kind']}/{obj['metadata']['name']}"

    # The key ring first: every later object refers to the keys it holds.
    if result.secret_create is not None:
        if not await kube.create(result.secret_create):
            raise kopf.TemporaryError("the key ring exists but is not in the cache yet", delay=1)
        created.add(key(result.secret_create))
    if result.secret_replace is not None:
        await kube.replace(result.secret_replace)
    for patch in result.patches:
        ref = patch.ref
        await kube.json_patch(ref.api_version, ref.kind, namespace, ref.name, patch.operations)
        _post(body, "Normal", "DriftReverted", patch.message)
    for obj in result.applies:
        if await kube.apply(obj):
            created.add(key(obj))
    for again in result.reapplies:
        _, stored = await kube.apply_object(again.desired)
        if again.reverted(stored):
            # Applying an unchanged object changed it: something had edited a field the operator owns.
            what = f"{again.desired['kind']} {again.desired['metadata']['name']}"
            _post(body, "Normal", "DriftReverted", f"reverted manual changes to {what}")
    for ref in result.deletes:
        await kube.delete(ref.api_version, ref.kind, namespace, ref.name)
    for job in (result.preflight_create, result.job_create):
        if job is not None and await kube.create(job):
            created.add(key(job))
    for event in result.events:
        if event.creates is None or event.creates in created:
            _post(body, event.type, event.reason, event.message)


async def reconcile(
    body: kopf.Body,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: kopf.Logger,
    indexes: Mapping[str, Any],
) -> None:
    meta = body.get("metadata") or {}
    instance = Instance(
        name=str(meta["name"]),
        namespace=str(meta["namespace"]),
        uid=str(meta["uid"]),
        generation=int(meta.get("generation", 1)),
        spec=dict(body.get("spec") or {}),
        status=dict(body.get("status") or {}),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
    )
    kube: Kube = memo["kube"]
    locks: dict[tuple[str, str], asyncio.Lock] = memo["locks"]
    lock = locks.setdefault((instance.namespace, instance.name), asyncio.Lock())
    async with lock:
        checked: dict[tuple[str, str], float] = memo["reapplied"]
        key = (instance.namespace, instance.name)
        reapply = time.monotonic() - checked.get(key, float("-inf")) >= DRIFT_SECONDS
        observed = await _observe(kube, instance, indexes)
        now = datetime.now(UTC)
        result = plan(instance, observed, now, reapply=reapply)
        if reapply:
            checked[key] = time.monotonic()
        try:
            await _execute(kube, body, instance.namespace, result)
        except Rejected as exc:
            # A spec the schema let through but the API server refuses: report it, never crash-loop.
            status = rejected_status(instance, result, str(exc), now)
            before = find(instance.status.get("conditions"), "Degraded") or {}
            if before.get("reason") != "ChildRejected":
                kopf.warn(body, reason="ChildRejected", message=str(exc)[:1024])
                metrics.record_event("Warning", "ChildRejected")
            result = Plan(status=status)
    metrics.record_status(instance.namespace, instance.name, result.status.get("conditions"))
    for field, value in result.status.items():
        if _pruned(instance.status.get(field)) != _pruned(value):
            patch.status[field] = value  # a None inside deletes that key (JSON merge patch)
    if result.applies or result.job_create or result.secret_replace or result.secret_create:
        logger.info(
            "reconciled: applied %d, job %s, key ring %s",
            len(result.applies),
            (result.job_create or {}).get("metadata", {}).get("name", "-"),
            "written" if (result.secret_create or result.secret_replace) else "unchanged",
        )


def _pruned(value: Any) -> Any:
    """The value as the API server stores it after a merge patch: without null entries."""
    if isinstance(value, Mapping):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    return value


def _indexes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {kind.index: kwargs[kind.index] for kind in (*CHILDREN, *REFERENCED)}


@kopf.on.resume(*RESOURCE, id="resume")
@kopf.on.create(*RESOURCE, id="create")
@kopf.on.update(*RESOURCE, id="update")
async def on_change(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    with metrics.reconciling(
        body.metadata.namespace or "",
        body.metadata.name or "",
        kwargs.get("reason", "change"),
        kwargs.get("retry", 0),
    ):
        await reconcile(body, patch, memo, logger, _indexes(kwargs))


@kopf.timer(*RESOURCE, interval=RESYNC_SECONDS)
async def resync(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    with metrics.reconciling(
        body.metadata.namespace or "", body.metadata.name or "", "timer", kwargs.get("retry", 0)
    ):
        await reconcile(body, patch, memo, logger, _indexes(kwargs))


@kopf.on.delete(*RESOURCE, optional=True)
def forget(namespace: str | None, name: str | None, memo: kopf.Memo, **_: Any) -> None:
    # The children go with their owner through garbage collection; only the local lock is dropped.
    memo.get("locks", {}).pop((namespace or "", name or ""), None)
    memo.get("reapplied", {}).pop((namespace or "", name or ""), None)
    metrics.forget(namespace or "", name or "")
