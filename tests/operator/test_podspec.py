"""The pod controls: parsed from the spec, written into the service's and the Job's pod templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from moorage_operator import manifests, names, podspec
from moorage_operator.keyring import KeyRing
from moorage_operator.reconcile import Observed, Ref, platform
from moorage_operator.spec import InvalidSpec, parse_spec

from .conftest import spec

OWNER = manifests.Owner("shop", "team-a", "uid-1", {})
RING = KeyRing(current="k" * 40, rotated_at=datetime(2026, 1, 1, tzinfo=UTC))


def deployment_pod(**fields: Any) -> dict[str, Any]:
    app = parse_spec(spec(**fields))
    template: dict[str, Any] = manifests.deployment(app, OWNER, image=app.image, ring=RING)["spec"][
        "template"
    ]
    return template


def job_pod(**fields: Any) -> dict[str, Any]:
    app = parse_spec(spec(**fields))
    template: dict[str, Any] = manifests.migration_job(app, OWNER, image=app.image)["spec"]["template"]
    return template


def preflight_pod(**fields: Any) -> dict[str, Any]:
    app = parse_spec(spec(**fields))
    template: dict[str, Any] = manifests.preflight_job(app, OWNER, image=app.image)["spec"]["template"]
    return template


def test_defaults_are_a_tokenless_own_service_account_and_the_soft_spread() -> None:
    pod = deployment_pod()["spec"]
    assert pod["serviceAccountName"] == "shop"
    assert pod["automountServiceAccountToken"] is False
    assert [c["topologyKey"] for c in pod["topologySpreadConstraints"]] == list(podspec.SPREAD_KEYS)
    assert {c["whenUnsatisfiable"] for c in pod["topologySpreadConstraints"]} == {"ScheduleAnyway"}
    for field in ("imagePullSecrets", "nodeSelector", "tolerations", "affinity", "priorityClassName"):
        assert field not in pod
    assert job_pod()["spec"]["serviceAccountName"] == "shop"
    assert "topologySpreadConstraints" not in job_pod()["spec"]  # one pod: nothing to spread


def test_scheduling_and_pull_secrets_reach_the_service_and_the_job() -> None:
    fields = {
        "imagePullSecrets": [{"name": "regcred"}],
        "nodeSelector": {"pool": "apps"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "apps", "effect": "NoSchedule"}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "serviceAccountName": "runtime",
    }
    for pod in (
        deployment_pod(**fields)["spec"],
        job_pod(**fields)["spec"],
        preflight_pod(**fields)["spec"],
    ):
        assert pod["imagePullSecrets"] == [{"name": "regcred"}]
        assert pod["nodeSelector"] == {"pool": "apps"}
        assert pod["tolerations"] == fields["tolerations"]
        assert pod["affinity"] == fields["affinity"]
        assert pod["serviceAccountName"] == "runtime"
        assert pod["automountServiceAccountToken"] is False


def test_priority_spread_and_pod_metadata_apply_to_the_service_only() -> None:
    fields: dict[str, Any] = {
        "priorityClassName": "business",
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
        ],
        "podLabels": {"cost-center": "42"},
        "podAnnotations": {"team": "shop"},
    }
    template = deployment_pod(**fields)
    pod = template["spec"]
    assert pod["priorityClassName"] == "business"
    # A spread without a selector spreads the instance's serving pods.
    assert pod["topologySpreadConstraints"] == [
        {
            "labelSelector": {"matchLabels": names.selector_labels("shop")},
            **fields["topologySpreadConstraints"][0],
        }
    ]
    assert template["metadata"]["labels"]["cost-center"] == "42"
    assert template["metadata"]["labels"][names.LABEL_OWNER] == "shop"
    assert template["metadata"]["annotations"]["team"] == "shop"
    assert names.ANN_KEY_RING in template["metadata"]["annotations"]
    for job in (job_pod(**fields), preflight_pod(**fields)):
        assert "priorityClassName" not in job["spec"] and "cost-center" not in job["metadata"]["labels"]
        assert "topologySpreadConstraints" not in job["spec"]
    assert "topologySpreadConstraints" not in deployment_pod(topologySpreadConstraints=[])["spec"]


def test_extra_env_redis_and_env_from_come_after_the_operators_own() -> None:
    fields = {
        "env": [{"name": "FEATURE_X", "value": "on"}],
        "envFrom": [{"secretRef": {"name": "platform"}}],
        "redis": {"secretRef": {"name": "redis", "key": "url"}},
    }
    for template in (deployment_pod(**fields), job_pod(**fields)):
        container = template["spec"]["containers"][0]
        env_names = [e["name"] for e in container["env"]]
        assert env_names[:3] == ["DATABASE_URL", names.SECRET_KEY, names.SECRET_KEY_PREVIOUS]
        assert env_names[3:] == ["REDIS_URL", "FEATURE_X"]
        assert container["env"][3]["valueFrom"] == {"secretKeyRef": {"name": "redis", "key": "url"}}
        assert container["envFrom"][0] == {"configMapRef": {"name": names.config_name("shop")}}
        assert container["envFrom"][1:] == [{"secretRef": {"name": "platform"}}]
    default_key = deployment_pod(redis={"secretRef": {"name": "redis"}})["spec"]["containers"][0]["env"][3]
    assert default_key["valueFrom"]["secretKeyRef"] == {"name": "redis", "key": "REDIS_URL"}


def test_a_pod_control_change_rolls_the_deployment() -> None:
    app = parse_spec(spec())
    before = manifests.deployment(app, OWNER, image=app.image, ring=RING)
    app = parse_spec(spec(nodeSelector={"pool": "apps"}))
    after = manifests.deployment(app, OWNER, image=app.image, ring=RING)
    key = names.ANN_APPLIED_HASH
    assert before["metadata"]["annotations"][key] != after["metadata"]["annotations"][key]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"podLabels": {names.LABEL_INSTANCE: "other"}}, "spec.podLabels"),
        ({"podLabels": {f"{names.GROUP}/instance": "x"}}, "spec.podLabels"),
        ({"podAnnotations": {names.ANN_KEY_RING: "x"}}, "spec.podAnnotations"),
        ({"env": [{"name": "DATABASE_URL", "value": "x"}]}, "spec.env"),
        ({"env": [{"name": "X", "value": "1", "valueFrom": {}}]}, "spec.env.X"),
        ({"redis": {"secretRef": {}}}, "spec.redis.secretRef.name"),
        ({"redis": {"secretRef": {"name": "r"}}, "env": [{"name": "REDIS_URL", "value": "x"}]}, "REDIS_URL"),
        ({"tolerations": "all"}, "spec.tolerations"),
    ],
)
def test_what_the_schema_refuses_is_refused_here_too(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_spec(spec(**fields))
    assert named in caught.value.message


def test_redis_url_in_config_conflicts_with_redis() -> None:
    config = [{"name": "REDIS_URL", "value": "redis://x"}]
    with pytest.raises(InvalidSpec, match="REDIS_URL"):
        parse_spec(spec(config=config, redis={"secretRef": {"name": "r"}}))
    assert parse_spec(spec(config=config)).config["REDIS_URL"] == "redis://x"  # fine without spec.redis


def test_the_service_account_is_created_only_when_none_is_named() -> None:
    app = parse_spec(spec())
    first = platform.plan_platform(app, Observed(), OWNER)
    [account] = first.applies
    assert [e.creates for e in first.events] == ["ServiceAccount/shop"]
    assert account["kind"] == "ServiceAccount" and account["metadata"]["name"] == "shop"
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert names.ANN_APPLIED_HASH in account["metadata"]["annotations"]
    named = parse_spec(spec(serviceAccountName="runtime"))
    later = platform.plan_platform(named, Observed(service_account=account), OWNER)
    assert later.applies == []
    assert later.deletes == [Ref("v1", "ServiceAccount", "shop")]  # ours goes once the spec names another


def test_the_preflight_check_sees_the_env_the_serving_pods_get() -> None:
    fields: dict[str, Any] = {
        "env": [{"name": "FEATURE_X", "value": "on"}],
        "expose": {"ingress": {"host": "shop.example.com"}},
        "config": [{"name": "LOG_LEVEL", "value": "debug"}],
    }
    [container] = preflight_pod(**fields)["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["FEATURE_X"] == "on"
    assert env["LOG_LEVEL"] == "debug"
    assert env["FORWARDED_ALLOW_IPS"].startswith("127.0.0.1,")
    assert container["command"] == ["moorage", "check-config"]
