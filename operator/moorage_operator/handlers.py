"""The kopf wiring: settings, indexes of the children, and one reconcile behind every trigger.

Run with ``kopf run -m moorage_operator.handlers`` (or ``python -m moorage_operator``). The children are
kept in kopf indexes fed by watch streams, so each reconcile reads the cluster's state without extra
GET requests; the create/update/resume handlers react at once, the timer re-checks every few seconds
(rotation due-times, migration Jobs, rollouts).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from moorage_operator import extras, metrics, names
from moorage_operator.conditions import find, is_true
from moorage_operator.kube import Kube, Rejected
from moorage_operator.planner import Instance, Observed, Plan, job_state, plan
from moorage_operator.spec import InvalidSpec, migration_inputs, parse_spec

RESOURCE = (names.GROUP, names.VERSION, names.PLURAL)
MANAGED: dict[str, Any] = {
    names.LABEL_MANAGED_BY: names.MANAGED_BY,
    names.LABEL_OWNER: kopf.PRESENT,
}
RESYNC_SECONDS = float(os.environ.get("MOORAGE_RESYNC_SECONDS", "3"))


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


# One index per kind of child, keyed by (namespace, instance name), fed by watch streams.
@kopf.index("v1", "secrets", labels=MANAGED)
async def keyrings_idx(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
    return {_key(namespace, labels): _slim(body)}


@kopf.index("v1", "configmaps", labels=MANAGED)
async def configmaps_idx(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
    return {_key(namespace, labels): _slim(body)}


@kopf.index("v1", "services", labels=MANAGED)
async def services_idx(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
    return {_key(namespace, labels): _slim(body)}


@kopf.index("apps", "v1", "deployments", labels=MANAGED)
async def deployments_idx(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
    return {_key(namespace, labels): _slim(body)}


@kopf.index("autoscaling", "v2", "horizontalpodautoscalers", labels=MANAGED)
async def autoscalers_idx(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
    return {_key(namespace, labels): _slim(body)}


@kopf.index("policy", "v1", "poddisruptionbudgets", labels=MANAGED)
async def budgets_idx(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
    return {_key(namespace, labels): _slim(body)}


@kopf.index("batch", "v1", "jobs", labels=MANAGED)
async def jobs_idx(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
    return {_key(namespace, labels): _slim(body)}


# The extras (ServiceAccount, exposure, NetworkPolicy): one index per kind, the same shape.
def _extras_index(kind: extras.ChildKind) -> None:
    async def index(namespace: str | None, labels: Mapping[str, str], body: kopf.Body, **_: Any) -> Any:
        return {_key(namespace, labels): _slim(body)}

    index.__name__ = f"{kind.plural}_idx"
    kopf.index(kind.group, kind.version, kind.plural, labels=MANAGED, id=index.__name__)(index)


for _kind in extras.KINDS:
    _extras_index(_kind)


def _one(index: Any, key: tuple[str, str], name: str) -> Mapping[str, Any] | None:
    for obj in index.get(key, []):
        if (obj.get("metadata") or {}).get("name") == name:
            return dict(obj)
    return None


async def _job_failure_message(kube: Kube, namespace: str, job: Mapping[str, Any]) -> str | None:
    """The newest termination message of the Job's pods: the log tail ``FallbackToLogsOnError`` keeps."""
    name = job["metadata"]["name"]
    pods = await kube.list("v1", "Pod", namespace, f"batch.kubernetes.io/job-name={name}")
    finished: list[tuple[str, str]] = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            for state in (status.get("state") or {}, status.get("lastState") or {}):
                term = state.get("terminated") or {}
                if term.get("exitCode", 0) != 0 and term.get("message"):
                    finished.append((str(term.get("finishedAt") or ""), str(term["message"])))
    return max(finished)[1] if finished else None


async def _observe(
    kube: Kube, instance: Instance, indexes: Mapping[str, Any]
) -> tuple[Observed, Mapping[str, Any] | None]:
    key = (instance.namespace, instance.name)
    observed = Observed(
        keyring=_one(indexes["keyrings_idx"], key, names.keyring_name(instance.name)),
        config_map=_one(indexes["configmaps_idx"], key, names.config_name(instance.name)),
        service=_one(indexes["services_idx"], key, instance.name),
        deployment=_one(indexes["deployments_idx"], key, instance.name),
        autoscaler=_one(indexes["autoscalers_idx"], key, instance.name),
        disruption_budget=_one(indexes["budgets_idx"], key, instance.name),
        jobs=[dict(j) for j in indexes["jobs_idx"].get(key, [])],
        extras={
            extras.key(obj): dict(obj)
            for kind in extras.KINDS
            for obj in indexes[f"{kind.plural}_idx"].get(key, [])
        },
    )
    try:
        app = parse_spec(instance.spec)
    except InvalidSpec:
        return observed, None
    # The database Secret belongs to the user and is not watched: look while not Ready or on a change.
    changed = instance.status.get("observedGeneration") != instance.generation
    if changed or not is_true(instance.status.get("conditions"), "Ready"):
        refs = {
            (app.database.name, app.database.key),
            (app.migration_database.name, app.migration_database.key),
        }
        present = True
        for secret_name, secret_key in refs:
            secret = await kube.get("v1", "Secret", instance.namespace, secret_name)
            present = present and secret is not None and secret_key in (secret.get("data") or {})
        observed.database_secret_present = present
    inputs = migration_inputs(app, instance.annotations.get(names.ANN_RETRY_MIGRATION))
    wanted = names.migration_job_name(instance.name, app.image, inputs)
    job = next((j for j in observed.jobs if j["metadata"]["name"] == wanted), None)
    if job is not None and (job_state(job) == "Failed" or (job.get("status") or {}).get("failed")):
        seen = instance.status.get("migration") or {}
        failures = (job.get("status") or {}).get("failed")
        if seen.get("jobName") == wanted and seen.get("failures") == failures and seen.get("message"):
            observed.job_failure_message = seen["message"]
        else:
            observed.job_failure_message = await _job_failure_message(kube, instance.namespace, job)
    return observed, job


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
    for obj in result.applies:
        if await kube.apply(obj):
            created.add(key(obj))
    for ref in result.deletes:
        await kube.delete(ref.api_version, ref.kind, namespace, ref.name)
    if result.job_create is not None and await kube.create(result.job_create):
        created.add(key(result.job_create))
    for event in result.events:
        if event.creates is None or event.creates in created:
            kopf.event(body, type=event.type, reason=event.reason, message=event.message)
            metrics.record_event(event.type, event.reason)


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
        observed, _ = await _observe(kube, instance, indexes)
        now = datetime.now(UTC)
        result = plan(instance, observed, now)
        try:
            await _execute(kube, body, instance.namespace, result)
        except Rejected as exc:
            # A spec the schema let through but the API server refuses: report it, never crash-loop.
            observed.rejected = str(exc)
            conditions = plan(instance, observed, now).status["conditions"]
            status = {**result.status, "conditions": conditions}
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
    return {name: value for name, value in kwargs.items() if name.endswith("_idx")}


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
    metrics.forget(namespace or "", name or "")
