"""Single HTTP requests to a Service, sent from a toolbox pod inside the cluster (e2e/load/call.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from tests.kube import kubectl, wait_for

HEALTH_READY = "/api/v1/health/ready"
CLUSTER_DOMAIN = os.environ.get("MOORAGE_CLUSTER_DOMAIN", "cluster.local")


def service_url(service: str, namespace: str) -> str:
    """The in-cluster URL of a Service under its fully qualified name, trailing dot included.

    The e2e clients open a connection per request. A short name (``moorage.ns.svc``) walks the pods'
    ndots:5 search list: up to four A+AAAA query pairs per connection, each a new UDP flow that the
    node's NetworkPolicy queue decides in user space. On this two-core host under load average 20-40,
    207 of 80,653 short-name lookups took over 1 s (one 5 s glibc retry at most); in one CI run two
    took over 10 s and their requests failed with "Name or service not known". The full name costs
    one pair.
    """
    return f"http://{service}.{namespace}.svc.{CLUSTER_DOMAIN}."


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error(self) -> dict[str, Any]:
        assert isinstance(self.body, dict) and "error" in self.body, f"no error envelope: {self}"
        envelope: dict[str, Any] = self.body["error"]
        return envelope

    def header(self, name: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower())


class Api:
    """Requests to ``base`` from the pod ``pod`` (start_toolbox) in ``namespace``.

    ``headers`` go on every request, e.g. the Host an Ingress rule matches.
    """

    def __init__(
        self, namespace: str, base: str, pod: str = "toolbox", headers: dict[str, str] | None = None
    ) -> None:
        self.namespace = namespace
        self.base = base
        self.pod = pod
        self.headers = dict(headers or {})

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: str | None = None,
        content_type: str = "application/json",
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        args = ["--content-type", content_type]
        if body is not None:
            args += ["--body", json.dumps(body)]
        elif raw is not None:
            args += ["--body", raw]
        answer = self._call(method, path, args, token, headers)
        return Response(answer["status"], answer["headers"], answer["body"])

    def wait_serving(self, timeout: float = 60) -> None:
        """Until readiness answers 200 through ``base``. A rollout that reports done is not yet a
        Service that routes: the endpoints reach each node's kube-proxy a moment later, and until
        then a connection to the ClusterIP is refused."""
        wait_for(f"{self.base} to answer", lambda: self.request("GET", HEALTH_READY).status == 200, timeout)

    def repeat(
        self,
        method: str,
        path: str,
        times: int,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[int, int]:
        """The same request ``times`` times in a row from the pod: how many answers of each status."""
        answer = self._call(method, path, ["--repeat", str(times)], token, headers)
        return {int(status): count for status, count in answer["statuses"].items()}

    def _call(
        self, method: str, path: str, args: list[str], token: str | None, headers: dict[str, str] | None
    ) -> dict[str, Any]:
        all_headers = {**self.headers, **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        for key, value in all_headers.items():
            args = [*args, "--header", f"{key}={value}"]
        command = ["python", "/load/call.py", method, self.base + path, *args]
        out = kubectl("-n", self.namespace, "exec", self.pod, "--", *command, timeout=300)
        answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return answer

    def register_and_login(self, email: str, password: str = "e2e-password-123") -> str:  # noqa: S107
        created = self.request("POST", "/api/v1/auth/register", {"email": email, "password": password})
        assert created.status == 201, created
        form = f"username={email}&password={password}"
        token = self.request(
            "POST", "/api/v1/auth/token", raw=form, content_type="application/x-www-form-urlencoded"
        )
        assert token.status == 200, token
        access: str = token.body["access_token"]
        return access
