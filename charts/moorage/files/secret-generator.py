"""Create the chart's generated Secret once; add a missing key; never change a key that exists.

Runs in the service image (Python stdlib only) as the chart's pre-install/pre-upgrade hook Job, with a
ServiceAccount that may create Secrets and get/patch only the generated one and read the Secrets of
older chart versions. It talks to the API server with the pod's token. It logs key names and actions,
never a value.

Environment:
  NAMESPACE       the release namespace
  SECRET_NAME     the generated Secret
  GENERATE        KEY=LENGTH,...          the keys to ensure
  SEED            KEY=SECRET/KEY,...      where an older chart version kept a key's value (optional)
  SECRET_LABELS   JSON object of labels for a new Secret
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import ssl
import string
import sys
import time
import urllib.error
import urllib.request
from typing import Any

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
# Letters and digits only: the password is placed verbatim into a postgresql:// URL.
ALPHABET = string.ascii_letters + string.digits


class Api:
    def __init__(self) -> None:
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        self.base = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        with open(f"{SA}/token", encoding="utf-8") as f:
            self.token = f.read().strip()
        self.tls = ssl.create_default_context(cafile=f"{SA}/ca.crt")

    def call(self, method: str, path: str, body: Any = None, content_type: str = "") -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type or "application/json"
        # https only: the base is built from the in-cluster API server address above
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, None


def pairs(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(",") if item)


def secret_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" + (f"/{name}" if name else "")


def read_data(api: Api, namespace: str, name: str) -> tuple[dict[str, str] | None, str]:
    """The Secret's data (base64 values) and resourceVersion; None when it does not exist."""
    status, body = api.call("GET", secret_path(namespace, name))
    if status == 404:
        return None, ""
    if status != 200:
        raise SystemExit(f"reading Secret {name}: HTTP {status}")
    data: dict[str, str] = body.get("data") or {}
    return data, str(body["metadata"]["resourceVersion"])


def seeded(api: Api, namespace: str, source: str) -> str | None:
    """A value an older chart version generated, kept so a running database and tokens stay valid."""
    name, key = source.split("/", 1)
    status, body = api.call("GET", secret_path(namespace, name))
    if status != 200:
        return None
    value: str | None = (body.get("data") or {}).get(key)
    return value


def ensure(api: Api) -> None:
    namespace, name = os.environ["NAMESPACE"], os.environ["SECRET_NAME"]
    wanted = {key: int(length) for key, length in pairs(os.environ["GENERATE"]).items()}
    seeds = pairs(os.environ.get("SEED", ""))
    for _ in range(10):
        existing, version = read_data(api, namespace, name)
        missing = [key for key in wanted if key not in (existing or {})]
        if not missing:
            print(f"Secret {name} holds {sorted(wanted)}: nothing to do", flush=True)
            return
        data: dict[str, str] = {}
        for key in missing:
            kept = seeded(api, namespace, seeds[key]) if key in seeds else None
            if kept:
                print(f"{key}: kept from Secret {seeds[key].split('/')[0]} (older chart version)", flush=True)
                data[key] = kept
            else:
                print(f"{key}: generated", flush=True)
                value = "".join(secrets.choice(ALPHABET) for _ in range(wanted[key]))
                data[key] = base64.b64encode(value.encode()).decode()
        if existing is None:
            labels = json.loads(os.environ.get("SECRET_LABELS", "{}"))
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "labels": labels},
                "type": "Opaque",
                "data": data,
            }
            status, _ = api.call("POST", secret_path(namespace), body)
            if status == 201:
                print(f"Secret {name} created", flush=True)
                return
        else:
            # Adds the missing keys only; the resourceVersion makes a concurrent writer's change win
            # (409) instead of being overwritten.
            patch = {"metadata": {"resourceVersion": version}, "data": data}
            status, _ = api.call("PATCH", secret_path(namespace, name), patch, "application/merge-patch+json")
            if status == 200:
                print(f"Secret {name}: added {sorted(missing)}", flush=True)
                return
        if status != 409:
            raise SystemExit(f"writing Secret {name}: HTTP {status}")
        time.sleep(1)  # another writer came first: read it again
    raise SystemExit(f"Secret {name}: gave up after repeated conflicts")


if __name__ == "__main__":
    ensure(Api())
    sys.exit(0)
