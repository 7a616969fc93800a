from datetime import timedelta
from typing import Any

from moorage_operator import manifests, names
from moorage_operator.keyring import KeyRing
from moorage_operator.spec import parse_spec

from .conftest import NOW, env, spec

OWNER = manifests.Owner("shop", "team-a", "uid-1", {"team": "a"})
RING = KeyRing(current="c" * 40, rotated_at=NOW)


def container(obj: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return found


def test_children_are_owned_by_the_instance() -> None:
    app = parse_spec(spec())
    for obj in (
        manifests.config_map(app, OWNER),
        manifests.service(OWNER),
        manifests.disruption_budget(OWNER),
        manifests.deployment(app, OWNER, image=app.image, ring=RING),
        manifests.migration_job(app, OWNER, image=app.image),
        manifests.keyring_secret(RING, OWNER),
    ):
        ref = obj["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "AppInstance"
        assert ref["uid"] == "uid-1"
        assert ref["controller"] is True
        assert obj["metadata"]["namespace"] == "team-a"
        assert obj["metadata"]["labels"][names.LABEL_OWNER] == "shop"


def test_deployment_env_comes_from_secrets_and_the_config_map() -> None:
    app = parse_spec(spec())
    dep = manifests.deployment(app, OWNER, image="moorage/service:1", ring=RING)
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container(dep)["env"]}
    assert env["DATABASE_URL"] == {"name": "db", "key": "DATABASE_URL"}
    assert env["SECRET_KEY"] == {"name": "shop-keys", "key": "SECRET_KEY"}
    assert env["SECRET_KEY_PREVIOUS"]["optional"] is True
    assert container(dep)["envFrom"] == [{"configMapRef": {"name": "shop-config"}}]


def test_deployment_rolls_when_the_key_ring_or_config_changes() -> None:
    app = parse_spec(spec())
    before = manifests.deployment(app, OWNER, image=app.image, ring=RING)
    rotated = KeyRing(
        current="d" * 40, rotated_at=NOW, previous=RING.current, previous_expires_at=NOW + timedelta(1)
    )
    after = manifests.deployment(app, OWNER, image=app.image, ring=rotated)
    key = names.ANN_KEY_RING
    assert (
        before["spec"]["template"]["metadata"]["annotations"][key]
        != (after["spec"]["template"]["metadata"]["annotations"][key])
    )
    reconfigured = manifests.deployment(
        parse_spec(spec(config=env(LOG_LEVEL="INFO"))), OWNER, image=app.image, ring=RING
    )
    assert (
        before["spec"]["template"]["metadata"]["annotations"][names.ANN_CONFIG_HASH]
        != reconfigured["spec"]["template"]["metadata"]["annotations"][names.ANN_CONFIG_HASH]
    )


def test_deployment_hardening() -> None:
    app = parse_spec(spec())
    dep = manifests.deployment(app, OWNER, image=app.image, ring=RING)
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["runAsNonRoot"] is True
    sc = container(dep)["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container(dep)["volumeMounts"]
    assert container(dep)["livenessProbe"]["httpGet"]["path"] == "/api/v1/health/live"
    assert container(dep)["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
    assert "startupProbe" in container(dep)
    assert container(dep)["lifecycle"]["preStop"]


def test_deployment_replicas_or_autoscaler() -> None:
    fixed = parse_spec(spec(replicas=3))
    assert manifests.deployment(fixed, OWNER, image="i", ring=RING)["spec"]["replicas"] == 3
    assert manifests.autoscaler(fixed, OWNER) is None
    scaled = parse_spec({**spec(), "autoscaling": {"minReplicas": 2, "maxReplicas": 5}})
    assert "replicas" not in manifests.deployment(scaled, OWNER, image="i", ring=RING)["spec"]
    hpa = manifests.autoscaler(scaled, OWNER)
    assert hpa is not None
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 5


def test_migration_job_runs_migrate_and_keeps_the_log_tail() -> None:
    app = parse_spec(spec(database={"secretRef": {"name": "db"}, "migrationSecretRef": {"name": "ddl"}}))
    job = manifests.migration_job(app, OWNER, image="moorage/service:2", inputs="ddl/DATABASE_URL/")
    assert job["metadata"]["name"] == names.migration_job_name(
        "shop", "moorage/service:2", "ddl/DATABASE_URL/"
    )
    c = container(job)
    assert c["command"] == ["moorage", "migrate"]
    assert c["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert c["image"] == "moorage/service:2"
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
    assert env["DATABASE_URL"]["name"] == "ddl"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 3
    # Migration pods never match the Service's selector.
    selector = manifests.service(OWNER)["spec"]["selector"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert not all(labels.get(k) == v for k, v in selector.items())


def test_hash_annotation_tracks_content() -> None:
    app = parse_spec(spec())
    a = manifests.config_map(app, OWNER)
    b = manifests.config_map(app, OWNER)
    c = manifests.config_map(parse_spec(spec(config=env(LOG_LEVEL="INFO"))), OWNER)
    h = names.ANN_APPLIED_HASH
    assert a["metadata"]["annotations"][h] == b["metadata"]["annotations"][h]
    assert a["metadata"]["annotations"][h] != c["metadata"]["annotations"][h]
