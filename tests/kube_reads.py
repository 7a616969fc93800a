"""`kubectl get … -o json` answered by one HTTP client per thread instead of a kubectl process.

The cluster tests poll a lot (every wait_for is a `get`), and each kubectl process costs about
60 ms of CPU on its own, a sixth of the cluster stage's CPU on this 2-core machine. `read` answers
a plain get (a namespace, one resource name from READABLE, an optional object name, label and
field selectors) straight from the API server with the context's client certificate, shaped as
kubectl prints it; it returns None for anything else, and the caller runs kubectl.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from typing import Any

import httpx

# kubectl's names for a resource -> (API path prefix, plural, namespaced)
_CORE, _APPS, _BATCH = "/api/v1", "/apis/apps/v1", "/apis/batch/v1"
_NET, _MOORAGE = "/apis/networking.k8s.io/v1", "/apis/apps.moorage.dev/v1alpha1"
READABLE: dict[str, tuple[str, str, bool]] = {}
for _prefix, _plural, _namespaced, _aliases in (
    (_CORE, "pods", True, ("pod", "po")),
    (_CORE, "nodes", False, ("node", "no")),
    (_CORE, "secrets", True, ("secret",)),
    (_CORE, "configmaps", True, ("configmap", "cm")),
    (_CORE, "services", True, ("service", "svc")),
    (_CORE, "serviceaccounts", True, ("serviceaccount", "sa")),
    (_CORE, "events", True, ("event", "ev")),
    (_CORE, "persistentvolumeclaims", True, ("persistentvolumeclaim", "pvc")),
    (_APPS, "deployments", True, ("deployment", "deploy")),
    (_APPS, "replicasets", True, ("replicaset", "rs")),
    (_APPS, "statefulsets", True, ("statefulset", "sts")),
    (_BATCH, "jobs", True, ("job",)),
    (_NET, "ingresses", True, ("ingress", "ing")),
    (_NET, "networkpolicies", True, ("networkpolicy", "netpol")),
    (_MOORAGE, "appinstances", True, ("appinstance",)),
    (
        "/apis/apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        False,
        ("customresourcedefinition", "crd"),
    ),
):
    for _name in (_plural, *_aliases):
        READABLE[_name] = (_prefix, _plural, _namespaced)

_FLAGS = {"-n": "namespace", "--namespace": "namespace", "-l": "labelSelector", "--selector": "labelSelector"}
_FLAGS["--field-selector"] = "fieldSelector"

# client-go (and so kubectl) retries a 429 or a 5xx that carries Retry-After, up to 10 times; the API
# server sends one, for example, while a new CRD's storage is still initializing.
MAX_RETRIES = 10
MAX_RETRY_AFTER = 10.0


def parse_get(args: tuple[str, ...]) -> tuple[str, dict[str, str]] | None:
    """The API path and query of a plain `get` (the args without `-o json`), or None."""
    options: dict[str, str] = {}
    words: list[str] = []
    rest = iter(args)
    for arg in rest:
        flag, equals, value = arg.partition("=")
        if flag in _FLAGS:
            options[_FLAGS[flag]] = value if equals else next(rest, "")
        elif arg.startswith("-"):
            return None
        else:
            words.append(arg)
    if len(words) not in (2, 3) or words[0] != "get" or words[1] not in READABLE:
        return None
    prefix, plural, namespaced = READABLE[words[1]]
    namespace = options.pop("namespace", "default")
    path = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
    if len(words) == 3:
        if options:  # kubectl refuses a name with a selector
            return None
        path += f"/{words[2]}"
    return path, options


def as_kubectl_prints(body: dict[str, Any]) -> dict[str, Any]:
    """A list as kubectl shows it: kind List, each item with its own apiVersion and kind."""
    kind = str(body.get("kind", ""))
    if not kind.endswith("List") or "items" not in body:
        return body
    item_kind = kind.removesuffix("List")
    items = [{"apiVersion": body.get("apiVersion"), "kind": item_kind, **item} for item in body["items"]]
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


class Reader:
    """HTTP clients (one per thread) on the context's server, CA and client certificate."""

    def __init__(self, server: str, ca: str, cert: str, key: str) -> None:
        self._dir = tempfile.mkdtemp(prefix="moorage-kube-")
        atexit.register(shutil.rmtree, self._dir, True)
        self._files = {
            name: self._write(name, data) for name, data in (("ca", ca), ("cert", cert), ("key", key))
        }
        self._server = server
        self._local = threading.local()

    def _write(self, name: str, data: str) -> str:
        path = os.path.join(self._dir, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
            handle.write(base64.b64decode(data))
        return path

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            tls = ssl.create_default_context(cafile=self._files["ca"])
            tls.load_cert_chain(self._files["cert"], self._files["key"])
            client = httpx.Client(base_url=self._server, verify=tls, timeout=30)
            self._local.client = client
        return client

    def get(self, path: str, query: dict[str, str]) -> tuple[int, str]:
        for attempt in range(1, MAX_RETRIES + 1):
            try:
                response = self._client().get(path, params=query)
            except httpx.HTTPError as exc:
                return 0, f"{type(exc).__name__}: {exc}"
            wait = retry_after(response.status_code, response.headers.get("Retry-After"))
            if wait is None or attempt == MAX_RETRIES:
                break
            time.sleep(wait)
        return response.status_code, response.text


def retry_after(status: int, header: str | None) -> float | None:
    """Seconds to wait before asking again, as client-go decides; None when the answer stands."""
    if header is None or (status != 429 and not 500 <= status <= 599):
        return None
    try:
        seconds = float(header)
    except ValueError:
        return None
    return min(seconds, MAX_RETRY_AFTER) if seconds >= 0 else None


def reader_for(kubectl: str, context: str) -> Reader | None:
    """A Reader for the context when it authenticates with a client certificate (kind does)."""
    proc = subprocess.run(
        [kubectl, "config", "view", "--raw", "--minify", "--flatten", "--context", context, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        return None
    config = json.loads(proc.stdout)
    try:
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        return Reader(
            cluster["server"],
            cluster["certificate-authority-data"],
            user["client-certificate-data"],
            user["client-key-data"],
        )
    except (KeyError, IndexError):
        return None
