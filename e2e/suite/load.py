"""Steady in-cluster load: a pod running e2e/load/client.py against a base URL; stop() returns its counts."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from e2e.suite.pod_logs import PodLogs
from e2e.suite.script_pods import script_pod
from tests.kube import apply, kubectl, kubectl_json, kubectl_result, wait_for

# Steady request rate of the load client: modest, since the cluster shares two cores with everything
# else; the claim under test is "no request fails during the disruption", not throughput.
LOAD_RATE = float(os.environ.get("MOORAGE_E2E_RATE", "10"))


@dataclass
class LoadResult:
    requests: int
    failures: int
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.requests} requests, {self.failures} failures in {self.seconds:.0f}s"


class Load:
    """A load client pod at a steady rate against ``base`` (scripts_configmap first).

    ``node`` pins the client to a node; ``headers`` go on every request (the Host of an Ingress rule).
    """

    def __init__(
        self,
        namespace: str,
        base: str,
        *,
        rate: float = LOAD_RATE,
        mix: str = "",
        name: str = "",
        node: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.namespace = namespace
        self.name = name or f"load-{uuid.uuid4().hex[:6]}"
        args = ["/load/client.py", "--base", base, "--rate", str(rate)]
        for key, value in (headers or {}).items():
            args += ["--header", f"{key}={value}"]
        if mix:
            args += ["--mix", mix]
        self.manifest = script_pod(self.name, args, {"app.kubernetes.io/name": "e2e-load"}, node=node)
        self.token = ""
        self.server_logs = PodLogs(namespace)

    def start(self) -> Load:
        self.server_logs.start()
        apply(self.manifest, self.namespace)

        def started() -> str | None:
            log = kubectl_result("-n", self.namespace, "logs", self.name).stdout
            for line in log.splitlines():
                if line.startswith("{") and json.loads(line).get("event") == "started":
                    token: str = json.loads(line)["token"]
                    return token
            pod = kubectl_json("-n", self.namespace, "get", "pod", self.name)
            if pod["status"].get("phase") in ("Failed", "Succeeded"):
                pytest.fail(f"load client ended during setup:\n{log}")
            return None

        self.token = wait_for(f"load client {self.name} to start", started, 240)
        return self

    def progress(self) -> dict[str, Any]:
        """The latest periodic report: requests and failures so far."""
        log = kubectl_result("-n", self.namespace, "logs", self.name, "--tail=5").stdout
        for line in reversed(log.splitlines()):
            if line.startswith("{") and "requests" in line:
                report: dict[str, Any] = json.loads(line)
                return report
        return {"requests": 0, "failures": 0}

    def stop(self) -> LoadResult:
        # The client exits as soon as it sees the file, and its container stopping can kill this exec
        # (exit 137) before it reports success; the summary below says whether the stop took effect.
        touch = ("exec", self.name, "--", "python", "-c", "open('/tmp/stop','w')")
        touched = kubectl_result("-n", self.namespace, *touch)

        def summary() -> dict[str, Any] | None:
            pod = kubectl_json("-n", self.namespace, "get", "pod", self.name)
            if pod["status"].get("phase") not in ("Succeeded", "Failed"):
                return None
            log = kubectl("-n", self.namespace, "logs", self.name)
            for line in log.splitlines():
                if line.startswith("SUMMARY "):
                    found: dict[str, Any] = json.loads(line.removeprefix("SUMMARY "))
                    return found
            pytest.fail(f"load client {self.name} printed no summary:\n{log}")

        try:
            data = wait_for(
                f"load client {self.name} summary",
                summary,
                90,
                describe=lambda: f"kubectl {' '.join(touch)}: exit {touched.returncode} {touched.stderr}",
            )
        finally:
            self.server_logs.stop()
        result = LoadResult(data["requests"], data["failures"], data["seconds"], data)
        print(
            f"load {self.name}: {result}; statuses {data['statuses']}; "
            f"max latency {data['latency_max_ms']} ms"
        )
        if data["failures"]:
            print(f"failure samples: {json.dumps(data['failure_samples'], indent=1)}")
            self.explain(data["failure_samples"])
        return result

    def explain(self, samples: list[dict[str, Any]]) -> None:
        """What the servers logged of each failed request, found by the id the client sent.

        No line means no app process ever read the request: it was lost on the way, or went to a pod
        whose log ended first. A line with a duration means the server answered, too late or wrongly.
        """
        for sample in samples:
            request_id = sample["request_id"]
            lines = self.server_logs.matching(request_id)
            print(
                f"server log of request {request_id} ({sample['outcome']} after "
                f"{sample['elapsed_ms']} ms):\n" + ("\n".join(lines) or "  (no server logged it)")
            )
