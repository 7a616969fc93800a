"""A small Kubernetes API client on aiohttp with kopf's credentials: JSON objects in and out.

Children are written with server-side apply (one field manager, so repeats are no-ops); the key ring
is replaced with its ``resourceVersion`` so a stale view never wins. The full client libraries are
avoided on purpose: importing every generated model costs the operator about 70 MB of memory.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import kopf

from moorage_operator import names
from moorage_operator.extras import KINDS

_PLURALS = {
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Service": "services",
    "Pod": "pods",
    "Deployment": "deployments",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "Job": "jobs",
    **{kind.kind: kind.plural for kind in KINDS},
    names.KIND: names.PLURAL,
}
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
RETRY_DELAY = 5.0
REQUEST_TIMEOUT = 30.0


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Rejected(Exception):
    """The API server refused an object as invalid: retrying the same object cannot help."""


def collection_path(api_version: str, kind: str, namespace: str) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    return f"{base}/namespaces/{namespace}/{_PLURALS[kind]}"


def _pem(data: str | bytes) -> bytes:
    """Kubeconfig ``*-data`` fields are base64 of PEM; service accounts give PEM directly."""
    raw = data.encode() if isinstance(data, str) else data
    return raw if raw.lstrip().startswith(b"-----") else base64.b64decode(raw)


def _ssl_context(info: kopf.ConnectionInfo) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=os.fspath(info.ca_path) if info.ca_path else None,
        cadata=_pem(info.ca_data).decode() if info.ca_data else None,
    )
    if info.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert, key = info.certificate_path, info.private_key_path
    if info.certificate_data or info.private_key_data:
        # ssl loads client certificates from files only; keep them private and short-lived.
        folder = Path(tempfile.mkdtemp(prefix="moorage-operator-"))
        if info.certificate_data:
            cert = folder / "client.crt"
            cert.write_bytes(_pem(info.certificate_data))
        if info.private_key_data:
            key = folder / "client.key"
            key.touch(mode=0o600)
            key.write_bytes(_pem(info.private_key_data))
    if cert:
        context.load_cert_chain(os.fspath(cert), os.fspath(key) if key else None)
    return context


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and SERVICE_ACCOUNT_TOKEN.exists()


class Kube:
    """One shared connection pool; transient failures become ``kopf.TemporaryError`` (retried later)."""

    def __init__(
        self, session: aiohttp.ClientSession, server: str, token: str | None, token_file: bool
    ) -> None:
        self.session = session
        self.server = server.rstrip("/")
        self.token = token
        self.token_file = token_file

    @classmethod
    async def connect(cls, settings: kopf.OperatorSettings) -> Kube:
        """The same credentials kopf uses: the pod's service account, else the current kubeconfig context."""
        info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
            settings=settings
        )
        if info is None:
            raise kopf.PermanentError("no Kubernetes credentials: neither a service account nor a kubeconfig")
        headers = {"Accept": "application/json", "User-Agent": names.FIELD_MANAGER}
        auth = aiohttp.BasicAuth(info.username, info.password or "") if info.username else None
        session = aiohttp.ClientSession(
            headers=headers,
            auth=auth,
            connector=aiohttp.TCPConnector(ssl=_ssl_context(info), limit=32),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        )
        return cls(session, info.server, info.token, token_file=_in_cluster())

    async def close(self) -> None:
        await self.session.close()

    def _auth_headers(self) -> dict[str, str]:
        token = self.token
        if self.token_file:
            token = SERVICE_ACCOUNT_TOKEN.read_text().strip()  # the kubelet refreshes it: read it fresh
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        headers = {**self._auth_headers(), "Content-Type": content_type}
        data = json.dumps(body) if body is not None else None
        try:
            async with self.session.request(
                method, self.server + path, params=query, data=data, headers=headers
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise kopf.TemporaryError(f"{method} {path}: {exc!r}", delay=RETRY_DELAY) from exc
        if status < 300:
            return status, (json.loads(text) if text else {})
        try:
            message = str(json.loads(text).get("message") or text)
        except ValueError:
            message = text
        if status in (400, 422) and method in ("POST", "PUT", "PATCH"):
            raise Rejected(f"{path.rsplit('/', 1)[-1]}: {message}")
        if status in (404, 409, 410):
            raise ApiError(status, message)
        # Throttling, authorisation hiccups and server errors: kopf retries after a delay.
        raise kopf.TemporaryError(f"{method} {path}: {status} {message}", delay=RETRY_DELAY)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        _, result = await self._request(method, path, **kwargs)
        return result

    async def apply(self, obj: Mapping[str, Any]) -> bool:
        """Server-side apply; ``True`` when this call created the object (201)."""
        meta = obj["metadata"]
        path = f"{collection_path(obj['apiVersion'], obj['kind'], meta['namespace'])}/{meta['name']}"
        query = {"fieldManager": names.FIELD_MANAGER, "force": "true"}
        status, _ = await self._request(
            "PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml"
        )
        return status == 201

    async def create(self, obj: Mapping[str, Any]) -> bool:
        """Create; ``False`` when it already exists (a deterministic name made the retry harmless)."""
        meta = obj["metadata"]
        try:
            await self._call(
                "POST", collection_path(obj["apiVersion"], obj["kind"], meta["namespace"]), body=obj
            )
        except ApiError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def replace(self, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        path = f"{collection_path(obj['apiVersion'], obj['kind'], meta['namespace'])}/{meta['name']}"
        try:
            await self._call("PUT", path, body=obj)
        except ApiError as exc:
            if exc.status == 409:
                raise kopf.TemporaryError(f"{meta['name']} changed meanwhile; re-reading", delay=1) from exc
            raise

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await self._call(
                "GET", f"{collection_path(api_version, kind, namespace)}/{name}"
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    async def list(self, api_version: str, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        result = await self._call(
            "GET", collection_path(api_version, kind, namespace), query={"labelSelector": selector}
        )
        return list(result.get("items") or [])

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        # Foreground: the Job stays visible until its pods are gone, so a new migration never overlaps.
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground"}
        try:
            await self._call("DELETE", f"{collection_path(api_version, kind, namespace)}/{name}", body=body)
        except ApiError as exc:
            if exc.status != 404:
                raise
