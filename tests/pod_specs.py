"""What the pods the cluster tests start are given: their sizes and the restricted security context."""

from __future__ import annotations

from typing import Any

# Many releases and instances share a two-core machine in the tests and the benchmark: small
# requests, limits high enough for a migration or a load burst.
SERVICE_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "10m", "memory": "96Mi"},
    "limits": {"memory": "512Mi"},
}
# The test's own pods (toolbox, load client, OTLP receiver, probes): a Python process, no more.
SCRIPT_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "10m", "memory": "48Mi"},
    "limits": {"memory": "256Mi"},
}
# The Pod Security "restricted" profile, as a container securityContext.
RESTRICTED: dict[str, Any] = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
