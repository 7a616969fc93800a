"""Building blocks of the e2e suite: helm, in-cluster API calls, in-cluster load, the OTLP receiver.

All traffic to the service comes from pods inside the cluster: a "toolbox" pod for single calls
(`kubectl exec ... python /load/call.py`) and load pods running e2e/load/client.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.conftest import REPO_ROOT, SERVICE_IMAGE, Kubectl, wait_for
from tests.tools import find_tool

LOAD_DIR = REPO_ROOT / "e2e" / "load"
APP_CHART = REPO_ROOT / "charts" / "moorage"
OPERATOR_CHART = REPO_ROOT / "charts" / "moorage-operator"
OPERATOR_IMAGE = os.environ.get("MOORAGE_OPERATOR_IMAGE", "moorage/operator:dev")
CLUSTER_NAME = os.environ.get("MOORAGE_CLUSTER_NAME", "moorage")
LOCAL_PREFIX = os.environ.get("MOORAGE_LOCAL_PREFIX", "moorage.local")
HERMETIC_POSTGRES = f"{LOCAL_PREFIX}/postgres:15-bookworm"
RESTRICTED = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
# Steady request rate of the load client: modest, since the cluster shares two cores with everything
# else; the claim under test is "no request fails during the rollout", not throughput.
LOAD_RATE = float(os.environ.get("MOORAGE_E2E_RATE", "10"))
SMALL = {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "256Mi"}}


def helm(
    kube: Kubectl, *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    cmd = [find_tool("helm"), "--kube-context", kube.context, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def node_image() -> str:
    proc = subprocess.run(
        ["docker", "inspect", "-f", "{{.Config.Image}}", f"{CLUSTER_NAME}-control-plane"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return proc.stdout.strip()


def hermetic() -> bool:
    """The cluster runs our own node image (cluster/up.sh's hermetic path): nothing can be pulled."""
    return node_image().startswith(f"{LOCAL_PREFIX}/")


def app_values_files() -> list[Path]:
    files = [APP_CHART / "ci" / "kind-values.yaml"]
    if hermetic():
        files.append(APP_CHART / "ci" / "kind-hermetic-values.yaml")
    return files


def postgres_image() -> str:
    return HERMETIC_POSTGRES if hermetic() else "postgres:17-bookworm"


def values_file(tmp: Path, name: str, values: dict[str, Any]) -> Path:
    path = tmp / f"{name}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def split_image(ref: str) -> tuple[str, str]:
    repository, _, tag = ref.rpartition(":")
    return repository, tag


def load_image_alias(tag: str) -> str:
    """The service image under another tag, loaded into the node: a new version for helm and the operator."""
    repository, _ = split_image(SERVICE_IMAGE)
    alias = f"{repository}:{tag}"
    subprocess.run(["docker", "tag", SERVICE_IMAGE, alias], check=True, timeout=60)
    kind = find_tool("kind")
    subprocess.run(
        [kind, "load", "docker-image", "--name", CLUSTER_NAME, alias],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return alias


# ---- pods running our scripts -------------------------------------------------------------------


def scripts_configmap(kube: Kubectl, namespace: str) -> None:
    data = {p.name: p.read_text() for p in sorted(LOAD_DIR.glob("*.py")) if p.name != "__init__.py"}
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e2e-scripts"}, "data": data}
    kube.apply(manifest, namespace)


def script_pod(name: str, args: list[str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A pod running python with our scripts at /load, as the service image's unprivileged user."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "e2e", **(labels or {})}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": SERVICE_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", *args],
                    "securityContext": RESTRICTED,
                    "resources": SMALL,
                    "volumeMounts": [
                        {"name": "scripts", "mountPath": "/load", "readOnly": True},
                        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
                    ],
                }
            ],
            "volumes": [
                {"name": "scripts", "configMap": {"name": "e2e-scripts"}},
                {"name": "tmp", "emptyDir": {}},
            ],
        },
    }


def wait_pod_running(kube: Kubectl, namespace: str, name: str, timeout: float = 120) -> None:
    def running() -> bool:
        pod = kube.json("-n", namespace, "get", "pod", name)
        phase = pod["status"].get("phase")
        if phase in ("Failed", "Succeeded"):
            log = kube.run("-n", namespace, "logs", name, check=False).stdout
            raise pytest.fail.Exception(f"pod {name} ended ({phase}) before it should:\n{log}")
        return bool(phase == "Running")

    wait_for(f"pod {namespace}/{name} running", running, timeout, 1)


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


class Api:
    """Single requests to a Service, sent from the toolbox pod inside the cluster."""

    def __init__(self, kube: Kubectl, namespace: str, base: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.base = base

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
        proc = self.kube.run("-n", self.namespace, "exec", "toolbox", "--", *args, timeout=90)
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
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


def start_toolbox(kube: Kubectl, namespace: str) -> None:
    scripts_configmap(kube, namespace)
    kube.apply(script_pod("toolbox", ["-c", "import time; time.sleep(86400)"]), namespace)
    wait_pod_running(kube, namespace, "toolbox")


# ---- load -------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    failures: int
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.requests} requests, {self.failures} failures in {self.seconds:.0f}s"


class Load:
    """A load client pod at a steady rate against a Service; stop() returns its counts."""

    def __init__(
        self,
        kube: Kubectl,
        namespace: str,
        base: str,
        *,
        rate: float = LOAD_RATE,
        mix: str = "",
        name: str = "",
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name or f"load-{uuid.uuid4().hex[:6]}"
        args = ["/load/client.py", "--base", base, "--rate", str(rate)]
        if mix:
            args += ["--mix", mix]
        self.manifest = script_pod(self.name, args, {"app.kubernetes.io/name": "e2e-load"})
        self.token = ""

    def start(self) -> Load:
        self.kube.apply(self.manifest, self.namespace)

        def started() -> str | None:
            log = self.kube.run("-n", self.namespace, "logs", self.name, check=False).stdout
            for line in log.splitlines():
                if line.startswith("{") and json.loads(line).get("event") == "started":
                    token: str = json.loads(line)["token"]
                    return token
            pod = self.kube.json("-n", self.namespace, "get", "pod", self.name)
            if pod["status"].get("phase") in ("Failed", "Succeeded"):
                raise pytest.fail.Exception(f"load client ended during setup:\n{log}")
            return None

        self.token = wait_for(f"load client {self.name} to start", started, 240, 1)
        return self

    def progress(self) -> dict[str, Any]:
        """The latest periodic report: requests and failures so far."""
        log = self.kube.run("-n", self.namespace, "logs", self.name, "--tail=5", check=False).stdout
        for line in reversed(log.splitlines()):
            if line.startswith("{") and "requests" in line:
                report: dict[str, Any] = json.loads(line)
                return report
        return {"requests": 0, "failures": 0}

    def stop(self) -> LoadResult:
        self.kube.run("-n", self.namespace, "exec", self.name, "--", "python", "-c", "open('/tmp/stop','w')")

        def summary() -> dict[str, Any] | None:
            pod = self.kube.json("-n", self.namespace, "get", "pod", self.name)
            if pod["status"].get("phase") not in ("Succeeded", "Failed"):
                return None
            log = self.kube.run("-n", self.namespace, "logs", self.name).stdout
            for line in log.splitlines():
                if line.startswith("SUMMARY "):
                    found: dict[str, Any] = json.loads(line.removeprefix("SUMMARY "))
                    return found
            raise pytest.fail.Exception(f"load client {self.name} printed no summary:\n{log}")

        data = wait_for(f"load client {self.name} summary", summary, 90, 1)
        result = LoadResult(data["requests"], data["failures"], data["seconds"], data)
        print(
            f"load {self.name}: {result}; statuses {data['statuses']}; "
            f"max latency {data['latency_max_ms']} ms"
        )
        if data["failures"]:
            print(f"failure samples: {json.dumps(data['failure_samples'], indent=1)}")
        return result


# ---- the OTLP receiver ------------------------------------------------------------------------


def start_otlp_receiver(kube: Kubectl, namespace: str) -> str:
    """The in-cluster OTLP/HTTP receiver (e2e/load/otlp_receiver.py); returns its endpoint."""
    labels = {"app.kubernetes.io/name": "otlp-receiver"}
    pod = script_pod("otlp-receiver", ["/load/otlp_receiver.py"], labels)
    pod["spec"]["containers"][0]["ports"] = [{"name": "otlp-http", "containerPort": 4318}]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "otlp-receiver"},
        "spec": {"selector": labels, "ports": [{"port": 4318, "targetPort": "otlp-http"}]},
    }
    kube.apply([pod, service], namespace)
    wait_pod_running(kube, namespace, "otlp-receiver")
    return f"http://otlp-receiver.{namespace}.svc:4318"


def received_spans(kube: Kubectl, namespace: str) -> list[dict[str, Any]]:
    log = kube.run("-n", namespace, "logs", "otlp-receiver").stdout
    return [json.loads(line) for line in log.splitlines() if line.startswith('{"service"')]


# ---- state -------------------------------------------------------------------------------------


def pods(kube: Kubectl, namespace: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.json("-n", namespace, "get", "pods", "-l", selector)["items"]
    return items


def restarts(pod: dict[str, Any]) -> int:
    return sum(int(c.get("restartCount", 0)) for c in pod["status"].get("containerStatuses") or [])


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions") or []}
    return conditions.get("Ready") == "True"


def events(kube: Kubectl, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.json("-n", namespace, "get", "events")["items"]
    return items


def timestamp(value: str) -> float:
    return time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
