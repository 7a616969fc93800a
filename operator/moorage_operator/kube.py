"""A thin, generic Kubernetes client on top of kubernetes-asyncio: JSON objects in and out.

Children are written with server-side apply (one field manager, so the operator owns its fields and
repeats are no-ops); the key ring is replaced with its ``resourceVersion`` so a stale view never wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from moorage_operator import names

_PLURALS = {
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Service": "services",
    "Pod": "pods",
    "Deployment": "deployments",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "Job": "jobs",
    names.KIND: names.PLURAL,
}
_OBJECT = {200: "object", 201: "object", 202: "object"}


def _api_message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)


RETRY_DELAY = 5.0


def collection_path(api_version: str, kind: str, namespace: str) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    return f"{base}/namespaces/{namespace}/{_PLURALS[kind]}"


class Rejected(Exception):
    """The API server refused an object as invalid: retrying the same object cannot help."""


class Kube:
    """One shared connection pool; every call raises kopf's errors so handlers retry with backoff."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api

    @classmethod
    async def connect(cls) -> Kube:
        configuration = client.Configuration()
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            # KUBECONFIG is read now, not when the library was imported (tests set it late).
            await config.load_kube_config(
                config_file=os.environ.get("KUBECONFIG") or None,
                client_configuration=configuration,
                context=os.environ.get("MOORAGE_KUBE_CONTEXT") or None,
            )
        return cls(client.ApiClient(configuration))

    async def close(self) -> None:
        await self.api.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        try:
            return await self.api.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body,
                response_types_map=_OBJECT,
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=True,
            )
        except ApiException as exc:
            if exc.status in (400, 422) and method in ("POST", "PUT", "PATCH"):
                raise Rejected(f"{path.rsplit('/', 1)[-1]}: {_api_message(exc)}") from exc
            if exc.status in (404, 409, 410):
                raise
            # Throttling, timeouts and server errors are transient: kopf retries after a delay.
            raise kopf.TemporaryError(
                f"{method} {path}: {exc.status} {exc.reason}", delay=RETRY_DELAY
            ) from exc

    async def apply(self, obj: Mapping[str, Any]) -> Any:
        meta = obj["metadata"]
        path = f"{collection_path(obj['apiVersion'], obj['kind'], meta['namespace'])}/{meta['name']}"
        query = [("fieldManager", names.FIELD_MANAGER), ("force", "true")]
        return await self._call(
            "PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml"
        )

    async def create(self, obj: Mapping[str, Any]) -> bool:
        """Create; ``False`` when it already exists (a deterministic name made the retry harmless)."""
        meta = obj["metadata"]
        try:
            await self._call(
                "POST", collection_path(obj["apiVersion"], obj["kind"], meta["namespace"]), body=obj
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def replace(self, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        path = f"{collection_path(obj['apiVersion'], obj['kind'], meta['namespace'])}/{meta['name']}"
        try:
            await self._call("PUT", path, body=obj)
        except ApiException as exc:
            if exc.status == 409:
                raise kopf.TemporaryError(f"{meta['name']} changed meanwhile; re-reading", delay=1) from exc
            raise

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call(
                "GET", f"{collection_path(api_version, kind, namespace)}/{name}"
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def list(self, api_version: str, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        result = await self._call(
            "GET", collection_path(api_version, kind, namespace), query=[("labelSelector", selector)]
        )
        return list(result.get("items") or [])

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        # Foreground: the Job stays visible until its pods are gone, so a new migration never overlaps.
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground"}
        try:
            await self._call("DELETE", f"{collection_path(api_version, kind, namespace)}/{name}", body=body)
        except ApiException as exc:
            if exc.status != 404:
                raise
