"""Assertions on what `helm template` renders for the operator chart."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.charts.helm import OPERATOR_CHART, Manifest, find, kinds, render, render_error

FULLNAME = "op-moorage-operator"
CRD = OPERATOR_CHART / "crds" / "appinstances.apps.moorage.dev.yaml"
MANAGED = {
    "secrets",
    "configmaps",
    "services",
    "serviceaccounts",
    "ingresses",
    "networkpolicies",
    "httproutes",
    "deployments",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "jobs",
}


def render_op(**values: str) -> list[Manifest]:
    return render(OPERATOR_CHART, set_values=values, release="op", namespace="moorage-system")


def rules(role: Manifest) -> dict[str, set[str]]:
    """resource -> verbs, over every rule of a role."""
    out: dict[str, set[str]] = {}
    for rule in role["rules"]:
        for resource in rule["resources"]:
            out.setdefault(resource, set()).update(rule["verbs"])
    return out


@pytest.fixture(scope="module")
def default() -> list[Manifest]:
    return render_op()


def test_deployment_runs_one_kopf_with_recreate_and_health_probes(default: list[Manifest]) -> None:
    deployment = find(default, "Deployment", FULLNAME)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = deployment["spec"]["template"]["spec"]
    operator = spec["containers"][0]
    assert operator["command"] == ["python", "-m", "moorage_operator"]
    assert operator["args"] == ["--standalone"]
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["MOORAGE_WATCH_NAMESPACES"] == "moorage-system"  # the release namespace only
    assert env["MOORAGE_LIVENESS"] == "http://0.0.0.0:8080/healthz"
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert operator["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert operator["ports"][0] == {"name": "health", "containerPort": 8080, "protocol": "TCP"}
    assert spec["serviceAccountName"] == FULLNAME
    assert operator["image"] == "moorage/operator:0.1.0"


def test_security_context_matches_the_app_chart(default: list[Manifest]) -> None:
    spec = find(default, "Deployment")["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    ctx = spec["containers"][0]["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in spec["containers"][0]["volumeMounts"]


def test_default_rbac_is_a_role_in_the_release_namespace_only(default: list[Manifest]) -> None:
    roles = [m for m in default if m["kind"] == "Role"]
    placed = [(r["metadata"]["name"], r["metadata"]["namespace"]) for r in roles]
    assert placed == [(FULLNAME, "moorage-system")]
    [binding] = [m for m in default if m["kind"] == "RoleBinding"]
    assert binding["metadata"]["namespace"] == "moorage-system"
    subject = {"kind": "ServiceAccount", "name": FULLNAME, "namespace": "moorage-system"}
    assert binding["subjects"] == [subject]
    # Nothing it manages is granted cluster-wide: only the read-only framework ClusterRole remains.
    assert [m["metadata"]["name"] for m in default if m["kind"] == "ClusterRole"] == [f"{FULLNAME}-framework"]
    framework = rules(find(default, "ClusterRole", f"{FULLNAME}-framework"))
    assert framework == {"customresourcedefinitions": {"list", "watch"}, "namespaces": {"list", "watch"}}
    assert "secrets" in rules(roles[0])


def test_cluster_wide_rbac_is_opt_in_and_least_privilege() -> None:
    manifests = render_op(clusterWide="true")
    assert "Role" not in kinds(manifests)
    operator = find(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MOORAGE_WATCH_NAMESPACES", "value": ""} in operator["env"]  # every namespace
    manager = rules(find(manifests, "ClusterRole", FULLNAME))
    assert set(manager) >= MANAGED
    for resource in MANAGED:
        assert manager[resource] == {"get", "list", "watch", "create", "update", "patch", "delete"}
    assert manager["pods"] == {"get", "list"}
    assert manager["appinstances"] == {"get", "list", "watch", "patch", "update"}
    assert manager["appinstances/status"] == {"get", "patch", "update"}
    assert manager["events"] == {"create", "patch"}
    assert "kopfpeerings" not in manager  # --standalone: no peering
    framework = rules(find(manifests, "ClusterRole", f"{FULLNAME}-framework"))
    assert framework == {"customresourcedefinitions": {"list", "watch"}}
    every_rule = [r for m in manifests if m["kind"] == "ClusterRole" for r in m["rules"]]
    assert not [r for r in every_rule if "*" in r["verbs"] or "*" in r["resources"] or "*" in r["apiGroups"]]
    binding = find(manifests, "ClusterRoleBinding", FULLNAME)
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": FULLNAME, "namespace": "moorage-system"}
    ]


def test_cluster_wide_with_a_namespace_list_is_refused() -> None:
    error = render_error(OPERATOR_CHART, set_values={"clusterWide": "true", "watchNamespaces[0]": "team-a"})
    assert "watchNamespaces" in error


def test_namespaced_rbac_by_value() -> None:
    manifests = render(
        OPERATOR_CHART,
        values_files=[OPERATOR_CHART / "ci" / "namespaced-values.yaml"],
        release="op",
        namespace="moorage-system",
    )
    roles = [m for m in manifests if m["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    bindings = [m for m in manifests if m["kind"] == "RoleBinding"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    assert [m["metadata"]["name"] for m in manifests if m["kind"] == "ClusterRole"] == [
        f"{FULLNAME}-framework"
    ]
    framework = rules(find(manifests, "ClusterRole"))
    assert framework["namespaces"] == {"list", "watch"}
    assert set(rules(roles[0])) >= MANAGED
    assert rules(roles[0])["kopfpeerings"] == {"get", "list", "watch", "patch"}
    peerings = [m for m in manifests if m["kind"] == "KopfPeering"]
    assert sorted(m["metadata"]["namespace"] for m in peerings) == ["team-a", "team-b"]
    assert {m["metadata"]["name"] for m in peerings} == {"moorage-operator"}
    assert "ClusterKopfPeering" not in kinds(manifests)
    operator = find(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["MOORAGE_WATCH_NAMESPACES"] == "team-a,team-b"
    assert env["MOORAGE_PEERING_NAME"] == "moorage-operator"
    assert "args" not in operator  # peering instead of --standalone


def test_rbac_can_be_left_to_the_platform() -> None:
    assert not {"ClusterRole", "ClusterRoleBinding", "Role"} & set(
        kinds(render_op(**{"rbac.create": "false"}))
    )


def test_the_crd_ships_from_crds_only(default: list[Manifest]) -> None:
    assert "CustomResourceDefinition" not in kinds(default)
    with_crds = render(OPERATOR_CHART, release="op", namespace="moorage-system", extra=["--include-crds"])
    crd = find(with_crds, "CustomResourceDefinition", "appinstances.apps.moorage.dev")
    assert crd == yaml.safe_load(CRD.read_text())
    assert crd["spec"]["group"] == "apps.moorage.dev"
    crds = sorted(m["metadata"]["name"] for m in with_crds if m["kind"] == "CustomResourceDefinition")
    assert crds == ["appinstances.apps.moorage.dev", "clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"]
    assert sorted(p.name for p in CRD.parent.iterdir()) == [CRD.name, "kopf-peering-crds.yaml"]


def test_peering_creates_the_peering_object_the_operator_names() -> None:
    assert not {"ClusterKopfPeering", "KopfPeering"} & set(kinds(render_op()))
    namespaced = render_op(**{"peering.enabled": "true", "peering.name": "team-ops"})
    assert find(namespaced, "KopfPeering", "team-ops")["metadata"]["namespace"] == "moorage-system"
    manifests = render_op(**{"peering.enabled": "true", "peering.name": "team-ops", "clusterWide": "true"})
    assert find(manifests, "ClusterKopfPeering", "team-ops")
    assert "KopfPeering" not in kinds(manifests)
    operator = find(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MOORAGE_PEERING_NAME", "value": "team-ops"} in operator["env"]
    assert "clusterkopfpeerings" in rules(find(manifests, "ClusterRole", f"{FULLNAME}-framework"))


def test_network_policy_allows_only_dns_and_the_api_server(default: list[Manifest]) -> None:
    policy = find(default, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"ports": [{"port": "metrics", "protocol": "TCP"}]}]  # nothing else in
    scrapers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    label = "kubernetes\\.io/metadata\\.name"
    limited = render_op(**{f"metrics.scrapeFrom[0].namespaceSelector.matchLabels.{label}": "monitoring"})
    assert find(limited, "NetworkPolicy")["spec"]["ingress"][0]["from"] == scrapers
    assert "ingress" not in find(render_op(**{"metrics.enabled": "false"}), "NetworkPolicy")["spec"]
    ports: list[Any] = [p["port"] for rule in policy["egress"] for p in rule["ports"]]
    assert ports == [53, 53, 443, 6443]
    assert "NetworkPolicy" not in kinds(render_op(**{"networkPolicy.enabled": "false"}))


def test_image_digest_and_extra_args() -> None:
    manifests = render_op(
        **{
            "image.digest": "sha256:" + "a" * 64,
            "image.registry": "registry.example.com",
            "extraArgs[0]": "--verbose",
        }
    )
    operator = find(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert operator["image"] == "registry.example.com/moorage/operator@sha256:" + "a" * 64
    assert operator["args"] == ["--standalone", "--verbose"]


def test_metrics_endpoint_service_and_optional_service_monitor(default: list[Manifest]) -> None:
    operator = find(default, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MOORAGE_METRICS_PORT", "value": "8081"} in operator["env"]
    assert {"name": "metrics", "containerPort": 8081, "protocol": "TCP"} in operator["ports"]
    service = find(default, "Service", f"{FULLNAME}-metrics")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8081, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == find(default, "Deployment")["spec"]["selector"]["matchLabels"]
    assert "ServiceMonitor" not in kinds(default)
    monitored = render_op(
        **{"metrics.serviceMonitor.enabled": "true", "metrics.serviceMonitor.labels.release": "kps"}
    )
    monitor = find(monitored, "ServiceMonitor", FULLNAME)
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
    ]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["moorage-system"]}


def test_metrics_can_be_turned_off() -> None:
    manifests = render_op(**{"metrics.enabled": "false"})
    assert not [m for m in manifests if m["kind"] == "Service"]
    operator = find(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MOORAGE_METRICS_PORT", "value": ""} in operator["env"]  # not served
    assert [p["name"] for p in operator["ports"]] == ["health"]
    error = render_error(
        OPERATOR_CHART, set_values={"metrics.enabled": "false", "metrics.serviceMonitor.enabled": "true"}
    )
    assert "metrics" in error
