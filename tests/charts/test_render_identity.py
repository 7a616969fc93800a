"""The chart's trusted proxies (FORWARDED_ALLOW_IPS) and its Redis wiring (REDIS_URL), as rendered."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.charts.helm import APP_CHART, Manifest, container, find, render, render_error

FULLNAME = "demo-moorage"
REDIS = "demo-moorage-redis"
CI = APP_CHART / "ci"


def config(manifests: list[Manifest]) -> dict[str, str]:
    return dict(find(manifests, "ConfigMap", FULLNAME)["data"])


def app_env(manifests: list[Manifest]) -> dict[str, Any]:
    spec = find(manifests, "Deployment", FULLNAME)["spec"]["template"]["spec"]
    return {item["name"]: item for item in container(spec, "moorage")["env"]}


def decoded(secret: Manifest) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def egress_rules(manifests: list[Manifest]) -> list[dict[str, Any]]:
    return list(find(manifests, "NetworkPolicy", FULLNAME)["spec"]["egress"])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "127.0.0.1"),
        ({"ingress.enabled": "true"}, "127.0.0.1,10.244.0.0/16"),
        ({"httpRoute.enabled": "true"}, "127.0.0.1,10.244.0.0/16"),
        (
            {"ingress.enabled": "true", "trustedProxies.ingressCIDRs": "{10.42.0.0/16,fd00:42::/56}"},
            "127.0.0.1,10.42.0.0/16,fd00:42::/56",
        ),
        # Given addresses win, with or without an ingress; never 0.0.0.0/0 unless asked for.
        ({"trustedProxies.addresses": "{10.0.0.5,10.0.1.0/24}"}, "10.0.0.5,10.0.1.0/24"),
        ({"ingress.enabled": "true", "trustedProxies.addresses": "{192.0.2.1}"}, "192.0.2.1"),
    ],
)
def test_forwarded_allow_ips_follows_the_chart_routing(values: dict[str, str], expected: str) -> None:
    manifests = render(set_values=values)
    assert config(manifests)["FORWARDED_ALLOW_IPS"] == expected
    job_env = find(manifests, "Job", f"{FULLNAME}-migrate")["spec"]["template"]["spec"]["containers"][0][
        "env"
    ]
    assert {"name": "FORWARDED_ALLOW_IPS", "value": expected} in job_env


def test_without_redis_nothing_redis_is_rendered() -> None:
    manifests = render()
    assert "REDIS_URL" not in app_env(manifests)
    assert not [m for m in manifests if m["metadata"]["name"] == REDIS]


def test_embedded_redis_is_wired_locked_down_and_reachable_only_from_the_service() -> None:
    manifests = render(set_values={"redis.enabled": "true", "replicaCount": "3"})
    secret = decoded(find(manifests, "Secret", REDIS))
    password = secret["password"]
    assert len(password) == 32
    assert secret["REDIS_URL"] == f"redis://:{password}@{REDIS}.moorage.svc:6379/0"
    assert app_env(manifests)["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": REDIS, "key": "REDIS_URL"}

    service = find(manifests, "Service", REDIS)
    assert service["spec"]["ports"] == [
        {"name": "redis", "port": 6379, "targetPort": "redis", "protocol": "TCP"}
    ]
    deployment = find(manifests, "Deployment", REDIS)
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert pod["automountServiceAccountToken"] is False
    # Pod Security Standards, restricted profile.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    redis = container(pod, "redis")
    ctx = redis["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"] == {"drop": ["ALL"]} and ctx["runAsUser"] >= 10000
    assert redis["image"] == "docker.io/library/redis:7.4.2-bookworm"
    # The password is read from the Secret into a config file, never put on the command line.
    assert "$REDIS_PASSWORD" in redis["args"][0] and password not in str(redis)
    assert "--save ''" in redis["args"][0]
    assert {v["name"] for v in pod["volumes"]} == {"data", "tmp"}

    policy = find(manifests, "NetworkPolicy", REDIS)
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "moorage",
                    "app.kubernetes.io/instance": "demo",
                    "app.kubernetes.io/component": "server",
                }
            }
        }
    ]
    assert "egress" not in policy["spec"] and "Egress" in policy["spec"]["policyTypes"]
    to_redis = [r for r in egress_rules(manifests) if r.get("ports") == [{"port": 6379, "protocol": "TCP"}]]
    assert (
        to_redis
        and to_redis[0]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "redis"
    )


def test_a_given_redis_password_is_used_and_its_change_rolls_the_pods() -> None:
    first = render(set_values={"redis.enabled": "true", "redis.auth.password": "dev-pass.1"})
    assert decoded(find(first, "Secret", REDIS))["REDIS_URL"].startswith("redis://:dev-pass.1@")
    second = render(set_values={"redis.enabled": "true", "redis.auth.password": "dev-pass.2"})

    def checksum(manifests: list[Manifest]) -> str:
        pod = find(manifests, "Deployment", FULLNAME)["spec"]["template"]["metadata"]
        return str(pod["annotations"]["checksum/redis"])

    assert checksum(first) != checksum(second)


def test_hermetic_values_use_debians_redis_image() -> None:
    manifests = render(
        values_files=[CI / "kind-values.yaml", CI / "kind-hermetic-values.yaml"],
        set_values={"redis.enabled": "true"},
    )
    pod = find(manifests, "Deployment", REDIS)["spec"]["template"]["spec"]
    assert container(pod, "redis")["image"] == "moorage.local/redis:7-bookworm"


def test_external_redis_by_url_or_existing_secret() -> None:
    by_url = render(
        set_values={
            "externalRedis.url": "rediss://:pw@cache.internal:6380/2",
            "externalRedis.port": "6380",
            "externalRedis.cidrs": "{10.40.0.0/24}",
        }
    )
    assert decoded(find(by_url, "Secret", REDIS)) == {"REDIS_URL": "rediss://:pw@cache.internal:6380/2"}
    assert not [m for m in by_url if m["kind"] == "Deployment" and m["metadata"]["name"] == REDIS]
    assert {"ports": [{"port": 6380, "protocol": "TCP"}], "to": [{"ipBlock": {"cidr": "10.40.0.0/24"}}]} in (
        egress_rules(by_url)
    )

    by_secret = render(set_values={"externalRedis.existingSecret": "platform-redis"})
    ref = app_env(by_secret)["REDIS_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "platform-redis", "key": "REDIS_URL"}
    assert not [m for m in by_secret if m["metadata"]["name"] == REDIS]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"trustedProxies.addresses[0]": "ingress-nginx"}, "/trustedProxies/addresses/0"),
        ({"trustedProxies.ingressCIDRs[0]": "10.244.0.1"}, "/trustedProxies/ingressCIDRs/0"),
        ({"externalRedis.url": "http://cache:6379"}, "/externalRedis/url"),
        ({"redis.auth.password": "p@ss word"}, "/redis/auth/password"),
        ({"redis.maxMemory": "lots"}, "/redis/maxMemory"),
        ({"redis.enable": "true"}, "enable"),
    ],
)
def test_invalid_identity_values_are_rejected_naming_the_value(values: dict[str, str], named: str) -> None:
    error = render_error(set_values=values)
    assert "values don't meet the specifications of the schema" in error
    assert named in error, error


def test_embedded_and_external_redis_exclude_each_other() -> None:
    error = render_error(set_values={"redis.enabled": "true", "externalRedis.url": "redis://cache:6379/0"})
    assert "redis.enabled and externalRedis.url/existingSecret exclude each other" in error
