"""The in-cluster OTLP/HTTP receiver (e2e/load/otlp_receiver.py) and the spans it printed."""

from __future__ import annotations

import json
from typing import Any

from e2e.suite.script_pods import script_pod, wait_pod_running
from tests.kube import apply, kubectl

LABELS = {"app.kubernetes.io/name": "otlp-receiver"}


def start_otlp_receiver(namespace: str) -> str:
    """The receiver's pod and Service in ``namespace`` (scripts_configmap first); returns its endpoint."""
    pod = script_pod("otlp-receiver", ["/load/otlp_receiver.py"], LABELS)
    pod["spec"]["containers"][0]["ports"] = [{"name": "otlp-http", "containerPort": 4318}]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "otlp-receiver"},
        "spec": {"selector": LABELS, "ports": [{"port": 4318, "targetPort": "otlp-http"}]},
    }
    apply([pod, service], namespace)
    wait_pod_running(namespace, "otlp-receiver")
    return f"http://otlp-receiver.{namespace}.svc:4318"


def received_spans(namespace: str) -> list[dict[str, Any]]:
    log = kubectl("-n", namespace, "logs", "otlp-receiver")
    return [json.loads(line) for line in log.splitlines() if line.startswith('{"service"')]
