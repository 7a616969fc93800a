"""The operator's Deployment keeps the app chart's pod defaults and matches it for each pod control.

Defaults: probes, security context, preStop, token automount, the soft spread. Then the same pull
secret, scheduling, priority, pod metadata, ServiceAccount and extra env set once as chart values and
once as AppInstance fields must give the same pod spec.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from moorage_operator import manifests, names
from moorage_operator.keyring import KeyRing
from moorage_operator.reconcile.references import referenced
from moorage_operator.spec import parse_spec

from tests.tools import locate_tool

from .conftest import ROOT

COMPARED_CONTAINER_FIELDS = (
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
    "lifecycle",
    "securityContext",
    "ports",
)


def render_chart_pod(values: dict[str, Any] | None = None) -> dict[str, Any]:
    helm = locate_tool("helm")
    if helm is None:
        pytest.skip("helm is not installed: run cluster/tools.sh")
    args = [
        helm,
        "template",
        "parity",
        str(ROOT / "charts" / "moorage"),
        "--kube-version",
        "1.34.0",
        "-f",
        "-",
    ]
    rendered = subprocess.run(
        args, input=yaml.safe_dump(values or {}), capture_output=True, text=True, check=True, timeout=300
    ).stdout
    for doc in yaml.safe_load_all(rendered):
        if doc and doc.get("kind") == "Deployment":
            template: dict[str, Any] = doc["spec"]["template"]
            return template
    raise AssertionError("the app chart rendered no Deployment")


def operator_template(**fields: Any) -> dict[str, Any]:
    app = parse_spec({"image": "moorage/service:dev", "database": {"secretRef": {"name": "db"}}, **fields})
    owner = manifests.Owner("parity", "default", "uid", {})
    ring = KeyRing(current="k" * 40, rotated_at=datetime.now(UTC))
    template: dict[str, Any] = manifests.deployment(app, owner, image=app.image, ring=ring)["spec"][
        "template"
    ]
    return template


@pytest.fixture(scope="module")
def chart_pod() -> dict[str, Any]:
    pod: dict[str, Any] = render_chart_pod()["spec"]
    return pod


@pytest.fixture(scope="module")
def operator_pod() -> dict[str, Any]:
    pod: dict[str, Any] = operator_template()["spec"]
    return pod


def _server(pod: dict[str, Any]) -> dict[str, Any]:
    containers = [c for c in pod["containers"] if c.get("ports")]
    assert len(containers) == 1, [c["name"] for c in pod["containers"]]
    found: dict[str, Any] = containers[0]
    return found


@pytest.mark.parametrize("field", COMPARED_CONTAINER_FIELDS)
def test_container_defaults_match_the_chart(
    chart_pod: dict[str, Any], operator_pod: dict[str, Any], field: str
) -> None:
    assert _server(operator_pod).get(field) == _server(chart_pod).get(field)


def test_pod_security_context_matches_the_chart(
    chart_pod: dict[str, Any], operator_pod: dict[str, Any]
) -> None:
    assert operator_pod["securityContext"] == chart_pod["securityContext"]


def test_termination_grace_matches_the_chart(chart_pod: dict[str, Any], operator_pod: dict[str, Any]) -> None:
    assert operator_pod["terminationGracePeriodSeconds"] == chart_pod["terminationGracePeriodSeconds"]


def test_tmp_is_a_writable_empty_dir_in_both(chart_pod: dict[str, Any], operator_pod: dict[str, Any]) -> None:
    for pod in (chart_pod, operator_pod):
        mounts = {m["mountPath"]: m["name"] for m in _server(pod)["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]


def _spread_shape(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The spread constraints without their label selectors (the charts' label sets differ by design)."""
    return [{k: v for k, v in c.items() if k != "labelSelector"} for c in pod["topologySpreadConstraints"]]


def test_default_spread_and_identity_match_the_chart(
    chart_pod: dict[str, Any], operator_pod: dict[str, Any]
) -> None:
    assert _spread_shape(operator_pod) == _spread_shape(chart_pod)
    assert [c["topologyKey"] for c in operator_pod["topologySpreadConstraints"]] == [
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    ]
    # Each spreads exactly its own serving pods.
    for constraint in operator_pod["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"] == names.selector_labels("parity")
    # A ServiceAccount of its own, without a token, in both.
    assert operator_pod["automountServiceAccountToken"] is chart_pod["automountServiceAccountToken"] is False
    assert operator_pod["serviceAccountName"] == "parity"
    assert chart_pod["serviceAccountName"] == "parity-moorage"
    for field in ("imagePullSecrets", "nodeSelector", "tolerations", "affinity", "priorityClassName"):
        assert field not in operator_pod and field not in chart_pod, field


TOLERATIONS = [
    {"key": "dedicated", "operator": "Equal", "value": "apps", "effect": "NoSchedule"},
    {"key": "spot", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
]
AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
            ]
        }
    }
}
SPREAD = [{"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}]
EXTRA_ENV = [
    {"name": "FEATURE_X", "value": "on"},
    {"name": "PARTNER_TOKEN", "valueFrom": {"secretKeyRef": {"name": "partner", "key": "token"}}},
]

# The same intent as app-chart values and as AppInstance fields.
CHART_VALUES: dict[str, Any] = {
    "imagePullSecrets": ["regcred"],
    "nodeSelector": {"pool": "apps"},
    "tolerations": TOLERATIONS,
    "affinity": AFFINITY,
    "topologySpreadConstraints": [
        {**SPREAD[0], "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": "parity"}}}
    ],
    "priorityClassName": "business",
    "podAnnotations": {"team": "shop"},
    "podLabels": {"cost-center": "42"},
    "serviceAccount": {"create": False, "name": "shop-runtime"},
    "extraEnvVars": EXTRA_ENV,
    "extraEnvVarsCM": "platform-env",
    "extraEnvVarsSecret": "platform-secrets",
}
OPERATOR_FIELDS: dict[str, Any] = {
    "imagePullSecrets": [{"name": "regcred"}],
    "nodeSelector": {"pool": "apps"},
    "tolerations": TOLERATIONS,
    "affinity": AFFINITY,
    "topologySpreadConstraints": [
        {**SPREAD[0], "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": "parity"}}}
    ],
    "priorityClassName": "business",
    "podAnnotations": {"team": "shop"},
    "podLabels": {"cost-center": "42"},
    "serviceAccountName": "shop-runtime",
    "env": EXTRA_ENV,
    "envFrom": [{"configMapRef": {"name": "platform-env"}}, {"secretRef": {"name": "platform-secrets"}}],
}
_OPERATOR_SPEC: dict[str, Any] = {
    "image": "moorage/service:dev",
    "database": {"secretRef": {"name": "db"}},
    **OPERATOR_FIELDS,
}
SAME_POD_FIELDS = (
    "imagePullSecrets",
    "nodeSelector",
    "tolerations",
    "affinity",
    "topologySpreadConstraints",
    "priorityClassName",
    "serviceAccountName",
    "automountServiceAccountToken",
)


@pytest.fixture(scope="module")
def both_set() -> tuple[dict[str, Any], dict[str, Any]]:
    return render_chart_pod(CHART_VALUES), operator_template(**OPERATOR_FIELDS)


@pytest.mark.parametrize("field", SAME_POD_FIELDS)
def test_each_pod_control_gives_the_chart_s_pod_spec(
    both_set: tuple[dict[str, Any], dict[str, Any]], field: str
) -> None:
    chart, operator = both_set
    assert operator["spec"].get(field) == chart["spec"].get(field)


def test_pod_metadata_is_added_under_the_owners_labels(
    both_set: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    chart, operator = both_set
    for template in (chart, operator):
        assert template["metadata"]["labels"]["cost-center"] == "42"
        assert template["metadata"]["annotations"]["team"] == "shop"


def test_extra_env_and_env_from_follow_the_operators_own(
    both_set: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    chart, operator = both_set
    chart_env, op_env = _server(chart["spec"])["env"], _server(operator["spec"])["env"]
    assert op_env[-len(EXTRA_ENV) :] == chart_env[-len(EXTRA_ENV) :] == EXTRA_ENV
    chart_from, op_from = _server(chart["spec"])["envFrom"], _server(operator["spec"])["envFrom"]
    assert op_from[1:] == chart_from[1:] == OPERATOR_FIELDS["envFrom"]
    assert "configMapRef" in op_from[0] and "configMapRef" in chart_from[0]  # each one's own config first


def _consumed_objects(container: dict[str, Any], own_prefix: str) -> set[tuple[str, str]]:
    """(kind, name) of every Secret/ConfigMap a container reads, leaving out its owner's own objects."""
    found: set[tuple[str, str]] = set()
    sources = [
        *((e.get("valueFrom") or {}) for e in container.get("env") or []),
        *(container.get("envFrom") or []),
    ]
    for source in sources:
        for field, kind in (
            ("secretKeyRef", "Secret"),
            ("secretRef", "Secret"),
            ("configMapKeyRef", "ConfigMap"),
            ("configMapRef", "ConfigMap"),
        ):
            ref = source.get(field)
            if ref and not str(ref["name"]).startswith(own_prefix):
                found.add((kind, str(ref["name"])))
    return found


def test_every_platform_object_the_pod_reads_is_one_whose_change_rolls_it(
    both_set: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Same intent, same objects read; the operator hashes exactly those (the chart leaves it to Reloader)."""
    chart, operator = both_set
    chart_reads = _consumed_objects(_server(chart["spec"]), "parity-moorage")
    operator_reads = _consumed_objects(_server(operator["spec"]), "parity-")
    watched = {(r.kind, r.name) for r in referenced(parse_spec(_OPERATOR_SPEC)).pods}
    assert chart_reads == operator_reads - {("Secret", "db")} == watched
    assert watched == {("Secret", "partner"), ("ConfigMap", "platform-env"), ("Secret", "platform-secrets")}
