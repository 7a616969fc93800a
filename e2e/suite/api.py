"""Single HTTP requests to a Service, sent from a toolbox pod inside the cluster (e2e/load/call.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.kube import kubectl


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
    """Requests to ``base`` from the pod ``pod`` (start_toolbox) in ``namespace``."""

    def __init__(self, namespace: str, base: str, pod: str = "toolbox") -> None:
        self.namespace = namespace
        self.base = base
        self.pod = pod

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
        args = ["python", "/load/call.py", method, self.base + path, "--content-type", content_type]
        if body is not None:
            args += ["--body", json.dumps(body)]
        elif raw is not None:
            args += ["--body", raw]
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        for key, value in all_headers.items():
            args += ["--header", f"{key}={value}"]
        out = kubectl("-n", self.namespace, "exec", self.pod, "--", *args, timeout=90)
        answer = json.loads(out.strip().splitlines()[-1])
        return Response(answer["status"], answer["headers"], answer["body"])

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
