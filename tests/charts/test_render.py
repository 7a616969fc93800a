"""Assertions on what `helm template` renders for the app chart over a matrix of values."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.charts.helm import APP_CHART, Manifest, container, find, kinds, matrix_files, render

CI = APP_CHART / "ci"
FULLNAME = "demo-moorage"
APP_UID = 10001


def pod_spec(manifests: list[Manifest], kind: str = "Deployment", name: str = FULLNAME) -> dict[str, Any]:
    return dict(find(manifests, kind, name)["spec"]["template"]["spec"])


def decoded(secret: Manifest) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


@pytest.fixture(scope="module")
def default() -> list[Manifest]:
    return render()


@pytest.mark.parametrize("values", [None, *matrix_files(APP_CHART)], ids=lambda p: p.name if p else "default")
def test_every_matrix_entry_renders_namespaced_labelled_objects(values: Path | None) -> None:
    manifests = render(values_files=[values] if values else [])
    assert manifests
    for m in manifests:
        labels = m["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "moorage"
        assert labels["app.kubernetes.io/instance"] == "demo"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert m["metadata"]["namespace"] == "moorage"


def test_probes_hit_the_contract_paths(default: list[Manifest]) -> None:
    main = container(pod_spec(default), "moorage")
    assert main["livenessProbe"]["httpGet"] == {"path": "/api/v1/health/live", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/api/v1/health/ready", "port": "http"}
    assert main["startupProbe"]["httpGet"] == {"path": "/api/v1/health/live", "port": "http"}
    assert main["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    # The readiness timeout must exceed the service's own bound on SELECT 1.
    configmap = find(default, "ConfigMap", FULLNAME)
    assert main["readinessProbe"]["timeoutSeconds"] > float(configmap["data"]["READINESS_TIMEOUT_SECONDS"])


def test_probe_settings_and_custom_probes_are_configurable() -> None:
    manifests = render(set_values={"readinessProbe.periodSeconds": "7", "startupProbe.enabled": "false"})
    main = container(pod_spec(manifests), "moorage")
    assert main["readinessProbe"]["periodSeconds"] == 7
    assert "startupProbe" not in main
    custom = container(pod_spec(render(values_files=[CI / "minimal-values.yaml"])), "moorage")
    assert custom["livenessProbe"] == {"tcpSocket": {"port": "http"}, "periodSeconds": 20}


def test_security_context_is_locked_down(default: list[Manifest]) -> None:
    spec = pod_spec(default)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == APP_UID
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for item in [*spec["initContainers"], *spec["containers"]]:
        ctx = item["securityContext"]
        assert ctx["runAsNonRoot"] is True
        assert ctx["runAsUser"] == APP_UID
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        assert {"name": "tmp", "mountPath": "/tmp"} in item["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in spec["volumes"]
    assert find(default, "ServiceAccount", FULLNAME)["automountServiceAccountToken"] is False


def test_every_pod_of_the_chart_is_non_root_and_read_only(default: list[Manifest]) -> None:
    upgrade_job = [m for m in default if m["kind"] == "Job"]
    pods = [
        m["spec"]["template"]["spec"] for m in default if m["kind"] in {"Deployment", "StatefulSet", "Job"}
    ]
    pods += [m["spec"] for m in default if m["kind"] == "Pod"]
    assert upgrade_job
    assert len(pods) == 5  # server, database, migration, secret generator, helm test
    for spec in pods:
        assert spec["securityContext"]["runAsNonRoot"] is True
        for item in [*spec.get("initContainers", []), *spec["containers"]]:
            assert item["securityContext"]["readOnlyRootFilesystem"] is True
            assert item["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert item["resources"]["limits"]["memory"]


def test_graceful_shutdown_budget_covers_prestop_and_drain(default: list[Manifest]) -> None:
    spec = pod_spec(default)
    main = container(spec, "moorage")
    pause = main["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = int(find(default, "ConfigMap", FULLNAME)["data"]["GRACEFUL_TIMEOUT_SECONDS"])
    assert pause > 0
    assert spec["terminationGracePeriodSeconds"] > pause + drain
    strategy = find(default, "Deployment")["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_topology_spread_defaults_and_override(default: list[Manifest]) -> None:
    spread = pod_spec(default)["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    assert all(c["whenUnsatisfiable"] == "ScheduleAnyway" for c in spread)
    assert spread[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "server"
    custom = pod_spec(render(values_files=[CI / "minimal-values.yaml"]))["topologySpreadConstraints"]
    assert custom[0]["labelSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "demo"}


def test_image_by_tag_or_digest() -> None:
    by_tag = container(pod_spec(render(set_values={"image.tag": "1.2.3"})), "moorage")["image"]
    assert by_tag == "moorage/service:1.2.3"
    default_tag = container(pod_spec(render()), "moorage")["image"]
    assert default_tag == "moorage/service:0.1.0"
    production = render(values_files=[CI / "production-values.yaml"])
    by_digest = container(pod_spec(production), "moorage")["image"]
    assert by_digest == (
        "registry.example.com/platform/moorage@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    assert pod_spec(production)["imagePullSecrets"] == [{"name": "registry-credentials"}]


def test_extra_env_envfrom_volumes_and_mounts() -> None:
    spec = pod_spec(render(values_files=[CI / "production-values.yaml"]))
    main = container(spec, "moorage")
    assert {"name": "FEATURE_FLAG", "value": "on"} in main["env"]
    assert main["envFrom"] == [
        {"configMapRef": {"name": FULLNAME}},
        {"configMapRef": {"name": "moorage-extra"}},
        {"secretRef": {"name": "moorage-extra-secret"}},
    ]
    assert {"name": "certs", "configMap": {"name": "custom-ca"}} in spec["volumes"]
    assert {"name": "certs", "mountPath": "/etc/custom-ca", "readOnly": True} in main["volumeMounts"]
    assert spec["priorityClassName"] == "high"


def test_config_change_rolls_pods_and_secret_change_too() -> None:
    def annotations(**values: str) -> dict[str, str]:
        return dict(
            find(render(set_values=values), "Deployment")["spec"]["template"]["metadata"]["annotations"]
        )

    base = annotations()
    assert base == annotations()  # deterministic: generated secrets do not leak into the checksums
    log_level = annotations(**{"config.logLevel": "DEBUG"})
    assert log_level["checksum/config"] != base["checksum/config"]
    assert log_level["checksum/secret"] == base["checksum/secret"]
    key = annotations(**{"secret.secretKey": "k" * 40})
    assert key["checksum/secret"] != base["checksum/secret"]
    assert key["checksum/config"] == base["checksum/config"]

    def database_checksum(**values: str) -> str:
        sts = find(render(set_values=values), "StatefulSet")
        return str(sts["spec"]["template"]["metadata"]["annotations"]["checksum/secret"])

    # A new signing key must not restart the database.
    assert database_checksum(**{"secret.secretKey": "k" * 40}) == database_checksum()


def test_configmap_carries_the_contract_variables(default: list[Manifest]) -> None:
    data = find(default, "ConfigMap", FULLNAME)["data"]
    assert data["PORT"] == "8000"
    assert data["ENVIRONMENT"] == "production"
    assert data["OTEL_SDK_DISABLED"] == "true"
    assert all(isinstance(v, str) for v in data.values())
    assert "DATABASE_URL" not in data
    assert "SECRET_KEY" not in data
    traced = find(render(values_files=[CI / "production-values.yaml"]), "ConfigMap", FULLNAME)["data"]
    assert traced["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability.svc:4318"
    assert "OTEL_SDK_DISABLED" not in traced
    extra = find(render(values_files=[CI / "gateway-values.yaml"]), "ConfigMap", FULLNAME)["data"]
    assert extra["FEATURE_X"] == "enabled"


def test_values_secret_is_a_hook_created_before_the_migration(default: list[Manifest]) -> None:
    secrets = {m["metadata"]["name"]: m for m in default if m["kind"] == "Secret"}
    assert set(secrets) == {FULLNAME}  # generated values: tests/charts/test_generated_secrets.py
    ann = secrets[FULLNAME]["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(ann["helm.sh/hook-weight"]) < 0
    assert ann["helm.sh/resource-policy"] == "keep"


def test_explicit_secret_values_are_used() -> None:
    manifests = render(values_files=[CI / "production-values.yaml"])
    app = decoded(find(manifests, "Secret", FULLNAME))
    assert app["SECRET_KEY"] == "production-signing-key-with-at-least-32-chars"
    assert app["DATABASE_URL"] == "postgresql://moorage:s3cret@db.example.com:5432/moorage"
    assert not [m for m in manifests if m["kind"] == "StatefulSet"]


def test_existing_secret_is_honoured() -> None:
    manifests = render(values_files=[CI / "existing-secret-values.yaml"])
    assert not [m for m in manifests if m["kind"] == "Secret"]
    for spec in (pod_spec(manifests), pod_spec(manifests, "Job", f"{FULLNAME}-migrate")):
        main = spec["containers"][0]
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in main["env"] if "valueFrom" in e}
        assert refs["SECRET_KEY"] == {"name": "platform-moorage", "key": "signing-key"}
        assert refs["SECRET_KEY_PREVIOUS"] == {
            "name": "platform-moorage",
            "key": "signing-key-previous",
            "optional": True,
        }
        assert refs["DATABASE_URL"] == {"name": "platform-moorage", "key": "database-url"}


def test_existing_secret_with_embedded_database_composes_the_url() -> None:
    manifests = render(set_values={"secret.existingSecret": "platform-moorage"})
    assert not find(manifests, "Secret", FULLNAME).get("data")
    env = container(pod_spec(manifests), "moorage")["env"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    assert refs == {
        "SECRET_KEY": "platform-moorage",
        "SECRET_KEY_PREVIOUS": "platform-moorage",
        "MOORAGE_DATABASE_PASSWORD": f"{FULLNAME}-generated",
    }
    url = next(e for e in env if e["name"] == "DATABASE_URL")
    assert "$(MOORAGE_DATABASE_PASSWORD)" in url["value"]


def test_migration_job_hook_annotations_and_limits() -> None:
    external = render(values_files=[CI / "production-values.yaml"])
    job = find(external, "Job", f"{FULLNAME}-migrate")
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert ann["helm.sh/hook-weight"] == "0"
    # A failed Job stays for debugging: only replaced before the next attempt or deleted on success.
    assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert job["spec"]["backoffLimit"] == 2
    assert job["spec"]["activeDeadlineSeconds"] == 600
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert "serviceAccountName" not in spec  # the chart's ServiceAccount does not exist at pre-install
    migrate = container(spec, "migrate")
    assert migrate["command"] == ["moorage"]
    assert migrate["args"] == ["migrate"]
    assert migrate["terminationMessagePolicy"] == "FallbackToLogsOnError"
    env = {e["name"] for e in migrate["env"]}
    assert {"DATABASE_URL", "SECRET_KEY", "ENVIRONMENT", "LOG_LEVEL"} <= env
    assert "envFrom" not in migrate or all(
        "configMapRef" not in e or e["configMapRef"]["name"] != FULLNAME for e in migrate["envFrom"]
    )
    wait = container(spec, "wait-for-database")
    assert wait["command"][-2:] == ["db.example.com", "5432"]


def test_embedded_database_migrates_in_the_pods_on_install(default: list[Manifest]) -> None:
    job = find(default, "Job", f"{FULLNAME}-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
    init = [c["name"] for c in pod_spec(default)["initContainers"]]
    assert init == ["wait-for-database", "migrate"]
    wait = container(pod_spec(default), "wait-for-database")
    assert wait["command"][-2:] == [f"{FULLNAME}-postgresql.moorage.svc", "5432"]
    no_migration = pod_spec(render(set_values={"migration.enabled": "false"}))
    assert "initContainers" not in no_migration


def test_embedded_postgresql(default: list[Manifest]) -> None:
    sts = find(default, "StatefulSet", f"{FULLNAME}-postgresql")
    assert sts["spec"]["replicas"] == 1
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    pg = container(sts["spec"]["template"]["spec"], "postgresql")
    assert pg["image"] == "docker.io/library/postgres:17-bookworm"
    env = {e["name"]: e for e in pg["env"]}
    assert env["PGDATA"]["value"] == "/var/lib/postgresql/data/pgdata"
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-generated",
        "key": "POSTGRES_PASSWORD",
    }
    assert find(default, "Service", f"{FULLNAME}-postgresql")["spec"]["ports"][0]["port"] == 5432
    ephemeral = render(values_files=[CI / "minimal-values.yaml"])
    sts = find(ephemeral, "StatefulSet", f"{FULLNAME}-postgresql")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "data", "emptyDir": {}} in sts["spec"]["template"]["spec"]["volumes"]


def test_debian_postgresql_image_settings() -> None:
    manifests = render(values_files=[CI / "kind-values.yaml", CI / "kind-hermetic-values.yaml"])
    spec = find(manifests, "StatefulSet", f"{FULLNAME}-postgresql")["spec"]["template"]["spec"]
    assert container(spec, "postgresql")["image"] == "moorage.local/postgres:15-bookworm"
    assert spec["securityContext"]["runAsUser"] == 100
    assert container(pod_spec(manifests), "moorage")["image"] == "moorage/service:dev"


def test_hpa_toggle() -> None:
    assert "HorizontalPodAutoscaler" not in kinds(render())
    manifests = render(values_files=[CI / "production-values.yaml"])
    hpa = find(manifests, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    metrics = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]
    }
    assert metrics == {"cpu": 70, "memory": 80}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert "replicas" not in find(manifests, "Deployment")["spec"]  # the HPA owns the count
    cpu_only = find(
        render(
            set_values={
                "autoscaling.enabled": "true",
                "autoscaling.targetMemoryUtilizationPercentage": "null",
            }
        ),
        "HorizontalPodAutoscaler",
    )
    assert [m["resource"]["name"] for m in cpu_only["spec"]["metrics"]] == ["cpu"]


def test_pdb_toggle(default: list[Manifest]) -> None:
    pdb = find(default, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "server"
    assert "PodDisruptionBudget" not in kinds(render(values_files=[CI / "minimal-values.yaml"]))
    min_available = find(render(set_values={"pdb.minAvailable": "50%"}), "PodDisruptionBudget")
    assert min_available["spec"] == {**min_available["spec"], "minAvailable": "50%"}
    assert "maxUnavailable" not in min_available["spec"]


def test_ingress_toggle() -> None:
    assert "Ingress" not in kinds(render())
    ingress = find(render(values_files=[CI / "production-values.yaml"]), "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["api.example.com"], "secretName": "api-example-com-tls"}]
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert path["backend"]["service"] == {"name": FULLNAME, "port": {"name": "http"}}


def test_httproute_and_servicemonitor_toggles() -> None:
    assert not {"HTTPRoute", "ServiceMonitor"} & set(kinds(render()))
    manifests = render(values_files=[CI / "gateway-values.yaml"])
    route = find(manifests, "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "shared-gateway", "namespace": "gateway-system"}]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": FULLNAME, "port": 80}]
    monitor = find(manifests, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


def test_network_policy_toggle_and_rules(default: list[Manifest]) -> None:
    policies = {m["metadata"]["name"]: m for m in default if m["kind"] == "NetworkPolicy"}
    assert set(policies) == {
        FULLNAME,
        f"{FULLNAME}-migrate",
        f"{FULLNAME}-postgresql",
        f"{FULLNAME}-test",
        f"{FULLNAME}-secret-generator",
    }
    generator = policies[f"{FULLNAME}-secret-generator"]["spec"]
    assert "ingress" not in generator  # none accepted
    assert [p["port"] for rule in generator["egress"] for p in rule["ports"]] == [53, 53, 443, 6443]
    test_egress = policies[f"{FULLNAME}-test"]["spec"]["egress"]
    assert test_egress[-1]["ports"] == [{"port": 8000, "protocol": "TCP"}]
    app = policies[FULLNAME]["spec"]
    assert app["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    egress_ports = [p["port"] for rule in app["egress"] for p in rule["ports"]]
    assert egress_ports == [53, 53, 5432]
    db = policies[f"{FULLNAME}-postgresql"]["spec"]
    sources = [
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in db["ingress"][0]["from"]
    ]
    assert sources == ["server", "migration"]
    assert "egress" not in db  # the database talks to no one

    production = render(values_files=[CI / "production-values.yaml"])
    spec = find(production, "NetworkPolicy", FULLNAME)["spec"]
    assert spec["ingress"][0]["from"][-1] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    }
    rules = {rule["ports"][0]["port"]: rule for rule in spec["egress"]}
    assert rules[5432]["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]
    assert rules[4318]["to"] == [{"ipBlock": {"cidr": "10.30.0.0/16"}}]
    assert "NetworkPolicy" not in kinds(render(values_files=[CI / "minimal-values.yaml"]))


def test_helm_test_pod_checks_readiness(default: list[Manifest]) -> None:
    pod = find(default, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    args = pod["spec"]["containers"][0]["command"]
    assert "/api/v1/health/ready" in args[2]
    assert args[-1] == f"http://{FULLNAME}.moorage.svc:80"


def test_common_labels_and_annotations_reach_every_object() -> None:
    for m in render(values_files=[CI / "production-values.yaml"]):
        assert m["metadata"]["labels"]["team"] == "platform"
        assert m["metadata"]["annotations"]["owner"] == "platform-team"


def test_service_account_can_be_external() -> None:
    manifests = render(values_files=[CI / "minimal-values.yaml"])
    accounts = [m["metadata"]["name"] for m in manifests if m["kind"] == "ServiceAccount"]
    assert accounts == [f"{FULLNAME}-secret-generator"]  # the hook Job's own, never the server's
    assert pod_spec(manifests)["serviceAccountName"] == "shared-sa"


def test_fullname_override_and_long_names() -> None:
    manifests = render(set_values={"fullnameOverride": "api"})
    assert find(manifests, "Deployment")["metadata"]["name"] == "api"
    long = render(release="r" * 53)
    assert all(len(m["metadata"]["name"]) <= 63 for m in long)
